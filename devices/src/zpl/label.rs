//! ZPL label codec, both directions: the host builds a label holding one GS1
//! DataMatrix (`^BX` with the escape character set explicitly to `_`, FNC1 as
//! `_1`, a literal `_` as `__`), and the printer's side parses a label back to
//! the DataMatrix data it must print; also the host's control commands (`~HS`,
//! `~PP`, `~PS`, `~JA`). Pure functions.

use crate::framing::Decoded;

/// Longest label format accepted between `^XA` and `^XZ`.
pub const MAX_FORMAT: usize = 8 * 1024;
/// Escape character this project always sets in `^BX`.
pub const ESCAPE: u8 = b'_';
/// Group separator (FNC1 separator in GS1 element strings).
const GS: u8 = 0x1D;

/// One label with one DataMatrix field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZplLabel {
    /// `^FO` origin, in dots.
    pub x: u16,
    pub y: u16,
    /// `^BX` module size (h), in dots (1..=100).
    pub module_dots: u8,
    /// True for a GS1 DataMatrix (the field data starts with FNC1 `_1`).
    pub gs1: bool,
    /// The symbol's data: GS where an FNC1 separator goes, no leading FNC1.
    pub data: Vec<u8>,
}

/// Host → printer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ZplCommand {
    /// `^XA … ^XZ`: a label format (queued in the printer's buffer, printed in order).
    Label(ZplLabel),
    /// `~HS`: host status (three lines back; no answer at all on some faults).
    HostStatus,
    /// `~PP`: pause after the current label.
    Pause,
    /// `~PS`: resume.
    Resume,
    /// `~JA`: cancel every format in the buffer.
    CancelAll,
}

/// What is wrong with a label or command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ZplError {
    #[error(
        "label data byte 0x{0:02X} cannot be printed in ZPL field data (only printable ASCII except ^ and ~, and GS for FNC1)"
    )]
    UnprintableData(u8),
    #[error("label format longer than {MAX_FORMAT} bytes without ^XZ")]
    FormatTooLong,
    #[error("unexpected bytes between ZPL commands: {0:?}")]
    Unexpected(String),
    #[error("ZPL label has no ^BX DataMatrix field")]
    NoDataMatrix,
    #[error("ZPL ^BX has no escape character set: set it explicitly (g parameter)")]
    NoEscape,
    #[error("ZPL ^BX parameters are malformed: {0}")]
    BadBarcodeParameters(&'static str),
    #[error("ZPL ^FO parameters are malformed")]
    BadOrigin,
    #[error("ZPL field data has a bad escape sequence at byte {0}")]
    BadEscape(usize),
    #[error("ZPL field data has no ^FS")]
    UnterminatedField,
    #[error("ZPL logistic label has no ^BC GS1-128 field")]
    NoLinear,
    #[error("ZPL ^BC field data is not GS1-128 (start code C, then FNC1 >8, then digits): {0}")]
    BadLinear(String),
}

pub(crate) fn check_data(data: &[u8]) -> Result<(), ZplError> {
    match data
        .iter()
        .find(|b| !(**b == GS || (0x20..0x7F).contains(*b) && **b != b'^' && **b != b'~'))
    {
        Some(bad) => Err(ZplError::UnprintableData(*bad)),
        None => Ok(()),
    }
}

impl ZplLabel {
    /// ZPL bytes of the label, e.g.
    /// `^XA^FO50,50^BXN,8,200,,,,_^FD_10109506000134352_121SN1^FS^XZ`.
    pub fn encode(&self) -> Result<Vec<u8>, ZplError> {
        check_data(&self.data)?;
        let mut out = format!(
            "^XA^FO{},{}^BXN,{},200,,,,{}^FD",
            self.x,
            self.y,
            self.module_dots,
            char::from(ESCAPE)
        )
        .into_bytes();
        if self.gs1 {
            out.extend_from_slice(&[ESCAPE, b'1']);
        }
        push_escaped(&mut out, &self.data);
        out.extend_from_slice(b"^FS^XZ");
        Ok(out)
    }
}

/// `^BX` field data with escape `_`: GS (an inner FNC1) as `_1`, `_` as `__`;
/// the inverse of [`unescape_field`].
pub(crate) fn push_escaped(out: &mut Vec<u8>, data: &[u8]) {
    for &byte in data {
        match byte {
            GS => out.extend_from_slice(&[ESCAPE, b'1']),
            ESCAPE => out.extend_from_slice(&[ESCAPE, ESCAPE]),
            other => out.push(other),
        }
    }
}

