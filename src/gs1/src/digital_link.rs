//! GS1 Digital Link URIs: primary key and qualifiers in the path, data attributes in the
//! query. Reading splits a URI into AI values (validated like any element string by
//! [`crate::element`]); writing builds the canonical URI from validated values.

use std::borrow::Cow;

use crate::ai::{AiEntry, lookup};
use crate::element::AiValue;
use crate::error::{Gs1Error, Gs1ErrorKind};
use crate::read::RawPair;

/// The canonical GS1 resolver.
pub const CANONICAL_BASE: &str = "https://id.gs1.org";

const SCHEMES: [&str; 4] = ["https://", "http://", "HTTPS://", "HTTP://"];

/// True if `s` starts with one of the schemes a Digital Link may use.
pub fn looks_like_uri(s: &str) -> bool {
    SCHEMES.iter().any(|scheme| s.starts_with(scheme))
        || s.get(..8)
            .is_some_and(|p| p.eq_ignore_ascii_case("https://"))
        || s.get(..7)
            .is_some_and(|p| p.eq_ignore_ascii_case("http://"))
}

fn dl_error(message: String) -> Gs1Error {
    Gs1Error::new(Gs1ErrorKind::DigitalLink, message)
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes `%HH` escapes; `pos` is the segment's offset in the input, for messages.
pub fn percent_decode(segment: &str, pos: usize) -> Result<Cow<'_, str>, Gs1Error> {
    if !segment.contains('%') {
        return Ok(Cow::Borrowed(segment));
    }
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let decoded = match (
                bytes.get(i + 1).copied().and_then(hex_value),
                bytes.get(i + 2).copied().and_then(hex_value),
            ) {
                (Some(h), Some(l)) => h * 16 + l,
                _ => {
                    return Err(dl_error(format!(
                        "position {}: '%' must be followed by two hexadecimal digits",
                        pos + i + 1
                    ))
                    .at(pos + i));
                }
            };
            out.push(decoded);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map(Cow::Owned).map_err(|_| {
        dl_error(format!(
            "position {}: the percent-encoded value is not valid UTF-8",
            pos + 1
        ))
        .at(pos)
    })
}

