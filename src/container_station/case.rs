//! The case station's decisions, one closed case at a time. The case packer's
//! PLC counts the good packs leaving the reject gate into cases; a closed case
//! waits at the station, named by its number, the index of its first pack and
//! its count. The packs the tracking put into it are the batch's good exits at
//! those indexes (in the order the PLC numbered the items). The case camera
//! images the case, and the codes read in that one frame must be exactly those
//! packs (`aggregation::case_check`); then the case is built in the store in one
//! transaction (SSCC taken, packs packed, closed), its label is recorded, printed
//! and read back, and only then is the case released to the good exit. Anything
//! else (a mismatch, a label that never verifies, a case the product does not
//! allow partial) diverts the case to the rework lane with its packs loose.
//!
//! Every step is in the store before the PLC hears of it, and each is found again
//! after a restart: a case whose packs are already in a case container resumes at
//! that container's label; a case recorded as reworked goes to rework again. A
//! command the PLC already obeyed names a case that no longer waits, and does
//! nothing. The I/O is in `case_run.rs` and reaches this module only through
//! [`CaseCellIo`].

use serde_json::json;
use serialstation_devices::plc::case_packer::WaitingCase;

use crate::aggregation::case_check::{PlaceRead, check_case};
use crate::aggregation::{ContainerState, Level, Scanned};
use crate::gs1::{Gtin, Sscc};
use crate::store::containers::GoodExitsFrom;
use crate::store::{Actor, BatchId, Store, StoreError};

use super::is_no_read;
use super::label::container_label;

/// Where the station sends the waiting case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseExit {
    /// On to the good exit (and the pallet).
    Release,
    /// Off to the rework lane.
    Rework,
}

/// What the station does to the case cell.
pub trait CaseCellIo {
    /// The case camera's picture of case `number`, read place by place.
    fn picture(&mut self, number: u32) -> Result<Vec<PlaceRead>, String>;
    /// Sends one label format to the label printer.
    fn print_label(&mut self, zpl: &[u8]) -> Result<(), String>;
    /// Drops label reads that came before the label about to be printed.
    fn forget_label_reads(&mut self);
    /// The label scanner's next read, or `None` when none came in time.
    fn next_label_read(&mut self) -> Option<String>;
    /// Tells the case packer where case `number` goes.
    fn send_case(&mut self, number: u32, exit: CaseExit) -> Result<(), String>;
    /// One line for the operator.
    fn say(&mut self, line: &str);
}

/// How the station runs one batch's cases.
#[derive(Debug, Clone)]
pub struct CaseSettings {
    pub batch: BatchId,
    pub gtin: Gtin,
    pub lot: String,
    /// Packs per full case.
    pub capacity: u64,
    /// Whether a case below capacity may close (batch end).
    pub partial_allowed: bool,
    /// Prints of one label before the case goes to rework.
    pub label_attempts: u32,
    /// Name recorded for the label printer.
    pub printer_name: String,
}

/// What became of a waiting case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handled {
    Released(Sscc),
    Reworked(String),
    /// Not decided yet: the line has not recorded all its packs' fates.
    NotYet(String),
}

/// The audit action of a case sent to rework at the case station (found again
/// by `Store::case_sent_to_rework`).
const REWORK_ACTION: &str = "case.rework";

pub struct CaseStation<Io: CaseCellIo> {
    store: Store,
    settings: CaseSettings,
    actor: Actor,
    io: Io,
    /// After a case is settled: the index of the next case's first pack among
    /// the good exits, and the item number of the settled case's last pack. The
    /// next case's packs are then read from that item on, not counted from the
    /// batch's start.
    cursor: Option<(u64, i64)>,
}

impl<Io: CaseCellIo> CaseStation<Io> {
    pub fn new(store: Store, settings: CaseSettings, actor: Actor, io: Io) -> Self {
        CaseStation {
            store,
            settings,
            actor,
            io,
            cursor: None,
        }
    }

    pub fn io(&mut self) -> &mut Io {
        &mut self.io
    }

