//! The engine: one batch at a time, driven by [`Event`]s, answering with
//! [`Command`]s. It wires the concerns together (batch lifecycle, print buffer,
//! item tracking, decisions, supervision, reconciliation) and owns the ordering
//! rule: a command that depends on a transition comes after the persist for it.
//!
//! No I/O, no clock, no randomness: the same events always give the same commands.

use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};

use super::batch::{self, BatchPlan, Phase};
use super::command::{Alarm, AlarmKind, BatchState, Command, ScrapCause, Transition};
use super::config::EngineConfig;
use super::decision::{self, Decision, SerialStatus};
use super::error::{OperatorError, OperatorErrorKind};
use super::event::{BatchStart, Event, OperatorCommand, PlcAlarms};
use super::printing::PrintBuffer;
use super::reconcile::Reconciliation;
use super::supervision::{DeviceStates, HoldReason, RejectStreak};
use super::tracking::{Arrival, ItemDecision, ItemTracker, LineNow, MAX_SEQ_GAP, TrackedItem};
use super::types::{BatchId, Device, Grade, ItemFate, RejectReason, Seq, SymbologyId, Verdict};

/// Running totals of a batch, for status displays and reports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchStats {
    pub good_verdicts: u64,
    /// Reject verdicts by reason, indexed by [`RejectReason::index`].
    pub rejects_by_reason: [u64; 7],
    pub exited_good: u64,
    pub rejected_confirmed: u64,
    pub rejected_unconfirmed: u64,
    /// Items whose fate the PLC never reported.
    pub fates_missing: u64,
    /// Camera results or fates for items already resolved.
    pub late_reports: u64,
    /// A second camera result for an item already decided (the first one stands).
    pub repeated_results: u64,
    /// Reports that did not fit (unknown message id, result far ahead, ...).
    pub inconsistencies: u64,
}

impl BatchStats {
    pub fn rejects(&self, reason: RejectReason) -> u64 {
        self.rejects_by_reason[reason.index()]
    }

    pub fn total_rejects(&self) -> u64 {
        self.rejects_by_reason.iter().sum()
    }
}

/// A snapshot of the active batch.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchStatus {
    pub batch: BatchId,
    pub state: BatchState,
    pub hold: Option<HoldReason>,
    pub quantity: u32,
    pub counts: Reconciliation,
    pub stats: BatchStats,
    pub printer_queue: usize,
    pub unverified_prints: usize,
    pub items_in_flight: usize,
}

struct ActiveBatch {
    id: BatchId,
    quantity: u32,
    min_grade: Grade,
    reject_limit: u32,
    plan: BatchPlan,
    phase: Phase,
    hold: Option<HoldReason>,
    recorded: Option<(BatchState, Option<String>)>,
    printing: PrintBuffer,
    tracker: ItemTracker,
    streak: RejectStreak,
    counts: Reconciliation,
    verified: HashSet<u64>,
    stats: BatchStats,
}

/// The per-item line engine. See the module documentation of [`crate::line`].
pub struct Engine {
    config: EngineConfig,
    devices: DeviceStates,
    plc_alarm_active: bool,
    line_running: bool,
    now: LineNow,
    batch: Option<ActiveBatch>,
}

fn serial_key(serial: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    serial.hash(&mut hasher);
    hasher.finish()
}

fn alarm(out: &mut Vec<Command>, kind: AlarmKind, message: String) {
    out.push(Command::RaiseAlarm(Alarm { kind, message }));
}

impl Engine {
    pub fn new(config: EngineConfig) -> Engine {
        Engine {
            config,
            devices: DeviceStates::default(),
            plc_alarm_active: false,
            line_running: false,
            now: LineNow {
                encoder: None,
                ms: 0,
            },
            batch: None,
        }
    }

    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// Whether the engine last asked the line to run.
    pub fn line_running(&self) -> bool {
        self.line_running
    }

    pub fn device_online(&self, device: Device) -> bool {
        self.devices.is_online(device)
    }

    /// The active batch (until it is closed).
    pub fn status(&self) -> Option<BatchStatus> {
        let batch = self.batch.as_ref()?;
        Some(BatchStatus {
            batch: batch.id,
            state: batch::recorded_state(&batch.phase, batch.hold.as_ref()),
            hold: batch.hold.clone(),
            quantity: batch.quantity,
            counts: batch.counts,
            stats: batch.stats.clone(),
            printer_queue: batch.printing.queued_len(),
            unverified_prints: batch.printing.candidates_len(),
            items_in_flight: batch.tracker.len(),
        })
    }

