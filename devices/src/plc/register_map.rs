//! The station PLC's Modbus/TCP register map: every address, every code, and the
//! pure encode/decode of register blocks. Both sides use this module: the PLC
//! driver (`LineIo` over Modbus) and the simulated PLC in `serialstation-simulator`.
//!
//! Layout (all addresses are 0-based wire addresses; u32 values span two registers,
//! high word first):
//! - **Input registers** (FC4, read-only): the status block at 0..[`STATUS_BLOCK_LEN`]
//!   and the fate ring at [`FATE_RING_START`].
//! - **Holding registers** (FC3 read, FC6/FC16 write): the control block at
//!   0..[`CONTROL_BLOCK_LEN`] and the verdict ring at [`VERDICT_RING_START`].
//! - Coils and discrete inputs are not served (Modbus exception 01).
//!
//! The table in `devices/README.md` documents the same map for integrators.
//! Nothing here does I/O.

use std::fmt;

/// Version of this register layout, served at input register [`IR_MAP_VERSION`].
pub const MAP_VERSION: u16 = 1;

/// Largest number of registers one FC3/FC4 read may ask for (Modbus limit).
pub const MAX_READ_REGISTERS: u16 = 125;
/// Largest number of registers one FC16 write may carry (Modbus limit).
pub const MAX_WRITE_REGISTERS: u16 = 123;

// ---------------------------------------------------------------------------
// Input registers (FC4): status block
// ---------------------------------------------------------------------------

/// IR 0: register-map version ([`MAP_VERSION`]).
pub const IR_MAP_VERSION: u16 = 0;
/// IR 1: PLC heartbeat, +1 (wrapping) every PLC scan cycle; a frozen value means a dead PLC program.
pub const IR_HEARTBEAT: u16 = 1;
/// IR 2: PackML `StateCurrent` (0..=17), see [`PackMlState`].
pub const IR_LINE_STATE: u16 = 2;
/// IR 3: alarm bits, see [`AlarmBits`].
pub const IR_ALARMS: u16 = 3;
/// IR 4-5: items detected at product detect (u32). The next item gets `seq` = this value.
pub const IR_ITEMS_DETECTED: u16 = 4;
/// IR 6-7: items triggered at the camera (u32): every `seq` below it (wrapping) has been triggered.
pub const IR_CAMERA_TRIGGER_COUNT: u16 = 6;
/// IR 8-9: gate count (u32): every `seq` below it (wrapping) has its **final** fate
/// (exited good, or rejected and confirmed or not) in the fate ring. It stops at the
/// first item whose fate is still open (e.g. a reject waiting for its confirm window),
/// even if later items are already decided. The driver reports fates up to it.
pub const IR_GATE_COUNT: u16 = 8;
/// IR 10-11: good-exit count (u32).
pub const IR_GOOD_EXIT_COUNT: u16 = 10;
/// IR 12-13: rejects fired at the gate (u32).
pub const IR_REJECT_FIRED_COUNT: u16 = 12;
/// IR 14-15: rejects seen by the reject-confirm sensor (u32).
pub const IR_REJECT_CONFIRMED_COUNT: u16 = 14;
/// IR 16-17: encoder count (u32, wrapping).
pub const IR_ENCODER_COUNT: u16 = 16;
/// IR 18: line speed in items per minute.
pub const IR_LINE_SPEED: u16 = 18;
/// IR 19: current run of consecutive rejects.
pub const IR_CONSECUTIVE_REJECTS: u16 = 19;
/// IR 20-21: fates written to the fate ring so far (u32, wrapping). Fates are
/// written as soon as they are final, so possibly out of seq order (a good item
/// can exit while an earlier reject waits for its confirm window).
pub const IR_FATE_WRITE_COUNT: u16 = 20;
/// Length of the status block (IR 0..STATUS_BLOCK_LEN): read it in one request for a consistent snapshot.
pub const STATUS_BLOCK_LEN: u16 = 22;

/// IR 1000..: the fate ring, [`FATE_RING_SLOTS`] slots of [`SLOT_LEN`] registers.
pub const FATE_RING_START: u16 = 1000;
/// Number of slots in the fate ring; slot = seq mod FATE_RING_SLOTS.
pub const FATE_RING_SLOTS: u16 = 256;

