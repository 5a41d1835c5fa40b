//! The ground truth of the engine simulation: every item the line produced (its seq,
//! the batch it was fed for, what the printer put on it, where it went) and which of
//! the station's serials each print carries. Pure: [`super::sim_line`] feeds it from
//! the simulator's line events and camera jobs; the checks in [`super::run`] read it.

use std::collections::{HashMap, HashSet};

use serialstation_simulator::printer::model::corrupt;

use crate::line::types::{BatchId, Grade, Seq};

/// What is physically printed on an item (as the camera saw it come by).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    /// The printed data, in encoder form (GS separators).
    pub data: Vec<u8>,
    /// The print's true grade.
    pub grade: Grade,
    /// The serial of the station's message the print came from; `None` for a print
    /// that is none of the station's (a challenge item).
    pub serial: Option<String>,
    /// The printer changed the data on the way (fault `wrong_data`).
    pub corrupted: bool,
}

/// Where an item physically ended up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Whereabouts {
    OnBelt,
    /// Released by the PLC with a GOOD verdict.
    GoodExit,
    /// The gate did not fire: the item went out through the good exit without GOOD.
    Escaped,
    RejectBin,
}

/// Ground truth of one item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TruthItem {
    pub seq: Seq,
    /// The batch running when the item was fed.
    pub batch: Option<BatchId>,
    /// `None` until the item passed the camera, and for a blank item.
    pub label: Option<Label>,
    /// The PLC released the item at the gate.
    pub released: bool,
    pub whereabouts: Whereabouts,
}

/// Every item, keyed by seq, and what the station sent to the printer.
#[derive(Debug, Default)]
pub struct Truth {
    pub items: HashMap<u32, TruthItem>,
    /// How many items each of the station's serials was printed on.
    pub print_counts: HashMap<String, u32>,
    /// Serials the printer itself put on two items (its silent repeat, fault
    /// `double_print`): the station sent them once.
    pub doubled: HashSet<String>,
    /// A serial on two items that is not the printer's silent repeat (must never happen).
    pub printed_twice: Option<String>,
    /// Items that left the line since the driver last looked.
    pub recent_exits: Vec<Seq>,
    /// Items that went out through the good exit past a gate that did not fire.
    pub escaped: u64,
    /// Message data the station sent, and the same data as the printer's wrong-data
    /// fault prints it, each to its serial.
    sent: HashMap<Vec<u8>, String>,
    sent_corrupted: HashMap<Vec<u8>, String>,
    /// The serial of the last print of one of the station's messages (a silent repeat
    /// can only follow it); `None` after a print that is not the station's.
    last_printed: Option<String>,
}

impl Truth {
    /// The station sent `data` for `serial` to the printer.
    pub fn message_sent(&mut self, serial: &str, data: &[u8]) {
        let mut corrupted = data.to_vec();
        corrupt(&mut corrupted);
        if corrupted != data {
            self.sent_corrupted.insert(corrupted, serial.to_string());
        }
        self.sent.insert(data.to_vec(), serial.to_string());
    }

    /// Which of the station's serials printed `data` carries, and whether the printer
    /// corrupted it; `(None, false)` for a print that is none of the station's.
    pub fn identify(&self, data: &[u8]) -> (Option<String>, bool) {
        if let Some(serial) = self.sent.get(data) {
            return (Some(serial.clone()), false);
        }
        if let Some(serial) = self.sent_corrupted.get(data) {
            return (Some(serial.clone()), true);
        }
        (None, false)
    }

    /// An item entered the line while `batch` was running.
    pub fn entered(&mut self, seq: u32, batch: Option<BatchId>) {
        self.items.insert(
            seq,
            TruthItem {
                seq: Seq(seq),
                batch,
                label: None,
                released: false,
                whereabouts: Whereabouts::OnBelt,
            },
        );
    }

    /// The item reached the camera carrying `print` (`None`: blank) of true `grade`.
    pub fn at_camera(&mut self, seq: u32, print: Option<&[u8]>, grade: Grade) {
        let Some(data) = print else {
            return;
        };
        let (serial, corrupted) = self.identify(data);
        if let Some(serial) = &serial {
            let count = self.print_counts.entry(serial.clone()).or_insert(0);
            *count += 1;
            if *count == 2 && self.last_printed.as_ref() == Some(serial) {
                self.doubled.insert(serial.clone());
            } else if *count > 1 {
                self.printed_twice = Some(serial.clone());
            }
        }
        self.last_printed = serial.clone();
        if let Some(item) = self.items.get_mut(&seq) {
            item.label = Some(Label {
                data: data.to_vec(),
                grade,
                serial,
                corrupted,
            });
        }
    }

