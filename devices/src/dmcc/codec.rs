//! Wire codec of the smart camera's DMCC-style protocol, both directions: host
//! commands ([`DmccRequest`]) and camera responses and pushed results
//! ([`DmccMessage`]). Pure functions; byte-exact examples are in `devices/README.md`.
//!
//! Host → camera: `||`, checksum flag (`0`/`1`, optional), optional
//! `:<command id>`, `>`, command, (checksum mode: two hex digits), CR LF.
//!
//! Camera → host: `||`, checksum flag, optional `:<command id>`, `[<status>]`,
//! body, (checksum mode: two hex digits), CR LF. Results are pushed with status 1
//! and the body `READ,<seq>,<symbology id>,<grade letter>,<grade>,<formal grade>,<base64 data>`
//! or `NOREAD,<seq>`.
//!
//! The checksum is the XOR of every byte from the first `|` up to the checksum
//! itself, written as two upper-case hex digits.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::framing::{Decoded, next_line};
use crate::readout::{CameraReadout, Grade, ReadOutcome, SymbologyId};

/// Longest frame (without CR LF) either side accepts.
pub const MAX_LINE: usize = 2048;
/// Largest decoded data of one result, in bytes.
pub const MAX_RESULT_DATA: usize = 1024;

/// Host → camera commands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DmccCommand {
    /// `TRIGGER ON`: software trigger; the result carries the camera's next trigger index.
    TriggerOn,
    /// `TRIGGER OFF`: end a software trigger.
    TriggerOff,
    /// `SET TRIGGER.ENABLED ON|OFF`: arm or disarm the hardware (PLC) trigger.
    SetTriggerEnabled(bool),
    /// `GET DEVICE.TYPE`: the body names the camera model (also a liveness check).
    GetDeviceType,
    /// `SET COM.RESULT-CHECKSUM ON|OFF`: append a checksum to pushed result lines.
    SetResultChecksum(bool),
    /// Any other command text (the camera answers status 101).
    Unknown(String),
}

impl DmccCommand {
    fn text(&self) -> String {
        let on_off = |on: &bool| if *on { "ON" } else { "OFF" };
        match self {
            DmccCommand::TriggerOn => "TRIGGER ON".into(),
            DmccCommand::TriggerOff => "TRIGGER OFF".into(),
            DmccCommand::SetTriggerEnabled(on) => format!("SET TRIGGER.ENABLED {}", on_off(on)),
            DmccCommand::GetDeviceType => "GET DEVICE.TYPE".into(),
            DmccCommand::SetResultChecksum(on) => format!("SET COM.RESULT-CHECKSUM {}", on_off(on)),
            DmccCommand::Unknown(text) => text.clone(),
        }
    }

    fn parse(text: &str) -> DmccCommand {
        let words: Vec<String> = text
            .split_ascii_whitespace()
            .map(str::to_ascii_uppercase)
            .collect();
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        match words.as_slice() {
            ["TRIGGER", "ON"] => DmccCommand::TriggerOn,
            ["TRIGGER", "OFF"] => DmccCommand::TriggerOff,
            ["SET", "TRIGGER.ENABLED", "ON"] => DmccCommand::SetTriggerEnabled(true),
            ["SET", "TRIGGER.ENABLED", "OFF"] => DmccCommand::SetTriggerEnabled(false),
            ["GET", "DEVICE.TYPE"] => DmccCommand::GetDeviceType,
            ["SET", "COM.RESULT-CHECKSUM", "ON"] => DmccCommand::SetResultChecksum(true),
            ["SET", "COM.RESULT-CHECKSUM", "OFF"] => DmccCommand::SetResultChecksum(false),
            _ => DmccCommand::Unknown(text.to_string()),
        }
    }
}

/// One host → camera frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DmccRequest {
    /// Checksum mode for this frame.
    pub checksum: bool,
    /// Echoed in the response, to match it.
    pub command_id: Option<u32>,
    pub command: DmccCommand,
}

/// Response status codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DmccStatus {
    /// 0
    Ok,
    /// 1: a result pushed by the reader.
    ReadString,
    /// 100
    UnidentifiedError,
    /// 101
    InvalidCommand,
    /// 102
    InvalidParameter,
    /// 103
    ChecksumIncorrect,
    /// 104: rejected because of the reader's state.
    RejectedInState,
    /// 105
    ReaderUnavailable,
    /// Any other code.
    Other(u16),
}

impl DmccStatus {
    pub fn code(self) -> u16 {
        match self {
            DmccStatus::Ok => 0,
            DmccStatus::ReadString => 1,
            DmccStatus::UnidentifiedError => 100,
            DmccStatus::InvalidCommand => 101,
            DmccStatus::InvalidParameter => 102,
            DmccStatus::ChecksumIncorrect => 103,
            DmccStatus::RejectedInState => 104,
            DmccStatus::ReaderUnavailable => 105,
            DmccStatus::Other(code) => code,
        }
    }

