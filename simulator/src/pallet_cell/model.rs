//! The pallet cell's physics, pure: cases arrive one at a time at the stacker's
//! scan point, where the scanner reads each (sometimes not at all, sometimes
//! twice); a case is stacked only when the host's first answer to its read is
//! `ACCEPT`, and diverted otherwise. A label sent to the printer is applied to the
//! pallet being built, and the label scanner reads it (sometimes not, and with the
//! stale-buffer fault the printer prints the label before it). The next case
//! stacked after a pallet got a label starts a new pallet. The ground truth is
//! what is physically on each pallet and which labels it carries.

use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::faults::parse_rates;

/// What the scanners send when they cannot read a code.
pub const NO_READ: &str = "NOREAD";

/// Fault rates, each 0.0 to 1.0.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CellFaults {
    /// The stacker's scanner cannot read a case.
    pub case_no_read: f64,
    /// The stacker's scanner sends one case's read twice.
    pub case_double_read: f64,
    /// The label scanner cannot read a label.
    pub label_no_read: f64,
    /// The printer prints the previous label again instead of the new one.
    pub label_stale: f64,
}

impl CellFaults {
    /// Reads `name=rate,…` (names as the fields).
    pub fn parse(text: &str) -> Result<CellFaults, String> {
        let mut faults = CellFaults::default();
        parse_rates(
            text,
            &mut [
                ("case_no_read", &mut faults.case_no_read),
                ("case_double_read", &mut faults.case_double_read),
                ("label_no_read", &mut faults.label_no_read),
                ("label_stale", &mut faults.label_stale),
            ],
        )?;
        Ok(faults)
    }
}

/// One label on a pallet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedLabel {
    /// The GS1-128 data printed on it (AI 00 and the SSCC).
    pub printed: String,
    /// What the label scanner sent for it.
    pub read: String,
}

/// One physical pallet.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhysicalPallet {
    /// The cases on it, bottom first, as their labels read (SSCC digits).
    pub cases: Vec<String>,
    /// Labels applied to it, first first.
    pub labels: Vec<AppliedLabel>,
}

/// What the cell physically did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CellTruth {
    pub pallets: Vec<PhysicalPallet>,
    /// Cases sent down the reject lane.
    pub diverted: Vec<String>,
    /// Cases still to come.
    pub waiting: usize,
    /// The case at the scan point, waiting for its answers.
    #[serde(default)]
    pub at_scan_point: Option<String>,
    /// Answers that answered no read (a host out of step with the stacker).
    #[serde(default)]
    pub protocol_errors: Vec<String>,
}

/// The case at the scan point.
#[derive(Debug, Clone)]
struct AtScanPoint {
    case: String,
    /// The reads sent for it.
    reads: Vec<String>,
    /// Answers received so far.
    answers: usize,
    stacked: bool,
}

/// The cell.
pub struct PalletCell {
    queue: std::collections::VecDeque<String>,
    at_scan_point: Option<AtScanPoint>,
    faults: CellFaults,
    /// One seeded stream per fault, so that one fault's draws do not depend
    /// on how the others interleave with it.
    streams: [Xoshiro256PlusPlus; 4],
    truth: CellTruth,
    last_label: Option<String>,
}

impl PalletCell {
    /// A cell that will receive `cases` (SSCC digits, in arrival order).
    pub fn new(cases: Vec<String>, faults: CellFaults, seed: u64) -> PalletCell {
        let waiting = cases.len();
        PalletCell {
            queue: cases.into(),
            at_scan_point: None,
            faults,
            streams: std::array::from_fn(|i| {
                Xoshiro256PlusPlus::seed_from_u64(seed.wrapping_mul(4).wrapping_add(i as u64))
            }),
            truth: CellTruth {
                waiting,
                ..CellTruth::default()
            },
            last_label: None,
        }
    }

    pub fn truth(&self) -> &CellTruth {
        &self.truth
    }

    fn fires(&mut self, stream: usize, rate: f64) -> bool {
        rate > 0.0 && self.streams[stream].random::<f64>() < rate
    }

    /// The next case reaches the scan point when the last one has moved on:
    /// returns the lines the scanner sends for it.
    pub fn next_case(&mut self) -> Option<Vec<String>> {
        if self.at_scan_point.is_some() {
            return None;
        }
        let case = self.queue.pop_front()?;
        self.truth.waiting = self.queue.len();
        let read = if self.fires(0, self.faults.case_no_read) {
            NO_READ.to_string()
        } else {
            format!("]C100{case}")
        };
        let mut reads = vec![read.clone()];
        if self.fires(1, self.faults.case_double_read) {
            reads.push(read);
        }
        self.truth.at_scan_point = Some(case.clone());
        self.at_scan_point = Some(AtScanPoint {
            case,
            reads: reads.clone(),
            answers: 0,
            stacked: false,
        });
        Some(reads)
    }

