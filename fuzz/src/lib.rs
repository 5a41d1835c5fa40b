//! serialstation-fuzz: fuzzing of every parser of outside input in serialstation, on
//! stable Rust, with no fuzzing engine: a small deterministic mutator ([`mutate`]),
//! a runner that catches panics and keeps a growing corpus ([`runner`]), and one
//! [`Target`] per parser.
//!
//! This crate owns the list of fuzz targets and their seeds. Outside input is what
//! comes from a device, a scanner, a site server, an operator's file or the
//! control socket: GS1 scan data, element strings, Digital Link and EPC URIs; the
//! wire codecs of the printers, cameras and PLC; control requests; site-server and
//! SerialBox answers; pool files; client and line configuration files; the EPCIS
//! documents the simulated site server reads.
//!
//! Every target feeds the bytes to the real parser and ignores its result: the
//! property is that a parser never panics and never hangs, whatever it is given.
//! Where it is cheap, a target also checks a round trip (a value parsed, written
//! back and parsed again is the same value) with `assert!`: a failed assert is a
//! finding like any panic.
//!
//! `cargo run --release -p serialstation-fuzz -- --seconds 600` fuzzes every
//! target; `cargo test -p serialstation-fuzz` runs a short pass (see `README.md`).

pub mod mutate;
pub mod runner;
mod targets;

use std::fmt::Write as _;

/// One parser under test.
#[derive(Clone, Copy)]
pub struct Target {
    /// Short name, used on the command line and in crash file names.
    pub name: &'static str,
    /// What is fuzzed: the input and the function(s) called.
    pub what: &'static str,
    /// Valid (and a few invalid) inputs to start from.
    pub seeds: fn() -> Vec<Vec<u8>>,
    /// Feeds one input to the parser; panics only on a finding.
    pub run: fn(&[u8]),
    /// Longest input the runner builds for this target.
    pub max_len: usize,
    /// Costly per input (image decoding, whole-file validation): the short pass
    /// runs fewer inputs.
    pub slow: bool,
}

/// Every target, in a stable order.
pub fn targets() -> Vec<Target> {
    let mut all = targets::gs1::targets();
    all.extend(targets::devices::targets());
    all.extend(targets::station::targets());
    all.extend(targets::simulator::targets());
    all
}

/// The target called `name`.
pub fn find_target(name: &str) -> Option<Target> {
    targets().into_iter().find(|t| t.name == name)
}

/// FNV-1a 64 of `bytes` (crash file names, per-target seeds).
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// `bytes` as an escaped, quoted string of at most `max` bytes (then a count of the rest).
pub fn show_bytes(bytes: &[u8], max: usize) -> String {
    let mut out = String::with_capacity(bytes.len().min(max) + 16);
    out.push('"');
    for &b in bytes.iter().take(max) {
        out.extend(std::ascii::escape_default(b).map(char::from));
    }
    out.push('"');
    if bytes.len() > max {
        let _ = write!(out, "… ({} more bytes)", bytes.len() - max);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_described() {
        let all = targets();
        let mut names: Vec<&str> = all.iter().map(|t| t.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), all.len(), "duplicate target names");
        for t in &all {
            assert!(!t.what.is_empty(), "{} has no description", t.name);
            assert!(t.max_len > 0, "{} has no input length", t.name);
            assert!(
                t.name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'_' || b.is_ascii_digit()),
                "{} is not a plain name",
                t.name
            );
            assert!(!(t.seeds)().is_empty(), "{} has no seeds", t.name);
        }
        assert!(find_target(all[0].name).is_some());
        assert!(find_target("no_such_target").is_none());
    }

    #[test]
    fn helpers() {
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(show_bytes(b"a\x1d\"", 10), "\"a\\x1d\\\"\"");
        assert_eq!(show_bytes(b"abcdef", 2), "\"ab\"… (4 more bytes)");
    }
}