    /// Handles one event, appending the commands it causes to `out` in the order the
    /// daemon must apply them. Only operator commands can fail; a refused command
    /// leaves the engine unchanged and adds nothing to `out`.
    pub fn handle(&mut self, event: Event, out: &mut Vec<Command>) -> Result<(), OperatorError> {
        match event {
            Event::Operator(command) => self.operator(command, out)?,
            Event::SerialsAllocated { serials } => self.serials_allocated(serials, out),
            Event::SerialAllocationFailed { reason } => {
                if let Some(batch) = self.batch.as_mut() {
                    batch.printing.note_supply_failed();
                }
                alarm(
                    out,
                    AlarmKind::SerialsExhausted,
                    format!(
                        "no serials could be allocated ({reason}): import or generate serials for this GTIN, then resume"
                    ),
                );
            }
            Event::PrintAcknowledged { message_id } => {
                let encoder = self.now.encoder;
                let acknowledged = match self.batch.as_mut() {
                    Some(batch) => {
                        batch
                            .printing
                            .acknowledge(message_id, encoder, &mut batch.counts, out)
                    }
                    None => false,
                };
                if !acknowledged {
                    self.inconsistency(
                        out,
                        format!("the printer acknowledged message {message_id}, which is not in its queue: check the printer's job settings"),
                    );
                }
            }
            Event::PrinterBufferCleared { never_printed } => {
                if let Some(batch) = self.batch.as_mut() {
                    let unknown = batch
                        .printing
                        .cleared(&never_printed, &mut batch.counts, out);
                    if !unknown.is_empty() {
                        self.inconsistency(
                            out,
                            format!("the printer reported {} unprinted messages that were not queued: check the printer", unknown.len()),
                        );
                    }
                }
            }
            Event::CameraResult {
                seq,
                symbology,
                data,
                grade,
            } => self.camera_result(seq, Some((symbology, data.as_str(), grade)), out),
            Event::CameraNoRead { seq } => self.camera_result(seq, None, out),
            Event::ItemAtCamera { seq, encoder } => {
                self.advance_encoder(encoder);
                let now = self.now;
                if let Some(batch) = self.batch.as_mut()
                    && batch.tracker.arrive(seq, now, Some(encoder), MAX_SEQ_GAP)
                        == Arrival::TooFarAhead
                {
                    self.inconsistency(
                        out,
                        format!("the PLC reported item {seq} at the camera, far beyond the items in flight: check the PLC's item counter"),
                    );
                }
            }
            Event::ItemFateReported { seq, fate } => self.item_fate(seq, fate, out),
            Event::PlcCounters(counters) => self.advance_encoder(counters.encoder),
            Event::PlcAlarms(alarms) => self.plc_alarms(alarms, out),
            Event::DeviceDown(device) => self.device_down(device, out),
            Event::DeviceUp(device) => self.device_up(device, out),
            Event::Tick { now_ms } => self.now.ms = self.now.ms.max(now_ms),
        }
        self.after_event(out);
        Ok(())
    }

    fn advance_encoder(&mut self, encoder: u32) {
        match self.now.encoder {
            Some(current) if (encoder.wrapping_sub(current) as i32) < 0 => {}
            _ => self.now.encoder = Some(encoder),
        }
    }

    fn inconsistency(&mut self, out: &mut Vec<Command>, message: String) {
        if let Some(batch) = self.batch.as_mut() {
            batch.stats.inconsistencies += 1;
        }
        alarm(out, AlarmKind::DeviceInconsistency, message);
    }

    // ----- operator commands -------------------------------------------------

    fn operator(
        &mut self,
        command: OperatorCommand,
        out: &mut Vec<Command>,
    ) -> Result<(), OperatorError> {
        match command {
            OperatorCommand::Start(start) => self.start(*start, out),
            OperatorCommand::Pause => self.pause(out),
            OperatorCommand::Resume => self.resume(out),
            OperatorCommand::Stop { abandon_in_flight } => self.stop(abandon_in_flight, out),
            OperatorCommand::Close {
                reason,
                store_counts,
            } => self.close(reason, store_counts, out),
        }
    }

