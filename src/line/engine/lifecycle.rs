//! Operator commands and the batch lifecycle changes they and other events share:
//! start, pause, resume, stop, close; holds, stopping, abandoning, the challenge's end,
//! and recording the batch state.

use std::collections::HashSet;

use crate::line::batch::{self, Phase};
use crate::line::command::{AlarmKind, BatchState, Command, ScrapCause, Transition};
use crate::line::error::{OperatorError, OperatorErrorKind};
use crate::line::event::{BatchRecovery, BatchStart, OperatorCommand};
use crate::line::printing::PrintBuffer;
use crate::line::reconcile::Reconciliation;
use crate::line::supervision::{HoldReason, RejectStreak};
use crate::line::tracking::{ItemDecision, ItemTracker};
use crate::line::types::{Device, Verdict};

use super::{ActiveBatch, BatchStats, Engine, alarm, serial_key};

impl Engine {
    // ----- operator commands -------------------------------------------------

    pub(super) fn operator(
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
            OperatorCommand::Recover(recovery) => self.recover(*recovery, out),
            OperatorCommand::Sampled { serial } => self.sampled(&serial),
            OperatorCommand::OverrideChallenge => self.override_challenge(out),
        }
    }

    /// A failed challenge test overridden: the batch produces after all, paused
    /// first so that the line starts only on a resume. Items that passed the print
    /// head during the challenge are blanks and do not count in the reject streak.
    fn override_challenge(&mut self, out: &mut Vec<Command>) -> Result<(), OperatorError> {
        let streak_from = self
            .now
            .encoder
            .map(|e| e.wrapping_add(self.config.printer_to_camera_counts));
        let batch = self.active_batch_or_error()?;
        if !matches!(batch.phase, Phase::ChallengeFailed) {
            return Err(OperatorError::new(
                OperatorErrorKind::WrongState,
                format!(
                    "batch {} has no failed challenge test to override",
                    batch.id
                ),
            ));
        }
        if let Some(batch) = self.batch.as_mut() {
            batch.phase = Phase::Producing;
            batch.streak.reset();
            batch.streak_from_encoder = streak_from;
            batch.hold = Some(HoldReason::Operator);
        }
        self.sync_recorded_state(out);
        Ok(())
    }

    /// A commissioned serial of the active batch was taken out as a sample.
    fn sampled(&mut self, serial: &str) -> Result<(), OperatorError> {
        let batch = self.batch.as_mut().ok_or_else(|| {
            OperatorError::new(
                OperatorErrorKind::NoActiveBatch,
                "no batch is active: the sample belongs to a closed batch",
            )
        })?;
        if batch.counts.commissioned == 0 {
            return Err(OperatorError::new(
                OperatorErrorKind::WrongState,
                format!(
                    "batch {} has no commissioned serial, so {serial} cannot be a sample of it",
                    batch.id
                ),
            ));
        }
        batch.counts.commissioned -= 1;
        batch.counts.sampled += 1;
        Ok(())
    }

    pub(super) fn active_batch_or_error(&self) -> Result<&ActiveBatch, OperatorError> {
        self.batch.as_ref().ok_or_else(|| {
            OperatorError::new(
                OperatorErrorKind::NoActiveBatch,
                "no batch is active: start one with `serialstation batch start`",
            )
        })
    }

    pub(super) fn start(
        &mut self,
        start: BatchStart,
        out: &mut Vec<Command>,
    ) -> Result<(), OperatorError> {
        self.refuse_if_active()?;
        let plan = batch::check_start(&start, &self.devices.offline())?;
        let phase = if start.challenge_items > 0 {
            Phase::Challenge {
                expected: start.challenge_items,
                confirmed: 0,
            }
        } else {
            Phase::Producing
        };
        self.install_batch(&start, plan, phase, None, Reconciliation::default());
        self.sync_recorded_state(out);
        Ok(())
    }

    fn refuse_if_active(&self) -> Result<(), OperatorError> {
        let Some(batch) = &self.batch else {
            return Ok(());
        };
        let state = batch::recorded_state(&batch.phase, batch.hold.as_ref());
        Err(OperatorError::new(
            OperatorErrorKind::BatchAlreadyActive,
            format!(
                "batch {} is still {}: stop and close it (`serialstation batch stop`, then `batch close`) before starting another",
                batch.id,
                state.as_str()
            ),
        ))
    }

    fn install_batch(
        &mut self,
        start: &BatchStart,
        plan: batch::BatchPlan,
        phase: Phase,
        hold: Option<HoldReason>,
        counts: Reconciliation,
    ) {
        self.earlier_run_acks.forget();
        self.batch = Some(ActiveBatch {
            id: start.batch,
            quantity: start.quantity,
            min_grade: start.product.min_grade,
            reject_limit: start.product.consecutive_reject_limit,
            plan,
            phase,
            hold,
            recorded: None,
            printing: PrintBuffer::new(start.first_message_id),
            tracker: ItemTracker::default(),
            streak: RejectStreak::default(),
            streak_from_encoder: self
                .now
                .encoder
                .map(|e| e.wrapping_add(self.config.printer_to_camera_counts)),
            counts,
            verified: HashSet::new(),
            stats: BatchStats::default(),
        });
    }

    /// Takes over a batch after a restart; it comes back held.
    pub(super) fn recover(
        &mut self,
        recovery: BatchRecovery,
        out: &mut Vec<Command>,
    ) -> Result<(), OperatorError> {
        self.refuse_if_active()?;
        let BatchRecovery {
            start,
            counts,
            stopping,
            in_flight,
        } = recovery;
        let bound = in_flight
            .iter()
            .filter(|item| item.serial.is_some())
            .count();
        if counts.outstanding() != bound as i128 {
            return Err(OperatorError::new(
                OperatorErrorKind::Unbalanced,
                format!(
                    "batch {} cannot be taken over, its serials are not all settled: {} with {bound} item(s) in flight handed over; run the start-up recovery first",
                    start.batch,
                    counts.describe()
                ),
            ));
        }
        let remaining = u64::from(start.quantity).saturating_sub(counts.commissioned);
        let check = BatchStart {
            quantity: remaining.max(1) as u32,
            pool_available: if remaining == 0 {
                u64::MAX
            } else {
                start.pool_available
            },
            challenge_items: 0,
            ..start.clone()
        };
        let plan = batch::check_start(&check, &self.devices.offline())?;
        let phase = if stopping || remaining == 0 {
            Phase::Stopping
        } else {
            Phase::Producing
        };
        self.install_batch(&start, plan, phase, Some(HoldReason::Recovered), counts);
        if let Some(batch) = self.batch.as_mut() {
            for serial in in_flight.iter().filter_map(|item| item.serial.as_deref()) {
                batch.verified.insert(serial_key(serial));
            }
            batch.tracker.adopt_recovered(
                in_flight
                    .into_iter()
                    .map(|item| {
                        let decision = ItemDecision {
                            verdict: if item.serial.is_some() {
                                Verdict::Good
                            } else {
                                Verdict::Reject
                            },
                            reason: None,
                            serial: item.serial,
                            grade: None,
                        };
                        (item.seq, decision)
                    })
                    .collect(),
            );
        }
        self.sync_recorded_state(out);
        Ok(())
    }

    pub(super) fn pause(&mut self, out: &mut Vec<Command>) -> Result<(), OperatorError> {
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

    pub(super) fn resume(&mut self, out: &mut Vec<Command>) -> Result<(), OperatorError> {
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
        let streak_from = self
            .now
            .encoder
            .map(|e| e.wrapping_add(self.config.printer_to_camera_counts));
        if let Some(batch) = self.batch.as_mut() {
            batch.hold = None;
            batch.streak.reset();
            batch.streak_from_encoder = streak_from;
            batch.printing.retry_supply();
        }
        self.sync_recorded_state(out);
        Ok(())
    }

    pub(super) fn stop(
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

    pub(super) fn close(
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
    pub(super) fn hold(&mut self, reason: HoldReason, out: &mut Vec<Command>) {
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

    pub(super) fn enter_stopping(&mut self, out: &mut Vec<Command>) {
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

    pub(super) fn abandon_in_flight(&mut self, out: &mut Vec<Command>) {
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

    pub(super) fn finish_stopping(&mut self, out: &mut Vec<Command>) {
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

    pub(super) fn fail_challenge(&mut self, message: String, out: &mut Vec<Command>) {
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
    pub(super) fn sync_recorded_state(&mut self, out: &mut Vec<Command>) {
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
}
