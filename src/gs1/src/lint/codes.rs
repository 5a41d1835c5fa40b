//! Code-list linters: `iso3166`, `iso3166999`, `iso3166alpha2`, `iso4217`, `iso5218`,
//! `packagetype`, `mediatype`. The lists themselves live in [`crate::data`].

use super::{LintFailure, LintResult};
use crate::data::{iso3166, iso4217, package_types};

/// `iso3166` (and `iso3166999`, which also accepts 999 = "unknown/multiple").
pub fn iso3166(value: &str, allow_999: bool) -> LintResult {
    if (allow_999 && value == "999") || iso3166::is_numeric_code(value) {
        Ok(())
    } else {
        Err(LintFailure::content(format!(
            "{value} is not an ISO 3166 numeric country code"
        )))
    }
}

/// `iso3166alpha2`: an ISO 3166 two-letter country code.
pub fn iso3166_alpha2(value: &str) -> LintResult {
    if iso3166::is_alpha2_code(value) {
        Ok(())
    } else {
        Err(LintFailure::content(format!(
            "{value} is not an ISO 3166 two-letter country code"
        )))
    }
}

/// `iso4217`: an ISO 4217 numeric currency code.
pub fn iso4217(value: &str) -> LintResult {
    if iso4217::is_numeric_code(value) {
        Ok(())
    } else {
        Err(LintFailure::content(format!(
            "{value} is not an ISO 4217 numeric currency code"
        )))
    }
}

/// `iso5218`: sex code 0 (not known), 1 (male), 2 (female), 9 (not applicable).
pub fn iso5218(value: &str) -> LintResult {
    match value {
        "0" | "1" | "2" | "9" => Ok(()),
        _ => Err(LintFailure::content(format!(
            "{value} is not an ISO 5218 code: use 0, 1, 2 or 9"
        ))),
    }
}

/// `packagetype`: a package type code (UN/ECE Recommendation 21 and GS1 additions).
pub fn package_type(value: &str) -> LintResult {
    if package_types::is_package_type(value) {
        Ok(())
    } else {
        Err(LintFailure::content(format!(
            "{value} is not a known package type code"
        )))
    }
}

/// `mediatype`: AIDC media type 01-10, or 80-99 for company-internal types.
pub fn media_type(value: &str) -> LintResult {
    match value.parse::<u8>() {
        Ok(1..=10 | 80..=99) if value.len() == 2 => Ok(()),
        _ => Err(LintFailure::content(format!(
            "{value} is not an AIDC media type: use 01 to 10, or 80 to 99 for company-internal types"
        ))),
    }
}