// ---------------------------------------------------------------------------
// Holding registers (FC3/FC6/FC16): control block and verdict ring
// ---------------------------------------------------------------------------

/// HR 0: PackML `CntrlCmd` (write 1..=9, see [`PackMlCommand`]); the PLC executes it
/// and sets the register back to 0. Any other value: exception 03.
pub const HR_COMMAND: u16 = 0;
/// HR 1: consecutive-reject limit (1..=1000; other values: exception 03). Default 5.
pub const HR_CONSECUTIVE_REJECT_LIMIT: u16 = 1;
/// HR 2: controller heartbeat, written by the controller (any value); the PLC only stores it.
pub const HR_CONTROLLER_HEARTBEAT: u16 = 2;
/// Length of the control block (HR 0..CONTROL_BLOCK_LEN).
pub const CONTROL_BLOCK_LEN: u16 = 3;
/// Allowed range of [`HR_CONSECUTIVE_REJECT_LIMIT`].
pub const CONSECUTIVE_REJECT_LIMIT_RANGE: std::ops::RangeInclusive<u16> = 1..=1000;
/// Consecutive-reject limit a PLC starts with.
pub const DEFAULT_CONSECUTIVE_REJECT_LIMIT: u16 = 5;

/// HR 100..: the verdict ring, [`VERDICT_RING_SLOTS`] slots of [`SLOT_LEN`] registers.
pub const VERDICT_RING_START: u16 = 100;
/// Number of slots in the verdict ring; slot = seq mod VERDICT_RING_SLOTS.
pub const VERDICT_RING_SLOTS: u16 = 256;

/// Registers per ring slot (verdict and fate): seq high word, seq low word, code.
pub const SLOT_LEN: u16 = 3;

/// Splits a u32 into (high word, low word).
pub fn u32_to_words(value: u32) -> [u16; 2] {
    [(value >> 16) as u16, value as u16]
}

/// Joins (high word, low word) into a u32.
pub fn u32_from_words(high: u16, low: u16) -> u32 {
    (u32::from(high) << 16) | u32::from(low)
}

/// Wire address of the verdict slot that holds `seq`.
pub fn verdict_slot_address(seq: u32) -> u16 {
    VERDICT_RING_START + (seq % u32::from(VERDICT_RING_SLOTS)) as u16 * SLOT_LEN
}

/// Wire address of the fate slot that holds `seq`.
pub fn fate_slot_address(seq: u32) -> u16 {
    FATE_RING_START + (seq % u32::from(FATE_RING_SLOTS)) as u16 * SLOT_LEN
}

/// One past the last verdict-ring address.
pub const VERDICT_RING_END: u16 = VERDICT_RING_START + VERDICT_RING_SLOTS * SLOT_LEN;
/// One past the last fate-ring address.
pub const FATE_RING_END: u16 = FATE_RING_START + FATE_RING_SLOTS * SLOT_LEN;

/// What is wrong with a register block, as a decoder or a PLC sees it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegisterMapError {
    #[error("expected {expected} registers, got {got}: read the whole block in one request")]
    WrongLength { expected: usize, got: usize },
    #[error(
        "register-map version {0} is not supported (this build speaks version {MAP_VERSION}); update the PLC program or the controller"
    )]
    UnsupportedVersion(u16),
    #[error("line state {0} is not a PackML StateCurrent (0 to 17)")]
    BadState(u16),
    #[error("{0} is not a PackML CntrlCmd (1 to 9)")]
    BadCommand(u16),
    #[error("verdict code {0} is unknown (0 none, 1 good, 2 reject)")]
    BadVerdict(u16),
    #[error(
        "fate code {0} is unknown (0 none, 1 exited_good, 2 rejected_confirmed, 3 rejected_unconfirmed)"
    )]
    BadFate(u16),
    #[error("consecutive-reject limit {0} is outside 1 to 1000")]
    BadRejectLimit(u16),
    #[error("case packer: {what} {value} is not a known code")]
    BadCaseCode { what: &'static str, value: u16 },
}

/// Modbus exception a PLC answers with, as this map prescribes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapException {
    /// 01: function not served (coils, discrete inputs, FC4 writes, ...).
    IllegalFunction,
    /// 02: address range outside the map, a write to a read-only block, or a partial ring slot.
    IllegalDataAddress,
    /// 03: a value the register does not accept.
    IllegalDataValue,
}