    /// The reads of the case at the scan point not yet answered (sent again to a
    /// host that reconnects).
    pub fn unanswered_reads(&self) -> Vec<String> {
        self.at_scan_point
            .as_ref()
            .map(|at| at.reads[at.answers.min(at.reads.len())..].to_vec())
            .unwrap_or_default()
    }

    /// The host's answer to the oldest unanswered read. The first answer decides;
    /// the case moves on once every read is answered.
    pub fn answer(&mut self, line: &str) {
        let Some(mut at) = self.at_scan_point.take() else {
            self.truth.protocol_errors.push(format!(
                "answer {:?} with no case at the scan point",
                line.trim()
            ));
            return;
        };
        let accept = line.trim().eq_ignore_ascii_case("ACCEPT");
        if at.answers == 0 {
            if accept {
                if self
                    .truth
                    .pallets
                    .last()
                    .is_none_or(|p| !p.labels.is_empty())
                {
                    self.truth.pallets.push(PhysicalPallet::default());
                }
                if let Some(pallet) = self.truth.pallets.last_mut() {
                    pallet.cases.push(at.case.clone());
                }
                at.stacked = true;
            } else {
                self.truth.diverted.push(at.case.clone());
            }
        }
        at.answers += 1;
        if at.answers < at.reads.len() {
            self.at_scan_point = Some(at);
        }
        self.truth.at_scan_point = self.at_scan_point.as_ref().map(|a| a.case.clone());
    }

    /// A label printed: applied to the pallet being built. Returns the label
    /// scanner's read of it.
    pub fn label_printed(&mut self, linear: &str) -> String {
        let stale = self.fires(2, self.faults.label_stale);
        let printed = match (&self.last_label, stale) {
            (Some(previous), true) => previous.clone(),
            _ => linear.to_string(),
        };
        self.last_label = Some(linear.to_string());
        let read = if self.fires(3, self.faults.label_no_read) {
            NO_READ.to_string()
        } else {
            format!("]C1{printed}")
        };
        if self.truth.pallets.is_empty() {
            self.truth.pallets.push(PhysicalPallet::default());
        }
        if let Some(pallet) = self.truth.pallets.last_mut() {
            pallet.labels.push(AppliedLabel {
                printed,
                read: read.clone(),
            });
        }
        read
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_accepted_case_is_stacked_and_a_label_ends_a_pallet() {
        let mut cell = PalletCell::new(
            vec!["1".into(), "2".into(), "3".into()],
            CellFaults::default(),
            7,
        );
        assert_eq!(cell.next_case(), Some(vec!["]C1001".to_string()]));
        assert_eq!(
            cell.next_case(),
            None,
            "one case at the scan point at a time"
        );
        cell.answer("ACCEPT");
        cell.next_case();
        cell.answer("REJECT");
        assert_eq!(cell.label_printed("00123"), "]C100123");
        cell.next_case();
        cell.answer("ACCEPT");
        let truth = cell.truth();
        assert_eq!(truth.pallets.len(), 2);
        assert_eq!(truth.pallets[0].cases, ["1"]);
        assert_eq!(truth.pallets[0].labels[0].printed, "00123");
        assert_eq!(truth.pallets[1].cases, ["3"]);
        assert_eq!(truth.diverted, ["2"]);
    }

    #[test]
    fn a_double_read_needs_two_answers_and_the_first_decides() {
        let faults = CellFaults {
            case_double_read: 1.0,
            ..CellFaults::default()
        };
        let mut cell = PalletCell::new(vec!["1".into()], faults, 7);
        assert_eq!(cell.next_case().map(|r| r.len()), Some(2));
        cell.answer("ACCEPT");
        assert_eq!(cell.unanswered_reads(), ["]C1001"]);
        cell.answer("REJECT");
        assert!(cell.unanswered_reads().is_empty());
        assert_eq!(cell.truth().pallets[0].cases, ["1"]);
        assert!(cell.truth().diverted.is_empty());
    }

    #[test]
    fn faults_are_named_and_bounded() {
        assert_eq!(
            CellFaults::parse("case_no_read=0.5, label_stale=1").unwrap(),
            CellFaults {
                case_no_read: 0.5,
                label_stale: 1.0,
                ..CellFaults::default()
            }
        );
        assert!(
            CellFaults::parse("case_no_read=2")
                .unwrap_err()
                .contains("0.0 to 1.0")
        );
        assert!(
            CellFaults::parse("smoke=0.1")
                .unwrap_err()
                .contains("unknown fault")
        );
    }
}