    fn active_batch_or_error(&self) -> Result<&ActiveBatch, OperatorError> {
        self.batch.as_ref().ok_or_else(|| {
            OperatorError::new(
                OperatorErrorKind::NoActiveBatch,
                "no batch is active: start one with `serialstation batch start`",
            )
        })
    }

    fn start(&mut self, start: BatchStart, out: &mut Vec<Command>) -> Result<(), OperatorError> {
        if let Some(batch) = &self.batch {
            let state = batch::recorded_state(&batch.phase, batch.hold.as_ref());
            return Err(OperatorError::new(
                OperatorErrorKind::BatchAlreadyActive,
                format!(
                    "batch {} is still {}: stop and close it (`serialstation batch stop`, then `batch close`) before starting another",
                    batch.id,
                    state.as_str()
                ),
            ));
        }
        let plan = batch::check_start(&start, &self.devices.offline())?;
        let phase = if start.challenge_items > 0 {
            Phase::Challenge {
                expected: start.challenge_items,
                confirmed: 0,
            }
        } else {
            Phase::Producing
        };
        self.batch = Some(ActiveBatch {
            id: start.batch,
            quantity: start.quantity,
            min_grade: start.product.min_grade,
            reject_limit: start.product.consecutive_reject_limit,
            plan,
            phase,
            hold: None,
            recorded: None,
            printing: PrintBuffer::new(start.first_message_id),
            tracker: ItemTracker::default(),
            streak: RejectStreak::default(),
            counts: Reconciliation::default(),
            verified: HashSet::new(),
            stats: BatchStats::default(),
        });
        self.sync_recorded_state(out);
        Ok(())
    }

    fn pause(&mut self, out: &mut Vec<Command>) -> Result<(), OperatorError> {
        let batch = self.active_batch_or_error()?;
        if !matches!(
            batch.phase,
            Phase::Challenge { .. } | Phase::Producing | Phase::Stopping
        ) {
            return Err(OperatorError::new(
                OperatorErrorKind::WrongState,
                format!("batch {} is not running: nothing to pause", batch.id),
            ));
        }
        if let Some(hold) = &batch.hold {
            return Err(OperatorError::new(
                OperatorErrorKind::WrongState,
                format!(
                    "batch {} is already paused ({hold}): resume it with `serialstation batch resume`",
                    batch.id
                ),
            ));
        }
        self.hold(HoldReason::Operator, out);
        Ok(())
    }

    fn resume(&mut self, out: &mut Vec<Command>) -> Result<(), OperatorError> {
        let batch = self.active_batch_or_error()?;
        if batch.hold.is_none() {
            return Err(OperatorError::new(
                OperatorErrorKind::WrongState,
                format!("batch {} is not paused: nothing to resume", batch.id),
            ));
        }
        if let Some(device) = self.devices.offline().first() {
            return Err(OperatorError::new(
                OperatorErrorKind::DeviceOffline,
                format!(
                    "the {device} is still offline: reconnect it (check power and network), then resume"
                ),
            ));
        }
        if self.plc_alarm_active {
            return Err(OperatorError::new(
                OperatorErrorKind::WrongState,
                "the PLC still reports an alarm: clear it at the line (reset), then resume",
            ));
        }
        if let Some(batch) = self.batch.as_mut() {
            batch.hold = None;
            batch.streak.reset();
            batch.printing.retry_supply();
        }
        self.sync_recorded_state(out);
        Ok(())
    }

    fn stop(
        &mut self,
        abandon_in_flight: bool,
        out: &mut Vec<Command>,
    ) -> Result<(), OperatorError> {
        let batch = self.active_batch_or_error()?;
        let id = batch.id;
        match batch.phase {
            Phase::Challenge { .. } => {
                self.fail_challenge(
                    "the challenge test was stopped by the operator".to_string(),
                    out,
                );
            }
            Phase::Producing => {
                self.enter_stopping(out);
                if abandon_in_flight {
                    self.abandon_in_flight(out);
                }
            }
            Phase::Stopping => {
                if !abandon_in_flight {
                    return Err(OperatorError::new(
                        OperatorErrorKind::WrongState,
                        format!(
                            "batch {id} is already stopping: wait for the items in flight, or stop with --abandon to count them as rejected"
                        ),
                    ));
                }
                self.abandon_in_flight(out);
            }
            Phase::Stopped | Phase::ChallengeFailed => {
                return Err(OperatorError::new(
                    OperatorErrorKind::WrongState,
                    format!(
                        "batch {id} is already stopped: close it with `serialstation batch close`"
                    ),
                ));
            }
        }
        Ok(())
    }