/// Percent-encodes everything except the unreserved characters `A-Z a-z 0-9 - . _ ~`.
pub fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 8);
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn is_numeric_key(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Splits the Digital Link URI starting at byte `start` of `input` into AI values:
/// primary key and qualifiers from the path, data attributes from the query.
pub fn split_digital_link(input: &str, start: usize) -> Result<Vec<RawPair<'_>>, Gs1Error> {
    let uri = &input[start..];
    let scheme_len = SCHEMES
        .iter()
        .find(|s| uri.starts_with(*s))
        .map(|s| s.len())
        .ok_or_else(|| {
            dl_error("a GS1 Digital Link must start with http:// or https:// (all lower or all upper case)".to_string())
                .at(start)
        })?;
    let after_scheme = start + scheme_len;
    let rest = &input[after_scheme..];
    let rest = rest.split('#').next().unwrap_or("");
    let authority_len = rest.find(['/', '?']).unwrap_or(rest.len());
    if authority_len == 0 {
        return Err(dl_error("the Digital Link has no domain name".to_string()).at(after_scheme));
    }
    let path_start = after_scheme + authority_len;
    let after_authority = &rest[authority_len..];
    let (path, query) = match after_authority.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (after_authority, None),
    };
    let query_start = path_start + path.len() + 1;

    // Path segments with their offsets in the input.
    let mut segments: Vec<(&str, usize)> = Vec::new();
    let mut offset = path_start;
    for seg in path.split('/') {
        segments.push((seg, offset));
        offset += seg.len() + 1;
    }
    if segments.first().is_some_and(|(s, _)| s.is_empty()) {
        segments.remove(0);
    }
    if segments.last().is_some_and(|(s, _)| s.is_empty()) {
        segments.pop();
    }

    // Walk back from the end in (AI, value) pairs until the primary key.
    let path_pairs = match walk_path(&segments, segments.len()) {
        Ok(Some(pairs)) => pairs,
        outcome => {
            // A path such as /01/<GTIN>/21/<serial>/10 ends with an AI and no value:
            // say so, rather than that the pairs (shifted by one) are not AIs.
            if let Some(e) = dangling_ai(&segments) {
                return Err(e);
            }
            return Err(match outcome {
                Err(e) => e,
                Ok(_) => dl_error(
                    "the Digital Link path has no GS1 primary key (such as /01/<GTIN>)".to_string(),
                )
                .at(path_start),
            });
        }
    };
    let key = path_pairs[0].0;
    check_qualifier_order(key, &path_pairs[1..])?;

    let mut pairs: Vec<RawPair<'_>> = Vec::with_capacity(path_pairs.len() + 4);
    for (entry, raw, pos) in path_pairs {
        let mut value = percent_decode(raw, pos)?;
        let mut value_pos = pos;
        if entry.ai == "01"
            && matches!(value.len(), 8 | 12 | 13)
            && value.bytes().all(|b| b.is_ascii_digit())
        {
            // Padded to 14 digits: shift positions so that a digit of the padded
            // value points at the same digit of the input.
            value_pos = pos.saturating_sub(14 - value.len());
            value = Cow::Owned(format!("{value:0>14}"));
        }
        pairs.push(RawPair {
            entry,
            value,
            value_pos,
        });
    }

    if let Some(query) = query {
        let mut offset = query_start;
        for param in query.split('&') {
            let param_pos = offset;
            offset += param.len() + 1;
            if param.is_empty() {
                continue;
            }
            let (key, raw) = param.split_once('=').unwrap_or((param, ""));
            if !is_numeric_key(key) {
                continue; // Not an AI: other query parameters are ignored.
            }
            let entry = lookup(key).ok_or_else(|| {
                Gs1Error::new(
                    Gs1ErrorKind::UnknownAi,
                    format!(
                        "position {}: query parameter ({key}) is not a GS1 AI",
                        param_pos + 1
                    ),
                )
                .with_ai(key)
                .at(param_pos)
            })?;
            if !entry.dl_data_attribute {
                return Err(dl_error(format!(
                    "position {}: AI ({key}) may not be a Digital Link query attribute{}",
                    param_pos + 1,
                    if entry.dl_primary_key.is_some() {
                        " (it is a primary key)"
                    } else {
                        " (it belongs in the path)"
                    }
                ))
                .with_ai(key)
                .at(param_pos));
            }
            // After the '=', or at the end of a parameter that has none.
            let value_pos = param_pos + key.len() + usize::from(param.contains('='));
            let value = percent_decode(raw, value_pos)?;
            pairs.push(RawPair {
                entry,
                value,
                value_pos,
            });
        }
    }
    Ok(pairs)
}

/// An AI of the path with its value and the value's offset in the input.
type PathPair<'a> = (&'static AiEntry, &'a str, usize);

/// Walks back from `segments[..end]` in (AI, value) pairs until the primary key: the
/// pairs in path order, or `None` if no primary key is reached.
fn walk_path<'a>(
    segments: &[(&'a str, usize)],
    end: usize,
) -> Result<Option<Vec<PathPair<'a>>>, Gs1Error> {
    let mut path_pairs: Vec<PathPair<'a>> = Vec::new();
    let mut i = end.min(segments.len());
    while i >= 2 {
        let (ai, ai_pos) = segments[i - 2];
        let (value, value_pos) = segments[i - 1];
        if !is_numeric_key(ai) {
            break;
        }
        let entry = lookup(ai).ok_or_else(|| {
            Gs1Error::new(
                Gs1ErrorKind::UnknownAi,
                format!(
                    "position {}: ({ai}) in the Digital Link path is not a GS1 AI",
                    ai_pos + 1
                ),
            )
            .with_ai(ai)
            .at(ai_pos)
        })?;
        path_pairs.push((entry, value, value_pos));
        i -= 2;
        if entry.dl_primary_key.is_some() {
            path_pairs.reverse();
            return Ok(Some(path_pairs));
        }
    }
    Ok(None)
}

