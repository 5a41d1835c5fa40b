//! Checks every table of a client file shares: a field that must be present, a name
//! an operator reads back, a value shown in messages, and the span a problem is
//! located at. Each records its problem in the [`Locator`] and returns what it
//! accepted.

use std::ops::Range;

use toml::Spanned;

use crate::config::located::Locator;
use crate::config::text::{MAX_NAME_CHARS, describe_char, first_unsafe_char, why_unsafe};

/// Where a value is written, for locating a problem with it.
pub(super) fn span_of<T>(s: &Spanned<T>) -> Range<usize> {
    s.span()
}

/// The value of a field that must be given; when it is missing, an error at the
/// table that should hold it says which key to add.
pub(super) fn required<'a, T>(
    value: &'a Option<Spanned<T>>,
    table_span: Range<usize>,
    field: &str,
    loc: &mut Locator<'_>,
) -> Option<&'a Spanned<T>> {
    if value.is_none() {
        loc.error(
            table_span,
            field,
            format!(
                "missing: add `{}`",
                field.rsplit('.').next().unwrap_or(field)
            ),
        );
    }
    value.as_ref()
}

/// A name an operator reads back (client and product names): not empty, at most
/// [`MAX_NAME_CHARS`] characters, and plain text (no control or bidirectional
/// characters, see [`crate::config::text`]).
pub(super) fn operator_text(
    value: &Spanned<String>,
    field: &str,
    loc: &mut Locator<'_>,
) -> Option<String> {
    let raw = value.get_ref();
    let text = raw.trim();
    if text.is_empty() {
        loc.error(span_of(value), field, "must not be empty");
        return None;
    }
    let mut ok = true;
    let chars = raw.chars().count();
    if chars > MAX_NAME_CHARS {
        ok = false;
        loc.error(
            span_of(value),
            field,
            format!(
                "is {chars} characters long; a name may have at most {MAX_NAME_CHARS} characters: shorten it"
            ),
        );
    }
    if let Some((position, c)) = first_unsafe_char(raw) {
        ok = false;
        loc.error(
            span_of(value),
            field,
            format!(
                "contains the character {} at character {position} of the name: {}; remove it and write the name as plain text",
                describe_char(c),
                why_unsafe(c)
            ),
        );
    }
    ok.then(|| text.to_string())
}

/// A URL or path the station shows in messages: refused if it contains a control or
/// bidirectional character (see [`crate::config::text`]).
pub(super) fn plain_value(
    value: &Spanned<String>,
    field: &str,
    what: &str,
    loc: &mut Locator<'_>,
) -> bool {
    match first_unsafe_char(value.get_ref()) {
        None => true,
        Some((position, c)) => {
            loc.error(
                span_of(value),
                field,
                format!(
                    "contains the character {} at character {position}: {}; a {what} has none, so remove it",
                    describe_char(c),
                    why_unsafe(c)
                ),
            );
            false
        }
    }
}