    fn close(
        &mut self,
        reason: Option<String>,
        store_counts: Option<Reconciliation>,
        out: &mut Vec<Command>,
    ) -> Result<(), OperatorError> {
        let batch = self.active_batch_or_error()?;
        if !matches!(batch.phase, Phase::Stopped | Phase::ChallengeFailed) {
            return Err(OperatorError::new(
                OperatorErrorKind::WrongState,
                format!(
                    "batch {} is still running: stop it with `serialstation batch stop` and wait until it is stopped",
                    batch.id
                ),
            ));
        }
        let engine_counts = batch.counts;
        let counts = store_counts.unwrap_or(engine_counts);
        let balanced = engine_counts.balances()
            && store_counts
                .is_none_or(|store| store.balances() && store.allocated == engine_counts.allocated);
        let reason = reason
            .map(|text| text.trim().to_string())
            .filter(|text| !text.is_empty());
        if !balanced && reason.is_none() {
            return Err(OperatorError::new(
                OperatorErrorKind::Unbalanced,
                format!(
                    "batch {} does not balance: {}; find the missing serials, or close with --reason \"...\" to record why",
                    batch.id,
                    counts.describe()
                ),
            ));
        }
        let id = batch.id;
        out.push(Command::Persist(Transition::BatchClosed {
            batch: id,
            counts,
            unbalanced_reason: if balanced { None } else { reason },
        }));
        out.push(Command::Persist(Transition::BatchState {
            batch: id,
            state: BatchState::Closed,
            reason: None,
        }));
        self.batch = None;
        Ok(())
    }

    // ----- state changes shared by several events ------------------------------

    /// Holds the batch: the line stops now (before anything is recorded).
    fn hold(&mut self, reason: HoldReason, out: &mut Vec<Command>) {
        let Some(batch) = self.batch.as_mut() else {
            return;
        };
        if !matches!(
            batch.phase,
            Phase::Challenge { .. } | Phase::Producing | Phase::Stopping
        ) || batch.hold.is_some()
        {
            return;
        }
        let text = reason.to_string();
        batch.hold = Some(reason);
        self.line_running = false;
        out.push(Command::StopLine { reason: text });
        self.sync_recorded_state(out);
    }

    fn enter_stopping(&mut self, out: &mut Vec<Command>) {
        let printer_online = self.devices.is_online(Device::Printer);
        let Some(batch) = self.batch.as_mut() else {
            return;
        };
        batch.phase = Phase::Stopping;
        batch.printing.return_unsent(&mut batch.counts, out);
        if batch.printing.queued_len() > 0 && batch.printing.request_clear() && printer_online {
            out.push(Command::ClearPrinterBuffer);
        }
        self.sync_recorded_state(out);
    }

    fn abandon_in_flight(&mut self, out: &mut Vec<Command>) {
        let Some(batch) = self.batch.as_mut() else {
            return;
        };
        for item in batch.tracker.drain_all() {
            if let Some(serial) = item.decision.and_then(|decision| decision.serial) {
                batch.counts.scrapped += 1;
                out.push(Command::Persist(Transition::SerialScrapped {
                    serial,
                    seq: Some(item.seq),
                    cause: ScrapCause::FateUnknown,
                }));
            }
        }
        batch.printing.abandon(&mut batch.counts, out);
        self.finish_stopping(out);
    }

    fn finish_stopping(&mut self, out: &mut Vec<Command>) {
        let Some(batch) = self.batch.as_mut() else {
            return;
        };
        batch.phase = Phase::Stopped;
        let complete = batch.counts.commissioned >= u64::from(batch.quantity);
        if self.line_running {
            self.line_running = false;
            out.push(Command::StopLine {
                reason: if complete {
                    "batch complete".to_string()
                } else {
                    "batch stopped".to_string()
                },
            });
        }
        self.sync_recorded_state(out);
    }

    fn fail_challenge(&mut self, message: String, out: &mut Vec<Command>) {
        let Some(batch) = self.batch.as_mut() else {
            return;
        };
        batch.phase = Phase::ChallengeFailed;
        if self.line_running {
            self.line_running = false;
            out.push(Command::StopLine {
                reason: "challenge test failed".to_string(),
            });
        }
        alarm(
            out,
            AlarmKind::ChallengeFailed,
            format!(
                "{message}: the batch will not produce; check the reject station, then close this batch and start again"
            ),
        );
        self.sync_recorded_state(out);
    }