    pub fn settings(&self) -> &CaseSettings {
        &self.settings
    }

    /// Decides the waiting case. An error leaves it waiting (the store or a
    /// device failed); handling it again picks up where it stopped.
    pub fn handle(&mut self, case: WaitingCase) -> Result<Handled, String> {
        let first = u64::from(case.first_pack);
        let from = match self.cursor {
            Some((next, after)) if next == first => GoodExitsFrom::AfterItem(after),
            _ => GoodExitsFrom::Index(first),
        };
        let exits = self
            .store
            .good_exits(self.settings.batch, from, u64::from(case.packs))
            .map_err(|e| e.to_string())?;
        let handled = self.decide(case, &exits)?;
        if let (Handled::Released(_) | Handled::Reworked(_), Some((last, _))) =
            (&handled, exits.last())
        {
            self.cursor = Some((first + exits.len() as u64, *last));
        }
        Ok(handled)
    }

    /// Decides the waiting case, given the good exits (item number, serial) the
    /// tracking put into it.
    fn decide(
        &mut self,
        case: WaitingCase,
        exits: &[(i64, Option<String>)],
    ) -> Result<Handled, String> {
        let subject = self.case_subject(case.number);
        if exits.len() < usize::from(case.packs) {
            return Ok(Handled::NotYet(format!(
                "{subject}: the line has recorded {} of its {} packs (from good exit {}) as good exits; waiting for the line",
                exits.len(),
                case.packs,
                u64::from(case.first_pack) + 1
            )));
        }
        if u64::from(case.packs) > self.settings.capacity {
            return self.rework(
                case,
                &[format!(
                    "the case packer counted {} into a case of {}: check its case capacity (HR 13)",
                    packs(usize::from(case.packs)),
                    self.settings.capacity
                )],
            );
        }
        let unknown: Vec<String> = exits
            .iter()
            .filter(|(_, serial)| serial.is_none())
            .map(|(seq, _)| seq.to_string())
            .collect();
        if !unknown.is_empty() {
            return self.rework(
                case,
                &[format!(
                    "item {} left through the good exit with no serial known: the case cannot be aggregated",
                    unknown.join(", ")
                )],
            );
        }
        let tracked: Vec<String> = exits.iter().filter_map(|(_, s)| s.clone()).collect();
        let children: Vec<Scanned> = tracked
            .iter()
            .map(|serial| Scanned::Pack {
                gtin: self.settings.gtin.clone(),
                serial: serial.clone(),
            })
            .collect();
        let holder = match children.first() {
            Some(first) => self
                .store
                .container_holding(first)
                .map_err(|e| e.to_string())?,
            None => None,
        };
        if self.already_reworked(&subject)? {
            if let Some(container) = holder {
                let sscc = parse_sscc(&container.sscc)?;
                self.release_container(&sscc, "the case went to the rework lane")?;
            }
            return self.divert(
                case,
                "sent to rework before the station restarted".to_string(),
            );
        }
        if let Some(container) = holder {
            let sscc = parse_sscc(&container.sscc)?;
            let tree = self
                .store
                .container_tree(&sscc)
                .map_err(|e| e.to_string())?;
            let mut held = tree.packs.clone();
            let mut want = tracked.clone();
            held.sort();
            want.sort();
            if container.level == Level::Case && held == want && tree.containers.is_empty() {
                return self.resume(case, &sscc, container.state, &tracked);
            }
            return self.rework(
                case,
                &[format!(
                    "pack {} is already in {} {sscc}: the tracking and the store disagree",
                    tracked[0], container.level
                )],
            );
        }
        let places = self.io.picture(case.number)?;
        let outcome = check_case(&tracked, &self.settings.gtin, &self.settings.lot, &places);
        if !outcome.is_good() {
            let problems: Vec<String> = outcome.problems.iter().map(|p| p.to_string()).collect();
            return self.rework(case, &problems);
        }
        let partial = (tracked.len() as u64) < self.settings.capacity;
        if partial && !self.settings.partial_allowed {
            return self.rework(
                case,
                &[format!(
                    "{} of {} packs: the client file says a case of GTIN {} never closes below capacity",
                    tracked.len(),
                    self.settings.capacity,
                    self.settings.gtin
                )],
            );
        }
        let built = self.store.build_container(
            self.settings.batch,
            Level::Case,
            Level::Pack,
            self.settings.capacity,
            &children,
            partial,
            &self.actor,
        );
        let container = match built {
            Ok(container) => container,
            // The store refuses a pack (not commissioned, already elsewhere):
            // the case cannot be aggregated as it is.
            Err(
                e @ (StoreError::Invalid(_)
                | StoreError::IllegalTransition { .. }
                | StoreError::NotFound(_)),
            ) => return self.rework(case, &[e.to_string()]),
            Err(e) => return Err(e.to_string()),
        };
        let sscc = parse_sscc(&container.sscc)?;
        self.io.say(&format!(
            "{subject}: the camera read its {}; case {sscc} built{}",
            packs(tracked.len()),
            if partial { " (partial)" } else { "" }
        ));
        self.label_and_release(case, &sscc)
    }

