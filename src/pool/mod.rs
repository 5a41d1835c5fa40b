//! Serial number pools, the pure part: what a serial the line may print looks like,
//! reading pool files (one serial per line, or CSV with a named column), and planning
//! and generating new serials (random with a CSPRNG, or sequential) under the EU FMD
//! guess-probability rule. No database here: the store owns the pools themselves
//! and takes serials in as [`SerialLine`]s (re-exported as `store::SerialLine`);
//! only [`request`], which asks a client's site server for serials and imports them
//! through the store, uses the store.

pub mod generate;
pub mod request;
pub mod serial_file;

pub use generate::{Alphabet, GenerationPlan, SerialOrder};
pub use serial_file::{SerialFileError, SerialFileReader};

/// A serial read from line `line` of a pool file (or the `line`-th serial of a site
/// server's answer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SerialLine {
    pub line: u64,
    pub serial: String,
}

/// Why line `line` of a pool file cannot be imported (line 0: the input as a whole).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LineProblem {
    pub line: u64,
    pub reason: String,
}

/// Longest serial the line prints (AI 21 is X..20).
pub const MAX_SERIAL_LENGTH: usize = 20;

/// Checks a serial against the station's rules (CSET 82, 1..=20 characters, then the
/// GS1 healthcare policy) and says exactly what is wrong.
pub fn check_serial_text(serial: &str) -> Result<(), String> {
    if serial.is_empty() {
        return Err("the serial is empty".to_string());
    }
    let chars = serial.chars().count();
    if chars > MAX_SERIAL_LENGTH {
        return Err(format!(
            "the serial is {chars} characters long; a GS1 serial has at most {MAX_SERIAL_LENGTH}"
        ));
    }
    if let Some(pos) = crate::gs1::cset::first_non_cset82(serial) {
        let bad = serial[pos..].chars().next().unwrap_or(' ');
        let hint = if bad.is_whitespace() {
            " (remove spaces and tabs)"
        } else {
            ""
        };
        return Err(format!(
            "character {bad:?} at position {} is not allowed in a GS1 serial (CSET 82){hint}",
            serial[..pos].chars().count() + 1
        ));
    }
    crate::gs1::policy::check_serial(serial).map_err(|e| e.to_string())
}