    /// The PLC decided at the gate: released (GOOD held) or not.
    pub fn at_gate(&mut self, seq: u32, released: bool) {
        if let Some(item) = self.items.get_mut(&seq) {
            item.released = released;
        }
    }

    /// The item passed the good-exit sensor: released, or escaped past a gate that
    /// did not fire.
    pub fn exited_good(&mut self, seq: u32) {
        if let Some(item) = self.items.get_mut(&seq) {
            item.whereabouts = if item.released {
                Whereabouts::GoodExit
            } else {
                self.escaped += 1;
                Whereabouts::Escaped
            };
        }
        self.recent_exits.push(Seq(seq));
    }

    /// The item fell into the reject bin.
    pub fn entered_bin(&mut self, seq: u32) {
        if let Some(item) = self.items.get_mut(&seq) {
            item.whereabouts = Whereabouts::RejectBin;
        }
        self.recent_exits.push(Seq(seq));
    }

    /// Forgets every item that has left the line (a batch was closed and judged).
    pub fn forget_departed(&mut self) {
        self.items
            .retain(|_, item| item.whereabouts == Whereabouts::OnBelt);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DATA: &[u8] = b"01095060001343521728123110L1\x1d21SIM000000000001A";
    const OTHER: &[u8] = b"01095060001343521728123110L1\x1d21SIM000000000002A";

    fn sent() -> Truth {
        let mut truth = Truth::default();
        truth.message_sent("SIM000000000001A", DATA);
        truth.message_sent("SIM000000000002A", OTHER);
        for seq in 1..=6 {
            truth.entered(seq, Some(BatchId(1)));
        }
        truth
    }

    fn corrupted(data: &[u8]) -> Vec<u8> {
        let mut data = data.to_vec();
        corrupt(&mut data);
        data
    }

    #[test]
    fn a_print_is_known_by_its_data_even_corrupted() {
        let truth = sent();
        assert_eq!(
            truth.identify(DATA),
            (Some("SIM000000000001A".to_string()), false)
        );
        assert_eq!(
            truth.identify(&corrupted(DATA)),
            (Some("SIM000000000001A".to_string()), true)
        );
        assert_eq!(truth.identify(b"NOT GS1 AT ALL"), (None, false));
    }

    #[test]
    fn the_printers_silent_repeat_is_a_double_print_not_a_second_sending() {
        let mut truth = sent();
        truth.at_camera(1, Some(DATA), Grade::A);
        truth.at_camera(2, None, Grade::A);
        truth.at_camera(3, Some(&corrupted(DATA)), Grade::A);
        assert!(truth.doubled.contains("SIM000000000001A"));
        assert_eq!(truth.printed_twice, None);
        assert_eq!(truth.print_counts.get("SIM000000000001A"), Some(&2));
        let label = truth.items[&3].label.clone().unwrap();
        assert!(label.corrupted);
        assert_eq!(label.serial.as_deref(), Some("SIM000000000001A"));
    }

    #[test]
    fn a_serial_printed_again_later_is_printed_twice() {
        let mut truth = sent();
        truth.at_camera(1, Some(DATA), Grade::A);
        truth.at_camera(2, Some(OTHER), Grade::A);
        assert_eq!(truth.printed_twice, None);
        truth.at_camera(3, Some(DATA), Grade::A);
        assert_eq!(truth.printed_twice.as_deref(), Some("SIM000000000001A"));
        assert!(truth.doubled.is_empty());
    }

    #[test]
    fn a_foreign_print_between_breaks_the_repeat() {
        let mut truth = sent();
        truth.at_camera(1, Some(DATA), Grade::A);
        truth.at_camera(2, Some(b"NOT GS1 AT ALL"), Grade::F);
        truth.at_camera(3, Some(DATA), Grade::A);
        assert_eq!(truth.printed_twice.as_deref(), Some("SIM000000000001A"));
        assert_eq!(truth.items[&2].label.as_ref().unwrap().serial, None);
    }

    #[test]
    fn exits_are_judged_by_the_gate_and_forgotten_after_the_batch() {
        let mut truth = sent();
        truth.at_gate(1, true);
        truth.exited_good(1);
        truth.at_gate(2, false);
        truth.exited_good(2);
        truth.at_gate(3, false);
        truth.entered_bin(3);
        assert_eq!(truth.items[&1].whereabouts, Whereabouts::GoodExit);
        assert_eq!(truth.items[&2].whereabouts, Whereabouts::Escaped);
        assert_eq!(truth.items[&3].whereabouts, Whereabouts::RejectBin);
        assert_eq!(truth.escaped, 1);
        assert_eq!(truth.recent_exits, vec![Seq(1), Seq(2), Seq(3)]);
        truth.forget_departed();
        let mut left: Vec<u32> = truth.items.keys().copied().collect();
        left.sort_unstable();
        assert_eq!(left, vec![4, 5, 6]);
    }
}