impl MapException {
    /// The Modbus exception code on the wire.
    pub fn code(self) -> u8 {
        match self {
            MapException::IllegalFunction => 1,
            MapException::IllegalDataAddress => 2,
            MapException::IllegalDataValue => 3,
        }
    }
}

// ---------------------------------------------------------------------------
// PackML
// ---------------------------------------------------------------------------

/// PackML `StateCurrent` numbers (ISA-TR88.00.02).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[repr(u16)]
pub enum PackMlState {
    Undefined = 0,
    Clearing = 1,
    Stopped = 2,
    Starting = 3,
    Idle = 4,
    Suspended = 5,
    Execute = 6,
    Stopping = 7,
    Aborting = 8,
    Aborted = 9,
    Holding = 10,
    Held = 11,
    Unholding = 12,
    Suspending = 13,
    Unsuspending = 14,
    Resetting = 15,
    Completing = 16,
    Complete = 17,
}

impl PackMlState {
    /// Every state, in numeric order.
    pub const ALL: [PackMlState; 18] = [
        PackMlState::Undefined,
        PackMlState::Clearing,
        PackMlState::Stopped,
        PackMlState::Starting,
        PackMlState::Idle,
        PackMlState::Suspended,
        PackMlState::Execute,
        PackMlState::Stopping,
        PackMlState::Aborting,
        PackMlState::Aborted,
        PackMlState::Holding,
        PackMlState::Held,
        PackMlState::Unholding,
        PackMlState::Suspending,
        PackMlState::Unsuspending,
        PackMlState::Resetting,
        PackMlState::Completing,
        PackMlState::Complete,
    ];

    pub fn from_u16(value: u16) -> Result<Self, RegisterMapError> {
        Self::ALL
            .get(usize::from(value))
            .copied()
            .ok_or(RegisterMapError::BadState(value))
    }

    pub fn to_u16(self) -> u16 {
        self as u16
    }

    /// True while the conveyor moves product (Execute).
    pub fn is_producing(self) -> bool {
        self == PackMlState::Execute
    }
}

impl fmt::Display for PackMlState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self:?}")
    }
}

/// PackML `CntrlCmd` numbers (ISA-TR88.00.02).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[repr(u16)]
pub enum PackMlCommand {
    Reset = 1,
    Start = 2,
    Stop = 3,
    Hold = 4,
    Unhold = 5,
    Suspend = 6,
    Unsuspend = 7,
    Abort = 8,
    Clear = 9,
}

impl PackMlCommand {
    /// Every command, in numeric order.
    pub const ALL: [PackMlCommand; 9] = [
        PackMlCommand::Reset,
        PackMlCommand::Start,
        PackMlCommand::Stop,
        PackMlCommand::Hold,
        PackMlCommand::Unhold,
        PackMlCommand::Suspend,
        PackMlCommand::Unsuspend,
        PackMlCommand::Abort,
        PackMlCommand::Clear,
    ];

    pub fn from_u16(value: u16) -> Result<Self, RegisterMapError> {
        match value {
            1..=9 => Ok(Self::ALL[usize::from(value - 1)]),
            other => Err(RegisterMapError::BadCommand(other)),
        }
    }

    pub fn to_u16(self) -> u16 {
        self as u16
    }
}

impl fmt::Display for PackMlCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self:?}")
    }
}

// ---------------------------------------------------------------------------
// Alarms
// ---------------------------------------------------------------------------

/// Alarm bits at [`IR_ALARMS`]. Alarms latch; PackML Reset clears those whose cause is gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct AlarmBits(pub u16);

impl AlarmBits {
    /// Bit 0: a rejected item was not seen by the reject-confirm sensor within its window.
    pub const REJECT_NOT_CONFIRMED: u16 = 1 << 0;
    /// Bit 1: the reject bin is full.
    pub const BIN_FULL: u16 = 1 << 1;
    /// Bit 2: the reject bin door is open.
    pub const BIN_DOOR_OPEN: u16 = 1 << 2;
    /// Bit 3: the consecutive-reject limit was reached.
    pub const CONSECUTIVE_REJECTS: u16 = 1 << 3;
    /// Bit 4: line jam.
    pub const JAM: u16 = 1 << 4;
    /// Every defined bit; the others read 0.
    pub const DEFINED: u16 = 0b1_1111;

