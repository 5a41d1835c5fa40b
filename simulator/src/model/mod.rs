//! The pure, deterministic, time-stepped model of the line: conveyor and encoder,
//! product generator, stations (print head, camera, reject gate with confirm sensor,
//! good exit) and the PLC's gate logic. `advance(dt)` moves the belt and returns the
//! events that happened, in encoder order. No I/O and no wall clock: the same seed,
//! config and inputs give the same events, at any speed.

pub mod plc;

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use serde::Serialize;

use crate::config::{Geometry, SimConfig};
use crate::faults::{FaultKind, FaultSpec, FaultTable};
pub use plc::{Alarm, Fate, PackMlCommand, PackMlState, PlcLogic, SeqSlot, Verdict};

/// Something that happened on the line. `item_no` counts physical items from 1.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum LineEvent {
    ItemEntered {
        item_no: u64,
        seq: u32,
        encoder: u32,
        time_ms: f64,
    },
    PrintTrigger {
        item_no: u64,
        seq: u32,
        encoder: u32,
    },
    CameraTrigger {
        item_no: u64,
        seq: u32,
        encoder: u32,
    },
    GateDecision {
        item_no: u64,
        seq: u32,
        verdict_held: Option<Verdict>,
        released: bool,
        gate_fired: bool,
        encoder: u32,
    },
    ExitedGood {
        item_no: u64,
        seq: u32,
        encoder: u32,
    },
    EnteredBin {
        item_no: u64,
        seq: u32,
        seen_by_sensor: bool,
        encoder: u32,
    },
    FateRecorded {
        item_no: u64,
        seq: u32,
        fate: Fate,
    },
    VerdictReceived {
        seq: u32,
        verdict: Option<Verdict>,
        item_no: Option<u64>,
        late: bool,
        encoder: u32,
        time_ms: f64,
    },
    AlarmRaised {
        alarm: Alarm,
        encoder: u32,
    },
    StateChanged {
        from: PackMlState,
        to: PackMlState,
        cause: String,
    },
    FaultApplied {
        item_no: u64,
        fault: FaultKind,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    ToPrint,
    ToCamera,
    ToGate,
    ToGoodExit,
    /// Diverted into the reject chute; reaches the confirm sensor position.
    InChute {
        seen: bool,
    },
}

#[derive(Debug, Clone)]
struct TrackedItem {
    item_no: u64,
    seq: u32,
    entry: u64,
    stage: Stage,
    /// The PLC released it at the gate.
    released: bool,
}

#[derive(Debug, Clone, Copy)]
struct PendingConfirm {
    item_no: u64,
    seq: u32,
    deadline: u64,
}

/// Event kinds in processing priority at equal encoder position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Due {
    ConfirmSensor(usize),
    GoodExit(usize),
    ConfirmDeadline(usize),
    Gate(usize),
    Camera(usize),
    Print(usize),
    ProductEntry,
}

impl Due {
    fn priority(self) -> u8 {
        match self {
            Due::ConfirmSensor(_) => 0,
            Due::GoodExit(_) => 1,
            Due::ConfirmDeadline(_) => 2,
            Due::Gate(_) => 3,
            Due::Camera(_) => 4,
            Due::Print(_) => 5,
            Due::ProductEntry => 6,
        }
    }
}

/// The line model. See the module doc.
#[derive(Debug, Clone)]
pub struct LineModel {
    geometry: Geometry,
    counts_per_second: f64,
    rate_per_min: f64,
    fraction: f64,
    encoder: u64,
    encoder_start: u32,
    next_product_at: u64,
    next_item_no: u64,
    first_seq: u32,
    items: VecDeque<TrackedItem>,
    pending_confirms: VecDeque<PendingConfirm>,
    time_ms: f64,
    /// Item numbers with a recorded fate beyond the contiguous frontier.
    fated_ahead: std::collections::BTreeSet<u64>,
    /// The oldest item whose fate is still open.
    fate_frontier: u64,
    pub plc: PlcLogic,
    pub faults: FaultTable,
}

