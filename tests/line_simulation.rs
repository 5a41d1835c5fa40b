//! Deterministic simulation of the line engine: the engine driven by the simulator's
//! line model (printer, camera and PLC faults from the simulator's catalogue, device
//! disconnects) for over a million items across many seeds, with the invariants
//! checked after every step.
//!
//! A failure prints its seed; `SEED=<n> cargo test --test line_simulation` replays
//! exactly that seed. `SIM_ITEMS=<n>` changes the total number of items.

use serialstation::line_sim::profiles;
use serialstation::line_sim::{Faults, SimReport, SimSettings, run_seed};

/// Items per seed; the seeds together run [`total_items`].
const ITEMS_PER_SEED: u64 = 10_000;

fn total_items() -> u64 {
    std::env::var("SIM_ITEMS")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(1_000_000)
}

/// The fault profile a seed runs with (part of the seed, so a replay is exact).
fn profile_for(seed: u64) -> (&'static str, Faults) {
    match seed % 10 {
        0 => ("none", profiles::none()),
        1 | 2 => ("harsh", profiles::harsh()),
        _ => ("default", profiles::default_faults()),
    }
}

fn run(seed: u64) -> Result<SimReport, String> {
    let (name, faults) = profile_for(seed);
    run_seed(seed, &SimSettings::new(ITEMS_PER_SEED, faults)).map_err(|failure| {
        format!(
            "{failure}\n  faults: {name}\n  replay: SEED={seed} cargo test --test line_simulation"
        )
    })
}

#[test]
fn a_million_items_keep_every_invariant() {
    if let Some(seed) = std::env::var("SEED")
        .ok()
        .and_then(|text| text.parse::<u64>().ok())
    {
        match run(seed) {
            Ok(report) => println!("seed {seed}: {report:?}"),
            Err(failure) => panic!("{failure}"),
        }
        return;
    }
    let seeds = total_items().div_ceil(ITEMS_PER_SEED);
    let mut total = SimReport::default();
    for seed in 1..=seeds {
        let report = match run(seed) {
            Ok(report) => report,
            Err(failure) => panic!("{failure}"),
        };
        total.items += report.items;
        total.steps += report.steps;
        total.batches += report.batches;
        total.commissioned += report.commissioned;
        total.scrapped += report.scrapped;
        total.returned += report.returned;
        total.invalidated += report.invalidated;
        total.good_verdicts += report.good_verdicts;
        total.reject_verdicts += report.reject_verdicts;
        total.holds += report.holds;
        total.escaped += report.escaped;
        total.challenges_failed += report.challenges_failed;
        total.abandoned_batches += report.abandoned_batches;
        total.stall_stops += report.stall_stops;
    }
    println!("{seeds} seeds: {total:?}");
    // A stall stop is the simulated operator giving up on a line that stopped
    // feeding: rare, or the model or the engine has a problem to look at.
    assert!(
        total.stall_stops * 100 <= total.batches,
        "{} of {} batches stalled and were stopped early",
        total.stall_stops,
        total.batches
    );
    assert!(
        total.items >= total_items(),
        "ran {} items, wanted {}",
        total.items,
        total_items()
    );
    assert!(
        total.commissioned > total.items / 2,
        "too few items commissioned: {total:?}"
    );
    assert!(
        total.reject_verdicts > 0 && total.holds > 0 && total.escaped > 0,
        "faults were not exercised: {total:?}"
    );
}

#[test]
fn the_same_seed_replays_exactly() {
    let settings = SimSettings::new(3_000, profiles::harsh());
    let first = run_seed(42, &settings).map_err(|failure| failure.to_string());
    let second = run_seed(42, &settings).map_err(|failure| failure.to_string());
    assert_eq!(first, second);
}

#[test]
fn a_decision_window_in_milliseconds_keeps_the_invariants() {
    let mut settings = SimSettings::new(20_000, profiles::default_faults());
    // The model's step is a millisecond; the camera sits 16 steps before the decision
    // point at full speed.
    settings.engine.decision_window = serialstation::line::DecisionWindow::Millis(14);
    for seed in [7, 8] {
        if let Err(failure) = run_seed(seed, &settings) {
            panic!("{failure}\n  (millisecond window; replay with this test)");
        }
    }
}
