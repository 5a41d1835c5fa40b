//! ZPL of a container's logistic label, both directions: the host writes the
//! human-readable lines (`^A0`), the SSCC as GS1-128 (`^BC` with start code C
//! `>;` and FNC1 `>8`) and the GS1 DataMatrix (`^BX`, escape `_`, FNC1 `_1`); a
//! printer's side parses the format back into those three. What goes on the
//! label is decided by the controller (`src/aggregation/logistic_label.rs`); this
//! module only writes and reads ZPL. Pure functions.

use super::label::{
    ESCAPE, FormatStep, ZplError, check_data, garbage, parse_bx, parse_origin, push_escaped,
    unescape_field, walk_format,
};
use crate::framing::Decoded;

/// Group separator (FNC1 separator in GS1 element strings).
const GS: u8 = 0x1D;
/// The label: 4 × 6 inches at 203 dpi (`^PW`, `^LL`), so that the layout
/// does not depend on the printer's stored settings.
const LABEL_WIDTH: u16 = 812;
const LABEL_LENGTH: u16 = 1218;
/// Left margin, first line and line pitch, in dots.
const MARGIN: u16 = 40;
const TEXT_TOP: u16 = 40;
const LINE_PITCH: u16 = 44;
/// GS1-128 narrow bar: 4 dots = 0.50 mm at 203 dpi (the GS1 logistic label
/// asks for at least 0.495 mm); bar height 260 dots = 32.5 mm (at least
/// 31.75 mm). The printer's own interpretation line is off: the HRI, with the
/// AI in parentheses, is printed as text under the bars.
const MODULE_DOTS: u16 = 4;
const BAR_HEIGHT: u16 = 260;

/// One logistic label: text lines and two symbols.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogisticLabelFormat {
    /// Human-readable lines, top to bottom (printable ASCII except `^` and `~`).
    pub text: Vec<String>,
    /// GS1-128 data: digits, GS where an inner FNC1 goes, no leading FNC1.
    pub linear: Vec<u8>,
    /// The GS1-128 symbol's human-readable line, e.g. `(00) 095060000000000015`.
    pub linear_text: String,
    /// GS1 DataMatrix data: GS where an inner FNC1 goes, no leading FNC1.
    pub matrix: Vec<u8>,
}

impl LogisticLabelFormat {
    /// ZPL bytes of the label, `^XA` to `^XZ`.
    pub fn encode(&self) -> Result<Vec<u8>, ZplError> {
        let mut out = format!("^XA^CI0^PW{LABEL_WIDTH}^LL{LABEL_LENGTH}").into_bytes();
        let mut y = TEXT_TOP;
        for line in &self.text {
            check_text(line)?;
            out.extend(format!("^FO{MARGIN},{y}^A0N,32,32^FD{line}^FS").into_bytes());
            y += LINE_PITCH;
        }
        y += LINE_PITCH / 2;
        out.extend(
            format!("^FO{MARGIN},{y}^BY{MODULE_DOTS}^BCN,{BAR_HEIGHT},N,N,N^FD>;>8").into_bytes(),
        );
        for &byte in &self.linear {
            match byte {
                GS => out.extend_from_slice(b">8"),
                b'0'..=b'9' => out.push(byte),
                other => {
                    return Err(ZplError::BadLinear(format!(
                        "byte 0x{other:02X}: a GS1-128 SSCC symbol holds digits only"
                    )));
                }
            }
        }
        out.extend_from_slice(b"^FS");
        y += BAR_HEIGHT + LINE_PITCH / 2;
        check_text(&self.linear_text)?;
        out.extend(format!("^FO{MARGIN},{y}^A0N,36,36^FD{}^FS", self.linear_text).into_bytes());
        y += 2 * LINE_PITCH;
        check_data(&self.matrix)?;
        out.extend(
            format!(
                "^FO{MARGIN},{y}^BXN,8,200,,,,{}^FD{}1",
                char::from(ESCAPE),
                char::from(ESCAPE)
            )
            .into_bytes(),
        );
        push_escaped(&mut out, &self.matrix);
        out.extend_from_slice(b"^FS^XZ");
        Ok(out)
    }

    /// Decodes one label format from the front of `buf` (the printer's side).
    /// Whitespace before it is skipped; anything else is garbage up to the next
    /// `^` or `~`.
    pub fn decode(buf: &[u8]) -> Decoded<LogisticLabelFormat, ZplError> {
        let blank = buf.iter().take_while(|b| b.is_ascii_whitespace()).count();
        if blank > 0 {
            return Decoded::Ignored { consumed: blank };
        }
        if buf.len() < 3 {
            return if b"^XA".starts_with(buf) {
                Decoded::Incomplete
            } else {
                garbage(buf)
            };
        }
        if &buf[..3] != b"^XA" {
            return garbage(buf);
        }
        match buf.windows(3).position(|w| w == b"^XZ") {
            Some(end) if end <= super::label::MAX_FORMAT => match parse(&buf[3..end]) {
                Ok(label) => Decoded::Message {
                    message: label,
                    consumed: end + 3,
                },
                Err(error) => Decoded::Garbage {
                    error,
                    consumed: end + 3,
                },
            },
            Some(end) => Decoded::Garbage {
                error: ZplError::FormatTooLong,
                consumed: end + 3,
            },
            None if buf.len() > super::label::MAX_FORMAT + 3 => Decoded::Garbage {
                error: ZplError::FormatTooLong,
                consumed: buf.len(),
            },
            None => Decoded::Incomplete,
        }
    }
}

