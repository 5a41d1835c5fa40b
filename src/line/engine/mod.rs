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

use std::collections::{BTreeSet, HashSet};
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
use super::types::{BatchId, Device, Grade, MessageId, RejectReason};

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
    /// Of `exited_good`, items start-up recovery handed over (the gate had released
    /// them before recovery's REJECT landed).
    pub handed_over_exited_good: u64,
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
    /// Message ids below this were sent by earlier runs of the station (None: not told).
    first_message_id_of_run: Option<MessageId>,
    /// Print reports for earlier runs' messages that came with no batch active.
    earlier_run_acks: EarlierRunAcks,
}

/// Print reports for messages an earlier run of the station sent, received while no
/// batch is active: the previous run's printer buffer finishing while start-up
/// recovery is pending. They are expected, so they raise no alarm; start-up recovery
/// gets their ids (the serials they name were printed).
#[derive(Debug, Default)]
struct EarlierRunAcks {
    ids: BTreeSet<MessageId>,
    /// Every such report, also those beyond the ids kept.
    count: u64,
}

/// At most this many ids of earlier runs' print reports are kept for recovery (the
/// printer's buffer holds far fewer).
const EARLIER_RUN_ACKS_KEPT: usize = 4096;

impl EarlierRunAcks {
    fn note(&mut self, message_id: MessageId) {
        self.count += 1;
        if self.ids.len() < EARLIER_RUN_ACKS_KEPT {
            self.ids.insert(message_id);
        }
    }

    /// A batch is started or taken over: recovery, if any, has had them.
    fn forget(&mut self) {
        self.ids.clear();
        self.count = 0;
    }
}

/// What a print report is to the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AckOrigin {
    /// A message of the active batch sent before this run began: start-up recovery
    /// settled its serial.
    BatchBeforeRun,
    /// A message of an earlier run while no batch is active (recovery pending).
    EarlierRun,
    /// Anything else with a batch active: its print queue decides.
    Queue,
    /// With no batch active, an id no earlier run sent: an inconsistency.
    Unknown,
}

