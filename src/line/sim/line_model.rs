//! The physical line, seeded: a conveyor of items at a pitch, a printer with a
//! buffer that prints on product detect (with skipped, doubled, corrupted and
//! defective prints), a camera with no-reads, latency jitter, late and stale results,
//! and a PLC with a verdict table, a reject gate that can fail, a confirm sensor
//! that can miss, and a watchdog that stops the belt when its link goes away.
//!
//! It keeps the ground truth of every item (what is printed on it, where it went)
//! for the invariant checks. Events for the engine come out of [`LineModel::due_events`];
//! the engine's commands go in through the `apply_*` methods.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap, VecDeque};

use crate::line::event::{Event, PlcAlarms, PlcCounters};
use crate::line::types::{BatchId, Device, Grade, ItemFate, MessageId, Seq, SymbologyId, Verdict};

use super::faults::FaultProfile;
use super::rng::SimRng;

/// Distances in encoder counts and speed in counts per step.
#[derive(Debug, Clone, Copy)]
pub struct Geometry {
    pub pitch: u32,
    pub pitch_jitter: u32,
    pub counts_per_step: u32,
    pub camera_at: u32,
    pub gate_at: u32,
}

impl Default for Geometry {
    fn default() -> Geometry {
        Geometry {
            pitch: 100,
            pitch_jitter: 20,
            counts_per_step: 25,
            camera_at: 300,
            gate_at: 900,
        }
    }
}

/// What is physically printed on an item.
#[derive(Debug, Clone)]
pub struct Label {
    pub data: String,
    pub grade: Grade,
    /// The serial of the message on top (the one a camera can read).
    pub visible_serial: String,
    /// The data differs from what the message carried.
    pub corrupted: bool,
}

/// Where an item physically ended up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Whereabouts {
    OnBelt,
    /// Released by the PLC with a GOOD verdict.
    GoodExit,
    /// The gate failed: the item went out through the good exit without GOOD.
    Escaped,
    RejectBin,
}

/// Ground truth of one item.
#[derive(Debug, Clone)]
pub struct TruthItem {
    pub seq: Seq,
    pub batch: Option<BatchId>,
    pub challenge: bool,
    pub label: Option<Label>,
    /// Every serial printed on it (two for a double print).
    pub printed: Vec<String>,
    pub whereabouts: Whereabouts,
}

struct Scheduled {
    step: u64,
    order: u64,
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

struct OnBelt {
    seq: Seq,
    detect_pos: u64,
}

struct DeviceLink {
    online: bool,
    back_at_step: u64,
}

/// The seeded line.
pub struct LineModel {
    rng: SimRng,
    faults: FaultProfile,
    geometry: Geometry,
    min_grade: Grade,
    step: u64,
    order: u64,
    /// Absolute belt position (the encoder is its low 32 bits plus an offset).
    position: u64,
    encoder_offset: u32,
    running: bool,
    plc_alarm: bool,
    next_seq: Seq,
    next_detect: u64,
    before_camera: VecDeque<OnBelt>,
    before_gate: VecDeque<OnBelt>,
    printer_buffer: VecDeque<(MessageId, String, String)>,
    verdict_table: HashMap<u32, Verdict>,
    pending_verdicts: VecDeque<(u64, Seq, Verdict)>,
    plc_outbox: VecDeque<Event>,
    inbox: BinaryHeap<Scheduled>,
    links: [DeviceLink; 3],
    /// Production items wanted from the feeder (false: the feeder waits).
    pub feed_production: bool,
    /// Challenge items still to feed.
    pub challenge_to_feed: u32,
    /// The batch new items belong to.
    pub current_batch: Option<BatchId>,
    pub items: HashMap<u32, TruthItem>,
    /// How many times each serial was physically printed.
    pub print_counts: HashMap<String, u32>,
    pub items_spawned: u64,
    pub escaped: u64,
    /// Items that reached the gate since the driver last looked.
    pub recent_exits: Vec<Seq>,
    /// A serial the printer put on more than one item (must never happen).
    pub printed_twice: Option<String>,
}

fn device_index(device: Device) -> usize {
    match device {
        Device::Printer => 0,
        Device::Camera => 1,
        Device::Plc => 2,
    }
}

impl LineModel {
    pub fn new(seed: u64, faults: FaultProfile, geometry: Geometry, min_grade: Grade) -> LineModel {
        let mut rng = SimRng::new(seed);
        // Start near the wrap of both counters so wrapping is always exercised.
        let encoder_offset = u32::MAX - rng.below(200_000) as u32;
        let next_seq = Seq(u32::MAX - rng.below(3_000) as u32);
        LineModel {
            rng,
            faults,
            geometry,
            min_grade,
            step: 0,
            order: 0,
            position: 0,
            encoder_offset,
            running: false,
            plc_alarm: false,
            next_seq,
            next_detect: u64::from(geometry.pitch),
            before_camera: VecDeque::new(),
            before_gate: VecDeque::new(),
            printer_buffer: VecDeque::new(),
            verdict_table: HashMap::new(),
            pending_verdicts: VecDeque::new(),
            plc_outbox: VecDeque::new(),
            inbox: BinaryHeap::new(),
            links: [
                DeviceLink {
                    online: true,
                    back_at_step: 0,
                },
                DeviceLink {
                    online: true,
                    back_at_step: 0,
                },
                DeviceLink {
                    online: true,
                    back_at_step: 0,
                },
            ],
            feed_production: false,
            challenge_to_feed: 0,
            current_batch: None,
            items: HashMap::new(),
            print_counts: HashMap::new(),
            items_spawned: 0,
            escaped: 0,
            recent_exits: Vec::new(),
            printed_twice: None,
        }
    }

