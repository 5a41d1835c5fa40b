//! The simulation's stand-in for the store: every serial's state with the legal
//! OPEN-SCS transitions enforced, the per-batch counts, and the ordering checks on
//! the engine's commands (a print or a GOOD verdict may only leave after the record
//! it depends on).

use std::collections::HashMap;

use crate::line::command::{Command, Transition};
use crate::line::reconcile::Reconciliation;
use crate::line::types::{BatchId, MessageId, Verdict};

/// A serial's state (OPEN-SCS names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SerialState {
    Unallocated,
    Allocated,
    Encoded,
    Commissioned,
    LabelScrapped,
    SnInvalid,
}

#[derive(Debug, Clone)]
struct SerialRecord {
    state: SerialState,
    batch: BatchId,
    /// Queued to a printer since it was last allocated.
    queued: bool,
}

/// The model store.
#[derive(Debug, Default)]
pub struct Ledger {
    serials: HashMap<String, SerialRecord>,
    returned_pool: Vec<String>,
    next_fresh: u64,
    print_queued: HashMap<MessageId, String>,
    verdicts: HashMap<(BatchId, u32), (Verdict, Option<String>)>,
    counts: HashMap<BatchId, Reconciliation>,
    active: Option<BatchId>,
}

impl Ledger {
    pub fn set_active_batch(&mut self, batch: Option<BatchId>) {
        self.active = batch;
    }

    pub fn state(&self, serial: &str) -> Option<SerialState> {
        self.serials.get(serial).map(|record| record.state)
    }

    pub fn counts(&self, batch: BatchId) -> Reconciliation {
        self.counts.get(&batch).copied().unwrap_or_default()
    }

    /// The verdict recorded for an item of the active batch.
    pub fn verdict(&self, batch: BatchId, seq: u32) -> Option<&(Verdict, Option<String>)> {
        self.verdicts.get(&(batch, seq))
    }

    /// Serials of a batch still in a non-final state.
    pub fn open_serials(&self, batch: BatchId) -> Vec<(String, SerialState)> {
        self.serials
            .iter()
            .filter(|(_, record)| {
                record.batch == batch
                    && matches!(record.state, SerialState::Allocated | SerialState::Encoded)
            })
            .map(|(serial, record)| (serial.clone(), record.state))
            .collect()
    }

    /// Allocates `count` serials to `batch`: returned (never printed) serials first.
    /// Every serial ends in `A`: the printer's wrong-data fault changes the last
    /// character of what it prints (`printer::model::corrupt` in the simulator), so a
    /// corrupted print never reads as another serial of the pool.
    pub fn allocate(&mut self, batch: BatchId, count: u32) -> Vec<String> {
        let mut block = Vec::with_capacity(count as usize);
        for _ in 0..count {
            let serial = match self.returned_pool.pop() {
                Some(serial) => serial,
                None => {
                    self.next_fresh += 1;
                    format!("SIM{:012}A", self.next_fresh)
                }
            };
            self.serials.insert(
                serial.clone(),
                SerialRecord {
                    state: SerialState::Allocated,
                    batch,
                    queued: false,
                },
            );
            block.push(serial);
        }
        self.counts.entry(batch).or_default().allocated += u64::from(count);
        block
    }

    fn transition(
        &mut self,
        serial: &str,
        from: SerialState,
        to: SerialState,
    ) -> Result<BatchId, String> {
        let record = self.serials.get_mut(serial).ok_or_else(|| {
            format!("transition {from:?}->{to:?} of serial {serial} that was never allocated")
        })?;
        if record.state != from {
            return Err(format!(
                "illegal transition of serial {serial}: it is {:?}, not {from:?}, so it cannot become {to:?}",
                record.state
            ));
        }
        record.state = to;
        Ok(record.batch)
    }

