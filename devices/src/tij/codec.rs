//! Wire codec of the TIJ/TTO serialization protocol, both directions: host
//! commands ([`TijCommand`]) and printer replies and notifications ([`TijReply`]).
//! Pure functions; the byte-exact format is documented in `devices/README.md`.
//!
//! A frame is `TAG|field|field|…|` followed by CR (0x0D). Fields never contain `|`,
//! `\`, CR or any other control byte: those bytes (and bytes >= 0x7F) travel as
//! `\xHH` (two hex digits), so the GS separator (FNC1) of GS1 data is `\x1D`.
//! Empty lines (a bare CR, used to flush the printer's input) and LF bytes between
//! frames are ignored.

use std::fmt;

use crate::framing::{Decoded, next_line};

/// Longest frame (without its CR) either side accepts: room for a queued message
/// of [`MAX_DATA`] bytes that all need escaping (4 bytes each) plus tag and id.
pub const MAX_LINE: usize = 1088;
/// Longest variable data of one queued message, in bytes after unescaping.
pub const MAX_DATA: usize = 256;
/// Longest job name.
pub const MAX_JOB_NAME: usize = 64;
/// Most ids one `SCB` reply may carry (bounded by [`MAX_LINE`] anyway).
pub const MAX_CLEARED_IDS: usize = 100;

/// Host → printer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TijCommand {
    /// `SEL|<job>|` → `ACK`: select the job whose variable field takes the queued data.
    SelectJob { job: String },
    /// `SLI|<id>|<data>|` → `ACK|<id>|`: append one message to the serialization buffer.
    QueueMessage { id: u32, data: Vec<u8> },
    /// `SRC|` → `SRC|<count>|`: number of messages in the buffer.
    GetBufferCount,
    /// `SCB|` → `SCB|<id>|…|`: clear the buffer, listing the ids that were never printed.
    ClearBuffer,
    /// `GST|` → `STS|…|`.
    GetStatus,
    /// `GFT|` → `FLT|…|`.
    GetFaults,
    /// `SST|3|` (running, prints on product detect) or `SST|4|` (offline) → `ACK`.
    SetRunning(bool),
}

/// Printer → host: replies (exactly one per command, in order) and asynchronous
/// notifications (`PRC`, `STA`), which may arrive between them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TijReply {
    /// `ACK`
    Ack,
    /// `ACK|<id>|`: message `id` is in the buffer.
    Queued { id: u32 },
    /// `ERR|<code>|<text>|`
    Error { code: TijErrorCode, text: String },
    /// `SRC|<count>|`
    BufferCount { count: u32 },
    /// `SCB|<id>|…|`: ids (oldest first) that were in the buffer and never printed.
    Cleared { never_printed: Vec<u32> },
    /// `STS|<state>|<error level>|<job>|<batch count>|<total count>|`
    Status(TijStatus),
    /// `FLT|<n>|<code>|…|`
    Faults(Vec<TijFault>),
    /// Asynchronous `PRC|<id>|`: message `id` was printed.
    PrintComplete { id: u32 },
    /// Asynchronous `STA|<state>|<error level>|`: the printer's state changed.
    StateChanged {
        state: TijState,
        error_level: TijErrorLevel,
    },
}

impl TijReply {
    /// True for notifications the printer sends on its own (not a reply to a command).
    pub fn is_unsolicited(&self) -> bool {
        matches!(
            self,
            TijReply::PrintComplete { .. } | TijReply::StateChanged { .. }
        )
    }
}

/// Overall printer state (`STS`/`STA` field 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TijState {
    ShutDown = 0,
    Starting = 1,
    ShuttingDown = 2,
    Running = 3,
    Offline = 4,
}

impl TijState {
    fn from_code(code: u32) -> Option<Self> {
        Some(match code {
            0 => TijState::ShutDown,
            1 => TijState::Starting,
            2 => TijState::ShuttingDown,
            3 => TijState::Running,
            4 => TijState::Offline,
            _ => return None,
        })
    }
}

/// Error level (`STS`/`STA` field 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TijErrorLevel {
    None = 0,
    Warning = 1,
    Fault = 2,
}