    pub fn from_code(code: u16) -> Self {
        match code {
            0 => DmccStatus::Ok,
            1 => DmccStatus::ReadString,
            100 => DmccStatus::UnidentifiedError,
            101 => DmccStatus::InvalidCommand,
            102 => DmccStatus::InvalidParameter,
            103 => DmccStatus::ChecksumIncorrect,
            104 => DmccStatus::RejectedInState,
            105 => DmccStatus::ReaderUnavailable,
            other => DmccStatus::Other(other),
        }
    }
}

/// One camera → host frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DmccMessage {
    /// The answer to a command.
    Response {
        checksum: bool,
        command_id: Option<u32>,
        status: DmccStatus,
        body: String,
    },
    /// A pushed result (status 1).
    Result {
        checksum: bool,
        readout: CameraReadout,
    },
}

/// What is wrong with a DMCC frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DmccCodecError {
    #[error("DMCC frame longer than {MAX_LINE} bytes without CR LF")]
    LineTooLong,
    #[error("DMCC frame does not start with `||`")]
    NoHeader,
    #[error("DMCC frame header is malformed: {0}")]
    BadHeader(&'static str),
    #[error("DMCC frame is not ASCII text")]
    NotText,
    #[error("DMCC checksum does not match (command id {command_id:?})")]
    Checksum { command_id: Option<u32> },
    #[error("DMCC result line is malformed: {0}")]
    BadResult(&'static str),
}

/// XOR of `bytes`.
pub fn xor_checksum(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0, |acc, b| acc ^ b)
}

/// Requests leave out a `0` flag when there is no command id (`||>`); camera
/// frames always carry the flag (`||0[1]…`).
fn header(checksum: bool, command_id: Option<u32>, always_flag: bool) -> String {
    match (checksum, command_id) {
        (false, None) if !always_flag => "||".into(),
        (false, None) => "||0".into(),
        (true, None) => "||1".into(),
        (on, Some(id)) => format!("||{}:{id}", u8::from(on)),
    }
}

fn finish(mut frame: Vec<u8>, checksum: bool) -> Vec<u8> {
    if checksum {
        let sum = xor_checksum(&frame);
        frame.extend_from_slice(format!("{sum:02X}").as_bytes());
    }
    frame.extend_from_slice(b"\r\n");
    frame
}

impl DmccRequest {
    /// Bytes on the wire, CR LF included.
    pub fn encode(&self) -> Vec<u8> {
        let frame = format!(
            "{}>{}",
            header(self.checksum, self.command_id, false),
            self.command.text()
        );
        finish(frame.into_bytes(), self.checksum)
    }

    /// Decodes one request from the front of `buf` (the camera's side).
    pub fn decode(buf: &[u8]) -> Decoded<DmccRequest, DmccCodecError> {
        decode_frame(buf, |line| {
            let head = parse_header(line)?;
            let rest = &line[head.len..];
            let Some(command) = rest.strip_prefix(b">") else {
                return Err(DmccCodecError::BadHeader("expected `>` before the command"));
            };
            let command = strip_checksum(line, command, head.checksum, head.command_id)?;
            let text = std::str::from_utf8(command).map_err(|_| DmccCodecError::NotText)?;
            Ok(DmccRequest {
                checksum: head.checksum,
                command_id: head.command_id,
                command: DmccCommand::parse(text),
            })
        })
    }
}

impl DmccMessage {
    /// Bytes on the wire, CR LF included.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            DmccMessage::Response {
                checksum,
                command_id,
                status,
                body,
            } => {
                let frame = format!(
                    "{}[{}]{body}",
                    header(*checksum, *command_id, true),
                    status.code()
                );
                finish(frame.into_bytes(), *checksum)
            }
            DmccMessage::Result { checksum, readout } => {
                let body = match &readout.outcome {
                    ReadOutcome::Read {
                        symbology,
                        data,
                        grade,
                    } => format!(
                        "READ,{},{symbology},{},{},{},{}",
                        readout.seq,
                        grade.letter(),
                        grade.value_text(),
                        grade.formal(),
                        BASE64.encode(data)
                    ),
                    ReadOutcome::NoRead => format!("NOREAD,{}", readout.seq),
                };
                let frame = format!("{}[1]{body}", header(*checksum, None, true));
                finish(frame.into_bytes(), *checksum)
            }
        }
    }

    /// Decodes one response or result from the front of `buf` (the host's side).
    pub fn decode(buf: &[u8]) -> Decoded<DmccMessage, DmccCodecError> {
        decode_frame(buf, |line| {
            let head = parse_header(line)?;
            let rest = &line[head.len..];
            let Some(after_bracket) = rest.strip_prefix(b"[") else {
                return Err(DmccCodecError::BadHeader("expected `[status]`"));
            };
            let close = after_bracket
                .iter()
                .position(|b| *b == b']')
                .ok_or(DmccCodecError::BadHeader("status has no closing `]`"))?;
            let status = small_number(&after_bracket[..close])
                .ok_or(DmccCodecError::BadHeader("status is not a number"))?;
            let status = DmccStatus::from_code(
                u16::try_from(status)
                    .map_err(|_| DmccCodecError::BadHeader("status out of range"))?,
            );
            let body = strip_checksum(
                line,
                &after_bracket[close + 1..],
                head.checksum,
                head.command_id,
            )?;
            let body = std::str::from_utf8(body).map_err(|_| DmccCodecError::NotText)?;
            if status == DmccStatus::ReadString && head.command_id.is_none() {
                return Ok(DmccMessage::Result {
                    checksum: head.checksum,
                    readout: parse_result(body)?,
                });
            }
            Ok(DmccMessage::Response {
                checksum: head.checksum,
                command_id: head.command_id,
                status,
                body: body.to_string(),
            })
        })
    }
}

