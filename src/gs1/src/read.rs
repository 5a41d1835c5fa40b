//! Splitting the read forms into (AI, value, position) triples, before validation:
//! bracketed HRI, FNC1 notation (`^`), raw element strings with GS separators, and
//! scan data with a symbology identifier. Digital Link URIs are read in
//! [`crate::digital_link`].

use std::borrow::Cow;

use crate::ai::{AiEntry, ai_length_for_prefix, lookup};
use crate::error::{Gs1Error, Gs1ErrorKind};

/// ASCII GS, how scanners transmit an inter-element FNC1.
pub const GS: u8 = 0x1D;

/// One AI occurrence as read, not yet validated.
#[derive(Debug, Clone)]
pub struct RawPair<'a> {
    pub entry: &'static AiEntry,
    pub value: Cow<'a, str>,
    /// Byte offset of the value in the input.
    pub value_pos: usize,
}

fn syntax(message: String, pos: usize) -> Gs1Error {
    Gs1Error::new(Gs1ErrorKind::Syntax, message).at(pos)
}

/// Reads the AI starting at `pos` of an element string (digits only, length from the
/// two-digit prefix).
fn read_ai(bytes: &[u8], pos: usize) -> Result<&'static AiEntry, Gs1Error> {
    let rest = &bytes[pos..];
    let Some(len) = ai_length_for_prefix(rest) else {
        let shown = String::from_utf8_lossy(&rest[..rest.len().min(4)]);
        return Err(Gs1Error::new(
            Gs1ErrorKind::UnknownAi,
            format!(
                "position {}: {shown:?} does not start a GS1 Application Identifier",
                pos + 1
            ),
        )
        .at(pos));
    };
    let Some(ai_bytes) = rest.get(..len) else {
        return Err(syntax(
            format!(
                "position {}: the data ends inside an Application Identifier",
                pos + 1
            ),
            pos,
        ));
    };
    let ai = std::str::from_utf8(ai_bytes).unwrap_or("");
    if !ai_bytes.iter().all(u8::is_ascii_digit) {
        return Err(Gs1Error::new(
            Gs1ErrorKind::UnknownAi,
            format!(
                "position {}: {:?} is not a GS1 Application Identifier",
                pos + 1,
                String::from_utf8_lossy(ai_bytes)
            ),
        )
        .at(pos));
    }
    lookup(ai).ok_or_else(|| {
        Gs1Error::new(
            Gs1ErrorKind::UnknownAi,
            format!(
                "position {}: ({ai}) is not an AI of the GS1 Barcode Syntax Dictionary",
                pos + 1
            ),
        )
        .with_ai(ai)
        .at(pos)
    })
}

/// Splits an element string whose FNC1 separators are any byte in `separators`, from
/// byte `start` of `input`. Superfluous separators after predefined-length AIs and at
/// the end are tolerated; a separator at `start`, or two in a row after a
/// variable-length value, are errors.
pub fn split_element_string<'a>(
    input: &'a str,
    start: usize,
    separators: &[u8],
) -> Result<Vec<RawPair<'a>>, Gs1Error> {
    let bytes = input.as_bytes();
    let is_sep = |b: u8| separators.contains(&b);
    let mut pairs: Vec<RawPair<'a>> = Vec::with_capacity(6);
    let mut pos = start;
    if pos >= bytes.len() {
        return Err(syntax("there is no data after the prefix".to_string(), pos));
    }
    let mut previous_was_predefined = false;
    while pos < bytes.len() {
        if is_sep(bytes[pos]) {
            if pairs.is_empty() {
                return Err(syntax(
                    format!(
                        "position {}: an FNC1 separator cannot come before the first AI",
                        pos + 1
                    ),
                    pos,
                ));
            }
            if !previous_was_predefined {
                return Err(syntax(
                    format!(
                        "position {}: two FNC1 separators in a row (an empty element)",
                        pos + 1
                    ),
                    pos,
                ));
            }
            // Superfluous separator after a predefined-length AI: tolerated once.
            previous_was_predefined = false;
            pos += 1;
            continue;
        }
        let entry = read_ai(bytes, pos)?;
        let value_pos = pos + entry.ai.len();
        match entry.predefined_length() {
            Some(n) => {
                let end = value_pos + n;
                let available = &bytes[value_pos.min(bytes.len())..end.min(bytes.len())];
                if let Some(p) = available.iter().position(|&b| is_sep(b)) {
                    return Err(Gs1Error::new(
                        Gs1ErrorKind::Length,
                        format!(
                            "AI ({}) at position {}: the value has {p} characters before an FNC1 separator; it must have exactly {n}",
                            entry.ai,
                            value_pos + 1
                        ),
                    )
                    .with_ai(entry.ai)
                    .at(value_pos + p));
                }
                if end > bytes.len() {
                    return Err(Gs1Error::new(
                        Gs1ErrorKind::Length,
                        format!(
                            "AI ({}) at position {}: the data ends after {} of the {n} characters the value needs",
                            entry.ai,
                            value_pos + 1,
                            bytes.len().saturating_sub(value_pos)
                        ),
                    )
                    .with_ai(entry.ai)
                    .at(bytes.len()));
                }
                let value = input.get(value_pos..end).ok_or_else(|| {
                    Gs1Error::new(
                        Gs1ErrorKind::Charset,
                        format!(
                            "AI ({}) at position {}: the value holds a character that is not ASCII",
                            entry.ai,
                            value_pos + 1
                        ),
                    )
                    .with_ai(entry.ai)
                    .at(value_pos)
                })?;
                pairs.push(RawPair {
                    entry,
                    value: Cow::Borrowed(value),
                    value_pos,
                });
                previous_was_predefined = true;
                pos = end;
            }
            None => {
                let end = bytes[value_pos.min(bytes.len())..]
                    .iter()
                    .position(|&b| is_sep(b))
                    .map_or(bytes.len(), |p| value_pos + p);
                let value = input.get(value_pos..end).ok_or_else(|| {
                    Gs1Error::new(
                        Gs1ErrorKind::Charset,
                        format!(
                            "AI ({}) at position {}: the value holds a character that is not ASCII",
                            entry.ai,
                            value_pos + 1
                        ),
                    )
                    .with_ai(entry.ai)
                    .at(value_pos)
                })?;
                pairs.push(RawPair {
                    entry,
                    value: Cow::Borrowed(value),
                    value_pos,
                });
                previous_was_predefined = false;
                // Consume the terminating separator, if any.
                pos = if end < bytes.len() { end + 1 } else { end };
            }
        }
    }
    Ok(pairs)
}

