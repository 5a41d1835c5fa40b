//! Which labels a ZPL printer has printed, inferred from its host status. ZPL has
//! no per-label acknowledgement, so the driver numbers the labels it sends and
//! [`PrintInference`] keeps them oldest first. When the formats in the printer's
//! buffer drop to m, every outstanding label older than the newest m has printed.
//! A buffer clear proves the labels still in the buffer never printed. Pure: the
//! driver (`driver.rs`) does the I/O.

use std::collections::VecDeque;

use super::host_status::HostStatus;
use crate::traits::{DeviceEventKind, PrinterStatus};

/// Labels sent and not yet known to be printed, and the printer's last faults.
#[derive(Debug, Default)]
pub struct PrintInference {
    /// Message ids, oldest first.
    outstanding: VecDeque<u32>,
    last_faults: Option<Vec<&'static str>>,
    /// While a clear is in progress, status answers must not be read as prints.
    clearing: bool,
}

impl PrintInference {
    pub fn new() -> Self {
        PrintInference::default()
    }

    /// A label is about to be sent. Call it before sending: if the write fails
    /// half-way the label may still print, and an id that is tracked can only ever
    /// be reported as printed.
    pub fn label_sent(&mut self, message_id: u32) {
        self.outstanding.push_back(message_id);
    }

    /// Message ids sent and not yet known to be printed, oldest first.
    pub fn outstanding(&self) -> Vec<u32> {
        self.outstanding.iter().copied().collect()
    }

    /// One host-status answer: a `PrintComplete` for every label it proves
    /// printed (oldest first), then a `PrinterStatus` when the faults changed.
    pub fn on_status(&mut self, status: &HostStatus) -> Vec<DeviceEventKind> {
        let mut events = Vec::new();
        if !self.clearing {
            let printed = self
                .outstanding
                .len()
                .saturating_sub(usize::from(status.formats_in_buffer));
            events.extend(
                self.outstanding
                    .drain(..printed)
                    .map(|message_id| DeviceEventKind::PrintComplete { message_id }),
            );
        }
        let faults = status.faults();
        if self.last_faults.as_ref() != Some(&faults) {
            self.last_faults = Some(faults);
            events.push(DeviceEventKind::PrinterStatus(printer_status(
                status,
                self.outstanding.len(),
            )));
        }
        events
    }

    /// A clear begins with the printer paused and settled at `in_printer` formats:
    /// returns the labels about to be cancelled (the newest `in_printer`
    /// outstanding ones). Until [`finish_clear`](Self::finish_clear), status
    /// answers are not read as prints.
    pub fn begin_clear(&mut self, in_printer: u16) -> Vec<u32> {
        self.clearing = true;
        let keep = usize::from(in_printer).min(self.outstanding.len());
        let skip = self.outstanding.len() - keep;
        self.outstanding.iter().skip(skip).copied().collect()
    }

    /// The clear has ended. When the buffer was confirmed empty, the cancelled
    /// labels are proven never printed and are forgotten; anything older left the
    /// buffer earlier and is reported printed by the next status answer.
    pub fn finish_clear(&mut self, cancelled: &[u32], confirmed: bool) {
        self.clearing = false;
        if confirmed {
            self.outstanding.retain(|id| !cancelled.contains(id));
        }
    }
}

/// Watches the `~HS` answers after a pause until the printer has settled: paused,
/// with the same number of formats in its buffer twice in a row.
#[derive(Debug, Default)]
pub struct PauseSettle {
    previous: Option<u16>,
}

impl PauseSettle {
    /// One answer; `Some(formats in the buffer)` once the printer has settled.
    pub fn observe(&mut self, status: &HostStatus) -> Option<u16> {
        if status.paused && self.previous == Some(status.formats_in_buffer) {
            return Some(status.formats_in_buffer);
        }
        self.previous = status.paused.then_some(status.formats_in_buffer);
        None
    }
}

