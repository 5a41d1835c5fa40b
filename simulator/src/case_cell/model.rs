//! The case cell's physics, pure: good packs arrive from the reject gate one at a
//! time and the case packer's PLC counts each into the case being filled. A full
//! case (or the one the host closes early) moves to the case station and waits
//! there for the host's command: release to the good exit or divert to the rework
//! lane. On its way some things go wrong, each drawn from its own seeded stream:
//! a pack falls out (counted, not in the case), a pack from elsewhere lands in it,
//! a pack carries a copy of another pack's code, a code is smudged past reading.
//! A label sent to the printer is applied to the waiting case and the label
//! scanner reads it (sometimes not; with the misprint fault the printer prints
//! the label before it). The ground truth is what is physically in each case,
//! which labels it carries, and where it went.

use std::collections::VecDeque;

use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};
use serialstation_devices::plc::case_packer::{CaseCommand, CasePackerStatus, WaitingCase};

use crate::faults::parse_rates;
use crate::pallet_cell::model::{AppliedLabel, NO_READ};

/// Fault rates per case (or per label), each 0.0 to 1.0.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CaseFaults {
    /// A counted pack is not in the case.
    pub missing_pack: f64,
    /// A pack from elsewhere is in the case.
    pub extra_pack: f64,
    /// A pack carries a copy of another pack's code.
    pub duplicate_code: f64,
    /// One code in the case cannot be read.
    pub unreadable_code: f64,
    /// The label scanner cannot read a label.
    pub label_no_read: f64,
    /// The printer prints the previous label again instead of the new one.
    pub label_misprint: f64,
}

impl CaseFaults {
    /// Reads `name=rate,…` (names as the fields).
    pub fn parse(text: &str) -> Result<CaseFaults, String> {
        let mut faults = CaseFaults::default();
        parse_rates(
            text,
            &mut [
                ("missing_pack", &mut faults.missing_pack),
                ("extra_pack", &mut faults.extra_pack),
                ("duplicate_code", &mut faults.duplicate_code),
                ("unreadable_code", &mut faults.unreadable_code),
                ("label_no_read", &mut faults.label_no_read),
                ("label_misprint", &mut faults.label_misprint),
            ],
        )?;
        Ok(faults)
    }
}

/// Where a case went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseExit {
    Good,
    Rework,
}

/// One physical case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhysicalCase {
    pub number: u32,
    /// Index of its first counted pack (from 0 in the batch).
    pub first_pack: u32,
    /// The codes the PLC counted into it, in order.
    pub counted: Vec<String>,
    /// What physically stands at each place of the case (`None`: empty).
    pub places: Vec<Option<String>>,
    /// Places whose code is smudged past reading.
    pub unreadable: Vec<usize>,
    pub labels: Vec<AppliedLabel>,
    /// `None` while it waits at the case station.
    pub exit: Option<CaseExit>,
}

impl PhysicalCase {
    /// The codes physically in the case.
    pub fn contents(&self) -> impl Iterator<Item = &String> {
        self.places.iter().flatten()
    }
}

/// What the cell physically did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseCellTruth {
    pub cases: Vec<PhysicalCase>,
    /// Packs that were counted but fell out, or were pushed out by a pack from
    /// elsewhere: on the floor, in no case.
    pub lost: Vec<String>,
    /// Labels printed while no case waited.
    pub unapplied_labels: Vec<String>,
    /// Packs still to arrive, and counted into the case being filled.
    pub to_arrive: usize,
    pub filling: Vec<String>,
}

/// The case cell.
pub struct CaseCell {
    arriving: VecDeque<String>,
    capacity: usize,
    places: usize,
    counted_total: u32,
    filling: Vec<String>,
    close_requested: bool,
    next_number: u32,
    waiting: Option<usize>,
    released: u32,
    reworked: u32,
    faults: CaseFaults,
    streams: [Xoshiro256PlusPlus; 6],
    foreign: u32,
    last_label: Option<String>,
    truth: CaseCellTruth,
}

impl CaseCell {
    /// `packs`: the good packs' codes (GS1 data) in the order they leave the
    /// reject gate; `places` (≥ `capacity`) of the case's layout.
    pub fn new(
        packs: Vec<String>,
        capacity: usize,
        places: usize,
        faults: CaseFaults,
        seed: u64,
    ) -> CaseCell {
        let stream = |n: u64| Xoshiro256PlusPlus::seed_from_u64(seed ^ (n << 56) ^ 0x0CA5E);
        let mut cell = CaseCell {
            arriving: packs.into(),
            capacity: capacity.max(1),
            places: places.max(capacity.max(1)),
            counted_total: 0,
            filling: Vec::new(),
            close_requested: false,
            next_number: 1,
            waiting: None,
            released: 0,
            reworked: 0,
            faults,
            streams: [0, 1, 2, 3, 4, 5].map(stream),
            foreign: 0,
            last_label: None,
            truth: CaseCellTruth::default(),
        };
        cell.sync_truth();
        cell
    }