fn decode_frame<T>(
    buf: &[u8],
    parse: impl Fn(&[u8]) -> Result<T, DmccCodecError>,
) -> Decoded<T, DmccCodecError> {
    let skipped = buf
        .iter()
        .take_while(|b| **b == b'\r' || **b == b'\n')
        .count();
    if skipped > 0 {
        return Decoded::Ignored { consumed: skipped };
    }
    match next_line(buf, b"\r\n", MAX_LINE) {
        Decoded::Incomplete => Decoded::Incomplete,
        Decoded::Ignored { consumed } => Decoded::Ignored { consumed },
        Decoded::Garbage { consumed, .. } => Decoded::Garbage {
            error: DmccCodecError::LineTooLong,
            consumed,
        },
        Decoded::Message { message, consumed } => match parse(message) {
            Ok(message) => Decoded::Message { message, consumed },
            Err(error) => Decoded::Garbage { error, consumed },
        },
    }
}

struct Header {
    checksum: bool,
    command_id: Option<u32>,
    /// Bytes of the line the header used.
    len: usize,
}

fn parse_header(line: &[u8]) -> Result<Header, DmccCodecError> {
    let rest = line.strip_prefix(b"||").ok_or(DmccCodecError::NoHeader)?;
    let (checksum, flag_len) = match rest.first() {
        Some(b'0') => (false, 1),
        Some(b'1') => (true, 1),
        _ => (false, 0),
    };
    let rest = &rest[flag_len..];
    let (command_id, id_len) = match rest.strip_prefix(b":") {
        Some(after) => {
            let digits = after.iter().take_while(|b| b.is_ascii_digit()).count();
            let id = small_number(&after[..digits])
                .ok_or(DmccCodecError::BadHeader("command id is not a number"))?;
            (Some(id), 1 + digits)
        }
        None => (None, 0),
    };
    Ok(Header {
        checksum,
        command_id,
        len: 2 + flag_len + id_len,
    })
}

fn strip_checksum<'a>(
    line: &[u8],
    tail: &'a [u8],
    checksum: bool,
    command_id: Option<u32>,
) -> Result<&'a [u8], DmccCodecError> {
    if !checksum {
        return Ok(tail);
    }
    let split = tail
        .len()
        .checked_sub(2)
        .ok_or(DmccCodecError::Checksum { command_id })?;
    let (content, digits) = tail.split_at(split);
    let expected = xor_checksum(&line[..line.len() - 2]);
    let received = std::str::from_utf8(digits)
        .ok()
        .filter(|d| d.bytes().all(|b| b.is_ascii_hexdigit()))
        .and_then(|d| u8::from_str_radix(d, 16).ok());
    if received == Some(expected) {
        Ok(content)
    } else {
        Err(DmccCodecError::Checksum { command_id })
    }
}

