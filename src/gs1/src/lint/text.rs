//! Text-structure linters: `pcenc` (percent-encoding validity) and `gcppos1`/`gcppos2`
//! (a GS1 Company Prefix starting at position 1 or 2).
//!
//! The GCP linters check plausibility only: GS1's table of allocated company prefixes
//! and their lengths is not available to the station, so they verify that at least
//! the shortest possible prefix (4 digits) is present as digits where the prefix must
//! start. A wrong-but-plausible company prefix is not detected here; the product
//! master's configured GCP length is the authority for EPC conversion.

use super::{LintFailure, LintResult};

/// The shortest GS1 Company Prefix (GS1-8 and one-off allocations aside).
pub const MIN_GCP_DIGITS: usize = 4;

/// `gcppos1` (`start` = 0) and `gcppos2` (`start` = 1).
pub fn gcp_at(value: &str, start: usize) -> LintResult {
    let bytes = value.as_bytes();
    let end = start + MIN_GCP_DIGITS;
    if bytes.len() < end {
        return Err(LintFailure::content(format!(
            "{value} is too short to hold a GS1 Company Prefix at position {}",
            start + 1
        )));
    }
    if let Some(p) = bytes[start..end].iter().position(|b| !b.is_ascii_digit()) {
        return Err(LintFailure::content(format!(
            "{value} does not start with a GS1 Company Prefix at position {}: character {} is not a digit",
            start + 1,
            start + p + 1
        ))
        .at(start + p));
    }
    Ok(())
}

/// `pcenc`: every `%` starts a two-hex-digit escape.
pub fn percent_encoding(value: &str) -> LintResult {
    let bytes = value.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let valid = bytes.len() >= i + 3
                && bytes[i + 1].is_ascii_hexdigit()
                && bytes[i + 2].is_ascii_hexdigit();
            if !valid {
                return Err(LintFailure::content(format!(
                    "{value}: '%' at position {} must be followed by two hexadecimal digits",
                    i + 1
                ))
                .at(i));
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    Ok(())
}