    pub fn truth(&self) -> &CaseCellTruth {
        &self.truth
    }

    /// Sets the packs per full case (the host writes it at start).
    pub fn set_capacity(&mut self, capacity: usize) {
        self.capacity = capacity.clamp(1, self.places);
    }

    /// One step of the conveyor: the next pack is counted into the case being
    /// filled, and a full case moves to the station when it is free. True when
    /// anything the ground truth shows changed.
    pub fn step(&mut self) -> bool {
        let mut changed = false;
        if self.filling.len() < self.capacity
            && let Some(pack) = self.arriving.pop_front()
        {
            self.filling.push(pack);
            changed = true;
        }
        let full = self.filling.len() >= self.capacity;
        let early = self.close_requested && !self.filling.is_empty();
        if (full || early) && self.waiting.is_none() {
            self.close_case();
            self.close_requested = false;
            changed = true;
        }
        if changed {
            self.sync_truth();
        }
        changed
    }

    /// The case packer's register block.
    pub fn status(&self) -> CasePackerStatus {
        CasePackerStatus {
            waiting: self.waiting.map(|i| {
                let case = &self.truth.cases[i];
                WaitingCase {
                    number: case.number,
                    first_pack: case.first_pack,
                    packs: case.counted.len() as u16,
                }
            }),
            filling: self.filling.len() as u16,
            released: self.released,
            reworked: self.reworked,
        }
    }

    /// The host's command. A release or rework for a case that is not the
    /// waiting one does nothing (a command written again after a restart).
    pub fn command(&mut self, command: CaseCommand, number: u32) {
        match command {
            CaseCommand::CloseNow => {
                self.close_requested = true;
                self.step();
            }
            CaseCommand::Release | CaseCommand::Rework => {
                let Some(index) = self.waiting else { return };
                if self.truth.cases[index].number != number {
                    return;
                }
                let exit = if command == CaseCommand::Release {
                    self.released += 1;
                    CaseExit::Good
                } else {
                    self.reworked += 1;
                    CaseExit::Rework
                };
                self.truth.cases[index].exit = Some(exit);
                self.waiting = None;
                self.step();
            }
        }
    }

    /// What the case camera sees when triggered for case `number`: the codes at
    /// each place and the smudged places; `None` when that case is not waiting.
    pub fn picture(&self, number: u32) -> Option<(Vec<Option<String>>, Vec<usize>)> {
        let case = &self.truth.cases[self.waiting?];
        (case.number == number).then(|| (case.places.clone(), case.unreadable.clone()))
    }

    /// A label format reached the printer, carrying `printed` (its GS1-128
    /// data, `00` and the SSCC): it goes on the waiting case. Returns what the label scanner sends.
    pub fn label_printed(&mut self, printed: &str) -> String {
        let misprint = self.streams[5].random::<f64>() < self.faults.label_misprint;
        let on_paper = match (&self.last_label, misprint) {
            (Some(previous), true) => previous.clone(),
            _ => printed.to_string(),
        };
        self.last_label = Some(printed.to_string());
        let read = if self.streams[4].random::<f64>() < self.faults.label_no_read {
            NO_READ.to_string()
        } else {
            format!("]C1{on_paper}")
        };
        match self.waiting {
            Some(index) => self.truth.cases[index].labels.push(AppliedLabel {
                printed: on_paper,
                read: read.clone(),
            }),
            None => self.truth.unapplied_labels.push(on_paper),
        }
        read
    }

    fn close_case(&mut self) {
        let counted = std::mem::take(&mut self.filling);
        let first_pack = self.counted_total;
        self.counted_total += counted.len() as u32;
        let mut places: Vec<Option<String>> = counted.iter().cloned().map(Some).collect();
        places.resize(self.places, None);
        let mut unreadable = Vec::new();
        if self.streams[0].random::<f64>() < self.faults.missing_pack {
            let at = self.streams[0].random_range(0..counted.len());
            if let Some(pack) = places[at].take() {
                self.truth.lost.push(pack);
            }
        }
        if self.streams[1].random::<f64>() < self.faults.extra_pack {
            self.foreign += 1;
            let stranger = foreign_code(&counted[0], self.foreign);
            self.put_in(&mut places, stranger, 1);
        }
        if self.streams[2].random::<f64>() < self.faults.duplicate_code {
            let copy = counted[self.streams[2].random_range(0..counted.len())].clone();
            self.put_in(&mut places, copy, 2);
        }
        if self.streams[3].random::<f64>() < self.faults.unreadable_code {
            let occupied: Vec<usize> = (0..places.len()).filter(|i| places[*i].is_some()).collect();
            if !occupied.is_empty() {
                unreadable.push(occupied[self.streams[3].random_range(0..occupied.len())]);
            }
        }
        self.truth.cases.push(PhysicalCase {
            number: self.next_number,
            first_pack,
            counted,
            places,
            unreadable,
            labels: Vec::new(),
            exit: None,
        });
        self.next_number += 1;
        self.waiting = Some(self.truth.cases.len() - 1);
    }

