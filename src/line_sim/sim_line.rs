//! The line as the engine simulation drives it: the simulator's own line
//! ([`LineCore`]: the conveyor model and the PLC's logic, the printer model, the
//! faults and their seeded random streams, the smart camera's reading of a print)
//! stepped one millisecond at a time, and what sits between that line and the
//! engine: the three device links (dropped for a while by the simulator's
//! disconnect faults; the PLC's watchdog stops the belt when its link goes), the PLC
//! poll (camera arrivals, fates in seq order up to the gate count, alarm changes, the
//! encoder), print completes and the camera's results after their latency. It keeps
//! the ground truth of every item ([`Truth`]).
//!
//! Events for the engine come out of [`SimLine::due_events`]; the engine's commands
//! go in through the `apply_*` methods. No I/O, no clock, no randomness but the
//! fault table's: a run depends on its seed alone.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};
use std::time::Duration;

use serialstation_devices::readout::ReadOutcome;
use serialstation_devices::tij::codec::MAX_DATA;
use serialstation_simulator::SimConfig;
use serialstation_simulator::config::{CameraKind, LineSection, PrinterKind};
use serialstation_simulator::faults::{FaultKind, FaultSpec, FaultTable};
use serialstation_simulator::inprocess::smart_camera_shot;
use serialstation_simulator::model::plc::{
    FATE_EXITED_GOOD, FATE_REJECTED_CONFIRMED, FATE_REJECTED_UNCONFIRMED, PlcLogic,
};
use serialstation_simulator::model::{
    Alarm, LineEvent, PackMlCommand, PackMlState, Verdict as PlcVerdict,
};
use serialstation_simulator::runtime::core::{LineCore, RING_SLOTS};

use crate::line::event::{Event, PlcAlarms, PlcCounters};
use crate::line::types::{BatchId, Device, Grade, ItemFate, MessageId, Seq, Verdict};

use super::truth::Truth;

/// One step of the line: a millisecond.
pub const STEP: Duration = Duration::from_millis(1);

/// Message ids from here up are the operator's challenge prints, none of the
/// station's: their print completes go to nobody.
const CHALLENGE_IDS_FROM: u32 = 0xF000_0000;

/// A known-bad challenge print: a GS1 code of another product's lot and serial.
const CHALLENGE_FOREIGN: &[u8] = b"010950600013435217271231\x1d10FOREIGN\x1d21CHALLENGE1";
/// A known-bad challenge print: plain Data Matrix that is no GS1 element string.
const CHALLENGE_NOT_GS1: &[u8] = b"NOT GS1 AT ALL";

/// The PLC's encoder goes to the engine every this many steps, time every this many.
const COUNTERS_EVERY: u64 = 2;
const TICK_EVERY: u64 = 8;

/// A dropped link stays down for this many steps at least, and up to this many more.
const DOWN_MIN_STEPS: u64 = 10;
const DOWN_EXTRA_STEPS: u64 = 191;

/// The line the simulation runs on: the simulator's default line scaled so that one
/// step (a millisecond) moves the belt 25 encoder counts and an item comes every 100
/// counts (15,000 items a minute). Counts from the product-detect eye: print head 10,
/// camera 300, reject gate 900 (confirm sensor 150 after it, within 300), good exit
/// 1,400. The PLC's own consecutive-reject stop is set to its highest value, so the
/// engine's limit is the one that acts.
pub fn line_config() -> SimConfig {
    let mut config = SimConfig::default_line();
    config.simulator.images = false;
    config.simulator.autostart = false;
    config.line = LineSection {
        rate_per_min: 15_000.0,
        pitch_mm: 100.0,
        counts_per_mm: 1.0,
        print_head_mm: 10.0,
        camera_mm: 300.0,
        reject_gate_mm: 900.0,
        reject_confirm_mm: 150.0,
        reject_confirm_window_mm: 300.0,
        good_exit_mm: 1_400.0,
        encoder_start: 0,
        first_seq: 0,
    };
    config.printer.kind = PrinterKind::Tij;
    config.camera.kind = CameraKind::Smart;
    config.plc.consecutive_reject_limit = 1_000;
    config
}

