//! The pallet station's decisions: each case read at the stacker's scan point is
//! checked and packed onto the current pallet *before* the stacker is told to
//! stack it (`ACCEPT`; anything else diverts the case, as the reject gate does
//! for packs). A full pallet, or one the operator closes, is labelled only once
//! the stacker has provably taken the answer for its last case (it sent the next
//! case's read, or it has been connected and quiet for a while): the label moves
//! the pallet on, and a case stacked after it would land on the next pallet. The
//! label is recorded as printed, then printed, and the label scanner's read must
//! be the pallet's own SSCC; a label that does not verify is printed again, up to
//! a limit; then the pallet goes to rework and its cases are loose again. Every
//! read gets exactly one answer, on the connection it came on. Every state lives
//! in the store, so a restart resumes the pallet where it stood. The I/O
//! (sockets, terminal, timer) is in `run.rs` and reaches this module only
//! through [`CellIo`].

use std::collections::VecDeque;
use std::time::Instant;

use crate::aggregation::{ContainerState, Level, Scanned, read_scan};
use crate::gs1::Sscc;
use crate::store::{Actor, BatchId, Store, StoreError};

use super::is_no_read;
use super::label::container_label;

/// What the station does to the cell.
pub trait CellIo {
    /// Answers a read of the stacker's scanner, on the connection it came on:
    /// stack the case or divert it. False when it could not be sent (the
    /// stacker asks again on its next connection); true only means it was sent.
    fn answer_case(&mut self, connection: u64, stack: bool) -> bool;
    /// Sends one label format to the label printer.
    fn print_label(&mut self, zpl: &[u8]) -> Result<(), String>;
    /// One line for the operator.
    fn say(&mut self, line: &str);
}

/// One read of the stacker's scanner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseRead {
    pub line: String,
    /// The scanner connection it came on.
    pub connection: u64,
    /// When it arrived.
    pub at: Instant,
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
    /// Prints of one label (that reached the printer) before the pallet goes
    /// to rework.
    pub label_attempts: u32,
    /// Name recorded for the label printer.
    pub printer_name: String,
}

/// Where the current pallet stands.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Phase {
    Stacking,
    /// Full or closed by the operator (or found so at a restart); its label
    /// waits until the stacker has taken the answer for its last case, or
    /// until the printer takes it. `attempts`: prints that reached the printer.
    LabelDue {
        pallet: Sscc,
        attempts: u32,
    },
    /// Its label is printed (`attempt` of the limit) and awaits its read.
    Labelling {
        pallet: Sscc,
        attempt: u32,
    },
}

/// The case packed last onto the current pallet: the only case whose read may
/// legitimately come again (a double read sent before the answer, or the
/// stacker repeating a read on a new connection). Any other read of a case on
/// the pallet is a second case carrying the same label.
#[derive(Debug, Clone)]
struct LastPacked {
    sscc: Sscc,
    /// The connection and instant its answer was sent; `None` when it was not
    /// sent, or the station restarted since.
    answered: Option<(u64, Instant)>,
}

/// The pallet station of one batch.
pub struct PalletStation<Io: CellIo> {
    store: Store,
    settings: PalletSettings,
    actor: Actor,
    current: Option<Sscc>,
    phase: Phase,
    /// Case reads that came while a label was due or being verified: answered
    /// after, in order.
    held: VecDeque<CaseRead>,
    /// Whether the read being handled has had its answer.
    answered: bool,
    last_packed: Option<LastPacked>,
    /// The stacker's current connection: reads of older ones are not answered
    /// (the stacker asks again on the new one).
    stacker_connection: u64,
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
            stacker_connection: 0,
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

    /// A pallet whose label waits for the stacker to settle (or the printer).
    pub fn label_due(&self) -> Option<&Sscc> {
        match &self.phase {
            Phase::LabelDue { pallet, .. } => Some(pallet),
            _ => None,
        }
    }

    /// The stacker's scanner is connected as `connection`: reads held from an
    /// older connection are dropped, since the stacker asks again.
    pub fn stacker_connected(&mut self, connection: u64) {
        self.stacker_connection = connection;
        self.held.retain(|read| read.connection >= connection);
    }