    /// Each defined alarm with its name, for messages.
    pub const NAMES: [(u16, &'static str); 5] = [
        (Self::REJECT_NOT_CONFIRMED, "reject not confirmed"),
        (Self::BIN_FULL, "reject bin full"),
        (Self::BIN_DOOR_OPEN, "reject bin door open"),
        (
            Self::CONSECUTIVE_REJECTS,
            "consecutive-reject limit reached",
        ),
        (Self::JAM, "line jam"),
    ];

    pub fn contains(self, bit: u16) -> bool {
        self.0 & bit != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Names of the raised alarms (undefined bits are reported as `bit N`).
    pub fn names(self) -> Vec<String> {
        (0..16)
            .filter(|bit| self.0 & (1 << bit) != 0)
            .map(|bit| {
                Self::NAMES
                    .iter()
                    .find(|(mask, _)| *mask == 1 << bit)
                    .map(|(_, name)| (*name).to_string())
                    .unwrap_or_else(|| format!("bit {bit}"))
            })
            .collect()
    }
}

// ---------------------------------------------------------------------------
// Status block
// ---------------------------------------------------------------------------

/// One consistent snapshot of the status block (IR 0..STATUS_BLOCK_LEN).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineStatus {
    pub heartbeat: u16,
    pub state: PackMlState,
    pub alarms: AlarmBits,
    pub items_detected: u32,
    pub camera_trigger_count: u32,
    pub gate_count: u32,
    pub good_exit_count: u32,
    pub reject_fired_count: u32,
    pub reject_confirmed_count: u32,
    pub encoder_count: u32,
    pub line_speed_per_min: u16,
    pub consecutive_rejects: u16,
    pub fate_write_count: u32,
}

impl LineStatus {
    /// Registers of the status block, as the PLC serves them.
    pub fn encode(&self) -> [u16; STATUS_BLOCK_LEN as usize] {
        let mut regs = [0u16; STATUS_BLOCK_LEN as usize];
        let mut put32 = |at: u16, value: u32| {
            let [hi, lo] = u32_to_words(value);
            regs[usize::from(at)] = hi;
            regs[usize::from(at) + 1] = lo;
        };
        put32(IR_ITEMS_DETECTED, self.items_detected);
        put32(IR_CAMERA_TRIGGER_COUNT, self.camera_trigger_count);
        put32(IR_GATE_COUNT, self.gate_count);
        put32(IR_GOOD_EXIT_COUNT, self.good_exit_count);
        put32(IR_REJECT_FIRED_COUNT, self.reject_fired_count);
        put32(IR_REJECT_CONFIRMED_COUNT, self.reject_confirmed_count);
        put32(IR_ENCODER_COUNT, self.encoder_count);
        put32(IR_FATE_WRITE_COUNT, self.fate_write_count);
        regs[usize::from(IR_MAP_VERSION)] = MAP_VERSION;
        regs[usize::from(IR_HEARTBEAT)] = self.heartbeat;
        regs[usize::from(IR_LINE_STATE)] = self.state.to_u16();
        regs[usize::from(IR_ALARMS)] = self.alarms.0;
        regs[usize::from(IR_LINE_SPEED)] = self.line_speed_per_min;
        regs[usize::from(IR_CONSECUTIVE_REJECTS)] = self.consecutive_rejects;
        regs
    }