struct Scheduled {
    step: u64,
    order: u64,
    /// Lost if this device's link is down when it is due.
    via: Option<Device>,
    event: Event,
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Self) -> bool {
        (self.step, self.order) == (other.step, other.order)
    }
}
impl Eq for Scheduled {}
impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Scheduled {
    fn cmp(&self, other: &Self) -> Ordering {
        (other.step, other.order).cmp(&(self.step, self.order))
    }
}

#[derive(Debug, Clone, Copy)]
struct Link {
    up: bool,
    back_at_step: u64,
}

fn device_index(device: Device) -> usize {
    match device {
        Device::Printer => 0,
        Device::Camera => 1,
        Device::Plc => 2,
    }
}

/// The simulator's fault that drops a device's link.
pub fn disconnect_fault(device: Device) -> FaultKind {
    match device {
        Device::Printer => FaultKind::PrinterDisconnect,
        Device::Camera => FaultKind::CameraDisconnect,
        Device::Plc => FaultKind::PlcDisconnect,
    }
}

/// The PackML commands that take the PLC from `state` to Execute (none when it is
/// there already, or when only clearing its alarms can move it).
pub fn start_walk(state: PackMlState) -> &'static [PackMlCommand] {
    match state {
        PackMlState::Stopped | PackMlState::Complete => {
            &[PackMlCommand::Reset, PackMlCommand::Start]
        }
        PackMlState::Idle => &[PackMlCommand::Start],
        PackMlState::Held => &[PackMlCommand::Unhold],
        PackMlState::Suspended => &[PackMlCommand::Unsuspend],
        _ => &[],
    }
}

/// A fate code of the PLC's fate ring as the engine's fate.
pub fn item_fate(code: u16) -> Option<ItemFate> {
    match code {
        FATE_EXITED_GOOD => Some(ItemFate::ExitedGood),
        FATE_REJECTED_CONFIRMED => Some(ItemFate::RejectedConfirmed),
        FATE_REJECTED_UNCONFIRMED => Some(ItemFate::RejectedUnconfirmed),
        _ => None,
    }
}

/// The PLC's alarms as the engine sees them.
pub fn plc_alarms(plc: &PlcLogic) -> PlcAlarms {
    PlcAlarms {
        reject_not_confirmed: plc.alarm_active(Alarm::RejectNotConfirmed),
        bin_full: plc.alarm_active(Alarm::BinFull),
        bin_door_open: plc.alarm_active(Alarm::BinDoorOpen),
        consecutive_rejects: plc.alarm_active(Alarm::ConsecutiveRejects),
        jam: plc.alarm_active(Alarm::Jam),
    }
}

/// What the camera reported for the item with `seq`, as the engine's event.
pub fn camera_event(seq: u32, outcome: &ReadOutcome) -> Event {
    crate::station::events::camera_outcome_event(seq, outcome)
}

/// The simulated line with its links to the engine. See the module documentation.
pub struct SimLine {
    core: LineCore,
    step: u64,
    order: u64,
    inbox: BinaryHeap<Scheduled>,
    links: [Link; 3],
    /// Verdict writes on their way to the PLC: (due step, seq, verdict).
    pending_verdicts: VecDeque<(u64, u32, PlcVerdict)>,
    /// Camera triggers the PLC driver has not reported yet: (seq, encoder).
    camera_arrivals: VecDeque<(u32, u32)>,
    /// The first seq whose fate the PLC driver has not reported (from the first poll).
    next_fate: Option<u32>,
    /// The alarms last reported to the engine (`None`: report them at the next poll).
    reported_alarms: Option<PlcAlarms>,
    next_challenge_id: u32,
    /// The batch items fed now belong to.
    pub current_batch: Option<BatchId>,
    pub truth: Truth,
}