/// Where a print report for `message_id` belongs (pure): `batch_before_run` is the
/// active batch's verdict on the id (None: no batch), `first_of_run` the first
/// message id of this run, if the station said.
fn ack_origin(
    message_id: MessageId,
    batch_before_run: Option<bool>,
    first_of_run: Option<MessageId>,
) -> AckOrigin {
    match batch_before_run {
        Some(true) => AckOrigin::BatchBeforeRun,
        Some(false) => AckOrigin::Queue,
        None if first_of_run.is_some_and(|first| message_id < first) => AckOrigin::EarlierRun,
        None => AckOrigin::Unknown,
    }
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
            first_message_id_of_run: None,
            earlier_run_acks: EarlierRunAcks::default(),
        }
    }

    /// Tells the engine that message ids below `first` were sent by earlier runs of the
    /// station (the store's next message id when the process starts). A print report
    /// for one of them while no batch is active is the previous run's printer buffer
    /// finishing: it is matched without an alarm and kept for start-up recovery
    /// ([`Engine::earlier_run_acks`]).
    pub fn set_first_message_id_of_run(&mut self, first: MessageId) {
        self.first_message_id_of_run = Some(first);
    }

    /// The ids of print reports for earlier runs' messages received while no batch was
    /// active, in id order (at most 4096; forgotten when a batch is started or taken
    /// over). Start-up recovery counts them and settles their serials as printed.
    pub fn earlier_run_acks(&self) -> Vec<MessageId> {
        self.earlier_run_acks.ids.iter().copied().collect()
    }

    /// How many such reports came (also those beyond the ids kept).
    pub fn earlier_run_ack_count(&self) -> u64 {
        self.earlier_run_acks.count
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
            Event::PrintAcknowledged { message_id } => self.print_acknowledged(message_id, out),
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
                self.counter_restarted_past_recovered(seq, out);
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

    fn print_acknowledged(&mut self, message_id: MessageId, out: &mut Vec<Command>) {
        let encoder = self.now.encoder;
        let before_run = self
            .batch
            .as_ref()
            .map(|batch| batch.printing.is_before_run(message_id));
        let acknowledged = match ack_origin(message_id, before_run, self.first_message_id_of_run) {
            AckOrigin::BatchBeforeRun => {
                // A message of the run before a restart, printed after it: start-up
                // recovery settled its serial (it is never used).
                if let Some(batch) = self.batch.as_mut() {
                    batch.stats.reports_before_run += 1;
                }
                true
            }
            AckOrigin::EarlierRun => {
                self.earlier_run_acks.note(message_id);
                true
            }
            AckOrigin::Queue => match self.batch.as_mut() {
                Some(batch) => {
                    batch.printing.take_read_ack(message_id)
                        || batch
                            .printing
                            .acknowledge(message_id, encoder, &mut batch.counts, out)
                }
                None => false,
            },
            AckOrigin::Unknown => false,
        };
        if !acknowledged {
            self.inconsistency(
                out,
                format!("the printer acknowledged message {message_id}, which is not in its queue: check the printer's job settings"),
            );
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn alarms(out: &[Command]) -> Vec<String> {
        out.iter()
            .filter_map(|command| match command {
                Command::RaiseAlarm(alarm) => Some(alarm.message.clone()),
                _ => None,
            })
            .collect()
    }

    fn report_print(engine: &mut Engine, id: u64) -> Vec<Command> {
        let mut out = Vec::new();
        engine
            .handle(
                Event::PrintAcknowledged {
                    message_id: MessageId(id),
                },
                &mut out,
            )
            .expect("a device event is never refused");
        out
    }

    #[test]
    fn print_reports_are_sorted_by_where_they_belong() {
        let first = Some(MessageId(10));
        assert_eq!(
            ack_origin(MessageId(3), Some(true), first),
            AckOrigin::BatchBeforeRun
        );
        assert_eq!(
            ack_origin(MessageId(3), Some(false), first),
            AckOrigin::Queue
        );
        assert_eq!(
            ack_origin(MessageId(12), Some(false), first),
            AckOrigin::Queue
        );
        assert_eq!(ack_origin(MessageId(9), None, first), AckOrigin::EarlierRun);
        assert_eq!(ack_origin(MessageId(10), None, first), AckOrigin::Unknown);
        assert_eq!(ack_origin(MessageId(3), None, None), AckOrigin::Unknown);
    }

    #[test]
    fn an_ack_for_a_previous_run_id_is_matched_silently_and_kept_for_recovery() {
        let mut engine = Engine::new(EngineConfig::default());
        engine.set_first_message_id_of_run(MessageId(100));
        for id in [97, 99, 97] {
            let out = report_print(&mut engine, id);
            assert!(alarms(&out).is_empty(), "{out:?}");
        }
        assert_eq!(engine.earlier_run_acks(), [MessageId(97), MessageId(99)]);
        assert_eq!(engine.earlier_run_ack_count(), 3);
    }

    #[test]
    fn an_ack_for_an_id_no_run_sent_still_alarms() {
        let mut engine = Engine::new(EngineConfig::default());
        engine.set_first_message_id_of_run(MessageId(100));
        for id in [100, 5_000] {
            let raised = alarms(&report_print(&mut engine, id));
            assert_eq!(raised.len(), 1, "{raised:?}");
            assert!(raised[0].contains(&format!("message {id}")), "{raised:?}");
        }
        assert!(engine.earlier_run_acks().is_empty());
        assert_eq!(engine.earlier_run_ack_count(), 0);

        // Not told which ids earlier runs sent: a report with no batch active alarms.
        let mut engine = Engine::new(EngineConfig::default());
        assert_eq!(alarms(&report_print(&mut engine, 3)).len(), 1);
        assert!(engine.earlier_run_acks().is_empty());
    }

    #[test]
    fn only_so_many_earlier_run_ids_are_kept_but_every_report_is_counted() {
        let mut engine = Engine::new(EngineConfig::default());
        let extra = 10u64;
        let total = EARLIER_RUN_ACKS_KEPT as u64 + extra;
        engine.set_first_message_id_of_run(MessageId(total + 1));
        for id in 1..=total {
            assert!(alarms(&report_print(&mut engine, id)).is_empty());
        }
        assert_eq!(engine.earlier_run_acks().len(), EARLIER_RUN_ACKS_KEPT);
        assert_eq!(engine.earlier_run_ack_count(), total);
    }
}