    /// Decodes the whole status block (exactly [`STATUS_BLOCK_LEN`] registers from IR 0).
    pub fn decode(regs: &[u16]) -> Result<Self, RegisterMapError> {
        if regs.len() != usize::from(STATUS_BLOCK_LEN) {
            return Err(RegisterMapError::WrongLength {
                expected: usize::from(STATUS_BLOCK_LEN),
                got: regs.len(),
            });
        }
        let get32 = |at: u16| u32_from_words(regs[usize::from(at)], regs[usize::from(at) + 1]);
        let version = regs[usize::from(IR_MAP_VERSION)];
        if version != MAP_VERSION {
            return Err(RegisterMapError::UnsupportedVersion(version));
        }
        Ok(LineStatus {
            heartbeat: regs[usize::from(IR_HEARTBEAT)],
            state: PackMlState::from_u16(regs[usize::from(IR_LINE_STATE)])?,
            alarms: AlarmBits(regs[usize::from(IR_ALARMS)]),
            items_detected: get32(IR_ITEMS_DETECTED),
            camera_trigger_count: get32(IR_CAMERA_TRIGGER_COUNT),
            gate_count: get32(IR_GATE_COUNT),
            good_exit_count: get32(IR_GOOD_EXIT_COUNT),
            reject_fired_count: get32(IR_REJECT_FIRED_COUNT),
            reject_confirmed_count: get32(IR_REJECT_CONFIRMED_COUNT),
            encoder_count: get32(IR_ENCODER_COUNT),
            line_speed_per_min: regs[usize::from(IR_LINE_SPEED)],
            consecutive_rejects: regs[usize::from(IR_CONSECUTIVE_REJECTS)],
            fate_write_count: get32(IR_FATE_WRITE_COUNT),
        })
    }
}

// ---------------------------------------------------------------------------
// Verdict and fate rings
// ---------------------------------------------------------------------------

/// Verdict codes in the verdict ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum VerdictCode {
    /// 0: slot never written (an empty slot means reject).
    None = 0,
    /// 1: release the item to the good exit.
    Good = 1,
    /// 2: reject the item.
    Reject = 2,
}

impl VerdictCode {
    pub fn from_u16(value: u16) -> Result<Self, RegisterMapError> {
        match value {
            0 => Ok(VerdictCode::None),
            1 => Ok(VerdictCode::Good),
            2 => Ok(VerdictCode::Reject),
            other => Err(RegisterMapError::BadVerdict(other)),
        }
    }
}

/// Fate codes in the fate ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum FateCode {
    /// 0: slot never written.
    None = 0,
    /// 1: the item left through the good exit.
    ExitedGood = 1,
    /// 2: the item was rejected and the reject-confirm sensor saw it.
    RejectedConfirmed = 2,
    /// 3: the item was rejected but never seen by the reject-confirm sensor (the line stops).
    RejectedUnconfirmed = 3,
}

impl FateCode {
    pub fn from_u16(value: u16) -> Result<Self, RegisterMapError> {
        match value {
            0 => Ok(FateCode::None),
            1 => Ok(FateCode::ExitedGood),
            2 => Ok(FateCode::RejectedConfirmed),
            3 => Ok(FateCode::RejectedUnconfirmed),
            other => Err(RegisterMapError::BadFate(other)),
        }
    }
}

/// One verdict-ring slot: the item's seq and the verdict for it. The PLC honours
/// a GOOD only when the slot's seq equals the item's seq, so a stale slot from
/// `seq - VERDICT_RING_SLOTS` is never mistaken for a fresh one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerdictSlot {
    pub seq: u32,
    pub verdict: VerdictCode,
}

impl VerdictSlot {
    pub fn encode(&self) -> [u16; SLOT_LEN as usize] {
        let [hi, lo] = u32_to_words(self.seq);
        [hi, lo, self.verdict as u16]
    }

    pub fn decode(regs: &[u16]) -> Result<Self, RegisterMapError> {
        match regs {
            [hi, lo, code] => Ok(VerdictSlot {
                seq: u32_from_words(*hi, *lo),
                verdict: VerdictCode::from_u16(*code)?,
            }),
            _ => Err(RegisterMapError::WrongLength {
                expected: usize::from(SLOT_LEN),
                got: regs.len(),
            }),
        }
    }

    /// True when this slot releases item `seq` to the good exit.
    pub fn releases(&self, seq: u32) -> bool {
        self.seq == seq && self.verdict == VerdictCode::Good
    }
}

/// One fate-ring slot: an item's seq and what happened to it at the gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FateSlot {
    pub seq: u32,
    pub fate: FateCode,
}

impl FateSlot {
    pub fn encode(&self) -> [u16; SLOT_LEN as usize] {
        let [hi, lo] = u32_to_words(self.seq);
        [hi, lo, self.fate as u16]
    }

    pub fn decode(regs: &[u16]) -> Result<Self, RegisterMapError> {
        match regs {
            [hi, lo, code] => Ok(FateSlot {
                seq: u32_from_words(*hi, *lo),
                fate: FateCode::from_u16(*code)?,
            }),
            _ => Err(RegisterMapError::WrongLength {
                expected: usize::from(SLOT_LEN),
                got: regs.len(),
            }),
        }
    }
}