    /// The stacker has been connected and quiet long enough: the answer for the
    /// due pallet's last case was taken. Closes it (if still open) and prints.
    pub fn settle(&mut self) -> Result<(), String> {
        let Phase::LabelDue { pallet, attempts } = self.phase.clone() else {
            return Ok(());
        };
        self.phase = Phase::Stacking;
        let labelled = self.label_pallet(&pallet, attempts);
        if labelled.is_err() && self.phase == Phase::Stacking {
            // Nothing may be stacked before this pallet leaves: try again later.
            self.phase = Phase::LabelDue { pallet, attempts };
        }
        labelled?;
        if self.phase == Phase::Stacking {
            self.answer_held()?;
        }
        Ok(())
    }

    /// Closes `pallet` if it is still open and prints its label; a pallet that
    /// was verified or reworked meanwhile (from another terminal) just leaves.
    fn label_pallet(&mut self, pallet: &Sscc, attempts: u32) -> Result<(), String> {
        let container = self.store.container(pallet).map_err(|e| e.to_string())?;
        match container.state {
            ContainerState::Open => {
                let partial = container.count < container.capacity;
                let closed = self
                    .store
                    .close_container(pallet, partial, &self.actor)
                    .map_err(|e| format!("pallet {pallet} not closed: {e}"))?;
                self.io.say(&format!(
                    "pallet {pallet} closed with {} {}s",
                    closed.count, closed.child_level
                ));
                self.print_label(pallet, attempts)
            }
            ContainerState::Closed | ContainerState::Labelled => self.print_label(pallet, attempts),
            ContainerState::Verified | ContainerState::Rework => {
                self.io.say(&format!(
                    "pallet {pallet} is {} already (done from another terminal): the next case starts a new pallet",
                    container.state
                ));
                self.current = None;
                self.last_packed = None;
                Ok(())
            }
        }
    }

