//! The pallet station's decisions: each case read at the stacker's scan point is
//! checked and packed onto the current pallet *before* the stacker is told to
//! stack it (`ACCEPT`; anything else diverts the case, as the reject gate does
//! for packs); at capacity, or when the operator closes a partial pallet, the
//! pallet closes, its label is recorded as printed and then printed, and the
//! label scanner's read must be the pallet's own SSCC. A label that does not
//! verify is printed again, up to a limit; then the pallet goes to rework and its
//! cases are loose again. Every state lives in the store, so a restart resumes
//! the pallet where it stood. The I/O (sockets, terminal, timer) is in `run.rs`
//! and reaches this module only through [`CellIo`].

use std::collections::VecDeque;

use crate::aggregation::{ContainerState, Level, Scanned, read_scan};
use crate::gs1::Sscc;
use crate::store::{Actor, BatchId, Store};

use super::label::container_label;

/// What the station does to the cell.
pub trait CellIo {
    /// Answers the case at the stacker's scan point: stack it or divert it.
    /// False when the answer could not be sent (the stacker asks again when it
    /// is back).
    fn answer_case(&mut self, stack: bool) -> bool;
    /// Sends one label format to the label printer.
    fn print_label(&mut self, zpl: &[u8]) -> Result<(), String>;
    /// One line for the operator.
    fn say(&mut self, line: &str);
}

/// How the station runs one batch's pallets.
#[derive(Debug, Clone)]
pub struct PalletSettings {
    pub batch: BatchId,
    /// Cases (or whatever the level below holds) per full pallet.
    pub capacity: u64,
    /// The level a pallet holds in the product's hierarchy.
    pub child_level: Level,
    /// Whether the operator may close a pallet below capacity.
    pub partial_allowed: bool,
    /// Prints of one label before the pallet goes to rework.
    pub label_attempts: u32,
    /// Name recorded for the label printer.
    pub printer_name: String,
}

/// Where the current pallet stands.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Phase {
    Stacking,
    /// Full or closed, its label not printed yet because the stacker may still
    /// ask about its last case (an answer that was not delivered, or a restart):
    /// the label waits until that read is answered or the stacker is settled.
    /// Printing first would move the pallet on without that case.
    LabelDue {
        pallet: Sscc,
    },
    /// Its label is printed (`attempt` of the limit) and awaits its read.
    Labelling {
        pallet: Sscc,
        attempt: u32,
    },
}

/// The pallet station of one batch.
pub struct PalletStation<Io: CellIo> {
    store: Store,
    settings: PalletSettings,
    actor: Actor,
    current: Option<Sscc>,
    phase: Phase,
    /// Case reads that came while a label was being verified: answered after.
    held: VecDeque<String>,
    /// Whether the read being handled has had its answer.
    answered: bool,
    /// The case packed last onto the current pallet: the only case whose read
    /// may legitimately come again (a double read, or the stacker repeating a
    /// read whose answer was lost). Any other case already on the pallet is a
    /// second case carrying the same label.
    last_packed: Option<Sscc>,
    io: Io,
}

impl<Io: CellIo> PalletStation<Io> {
    pub fn new(store: Store, settings: PalletSettings, actor: Actor, io: Io) -> Self {
        PalletStation {
            store,
            settings,
            actor,
            current: None,
            phase: Phase::Stacking,
            held: VecDeque::new(),
            answered: false,
            last_packed: None,
            io,
        }
    }

    pub fn io(&mut self) -> &mut Io {
        &mut self.io
    }

    /// The label print awaiting its read: (pallet, attempt).
    pub fn awaiting_label(&self) -> Option<(&Sscc, u32)> {
        match &self.phase {
            Phase::Labelling { pallet, attempt } => Some((pallet, *attempt)),
            Phase::Stacking | Phase::LabelDue { .. } => None,
        }
    }

    /// A pallet whose label waits for the stacker to settle.
    pub fn label_due(&self) -> Option<&Sscc> {
        match &self.phase {
            Phase::LabelDue { pallet } => Some(pallet),
            _ => None,
        }
    }

    /// The stacker has been connected and quiet long enough: no read about the
    /// due pallet's last case is coming. Closes it (if still open) and prints.
    pub fn settle(&mut self) -> Result<(), String> {
        let Phase::LabelDue { pallet } = self.phase.clone() else {
            return Ok(());
        };
        self.phase = Phase::Stacking;
        self.label_pallet(&pallet)
    }

