//! Regenerates `src/gs1/src/ai_table.rs` from the GS1 Barcode Syntax Dictionary.
//!
//! Usage: `cargo run -p serialstation-gs1 --example generate_ai_table [DICTIONARY] [OUTPUT]`
//! (defaults: `../shared/gs1/gs1-syntax-dictionary.txt` relative to the repository root,
//! and `src/gs1/src/ai_table.rs`). The table is marked `#[rustfmt::skip]`, so
//! `cargo fmt` leaves the generated text as it is. The test `dictionary_agreement`
//! fails when the checked-in table differs from what this writes.

use std::path::PathBuf;
use std::process::ExitCode;

use serialstation_gs1::dictionary::{parse_dictionary, render_ai_table};

fn main() -> ExitCode {
    let crate_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let repo_root = crate_dir.join("../..");
    let mut args = std::env::args().skip(1);
    let dictionary = args
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root.join("../shared/gs1/gs1-syntax-dictionary.txt"));
    let output = args
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(|| crate_dir.join("src/ai_table.rs"));
    let text = match std::fs::read_to_string(&dictionary) {
        Ok(t) => t,
        Err(e) => {
            eprintln!(
                "cannot read the dictionary {}: {e}; pass its path as the first argument",
                dictionary.display()
            );
            return ExitCode::from(1);
        }
    };
    let release = text
        .lines()
        .find_map(|l| {
            l.trim_start_matches('#')
                .trim()
                .strip_prefix("Release:")
                .map(str::trim)
        })
        .unwrap_or("unknown release");
    let entries = match parse_dictionary(&text) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("{}: {e}", dictionary.display());
            return ExitCode::from(1);
        }
    };
    let note = format!("GS1 Barcode Syntax Dictionary, release {release}");
    let source = match render_ai_table(&entries, &note) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("cannot build the table: {e}");
            return ExitCode::from(1);
        }
    };
    if let Err(e) = std::fs::write(&output, source) {
        eprintln!("cannot write {}: {e}", output.display());
        return ExitCode::from(1);
    }
    println!("wrote {} AIs to {}", entries.len(), output.display());
    ExitCode::SUCCESS
}