impl SimLine {
    /// The line of `config` with `faults`, everything random drawn from one fault
    /// table seeded with `seed`. Fails when the configuration is not valid.
    pub fn new(
        seed: u64,
        config: &SimConfig,
        faults: &BTreeMap<FaultKind, FaultSpec>,
    ) -> Result<SimLine, String> {
        let mut table = FaultTable::new(seed, faults.clone());
        let mut config = config.clone();
        config.simulator.seed = seed;
        config.faults = faults.clone();
        // Start near the wrap of both counters so that wrapping is always exercised.
        config.line.encoder_start = u32::MAX - table.choose_below(200_000) as u32;
        config.line.first_seq = u32::MAX - table.choose_below(3_000) as u32;
        config.validate().map_err(|(section, key, message)| {
            format!("the simulated line's configuration is not valid: [{section}] {key}: {message}")
        })?;
        let mut core = LineCore::new(&config, None);
        // The table the line built from the same seed and faults, except that the
        // choices above are already made from it: one random source for the run.
        core.model.faults = table;
        // The station selects a job and starts the printer; here it stays ready.
        core.printer.select_job("line-simulation");
        core.printer.running = true;
        Ok(SimLine {
            core,
            step: 0,
            order: 0,
            inbox: BinaryHeap::new(),
            links: [Link {
                up: true,
                back_at_step: 0,
            }; 3],
            pending_verdicts: VecDeque::new(),
            camera_arrivals: VecDeque::new(),
            next_fate: None,
            reported_alarms: None,
            next_challenge_id: CHALLENGE_IDS_FROM,
            current_batch: None,
            truth: Truth::default(),
        })
    }

    pub fn step_count(&self) -> u64 {
        self.step
    }

    /// Items fed onto the belt so far.
    pub fn items_entered(&self) -> u64 {
        self.core.model.items_entered()
    }

    pub fn link_up(&self, device: Device) -> bool {
        self.links[device_index(device)].up
    }

    /// The PLC has an alarm set (it stopped the line).
    pub fn plc_alarm(&self) -> bool {
        self.core.model.plc.alarm_bits() != 0
    }

    /// A uniform choice in `0..bound` from the run's random source.
    pub fn random_below(&mut self, bound: u64) -> u64 {
        self.core.model.faults.choose_below(bound)
    }

    fn schedule(&mut self, delay: u64, via: Option<Device>, event: Event) {
        self.order += 1;
        self.inbox.push(Scheduled {
            step: self.step + delay,
            order: self.order,
            via,
            event,
        });
    }

    /// Events due now, in delivery order. What a device pushed is lost when its link
    /// is down by the time it is due.
    pub fn due_events(&mut self, into: &mut Vec<Event>) {
        while self.inbox.peek().is_some_and(|next| next.step <= self.step) {
            let Some(next) = self.inbox.pop() else {
                break;
            };
            if next.via.is_some_and(|device| !self.link_up(device)) {
                continue;
            }
            into.push(next.event);
        }
    }

    /// Moves the world on by one step. Fails only when the PLC's fate ring lost a
    /// fate before it could be read (the simulation would then judge from less than
    /// the station is owed).
    pub fn advance(&mut self) -> Result<(), String> {
        self.step += 1;
        self.links_flap();
        let mut events = Vec::new();
        while self
            .pending_verdicts
            .front()
            .is_some_and(|(at, _, _)| *at <= self.step)
        {
            if let Some((_, seq, verdict)) = self.pending_verdicts.pop_front() {
                self.core.model.write_verdict(seq, verdict, &mut events);
            }
        }
        self.core.model.advance(STEP, &mut events);
        self.observe(&events);
        let out = self.core.handle_events(events);
        for id in out.printed_ids {
            if id >= CHALLENGE_IDS_FROM || !self.link_up(Device::Printer) {
                continue;
            }
            self.schedule(
                1,
                Some(Device::Printer),
                Event::PrintAcknowledged {
                    message_id: MessageId(u64::from(id)),
                },
            );
        }
        for job in out.camera_jobs {
            let shot = smart_camera_shot(&job);
            let grade = shot.print_grade.map_or(Grade::A, |grade| {
                Grade::from_tenths(grade.tenths).unwrap_or(Grade::F)
            });
            let print = job.print.as_ref().map(|print| print.data.as_slice());
            self.truth.at_camera(job.seq, print, grade);
            let event = camera_event(job.seq, &shot.readout.outcome);
            self.schedule(1 + shot.delay_ms, Some(Device::Camera), event);
        }
        self.poll_plc()?;
        if self.step.is_multiple_of(TICK_EVERY) {
            self.schedule(0, None, Event::Tick { now_ms: self.step });
        }
        Ok(())
    }