    pub fn step_count(&self) -> u64 {
        self.step
    }

    pub fn online(&self, device: Device) -> bool {
        self.links[device_index(device)].online
    }

    pub fn plc_alarm(&self) -> bool {
        self.plc_alarm
    }

    pub fn belt_is_running(&self) -> bool {
        self.running
    }

    pub fn items_on_belt(&self) -> usize {
        self.before_camera.len() + self.before_gate.len()
    }

    fn encoder(&self) -> u32 {
        (self.position as u32).wrapping_add(self.encoder_offset)
    }

    fn schedule(&mut self, delay: u64, event: Event) {
        self.order += 1;
        self.inbox.push(Scheduled {
            step: self.step + delay,
            order: self.order,
            event,
        });
    }

    fn plc_send(&mut self, event: Event) {
        self.plc_outbox.push_back(event);
    }

    /// Events due now, in delivery order.
    pub fn due_events(&mut self, into: &mut Vec<Event>) {
        if self.links[device_index(Device::Plc)].online {
            while let Some(event) = self.plc_outbox.pop_front() {
                self.schedule(1, event);
            }
        }
        while self.inbox.peek().is_some_and(|next| next.step <= self.step) {
            if let Some(next) = self.inbox.pop() {
                into.push(next.event);
            }
        }
    }

    /// Advances the world by one step.
    pub fn advance(&mut self) {
        self.step += 1;
        self.links_flap();
        // Verdict writes land in the PLC's table.
        while self
            .pending_verdicts
            .front()
            .is_some_and(|(at, _, _)| *at <= self.step)
        {
            if let Some((_, seq, verdict)) = self.pending_verdicts.pop_front() {
                self.verdict_table.insert(seq.0, verdict);
            }
        }
        if !self.running {
            return;
        }
        self.position += u64::from(self.geometry.counts_per_step);
        if self.position >= self.next_detect {
            self.detect();
        }
        let camera_at = u64::from(self.geometry.camera_at);
        while self
            .before_camera
            .front()
            .is_some_and(|item| self.position - item.detect_pos >= camera_at)
        {
            if let Some(item) = self.before_camera.pop_front() {
                self.at_camera(item.seq);
                self.before_gate.push_back(item);
            }
        }
        let gate_at = u64::from(self.geometry.gate_at);
        while self
            .before_gate
            .front()
            .is_some_and(|item| self.position - item.detect_pos >= gate_at)
        {
            if let Some(item) = self.before_gate.pop_front() {
                self.at_gate(item.seq);
                if !self.running {
                    break;
                }
            }
        }
        if self.step.is_multiple_of(2) {
            let counters = PlcCounters {
                encoder: self.encoder(),
                ..PlcCounters::default()
            };
            self.plc_send(Event::PlcCounters(counters));
        }
        if self.step.is_multiple_of(8) {
            self.schedule(0, Event::Tick { now_ms: self.step });
        }
    }