/// Decodes a run of whole ring slots (fate or verdict ring registers).
pub fn decode_fate_slots(regs: &[u16]) -> Result<Vec<FateSlot>, RegisterMapError> {
    if !regs.len().is_multiple_of(usize::from(SLOT_LEN)) {
        return Err(RegisterMapError::WrongLength {
            expected: regs.len() - regs.len() % usize::from(SLOT_LEN),
            got: regs.len(),
        });
    }
    regs.chunks_exact(usize::from(SLOT_LEN))
        .map(FateSlot::decode)
        .collect()
}

// ---------------------------------------------------------------------------
// Access rules (what a PLC must answer), shared by the simulator and the tests
// ---------------------------------------------------------------------------

/// Checks an FC4 read of input registers: only inside the status block or the fate ring.
pub fn check_input_read(start: u16, count: u16) -> Result<(), MapException> {
    check_read_in(
        start,
        count,
        &[(0, STATUS_BLOCK_LEN), (FATE_RING_START, FATE_RING_END)],
    )
}

/// Checks an FC3 read of holding registers: only inside the control block or the verdict ring.
pub fn check_holding_read(start: u16, count: u16) -> Result<(), MapException> {
    check_read_in(
        start,
        count,
        &[
            (0, CONTROL_BLOCK_LEN),
            (VERDICT_RING_START, VERDICT_RING_END),
        ],
    )
}

fn check_read_in(start: u16, count: u16, blocks: &[(u16, u16)]) -> Result<(), MapException> {
    if count == 0 || count > MAX_READ_REGISTERS {
        return Err(MapException::IllegalDataValue);
    }
    let end = u32::from(start) + u32::from(count);
    if blocks
        .iter()
        .any(|(lo, hi)| start >= *lo && end <= u32::from(*hi))
    {
        Ok(())
    } else {
        Err(MapException::IllegalDataAddress)
    }
}

/// A validated write to holding registers, ready for the PLC to apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HoldingWrite {
    Command(PackMlCommand),
    ConsecutiveRejectLimit(u16),
    ControllerHeartbeat(u16),
    Verdict(VerdictSlot),
}

/// Validates an FC6/FC16 write of `values` at `start` and turns it into typed writes.
/// Rules: the control block accepts any sub-range with valid values; the verdict ring
/// accepts whole slots only (start on a slot boundary, a multiple of 3 registers) with
/// code 1 or 2; anything else is exception 02 (address) or 03 (value). Nothing is applied
/// unless the whole request is valid.
pub fn check_holding_write(start: u16, values: &[u16]) -> Result<Vec<HoldingWrite>, MapException> {
    if values.is_empty() || values.len() > usize::from(MAX_WRITE_REGISTERS) {
        return Err(MapException::IllegalDataValue);
    }
    let end = u32::from(start) + values.len() as u32;
    if end <= u32::from(CONTROL_BLOCK_LEN) {
        return values
            .iter()
            .enumerate()
            .map(|(offset, value)| control_write(start + offset as u16, *value))
            .collect();
    }
    if start >= VERDICT_RING_START && end <= u32::from(VERDICT_RING_END) {
        if !(start - VERDICT_RING_START).is_multiple_of(SLOT_LEN)
            || !values.len().is_multiple_of(usize::from(SLOT_LEN))
        {
            return Err(MapException::IllegalDataAddress);
        }
        return values
            .chunks_exact(usize::from(SLOT_LEN))
            .enumerate()
            .map(|(index, chunk)| {
                let slot =
                    VerdictSlot::decode(chunk).map_err(|_| MapException::IllegalDataValue)?;
                let address = start + index as u16 * SLOT_LEN;
                if slot.verdict == VerdictCode::None || verdict_slot_address(slot.seq) != address {
                    return Err(MapException::IllegalDataValue);
                }
                Ok(HoldingWrite::Verdict(slot))
            })
            .collect();
    }
    Err(MapException::IllegalDataAddress)
}