    /// Links whose time is up come back; each link may drop (the simulator's
    /// disconnect faults, drawn once a step).
    fn links_flap(&mut self) {
        for device in Device::ALL {
            let link = self.links[device_index(device)];
            if !link.up && self.step >= link.back_at_step {
                self.links[device_index(device)].up = true;
                if device == Device::Plc {
                    // The driver reports the PLC's alarms again on its first poll.
                    self.reported_alarms = None;
                }
                self.schedule(1, None, Event::DeviceUp(device));
            }
        }
        for device in Device::ALL {
            if !self.core.model.faults.fires(disconnect_fault(device)) || !self.link_up(device) {
                continue;
            }
            let down_for = DOWN_MIN_STEPS + self.random_below(DOWN_EXTRA_STEPS);
            self.links[device_index(device)] = Link {
                up: false,
                back_at_step: self.step + down_for,
            };
            if device == Device::Plc {
                // The PLC's watchdog stops the belt when the controller's link goes;
                // verdict writes on the wire are lost.
                let mut ignored = Vec::new();
                self.core.model.command(PackMlCommand::Stop, &mut ignored);
                self.pending_verdicts.clear();
            }
            self.schedule(1, None, Event::DeviceDown(device));
        }
    }

    /// Updates the ground truth and the PLC's camera-trigger record from what the
    /// line did.
    fn observe(&mut self, events: &[LineEvent]) {
        for event in events {
            match event {
                LineEvent::ItemEntered { seq, .. } => {
                    self.truth.entered(*seq, self.current_batch);
                }
                LineEvent::CameraTrigger { seq, encoder, .. } => {
                    self.camera_arrivals.push_back((*seq, *encoder));
                }
                LineEvent::GateDecision { seq, released, .. } => {
                    self.truth.at_gate(*seq, *released);
                }
                LineEvent::ExitedGood { seq, .. } => self.truth.exited_good(*seq),
                LineEvent::EnteredBin { seq, .. } => self.truth.entered_bin(*seq),
                _ => {}
            }
        }
    }

    /// The PLC driver's poll, while its link is up: alarm changes, the items
    /// triggered at the camera, every fate from its cursor up to the gate count in
    /// seq order, and the encoder.
    fn poll_plc(&mut self) -> Result<(), String> {
        if !self.link_up(Device::Plc) {
            return Ok(());
        }
        let alarms = plc_alarms(&self.core.model.plc);
        if self.reported_alarms != Some(alarms) {
            self.reported_alarms = Some(alarms);
            self.schedule(1, None, Event::PlcAlarms(alarms));
        }
        while let Some((seq, encoder)) = self.camera_arrivals.pop_front() {
            self.schedule(
                1,
                None,
                Event::ItemAtCamera {
                    seq: Seq(seq),
                    encoder,
                },
            );
        }
        let gate_count = self.core.model.plc.gate_count;
        let mut next = *self.next_fate.get_or_insert(gate_count);
        let ring = u32::try_from(RING_SLOTS).unwrap_or(u32::MAX);
        if gate_count.wrapping_sub(next) > ring {
            return Err(format!(
                "the PLC's gate count ran {} items ahead of the fates read (from seq {next}), more than its fate ring holds",
                gate_count.wrapping_sub(next)
            ));
        }
        let mut fates = Vec::new();
        while next != gate_count {
            let fate = self.core.model.plc.fate_for(next).and_then(item_fate);
            let Some(fate) = fate else {
                return Err(format!(
                    "the PLC's gate count passed seq {next}, but its fate ring has no fate for it"
                ));
            };
            fates.push((next, fate));
            next = next.wrapping_add(1);
        }
        self.next_fate = Some(next);
        for (seq, fate) in fates {
            self.schedule(
                1,
                None,
                Event::ItemFateReported {
                    seq: Seq(seq),
                    fate,
                },
            );
        }
        if self.step.is_multiple_of(COUNTERS_EVERY) {
            let plc = &self.core.model.plc;
            let counters = PlcCounters {
                encoder: self.core.model.encoder(),
                items_at_camera: plc.camera_trigger_count,
                good_exits: plc.good_exit_count,
                reject_confirms: plc.reject_confirm_count,
            };
            self.schedule(1, None, Event::PlcCounters(counters));
        }
        Ok(())
    }