    /// A case whose packs the store already holds in case `sscc` (the station
    /// stopped after building it). The camera looks again: the case at the
    /// station must be that case, else (the case packer's count was reset, or
    /// the case was changed) it goes to rework. A case that shows none of the
    /// packs is another case: the container stays as recorded.
    fn resume(
        &mut self,
        case: WaitingCase,
        sscc: &Sscc,
        state: ContainerState,
        tracked: &[String],
    ) -> Result<Handled, String> {
        let subject = self.case_subject(case.number);
        let places = self.io.picture(case.number)?;
        let outcome = check_case(tracked, &self.settings.gtin, &self.settings.lot, &places);
        if outcome.is_good() {
            self.io.say(&format!(
                "{subject}: already built as case {sscc} ({state}); the camera read its {} again; resuming at its label",
                packs(tracked.len())
            ));
            return self.label_and_release(case, sscc);
        }
        let seen = places.iter().any(
            |place| matches!(place, PlaceRead::Pack { serial, .. } if tracked.contains(serial)),
        );
        let mut problems: Vec<String> = outcome.problems.iter().map(|p| p.to_string()).collect();
        if !seen {
            problems.insert(
                0,
                format!(
                    "the case at the station is not case {sscc}, which the store holds these packs in (was the case packer's count reset?); case {sscc} stays as recorded"
                ),
            );
            return self.rework(case, &problems);
        }
        self.record_rework(case, &problems, Some(sscc))?;
        self.release_container(sscc, &problems.join("; "))?;
        self.divert(case, problems.join("; "))
    }