    /// Persists the batch state if it changed since last recorded.
    fn sync_recorded_state(&mut self, out: &mut Vec<Command>) {
        let Some(batch) = self.batch.as_mut() else {
            return;
        };
        let state = batch::recorded_state(&batch.phase, batch.hold.as_ref());
        let reason = batch.hold.as_ref().map(|hold| hold.to_string());
        let current = Some((state, reason.clone()));
        if batch.recorded != current {
            batch.recorded = current;
            out.push(Command::Persist(Transition::BatchState {
                batch: batch.id,
                state,
                reason,
            }));
        }
    }

    // ----- serial supply -------------------------------------------------------

    fn serials_allocated(&mut self, serials: Vec<String>, out: &mut Vec<Command>) {
        let Some(batch) = self.batch.as_mut() else {
            alarm(
                out,
                AlarmKind::DeviceInconsistency,
                format!(
                    "{} serials arrived with no batch active: they are returned to the pool",
                    serials.len()
                ),
            );
            for serial in serials {
                out.push(Command::Persist(Transition::SerialReturned {
                    serial,
                    proof: super::command::ReturnProof::NeverSentToPrinter,
                }));
            }
            return;
        };
        batch.counts.allocated += serials.len() as u64;
        batch.printing.receive_serials(serials);
        if !matches!(batch.phase, Phase::Producing) {
            batch.printing.return_unsent(&mut batch.counts, out);
        }
    }

    // ----- camera --------------------------------------------------------------

    fn camera_result(
        &mut self,
        seq: Seq,
        read: Option<(SymbologyId, &str, Grade)>,
        out: &mut Vec<Command>,
    ) {
        let now = self.now;
        let window = self.config.decision_window;
        let lead = self.config.max_result_lead;
        let Some(batch) = self.batch.as_mut() else {
            return;
        };
        match batch.tracker.arrive(seq, now, None, lead) {
            Arrival::Tracked => {}
            Arrival::Stale => {
                batch.stats.late_reports += 1;
                return;
            }
            Arrival::TooFarAhead => {
                self.inconsistency(
                    out,
                    format!("the camera sent a result for item {seq}, which the PLC has not reported yet: check the camera's trigger source"),
                );
                return;
            }
        }
        let already_decided = batch
            .tracker
            .get(seq)
            .is_some_and(|item| item.decision.is_some());
        if already_decided {
            batch.stats.repeated_results += 1;
            return;
        }
        let decision = if batch.tracker.is_past_decision_point(seq, now, window) {
            Decision::Reject {
                reason: RejectReason::Late,
                identified: None,
            }
        } else {
            match read {
                None => Decision::Reject {
                    reason: RejectReason::NoRead,
                    identified: None,
                },
                Some((symbology, data, grade)) => {
                    let printing = &batch.printing;
                    let verified = &batch.verified;
                    decision::decide(symbology, data, grade, batch.min_grade, |serial| {
                        match printing.expected_for(serial) {
                            Some(expected) => SerialStatus::Candidate(expected),
                            None if verified.contains(&serial_key(serial)) => {
                                SerialStatus::VerifiedBefore
                            }
                            None => SerialStatus::Unknown,
                        }
                    })
                }
            }
        };
        let grade = read.map(|(_, _, grade)| grade);
        self.apply_decision(seq, decision, grade, out);
    }

