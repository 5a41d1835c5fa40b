//! The printer's behaviour, independent of its wire protocol: the serialization
//! buffer (FIFO of host messages with ids), the ready state, what happens on a
//! product-detect trigger (print, miss, double print, wrong data, underrun), and
//! the counts the printer reports. Pure logic.

use std::collections::VecDeque;

use crate::faults::{FaultKind, FaultTable};

/// One message in the buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedMessage {
    pub id: u32,
    /// Printed as a GS1 DataMatrix (FNC1 first); false = plain DataMatrix.
    pub gs1: bool,
    /// The data to print: a GS1 element string in encoder form (GS separators).
    pub data: Vec<u8>,
}

/// What the printer did on one product-detect trigger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrintDecision {
    Printed {
        id: u32,
        /// What actually went on the item (may differ from the message: wrong data).
        data: Vec<u8>,
        gs1: bool,
        /// Send a print-complete notification for `id` (false for the silent repeat
        /// of a double print).
        notify: bool,
        faults: Vec<FaultKind>,
    },
    NotPrinted {
        reason: NotPrinted,
        faults: Vec<FaultKind>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotPrinted {
    /// Offline, no job selected, or paused.
    NotReady,
    /// The buffer was empty (underrun).
    BufferEmpty,
    /// The trigger was missed (fault).
    Skipped,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueError {
    BufferFull,
    DuplicateId,
    DataTooLong,
}

/// The printer's state.
#[derive(Debug, Clone)]
pub struct PrinterModel {
    pub running: bool,
    pub job: Option<String>,
    buffer: VecDeque<QueuedMessage>,
    capacity: usize,
    repeat_next: Option<QueuedMessage>,
    pub underrun: bool,
    pub batch_count: u32,
    pub total_count: u32,
}

impl PrinterModel {
    pub fn new(capacity: usize) -> PrinterModel {
        PrinterModel {
            running: false,
            job: None,
            buffer: VecDeque::new(),
            capacity,
            repeat_next: None,
            underrun: false,
            batch_count: 0,
            total_count: 0,
        }
    }

    /// Ready to print: running with a job selected.
    pub fn ready(&self) -> bool {
        self.running && self.job.is_some()
    }

    pub fn select_job(&mut self, job: &str) {
        self.job = Some(job.to_string());
        self.batch_count = 0;
    }

    /// Queues GS1 data (the TIJ printer's serialization field is GS1).
    pub fn queue(&mut self, id: u32, data: Vec<u8>, max_data: usize) -> Result<(), QueueError> {
        self.queue_symbol(id, data, true, max_data)
    }

    /// Queues data printed as GS1 (`gs1`) or plain DataMatrix.
    pub fn queue_symbol(
        &mut self,
        id: u32,
        data: Vec<u8>,
        gs1: bool,
        max_data: usize,
    ) -> Result<(), QueueError> {
        if data.len() > max_data {
            return Err(QueueError::DataTooLong);
        }
        if self.buffer.len() >= self.capacity {
            return Err(QueueError::BufferFull);
        }
        if self.buffer.iter().any(|m| m.id == id) {
            return Err(QueueError::DuplicateId);
        }
        self.buffer.push_back(QueuedMessage { id, gs1, data });
        self.underrun = false;
        Ok(())
    }

    pub fn buffer_len(&self) -> usize {
        self.buffer.len()
    }

    /// Empties the buffer; returns the ids never printed, oldest first. A pending
    /// silent repeat is dropped too (it was printed once already).
    pub fn clear(&mut self) -> Vec<u32> {
        self.repeat_next = None;
        self.buffer.drain(..).map(|m| m.id).collect()
    }

    /// The product-detect trigger for item `item_no`.
    pub fn on_product_detect(&mut self, item_no: u64, faults: &mut FaultTable) -> PrintDecision {
        let mut applied = Vec::new();
        if !self.ready() {
            return PrintDecision::NotPrinted {
                reason: NotPrinted::NotReady,
                faults: applied,
            };
        }
        if faults.fires_for_item(FaultKind::SkippedPrint, item_no) {
            applied.push(FaultKind::SkippedPrint);
            return PrintDecision::NotPrinted {
                reason: NotPrinted::Skipped,
                faults: applied,
            };
        }
        let (message, notify) = match self.repeat_next.take() {
            Some(m) => {
                applied.push(FaultKind::DoublePrint);
                (m, false)
            }
            None => match self.buffer.pop_front() {
                Some(m) => (m, true),
                None => {
                    self.underrun = true;
                    return PrintDecision::NotPrinted {
                        reason: NotPrinted::BufferEmpty,
                        faults: applied,
                    };
                }
            },
        };
        if notify && faults.fires_for_item(FaultKind::DoublePrint, item_no) {
            self.repeat_next = Some(message.clone());
        }
        let mut data = message.data.clone();
        if faults.fires_for_item(FaultKind::WrongData, item_no) {
            applied.push(FaultKind::WrongData);
            corrupt(&mut data);
        }
        self.batch_count = self.batch_count.wrapping_add(1);
        self.total_count = self.total_count.wrapping_add(1);
        PrintDecision::Printed {
            id: message.id,
            data,
            gs1: message.gs1,
            notify,
            faults: applied,
        }
    }
}

/// Changes the last alphanumeric character (digit +1, letter +1, wrapping), the way
/// a dropped nozzle turns one character into another.
pub fn corrupt(data: &mut [u8]) {
    if let Some(b) = data.iter_mut().rev().find(|b| b.is_ascii_alphanumeric()) {
        *b = match *b {
            b'9' => b'0',
            b'Z' => b'A',
            b'z' => b'a',
            other => other + 1,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::faults::FaultSpec;
    use std::collections::BTreeMap;

    fn faults(kind: Option<(FaultKind, u64)>) -> FaultTable {
        let mut specs = BTreeMap::new();
        if let Some((k, item)) = kind {
            specs.insert(
                k,
                FaultSpec {
                    at_items: vec![item],
                    ..Default::default()
                },
            );
        }
        FaultTable::new(1, specs)
    }

    fn ready_printer() -> PrinterModel {
        let mut p = PrinterModel::new(10);
        p.select_job("J");
        p.running = true;
        for id in 1..=3 {
            p.queue(id, format!("DATA{id}").into_bytes(), 256).unwrap();
        }
        p
    }

    #[test]
    fn prints_fifo_and_clear_reports_unprinted() {
        let mut p = ready_printer();
        let mut f = faults(None);
        assert!(matches!(
            p.on_product_detect(1, &mut f),
            PrintDecision::Printed {
                id: 1,
                notify: true,
                ..
            }
        ));
        assert_eq!(p.clear(), vec![2, 3]);
        assert!(matches!(
            p.on_product_detect(2, &mut f),
            PrintDecision::NotPrinted {
                reason: NotPrinted::BufferEmpty,
                ..
            }
        ));
        assert!(p.underrun);
    }

    #[test]
    fn skipped_print_keeps_the_message() {
        let mut p = ready_printer();
        let mut f = faults(Some((FaultKind::SkippedPrint, 1)));
        assert!(matches!(
            p.on_product_detect(1, &mut f),
            PrintDecision::NotPrinted {
                reason: NotPrinted::Skipped,
                ..
            }
        ));
        assert!(matches!(
            p.on_product_detect(2, &mut f),
            PrintDecision::Printed { id: 1, .. }
        ));
    }

    #[test]
    fn double_print_repeats_silently() {
        let mut p = ready_printer();
        let mut f = faults(Some((FaultKind::DoublePrint, 1)));
        assert!(matches!(
            p.on_product_detect(1, &mut f),
            PrintDecision::Printed {
                id: 1,
                notify: true,
                ..
            }
        ));
        assert!(matches!(
            p.on_product_detect(2, &mut f),
            PrintDecision::Printed {
                id: 1,
                notify: false,
                ..
            }
        ));
        assert!(matches!(
            p.on_product_detect(3, &mut f),
            PrintDecision::Printed {
                id: 2,
                notify: true,
                ..
            }
        ));
    }

    #[test]
    fn wrong_data_changes_one_character() {
        let mut p = ready_printer();
        let mut f = faults(Some((FaultKind::WrongData, 1)));
        match p.on_product_detect(1, &mut f) {
            PrintDecision::Printed { data, .. } => assert_eq!(data, b"DATA2"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn buffer_limits() {
        let mut p = PrinterModel::new(1);
        assert_eq!(p.queue(1, b"A".to_vec(), 4), Ok(()));
        assert_eq!(p.queue(2, b"A".to_vec(), 4), Err(QueueError::BufferFull));
        p.clear();
        assert_eq!(
            p.queue(1, b"ABCDE".to_vec(), 4),
            Err(QueueError::DataTooLong)
        );
        assert_eq!(p.queue(1, b"A".to_vec(), 4), Ok(()));
        let mut p2 = PrinterModel::new(5);
        p2.queue(1, b"A".to_vec(), 4).unwrap();
        assert_eq!(p2.queue(1, b"B".to_vec(), 4), Err(QueueError::DuplicateId));
    }
}