/// A text field: printable, and no GS.
fn check_text(line: &str) -> Result<(), ZplError> {
    check_data(line.as_bytes())?;
    if line.as_bytes().contains(&GS) {
        return Err(ZplError::UnprintableData(GS));
    }
    Ok(())
}

/// Which kind of field the next `^FD` fills.
#[derive(Clone, Copy)]
enum Field {
    Text,
    Linear,
    Matrix { escape: u8 },
}

fn parse(body: &[u8]) -> Result<LogisticLabelFormat, ZplError> {
    let mut field = Field::Text;
    let mut text = Vec::new();
    let mut linear = None;
    let mut linear_text = None;
    let mut matrix = None;
    walk_format(body, |step| {
        match step {
            FormatStep::Command {
                code: b"FO",
                params,
            } => {
                parse_origin(params)?;
            }
            FormatStep::Command { code: b"BC", .. } => field = Field::Linear,
            FormatStep::Command {
                code: b"BX",
                params,
            } => {
                let (_, escape) = parse_bx(params)?;
                field = Field::Matrix { escape };
            }
            FormatStep::Command {
                code: [b'A', _], ..
            } => field = Field::Text,
            FormatStep::Command { .. } => {}
            FormatStep::Field(data) => {
                match field {
                    // The first text after the GS1-128 symbol is its HRI line.
                    Field::Text if linear.is_some() && linear_text.is_none() => {
                        linear_text = Some(String::from_utf8_lossy(data).into_owned());
                    }
                    Field::Text => text.push(String::from_utf8_lossy(data).into_owned()),
                    Field::Linear => linear = Some(linear_data(data)?),
                    Field::Matrix { escape } => {
                        let (gs1, data) = unescape_field(data, escape)?;
                        if !gs1 {
                            return Err(ZplError::BadBarcodeParameters(
                                "a logistic label's DataMatrix is GS1: its data starts with FNC1",
                            ));
                        }
                        matrix = Some(data);
                    }
                }
                field = Field::Text;
            }
        }
        Ok(())
    })?;
    Ok(LogisticLabelFormat {
        text,
        linear: linear.ok_or(ZplError::NoLinear)?,
        linear_text: linear_text.unwrap_or_default(),
        matrix: matrix.ok_or(ZplError::NoDataMatrix)?,
    })
}

/// `>;>8` then digits, `>8` for each inner FNC1 → digits with GS.
fn linear_data(field: &[u8]) -> Result<Vec<u8>, ZplError> {
    let body = field
        .strip_prefix(b">;>8")
        .ok_or_else(|| ZplError::BadLinear(String::from_utf8_lossy(field).into_owned()))?;
    let mut data = Vec::with_capacity(body.len());
    let mut index = 0;
    while index < body.len() {
        match (body[index], body.get(index + 1)) {
            (b'>', Some(b'8')) => {
                data.push(GS);
                index += 2;
            }
            (digit @ b'0'..=b'9', _) => {
                data.push(digit);
                index += 1;
            }
            _ => {
                return Err(ZplError::BadLinear(
                    String::from_utf8_lossy(field).into_owned(),
                ));
            }
        }
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label() -> LogisticLabelFormat {
        LogisticLabelFormat {
            text: vec![
                "SSCC 095060000000000015".to_string(),
                "COUNT (37) 48".to_string(),
            ],
            linear: b"00095060000000000015".to_vec(),
            linear_text: "(00) 095060000000000015".to_string(),
            matrix: b"0009506000000000001502095060001343521728113037\x1d10LOT_7".to_vec(),
        }
    }

    #[test]
    fn a_logistic_label_round_trips_byte_exact() {
        let bytes = label().encode().unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert_eq!(
            text,
            "^XA^CI0^PW812^LL1218^FO40,40^A0N,32,32^FDSSCC 095060000000000015^FS\
             ^FO40,84^A0N,32,32^FDCOUNT (37) 48^FS\
             ^FO40,150^BY4^BCN,260,N,N,N^FD>;>800095060000000000015^FS\
             ^FO40,432^A0N,36,36^FD(00) 095060000000000015^FS\
             ^FO40,520^BXN,8,200,,,,_^FD_10009506000000000001502095060001343521728113037_110LOT__7^FS^XZ"
        );
        assert_eq!(
            LogisticLabelFormat::decode(&bytes),
            Decoded::Message {
                message: label(),
                consumed: bytes.len()
            }
        );
    }

    #[test]
    fn a_label_without_both_symbols_or_with_bad_data_is_refused() {
        let no_linear = b"^XA^FO1,1^BXN,8,200,,,,_^FD_100095060000000000015^FS^XZ";
        assert!(matches!(
            LogisticLabelFormat::decode(no_linear),
            Decoded::Garbage {
                error: ZplError::NoLinear,
                ..
            }
        ));
        let letters = LogisticLabelFormat {
            linear: b"00ABC".to_vec(),
            ..label()
        };
        assert!(matches!(letters.encode(), Err(ZplError::BadLinear(_))));
        let caret = LogisticLabelFormat {
            text: vec!["A^B".to_string()],
            ..label()
        };
        assert_eq!(caret.encode(), Err(ZplError::UnprintableData(b'^')));
    }
}