impl LineModel {
    /// Builds the model; `ring_size` is the number of verdict/fate slots of the PLC.
    pub fn new(config: &SimConfig, ring_size: usize) -> LineModel {
        let geometry = config.line.geometry();
        LineModel {
            geometry,
            counts_per_second: config.line.counts_per_second(),
            rate_per_min: config.line.rate_per_min,
            fraction: 0.0,
            encoder: 0,
            encoder_start: config.line.encoder_start,
            next_product_at: 0,
            next_item_no: 1,
            first_seq: config.line.first_seq,
            items: VecDeque::new(),
            pending_confirms: VecDeque::new(),
            time_ms: 0.0,
            fated_ahead: std::collections::BTreeSet::new(),
            fate_frontier: 1,
            plc: PlcLogic::new(
                ring_size,
                config.plc.consecutive_reject_limit,
                config.plc.bin_capacity,
                config.simulator.autostart,
                config.line.first_seq,
            ),
            faults: FaultTable::new(config.simulator.seed, config.faults.clone()),
        }
    }

    /// The encoder count as the PLC reports it (u32, wrapping).
    pub fn encoder(&self) -> u32 {
        self.encoder_start.wrapping_add(self.encoder as u32)
    }

    pub fn time_ms(&self) -> f64 {
        self.time_ms
    }

    pub fn geometry(&self) -> Geometry {
        self.geometry
    }

    /// Items per minute while running (0 when the belt stands).
    pub fn line_speed(&self) -> f64 {
        if self.plc.running() {
            self.rate_per_min
        } else {
            0.0
        }
    }

    pub fn rate_per_min(&self) -> f64 {
        self.rate_per_min
    }

    /// Changes the feed rate (items/min); the pitch stays, so the belt speed changes.
    pub fn set_rate(&mut self, rate_per_min: f64) {
        if rate_per_min.is_finite() && rate_per_min > 0.0 {
            self.counts_per_second = rate_per_min / 60.0 * self.geometry.pitch as f64;
            self.rate_per_min = rate_per_min;
        }
    }

    /// Items produced so far.
    pub fn items_entered(&self) -> u64 {
        self.next_item_no - 1
    }

    /// Items still on the belt or in the chute.
    pub fn items_in_flight(&self) -> usize {
        self.items.len()
    }

    pub fn set_fault(&mut self, kind: FaultKind, spec: FaultSpec) {
        self.faults.set(kind, spec);
    }

    /// A PackML command from the controller (or the control endpoint).
    pub fn command(&mut self, cmd: PackMlCommand, events: &mut Vec<LineEvent>) -> bool {
        let from = self.plc.state;
        match self.plc.command(cmd) {
            Some(to) => {
                events.push(LineEvent::StateChanged {
                    from,
                    to,
                    cause: format!("command {cmd:?}"),
                });
                true
            }
            None => false,
        }
    }

    /// Writes one verdict slot (what a Modbus write of the slot does). Reports the
    /// verdict's arrival with whether it came too late for its item.
    pub fn write_verdict_slot(
        &mut self,
        slot: usize,
        seq: u32,
        code: u16,
        events: &mut Vec<LineEvent>,
    ) {
        let ring = self.plc.ring_size();
        let slot = slot % ring;
        self.plc.verdicts[slot] = SeqSlot { seq, code };
        if slot != self.plc.slot_of(seq) || code == plc::VERDICT_NONE {
            return;
        }
        let on_belt = self.items.iter().find(|i| i.seq == seq);
        let (item_no, late) = match on_belt {
            Some(item) => (
                Some(item.item_no),
                !matches!(item.stage, Stage::ToPrint | Stage::ToCamera | Stage::ToGate),
            ),
            None => {
                // Not on the belt: either already gone (late) or not produced yet.
                let produced = self.next_item_no - 1;
                let last_seq = self.first_seq.wrapping_add(produced as u32).wrapping_sub(1);
                let ahead = seq.wrapping_sub(last_seq);
                let future = produced == 0 || (1..1 << 31).contains(&ahead);
                (None, !future)
            }
        };
        events.push(LineEvent::VerdictReceived {
            seq,
            verdict: plc::verdict_from_code(code),
            item_no,
            late,
            encoder: self.encoder(),
            time_ms: self.time_ms,
        });
    }