    fn links_flap(&mut self) {
        for index in 0..3 {
            let device = [Device::Printer, Device::Camera, Device::Plc][index];
            if !self.links[index].online && self.step >= self.links[index].back_at_step {
                self.links[index].online = true;
                if device == Device::Printer && self.rng.chance(self.faults.printer_buffer_lost) {
                    self.printer_buffer.clear();
                }
                self.schedule(1, Event::DeviceUp(device));
            }
        }
        if self.rng.chance(self.faults.disconnect_per_step) {
            let index = self.rng.below(3) as usize;
            if self.links[index].online {
                let device = [Device::Printer, Device::Camera, Device::Plc][index];
                self.links[index].online = false;
                self.links[index].back_at_step = self.step + self.rng.between(10, 200);
                if device == Device::Plc {
                    // The PLC's watchdog stops the belt when the controller link goes.
                    self.running = false;
                    self.pending_verdicts.clear();
                }
                self.schedule(1, Event::DeviceDown(device));
            }
        }
    }

    fn detect(&mut self) {
        let jitter = self
            .rng
            .between(0, u64::from(self.geometry.pitch_jitter) * 2);
        self.next_detect = self.position + u64::from(self.geometry.pitch)
            - u64::from(self.geometry.pitch_jitter)
            + jitter;
        let challenge = self.challenge_to_feed > 0;
        if !challenge && !self.feed_production {
            return;
        }
        let seq = self.next_seq;
        self.next_seq = seq.next();
        self.items_spawned += 1;
        let mut item = TruthItem {
            seq,
            batch: self.current_batch,
            challenge,
            label: None,
            printed: Vec::new(),
            whereabouts: Whereabouts::OnBelt,
        };
        if challenge {
            self.challenge_to_feed -= 1;
            item.label = self.challenge_label();
        } else if self.links[device_index(Device::Printer)].online
            && !self.printer_buffer.is_empty()
        {
            self.print_on(&mut item);
        }
        self.items.insert(seq.0, item);
        self.before_camera.push_back(OnBelt {
            seq,
            detect_pos: self.position,
        });
    }

    /// A known-bad challenge item: blank, a foreign code, or a bad print.
    fn challenge_label(&mut self) -> Option<Label> {
        match self.rng.below(3) {
            0 => None,
            1 => Some(Label {
                data: "010950600013435217271231\u{1d}10FOREIGN\u{1d}21CHALLENGE1".to_string(),
                grade: Grade::A,
                visible_serial: "CHALLENGE1".to_string(),
                corrupted: true,
            }),
            _ => Some(Label {
                data: "NOT GS1 AT ALL".to_string(),
                grade: Grade::F,
                visible_serial: String::new(),
                corrupted: true,
            }),
        }
    }

    fn print_on(&mut self, item: &mut TruthItem) {
        if self.rng.chance(self.faults.skipped_print) {
            return;
        }
        let copies = if self.rng.chance(self.faults.double_print) && self.printer_buffer.len() >= 2
        {
            2
        } else {
            1
        };
        for _ in 0..copies {
            let Some((message_id, serial, data)) = self.printer_buffer.pop_front() else {
                break;
            };
            let count = self.print_counts.entry(serial.clone()).or_insert(0);
            *count += 1;
            if *count > 1 {
                self.printed_twice = Some(serial.clone());
            }
            item.printed.push(serial.clone());
            let corrupted = self.rng.chance(self.faults.wrong_data);
            let printed_data = if corrupted {
                corrupt(&data, &mut self.rng)
            } else {
                data
            };
            let min = u64::from(self.min_grade.tenths());
            let grade = if self.rng.chance(self.faults.defect) {
                self.rng.below(min.max(1))
            } else {
                self.rng.between(min, 40)
            };
            item.label = Some(Label {
                data: printed_data,
                grade: Grade::from_tenths(grade as u8).unwrap_or(Grade::F),
                visible_serial: serial,
                corrupted,
            });
            let delay = self.rng.between(0, 1);
            self.schedule(delay, Event::PrintAcknowledged { message_id });
        }
    }