    /// Closes `pallet` if it is still open (full, or partial by the operator's
    /// earlier word) and prints its label.
    fn label_pallet(&mut self, pallet: &Sscc) -> Result<(), String> {
        let container = self.store.container(pallet).map_err(|e| e.to_string())?;
        if container.state == ContainerState::Open {
            self.close_and_label(pallet, container.count < container.capacity)
        } else {
            self.print_label(pallet, 0)
        }
    }

    /// Picks up the batch's unfinished pallet after a restart: an open one takes
    /// more cases; a closed or labelled one has its label printed (again) and
    /// verified. A label printed before the restart may be on the pallet: the
    /// new one carries the same SSCC and content.
    pub fn resume(&mut self) -> Result<(), String> {
        let containers = self
            .store
            .batch_containers(self.settings.batch)
            .map_err(|e| e.to_string())?;
        let unfinished: Vec<_> = containers
            .into_iter()
            .filter(|c| {
                c.level == Level::Pallet
                    && matches!(
                        c.state,
                        ContainerState::Open | ContainerState::Closed | ContainerState::Labelled
                    )
            })
            .collect();
        let Some(pallet) = unfinished.last() else {
            return Ok(());
        };
        if unfinished.len() > 1 {
            self.io.say(&format!(
                "note: batch {} has {} unfinished pallets; this station continues {} (`container list --batch {}` shows the others)",
                self.settings.batch.0,
                unfinished.len(),
                pallet.sscc,
                self.settings.batch.0
            ));
        }
        let sscc = Sscc::parse(&pallet.sscc).map_err(|e| e.message)?;
        self.current = Some(sscc.clone());
        let tree = self
            .store
            .container_tree(&sscc)
            .map_err(|e| e.to_string())?;
        self.last_packed = tree
            .containers
            .last()
            .and_then(|c| Sscc::parse(&c.container.sscc).ok());
        match pallet.state {
            ContainerState::Open if pallet.count < pallet.capacity => self.io.say(&format!(
                "resuming pallet {sscc}: {} of {} cases",
                pallet.count, pallet.capacity
            )),
            ContainerState::Open => {
                self.io.say(&format!(
                    "resuming pallet {sscc}: full; it closes and is labelled once the stacker has settled"
                ));
                self.phase = Phase::LabelDue { pallet: sscc };
            }
            ContainerState::Labelled => {
                self.io.say(&format!(
                    "pallet {sscc} was labelled before the restart and its label not verified: it is printed again once the stacker has settled"
                ));
                self.phase = Phase::LabelDue { pallet: sscc };
            }
            _ => {
                self.io.say(&format!(
                    "pallet {sscc} was closed before the restart: its label is printed once the stacker has settled"
                ));
                self.phase = Phase::LabelDue { pallet: sscc };
            }
        }
        Ok(())
    }

    /// One read from the stacker's scanner. Every read gets exactly one answer:
    /// when the station cannot decide (the store failed), the case is diverted.
    pub fn on_case_read(&mut self, line: &str) -> Result<(), String> {
        self.answered = false;
        match self.decide_case(line) {
            Ok(()) => Ok(()),
            Err(e) if !self.answered => {
                self.divert(line, &format!("the station could not decide: {e}"))
            }
            Err(e) => {
                self.io
                    .say(&format!("error after case read {}: {e}", shown(line)));
                Ok(())
            }
        }
    }

    /// Answers the case at the scan point (once per read).
    fn answer(&mut self, stack: bool) -> bool {
        self.answered = true;
        self.io.answer_case(stack)
    }

    fn decide_case(&mut self, line: &str) -> Result<(), String> {
        // A repeated read of the case packed last is answered at once, whatever
        // the pallet's phase: the stacker asks again after a lost answer or a
        // restart, and the case is physically there.
        if let Some(current) = self.current.clone()
            && let Ok(Scanned::Container(sscc)) = read_scan(line)
            && self.last_packed.as_ref() == Some(&sscc)
            && self.holds(&current, &sscc)?
        {
            let delivered = self.answer(true);
            self.io.say(&format!(
                "case {sscc} is already on pallet {current}: stacked"
            ));
            if delivered && self.label_due() == Some(&current) {
                self.settle()?;
            }
            return Ok(());
        }
        if self.label_due().is_some() {
            // Another case: the due pallet's last case was answered.
            self.settle()?;
        }
        if self.awaiting_label().is_some() {
            self.held.push_back(line.to_string());
            return Ok(());
        }
        self.case_read(line)
    }