    /// Convenience for tests and the in-process controller: writes `verdict` for `seq`.
    pub fn write_verdict(&mut self, seq: u32, verdict: Verdict, events: &mut Vec<LineEvent>) {
        let code = match verdict {
            Verdict::Good => plc::VERDICT_GOOD,
            Verdict::Reject => plc::VERDICT_REJECT,
        };
        let slot = self.plc.slot_of(seq);
        self.write_verdict_slot(slot, seq, code, events);
    }

    /// Empties the reject bin (operator action); the bin-full input drops.
    pub fn empty_bin(&mut self) {
        self.plc.bin_level = 0;
        self.plc.bin_full_input = false;
    }

    pub fn set_bin_door_open(&mut self, open: bool, events: &mut Vec<LineEvent>) {
        if open {
            self.raise(Alarm::BinDoorOpen, events);
        } else {
            self.plc.bin_door_open_input = false;
        }
    }

    pub fn clear_jam(&mut self) {
        self.plc.jam_input = false;
    }

    /// Raises an alarm from outside (control endpoint): bin full, jam, door.
    pub fn raise_alarm(&mut self, alarm: Alarm, events: &mut Vec<LineEvent>) {
        self.raise(alarm, events);
    }

    fn raise(&mut self, alarm: Alarm, events: &mut Vec<LineEvent>) {
        events.push(LineEvent::AlarmRaised {
            alarm,
            encoder: self.encoder(),
        });
        if let Some(from) = self.plc.raise(alarm) {
            events.push(LineEvent::StateChanged {
                from,
                to: self.plc.state,
                cause: format!("alarm {alarm:?}"),
            });
        }
    }

    /// Advances model time by `dt`; the belt moves only in Execute. Returns the events
    /// in encoder order (appended to `events`).
    pub fn advance(&mut self, dt: Duration, events: &mut Vec<LineEvent>) {
        let dt_ms = dt.as_secs_f64() * 1000.0;
        // One call is one PLC scan cycle.
        self.plc.heartbeat = self.plc.heartbeat.wrapping_add(1);
        if !self.plc.running() {
            self.time_ms += dt_ms;
            return;
        }
        let start_ms = self.time_ms;
        self.fraction += self.counts_per_second * dt.as_secs_f64();
        let step = self.fraction.floor();
        self.fraction -= step;
        let target = self.encoder + step as u64;
        let start_encoder = self.encoder;
        while self.plc.running() {
            let Some((pos, due)) = self.next_due() else {
                break;
            };
            if pos > target {
                break;
            }
            self.encoder = pos;
            // Interpolated time of the event within this step.
            if target > start_encoder {
                self.time_ms = start_ms
                    + dt_ms * (pos - start_encoder) as f64 / (target - start_encoder) as f64;
            }
            self.process(due, events);
        }
        if self.plc.running() {
            self.encoder = target;
            self.time_ms = start_ms + dt_ms;
        } else {
            self.fraction = 0.0;
            self.time_ms = self.time_ms.max(start_ms);
        }
    }

    fn stage_position(&self, item: &TrackedItem) -> u64 {
        let g = &self.geometry;
        item.entry
            + match item.stage {
                Stage::ToPrint => g.print_head,
                Stage::ToCamera => g.camera,
                Stage::ToGate => g.reject_gate,
                Stage::ToGoodExit => g.good_exit,
                Stage::InChute { .. } => g.reject_gate + g.reject_confirm,
            }
    }