    fn apply_decision(
        &mut self,
        seq: Seq,
        decision: Decision,
        grade: Option<Grade>,
        out: &mut Vec<Command>,
    ) {
        let allowance = self.allowance();
        let Some(batch) = self.batch.as_mut() else {
            return;
        };
        let item_decision = match decision {
            Decision::Good { serial } => {
                batch.printing.bind(&serial);
                batch.verified.insert(serial_key(&serial));
                batch.streak.good();
                batch.stats.good_verdicts += 1;
                ItemDecision {
                    verdict: Verdict::Good,
                    reason: None,
                    serial: Some(serial),
                    grade,
                }
            }
            Decision::Reject { reason, identified } => {
                if let Some(serial) = &identified {
                    batch.printing.bind(serial);
                }
                batch.stats.rejects_by_reason[reason.index()] += 1;
                ItemDecision {
                    verdict: Verdict::Reject,
                    reason: Some(reason),
                    serial: identified,
                    grade,
                }
            }
        };
        let verdict = item_decision.verdict;
        out.push(Command::Persist(Transition::ItemVerdict {
            seq,
            verdict,
            reason: item_decision.reason,
            serial: item_decision.serial.clone(),
            grade,
        }));
        out.push(Command::WriteVerdict { seq, verdict });
        batch.tracker.decide(seq, item_decision);
        // Rejects count toward the streak only while producing with prints still
        // wanted; during a challenge or the tail of a batch unprinted items are expected.
        let counting =
            matches!(batch.phase, Phase::Producing) && batch.hold.is_none() && allowance > 0;
        if verdict == Verdict::Reject && counting && batch.streak.reject(batch.reject_limit) {
            let limit = batch.reject_limit;
            self.hold(HoldReason::ConsecutiveRejects(limit), out);
            alarm(
                out,
                AlarmKind::ConsecutiveRejects,
                format!(
                    "{limit} rejects in a row: check the printer and camera, empty the reject bin if needed, then resume"
                ),
            );
        }
    }

    /// How many more prints may be started: the quantity minus what is commissioned
    /// and what could still become good.
    fn allowance(&self) -> usize {
        let Some(batch) = self.batch.as_ref() else {
            return 0;
        };
        let committed = batch.counts.commissioned as usize
            + batch.printing.pending_prints()
            + batch.tracker.good_awaiting_fate();
        (batch.quantity as usize).saturating_sub(committed)
    }

    // ----- PLC -----------------------------------------------------------------

    fn item_fate(&mut self, seq: Seq, fate: ItemFate, out: &mut Vec<Command>) {
        let Some(batch) = self.batch.as_mut() else {
            return;
        };
        let resolution = batch.tracker.resolve_fate(seq);
        for missing in resolution.missing {
            self.resolve_item(missing.seq, Some(missing), None, out);
        }
        if resolution.stale {
            if let Some(batch) = self.batch.as_mut() {
                batch.stats.late_reports += 1;
            }
            if fate == ItemFate::ExitedGood {
                self.escaped(seq, out);
            }
            return;
        }
        self.resolve_item(seq, resolution.item, Some(fate), out);
    }

    /// Settles one item: commission, scrap, or hold the line, and count the challenge.
    fn resolve_item(
        &mut self,
        seq: Seq,
        item: Option<TrackedItem>,
        fate: Option<ItemFate>,
        out: &mut Vec<Command>,
    ) {
        let Some(batch) = self.batch.as_mut() else {
            return;
        };
        let decision = item.and_then(|item| item.decision);
        let verdict = decision.as_ref().map(|decision| decision.verdict);
        let serial = decision.and_then(|decision| decision.serial);
        let Some(fate) = fate else {
            batch.stats.fates_missing += 1;
            if let Some(serial) = serial {
                batch.counts.scrapped += 1;
                out.push(Command::Persist(Transition::SerialScrapped {
                    serial,
                    seq: Some(seq),
                    cause: ScrapCause::FateUnknown,
                }));
            }
            self.inconsistency(out, format!("the PLC never reported the fate of item {seq}: it is counted as rejected; check the reject bin"));
            self.challenge_outcome(false, "a challenge item's fate was never reported", out);
            return;
        };
        if fate == ItemFate::RejectedUnconfirmed {
            self.line_running = false;
            out.push(Command::StopLine {
                reason: format!("reject of item {seq} not confirmed"),
            });
        }
        let Some(batch) = self.batch.as_mut() else {
            return;
        };
        out.push(Command::Persist(Transition::ItemFate {
            seq,
            fate,
            serial: serial.clone(),
        }));
        match (fate, verdict) {
            (ItemFate::ExitedGood, Some(Verdict::Good)) => {
                batch.stats.exited_good += 1;
                if let Some(serial) = serial {
                    batch.counts.commissioned += 1;
                    out.push(Command::Persist(Transition::SerialCommissioned {
                        serial,
                        seq,
                    }));
                }
                self.challenge_outcome(false, "a challenge item left through the good exit", out);
            }
            (ItemFate::ExitedGood, _) => {
                batch.stats.exited_good += 1;
                if let Some(serial) = serial {
                    batch.counts.scrapped += 1;
                    out.push(Command::Persist(Transition::SerialScrapped {
                        serial,
                        seq: Some(seq),
                        cause: ScrapCause::ItemEscapedWithoutGood,
                    }));
                }
                self.challenge_outcome(false, "a challenge item left through the good exit", out);
                self.escaped(seq, out);
            }
            (ItemFate::RejectedConfirmed | ItemFate::RejectedUnconfirmed, _) => {
                if fate == ItemFate::RejectedConfirmed {
                    batch.stats.rejected_confirmed += 1;
                } else {
                    batch.stats.rejected_unconfirmed += 1;
                }
                if let Some(serial) = serial {
                    batch.counts.scrapped += 1;
                    out.push(Command::Persist(Transition::SerialScrapped {
                        serial,
                        seq: Some(seq),
                        cause: ScrapCause::ItemRejected,
                    }));
                }
                if fate == ItemFate::RejectedUnconfirmed {
                    alarm(
                        out,
                        AlarmKind::RejectNotConfirmed,
                        format!(
                            "the reject of item {seq} was not confirmed: find the item (reject bin or good exit) and remove it, then resume"
                        ),
                    );
                    self.challenge_outcome(
                        false,
                        "a challenge item's reject was not confirmed",
                        out,
                    );
                    self.hold(HoldReason::RejectNotConfirmed, out);
                } else {
                    self.challenge_outcome(true, "", out);
                }
            }
        }
    }

