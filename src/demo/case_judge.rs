//! Cases judged from the case cell's ground truth (invariants 6 and 7 at the
//! case level; ARCHITECTURE.md, "Aggregation"): what is physically in each case
//! that left the case station, and which label it carries, against what the
//! store recorded. Used by the demo's case line and by the case station's tests.

use std::collections::{BTreeMap, BTreeSet};

use serialstation_simulator::case_cell::{CaseCellTruth, CaseExit};

use crate::aggregation::case_check::PlaceRead;
use crate::aggregation::{ContainerState, Level};
use crate::gs1::Sscc;
use crate::store::{BatchId, Store};

/// Cases judged from the cell's ground truth.
#[derive(Debug, Clone, Default)]
pub struct CaseJudgement {
    /// Cases released with a verified label.
    pub released: usize,
    /// Cases sent to the rework lane.
    pub reworked: usize,
    /// Labels printed again after a label that did not verify.
    pub reprints: usize,
    pub problems: Vec<String>,
}

/// Every released case carries, as its last label, the SSCC of a verified case
/// container of `batch` that holds exactly the packs physically in it (no pack
/// missing, none extra, none twice), and that label read back as itself; it
/// carries no label of another SSCC. Every
/// pack of a reworked case is loose in the store. Every verified case container
/// is the last label of exactly one released case. No case still waits.
pub fn judge_cases(
    store: &Store,
    batch: BatchId,
    truth: &CaseCellTruth,
) -> Result<CaseJudgement, String> {
    let mut judged = CaseJudgement::default();
    // Serial → the SSCCs of the case containers of the batch (not in rework) holding it.
    let mut held: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut verified: BTreeSet<String> = BTreeSet::new();
    for container in store.batch_containers(batch).map_err(|e| e.to_string())? {
        if container.level != Level::Case || container.state == ContainerState::Rework {
            continue;
        }
        let sscc = Sscc::parse(&container.sscc).map_err(|e| e.message)?;
        let tree = store.container_tree(&sscc).map_err(|e| e.to_string())?;
        for serial in tree.packs {
            held.entry(serial).or_default().push(container.sscc.clone());
        }
        if container.state == ContainerState::Verified {
            verified.insert(container.sscc);
        }
    }
    for (serial, containers) in &held {
        if containers.len() > 1 {
            judged.problems.push(format!(
                "pack {serial} is in cases {}",
                containers.join(", ")
            ));
        }
    }
    let mut labelled: BTreeSet<String> = BTreeSet::new();
    for case in &truth.cases {
        judged.reprints += case.labels.len().saturating_sub(1);
        match case.exit {
            None => judged.problems.push(format!(
                "physical case {} still waits at the case station",
                case.number
            )),
            Some(CaseExit::Rework) => {
                judged.reworked += 1;
                for serial in serials(case.contents()) {
                    if let Some(containers) = held.get(&serial) {
                        judged.problems.push(format!(
                            "pack {serial} went to the rework lane in case {} but the store has it in {}",
                            case.number,
                            containers.join(", ")
                        ));
                    }
                }
            }
            Some(CaseExit::Good) => {
                judged.released += 1;
                let Some(label) = case.labels.last() else {
                    judged.problems.push(format!(
                        "physical case {} was released without a label",
                        case.number
                    ));
                    continue;
                };
                let sscc = own_sscc(&label.printed);
                for other in case.labels.iter().map(|l| own_sscc(&l.printed)) {
                    if other != sscc {
                        judged.problems.push(format!(
                            "physical case {} was released as case {sscc} but also carries a label of {other}",
                            case.number
                        ));
                    }
                }
                if !verified.contains(&sscc) {
                    judged.problems.push(format!(
                        "physical case {} was released with label {sscc}, which is not a verified case of batch {}",
                        case.number, batch.0
                    ));
                    continue;
                }
                if label.read != format!("]C1{}", label.printed) {
                    judged.problems.push(format!(
                        "case {sscc} was released but its last label read {}",
                        label.read
                    ));
                }
                if !labelled.insert(sscc.clone()) {
                    judged
                        .problems
                        .push(format!("two released cases carry the label of case {sscc}"));
                }
                let mut physical = serials(case.contents());
                physical.sort();
                let mut recorded: Vec<String> = held
                    .iter()
                    .filter(|(_, c)| c.contains(&sscc))
                    .map(|(s, _)| s.clone())
                    .collect();
                recorded.sort();
                if physical != recorded {
                    judged.problems.push(format!(
                        "case {sscc} (physical case {}): recorded {recorded:?}, physically {physical:?}",
                        case.number
                    ));
                }
            }
        }
    }
    for sscc in verified.difference(&labelled) {
        judged.problems.push(format!(
            "case {sscc} is verified in the store but no released case carries its label"
        ));
    }
    Ok(judged)
}

/// The SSCC a label's GS1-128 data (AI 00 and the SSCC) carries.
fn own_sscc(printed: &str) -> String {
    printed.strip_prefix("00").unwrap_or(printed).to_string()
}

/// The serials of pack codes (any read form); a code that names no pack keeps
/// its text, so that it never matches a recorded serial.
fn serials<'a>(codes: impl Iterator<Item = &'a String>) -> Vec<String> {
    codes
        .map(|code| match PlaceRead::of_scan(code) {
            PlaceRead::Pack { serial, .. } => serial,
            _ => code.clone(),
        })
        .collect()
}