    fn holds(&self, pallet: &Sscc, case: &Sscc) -> Result<bool, String> {
        match self
            .store
            .container_holding(&Scanned::Container(case.clone()))
        {
            Ok(holder) => Ok(holder.is_some_and(|h| h.sscc == pallet.as_str())),
            // A case this store never saw is on no pallet of it.
            Err(crate::store::StoreError::NotFound(_)) => Ok(false),
            Err(e) => Err(e.to_string()),
        }
    }

    fn case_read(&mut self, line: &str) -> Result<(), String> {
        let sscc = match read_scan(line) {
            Ok(Scanned::Container(sscc)) => sscc,
            Ok(Scanned::Pack { gtin, serial }) => {
                return self.divert(line, &format!(
                    "it reads as pack (01){gtin}(21){serial}, not a case: only cases go on a pallet"
                ));
            }
            Err(_) if is_no_read(line) => {
                return self.divert(line, "no read: the case's label could not be read; check it and put it through again");
            }
            Err(why) => return self.divert(line, &why),
        };
        let pallet = match &self.current {
            Some(pallet) => pallet.clone(),
            None => self.open_pallet()?,
        };
        match self
            .store
            .pack(&pallet, &[Scanned::Container(sscc.clone())], &self.actor)
        {
            Ok(container) => {
                self.last_packed = Some(sscc.clone());
                let delivered = self.answer(true);
                self.io.say(&format!(
                    "case {sscc} stacked on pallet {pallet} ({} of {})",
                    container.count, container.capacity
                ));
                if container.count >= container.capacity {
                    if delivered {
                        self.close_and_label(&pallet, false)?;
                    } else {
                        self.io.say(&format!(
                            "the stacker did not get the answer for case {sscc}: pallet {pallet} is labelled once it has"
                        ));
                        self.phase = Phase::LabelDue { pallet };
                    }
                }
                Ok(())
            }
            Err(e) => self.divert(line, &e.to_string()),
        }
    }

    fn divert(&mut self, line: &str, why: &str) -> Result<(), String> {
        // Undelivered, the stacker diverts anyway: no answer never stacks.
        let _ = self.answer(false);
        self.io
            .say(&format!("case read {} diverted: {why}", shown(line)));
        Ok(())
    }

    fn open_pallet(&mut self) -> Result<Sscc, String> {
        let container = self
            .store
            .open_container(
                self.settings.batch,
                Level::Pallet,
                self.settings.child_level,
                self.settings.capacity,
                &self.actor,
            )
            .map_err(|e| e.to_string())?;
        let sscc = Sscc::parse(&container.sscc).map_err(|e| e.message)?;
        self.io.say(&format!(
            "pallet {sscc} opened for batch {} ({} {}s)",
            self.settings.batch.0, self.settings.capacity, self.settings.child_level
        ));
        self.current = Some(sscc.clone());
        self.last_packed = None;
        Ok(sscc)
    }

    /// The operator closes the current pallet (below capacity only where the
    /// product allows a partial pallet).
    pub fn operator_close(&mut self) -> Result<(), String> {
        if let Some(pallet) = self
            .awaiting_label()
            .map(|(p, _)| p)
            .or_else(|| self.label_due())
        {
            self.io.say(&format!(
                "pallet {pallet} is closed and its label is being printed or verified"
            ));
            return Ok(());
        }
        let Some(pallet) = self.current.clone() else {
            self.io
                .say("no pallet is open: the next case stacked opens one");
            return Ok(());
        };
        let container = self.store.container(&pallet).map_err(|e| e.to_string())?;
        let partial = container.count < container.capacity;
        if partial && !self.settings.partial_allowed {
            self.io.say(&format!(
                "pallet {pallet} holds {} of {} cases and the client file says a pallet never closes below capacity: stack the rest",
                container.count, container.capacity
            ));
            return Ok(());
        }
        self.close_and_label(&pallet, partial)
    }

    fn close_and_label(&mut self, pallet: &Sscc, partial: bool) -> Result<(), String> {
        match self.store.close_container(pallet, partial, &self.actor) {
            Ok(container) => self.io.say(&format!(
                "pallet {pallet} closed with {} {}s",
                container.count, container.child_level
            )),
            Err(e) => {
                self.io.say(&format!("pallet {pallet} not closed: {e}"));
                return Ok(());
            }
        }
        self.print_label(pallet, 0)
    }