    // ----- commands from the engine ------------------------------------------

    /// Loads one message into the printer's buffer (lost while the printer's link is
    /// down). Fails when the printer refuses it: the station never overfills it.
    pub fn apply_queue_print(
        &mut self,
        message_id: MessageId,
        serial: &str,
        data: &str,
    ) -> Result<(), String> {
        if !self.link_up(Device::Printer) {
            return Ok(());
        }
        let id = u32::try_from(message_id.0)
            .ok()
            .filter(|id| *id < CHALLENGE_IDS_FROM)
            .ok_or_else(|| {
                format!("message id {message_id} is beyond the simulated printer's ids")
            })?;
        self.truth.message_sent(serial, data.as_bytes());
        self.core
            .printer
            .queue(id, data.as_bytes().to_vec(), MAX_DATA)
            .map_err(|error| format!("the printer refused message {message_id}: {error:?}"))
    }

    /// Clears the printer's buffer and reports the station's messages never printed.
    pub fn apply_clear_printer(&mut self) {
        if !self.link_up(Device::Printer) {
            return;
        }
        let never_printed = self
            .core
            .printer
            .clear()
            .into_iter()
            .filter(|id| *id < CHALLENGE_IDS_FROM)
            .map(|id| MessageId(u64::from(id)))
            .collect();
        self.schedule(
            1,
            Some(Device::Printer),
            Event::PrinterBufferCleared { never_printed },
        );
    }

    /// Writes a verdict into the PLC's verdict ring (it lands next step).
    pub fn apply_verdict(&mut self, seq: Seq, verdict: Verdict) {
        if !self.link_up(Device::Plc) {
            return;
        }
        let verdict = match verdict {
            Verdict::Good => PlcVerdict::Good,
            Verdict::Reject => PlcVerdict::Reject,
        };
        self.pending_verdicts
            .push_back((self.step + 1, seq.0, verdict));
    }

    /// Walks the PLC to Execute (refused by the PLC while an alarm is set).
    pub fn apply_start_line(&mut self) {
        if !self.link_up(Device::Plc) {
            return;
        }
        let mut ignored = Vec::new();
        for command in start_walk(self.core.model.plc.state) {
            if !self.core.model.command(*command, &mut ignored) {
                break;
            }
        }
    }

    pub fn apply_stop_line(&mut self) {
        if !self.link_up(Device::Plc) {
            return;
        }
        let mut ignored = Vec::new();
        self.core.model.command(PackMlCommand::Stop, &mut ignored);
    }

    /// The operator at the line: fixes what only hands can fix (a full bin, a jam, an
    /// open bin door), clears the PLC's alarms, and returns them as they now stand,
    /// for the engine (`None` while the PLC's link is down).
    pub fn reset_plc_alarm(&mut self) -> Option<Event> {
        if !self.link_up(Device::Plc) {
            return None;
        }
        if self.plc_alarm() {
            let mut ignored = Vec::new();
            let plc = &self.core.model.plc;
            let (bin_full, jam, door_open) =
                (plc.bin_full_input, plc.jam_input, plc.bin_door_open_input);
            if bin_full {
                self.core.model.empty_bin();
            }
            if jam {
                self.core.model.clear_jam();
            }
            if door_open {
                self.core.model.set_bin_door_open(false, &mut ignored);
            }
            self.core.model.command(PackMlCommand::Clear, &mut ignored);
        }
        // The next poll reports them again too: an alarm report still on its way
        // must not be the last word.
        self.reported_alarms = None;
        Some(Event::PlcAlarms(plc_alarms(&self.core.model.plc)))
    }

