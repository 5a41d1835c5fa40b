//! The short fuzzing pass CI runs: every target, a fixed seed, a few thousand
//! inputs (a few hundred for the slow ones), and no crash allowed. Also replays
//! every saved regression input in `fuzz/regressions/`.

use std::path::Path;

use serialstation_fuzz::runner::{Budget, execute, run_target};
use serialstation_fuzz::{show_bytes, targets};

const ITERATIONS: u64 = 2_000;
const SLOW_ITERATIONS: u64 = 200;

#[test]
fn every_target_survives_a_short_pass() {
    let mut failures = Vec::new();
    for target in targets() {
        let iterations = if target.slow {
            SLOW_ITERATIONS
        } else {
            ITERATIONS
        };
        let outcome = run_target(&target, Budget::Iterations(iterations), 1);
        assert!(
            outcome.executions >= iterations,
            "{} ran {} of {iterations} inputs",
            target.name,
            outcome.executions
        );
        for crash in &outcome.crashes {
            failures.push(format!(
                "target {}: {}\n  input ({} bytes): {}\n  replay: write the input to a file and run cargo run --release -p serialstation-fuzz -- --replay FILE --target {}",
                target.name,
                crash.message,
                crash.input.len(),
                show_bytes(&crash.input, 600),
                target.name
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} crash(es):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Inputs that once crashed a target, kept as `fuzz/regressions/<target>-<anything>`.
#[test]
fn saved_regressions_still_pass() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("regressions");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return;
    };
    let all = targets();
    let mut failures = Vec::new();
    for entry in entries.flatten() {
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let Some(target) = all
            .iter()
            .filter(|t| file_name.starts_with(&format!("{}-", t.name)))
            .max_by_key(|t| t.name.len())
        else {
            continue;
        };
        let Ok(input) = std::fs::read(entry.path()) else {
            continue;
        };
        if let Err(message) = execute(target, &input) {
            failures.push(format!("{file_name}: {message}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