    /// Prints the case's label and reads it back. A label that reads as another
    /// SSCC or as no label of this station is on the case and lies: the case goes
    /// to rework at once. A missing or unreadable read is printed again up to
    /// the limit (set above 1 only where a label that did not verify is taken
    /// off the case before the next); then rework, packs loose.
    fn label_and_release(&mut self, case: WaitingCase, sscc: &Sscc) -> Result<Handled, String> {
        let subject = self.case_subject(case.number);
        let container = self.store.container(sscc).map_err(|e| e.to_string())?;
        if container.state == ContainerState::Verified {
            return self.release(case, sscc);
        }
        let mut why = String::new();
        for attempt in 1..=self.settings.label_attempts {
            let (label, format) = container_label(&self.store, sscc)?;
            let zpl = format
                .encode()
                .map_err(|e| format!("the label of case {sscc} cannot be written as ZPL: {e}"))?;
            self.io.forget_label_reads();
            // Recorded before it is sent: an SSCC that may be on paper never returns.
            self.store
                .container_label_printed(sscc, &self.settings.printer_name, &self.actor)
                .map_err(|e| e.to_string())?;
            self.io.print_label(&zpl)?;
            self.io.say(&format!(
                "label of case {sscc} printed ({}; print {attempt} of {})",
                label.matrix.to_hri(),
                self.settings.label_attempts
            ));
            why = match self.io.next_label_read() {
                None => "no read from the label scanner in time".to_string(),
                Some(line) => match self
                    .store
                    .container_label_verified(sscc, &line, &self.actor)
                {
                    Ok(_) => return self.release(case, sscc),
                    Err(StoreError::Invalid(_)) if is_no_read(&line) => {
                        "the label scanner could not read it".to_string()
                    }
                    Err(StoreError::Invalid(e)) => {
                        let reason =
                            format!("the label on the case does not verify as case {sscc}: {e}");
                        self.record_rework(case, std::slice::from_ref(&reason), Some(sscc))?;
                        self.release_container(sscc, &reason)?;
                        return self.divert(case, reason);
                    }
                    // The store failed, not the label: the case waits.
                    Err(e) => return Err(e.to_string()),
                },
            };
            if attempt < self.settings.label_attempts {
                self.io.say(&format!(
                    "{subject}: label of case {sscc} not verified ({why}): take the bad label off; printing it again"
                ));
            }
        }
        let reason = format!(
            "label not verified after {}: {why}",
            match self.settings.label_attempts {
                1 => "1 print".to_string(),
                n => format!("{n} prints"),
            }
        );
        self.record_rework(case, std::slice::from_ref(&reason), Some(sscc))?;
        self.release_container(sscc, &reason)?;
        self.divert(case, reason)
    }

    fn release(&mut self, case: WaitingCase, sscc: &Sscc) -> Result<Handled, String> {
        self.io.send_case(case.number, CaseExit::Release)?;
        let subject = self.case_subject(case.number);
        self.io.say(&format!(
            "{subject} verified: case {sscc}, {}, label read back; released",
            packs(usize::from(case.packs))
        ));
        Ok(Handled::Released(sscc.clone()))
    }

    /// A case whose contents do not match: recorded, then diverted.
    fn rework(&mut self, case: WaitingCase, problems: &[String]) -> Result<Handled, String> {
        self.record_rework(case, problems, None)?;
        self.divert(case, problems.join("; "))
    }

    fn record_rework(
        &mut self,
        case: WaitingCase,
        problems: &[String],
        sscc: Option<&Sscc>,
    ) -> Result<(), String> {
        let subject = self.case_subject(case.number);
        self.store
            .record_action(
                &self.actor,
                REWORK_ACTION,
                &subject,
                json!({
                    "case": case.number,
                    "first_good_exit": case.first_pack,
                    "packs": case.packs,
                    "sscc": sscc.map(Sscc::as_str),
                    "problems": problems,
                }),
            )
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    /// Sends a built case container to rework: its packs are loose again and
    /// its SSCC is never used again.
    fn release_container(&mut self, sscc: &Sscc, reason: &str) -> Result<(), String> {
        let container = self.store.container(sscc).map_err(|e| e.to_string())?;
        if container.state == ContainerState::Rework {
            return Ok(());
        }
        self.store
            .rework_container(sscc, reason, &self.actor)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    fn divert(&mut self, case: WaitingCase, reason: String) -> Result<Handled, String> {
        self.io.send_case(case.number, CaseExit::Rework)?;
        let subject = self.case_subject(case.number);
        self.io.say(&format!(
            "{subject} to the rework lane: {reason}; its packs stay loose"
        ));
        Ok(Handled::Reworked(reason))
    }

    fn already_reworked(&self, subject: &str) -> Result<bool, String> {
        self.store
            .case_sent_to_rework(subject)
            .map_err(|e| e.to_string())
    }

    fn case_subject(&self, number: u32) -> String {
        format!("case {number} of batch {}", self.settings.batch.0)
    }
}

/// "1 pack", "12 packs".
fn packs(n: usize) -> String {
    if n == 1 {
        "1 pack".to_string()
    } else {
        format!("{n} packs")
    }
}

fn parse_sscc(text: &str) -> Result<Sscc, String> {
    Sscc::parse(text).map_err(|e| format!("SSCC {text} in the store: {}", e.message))
}