/// The printer's condition as every driver reports it; `buffer_level` is the
/// number of labels waiting.
pub fn printer_status(status: &HostStatus, buffer_level: usize) -> PrinterStatus {
    let faults: Vec<String> = status.faults().into_iter().map(String::from).collect();
    PrinterStatus {
        ready: faults.is_empty(),
        job: None,
        faults,
        buffer_level: Some(u32::try_from(buffer_level).unwrap_or(u32::MAX)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn in_buffer(formats: u16) -> HostStatus {
        HostStatus {
            formats_in_buffer: formats,
            ..HostStatus::default()
        }
    }

    fn printed(events: &[DeviceEventKind]) -> Vec<u32> {
        events
            .iter()
            .filter_map(|event| match event {
                DeviceEventKind::PrintComplete { message_id } => Some(*message_id),
                _ => None,
            })
            .collect()
    }

    fn statuses(events: &[DeviceEventKind]) -> Vec<PrinterStatus> {
        events
            .iter()
            .filter_map(|event| match event {
                DeviceEventKind::PrinterStatus(status) => Some(status.clone()),
                _ => None,
            })
            .collect()
    }

    fn tracking(ids: &[u32]) -> PrintInference {
        let mut inference = PrintInference::new();
        for id in ids {
            inference.label_sent(*id);
        }
        inference
    }

    #[test]
    fn a_shrinking_buffer_prints_the_oldest_labels_in_order() {
        let mut inference = tracking(&[10, 11, 12, 13]);
        assert_eq!(
            printed(&inference.on_status(&in_buffer(4))),
            Vec::<u32>::new()
        );
        assert_eq!(printed(&inference.on_status(&in_buffer(2))), vec![10, 11]);
        assert_eq!(inference.outstanding(), vec![12, 13]);
        assert_eq!(printed(&inference.on_status(&in_buffer(0))), vec![12, 13]);
        assert!(inference.outstanding().is_empty());
    }

    #[test]
    fn more_formats_than_tracked_labels_prints_nothing() {
        // Labels from before the driver started are in the buffer too.
        let mut inference = tracking(&[1, 2]);
        assert!(printed(&inference.on_status(&in_buffer(5))).is_empty());
        assert_eq!(inference.outstanding(), vec![1, 2]);
        assert_eq!(printed(&inference.on_status(&in_buffer(1))), vec![1]);
    }

    #[test]
    fn printer_status_is_reported_first_time_and_on_every_fault_change() {
        let mut inference = tracking(&[1, 2, 3]);
        let first = statuses(&inference.on_status(&in_buffer(3)));
        assert_eq!(
            first,
            vec![PrinterStatus {
                ready: true,
                job: None,
                faults: vec![],
                buffer_level: Some(3),
            }]
        );
        assert!(statuses(&inference.on_status(&in_buffer(2))).is_empty());
        let paper_out = HostStatus {
            paper_out: true,
            ..in_buffer(2)
        };
        let events = inference.on_status(&paper_out);
        let changed = statuses(&events);
        assert_eq!(changed.len(), 1);
        assert!(!changed[0].ready);
        assert_eq!(
            changed[0].faults,
            vec!["paper out: load labels".to_string()]
        );
        assert_eq!(changed[0].buffer_level, Some(2));
        // Prints come before the status in the same answer.
        let events = inference.on_status(&in_buffer(0));
        assert_eq!(printed(&events), vec![2, 3]);
        assert!(matches!(
            events.last(),
            Some(DeviceEventKind::PrinterStatus(PrinterStatus {
                ready: true,
                buffer_level: Some(0),
                ..
            }))
        ));
    }

    #[test]
    fn a_confirmed_clear_forgets_the_cancelled_labels_and_older_ones_still_print() {
        let mut inference = tracking(&[1, 2, 3, 4, 5]);
        let cancelled = inference.begin_clear(2);
        assert_eq!(cancelled, vec![4, 5]);
        // While clearing, an empty buffer is the cancel, not prints.
        assert!(printed(&inference.on_status(&in_buffer(0))).is_empty());
        inference.finish_clear(&cancelled, true);
        assert_eq!(inference.outstanding(), vec![1, 2, 3]);
        assert_eq!(printed(&inference.on_status(&in_buffer(0))), vec![1, 2, 3]);
    }

    #[test]
    fn a_failed_clear_keeps_every_label_outstanding() {
        let mut inference = tracking(&[1, 2, 3]);
        let cancelled = inference.begin_clear(2);
        assert_eq!(cancelled, vec![2, 3]);
        inference.finish_clear(&cancelled, false);
        assert_eq!(inference.outstanding(), vec![1, 2, 3]);
        assert_eq!(printed(&inference.on_status(&in_buffer(1))), vec![1, 2]);
    }

    #[test]
    fn a_clear_with_more_formats_than_tracked_cancels_every_tracked_label() {
        let mut inference = tracking(&[7]);
        assert_eq!(inference.begin_clear(3), vec![7]);
        let mut empty = PrintInference::new();
        assert!(empty.begin_clear(3).is_empty());
        assert!(empty.begin_clear(0).is_empty());
    }

    #[test]
    fn the_printer_settles_when_paused_at_the_same_count_twice() {
        let paused = |formats| HostStatus {
            paused: true,
            ..in_buffer(formats)
        };
        let mut settle = PauseSettle::default();
        assert_eq!(settle.observe(&in_buffer(3)), None);
        assert_eq!(settle.observe(&in_buffer(3)), None, "not paused yet");
        assert_eq!(settle.observe(&paused(3)), None);
        assert_eq!(settle.observe(&paused(2)), None, "still printing");
        assert_eq!(settle.observe(&in_buffer(2)), None);
        assert_eq!(settle.observe(&paused(2)), None, "unpaused in between");
        assert_eq!(settle.observe(&paused(2)), Some(2));
    }
}