impl ZplCommand {
    /// Bytes on the wire.
    pub fn encode(&self) -> Result<Vec<u8>, ZplError> {
        match self {
            ZplCommand::Label(label) => label.encode(),
            ZplCommand::HostStatus => Ok(b"~HS".to_vec()),
            ZplCommand::Pause => Ok(b"~PP".to_vec()),
            ZplCommand::Resume => Ok(b"~PS".to_vec()),
            ZplCommand::CancelAll => Ok(b"~JA".to_vec()),
        }
    }

    /// Decodes one command from the front of `buf` (the printer's side). Whitespace
    /// between commands is skipped; anything else outside a format is garbage up to
    /// the next `^` or `~`.
    pub fn decode(buf: &[u8]) -> Decoded<ZplCommand, ZplError> {
        let blank = buf.iter().take_while(|b| b.is_ascii_whitespace()).count();
        if blank > 0 {
            return Decoded::Ignored { consumed: blank };
        }
        if buf.len() < 3 {
            return if b"^XA".starts_with(buf) || (buf.first() == Some(&b'~')) {
                Decoded::Incomplete
            } else {
                garbage(buf)
            };
        }
        match &buf[..3] {
            b"~HS" => Decoded::Message {
                message: ZplCommand::HostStatus,
                consumed: 3,
            },
            b"~PP" => Decoded::Message {
                message: ZplCommand::Pause,
                consumed: 3,
            },
            b"~PS" => Decoded::Message {
                message: ZplCommand::Resume,
                consumed: 3,
            },
            b"~JA" => Decoded::Message {
                message: ZplCommand::CancelAll,
                consumed: 3,
            },
            b"^XA" => {
                let end = buf.windows(3).position(|w| w == b"^XZ");
                match end {
                    Some(end) if end <= MAX_FORMAT => {
                        let consumed = end + 3;
                        match parse_format(&buf[3..end]) {
                            Ok(label) => Decoded::Message {
                                message: ZplCommand::Label(label),
                                consumed,
                            },
                            Err(error) => Decoded::Garbage { error, consumed },
                        }
                    }
                    Some(_) => Decoded::Garbage {
                        error: ZplError::FormatTooLong,
                        consumed: buf.len().min(MAX_FORMAT + 3),
                    },
                    None if buf.len() > MAX_FORMAT + 3 => Decoded::Garbage {
                        error: ZplError::FormatTooLong,
                        consumed: MAX_FORMAT,
                    },
                    None => Decoded::Incomplete,
                }
            }
            _ => garbage(buf),
        }
    }
}

pub(crate) fn garbage<T>(buf: &[u8]) -> Decoded<T, ZplError> {
    let consumed = buf
        .iter()
        .skip(1)
        .position(|b| *b == b'^' || *b == b'~')
        .map_or(buf.len(), |at| at + 1);
    Decoded::Garbage {
        error: ZplError::Unexpected(String::from_utf8_lossy(&buf[..consumed.min(32)]).into_owned()),
        consumed,
    }
}

/// One step of a label format: a command with its parameters, or the data of
/// a `^FD … ^FS` field.
pub(crate) enum FormatStep<'a> {
    Command { code: &'a [u8], params: &'a [u8] },
    Field(&'a [u8]),
}