impl TijErrorLevel {
    fn from_code(code: u32) -> Option<Self> {
        Some(match code {
            0 => TijErrorLevel::None,
            1 => TijErrorLevel::Warning,
            2 => TijErrorLevel::Fault,
            _ => return None,
        })
    }
}

/// Reply to `GST`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TijStatus {
    pub state: TijState,
    pub error_level: TijErrorLevel,
    /// Selected job ("" when none).
    pub job: String,
    /// Prints since the job was selected.
    pub batch_count: u32,
    /// Prints over the printer's life.
    pub total_count: u32,
}

/// Error codes of `ERR` replies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TijErrorCode {
    /// 0: no reason given (a bare `ERR`).
    Unspecified,
    /// 1: unknown command.
    UnknownCommand,
    /// 2: wrong number or form of fields.
    BadSyntax,
    /// 3: no such job.
    UnknownJob,
    /// 4: the serialization buffer is full.
    BufferFull,
    /// 5: the id is already in the buffer.
    DuplicateId,
    /// 6: the printer is not ready (no job selected, faulted, shut down).
    NotReady,
    /// 7: the data does not fit the job's field.
    BadData,
    /// Any other code.
    Other(u16),
}

impl TijErrorCode {
    pub fn code(self) -> u16 {
        match self {
            TijErrorCode::Unspecified => 0,
            TijErrorCode::UnknownCommand => 1,
            TijErrorCode::BadSyntax => 2,
            TijErrorCode::UnknownJob => 3,
            TijErrorCode::BufferFull => 4,
            TijErrorCode::DuplicateId => 5,
            TijErrorCode::NotReady => 6,
            TijErrorCode::BadData => 7,
            TijErrorCode::Other(code) => code,
        }
    }

    pub fn from_code(code: u16) -> Self {
        match code {
            0 => TijErrorCode::Unspecified,
            1 => TijErrorCode::UnknownCommand,
            2 => TijErrorCode::BadSyntax,
            3 => TijErrorCode::UnknownJob,
            4 => TijErrorCode::BufferFull,
            5 => TijErrorCode::DuplicateId,
            6 => TijErrorCode::NotReady,
            7 => TijErrorCode::BadData,
            other => TijErrorCode::Other(other),
        }
    }
}

/// Fault codes of `FLT` replies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TijFault {
    /// 1
    InkLow,
    /// 2
    InkOut,
    /// 3
    PrintheadFault,
    /// 4
    CoverOpen,
    /// 5: a product was detected while the buffer was empty (nothing printed on it).
    BufferUnderrun,
    /// 6
    RibbonOut,
    /// Any other code.
    Other(u16),
}

impl TijFault {
    pub fn code(self) -> u16 {
        match self {
            TijFault::InkLow => 1,
            TijFault::InkOut => 2,
            TijFault::PrintheadFault => 3,
            TijFault::CoverOpen => 4,
            TijFault::BufferUnderrun => 5,
            TijFault::RibbonOut => 6,
            TijFault::Other(code) => code,
        }
    }

    pub fn from_code(code: u16) -> Self {
        match code {
            1 => TijFault::InkLow,
            2 => TijFault::InkOut,
            3 => TijFault::PrintheadFault,
            4 => TijFault::CoverOpen,
            5 => TijFault::BufferUnderrun,
            6 => TijFault::RibbonOut,
            other => TijFault::Other(other),
        }
    }

    /// Plain description for operators.
    pub fn describe(self) -> String {
        match self {
            TijFault::InkLow => "ink low: replace the cartridge soon".into(),
            TijFault::InkOut => "ink out: replace the cartridge".into(),
            TijFault::PrintheadFault => "printhead fault: check and clean the printhead".into(),
            TijFault::CoverOpen => "printer cover open: close it".into(),
            TijFault::BufferUnderrun => "a product passed the printer with an empty buffer".into(),
            TijFault::RibbonOut => "ribbon out: replace the ribbon".into(),
            TijFault::Other(code) => format!("printer fault code {code}: see the printer's manual"),
        }
    }
}