    /// Records the label as printed, then prints it: an SSCC that may be on
    /// paper is never taken back.
    fn print_label(&mut self, pallet: &Sscc, previous_attempts: u32) -> Result<(), String> {
        let (label, format) = container_label(&self.store, pallet)?;
        let zpl = format
            .encode()
            .map_err(|e| format!("the label of pallet {pallet} cannot be written as ZPL: {e}"))?;
        self.store
            .container_label_printed(pallet, &self.settings.printer_name, &self.actor)
            .map_err(|e| e.to_string())?;
        let attempt = previous_attempts + 1;
        self.phase = Phase::Labelling {
            pallet: pallet.clone(),
            attempt,
        };
        match self.io.print_label(&zpl) {
            Ok(()) => self.io.say(&format!(
                "label of pallet {pallet} printed ({}; print {attempt} of {})",
                label.matrix.to_hri(),
                self.settings.label_attempts
            )),
            Err(e) => self.io.say(&format!(
                "label of pallet {pallet} did not reach the printer ({e}); waiting for its read as if printed"
            )),
        }
        Ok(())
    }

    /// One read from the label scanner.
    pub fn on_label_read(&mut self, line: &str) -> Result<(), String> {
        let Phase::Labelling { pallet, attempt } = self.phase.clone() else {
            self.io.say(&format!(
                "label read {} ignored: no pallet label is being verified",
                shown(line)
            ));
            return Ok(());
        };
        match self
            .store
            .container_label_verified(&pallet, line, &self.actor)
        {
            Ok(container) => {
                self.io.say(&format!(
                    "pallet {pallet} verified: {} {}s, label read back",
                    container.count, container.child_level
                ));
                self.finish_pallet()
            }
            Err(e) => {
                let why = if is_no_read(line) {
                    "the label scanner could not read it".to_string()
                } else {
                    e.to_string()
                };
                self.label_failed(&pallet, attempt, &why)
            }
        }
    }

    /// The label's read did not come in time.
    pub fn on_label_timeout(&mut self) -> Result<(), String> {
        if let Phase::Labelling { pallet, attempt } = self.phase.clone() {
            self.label_failed(&pallet, attempt, "no read from the label scanner in time")?;
        }
        Ok(())
    }

    fn label_failed(&mut self, pallet: &Sscc, attempt: u32, why: &str) -> Result<(), String> {
        if attempt < self.settings.label_attempts {
            self.io.say(&format!(
                "label of pallet {pallet} not verified ({why}): printing it again"
            ));
            return self.print_label(pallet, attempt);
        }
        let reason = format!("label not verified after {attempt} prints: {why}");
        self.store
            .rework_container(pallet, &reason, &self.actor)
            .map_err(|e| e.to_string())?;
        self.io.say(&format!(
            "pallet {pallet} sent to rework ({reason}): its cases are loose again; take the pallet off and restack its cases"
        ));
        self.finish_pallet()
    }

    /// The pallet left the station (verified or to rework): answer the reads held
    /// meanwhile, in order.
    fn finish_pallet(&mut self) -> Result<(), String> {
        self.current = None;
        self.phase = Phase::Stacking;
        while self.awaiting_label().is_none() {
            let Some(line) = self.held.pop_front() else {
                break;
            };
            self.on_case_read(&line)?;
        }
        Ok(())
    }

    /// One line for the operator's `status`.
    pub fn status(&self) -> String {
        match (&self.current, &self.phase) {
            (_, Phase::Labelling { pallet, attempt }) => format!(
                "pallet {pallet}: label print {attempt} of {} awaiting its read; {} case reads held",
                self.settings.label_attempts,
                self.held.len()
            ),
            (_, Phase::LabelDue { pallet }) => format!(
                "pallet {pallet}: full or closed; its label waits for the stacker to settle"
            ),
            (Some(pallet), Phase::Stacking) => match self.store.container(pallet) {
                Ok(c) => format!("pallet {pallet}: {} of {} cases", c.count, c.capacity),
                Err(e) => format!("pallet {pallet}: {e}"),
            },
            (None, Phase::Stacking) => "no pallet open".to_string(),
        }
    }
}

/// A scanner's no-read string (`NOREAD`, `NO READ`, `ERROR`, or nothing).
fn is_no_read(line: &str) -> bool {
    let word: String = line
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase();
    matches!(word.as_str(), "" | "NOREAD" | "ERROR" | "NR")
}

fn shown(line: &str) -> String {
    line.chars()
        .map(|c| if c.is_control() { '·' } else { c })
        .collect()
}