/// Splits bracketed HRI `(01)...(10)...`; `\(` inside a value stands for `(`.
pub fn split_hri(input: &str) -> Result<Vec<RawPair<'_>>, Gs1Error> {
    let bytes = input.as_bytes();
    let mut pairs = Vec::with_capacity(6);
    let mut pos = 0;
    if bytes.is_empty() {
        return Err(syntax("the data is empty".to_string(), 0));
    }
    while pos < bytes.len() {
        if bytes[pos] != b'(' {
            return Err(syntax(
                format!("position {}: expected '(' to start an AI", pos + 1),
                pos,
            ));
        }
        let ai_start = pos + 1;
        let Some(close) = bytes[ai_start..]
            .iter()
            .position(|&b| b == b')')
            .map(|p| ai_start + p)
        else {
            return Err(syntax(
                format!(
                    "position {}: the AI in brackets is not closed with ')' (write a '(' inside a value as \\()",
                    pos + 1
                ),
                pos,
            ));
        };
        let ai = &input[ai_start..close];
        if !(2..=4).contains(&ai.len()) || !ai.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Gs1Error::new(
                Gs1ErrorKind::UnknownAi,
                format!(
                    "position {}: ({ai}) is not a GS1 Application Identifier (write a '(' inside a value as \\()",
                    ai_start + 1
                ),
            )
            .at(ai_start));
        }
        let entry = lookup(ai).ok_or_else(|| {
            Gs1Error::new(
                Gs1ErrorKind::UnknownAi,
                format!(
                    "position {}: ({ai}) is not an AI of the GS1 Barcode Syntax Dictionary",
                    ai_start + 1
                ),
            )
            .with_ai(ai)
            .at(ai_start)
        })?;
        let value_pos = close + 1;
        let mut end = value_pos;
        let mut escaped = false;
        while end < bytes.len() {
            match bytes[end] {
                b'\\' if bytes.get(end + 1) == Some(&b'(') => {
                    escaped = true;
                    end += 2;
                }
                b'(' => break,
                _ => end += 1,
            }
        }
        let raw = &input[value_pos..end];
        let value = if escaped {
            Cow::Owned(raw.replace("\\(", "("))
        } else {
            Cow::Borrowed(raw)
        };
        pairs.push(RawPair {
            entry,
            value,
            value_pos,
        });
        pos = end;
    }
    Ok(pairs)
}

impl crate::validate::AsOccurrence for RawPair<'_> {
    fn entry(&self) -> &'static AiEntry {
        self.entry
    }
    fn value(&self) -> &str {
        &self.value
    }
}

/// What a scan's symbology identifier says about its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanKind {
    /// GS1 mode (`]d2`, `]C1`, `]Q3`, `]e0`, `]J1`): an element string follows.
    Gs1ElementString,
    /// Plain data (`]d1`, `]Q1`, `]J0`, ...): only a Digital Link URI is GS1 data.
    PlainData,
}

/// Classifies a three-character symbology identifier such as `]d2`.
pub fn classify_symbology(identifier: &str) -> Option<ScanKind> {
    match identifier {
        "]d2" | "]C1" | "]Q3" | "]e0" | "]J1" => Some(ScanKind::Gs1ElementString),
        "]d1" | "]Q1" | "]J0" | "]C0" | "]d0" | "]Q0" => Some(ScanKind::PlainData),
        _ => None,
    }
}