/// What is wrong with a TIJ frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TijCodecError {
    #[error("TIJ frame longer than {MAX_LINE} bytes without CR")]
    LineTooLong,
    #[error("unknown TIJ frame tag {0:?}")]
    UnknownTag(String),
    #[error("TIJ {tag} frame needs {expected} fields, got {got}")]
    FieldCount {
        tag: &'static str,
        expected: usize,
        got: usize,
    },
    #[error("TIJ field {field:?} is not a valid {what}")]
    BadNumber { field: String, what: &'static str },
    #[error("TIJ field has a bad escape sequence at byte {0}")]
    BadEscape(usize),
    #[error("TIJ text field is not UTF-8")]
    NotUtf8,
    #[error("TIJ field too long ({len} bytes, at most {max})")]
    FieldTooLong { len: usize, max: usize },
    #[error("TIJ job name is empty")]
    EmptyJob,
    #[error("TIJ {what} code {code} is unknown")]
    BadCode { what: &'static str, code: u32 },
}

// ---------------------------------------------------------------------------
// Field escaping
// ---------------------------------------------------------------------------

fn needs_escape(byte: u8) -> bool {
    !(0x20..0x7F).contains(&byte) || byte == b'|' || byte == b'\\'
}

/// Appends `field` to `out`, escaping `\`, `|`, control bytes and bytes >= 0x7F as `\xHH`.
pub fn escape_field_into(field: &[u8], out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &byte in field {
        if needs_escape(byte) {
            out.extend_from_slice(&[
                b'\\',
                b'x',
                HEX[usize::from(byte >> 4)],
                HEX[usize::from(byte & 15)],
            ]);
        } else {
            out.push(byte);
        }
    }
}

/// Reverses [`escape_field_into`]. Upper- and lower-case hex digits are accepted.
pub fn unescape_field(field: &[u8]) -> Result<Vec<u8>, TijCodecError> {
    let mut out = Vec::with_capacity(field.len());
    let mut index = 0;
    while index < field.len() {
        let byte = field[index];
        if byte == b'\\' {
            let digits = field.get(index + 1..index + 4);
            match digits {
                Some([b'x', high, low]) => {
                    let value = hex_value(*high)
                        .zip(hex_value(*low))
                        .map(|(h, l)| h << 4 | l)
                        .ok_or(TijCodecError::BadEscape(index))?;
                    out.push(value);
                    index += 4;
                }
                _ => return Err(TijCodecError::BadEscape(index)),
            }
        } else if needs_escape(byte) {
            return Err(TijCodecError::BadEscape(index));
        } else {
            out.push(byte);
            index += 1;
        }
    }
    Ok(out)
}

fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        _ => None,
    }
}

// ---------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------

struct FrameWriter(Vec<u8>);

impl FrameWriter {
    fn new(tag: &str) -> Self {
        let mut bytes = Vec::with_capacity(32);
        bytes.extend_from_slice(tag.as_bytes());
        FrameWriter(bytes)
    }
    fn field(mut self, value: &[u8]) -> Self {
        self.0.push(b'|');
        escape_field_into(value, &mut self.0);
        self
    }
    fn number(self, value: impl fmt::Display) -> Self {
        self.field(value.to_string().as_bytes())
    }
    /// Closes the frame: a `|` after the last field (or after the tag when `bar_when_empty`), then CR.
    fn finish(mut self, bar: bool) -> Vec<u8> {
        if bar {
            self.0.push(b'|');
        }
        self.0.push(b'\r');
        self.0
    }
}

impl TijCommand {
    /// Bytes on the wire, CR included.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            TijCommand::SelectJob { job } => {
                FrameWriter::new("SEL").field(job.as_bytes()).finish(true)
            }
            TijCommand::QueueMessage { id, data } => {
                FrameWriter::new("SLI").number(id).field(data).finish(true)
            }
            TijCommand::GetBufferCount => FrameWriter::new("SRC").finish(true),
            TijCommand::ClearBuffer => FrameWriter::new("SCB").finish(true),
            TijCommand::GetStatus => FrameWriter::new("GST").finish(true),
            TijCommand::GetFaults => FrameWriter::new("GFT").finish(true),
            TijCommand::SetRunning(running) => FrameWriter::new("SST")
                .number(if *running { 3 } else { 4 })
                .finish(true),
        }
    }

    /// Decodes one command from the front of `buf` (the printer's side).
    pub fn decode(buf: &[u8]) -> Decoded<TijCommand, TijCodecError> {
        decode_frame(buf, parse_command)
    }
}

