//! GS1 character sets: CSET 82 (`X`), CSET 39 (`Y`), CSET 64 (`Z`, base64url), and
//! digits (`N`). Each check is a 128-entry lookup table, so validating a value costs
//! one table read per byte.

/// A GS1 character set, as the format letter of a dictionary component names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Charset {
    /// `N`: digits 0-9.
    Numeric,
    /// `X`: GS1 CSET 82 (the 82 printable ASCII characters GS1 allows in data).
    Cset82,
    /// `Y`: GS1 CSET 39 (`#`, `-`, `/`, digits, upper-case letters).
    Cset39,
    /// `Z`: GS1 CSET 64, the base64url alphabet (`=` allowed only as trailing padding).
    Cset64,
}

impl Charset {
    /// The dictionary's format letter.
    pub fn letter(self) -> char {
        match self {
            Charset::Numeric => 'N',
            Charset::Cset82 => 'X',
            Charset::Cset39 => 'Y',
            Charset::Cset64 => 'Z',
        }
    }

    /// Human name used in error messages.
    pub fn name(self) -> &'static str {
        match self {
            Charset::Numeric => "digits only",
            Charset::Cset82 => "GS1 CSET 82",
            Charset::Cset39 => "GS1 CSET 39",
            Charset::Cset64 => "GS1 CSET 64 (base64url)",
        }
    }

    /// Byte offset of the first character of `s` outside this character set.
    pub fn first_invalid(self, s: &str) -> Option<usize> {
        self.first_invalid_byte(s.as_bytes())
    }

    /// Byte offset of the first byte outside this character set.
    #[inline]
    pub fn first_invalid_byte(self, bytes: &[u8]) -> Option<usize> {
        match self {
            Charset::Numeric => bytes.iter().position(|b| !b.is_ascii_digit()),
            Charset::Cset82 => bytes.iter().position(|&b| !is_cset82_byte(b)),
            Charset::Cset39 => bytes.iter().position(|&b| !is_cset39_byte(b)),
            Charset::Cset64 => first_non_cset64_bytes(bytes),
        }
    }
}

const fn build_cset82() -> [bool; 128] {
    let mut table = [false; 128];
    let mut b = 0x21;
    while b <= 0x7A {
        table[b] = true;
        b += 1;
    }
    // Printable ASCII 0x21..=0x7A minus the eight characters GS1 reserves.
    let excluded = b"#$@[\\]^`";
    let mut i = 0;
    while i < excluded.len() {
        table[excluded[i] as usize] = false;
        i += 1;
    }
    table
}

const CSET82: [bool; 128] = build_cset82();

/// True if the byte is in GS1 CSET 82.
#[inline]
pub fn is_cset82_byte(b: u8) -> bool {
    b < 128 && CSET82[b as usize]
}

/// True if the byte is in GS1 CSET 39.
#[inline]
pub fn is_cset39_byte(b: u8) -> bool {
    matches!(b, b'#' | b'-' | b'/' | b'0'..=b'9' | b'A'..=b'Z')
}

/// True if the byte is in the base64url alphabet (without padding).
#[inline]
pub fn is_base64url_byte(b: u8) -> bool {
    matches!(b, b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_')
}

/// True if every character of `s` is in GS1 CSET 82.
pub fn is_cset82(s: &str) -> bool {
    first_non_cset82(s).is_none()
}

/// Byte offset of the first character not in CSET 82, if any.
pub fn first_non_cset82(s: &str) -> Option<usize> {
    s.bytes().position(|b| !is_cset82_byte(b))
}

/// True if every character of `s` is in GS1 CSET 39.
pub fn is_cset39(s: &str) -> bool {
    s.bytes().all(is_cset39_byte)
}

/// Byte offset of the first character not allowed in CSET 64: base64url characters,
/// then at most two `=` padding characters at the very end of a value whose length
/// is a multiple of four.
pub fn first_non_cset64(s: &str) -> Option<usize> {
    first_non_cset64_bytes(s.as_bytes())
}

fn first_non_cset64_bytes(bytes: &[u8]) -> Option<usize> {
    let body_len = bytes.iter().rposition(|&b| b != b'=').map_or(0, |p| p + 1);
    if let Some(p) = bytes[..body_len]
        .iter()
        .position(|&b| !is_base64url_byte(b))
    {
        return Some(p);
    }
    let padding = bytes.len() - body_len;
    if padding > 0 && (padding > 2 || !bytes.len().is_multiple_of(4)) {
        return Some(body_len);
    }
    None
}

/// True if `s` is valid GS1 CSET 64.
pub fn is_cset64(s: &str) -> bool {
    first_non_cset64(s).is_none()
}

/// Describes a character for an error message: `'a'`, `' '` or `byte 0x1D`.
pub fn describe_char_at(s: &str, offset: usize) -> String {
    match s.get(offset..).and_then(|rest| rest.chars().next()) {
        Some(c) if c.is_ascii_graphic() || c == ' ' => format!("'{c}'"),
        Some(c) if c.is_ascii() => format!("control character 0x{:02X}", c as u32),
        Some(c) => format!("'{c}' (U+{:04X})", c as u32),
        None => "end of data".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cset82_has_exactly_82_characters() {
        let count = (0u8..128).filter(|&b| is_cset82_byte(b)).count();
        assert_eq!(count, 82);
        let expected =
            "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";
        let actual: String = (0u8..128)
            .filter(|&b| is_cset82_byte(b))
            .map(char::from)
            .collect();
        assert_eq!(actual, expected);
    }

    #[test]
    fn cset39_and_64() {
        assert!(is_cset39("AB-12/#"));
        assert!(!is_cset39("ab"));
        assert!(is_cset64("YWJj"));
        assert!(is_cset64("YWI="));
        assert!(is_cset64("YQ=="));
        assert!(!is_cset64("YQ="));
        assert!(!is_cset64("Y=Q="));
        assert!(!is_cset64("a+b"));
        assert_eq!(first_non_cset82("AB C"), Some(2));
        assert_eq!(first_non_cset82("Ä"), Some(0));
    }
}