    /// Applies one persist, refusing anything the store would refuse.
    pub fn apply(&mut self, transition: &Transition) -> Result<(), String> {
        match transition {
            Transition::PrintQueued { message_id, serial } => {
                let record = self
                    .serials
                    .get_mut(serial)
                    .ok_or_else(|| format!("queued unallocated serial {serial}"))?;
                if record.state != SerialState::Allocated {
                    return Err(format!(
                        "serial {serial} queued to print while {:?}",
                        record.state
                    ));
                }
                if record.queued {
                    return Err(format!("serial {serial} queued to print twice"));
                }
                record.queued = true;
                if self
                    .print_queued
                    .insert(*message_id, serial.clone())
                    .is_some()
                {
                    return Err(format!("message id {message_id} used twice"));
                }
            }
            Transition::SerialEncoded { serial, message_id } => {
                if self.print_queued.get(message_id) != Some(serial) {
                    return Err(format!(
                        "serial {serial} encoded under message {message_id}, which was not queued for it"
                    ));
                }
                self.transition(serial, SerialState::Allocated, SerialState::Encoded)?;
            }
            Transition::SerialCommissioned { serial, .. } => {
                let batch =
                    self.transition(serial, SerialState::Encoded, SerialState::Commissioned)?;
                self.counts.entry(batch).or_default().commissioned += 1;
            }
            Transition::SerialScrapped { serial, .. } => {
                let batch =
                    self.transition(serial, SerialState::Encoded, SerialState::LabelScrapped)?;
                self.counts.entry(batch).or_default().scrapped += 1;
            }
            Transition::SerialReturned { serial, proof } => {
                let batch =
                    self.transition(serial, SerialState::Allocated, SerialState::Unallocated)?;
                if let crate::line::ReturnProof::PrinterReportedUnprinted { message_id } = proof
                    && self.print_queued.get(message_id) != Some(serial)
                {
                    return Err(format!(
                        "serial {serial} returned with the proof of message {message_id}, which was not its"
                    ));
                }
                if let Some(record) = self.serials.get_mut(serial) {
                    record.queued = false;
                }
                self.returned_pool.push(serial.clone());
                self.counts.entry(batch).or_default().returned += 1;
            }
            Transition::SerialInvalidated { serial, .. } => {
                let batch =
                    self.transition(serial, SerialState::Allocated, SerialState::SnInvalid)?;
                self.counts.entry(batch).or_default().invalidated += 1;
            }
            Transition::ItemVerdict {
                seq,
                verdict,
                serial,
                ..
            } => {
                let batch = self.active.ok_or("item verdict with no active batch")?;
                if self
                    .verdicts
                    .insert((batch, seq.0), (*verdict, serial.clone()))
                    .is_some()
                {
                    return Err(format!("a second verdict recorded for item {seq}"));
                }
            }
            Transition::ItemFate { .. }
            | Transition::BatchState { .. }
            | Transition::BatchClosed { .. } => {}
        }
        Ok(())
    }