impl TijReply {
    /// Bytes on the wire, CR included.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            TijReply::Ack => FrameWriter::new("ACK").finish(false),
            TijReply::Queued { id } => FrameWriter::new("ACK").number(id).finish(true),
            TijReply::Error { code, text } => FrameWriter::new("ERR")
                .number(code.code())
                .field(text.as_bytes())
                .finish(true),
            TijReply::BufferCount { count } => FrameWriter::new("SRC").number(count).finish(true),
            TijReply::Cleared { never_printed } => never_printed
                .iter()
                .fold(FrameWriter::new("SCB"), |frame, id| frame.number(id))
                .finish(true),
            TijReply::Status(status) => FrameWriter::new("STS")
                .number(status.state as u8)
                .number(status.error_level as u8)
                .field(status.job.as_bytes())
                .number(status.batch_count)
                .number(status.total_count)
                .finish(true),
            TijReply::Faults(faults) => faults
                .iter()
                .fold(
                    FrameWriter::new("FLT").number(faults.len()),
                    |frame, fault| frame.number(fault.code()),
                )
                .finish(true),
            TijReply::PrintComplete { id } => FrameWriter::new("PRC").number(id).finish(true),
            TijReply::StateChanged { state, error_level } => FrameWriter::new("STA")
                .number(*state as u8)
                .number(*error_level as u8)
                .finish(true),
        }
    }

    /// Decodes one reply or notification from the front of `buf` (the host's side).
    pub fn decode(buf: &[u8]) -> Decoded<TijReply, TijCodecError> {
        decode_frame(buf, parse_reply)
    }
}

// ---------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------

fn decode_frame<T>(
    buf: &[u8],
    parse: impl Fn(&str, &[&[u8]]) -> Result<T, TijCodecError>,
) -> Decoded<T, TijCodecError> {
    let skipped = buf
        .iter()
        .take_while(|b| **b == b'\r' || **b == b'\n')
        .count();
    if skipped > 0 {
        return Decoded::Ignored { consumed: skipped };
    }
    match next_line(buf, b"\r", MAX_LINE) {
        Decoded::Incomplete => Decoded::Incomplete,
        Decoded::Garbage { consumed, .. } => Decoded::Garbage {
            error: TijCodecError::LineTooLong,
            consumed,
        },
        Decoded::Ignored { consumed } => Decoded::Ignored { consumed },
        Decoded::Message { message, consumed } => {
            let body = message.strip_suffix(b"|").unwrap_or(message);
            let mut parts = body.split(|b| *b == b'|');
            let tag = parts.next().unwrap_or_default();
            let fields: Vec<&[u8]> = parts.collect();
            let result = std::str::from_utf8(tag)
                .map_err(|_| TijCodecError::UnknownTag(String::from_utf8_lossy(tag).into_owned()))
                .and_then(|tag| parse(tag, &fields));
            match result {
                Ok(message) => Decoded::Message { message, consumed },
                Err(error) => Decoded::Garbage { error, consumed },
            }
        }
    }
}

fn expect_fields(
    tag: &'static str,
    fields: &[&[u8]],
    expected: usize,
) -> Result<(), TijCodecError> {
    if fields.len() == expected {
        Ok(())
    } else {
        Err(TijCodecError::FieldCount {
            tag,
            expected,
            got: fields.len(),
        })
    }
}

fn number<T: std::str::FromStr>(field: &[u8], what: &'static str) -> Result<T, TijCodecError> {
    let bad = || TijCodecError::BadNumber {
        field: String::from_utf8_lossy(field).into_owned(),
        what,
    };
    if field.is_empty() || field.len() > 10 || !field.iter().all(u8::is_ascii_digit) {
        return Err(bad());
    }
    std::str::from_utf8(field)
        .map_err(|_| bad())?
        .parse()
        .map_err(|_| bad())
}

fn text(field: &[u8], max: usize) -> Result<String, TijCodecError> {
    let bytes = unescape_field(field)?;
    if bytes.len() > max {
        return Err(TijCodecError::FieldTooLong {
            len: bytes.len(),
            max,
        });
    }
    String::from_utf8(bytes).map_err(|_| TijCodecError::NotUtf8)
}

