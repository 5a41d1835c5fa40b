//! The PLC's own logic, independent of Modbus: PackML state machine, verdict and
//! fate rings keyed by item sequence number, counters, alarms and live inputs.
//! Pure data and rules; the conveyor model drives it and the Modbus server reads
//! and writes it.

use serde::{Deserialize, Serialize};

pub use serialstation_devices::plc::register_map::{PackMlCommand, PackMlState};

/// The verdict the controller writes for one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Good,
    Reject,
}

/// What finally happened to an item, as the PLC knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fate {
    ExitedGood,
    RejectedConfirmed,
    RejectedUnconfirmed,
}

/// Alarm conditions. Latched alarms stay until a Clear command; live ones follow
/// their input and block Clear while present.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Alarm {
    RejectNotConfirmed,
    BinFull,
    BinDoorOpen,
    ConsecutiveRejects,
    Jam,
}

impl Alarm {
    /// The alarm's bit in the PLC's alarm register (as the register map defines it).
    pub fn bit(self) -> u16 {
        use serialstation_devices::plc::register_map::AlarmBits;
        match self {
            Alarm::RejectNotConfirmed => AlarmBits::REJECT_NOT_CONFIRMED,
            Alarm::BinFull => AlarmBits::BIN_FULL,
            Alarm::BinDoorOpen => AlarmBits::BIN_DOOR_OPEN,
            Alarm::ConsecutiveRejects => AlarmBits::CONSECUTIVE_REJECTS,
            Alarm::Jam => AlarmBits::JAM,
        }
    }

    pub const ALL: [Alarm; 5] = [
        Alarm::RejectNotConfirmed,
        Alarm::BinFull,
        Alarm::BinDoorOpen,
        Alarm::ConsecutiveRejects,
        Alarm::Jam,
    ];
}

/// One slot of a ring keyed by sequence number: which seq it belongs to and a code
/// (0 = empty). A slot only counts for `seq` if its stored seq equals `seq`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SeqSlot {
    pub seq: u32,
    pub code: u16,
}

/// Codes stored in the rings (also the wire codes unless the register map says otherwise).
pub const VERDICT_NONE: u16 = 0;
pub const VERDICT_GOOD: u16 = 1;
pub const VERDICT_REJECT: u16 = 2;
pub const FATE_NONE: u16 = 0;
pub const FATE_EXITED_GOOD: u16 = 1;
pub const FATE_REJECTED_CONFIRMED: u16 = 2;
pub const FATE_REJECTED_UNCONFIRMED: u16 = 3;

pub fn verdict_from_code(code: u16) -> Option<Verdict> {
    match code {
        VERDICT_GOOD => Some(Verdict::Good),
        VERDICT_REJECT => Some(Verdict::Reject),
        _ => None,
    }
}

pub fn fate_code(f: Fate) -> u16 {
    match f {
        Fate::ExitedGood => FATE_EXITED_GOOD,
        Fate::RejectedConfirmed => FATE_REJECTED_CONFIRMED,
        Fate::RejectedUnconfirmed => FATE_REJECTED_UNCONFIRMED,
    }
}

/// The PLC's memory and rules.
#[derive(Debug, Clone)]
pub struct PlcLogic {
    pub state: PackMlState,
    /// Latched alarm bits (register-map bit positions).
    latched: u16,
    pub bin_full_input: bool,
    pub bin_door_open_input: bool,
    pub jam_input: bool,
    pub consecutive_rejects: u16,
    pub consecutive_reject_limit: u16,
    pub controller_heartbeat: u16,
    pub verdicts: Vec<SeqSlot>,
    pub fates: Vec<SeqSlot>,
    /// Counters as the register map defines them; the seq counters start at the
    /// first item's seq, so "every seq below the count" holds from the start.
    pub items_detected: u32,
    pub camera_trigger_count: u32,
    pub gate_count: u32,
    pub good_exit_count: u32,
    pub reject_fired_count: u32,
    pub reject_confirm_count: u32,
    pub fate_write_count: u32,
    pub heartbeat: u16,
    pub bin_level: u32,
    pub bin_capacity: u32,
}

impl PlcLogic {
    pub fn new(
        ring_size: usize,
        consecutive_reject_limit: u16,
        bin_capacity: u32,
        autostart: bool,
        first_seq: u32,
    ) -> PlcLogic {
        PlcLogic {
            state: if autostart {
                PackMlState::Execute
            } else {
                PackMlState::Idle
            },
            latched: 0,
            bin_full_input: false,
            bin_door_open_input: false,
            jam_input: false,
            consecutive_rejects: 0,
            consecutive_reject_limit,
            controller_heartbeat: 0,
            verdicts: vec![SeqSlot::default(); ring_size.max(1)],
            fates: vec![SeqSlot::default(); ring_size.max(1)],
            items_detected: first_seq,
            camera_trigger_count: first_seq,
            gate_count: first_seq,
            good_exit_count: 0,
            reject_fired_count: 0,
            reject_confirm_count: 0,
            fate_write_count: 0,
            heartbeat: 0,
            bin_level: 0,
            bin_capacity,
        }
    }

    pub fn ring_size(&self) -> usize {
        self.verdicts.len()
    }

    pub fn slot_of(&self, seq: u32) -> usize {
        (seq as usize) % self.verdicts.len()
    }

    /// The verdict the PLC holds for `seq` right now (a stale slot counts as none).
    pub fn verdict_for(&self, seq: u32) -> Option<Verdict> {
        let slot = self.verdicts[self.slot_of(seq)];
        if slot.seq == seq {
            verdict_from_code(slot.code)
        } else {
            None
        }
    }