    fn next_due(&self) -> Option<(u64, Due)> {
        let mut best: Option<(u64, Due)> = Some((self.next_product_at, Due::ProductEntry));
        let mut consider = |pos: u64, due: Due| {
            let better = match best {
                None => true,
                Some((bp, bd)) => (pos, due.priority()) < (bp, bd.priority()),
            };
            if better {
                best = Some((pos, due));
            }
        };
        for (i, item) in self.items.iter().enumerate() {
            let pos = self.stage_position(item);
            let due = match item.stage {
                Stage::ToPrint => Due::Print(i),
                Stage::ToCamera => Due::Camera(i),
                Stage::ToGate => Due::Gate(i),
                Stage::ToGoodExit => Due::GoodExit(i),
                Stage::InChute { .. } => Due::ConfirmSensor(i),
            };
            consider(pos, due);
        }
        for (i, p) in self.pending_confirms.iter().enumerate() {
            consider(p.deadline, Due::ConfirmDeadline(i));
        }
        best
    }

    fn process(&mut self, due: Due, events: &mut Vec<LineEvent>) {
        let encoder = self.encoder();
        match due {
            Due::ProductEntry => {
                let item_no = self.next_item_no;
                self.next_item_no += 1;
                let seq = self.first_seq.wrapping_add((item_no - 1) as u32);
                self.next_product_at = self.encoder + self.geometry.pitch;
                self.plc.items_detected = seq.wrapping_add(1);
                self.items.push_back(TrackedItem {
                    item_no,
                    seq,
                    entry: self.encoder,
                    stage: Stage::ToPrint,
                    released: false,
                });
                events.push(LineEvent::ItemEntered {
                    item_no,
                    seq,
                    encoder,
                    time_ms: self.time_ms,
                });
                if self.faults.fires_for_item(FaultKind::BinFull, item_no) {
                    events.push(LineEvent::FaultApplied {
                        item_no,
                        fault: FaultKind::BinFull,
                    });
                    self.raise(Alarm::BinFull, events);
                }
                if self.faults.fires_for_item(FaultKind::LineJam, item_no) {
                    events.push(LineEvent::FaultApplied {
                        item_no,
                        fault: FaultKind::LineJam,
                    });
                    self.raise(Alarm::Jam, events);
                }
            }
            Due::Print(i) => {
                let item = &mut self.items[i];
                item.stage = Stage::ToCamera;
                events.push(LineEvent::PrintTrigger {
                    item_no: item.item_no,
                    seq: item.seq,
                    encoder,
                });
            }
            Due::Camera(i) => {
                let item = &mut self.items[i];
                item.stage = Stage::ToGate;
                let (item_no, seq) = (item.item_no, item.seq);
                self.plc.camera_trigger_count = seq.wrapping_add(1);
                events.push(LineEvent::CameraTrigger {
                    item_no,
                    seq,
                    encoder,
                });
            }
            Due::Gate(i) => self.gate(i, events),
            Due::GoodExit(i) => {
                let Some(item) = self.items.remove(i) else {
                    return;
                };
                self.plc.good_exit_count = self.plc.good_exit_count.wrapping_add(1);
                events.push(LineEvent::ExitedGood {
                    item_no: item.item_no,
                    seq: item.seq,
                    encoder,
                });
                if item.released {
                    self.record_fate(item.item_no, item.seq, Fate::ExitedGood, events);
                }
            }
            Due::ConfirmSensor(i) => {
                let Some(item) = self.items.remove(i) else {
                    return;
                };
                let Stage::InChute { seen } = item.stage else {
                    return;
                };
                events.push(LineEvent::EnteredBin {
                    item_no: item.item_no,
                    seq: item.seq,
                    seen_by_sensor: seen,
                    encoder,
                });
                self.plc.bin_level += 1;
                if seen
                    && let Some(k) = self
                        .pending_confirms
                        .iter()
                        .position(|p| p.item_no == item.item_no)
                {
                    self.pending_confirms.remove(k);
                    self.plc.reject_confirm_count = self.plc.reject_confirm_count.wrapping_add(1);
                    self.record_fate(item.item_no, item.seq, Fate::RejectedConfirmed, events);
                }
                if self.plc.bin_level >= self.plc.bin_capacity && !self.plc.bin_full_input {
                    self.raise(Alarm::BinFull, events);
                }
            }
            Due::ConfirmDeadline(k) => {
                let Some(p) = self.pending_confirms.remove(k) else {
                    return;
                };
                self.record_fate(p.item_no, p.seq, Fate::RejectedUnconfirmed, events);
                self.raise(Alarm::RejectNotConfirmed, events);
            }
        }
    }

