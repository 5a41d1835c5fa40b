//! The case packer's block of the PLC register map, pure: where the PLC counts
//! good packs into cases, where a closed case waits at the case station for its
//! decision, and the command that sends it on. Same conventions as
//! [`super::register_map`] (0-based wire addresses, u32 high word first); the
//! table is in `devices/README.md`, "Case packer block".
//!
//! The PLC counts every pack leaving the reject gate's good exit into the case
//! being filled; a full case (or the one the controller closes early) moves to
//! the case station and waits there, described by its number, the index of its
//! first pack (packs counted into cases since the batch began, from 0) and its
//! pack count. The controller answers with one FC16 write of the command block:
//! release the case to the good exit, or divert it to the rework lane. The PLC
//! acts on a command only when its case number is the waiting case's, so a
//! command written twice (after a controller restart) does nothing the second
//! time. Nothing here does I/O.

use super::register_map::{RegisterMapError, u32_from_words, u32_to_words};

/// IR 30: 1 while a closed case waits at the case station, else 0.
pub const IR_CASE_WAITING: u16 = 30;
/// IR 31-32: the waiting case's number (u32, from 1 in the batch).
pub const IR_CASE_NUMBER: u16 = 31;
/// IR 33-34: index of the waiting case's first pack (u32, from 0 in the batch).
pub const IR_CASE_FIRST_PACK: u16 = 33;
/// IR 35: packs in the waiting case.
pub const IR_CASE_PACKS: u16 = 35;
/// IR 36: packs counted into the case being filled.
pub const IR_CASE_FILLING: u16 = 36;
/// IR 37-38: cases released to the good exit (u32).
pub const IR_CASES_RELEASED: u16 = 37;
/// IR 39-40: cases diverted to the rework lane (u32).
pub const IR_CASES_REWORKED: u16 = 39;
/// Start of the case packer's input block.
pub const CASE_STATUS_START: u16 = IR_CASE_WAITING;
/// Length of the case packer's input block: read it in one request.
pub const CASE_STATUS_LEN: u16 = 11;

/// HR 10: case command (see [`CaseCommand`]); the PLC sets it back to 0.
pub const HR_CASE_COMMAND: u16 = 10;
/// HR 11-12: the case number the command is for (ignored by `CloseNow`).
pub const HR_CASE_COMMAND_CASE: u16 = 11;
/// HR 13: packs per full case (1..=1000), written by the controller at start.
pub const HR_CASE_CAPACITY: u16 = 13;
/// Length of the command block (HR 10..13): written in one FC16 write.
pub const CASE_COMMAND_LEN: u16 = 3;
/// Allowed packs per case.
pub const CASE_CAPACITY_RANGE: std::ops::RangeInclusive<u16> = 1..=1000;

/// What the controller tells the case packer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseCommand {
    /// 1: the waiting case is verified and labelled: on to the good exit.
    Release,
    /// 2: the waiting case goes to the rework lane.
    Rework,
    /// 3: close the case being filled now, below capacity (batch end).
    CloseNow,
}

impl CaseCommand {
    pub fn to_u16(self) -> u16 {
        match self {
            CaseCommand::Release => 1,
            CaseCommand::Rework => 2,
            CaseCommand::CloseNow => 3,
        }
    }

    pub fn from_u16(value: u16) -> Result<CaseCommand, RegisterMapError> {
        match value {
            1 => Ok(CaseCommand::Release),
            2 => Ok(CaseCommand::Rework),
            3 => Ok(CaseCommand::CloseNow),
            other => Err(RegisterMapError::BadCaseCode {
                what: "case command",
                value: other,
            }),
        }
    }

    /// The command block's three registers for `case`.
    pub fn encode(self, case: u32) -> [u16; CASE_COMMAND_LEN as usize] {
        let [high, low] = u32_to_words(case);
        [self.to_u16(), high, low]
    }
}

/// The closed case waiting at the case station.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitingCase {
    pub number: u32,
    pub first_pack: u32,
    pub packs: u16,
}

/// The case packer's input block.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CasePackerStatus {
    pub waiting: Option<WaitingCase>,
    pub filling: u16,
    pub released: u32,
    pub reworked: u32,
}

impl CasePackerStatus {
    pub fn encode(&self) -> [u16; CASE_STATUS_LEN as usize] {
        let waiting = self.waiting.unwrap_or(WaitingCase {
            number: 0,
            first_pack: 0,
            packs: 0,
        });
        let [nh, nl] = u32_to_words(waiting.number);
        let [fh, fl] = u32_to_words(waiting.first_pack);
        let [rh, rl] = u32_to_words(self.released);
        let [wh, wl] = u32_to_words(self.reworked);
        [
            u16::from(self.waiting.is_some()),
            nh,
            nl,
            fh,
            fl,
            waiting.packs,
            self.filling,
            rh,
            rl,
            wh,
            wl,
        ]
    }

    pub fn decode(regs: &[u16]) -> Result<CasePackerStatus, RegisterMapError> {
        if regs.len() != CASE_STATUS_LEN as usize {
            return Err(RegisterMapError::WrongLength {
                expected: CASE_STATUS_LEN as usize,
                got: regs.len(),
            });
        }
        let waiting = match regs[0] {
            0 => None,
            1 => Some(WaitingCase {
                number: u32_from_words(regs[1], regs[2]),
                first_pack: u32_from_words(regs[3], regs[4]),
                packs: regs[5],
            }),
            other => {
                return Err(RegisterMapError::BadCaseCode {
                    what: "case waiting flag",
                    value: other,
                });
            }
        };
        Ok(CasePackerStatus {
            waiting,
            filling: regs[6],
            released: u32_from_words(regs[7], regs[8]),
            reworked: u32_from_words(regs[9], regs[10]),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_block_round_trips() {
        let status = CasePackerStatus {
            waiting: Some(WaitingCase {
                number: 70_000,
                first_pack: 840_001,
                packs: 12,
            }),
            filling: 5,
            released: 69_990,
            reworked: 9,
        };
        assert_eq!(CasePackerStatus::decode(&status.encode()), Ok(status));
        let idle = CasePackerStatus::default();
        assert_eq!(CasePackerStatus::decode(&idle.encode()), Ok(idle));
    }

    #[test]
    fn a_bad_block_is_refused() {
        assert!(CasePackerStatus::decode(&[0; 3]).is_err());
        let mut regs = CasePackerStatus::default().encode();
        regs[0] = 7;
        assert!(CasePackerStatus::decode(&regs).is_err());
        assert!(CaseCommand::from_u16(9).is_err());
    }

    #[test]
    fn a_command_names_its_case() {
        assert_eq!(CaseCommand::Rework.encode(65_537), [2, 1, 1]);
        for command in [
            CaseCommand::Release,
            CaseCommand::Rework,
            CaseCommand::CloseNow,
        ] {
            assert_eq!(CaseCommand::from_u16(command.to_u16()), Ok(command));
        }
    }
}