    /// Delivers serials from the store after a short delay.
    pub fn deliver_serials(&mut self, serials: Vec<String>) {
        let delay = 1 + self.random_below(3);
        self.schedule(delay, None, Event::SerialsAllocated { serials });
    }

    /// The operator prepares a challenge test of `items` known-bad items: each one
    /// blank, a foreign GS1 code or plain Data Matrix, printed by the printer (from
    /// ids none of the station's) on the next items fed.
    pub fn queue_challenge(&mut self, items: u32) {
        for _ in 0..items {
            let (data, gs1) = match self.random_below(3) {
                0 => continue,
                1 => (CHALLENGE_FOREIGN, true),
                _ => (CHALLENGE_NOT_GS1, false),
            };
            let id = self.next_challenge_id;
            self.next_challenge_id = id.checked_add(1).unwrap_or(CHALLENGE_IDS_FROM);
            if self
                .core
                .printer
                .queue_symbol(id, data.to_vec(), gs1, MAX_DATA)
                .is_err()
            {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::line::types::SymbologyId;

    use serialstation_devices::readout::{Grade as ReadGrade, SymbologyId as ReadSymbology};

    #[test]
    fn the_line_configuration_is_valid_and_keeps_the_old_proportions() {
        let config = line_config();
        assert_eq!(config.validate(), Ok(()));
        let g = config.line.geometry();
        assert_eq!(
            (g.pitch, g.print_head, g.camera, g.reject_gate, g.good_exit),
            (100, 10, 300, 900, 1_400)
        );
        let per_step = config.line.counts_per_second() * STEP.as_secs_f64();
        assert!((per_step - 25.0).abs() < 1e-9, "{per_step} counts a step");
    }

    #[test]
    fn the_start_walk_ends_in_execute_from_every_resting_state() {
        for state in [
            PackMlState::Stopped,
            PackMlState::Complete,
            PackMlState::Idle,
            PackMlState::Held,
            PackMlState::Suspended,
        ] {
            let mut plc = PlcLogic::new(8, 5, 10, false, 0);
            plc.state = state;
            for command in start_walk(state) {
                assert!(
                    plc.command(*command).is_some(),
                    "{command:?} from {state:?}"
                );
            }
            assert_eq!(plc.state, PackMlState::Execute, "from {state:?}");
        }
        assert!(start_walk(PackMlState::Execute).is_empty());
        assert!(start_walk(PackMlState::Aborted).is_empty(), "alarms first");
    }

    #[test]
    fn fates_and_alarms_read_as_the_engine_knows_them() {
        assert_eq!(item_fate(FATE_EXITED_GOOD), Some(ItemFate::ExitedGood));
        assert_eq!(
            item_fate(FATE_REJECTED_CONFIRMED),
            Some(ItemFate::RejectedConfirmed)
        );
        assert_eq!(
            item_fate(FATE_REJECTED_UNCONFIRMED),
            Some(ItemFate::RejectedUnconfirmed)
        );
        assert_eq!(item_fate(0), None);
        let mut plc = PlcLogic::new(8, 5, 10, false, 0);
        assert!(!plc_alarms(&plc).any());
        plc.raise(Alarm::BinFull);
        plc.raise(Alarm::RejectNotConfirmed);
        let alarms = plc_alarms(&plc);
        assert!(alarms.bin_full && alarms.reject_not_confirmed);
        assert!(!alarms.jam && !alarms.consecutive_rejects && !alarms.bin_door_open);
    }

    #[test]
    fn camera_reads_become_engine_events() {
        let read = ReadOutcome::Read {
            symbology: ReadSymbology::DATAMATRIX,
            data: b"NOT GS1".to_vec(),
            grade: ReadGrade {
                tenths: 12,
                aperture_mils: 10,
                wavelength_nm: 660,
                angle_deg: 45,
            },
        };
        assert_eq!(
            camera_event(9, &read),
            Event::CameraResult {
                seq: Seq(9),
                symbology: SymbologyId::PLAIN_DATAMATRIX,
                data: "NOT GS1".to_string(),
                grade: Grade::from_tenths(12).unwrap(),
            }
        );
        assert_eq!(
            camera_event(9, &ReadOutcome::NoRead),
            Event::CameraNoRead { seq: Seq(9) }
        );
    }

    #[test]
    fn the_same_seed_gives_the_same_line() {
        let faults = crate::line_sim::profiles::harsh();
        let run = |seed| {
            let mut line = SimLine::new(seed, &line_config(), &faults).unwrap();
            let mut events = Vec::new();
            for step in 0..4_000u32 {
                if step.is_multiple_of(100) {
                    // Someone at the line keeps it going.
                    events.extend(line.reset_plc_alarm());
                    line.apply_start_line();
                }
                line.advance().unwrap();
                line.due_events(&mut events);
            }
            (line.items_entered(), events)
        };
        let (items, events) = run(3);
        assert!(items > 200, "the belt ran: {items} items");
        assert!(
            events
                .iter()
                .any(|event| matches!(event, Event::ItemFateReported { .. })),
            "fates were reported"
        );
        assert_eq!(run(3), (items, events));
    }

    #[test]
    fn fates_reach_the_engine_in_seq_order_once_each() {
        let mut line = SimLine::new(1, &line_config(), &BTreeMap::new()).unwrap();
        line.apply_start_line();
        let mut events = Vec::new();
        for _ in 0..2_000 {
            line.advance().unwrap();
            line.due_events(&mut events);
        }
        let seqs: Vec<Seq> = events
            .iter()
            .filter_map(|event| match event {
                Event::ItemFateReported { seq, fate } => {
                    assert_eq!(
                        *fate,
                        ItemFate::RejectedConfirmed,
                        "no verdicts: all rejected"
                    );
                    Some(*seq)
                }
                _ => None,
            })
            .collect();
        assert!(seqs.len() > 100, "{} fates", seqs.len());
        for pair in seqs.windows(2) {
            assert_eq!(pair[1], pair[0].next());
        }
    }

    #[test]
    fn messages_print_in_order_and_a_clear_reports_the_rest() {
        let mut line = SimLine::new(1, &line_config(), &BTreeMap::new()).unwrap();
        for id in 1..=3u64 {
            let serial = format!("S{id}A");
            let data = format!("0109506000134352\x1d21{serial}");
            line.apply_queue_print(MessageId(id), &serial, &data)
                .unwrap();
        }
        let beyond = MessageId(u64::from(CHALLENGE_IDS_FROM));
        assert!(line.apply_queue_print(beyond, "X", "X").is_err());
        line.apply_start_line();
        let mut events = Vec::new();
        for _ in 0..100 {
            line.advance().unwrap();
            line.due_events(&mut events);
            let acked = |event: &Event| matches!(event, Event::PrintAcknowledged { .. });
            if events.iter().any(acked) {
                break;
            }
        }
        line.apply_stop_line();
        line.apply_clear_printer();
        line.advance().unwrap();
        line.due_events(&mut events);
        let acked: Vec<MessageId> = events
            .iter()
            .filter_map(|event| match event {
                Event::PrintAcknowledged { message_id } => Some(*message_id),
                _ => None,
            })
            .collect();
        let cleared = events.iter().find_map(|event| match event {
            Event::PrinterBufferCleared { never_printed } => Some(never_printed.clone()),
            _ => None,
        });
        assert_eq!(acked, vec![MessageId(1)]);
        assert_eq!(cleared, Some(vec![MessageId(2), MessageId(3)]));
    }
}