    /// Writes a fate to the PLC's ring and moves the gate count over every item
    /// whose fate is known, so that every seq below it has one.
    fn record_fate(&mut self, item_no: u64, seq: u32, fate: Fate, events: &mut Vec<LineEvent>) {
        self.plc.record_fate(seq, fate);
        events.push(LineEvent::FateRecorded { item_no, seq, fate });
        self.fated_ahead.insert(item_no);
        while self.fated_ahead.remove(&self.fate_frontier) {
            self.fate_frontier += 1;
        }
        self.plc.gate_count = self.first_seq.wrapping_add((self.fate_frontier - 1) as u32);
    }

    fn gate(&mut self, i: usize, events: &mut Vec<LineEvent>) {
        let encoder = self.encoder();
        let (item_no, seq) = (self.items[i].item_no, self.items[i].seq);
        let verdict_held = self.plc.verdict_for(seq);
        let released = verdict_held == Some(Verdict::Good);
        let mut gate_fired = false;
        if released {
            self.plc.consecutive_rejects = 0;
            self.items[i].released = true;
            self.items[i].stage = Stage::ToGoodExit;
        } else {
            self.plc.reject_fired_count = self.plc.reject_fired_count.wrapping_add(1);
            self.pending_confirms.push_back(PendingConfirm {
                item_no,
                seq,
                deadline: self.encoder + self.geometry.reject_confirm_window,
            });
            if self.faults.fires_for_item(FaultKind::GateNoFire, item_no) {
                events.push(LineEvent::FaultApplied {
                    item_no,
                    fault: FaultKind::GateNoFire,
                });
                self.items[i].stage = Stage::ToGoodExit;
            } else {
                gate_fired = true;
                let miss = self.faults.fires_for_item(FaultKind::ConfirmMiss, item_no);
                if miss {
                    events.push(LineEvent::FaultApplied {
                        item_no,
                        fault: FaultKind::ConfirmMiss,
                    });
                }
                self.items[i].stage = Stage::InChute { seen: !miss };
            }
        }
        events.push(LineEvent::GateDecision {
            item_no,
            seq,
            verdict_held,
            released,
            gate_fired,
            encoder,
        });
        if !released {
            self.plc.consecutive_rejects = self.plc.consecutive_rejects.saturating_add(1);
            let limit = self.plc.consecutive_reject_limit;
            if limit > 0
                && self.plc.consecutive_rejects >= limit
                && !self.plc.alarm_active(Alarm::ConsecutiveRejects)
            {
                self.raise(Alarm::ConsecutiveRejects, events);
            }
        }
    }

    /// Items still tracked, for the ground truth at shutdown: (item_no, seq).
    pub fn in_flight(&self) -> Vec<(u64, u32)> {
        self.items.iter().map(|i| (i.item_no, i.seq)).collect()
    }

    /// Fault specs currently set.
    pub fn fault_specs(&self) -> BTreeMap<FaultKind, FaultSpec> {
        self.faults.specs().clone()
    }
}
