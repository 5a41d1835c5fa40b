//! Validation of AI values against their dictionary entry (format components,
//! character sets, linters) and of a whole element string against the association
//! rules (`req`, `ex`, repeated AIs with identical values).

use crate::ai::{AiEntry, ai_matches_pattern};
use crate::cset::Charset;
use crate::error::{Gs1Error, Gs1ErrorKind};
use crate::lint::LintContext;

/// The name of the key an AI carries, for check-digit messages.
fn key_name(ai: &str) -> &'static str {
    match ai {
        "00" => "SSCC",
        "01" | "02" | "03" => "GTIN",
        "8006" | "8026" => "ITIP",
        "253" => "GDTI",
        "255" => "GCN",
        "402" => "GSIN",
        "410" | "411" | "412" | "413" | "414" | "415" | "416" | "417" => "GLN",
        "8003" => "GRAI",
        "8013" => "GMN",
        "8014" => "MUDI",
        "8017" | "8018" => "GSRN",
        _ => "value",
    }
}

/// Describes a byte of a value for a message.
fn describe_byte(value: &[u8], offset: usize) -> String {
    match std::str::from_utf8(&value[offset..]) {
        Ok(rest) => crate::cset::describe_char_at(rest, 0),
        Err(_) => match value.get(offset) {
            Some(b) if b.is_ascii() => {
                crate::cset::describe_char_at(&char::from(*b).to_string(), 0)
            }
            // A non-ASCII character: show the whole character when the slice starts on one.
            _ => String::from_utf8_lossy(&value[offset..])
                .chars()
                .next()
                .map_or_else(
                    || "end of data".to_string(),
                    |c| format!("'{c}' (U+{:04X})", c as u32),
                ),
        },
    }
}

fn position_phrase(ai: &str, input_pos: Option<usize>) -> String {
    match input_pos {
        Some(p) => format!("AI ({ai}) at position {}", p + 1),
        None => format!("AI ({ai})"),
    }
}

/// Validates one value. `value_pos` is the byte offset of the value in the input (for
/// messages), when the value came from an input string.
pub fn validate_value(
    entry: &AiEntry,
    value: &str,
    value_pos: Option<usize>,
    ctx: &LintContext,
) -> Result<(), Gs1Error> {
    let ai = entry.ai;
    let bytes = value.as_bytes();
    let error = |kind: Gs1ErrorKind, offset: Option<usize>, message: String| {
        let pos = value_pos.map(|p| p + offset.unwrap_or(0));
        let mut e = Gs1Error::new(kind, message).with_ai(ai);
        if let Some(p) = pos {
            e = e.at(p);
        }
        e
    };
    if bytes.is_empty() {
        return Err(error(
            Gs1ErrorKind::Length,
            None,
            format!("{}: the value is empty", position_phrase(ai, value_pos)),
        ));
    }
    let mut pos = 0usize;
    for component in entry.components {
        let remaining = bytes.len() - pos;
        if remaining == 0 {
            if component.optional {
                break;
            }
            return Err(error(
                Gs1ErrorKind::Length,
                None,
                too_short_message(entry, value),
            ));
        }
        let take = if component.is_variable() {
            remaining.min(usize::from(component.max_len))
        } else {
            usize::from(component.max_len)
        };
        if take > remaining {
            return Err(error(
                Gs1ErrorKind::Length,
                None,
                too_short_message(entry, value),
            ));
        }
        let part = &bytes[pos..pos + take];
        if let Some(bad) = component.charset.first_invalid_byte(part) {
            let offset = pos + bad;
            let message = match value_pos {
                Some(p) => format!(
                    "AI ({ai}) at position {}: character {} is not allowed ({})",
                    p + offset + 1,
                    describe_byte(bytes, offset),
                    component.charset.name()
                ),
                None => format!(
                    "AI ({ai}): character {} at position {} of the value is not allowed ({})",
                    describe_byte(bytes, offset),
                    offset + 1,
                    component.charset.name()
                ),
            };
            return Err(error(Gs1ErrorKind::Charset, Some(offset), message));
        }
        // Every charset is ASCII-only, so the part is valid UTF-8 on its own.
        let part_str = std::str::from_utf8(part).map_err(|_| {
            error(
                Gs1ErrorKind::Charset,
                Some(pos),
                format!("AI ({ai}): the value is not valid text"),
            )
        })?;
        for linter in component.linters {
            if let Err(failure) = linter.check(part_str, ctx) {
                let mut message = format!("AI ({ai}): {}", failure.message);
                if failure.kind == Gs1ErrorKind::CheckDigit {
                    message.push_str(&format!(" ({} {part_str})", key_name(ai)));
                }
                return Err(error(
                    failure.kind,
                    Some(pos + failure.offset.unwrap_or(0)),
                    message,
                ));
            }
        }
        pos += take;
    }
    if pos < bytes.len() {
        let (min_total, max_total) = entry.length_range();
        let what = if entry
            .components
            .iter()
            .all(|c| c.charset == Charset::Numeric)
        {
            "digits"
        } else {
            "characters"
        };
        let message = if min_total == max_total {
            format!(
                "AI ({ai}): {value} has {} {what}; it must have exactly {max_total}",
                bytes.len()
            )
        } else {
            format!(
                "AI ({ai}): the value has {} {what}; at most {max_total} are allowed",
                bytes.len()
            )
        };
        return Err(error(Gs1ErrorKind::Length, Some(pos), message));
    }
    Ok(())
}

