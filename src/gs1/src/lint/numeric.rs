//! Digit-rule and small structured-field linters: `zero`, `nonzero`, `nozeroprefix`,
//! `hasnondigit`, `yesno`, `winding`, `pieceoftotal`, `posinseqslash`, `importeridx`,
//! `latitude`, `longitude`, `hyphen`.

use super::{LintFailure, LintResult};

/// `zero`: the component is the single digit 0.
pub fn zero(value: &str) -> LintResult {
    if value == "0" {
        Ok(())
    } else {
        Err(LintFailure::content(format!("{value} must be 0")))
    }
}

/// `nonzero`: a number that is not zero.
pub fn non_zero(value: &str) -> LintResult {
    if value.bytes().all(|b| b == b'0') {
        Err(LintFailure::content(format!("{value} must not be zero")))
    } else {
        Ok(())
    }
}

/// `nozeroprefix`: no leading zero unless the value is the single digit 0.
pub fn no_zero_prefix(value: &str) -> LintResult {
    if value.len() > 1 && value.starts_with('0') {
        Err(LintFailure::content(format!("{value} must not start with 0")).at(0))
    } else {
        Ok(())
    }
}

/// `hasnondigit`: at least one character is not a digit.
pub fn has_non_digit(value: &str) -> LintResult {
    if value.bytes().all(|b| b.is_ascii_digit()) {
        Err(LintFailure::content(format!(
            "{value} must contain at least one character that is not a digit"
        )))
    } else {
        Ok(())
    }
}

/// `yesno`: 0 (no) or 1 (yes).
pub fn yes_no(value: &str) -> LintResult {
    match value {
        "0" | "1" => Ok(()),
        _ => Err(LintFailure::content(format!(
            "{value} must be 0 (no) or 1 (yes)"
        ))),
    }
}

/// `winding`: 0 (face out), 1 (face in) or 9 (undefined).
pub fn winding(value: &str) -> LintResult {
    match value {
        "0" | "1" | "9" => Ok(()),
        _ => Err(LintFailure::content(format!(
            "{value} is not a winding direction: use 0, 1 or 9"
        ))),
    }
}

fn parse_digits(value: &str) -> Option<u64> {
    if value.is_empty() || value.len() > 18 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse().ok()
}

/// `pieceoftotal`: NNMM, piece number NN between 1 and the total MM.
pub fn piece_of_total(value: &str) -> LintResult {
    let half = value.len() / 2;
    let (piece, total) = (parse_digits(&value[..half]), parse_digits(&value[half..]));
    match (piece, total) {
        (Some(p), Some(t)) if p >= 1 && t >= 1 && p <= t => Ok(()),
        (Some(0), _) => Err(LintFailure::content(format!(
            "{value}: piece number 0 does not exist; pieces count from 1"
        ))),
        (_, Some(0)) => Err(LintFailure::content(format!(
            "{value}: the total number of pieces must be at least 1"
        ))),
        (Some(_), Some(_)) => Err(LintFailure::content(format!(
            "{value}: the piece number is greater than the total"
        ))),
        _ => Err(LintFailure::content(format!(
            "{value} must be digits: piece number then total"
        ))),
    }
}

/// `posinseqslash`: `<position>/<count>` with 1 <= position <= count, no leading zeros.
pub fn position_in_sequence(value: &str) -> LintResult {
    let bad = || {
        LintFailure::content(format!(
            "{value} must be <position>/<count>, e.g. 1/2, with the position not above the count"
        ))
    };
    let (pos, count) = value.split_once('/').ok_or_else(bad)?;
    let no_leading_zero = |s: &str| !s.starts_with('0');
    match (parse_digits(pos), parse_digits(count)) {
        (Some(p), Some(c))
            if no_leading_zero(pos) && no_leading_zero(count) && p >= 1 && p <= c =>
        {
            Ok(())
        }
        _ => Err(bad()),
    }
}

/// `importeridx`: one character of `0-9 A-Z a-z - _`.
pub fn importer_index(value: &str) -> LintResult {
    match value.as_bytes() {
        [b'0'..=b'9' | b'A'..=b'Z' | b'a'..=b'z' | b'-' | b'_'] => Ok(()),
        _ => Err(LintFailure::content(format!(
            "{value} is not an importer index: use one of 0-9, A-Z, a-z, '-' or '_'"
        ))),
    }
}

/// `latitude`: ten digits, (latitude + 90) x 10^7, at most 1800000000.
pub fn latitude(value: &str) -> LintResult {
    match parse_digits(value) {
        Some(v) if value.len() == 10 && v <= 1_800_000_000 => Ok(()),
        _ => Err(LintFailure::content(format!(
            "{value} is not a latitude: expected ten digits from 0000000000 to 1800000000 ((degrees + 90) x 10^7)"
        ))),
    }
}

/// `longitude`: ten digits, (longitude + 180) x 10^7, at most 3600000000.
pub fn longitude(value: &str) -> LintResult {
    match parse_digits(value) {
        Some(v) if value.len() == 10 && v <= 3_600_000_000 => Ok(()),
        _ => Err(LintFailure::content(format!(
            "{value} is not a longitude: expected ten digits from 0000000000 to 3600000000 ((degrees + 180) x 10^7)"
        ))),
    }
}

/// `hyphen`: the single character `-`.
pub fn hyphen(value: &str) -> LintResult {
    if value == "-" {
        Ok(())
    } else {
        Err(LintFailure::content(format!(
            "{value} must be '-' (a negative sign)"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn structured_fields() {
        assert!(piece_of_total("0102").is_ok());
        assert!(piece_of_total("0302").is_err());
        assert!(piece_of_total("0002").is_err());
        assert!(position_in_sequence("1/2").is_ok());
        assert!(position_in_sequence("3/2").is_err());
        assert!(position_in_sequence("0/2").is_err());
        assert!(latitude("1800000000").is_ok());
        assert!(latitude("1800000001").is_err());
        assert!(longitude("3600000000").is_ok());
        assert!(no_zero_prefix("0").is_ok());
        assert!(no_zero_prefix("01").is_err());
        assert!(importer_index("_").is_ok());
        assert!(importer_index("!").is_err());
    }
}