    fn at_camera(&mut self, seq: Seq) {
        let encoder = self.encoder();
        self.plc_send(Event::ItemAtCamera { seq, encoder });
        if !self.links[device_index(Device::Camera)].online {
            return;
        }
        let label = self.items.get(&seq.0).and_then(|item| item.label.clone());
        let event = match label {
            Some(label) if !self.rng.chance(self.faults.camera_no_read) => {
                let symbology = if self.rng.chance(self.faults.camera_plain_symbology) {
                    SymbologyId::PLAIN_DATAMATRIX
                } else {
                    SymbologyId::GS1_DATAMATRIX
                };
                Event::CameraResult {
                    seq,
                    symbology,
                    data: label.data,
                    grade: label.grade,
                }
            }
            _ => Event::CameraNoRead { seq },
        };
        let delay = if self.rng.chance(self.faults.camera_late) {
            self.rng.between(20, 60)
        } else {
            self.rng.between(0, 3)
        };
        if self.rng.chance(self.faults.camera_stale_repeat) {
            let stale = self.rng.between(40, 200);
            self.schedule(stale, event.clone());
        }
        self.schedule(delay, event);
    }

    fn at_gate(&mut self, seq: Seq) {
        let verdict = self.verdict_table.remove(&seq.0);
        let (whereabouts, fate) = if verdict == Some(Verdict::Good) {
            (Whereabouts::GoodExit, ItemFate::ExitedGood)
        } else if self.rng.chance(self.faults.gate_failure) {
            self.escaped += 1;
            (Whereabouts::Escaped, ItemFate::RejectedUnconfirmed)
        } else if self.rng.chance(self.faults.confirm_sensor_miss) {
            (Whereabouts::RejectBin, ItemFate::RejectedUnconfirmed)
        } else {
            (Whereabouts::RejectBin, ItemFate::RejectedConfirmed)
        };
        if let Some(item) = self.items.get_mut(&seq.0) {
            item.whereabouts = whereabouts;
        }
        self.recent_exits.push(seq);
        self.plc_send(Event::ItemFateReported { seq, fate });
        if fate == ItemFate::RejectedUnconfirmed {
            self.running = false;
            self.plc_alarm = true;
            self.plc_send(Event::PlcAlarms(PlcAlarms {
                reject_not_confirmed: true,
                ..PlcAlarms::default()
            }));
        }
    }

    // ----- commands from the engine ------------------------------------------

    pub fn apply_queue_print(&mut self, message_id: MessageId, serial: String, data: String) {
        if self.links[device_index(Device::Printer)].online {
            self.printer_buffer.push_back((message_id, serial, data));
        }
    }

    pub fn apply_clear_printer(&mut self) {
        if !self.links[device_index(Device::Printer)].online {
            return;
        }
        let never_printed = self.printer_buffer.drain(..).map(|(id, _, _)| id).collect();
        self.schedule(1, Event::PrinterBufferCleared { never_printed });
    }

    pub fn apply_verdict(&mut self, seq: Seq, verdict: Verdict) {
        if self.links[device_index(Device::Plc)].online {
            self.pending_verdicts
                .push_back((self.step + 1, seq, verdict));
        }
    }

    pub fn apply_start_line(&mut self) {
        if self.links[device_index(Device::Plc)].online && !self.plc_alarm {
            self.running = true;
        }
    }

    pub fn apply_stop_line(&mut self) {
        if self.links[device_index(Device::Plc)].online {
            self.running = false;
        }
    }

    /// The operator resets the PLC's alarm at the line.
    pub fn reset_plc_alarm(&mut self) -> Option<Event> {
        if !self.plc_alarm || !self.links[device_index(Device::Plc)].online {
            return None;
        }
        self.plc_alarm = false;
        Some(Event::PlcAlarms(PlcAlarms::default()))
    }

    /// Delivers serials from the store after a short delay.
    pub fn deliver_serials(&mut self, serials: Vec<String>) {
        let delay = self.rng.between(1, 3);
        self.schedule(delay, Event::SerialsAllocated { serials });
    }

    pub fn random_below(&mut self, bound: u64) -> u64 {
        self.rng.below(bound)
    }
}

/// Changes one character of the data to one no serial of the pool contains, so a
/// corrupted print never reads as another valid print.
fn corrupt(data: &str, rng: &mut SimRng) -> String {
    let mut bytes: Vec<u8> = data.bytes().collect();
    if bytes.is_empty() {
        return "z".to_string();
    }
    let index = rng.below(bytes.len() as u64) as usize;
    bytes[index] = if bytes[index] == b'z' { b'y' } else { b'z' };
    String::from_utf8_lossy(&bytes).into_owned()
}