    /// Picks up the batch's unfinished pallet after a restart: an open one below
    /// capacity takes more cases; a full, closed or labelled one is labelled
    /// once the stacker has settled (it may ask again about the last case). A
    /// label printed before the restart may be on the pallet: the new one
    /// carries the same SSCC and content.
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
            .and_then(|c| Sscc::parse(&c.container.sscc).ok())
            .map(|sscc| LastPacked {
                sscc,
                answered: None,
            });
        if pallet.state == ContainerState::Open && pallet.count < pallet.capacity {
            self.io.say(&format!(
                "resuming pallet {sscc}: {} of {} cases",
                pallet.count, pallet.capacity
            ));
            return Ok(());
        }
        self.io.say(&format!(
            "resuming pallet {sscc} ({}, {} of {} cases): its label is printed once the stacker has settled",
            pallet.state, pallet.count, pallet.capacity
        ));
        self.phase = Phase::LabelDue {
            pallet: sscc,
            attempts: 0,
        };
        Ok(())
    }

    /// One read from the stacker's scanner. Every read on the current
    /// connection gets exactly one answer: when the station cannot decide (the
    /// store failed), the case is diverted.
    pub fn on_case_read(&mut self, read: CaseRead) -> Result<(), String> {
        if read.connection < self.stacker_connection {
            // Its connection is gone; the stacker asks again on the new one.
            return Ok(());
        }
        self.answered = false;
        match self.decide_case(&read) {
            Ok(()) => Ok(()),
            Err(e) if !self.answered => {
                self.divert(&read, &format!("the station could not decide: {e}"))
            }
            Err(e) => {
                self.io
                    .say(&format!("error after case read {}: {e}", shown(&read.line)));
                Ok(())
            }
        }
    }

    /// Answers the read being handled (once).
    fn answer(&mut self, read: &CaseRead, stack: bool) -> bool {
        self.answered = true;
        self.io.answer_case(read.connection, stack)
    }

    /// Whether `read` of the case packed last is that case again rather than a
    /// second case with its label: sent before its answer, on a later
    /// connection, or with no answer known to have gone out.
    fn is_repeat(last: &LastPacked, read: &CaseRead) -> bool {
        match last.answered {
            None => true,
            Some((connection, at)) => read.connection != connection || read.at <= at,
        }
    }

    fn decide_case(&mut self, read: &CaseRead) -> Result<(), String> {
        let scanned = read_scan(&read.line);
        if let (Some(current), Ok(Scanned::Container(sscc)), Some(last)) =
            (self.current.clone(), &scanned, self.last_packed.clone())
            && last.sscc == *sscc
            && Self::is_repeat(&last, read)
            && self.holds(&current, sscc)?
        {
            let delivered = self.answer(read, true);
            if delivered && last.answered.is_none() {
                self.last_packed = Some(LastPacked {
                    sscc: sscc.clone(),
                    answered: Some((read.connection, Instant::now())),
                });
            }
            self.io.say(&format!(
                "case {sscc} is already on pallet {current}: stacked"
            ));
            return Ok(());
        }
        if self.label_due().is_some() {
            // Another case at the scan point: the stacker took the answer for
            // the due pallet's last case. Label it first; this read waits.
            self.settle()?;
            // Held reads answered inside are theirs; this one is not answered.
            self.answered = false;
        }
        if self.label_due().is_some() || self.awaiting_label().is_some() {
            self.held.push_back(read.clone());
            return Ok(());
        }
        self.case_read(read, scanned)
    }

    fn holds(&self, pallet: &Sscc, case: &Sscc) -> Result<bool, String> {
        match self
            .store
            .container_holding(&Scanned::Container(case.clone()))
        {
            Ok(holder) => Ok(holder.is_some_and(|h| h.sscc == pallet.as_str())),
            // A case this store never saw is on no pallet of it.
            Err(StoreError::NotFound(_)) => Ok(false),
            Err(e) => Err(e.to_string()),
        }
    }

    fn case_read(
        &mut self,
        read: &CaseRead,
        scanned: Result<Scanned, String>,
    ) -> Result<(), String> {
        let sscc = match scanned {
            Ok(Scanned::Container(sscc)) => sscc,
            Ok(Scanned::Pack { gtin, serial }) => {
                return self.divert(
                    read,
                    &format!(
                        "it reads as pack (01){gtin}(21){serial}, not a case: only cases go on a pallet"
                    ),
                );
            }
            Err(_) if is_no_read(&read.line) => {
                return self.divert(
                    read,
                    "no read: the case's label could not be read; check it and put it through again",
                );
            }
            Err(why) => return self.divert(read, &why),
        };
        // Checked before a pallet is opened for it: a case from nowhere takes
        // no SSCC. The store checks again when packing.
        if let Some(why) = self.refusal(&sscc)? {
            return self.divert(read, &why);
        }
        let pallet = match &self.current {
            Some(pallet) => pallet.clone(),
            None => self.open_pallet()?,
        };
        match self
            .store
            .pack(&pallet, &[Scanned::Container(sscc.clone())], &self.actor)
        {
            Ok(container) => {
                let delivered = self.answer(read, true);
                self.last_packed = Some(LastPacked {
                    sscc: sscc.clone(),
                    answered: delivered.then(|| (read.connection, Instant::now())),
                });
                self.io.say(&format!(
                    "case {sscc} stacked on pallet {pallet} ({} of {})",
                    container.count, container.capacity
                ));
                if container.count >= container.capacity {
                    self.io.say(&format!(
                        "pallet {pallet} is full: it closes and is labelled once the stacker has taken the last case"
                    ));
                    self.phase = Phase::LabelDue {
                        pallet,
                        attempts: 0,
                    };
                }
                Ok(())
            }
            Err(e) => self.divert(read, &e.to_string()),
        }
    }

    /// Why case `sscc` may not go on this batch's pallet, if it may not.
    fn refusal(&self, sscc: &Sscc) -> Result<Option<String>, String> {
        let case = match self.store.container(sscc) {
            Ok(case) => case,
            Err(StoreError::NotFound(why)) => return Ok(Some(why)),
            Err(e) => return Err(e.to_string()),
        };
        if case.batch != self.settings.batch {
            return Ok(Some(format!(
                "case {sscc} is of batch {} (lot {}), not batch {}: set it aside",
                case.batch.0, case.lot, self.settings.batch.0
            )));
        }
        if case.level != self.settings.child_level {
            return Ok(Some(format!(
                "{sscc} is a {}, not a {}: only {}s go on this pallet",
                case.level, self.settings.child_level, self.settings.child_level
            )));
        }
        if case.state != ContainerState::Verified {
            return Ok(Some(format!(
                "case {sscc} is {}: only a case whose label was verified goes on a pallet",
                case.state
            )));
        }
        match self
            .store
            .container_holding(&Scanned::Container(sscc.clone()))
        {
            Ok(Some(holder)) => Ok(Some(format!(
                "case {sscc} is already on {} {}: a second case with its label? set it aside",
                holder.level, holder.sscc
            ))),
            Ok(None) => Ok(None),
            Err(e) => Err(e.to_string()),
        }
    }

    fn divert(&mut self, read: &CaseRead, why: &str) -> Result<(), String> {
        // Sent or not, the case is not stacked: an unanswered read is asked
        // again on the next connection and decided then.
        let _ = self.answer(read, false);
        self.io
            .say(&format!("case read {} diverted: {why}", shown(&read.line)));
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
    /// product allows a partial pallet). It is labelled once the stacker has
    /// taken the answer for its last case.
    pub fn operator_close(&mut self) -> Result<(), String> {
        if let Some(pallet) = self
            .awaiting_label()
            .map(|(p, _)| p)
            .or_else(|| self.label_due())
        {
            self.io.say(&format!(
                "pallet {pallet} is already being closed and labelled"
            ));
            return Ok(());
        }
        let Some(pallet) = self.current.clone() else {
            self.io
                .say("no pallet is open: the next case stacked opens one");
            return Ok(());
        };
        let container = self.store.container(&pallet).map_err(|e| e.to_string())?;
        if container.count == 0 {
            self.io.say(&format!(
                "pallet {pallet} is empty: stack a case first (or rework it with `container rework` to release its SSCC)"
            ));
            return Ok(());
        }
        let partial = container.count < container.capacity;
        if partial && !self.settings.partial_allowed {
            self.io.say(&format!(
                "pallet {pallet} holds {} of {} cases and the client file says a pallet never closes below capacity: stack the rest",
                container.count, container.capacity
            ));
            return Ok(());
        }
        self.io.say(&format!(
            "pallet {pallet} closes with {} of {} cases once the stacker has taken the last one",
            container.count, container.capacity
        ));
        self.phase = Phase::LabelDue {
            pallet,
            attempts: 0,
        };
        Ok(())
    }

    /// Records the label as printed, then prints it: an SSCC that may be on
    /// paper is never taken back. A label the printer did not take is not an
    /// attempt: the pallet waits (and nothing is stacked) until it does.
    fn print_label(&mut self, pallet: &Sscc, previous_attempts: u32) -> Result<(), String> {
        let (label, format) = container_label(&self.store, pallet)?;
        let zpl = format
            .encode()
            .map_err(|e| format!("the label of pallet {pallet} cannot be written as ZPL: {e}"))?;
        self.store
            .container_label_printed(pallet, &self.settings.printer_name, &self.actor)
            .map_err(|e| e.to_string())?;
        match self.io.print_label(&zpl) {
            Ok(()) => {
                let attempt = previous_attempts + 1;
                self.phase = Phase::Labelling {
                    pallet: pallet.clone(),
                    attempt,
                };
                self.io.say(&format!(
                    "label of pallet {pallet} printed ({}; print {attempt} of {})",
                    label.matrix.to_hri(),
                    self.settings.label_attempts
                ));
            }
            Err(e) => {
                self.phase = Phase::LabelDue {
                    pallet: pallet.clone(),
                    attempts: previous_attempts,
                };
                self.io.say(&format!(
                    "label of pallet {pallet} did not reach the printer ({e}): check the printer; the label is sent again shortly, and no case is stacked meanwhile"
                ));
            }
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
                "label of pallet {pallet} not verified ({why}): take the bad label off; printing it again"
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
        self.last_packed = None;
        self.phase = Phase::Stacking;
        self.answer_held()
    }

    fn answer_held(&mut self) -> Result<(), String> {
        // Each read is handled as if it came now; one that fills the next pallet
        // holds the rest again, in their order.
        for read in std::mem::take(&mut self.held) {
            self.on_case_read(read)?;
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
            (_, Phase::LabelDue { pallet, .. }) => format!(
                "pallet {pallet}: full or closing; its label waits for the stacker to settle (or the printer); {} case reads held",
                self.held.len()
            ),
            (Some(pallet), Phase::Stacking) => match self.store.container(pallet) {
                Ok(c) => format!("pallet {pallet}: {} of {} cases", c.count, c.capacity),
                Err(e) => format!("pallet {pallet}: {e}"),
            },
            (None, Phase::Stacking) => "no pallet open".to_string(),
        }
    }
}

fn shown(line: &str) -> String {
    line.chars()
        .map(|c| if c.is_control() { '·' } else { c })
        .collect()
}