/// Walks the commands between `^XA` and `^XZ` in order, handing each to `step`.
pub(crate) fn walk_format(
    body: &[u8],
    mut step: impl FnMut(FormatStep<'_>) -> Result<(), ZplError>,
) -> Result<(), ZplError> {
    let mut rest = body;
    while let Some(start) = rest.iter().position(|b| *b == b'^' || *b == b'~') {
        rest = &rest[start..];
        let code = rest.get(1..3).unwrap_or_default();
        if code == b"FD" {
            let fs = rest
                .windows(3)
                .position(|w| w == b"^FS")
                .ok_or(ZplError::UnterminatedField)?;
            step(FormatStep::Field(&rest[3..fs]))?;
            rest = &rest[fs + 3..];
            continue;
        }
        let params_end = rest[1..]
            .iter()
            .position(|b| *b == b'^' || *b == b'~')
            .map_or(rest.len(), |at| at + 1);
        step(FormatStep::Command {
            code,
            params: &rest[3.min(params_end)..params_end],
        })?;
        rest = &rest[params_end..];
    }
    Ok(())
}

/// Parses the commands between `^XA` and `^XZ`. Commands other than `^FO`, `^BX`
/// and `^FD … ^FS` are skipped (they do not change the symbol's data).
fn parse_format(body: &[u8]) -> Result<ZplLabel, ZplError> {
    let mut origin = (0u16, 0u16);
    let mut barcode: Option<(u8, u8)> = None;
    let mut label = None;
    walk_format(body, |step| {
        match step {
            FormatStep::Command {
                code: b"FO",
                params,
            } => origin = parse_origin(params)?,
            FormatStep::Command {
                code: b"BX",
                params,
            } => barcode = Some(parse_bx(params)?),
            FormatStep::Command { .. } => {}
            FormatStep::Field(field) => {
                if let Some((module_dots, escape)) = barcode {
                    let (gs1, data) = unescape_field(field, escape)?;
                    label = Some(ZplLabel {
                        x: origin.0,
                        y: origin.1,
                        module_dots,
                        gs1,
                        data,
                    });
                }
            }
        }
        Ok(())
    })?;
    label.ok_or(ZplError::NoDataMatrix)
}

pub(crate) fn parse_origin(params: &[u8]) -> Result<(u16, u16), ZplError> {
    let text = std::str::from_utf8(params).map_err(|_| ZplError::BadOrigin)?;
    let mut parts = text.split(',');
    let mut coordinate = || {
        parts
            .next()
            .map(str::trim)
            .unwrap_or("0")
            .parse::<u16>()
            .map_err(|_| ZplError::BadOrigin)
    };
    Ok((coordinate()?, coordinate()?))
}

/// `^BXo,h,s,c,r,f,g,a` → (module size h, escape character g).
pub(crate) fn parse_bx(params: &[u8]) -> Result<(u8, u8), ZplError> {
    let fields: Vec<&[u8]> = params.split(|b| *b == b',').collect();
    let module = fields
        .get(1)
        .ok_or(ZplError::BadBarcodeParameters("module size missing"))?;
    let module: u8 = std::str::from_utf8(module)
        .ok()
        .and_then(|m| m.trim().parse().ok())
        .filter(|m| (1..=100).contains(m))
        .ok_or(ZplError::BadBarcodeParameters(
            "module size must be 1 to 100 dots",
        ))?;
    if fields.get(2).is_some_and(|s| !s.is_empty() && *s != b"200") {
        return Err(ZplError::BadBarcodeParameters(
            "quality must be 200 (ECC 200)",
        ));
    }
    match fields.get(6) {
        Some([escape]) => Ok((module, *escape)),
        _ => Err(ZplError::NoEscape),
    }
}

/// Field data → (starts with FNC1, data with GS for inner FNC1).
pub(crate) fn unescape_field(field: &[u8], escape: u8) -> Result<(bool, Vec<u8>), ZplError> {
    let mut data = Vec::with_capacity(field.len());
    let mut gs1 = false;
    let mut index = 0;
    while index < field.len() {
        if field[index] != escape {
            data.push(field[index]);
            index += 1;
            continue;
        }
        match field.get(index + 1) {
            Some(b'1') if index == 0 => gs1 = true,
            Some(b'1') => data.push(GS),
            Some(next) if *next == escape => data.push(escape),
            _ => return Err(ZplError::BadEscape(index)),
        }
        index += 2;
    }
    Ok((gs1, data))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framing::decode_all;

    fn label() -> ZplLabel {
        ZplLabel {
            x: 50,
            y: 50,
            module_dots: 8,
            gs1: true,
            data: b"01095060001343521727013110ABC_123\x1d21SN0000001".to_vec(),
        }
    }

    #[test]
    fn gs1_label_is_byte_exact() {
        let bytes = label().encode().unwrap();
        assert_eq!(
            String::from_utf8(bytes.clone()).unwrap(),
            "^XA^FO50,50^BXN,8,200,,,,_^FD_101095060001343521727013110ABC__123_121SN0000001^FS^XZ"
        );
        assert_eq!(
            ZplCommand::decode(&bytes),
            Decoded::Message {
                message: ZplCommand::Label(label()),
                consumed: bytes.len()
            }
        );
    }

    #[test]
    fn stream_with_commands_and_garbage() {
        let mut wire = b"~HS\r\nxx".to_vec();
        wire.extend(label().encode().unwrap());
        wire.extend(b"~JA^XA^FDno barcode^FS^XZ");
        let (decoded, consumed) = decode_all(&wire, ZplCommand::decode);
        assert_eq!(consumed, wire.len());
        assert_eq!(decoded[0], Ok(ZplCommand::HostStatus));
        assert!(matches!(decoded[1], Err(ZplError::Unexpected(_))));
        assert_eq!(decoded[2], Ok(ZplCommand::Label(label())));
        assert_eq!(decoded[3], Ok(ZplCommand::CancelAll));
        assert_eq!(decoded[4], Err(ZplError::NoDataMatrix));
    }

    #[test]
    fn caret_in_data_is_refused() {
        let bad = ZplLabel {
            data: b"21A^B".to_vec(),
            ..label()
        };
        assert_eq!(bad.encode(), Err(ZplError::UnprintableData(b'^')));
    }
}
