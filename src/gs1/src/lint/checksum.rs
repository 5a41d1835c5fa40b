//! Check-character linters: `csum` (GS1 mod-10), `csumalpha` (the GS1 alphanumeric
//! check-character pair of AIs 8013/8014) and `iban` (ISO 13616 mod-97 with the
//! per-country length).

use super::{LintFailure, LintResult};
use crate::cset::is_cset82_byte;
use crate::data::iban_lengths::iban_length;
use crate::key::check_digit_bytes;

/// `csum`: the last digit is the GS1 mod-10 check digit of the others.
pub fn csum(value: &str) -> LintResult {
    let bytes = value.as_bytes();
    if bytes.len() < 2 {
        return Err(LintFailure::check_digit(format!(
            "{value} is too short to carry a check digit"
        )));
    }
    let (body, last) = bytes.split_at(bytes.len() - 1);
    let expected = check_digit_bytes(body)
        .ok_or_else(|| LintFailure::content(format!("{value} must be digits only")))?;
    let found = last[0].wrapping_sub(b'0');
    if expected != found {
        return Err(LintFailure::check_digit(format!(
            "check digit should be {expected}, found {}",
            last[0] as char
        ))
        .at(bytes.len() - 1));
    }
    Ok(())
}

/// The alphabet of the two check characters.
const CHECK_CHARACTERS: &[u8; 32] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";

/// Weights of the data characters, rightmost data character first.
const PRIME_WEIGHTS: [u32; 24] = [
    2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89,
];

/// The value of a character in the GS1 alphanumeric check: its index in CSET 82.
fn cset82_index(b: u8) -> Option<u32> {
    if !is_cset82_byte(b) {
        return None;
    }
    Some((0x21..b).filter(|&c| is_cset82_byte(c)).count() as u32)
}

/// The two check characters for `data` (the value without its check pair), or `None`
/// if `data` is longer than 24 characters or holds a character outside CSET 82.
pub fn csum_alpha_pair(data: &[u8]) -> Option<[u8; 2]> {
    if data.len() > PRIME_WEIGHTS.len() {
        return None;
    }
    let mut sum = 0u32;
    for (i, &b) in data.iter().rev().enumerate() {
        sum += PRIME_WEIGHTS[i] * cset82_index(b)?;
    }
    sum %= 1021;
    Some([
        CHECK_CHARACTERS[(sum >> 5) as usize],
        CHECK_CHARACTERS[(sum & 31) as usize],
    ])
}

/// `csumalpha`: the last two characters are the GS1 alphanumeric check pair.
pub fn csum_alpha(value: &str) -> LintResult {
    let bytes = value.as_bytes();
    if bytes.len() < 3 {
        return Err(LintFailure::check_digit(format!(
            "{value} is too short: it needs data followed by two check characters"
        )));
    }
    let (data, pair) = bytes.split_at(bytes.len() - 2);
    let expected = csum_alpha_pair(data).ok_or_else(|| {
        LintFailure::content(format!(
            "{value} is too long for an alphanumeric check pair"
        ))
    })?;
    if pair != expected {
        return Err(LintFailure::check_digit(format!(
            "check characters should be {}, found {}",
            String::from_utf8_lossy(&expected),
            String::from_utf8_lossy(pair)
        ))
        .at(bytes.len() - 2));
    }
    Ok(())
}

/// `iban`: country code, two check digits, BBAN of the country's length, mod-97 = 1.
pub fn iban(value: &str) -> LintResult {
    let bytes = value.as_bytes();
    if bytes.len() < 5 {
        return Err(LintFailure::content(format!(
            "{value} is too short to be an IBAN"
        )));
    }
    if !bytes[..2].iter().all(u8::is_ascii_uppercase) {
        return Err(LintFailure::content(format!(
            "{value} is not an IBAN: it must start with a two-letter country code"
        )));
    }
    let country = &value[..2];
    let Some(expected_len) = iban_length(country) else {
        return Err(LintFailure::content(format!(
            "{value} is not an IBAN: {country} is not an IBAN country"
        )));
    };
    if !bytes[2..4].iter().all(u8::is_ascii_digit) {
        return Err(LintFailure::content(format!(
            "{value} is not an IBAN: characters 3 and 4 must be check digits"
        ))
        .at(2));
    }
    if let Some(p) = bytes
        .iter()
        .position(|b| !(b.is_ascii_digit() || b.is_ascii_uppercase()))
    {
        return Err(LintFailure::content(format!(
            "{value} is not an IBAN: only digits and upper-case letters are allowed"
        ))
        .at(p));
    }
    if bytes.len() != usize::from(expected_len) {
        return Err(LintFailure::content(format!(
            "{value} is not an IBAN: an IBAN of {country} has {expected_len} characters, found {}",
            bytes.len()
        )));
    }
    let mut remainder: u32 = 0;
    for &b in bytes[4..].iter().chain(&bytes[..4]) {
        let v = if b.is_ascii_digit() {
            u32::from(b - b'0')
        } else {
            u32::from(b - b'A') + 10
        };
        remainder = if v >= 10 {
            (remainder * 100 + v) % 97
        } else {
            (remainder * 10 + v) % 97
        };
    }
    if remainder != 1 {
        return Err(LintFailure::check_digit(format!(
            "{value} is not an IBAN: its check digits are wrong"
        ))
        .at(2));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alphanumeric_pair() {
        assert!(csum_alpha("1987654Ad4X4bL5ttr2310c2K").is_ok());
        assert!(csum_alpha("1987654Ad4X4bL5ttr2310c2L").is_err());
    }

    #[test]
    fn ibans() {
        assert!(iban("GB82WEST12345698765432").is_ok());
        assert!(iban("DE89370400440532013000").is_ok());
        assert!(iban("DE89370400440532013001").is_err());
        assert!(iban("DE8937040044053201300").is_err());
        assert!(iban("XX89370400440532013000").is_err());
    }

    #[test]
    fn mod10() {
        assert!(csum("09506000134352").is_ok());
        assert!(csum("09506000134353").is_err());
    }
}