fn job_name(field: &[u8]) -> Result<String, TijCodecError> {
    let job = text(field, MAX_JOB_NAME)?;
    if job.is_empty() {
        return Err(TijCodecError::EmptyJob);
    }
    Ok(job)
}

fn parse_command(tag: &str, fields: &[&[u8]]) -> Result<TijCommand, TijCodecError> {
    match tag {
        "SEL" => {
            expect_fields("SEL", fields, 1)?;
            Ok(TijCommand::SelectJob {
                job: job_name(fields[0])?,
            })
        }
        "SLI" => {
            expect_fields("SLI", fields, 2)?;
            let data = unescape_field(fields[1])?;
            if data.len() > MAX_DATA {
                return Err(TijCodecError::FieldTooLong {
                    len: data.len(),
                    max: MAX_DATA,
                });
            }
            Ok(TijCommand::QueueMessage {
                id: number(fields[0], "message id")?,
                data,
            })
        }
        "SRC" => expect_fields("SRC", fields, 0).map(|_| TijCommand::GetBufferCount),
        "SCB" => expect_fields("SCB", fields, 0).map(|_| TijCommand::ClearBuffer),
        "GST" => expect_fields("GST", fields, 0).map(|_| TijCommand::GetStatus),
        "GFT" => expect_fields("GFT", fields, 0).map(|_| TijCommand::GetFaults),
        "SST" => {
            expect_fields("SST", fields, 1)?;
            match number::<u32>(fields[0], "printer state")? {
                3 => Ok(TijCommand::SetRunning(true)),
                4 => Ok(TijCommand::SetRunning(false)),
                code => Err(TijCodecError::BadCode {
                    what: "SST state",
                    code,
                }),
            }
        }
        other => Err(TijCodecError::UnknownTag(other.chars().take(16).collect())),
    }
}

fn state_pair(state: &[u8], level: &[u8]) -> Result<(TijState, TijErrorLevel), TijCodecError> {
    let state_code = number::<u32>(state, "printer state")?;
    let level_code = number::<u32>(level, "error level")?;
    let state = TijState::from_code(state_code).ok_or(TijCodecError::BadCode {
        what: "printer state",
        code: state_code,
    })?;
    let level = TijErrorLevel::from_code(level_code).ok_or(TijCodecError::BadCode {
        what: "error level",
        code: level_code,
    })?;
    Ok((state, level))
}