fn control_write(address: u16, value: u16) -> Result<HoldingWrite, MapException> {
    match address {
        HR_COMMAND => PackMlCommand::from_u16(value)
            .map(HoldingWrite::Command)
            .map_err(|_| MapException::IllegalDataValue),
        HR_CONSECUTIVE_REJECT_LIMIT if CONSECUTIVE_REJECT_LIMIT_RANGE.contains(&value) => {
            Ok(HoldingWrite::ConsecutiveRejectLimit(value))
        }
        HR_CONSECUTIVE_REJECT_LIMIT => Err(MapException::IllegalDataValue),
        HR_CONTROLLER_HEARTBEAT => Ok(HoldingWrite::ControllerHeartbeat(value)),
        _ => Err(MapException::IllegalDataAddress),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip_high_word_first() {
        assert_eq!(u32_to_words(0x0001_2345), [0x0001, 0x2345]);
        assert_eq!(u32_from_words(0x0001, 0x2345), 74_565);
    }

    #[test]
    fn slot_addresses_wrap() {
        assert_eq!(verdict_slot_address(0), 100);
        assert_eq!(verdict_slot_address(1), 103);
        assert_eq!(verdict_slot_address(256), 100);
        assert_eq!(verdict_slot_address(u32::MAX), 100 + 255 * 3);
        assert_eq!(fate_slot_address(257), 1003);
        assert_eq!(VERDICT_RING_END, 868);
        assert_eq!(FATE_RING_END, 1768);
    }

    #[test]
    fn status_round_trip() {
        let status = LineStatus {
            heartbeat: 7,
            state: PackMlState::Execute,
            alarms: AlarmBits(AlarmBits::BIN_FULL | AlarmBits::JAM),
            items_detected: 70_000,
            camera_trigger_count: 69_998,
            gate_count: 69_990,
            good_exit_count: 69_000,
            reject_fired_count: 990,
            reject_confirmed_count: 989,
            encoder_count: u32::MAX - 3,
            line_speed_per_min: 600,
            consecutive_rejects: 2,
            fate_write_count: 69_990,
        };
        let regs = status.encode();
        assert_eq!(regs[0], MAP_VERSION);
        assert_eq!(&regs[4..6], &[0x0001, 0x1170]);
        assert_eq!(LineStatus::decode(&regs), Ok(status));
        assert_eq!(status.alarms.names(), vec!["reject bin full", "line jam"]);
    }

    #[test]
    fn stale_slot_never_releases() {
        let slot = VerdictSlot {
            seq: 5,
            verdict: VerdictCode::Good,
        };
        assert!(slot.releases(5));
        assert!(!slot.releases(5 + 256));
        assert_eq!(VerdictSlot::decode(&slot.encode()), Ok(slot));
    }

    #[test]
    fn access_rules() {
        assert_eq!(check_input_read(0, STATUS_BLOCK_LEN), Ok(()));
        assert_eq!(
            check_input_read(0, STATUS_BLOCK_LEN + 1),
            Err(MapException::IllegalDataAddress)
        );
        assert_eq!(check_input_read(FATE_RING_START, 123), Ok(()));
        assert_eq!(
            check_input_read(FATE_RING_END - 1, 2),
            Err(MapException::IllegalDataAddress)
        );
        assert_eq!(
            check_input_read(0, 126),
            Err(MapException::IllegalDataValue)
        );
        assert_eq!(check_holding_read(VERDICT_RING_START, 3), Ok(()));
        assert_eq!(
            check_holding_read(50, 1),
            Err(MapException::IllegalDataAddress)
        );
        assert_eq!(
            check_holding_write(HR_COMMAND, &[2]),
            Ok(vec![HoldingWrite::Command(PackMlCommand::Start)])
        );
        assert_eq!(
            check_holding_write(HR_COMMAND, &[10]),
            Err(MapException::IllegalDataValue)
        );
        assert_eq!(
            check_holding_write(HR_CONSECUTIVE_REJECT_LIMIT, &[0]),
            Err(MapException::IllegalDataValue)
        );
        assert_eq!(
            check_holding_write(103, &[0, 1, 1]),
            Ok(vec![HoldingWrite::Verdict(VerdictSlot {
                seq: 1,
                verdict: VerdictCode::Good
            })])
        );
        assert_eq!(
            check_holding_write(103, &[0, 2, 1]),
            Err(MapException::IllegalDataValue)
        );
        assert_eq!(
            check_holding_write(104, &[0, 1, 1]),
            Err(MapException::IllegalDataAddress)
        );
        assert_eq!(
            check_holding_write(103, &[0, 1, 3]),
            Err(MapException::IllegalDataValue)
        );
        assert_eq!(
            check_holding_write(2, &[0, 0]),
            Err(MapException::IllegalDataAddress)
        );
    }
}