    /// Puts a pack in a free place, or in place of a counted pack (which falls
    /// out) when the case is full.
    fn put_in(&mut self, places: &mut [Option<String>], pack: String, stream: usize) {
        if let Some(free) = places.iter().position(Option::is_none) {
            places[free] = Some(pack);
            return;
        }
        let at = self.streams[stream].random_range(0..places.len());
        if let Some(pushed_out) = places[at].replace(pack) {
            self.truth.lost.push(pushed_out);
        }
    }

    fn sync_truth(&mut self) {
        self.truth.to_arrive = self.arriving.len();
        self.truth.filling = self.filling.clone();
    }
}

/// A pack from elsewhere: the same product's code with a serial this line never
/// printed.
fn foreign_code(like: &str, n: u32) -> String {
    match like.find("(21)") {
        Some(at) => {
            let rest = &like[at + 4..];
            let end = rest.find('(').map_or(like.len(), |e| at + 4 + e);
            format!("{}(21)ELSEWHERE{n}{}", &like[..at], &like[end..])
        }
        None => format!("(01)09506000000002(21)ELSEWHERE{n}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packs(n: usize) -> Vec<String> {
        (0..n)
            .map(|i| format!("(01)09506000134352(21)S{i:04}(10)L1(17)301231"))
            .collect()
    }

    fn run_to_waiting(cell: &mut CaseCell) -> WaitingCase {
        for _ in 0..100 {
            if let Some(waiting) = cell.status().waiting {
                return waiting;
            }
            cell.step();
        }
        panic!("no case closed");
    }

    #[test]
    fn packs_are_counted_into_cases_in_order() {
        let mut cell = CaseCell::new(packs(7), 3, 4, CaseFaults::default(), 1);
        let first = run_to_waiting(&mut cell);
        assert_eq!((first.number, first.first_pack, first.packs), (1, 0, 3));
        // The next case fills while the first waits, but cannot move.
        for _ in 0..10 {
            cell.step();
        }
        assert_eq!(cell.status().filling, 3);
        cell.command(CaseCommand::Release, 2); // not the waiting case: nothing
        assert_eq!(cell.status().waiting, Some(first));
        cell.command(CaseCommand::Release, 1);
        let second = cell.status().waiting.expect("the second case moves up");
        assert_eq!((second.number, second.first_pack), (2, 3));
        cell.command(CaseCommand::Rework, 2);
        cell.step();
        assert_eq!(cell.status().filling, 1);
        cell.command(CaseCommand::CloseNow, 0);
        let last = cell.status().waiting.expect("the partial case closes");
        assert_eq!((last.number, last.first_pack, last.packs), (3, 6, 1));
        let truth = cell.truth();
        assert_eq!(truth.cases[0].exit, Some(CaseExit::Good));
        assert_eq!(truth.cases[1].exit, Some(CaseExit::Rework));
        assert_eq!(truth.cases[2].contents().count(), 1);
    }

    #[test]
    fn faults_change_what_is_in_the_case_not_what_was_counted() {
        let faults = CaseFaults {
            missing_pack: 1.0,
            extra_pack: 1.0,
            duplicate_code: 1.0,
            unreadable_code: 1.0,
            ..CaseFaults::default()
        };
        let mut cell = CaseCell::new(packs(4), 4, 4, faults, 7);
        let waiting = run_to_waiting(&mut cell);
        let case = &cell.truth().cases[0];
        assert_eq!(case.counted.len(), 4);
        assert_eq!(waiting.packs, 4);
        assert!(case.contents().any(|c| c.contains("ELSEWHERE1")));
        assert_eq!(case.unreadable.len(), 1);
        assert!(!cell.truth().lost.is_empty());
    }

    #[test]
    fn a_label_goes_on_the_waiting_case_and_a_misprint_repeats_the_last() {
        let faults = CaseFaults {
            label_misprint: 1.0,
            ..CaseFaults::default()
        };
        let mut cell = CaseCell::new(packs(3), 3, 3, faults, 3);
        assert_eq!(cell.label_printed("001"), "]C1001"); // nothing before it
        run_to_waiting(&mut cell);
        assert_eq!(cell.label_printed("002"), "]C1001");
        assert_eq!(cell.truth().unapplied_labels, vec!["001".to_string()]);
        assert_eq!(cell.truth().cases[0].labels[0].printed, "001");
    }

    #[test]
    fn fault_names_are_checked() {
        assert!(CaseFaults::parse("missing_pack=0.5,label_no_read=1").is_ok());
        assert!(
            CaseFaults::parse("lost=0.1")
                .unwrap_err()
                .contains("missing_pack")
        );
        assert!(CaseFaults::parse("extra_pack=2").is_err());
    }
}