    /// Counts one challenge item's outcome (no effect outside a challenge).
    fn challenge_outcome(&mut self, confirmed_reject: bool, failure: &str, out: &mut Vec<Command>) {
        let Some(batch) = self.batch.as_mut() else {
            return;
        };
        let Phase::Challenge {
            expected,
            confirmed,
        } = batch.phase
        else {
            return;
        };
        if !confirmed_reject {
            self.fail_challenge(failure.to_string(), out);
            return;
        }
        let confirmed = confirmed + 1;
        batch.phase = if confirmed >= expected {
            batch.streak.reset();
            Phase::Producing
        } else {
            Phase::Challenge {
                expected,
                confirmed,
            }
        };
        self.sync_recorded_state(out);
    }

    fn escaped(&mut self, seq: Seq, out: &mut Vec<Command>) {
        self.hold(HoldReason::ItemEscaped, out);
        alarm(
            out,
            AlarmKind::ItemEscaped,
            format!(
                "item {seq} left through the good exit without a GOOD verdict: retrieve it from the good exit, then resume"
            ),
        );
    }

    fn plc_alarms(&mut self, alarms: PlcAlarms, out: &mut Vec<Command>) {
        let was_active = self.plc_alarm_active;
        self.plc_alarm_active = alarms.any();
        if alarms.any() && !was_active {
            let reason = if alarms.reject_not_confirmed {
                HoldReason::RejectNotConfirmed
            } else {
                HoldReason::PlcAlarm(alarms.describe())
            };
            self.hold(reason, out);
            alarm(
                out,
                AlarmKind::PlcAlarm,
                format!(
                    "the PLC stopped the line: {}; clear the cause at the line, then resume",
                    alarms.describe()
                ),
            );
        }
    }

    // ----- devices -------------------------------------------------------------

    fn device_down(&mut self, device: Device, out: &mut Vec<Command>) {
        if !self.devices.set(device, false) {
            return;
        }
        if self.batch.is_some() {
            self.hold(HoldReason::DeviceDown(device), out);
            alarm(
                out,
                AlarmKind::DeviceDown(device),
                format!(
                    "the {device} went offline: the line is stopped; reconnect it, then resume"
                ),
            );
        }
    }

    fn device_up(&mut self, device: Device, out: &mut Vec<Command>) {
        if !self.devices.set(device, true) {
            return;
        }
        if device != Device::Printer {
            return;
        }
        // A printer that was away may or may not still hold our messages: clear it
        // and account for each one by its report.
        let Some(batch) = self.batch.as_mut() else {
            return;
        };
        if batch.printing.clear_pending()
            || (batch.printing.queued_len() > 0 && batch.printing.request_clear())
        {
            out.push(Command::ClearPrinterBuffer);
        }
    }

    // ----- after every event ---------------------------------------------------

