//! The engine: one batch at a time, driven by [`Event`]s, answering with
//! [`Command`]s. It wires the concerns together (batch lifecycle, print buffer,
//! item tracking, decisions, supervision, reconciliation) and owns the ordering
//! rule: a command that depends on a transition comes after the persist for it.
//!
//! No I/O, no clock, no randomness: the same events always give the same commands.

mod flow;
mod gate;
mod lifecycle;
mod verify;

use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};

use super::batch::{self, BatchPlan, Phase};
use super::command::{Alarm, AlarmKind, BatchState, Command};
use super::config::EngineConfig;
use super::error::OperatorError;
use super::event::Event;
use super::printing::PrintBuffer;
use super::reconcile::Reconciliation;
use super::supervision::{DeviceStates, HoldReason, RejectStreak};
use super::tracking::{Arrival, ItemTracker, LineNow, MAX_SEQ_GAP};
use super::types::{BatchId, Device, Grade, RejectReason};

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
    /// Prints acknowledged by the camera read before the printer's own report.
    pub acknowledged_by_read: u64,
    /// Fates of items that passed the camera before this run began (settled by the
    /// previous run or by start-up recovery).
    pub fates_before_run: u64,
    /// Print reports for messages sent before this run began.
    pub reports_before_run: u64,
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
    /// Nothing is printed now: the batch's tail (stopping, or enough prints out to
    /// reach the quantity, unless an item in flight fails) or its challenge test.
    /// Items fed now are blank (or the challenge's known-bad items).
    pub no_more_prints: bool,
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
    /// Rejects count toward the streak only for items triggered at the camera at or
    /// after this encoder count (set at start, resume and take-over).
    streak_from_encoder: Option<u32>,
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

    /// The devices whose link is down, in [`Device::ALL`] order.
    pub fn offline_devices(&self) -> Vec<Device> {
        self.devices.offline()
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
            no_more_prints: matches!(batch.phase, Phase::Stopping | Phase::Challenge { .. })
                || self.allowance() == 0,
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
                    Some(batch) if batch.printing.is_before_run(message_id) => {
                        // A message of the run before a restart, printed after it:
                        // start-up recovery settled its serial (it is never used).
                        batch.stats.reports_before_run += 1;
                        true
                    }
                    Some(batch) => {
                        batch.printing.take_read_ack(message_id)
                            || batch.printing.acknowledge(
                                message_id,
                                encoder,
                                &mut batch.counts,
                                out,
                            )
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
}
