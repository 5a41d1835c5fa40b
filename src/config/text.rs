//! Text an operator reads back (client and product names, messages that quote a
//! file): what may appear in it, how long it may be, and how to show text that
//! breaks those rules without letting it act on the terminal.
//!
//! Control characters (C0, DEL, C1) can move the cursor, clear the screen or hide
//! text (`"\u{1b}[2J"` clears a terminal); bidirectional overrides and isolates
//! (U+202A to U+202E, U+2066 to U+2069) make text display in another order than it
//! is stored; line and paragraph separators (U+2028, U+2029) break lines. None of
//! them belongs in a name.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Most bytes a configuration file may have. The example client files are a few
/// KiB; a file this large is not a client file (or is one with something pasted
/// into it by mistake), and reading it would only produce pages of errors.
pub const MAX_FILE_BYTES: usize = 1024 * 1024;

/// Most characters of a client or product name: names are shown in lists, on the
/// operator's screen and in audit records, where a long one is unreadable. The
/// longest real product names (name, strength, form, pack size) are about 100.
pub const MAX_NAME_CHARS: usize = 200;

/// True for a character that must not appear in text shown to an operator: a
/// control character (C0, DEL, C1), a bidirectional override or isolate, or a line
/// or paragraph separator.
pub fn is_unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{2028}' | '\u{2029}'
        )
}

/// The first unsafe character of `text` (see [`is_unsafe_char`]) and its position,
/// counted in characters from 1.
pub fn first_unsafe_char(text: &str) -> Option<(usize, char)> {
    text.chars()
        .enumerate()
        .find(|(_, c)| is_unsafe_char(*c))
        .map(|(i, c)| (i + 1, c))
}

/// What a character is, for messages: `U+001B (escape)`.
pub fn describe_char(c: char) -> String {
    let name = match c {
        '\u{0}' => "NUL, the null character",
        '\t' => "tab",
        '\n' => "line feed",
        '\r' => "carriage return",
        '\u{7}' => "bell",
        '\u{8}' => "backspace",
        '\u{1b}' => "escape, which starts terminal control sequences",
        '\u{7f}' => "delete",
        '\u{85}' => "next line",
        '\u{9b}' => "control sequence introducer",
        '\u{202A}' => "left-to-right embedding",
        '\u{202B}' => "right-to-left embedding",
        '\u{202C}' => "pop directional formatting",
        '\u{202D}' => "left-to-right override",
        '\u{202E}' => "right-to-left override",
        '\u{2066}' => "left-to-right isolate",
        '\u{2067}' => "right-to-left isolate",
        '\u{2068}' => "first strong isolate",
        '\u{2069}' => "pop directional isolate",
        '\u{2028}' => "line separator",
        '\u{2029}' => "paragraph separator",
        _ if u32::from(c) < 0x20 => "a control character",
        _ if c.is_control() => "a C1 control character",
        _ => "an invisible formatting character",
    };
    format!("U+{:04X} ({name})", u32::from(c))
}

/// Why an unsafe character is refused, for messages.
pub fn why_unsafe(c: char) -> &'static str {
    if c.is_control() {
        "control characters can rewrite or hide what the operator's screen shows"
    } else if matches!(c, '\u{2028}' | '\u{2029}') {
        "a line break here would split the line the operator reads"
    } else {
        "bidirectional controls make text display in a different order than it is stored"
    }
}

/// `text` with every unsafe character (see [`is_unsafe_char`]) written visibly as
/// `\u{1b}`, so that text from a file or an older store cannot act on the terminal.
pub fn escape_unsafe(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_unsafe_char(c) {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// JSON text with every unsafe character written as a JSON `\uXXXX` escape: the
/// same JSON value, safe to print on a terminal. (`serde_json` escapes C0 controls
/// itself, but not DEL, C1 controls or bidirectional controls; all of them are in
/// the Basic Multilingual Plane, so one `\uXXXX` each is enough, and outside
/// strings JSON text has none of them.)
pub fn escape_unsafe_json(json: &str) -> Cow<'_, str> {
    if !json.chars().any(is_unsafe_char) {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len() + 8);
    for c in json.chars() {
        if is_unsafe_char(c) {
            let _ = write!(out, "\\u{:04x}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsafe_characters_are_found_and_escaped() {
        assert_eq!(first_unsafe_char("Examplamol 500 mg"), None);
        assert_eq!(first_unsafe_char("Ex\u{1b}[2J"), Some((3, '\u{1b}')));
        assert_eq!(first_unsafe_char("abc\u{202E}fed"), Some((4, '\u{202E}')));
        assert_eq!(first_unsafe_char("é\u{9b}"), Some((2, '\u{9b}')));
        assert_eq!(first_unsafe_char("a\u{0}"), Some((2, '\u{0}')));
        assert!(describe_char('\u{1b}').starts_with("U+001B (escape"));
        assert!(describe_char('\u{202E}').starts_with("U+202E (right-to-left override"));
        assert_eq!(escape_unsafe("Acme"), "Acme");
        assert_eq!(
            escape_unsafe("A\u{1b}[2Jb\u{202e}"),
            "A\\u{1b}[2Jb\\u{202e}"
        );
        assert_eq!(escape_unsafe_json("\"a\u{9b}b\""), "\"a\\u009bb\"");
        let json = escape_unsafe_json("[\"x\u{202e}y\u{7f}\"]");
        let back: Vec<String> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, ["x\u{202e}y\u{7f}"]);
    }
}
