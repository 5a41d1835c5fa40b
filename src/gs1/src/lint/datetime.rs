//! Date and time linters: `yymmd0`, `yymmdd`, `yyyymmdd`, `hhmi`, `hh`, `mi`, `ss`.

use super::{LintFailure, LintResult};
use crate::date::Gs1Date;

/// `yymmd0` (`allow_day_zero`) and `yymmdd`.
pub fn yymmdd(value: &str, allow_day_zero: bool, current_year: i32) -> LintResult {
    Gs1Date::parse_yymmdd(value, allow_day_zero, current_year)
        .map(|_| ())
        .map_err(|e| LintFailure::date(e.message))
}

/// `yyyymmdd`.
pub fn yyyymmdd(value: &str) -> LintResult {
    Gs1Date::parse_yyyymmdd(value)
        .map(|_| ())
        .map_err(|e| LintFailure::date(e.message))
}

fn two_digit_number(value: &str, what: &str) -> Result<u8, LintFailure> {
    match value.as_bytes() {
        [a @ b'0'..=b'9', b @ b'0'..=b'9'] => Ok((a - b'0') * 10 + (b - b'0')),
        _ => Err(LintFailure::date(format!(
            "{value} is not a {what}: expected two digits"
        ))),
    }
}

fn in_range(value: &str, what: &str, max: u8) -> LintResult {
    let n = two_digit_number(value, what)?;
    if n > max {
        return Err(LintFailure::date(format!(
            "{value} is not a {what}: the largest is {max:02}"
        )));
    }
    Ok(())
}

/// `hh`: hour 00-23.
pub fn hour(value: &str) -> LintResult {
    in_range(value, "valid hour", 23)
}

/// `mi`: minute 00-59.
pub fn minute(value: &str) -> LintResult {
    in_range(value, "valid minute", 59)
}

/// `ss`: second 00-59.
pub fn second(value: &str) -> LintResult {
    in_range(value, "valid second", 59)
}

/// `hhmi`: HHMM, 0000-2359.
pub fn hhmi(value: &str) -> LintResult {
    if value.len() != 4 || !value.is_ascii() {
        return Err(LintFailure::date(format!(
            "{value} is not a time: expected four digits HHMM"
        )));
    }
    in_range(&value[..2], "valid hour", 23)
        .map_err(|e| LintFailure::date(format!("{value} is not a time: {}", e.message)))?;
    in_range(&value[2..], "valid minute", 59)
        .map_err(|e| LintFailure::date(format!("{value} is not a time: {}", e.message)).at(2))
}