    pub fn record_fate(&mut self, seq: u32, fate: Fate) {
        let i = self.slot_of(seq);
        self.fates[i] = SeqSlot {
            seq,
            code: fate_code(fate),
        };
        self.fate_write_count = self.fate_write_count.wrapping_add(1);
    }

    pub fn fate_for(&self, seq: u32) -> Option<u16> {
        let slot = self.fates[self.slot_of(seq)];
        (slot.seq == seq && slot.code != FATE_NONE).then_some(slot.code)
    }

    fn live_bits(&self) -> u16 {
        let mut bits = 0;
        if self.bin_full_input {
            bits |= Alarm::BinFull.bit();
        }
        if self.bin_door_open_input {
            bits |= Alarm::BinDoorOpen.bit();
        }
        if self.jam_input {
            bits |= Alarm::Jam.bit();
        }
        bits
    }

    /// The alarm register: latched alarms plus live inputs.
    pub fn alarm_bits(&self) -> u16 {
        self.latched | self.live_bits()
    }

    pub fn alarm_active(&self, alarm: Alarm) -> bool {
        self.alarm_bits() & alarm.bit() != 0
    }

    pub fn active_alarms(&self) -> Vec<Alarm> {
        Alarm::ALL
            .into_iter()
            .filter(|a| self.alarm_active(*a))
            .collect()
    }

    /// Latches `alarm` and aborts the line. Returns the previous state when the
    /// state changed.
    pub fn raise(&mut self, alarm: Alarm) -> Option<PackMlState> {
        match alarm {
            Alarm::BinFull => self.bin_full_input = true,
            Alarm::BinDoorOpen => self.bin_door_open_input = true,
            Alarm::Jam => self.jam_input = true,
            Alarm::RejectNotConfirmed | Alarm::ConsecutiveRejects => {}
        }
        self.latched |= alarm.bit();
        let before = self.state;
        if before == PackMlState::Aborted {
            return None;
        }
        self.state = PackMlState::Aborted;
        Some(before)
    }

    /// Drops latched alarms whose cause is gone (Clear and Reset do this).
    fn clear_resolved(&mut self) {
        self.latched &= self.live_bits();
        self.consecutive_rejects = 0;
    }

    /// Applies a PackML command. Returns the new state if it was accepted, `None`
    /// when the command is not valid in the current state (ignored, as PackML does).
    /// Transient states (Resetting, Starting, ...) complete within the command.
    pub fn command(&mut self, cmd: PackMlCommand) -> Option<PackMlState> {
        use PackMlState::*;
        let next = match (cmd, self.state) {
            (PackMlCommand::Abort, Aborted) => return None,
            (PackMlCommand::Abort, _) => Aborted,
            (PackMlCommand::Clear, Aborted) => {
                self.clear_resolved();
                Stopped
            }
            (PackMlCommand::Reset, Stopped | Complete) => {
                self.clear_resolved();
                Idle
            }
            (PackMlCommand::Start, Idle) => {
                if self.alarm_bits() != 0 {
                    return None;
                }
                Execute
            }
            (PackMlCommand::Stop, Idle | Execute | Held | Suspended | Complete) => Stopped,
            (PackMlCommand::Hold, Execute) => Held,
            (PackMlCommand::Unhold, Held) => Execute,
            (PackMlCommand::Suspend, Execute) => Suspended,
            (PackMlCommand::Unsuspend, Suspended) => Execute,
            _ => return None,
        };
        self.state = next;
        Some(next)
    }

    pub fn running(&self) -> bool {
        self.state == PackMlState::Execute
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_slot_is_no_verdict() {
        let mut p = PlcLogic::new(8, 3, 10, false, 0);
        let i = p.slot_of(3);
        p.verdicts[i] = SeqSlot {
            seq: 3,
            code: VERDICT_GOOD,
        };
        assert_eq!(p.verdict_for(3), Some(Verdict::Good));
        assert_eq!(
            p.verdict_for(11),
            None,
            "seq 11 shares the slot but is not seq 3"
        );
    }

    #[test]
    fn packml_cycle() {
        let mut p = PlcLogic::new(8, 3, 10, false, 0);
        assert_eq!(p.state, PackMlState::Idle);
        assert_eq!(p.command(PackMlCommand::Start), Some(PackMlState::Execute));
        assert_eq!(p.command(PackMlCommand::Reset), None);
        p.raise(Alarm::RejectNotConfirmed);
        assert_eq!(p.state, PackMlState::Aborted);
        assert_eq!(p.command(PackMlCommand::Start), None);
        assert_eq!(p.command(PackMlCommand::Clear), Some(PackMlState::Stopped));
        assert!(p.active_alarms().is_empty());
        assert_eq!(p.command(PackMlCommand::Reset), Some(PackMlState::Idle));
        p.raise(Alarm::BinFull);
        assert_eq!(p.command(PackMlCommand::Clear), Some(PackMlState::Stopped));
        assert_eq!(p.command(PackMlCommand::Reset), Some(PackMlState::Idle));
        assert_eq!(p.command(PackMlCommand::Start), None, "bin still full");
        p.bin_full_input = false;
        assert_eq!(p.command(PackMlCommand::Reset), None, "already idle");
        p.command(PackMlCommand::Stop);
        assert_eq!(p.command(PackMlCommand::Reset), Some(PackMlState::Idle));
        assert_eq!(p.command(PackMlCommand::Start), Some(PackMlState::Execute));
    }
}