/// The error for a path whose last segment is an AI without a value (e.g.
/// `/01/<GTIN>/21/<serial>/10`): the last segment is a GS1 AI, and either the path
/// before it is a valid key and qualifiers, or the AI is itself a primary key.
fn dangling_ai(segments: &[(&str, usize)]) -> Option<Gs1Error> {
    let &(last, pos) = segments.last()?;
    if !is_numeric_key(last) {
        return None;
    }
    let entry = lookup(last)?;
    let before_is_a_link = matches!(walk_path(segments, segments.len() - 1), Ok(Some(_)));
    if !before_is_a_link && entry.dl_primary_key.is_none() {
        return None;
    }
    Some(
        dl_error(format!(
            "position {}: the Digital Link path ends with AI ({}) but gives it no value: add /<value> after it, or remove the trailing /{}",
            pos + 1,
            entry.ai,
            entry.ai
        ))
        .with_ai(entry.ai)
        .at(pos),
    )
}

/// The qualifiers must all belong to one alternative path of the key, in its order.
fn check_qualifier_order(
    key: &AiEntry,
    qualifiers: &[(&'static AiEntry, &str, usize)],
) -> Result<(), Gs1Error> {
    if qualifiers.is_empty() {
        return Ok(());
    }
    let alternatives = key.dl_primary_key.unwrap_or(&[]);
    let fits = |path: &[&str]| {
        let mut next = 0;
        qualifiers.iter().all(
            |(q, _, _)| match path[next..].iter().position(|p| *p == q.ai) {
                Some(k) => {
                    next += k + 1;
                    true
                }
                None => false,
            },
        )
    };
    if alternatives.iter().any(|path| fits(path)) {
        return Ok(());
    }
    let (first, _, pos) = qualifiers[0];
    if let Some(bad) = qualifiers
        .iter()
        .find(|(q, _, _)| !key.has_dl_qualifier(q.ai))
    {
        return Err(dl_error(format!(
            "position {}: AI ({}) is not a Digital Link qualifier of the primary key ({}){}",
            bad.2 + 1,
            bad.0.ai,
            key.ai,
            if bad.0.dl_data_attribute {
                format!("; put it in the query as ?{}=...", bad.0.ai)
            } else {
                String::new()
            }
        ))
        .with_ai(bad.0.ai)
        .at(bad.2));
    }
    let allowed: Vec<String> = alternatives
        .iter()
        .map(|p| p.iter().map(|a| format!("/{a}")).collect::<String>())
        .collect();
    Err(dl_error(format!(
        "position {}: the qualifiers after ({}) are in the wrong order or mixed; the allowed order is {}",
        pos + 1,
        key.ai,
        allowed.join(" or ")
    ))
    .with_ai(first.ai)
    .at(pos))
}

/// Builds the Digital Link URI for validated AI values on `base`.
pub fn to_digital_link(ais: &[AiValue], base: &str) -> Result<String, Gs1Error> {
    let base = base.trim_end_matches('/');
    if !looks_like_uri(base) || base.len() <= base.find("://").map_or(0, |p| p + 3) {
        return Err(dl_error(format!(
            "{base:?} is not a valid Digital Link base: use https://<domain>[/<path>]"
        )));
    }
    let entries: Vec<(&'static AiEntry, &AiValue)> = ais
        .iter()
        .map(|p| {
            lookup(&p.ai).map(|e| (e, p)).ok_or_else(|| {
                Gs1Error::new(
                    Gs1ErrorKind::UnknownAi,
                    format!("({}) is not a GS1 AI", p.ai),
                )
                .with_ai(p.ai.clone())
            })
        })
        .collect::<Result<_, _>>()?;
    let Some(key_index) = entries.iter().position(|(e, _)| e.dl_primary_key.is_some()) else {
        return Err(dl_error(
            "a Digital Link needs a primary key such as (01) GTIN or (00) SSCC, and this element string has none".to_string(),
        ));
    };
    let (key, key_value) = entries[key_index];
    let alternatives = key.dl_primary_key.unwrap_or(&[]);
    let mut used = vec![false; entries.len()];
    used[key_index] = true;
    // Mark duplicates of AIs already placed (identical values are guaranteed by validation).
    let qualifier_indexes: Vec<usize> = (0..entries.len())
        .filter(|&i| i != key_index && key.has_dl_qualifier(entries[i].0.ai))
        .collect();
    let mut path = format!("{base}/{}/{}", key.ai, percent_encode(&key_value.value));
    if !qualifier_indexes.is_empty() {
        let chosen = alternatives
            .iter()
            .find(|alt| {
                qualifier_indexes
                    .iter()
                    .all(|&i| alt.contains(&entries[i].0.ai))
            })
            .ok_or_else(|| {
                let names: Vec<String> = qualifier_indexes
                    .iter()
                    .map(|&i| format!("({})", entries[i].0.ai))
                    .collect();
                dl_error(format!(
                    "qualifiers {} cannot be used together after the primary key ({})",
                    names.join(" and "),
                    key.ai
                ))
            })?;
        for qualifier in chosen.iter() {
            if let Some(&i) = qualifier_indexes
                .iter()
                .find(|&&i| entries[i].0.ai == *qualifier)
            {
                path.push('/');
                path.push_str(qualifier);
                path.push('/');
                path.push_str(&percent_encode(&entries[i].1.value));
            }
        }
        for &i in &qualifier_indexes {
            used[i] = true;
        }
    }
    let mut query: Vec<String> = Vec::new();
    let mut placed: Vec<&str> = vec![key.ai];
    placed.extend(qualifier_indexes.iter().map(|&i| entries[i].0.ai));
    for (i, (entry, pair)) in entries.iter().enumerate() {
        if used[i] {
            continue;
        }
        if placed.contains(&entry.ai) {
            continue; // A repeated AI (same value) appears once in the URI.
        }
        if !entry.dl_data_attribute {
            return Err(dl_error(format!(
                "AI ({}) cannot be written in a Digital Link with primary key ({}): it is neither a qualifier of that key nor a data attribute",
                entry.ai, key.ai
            ))
            .with_ai(entry.ai));
        }
        placed.push(entry.ai);
        query.push(format!("{}={}", entry.ai, percent_encode(&pair.value)));
    }
    if !query.is_empty() {
        path.push('?');
        path.push_str(&query.join("&"));
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_ending_in_an_ai_without_a_value_says_so() {
        for (uri, ai) in [
            ("https://id.gs1.org/01/09506000134352/21/ABC/10", "10"),
            ("https://id.gs1.org/01/09506000134352/21/ABC/10/", "10"),
            ("https://id.gs1.org/01/09506000134352/10", "10"),
            ("https://id.gs1.org/01/09506000134352/22/X/10", "10"),
            ("https://id.gs1.org/01", "01"),
        ] {
            let err = split_digital_link(uri, 0).unwrap_err();
            assert_eq!(err.kind, Gs1ErrorKind::DigitalLink, "{uri}: {err}");
            assert!(
                err.message
                    .contains(&format!("ends with AI ({ai}) but gives it no value")),
                "{uri}: {err}"
            );
            assert_eq!(err.ai.as_deref(), Some(ai), "{uri}");
            assert_eq!(err.position, uri.rfind(ai), "{uri}");
        }
        // Digits that happen to be an AI are a value when they follow an AI.
        let pairs = split_digital_link("https://id.gs1.org/01/09506000134352/21/10", 0).unwrap();
        assert_eq!(pairs.len(), 2);
        assert_eq!(pairs[1].value, "10");
        // Without a primary key the message stays the same.
        let err = split_digital_link("https://id.gs1.org/10/ABC", 0).unwrap_err();
        assert!(err.message.contains("no GS1 primary key"), "{err}");
        let err = split_digital_link("https://id.gs1.org/21/ABC/10", 0).unwrap_err();
        assert!(err.message.contains("no GS1 primary key"), "{err}");
    }
}