fn parse_reply(tag: &str, fields: &[&[u8]]) -> Result<TijReply, TijCodecError> {
    match tag {
        "ACK" => match fields {
            [] => Ok(TijReply::Ack),
            [id] => Ok(TijReply::Queued {
                id: number(id, "message id")?,
            }),
            _ => Err(TijCodecError::FieldCount {
                tag: "ACK",
                expected: 1,
                got: fields.len(),
            }),
        },
        "ERR" => match fields {
            [] => Ok(TijReply::Error {
                code: TijErrorCode::Unspecified,
                text: String::new(),
            }),
            [code, message] => Ok(TijReply::Error {
                code: TijErrorCode::from_code(number(code, "error code")?),
                text: text(message, MAX_LINE)?,
            }),
            _ => Err(TijCodecError::FieldCount {
                tag: "ERR",
                expected: 2,
                got: fields.len(),
            }),
        },
        "SRC" => {
            expect_fields("SRC", fields, 1)?;
            Ok(TijReply::BufferCount {
                count: number(fields[0], "buffer count")?,
            })
        }
        "SCB" => {
            if fields.len() > MAX_CLEARED_IDS {
                return Err(TijCodecError::FieldCount {
                    tag: "SCB",
                    expected: MAX_CLEARED_IDS,
                    got: fields.len(),
                });
            }
            let never_printed = fields
                .iter()
                .map(|f| number(f, "message id"))
                .collect::<Result<_, _>>()?;
            Ok(TijReply::Cleared { never_printed })
        }
        "STS" => {
            expect_fields("STS", fields, 5)?;
            let (state, error_level) = state_pair(fields[0], fields[1])?;
            Ok(TijReply::Status(TijStatus {
                state,
                error_level,
                job: text(fields[2], MAX_JOB_NAME)?,
                batch_count: number(fields[3], "batch count")?,
                total_count: number(fields[4], "total count")?,
            }))
        }
        "FLT" => {
            let (count, codes) = fields.split_first().ok_or(TijCodecError::FieldCount {
                tag: "FLT",
                expected: 1,
                got: 0,
            })?;
            let count: usize = number(count, "fault count")?;
            if count != codes.len() {
                return Err(TijCodecError::FieldCount {
                    tag: "FLT",
                    expected: count + 1,
                    got: fields.len(),
                });
            }
            let faults = codes
                .iter()
                .map(|code| number(code, "fault code").map(TijFault::from_code))
                .collect::<Result<_, _>>()?;
            Ok(TijReply::Faults(faults))
        }
        "PRC" => {
            expect_fields("PRC", fields, 1)?;
            Ok(TijReply::PrintComplete {
                id: number(fields[0], "message id")?,
            })
        }
        "STA" => {
            expect_fields("STA", fields, 2)?;
            let (state, error_level) = state_pair(fields[0], fields[1])?;
            Ok(TijReply::StateChanged { state, error_level })
        }
        other => Err(TijCodecError::UnknownTag(other.chars().take(16).collect())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framing::decode_all;

    #[test]
    fn queue_message_escapes_gs() {
        let command = TijCommand::QueueMessage {
            id: 42,
            data: b"0109506000134352\x1d21AB|\\".to_vec(),
        };
        let bytes = command.encode();
        assert_eq!(
            bytes,
            b"SLI|42|0109506000134352\\x1D21AB\\x7C\\x5C|\r".to_vec()
        );
        assert_eq!(
            TijCommand::decode(&bytes),
            Decoded::Message {
                message: command,
                consumed: bytes.len()
            }
        );
    }

    #[test]
    fn replies_round_trip() {
        let replies = [
            TijReply::Ack,
            TijReply::Queued { id: 7 },
            TijReply::Error {
                code: TijErrorCode::BufferFull,
                text: "buffer full".into(),
            },
            TijReply::BufferCount { count: 12 },
            TijReply::Cleared {
                never_printed: vec![],
            },
            TijReply::Cleared {
                never_printed: vec![8, 9],
            },
            TijReply::Status(TijStatus {
                state: TijState::Running,
                error_level: TijErrorLevel::None,
                job: "GS1-DM".into(),
                batch_count: 10,
                total_count: 99,
            }),
            TijReply::Faults(vec![TijFault::InkLow, TijFault::Other(77)]),
            TijReply::PrintComplete { id: 7 },
            TijReply::StateChanged {
                state: TijState::Offline,
                error_level: TijErrorLevel::Fault,
            },
        ];
        let wire: Vec<u8> = replies.iter().flat_map(TijReply::encode).collect();
        let (decoded, consumed) = decode_all(&wire, TijReply::decode);
        assert_eq!(consumed, wire.len());
        let decoded: Vec<TijReply> = decoded.into_iter().map(|r| r.unwrap()).collect();
        assert_eq!(decoded, replies);
    }

    #[test]
    fn the_largest_message_fits_a_frame_even_when_every_byte_is_escaped() {
        let command = TijCommand::QueueMessage {
            id: u32::MAX,
            data: vec![0x1D; MAX_DATA],
        };
        let bytes = command.encode();
        assert!(bytes.len() - 1 <= MAX_LINE);
        assert_eq!(
            TijCommand::decode(&bytes),
            Decoded::Message {
                message: command,
                consumed: bytes.len()
            }
        );
        let too_long = TijCommand::QueueMessage {
            id: 1,
            data: vec![b'A'; MAX_DATA + 1],
        }
        .encode();
        assert!(matches!(
            TijCommand::decode(&too_long),
            Decoded::Garbage {
                error: TijCodecError::FieldTooLong { .. },
                ..
            }
        ));
    }

    #[test]
    fn garbage_resyncs_at_next_cr() {
        let wire = b"\r\nXYZ|1|\rPRC|abc|\rPRC|5|\r";
        let (decoded, consumed) = decode_all(wire, TijReply::decode);
        assert_eq!(consumed, wire.len());
        assert!(matches!(decoded[0], Err(TijCodecError::UnknownTag(_))));
        assert!(matches!(decoded[1], Err(TijCodecError::BadNumber { .. })));
        assert_eq!(decoded[2], Ok(TijReply::PrintComplete { id: 5 }));
    }
}