fn small_number(digits: &[u8]) -> Option<u32> {
    if digits.is_empty() || digits.len() > 10 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

fn parse_result(body: &str) -> Result<CameraReadout, DmccCodecError> {
    let fields: Vec<&str> = body.split(',').collect();
    match fields.as_slice() {
        ["NOREAD", seq] => Ok(CameraReadout {
            seq: small_number(seq.as_bytes())
                .ok_or(DmccCodecError::BadResult("trigger index is not a u32"))?,
            outcome: ReadOutcome::NoRead,
        }),
        ["READ", seq, symbology, letter, value, formal, data] => {
            let seq = small_number(seq.as_bytes())
                .ok_or(DmccCodecError::BadResult("trigger index is not a u32"))?;
            let symbology = SymbologyId::parse(symbology)
                .ok_or(DmccCodecError::BadResult("bad symbology identifier"))?;
            let grade =
                Grade::parse_formal(formal).ok_or(DmccCodecError::BadResult("bad formal grade"))?;
            if Grade::parse_value(value) != Some(grade.tenths) {
                return Err(DmccCodecError::BadResult(
                    "grade value differs from the formal grade",
                ));
            }
            if letter.len() != 1 || !letter.starts_with(grade.letter()) {
                return Err(DmccCodecError::BadResult(
                    "grade letter differs from the grade value",
                ));
            }
            if data.len() > MAX_RESULT_DATA.div_ceil(3) * 4 {
                return Err(DmccCodecError::BadResult("data too long"));
            }
            let data = BASE64
                .decode(data.as_bytes())
                .map_err(|_| DmccCodecError::BadResult("data is not base64"))?;
            Ok(CameraReadout {
                seq,
                outcome: ReadOutcome::Read {
                    symbology,
                    data,
                    grade,
                },
            })
        }
        _ => Err(DmccCodecError::BadResult(
            "expected READ,<7 fields> or NOREAD,<seq>",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framing::decode_all;

    fn read(seq: u32) -> CameraReadout {
        CameraReadout {
            seq,
            outcome: ReadOutcome::Read {
                symbology: SymbologyId::GS1_DATAMATRIX,
                data: b"0109506000134352\x1d21SN1".to_vec(),
                grade: Grade {
                    tenths: 35,
                    aperture_mils: 8,
                    wavelength_nm: 660,
                    angle_deg: 45,
                },
            },
        }
    }

    #[test]
    fn requests() {
        let request = DmccRequest {
            checksum: false,
            command_id: None,
            command: DmccCommand::TriggerOn,
        };
        assert_eq!(request.encode(), b"||>TRIGGER ON\r\n");
        let request = DmccRequest {
            checksum: false,
            command_id: Some(123),
            command: DmccCommand::GetDeviceType,
        };
        assert_eq!(request.encode(), b"||0:123>GET DEVICE.TYPE\r\n");
        let request = DmccRequest {
            checksum: true,
            command_id: Some(5),
            command: DmccCommand::SetTriggerEnabled(true),
        };
        let bytes = request.encode();
        assert_eq!(
            DmccRequest::decode(&bytes),
            Decoded::Message {
                message: request,
                consumed: bytes.len()
            }
        );
        let lower = b"||>trigger on\r\n";
        assert!(matches!(
            DmccRequest::decode(lower),
            Decoded::Message {
                message: DmccRequest {
                    command: DmccCommand::TriggerOn,
                    ..
                },
                ..
            }
        ));
    }

    #[test]
    fn results_round_trip_with_and_without_checksum() {
        for checksum in [false, true] {
            let messages = vec![
                DmccMessage::Result {
                    checksum,
                    readout: read(7),
                },
                DmccMessage::Result {
                    checksum,
                    readout: CameraReadout {
                        seq: 8,
                        outcome: ReadOutcome::NoRead,
                    },
                },
                DmccMessage::Response {
                    checksum,
                    command_id: Some(3),
                    status: DmccStatus::Ok,
                    body: "DM475".into(),
                },
            ];
            let wire: Vec<u8> = messages.iter().flat_map(DmccMessage::encode).collect();
            let (decoded, consumed) = decode_all(&wire, DmccMessage::decode);
            assert_eq!(consumed, wire.len());
            assert_eq!(decoded, messages.into_iter().map(Ok).collect::<Vec<_>>());
        }
    }

    #[test]
    fn result_data_travels_as_padded_standard_base64() {
        let wire = DmccMessage::Result {
            checksum: false,
            readout: read(7),
        }
        .encode();
        let text = String::from_utf8(wire).unwrap();
        assert!(
            text.ends_with(",MDEwOTUwNjAwMDEzNDM1Mh0yMVNOMQ==\r\n"),
            "{text}"
        );
        for bad in ["Zg=a", "Zg==Zg==", "Z===", "Zg", "Zg-_"] {
            let line = text.replace("MDEwOTUwNjAwMDEzNDM1Mh0yMVNOMQ==", bad);
            assert!(
                matches!(
                    DmccMessage::decode(line.as_bytes()),
                    Decoded::Garbage {
                        error: DmccCodecError::BadResult("data is not base64"),
                        ..
                    }
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn corrupted_checksum_is_an_error() {
        let mut bytes = DmccMessage::Result {
            checksum: true,
            readout: read(9),
        }
        .encode();
        bytes[12] ^= 1;
        assert!(matches!(
            DmccMessage::decode(&bytes),
            Decoded::Garbage {
                error: DmccCodecError::Checksum { .. },
                ..
            }
        ));
    }
}