    /// Checks that a command's prerequisite records exist.
    pub fn check_order(&self, command: &Command) -> Result<(), String> {
        match command {
            Command::QueuePrint {
                message_id, serial, ..
            } => {
                if self.print_queued.get(message_id) != Some(serial) {
                    return Err(format!(
                        "print of {serial} (message {message_id}) sent before it was recorded"
                    ));
                }
                if self.state(serial) != Some(SerialState::Allocated) {
                    return Err(format!(
                        "print of {serial} sent while it is {:?}",
                        self.state(serial)
                    ));
                }
            }
            Command::WriteVerdict { seq, verdict } => {
                let batch = self.active.ok_or("verdict written with no active batch")?;
                match self.verdicts.get(&(batch, seq.0)) {
                    Some((recorded, _)) if recorded == verdict => {}
                    other => {
                        return Err(format!(
                            "verdict {verdict:?} for item {seq} written, but recorded {other:?}"
                        ));
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::line::command::{InvalidationCause, ReturnProof};
    use crate::line::types::Seq;

    const BATCH: BatchId = BatchId(1);

    fn queued(ledger: &mut Ledger, id: u64, serial: &str) {
        let transition = Transition::PrintQueued {
            message_id: MessageId(id),
            serial: serial.to_string(),
        };
        assert_eq!(ledger.apply(&transition), Ok(()));
    }

    #[test]
    fn no_corrupted_serial_is_a_serial_of_the_pool() {
        let mut ledger = Ledger::default();
        let block = ledger.allocate(BATCH, 50);
        for serial in &block {
            let mut printed = serial.clone().into_bytes();
            serialstation_simulator::printer::model::corrupt(&mut printed);
            let printed = String::from_utf8(printed).unwrap();
            assert_ne!(&printed, serial);
            assert!(!block.contains(&printed), "{serial} corrupts to {printed}");
        }
        assert_eq!(ledger.counts(BATCH).allocated, 50);
    }

    #[test]
    fn a_print_may_only_leave_after_its_record() {
        let mut ledger = Ledger::default();
        let serial = ledger.allocate(BATCH, 1).remove(0);
        let print = Command::QueuePrint {
            message_id: MessageId(7),
            serial: serial.clone(),
            encoder_data: String::new(),
        };
        assert!(ledger.check_order(&print).is_err());
        queued(&mut ledger, 7, &serial);
        assert_eq!(ledger.check_order(&print), Ok(()));
        let again = Transition::PrintQueued {
            message_id: MessageId(8),
            serial: serial.clone(),
        };
        assert!(ledger.apply(&again).unwrap_err().contains("twice"));
    }

    #[test]
    fn a_verdict_may_only_leave_after_its_record() {
        let mut ledger = Ledger::default();
        ledger.set_active_batch(Some(BATCH));
        let write = Command::WriteVerdict {
            seq: Seq(4),
            verdict: Verdict::Good,
        };
        assert!(ledger.check_order(&write).is_err());
        let recorded = Transition::ItemVerdict {
            seq: Seq(4),
            verdict: Verdict::Reject,
            reason: Some(crate::line::RejectReason::NoRead),
            serial: None,
            grade: None,
        };
        assert_eq!(ledger.apply(&recorded), Ok(()));
        assert!(
            ledger.check_order(&write).is_err(),
            "GOOD written, REJECT recorded"
        );
        let reject = Command::WriteVerdict {
            seq: Seq(4),
            verdict: Verdict::Reject,
        };
        assert_eq!(ledger.check_order(&reject), Ok(()));
    }

    #[test]
    fn the_serial_state_machine_is_enforced_and_counted() {
        let mut ledger = Ledger::default();
        let block = ledger.allocate(BATCH, 3);
        let commissioned = Transition::SerialCommissioned {
            serial: block[0].clone(),
            seq: Seq(1),
        };
        assert!(ledger.apply(&commissioned).is_err(), "not encoded yet");
        queued(&mut ledger, 1, &block[0]);
        let encoded = Transition::SerialEncoded {
            serial: block[0].clone(),
            message_id: MessageId(1),
        };
        assert_eq!(ledger.apply(&encoded), Ok(()));
        assert_eq!(ledger.apply(&commissioned), Ok(()));
        assert_eq!(ledger.state(&block[0]), Some(SerialState::Commissioned));
        let invalidated = Transition::SerialInvalidated {
            serial: block[1].clone(),
            cause: InvalidationCause::NotReportedUnprinted,
        };
        assert_eq!(ledger.apply(&invalidated), Ok(()));
        let returned = Transition::SerialReturned {
            serial: block[2].clone(),
            proof: ReturnProof::NeverSentToPrinter,
        };
        assert_eq!(ledger.apply(&returned), Ok(()));
        let counts = ledger.counts(BATCH);
        assert_eq!(
            (
                counts.allocated,
                counts.commissioned,
                counts.invalidated,
                counts.returned
            ),
            (3, 1, 1, 1)
        );
        assert!(ledger.open_serials(BATCH).is_empty());
        assert_eq!(ledger.allocate(BatchId(2), 1), vec![block[2].clone()]);
    }
}