    fn after_event(&mut self, out: &mut Vec<Command>) {
        if self.batch.is_none() {
            return;
        }
        let now = self.now;
        let window = self.config.decision_window;
        // Items past the decision point without a result.
        loop {
            let Some(batch) = self.batch.as_mut() else {
                return;
            };
            let Some(seq) = batch.tracker.next_past_decision_point(now, window) else {
                break;
            };
            self.apply_decision(
                seq,
                Decision::Reject {
                    reason: RejectReason::Late,
                    identified: None,
                },
                None,
                out,
            );
        }
        let gate_counts = self
            .config
            .printer_to_gate_counts
            .saturating_add(self.config.gate_margin_counts);
        if let (Some(batch), Some(encoder)) = (self.batch.as_mut(), now.encoder) {
            batch
                .printing
                .expire_unverified(encoder, gate_counts, &mut batch.counts, out);
        }
        let Some(batch) = self.batch.as_ref() else {
            return;
        };
        if matches!(batch.phase, Phase::Producing)
            && batch.counts.commissioned >= u64::from(batch.quantity)
        {
            self.enter_stopping(out);
        }
        self.sync_recorded_state(out);
        self.feed_printer(out);
        self.finish_stopping_if_done(out);
        self.drive_line(out);
    }

    /// Keeps the printer topped up and the serial supply ahead of it.
    fn feed_printer(&mut self, out: &mut Vec<Command>) {
        let allowance = self.allowance();
        let printer_online = self.devices.is_online(Device::Printer);
        let depth = self.config.printer_queue_depth;
        let block = self.config.serial_block_size;
        let low_water = self.config.serial_low_water;
        let Some(batch) = self.batch.as_mut() else {
            return;
        };
        if !matches!(batch.phase, Phase::Producing) {
            return;
        }
        if batch.hold.is_none() && printer_online && !batch.printing.clear_pending() {
            batch
                .printing
                .top_up(depth, allowance, &batch.plan.code, &mut batch.counts, out);
        }
        let still_wanted = allowance.saturating_sub(batch.printing.queued_len());
        let unsent = batch.printing.unsent_len();
        if unsent < low_water.max(1)
            && still_wanted > unsent
            && !batch.printing.request_outstanding()
            && !batch.printing.supply_failed()
        {
            let count = (still_wanted - unsent + depth).min(block as usize).max(1) as u32;
            batch.printing.note_request_sent();
            out.push(Command::RequestSerials {
                batch: batch.id,
                count,
            });
        }
        if batch.printing.supply_failed()
            && unsent == 0
            && batch.printing.queued_len() == 0
            && still_wanted > 0
            && batch.hold.is_none()
        {
            self.hold(HoldReason::SerialsExhausted, out);
        }
    }

    fn finish_stopping_if_done(&mut self, out: &mut Vec<Command>) {
        let Some(batch) = self.batch.as_ref() else {
            return;
        };
        let done = matches!(batch.phase, Phase::Stopping)
            && !batch.printing.clear_pending()
            && batch.printing.queued_len() == 0
            && batch.printing.unsent_len() == 0
            && batch.printing.candidates_len() == 0
            && !batch.printing.request_outstanding()
            && batch.tracker.bound_awaiting_fate() == 0;
        if done {
            self.finish_stopping(out);
        }
    }

    /// Starts or stops the conveyor to match the batch: it runs unless held, and
    /// while producing it waits for a full printer buffer before starting (no blank
    /// items at start) and stops if the buffer runs empty while prints are wanted.
    fn drive_line(&mut self, out: &mut Vec<Command>) {
        let allowance = self.allowance();
        let depth = self.config.printer_queue_depth;
        let Some(batch) = self.batch.as_ref() else {
            return;
        };
        let wanted = if batch.hold.is_some() {
            false
        } else {
            match batch.phase {
                Phase::Challenge { .. } | Phase::Stopping => true,
                Phase::Producing => {
                    let queued = batch.printing.queued_len();
                    let wants_more = allowance > 0;
                    if self.line_running {
                        !(queued == 0 && wants_more)
                    } else {
                        queued >= depth || !wants_more
                    }
                }
                Phase::Stopped | Phase::ChallengeFailed => false,
            }
        };
        if wanted && !self.line_running {
            self.sync_recorded_state(out);
            self.line_running = true;
            out.push(Command::StartLine);
        } else if !wanted && self.line_running {
            self.line_running = false;
            out.push(Command::StopLine {
                reason: "waiting for the printer buffer to fill".to_string(),
            });
        }
    }
}