fn too_short_message(entry: &AiEntry, value: &str) -> String {
    let (min_total, max_total) = entry.length_range();
    let numeric = entry
        .components
        .iter()
        .all(|c| c.charset == Charset::Numeric);
    let what = if numeric { "digits" } else { "characters" };
    if min_total == max_total {
        format!(
            "AI ({}): {value} has {} {what}; it must have exactly {max_total}",
            entry.ai,
            value.len()
        )
    } else {
        format!(
            "AI ({}): {value} has {} {what}; it needs at least {min_total}",
            entry.ai,
            value.len()
        )
    }
}

/// One AI occurrence for the association checks.
pub struct Occurrence<'a> {
    pub entry: &'static AiEntry,
    pub value: &'a str,
}

/// Anything that carries an AI occurrence (lets callers check their own pair type
/// without building a separate list).
pub trait AsOccurrence {
    fn entry(&self) -> &'static AiEntry;
    fn value(&self) -> &str;
}

impl AsOccurrence for Occurrence<'_> {
    fn entry(&self) -> &'static AiEntry {
        self.entry
    }
    fn value(&self) -> &str {
        self.value
    }
}

fn format_group(group: &[&str]) -> String {
    group
        .iter()
        .map(|p| format!("({p})"))
        .collect::<Vec<_>>()
        .join(" with ")
}

fn format_alternatives(alternatives: &[&[&str]]) -> String {
    let parts: Vec<String> = alternatives.iter().map(|g| format_group(g)).collect();
    match parts.len() {
        0 => String::new(),
        1 => parts[0].clone(),
        n => format!("{} or {}", parts[..n - 1].join(", "), parts[n - 1]),
    }
}

/// Checks repeated AIs, `ex` and `req` over the whole element string.
pub fn validate_associations<T: AsOccurrence>(items: &[T]) -> Result<(), Gs1Error> {
    for (i, a) in items.iter().enumerate() {
        for b in &items[i + 1..] {
            if a.entry().ai == b.entry().ai && a.value() != b.value() {
                return Err(Gs1Error::new(
                    Gs1ErrorKind::Association,
                    format!(
                        "AI ({}) appears twice with different values ({} and {}); a repeated AI must carry the same value",
                        a.entry().ai,
                        a.value(),
                        b.value()
                    ),
                )
                .with_ai(a.entry().ai));
            }
        }
    }
    let present = |pattern: &str| {
        items
            .iter()
            .any(|b| ai_matches_pattern(b.entry().ai, pattern))
    };
    for a in items {
        let a_ai = a.entry().ai;
        for ex in a.entry().ex {
            for pattern in *ex {
                if let Some(b) = items
                    .iter()
                    .find(|b| b.entry().ai != a_ai && ai_matches_pattern(b.entry().ai, pattern))
                {
                    return Err(Gs1Error::new(
                        Gs1ErrorKind::Association,
                        format!(
                            "AI ({a_ai}) and AI ({}) may not appear together",
                            b.entry().ai
                        ),
                    )
                    .with_ai(a_ai));
                }
            }
        }
        for req in a.entry().req {
            if !req
                .iter()
                .any(|group| group.iter().all(|pattern| present(pattern)))
            {
                return Err(Gs1Error::new(
                    Gs1ErrorKind::Association,
                    format!(
                        "AI ({a_ai}) ({}) also requires {}",
                        a.entry().title,
                        format_alternatives(req)
                    ),
                )
                .with_ai(a_ai));
            }
        }
    }
    Ok(())
}
