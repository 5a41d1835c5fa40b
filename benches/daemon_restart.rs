//! Restart of the real station daemon after `kill -9`, timed.
//!
//! One long batch on the simulated line (in-process, loopback sockets), the daemon
//! killed with SIGKILL at seeded random instants and started again on the same
//! store each time. Per restart it measures, from the new process's spawn:
//! - the first answer on the control socket;
//! - the batch recovered and held ("restart to held");
//! - the slowest status answer while the recovery ran (a blocked socket shows here);
//! - what the restart cost in serials (the daemon's `recovery of batch …` line).
//!
//! ```sh
//! cargo bench --bench daemon_restart -- --restarts 40 --rate 1200 --seed 5
//! ```
//! The status is polled every 2 ms through the control socket, so each figure is
//! late by at most that. Figures go to BENCHMARKS.md ("Restart").

#[path = "../tests/daemon_support/mod.rs"]
mod daemon_support;

use std::time::{Duration, Instant};

use daemon_support::{Line, LineOptions};
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};
use serialstation::control::client::call_with_timeout;
use serialstation::control::protocol::{Request, StatusReport};

const POLL: Duration = Duration::from_millis(2);
const GIVE_UP: Duration = Duration::from_secs(60);

struct Args {
    restarts: usize,
    rate: f64,
    seed: u64,
}

fn parse_args() -> Args {
    let mut args = Args {
        restarts: 40,
        rate: 1_200.0,
        seed: 5,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .unwrap_or_else(|| panic!("{name} needs a value"))
                .parse::<f64>()
                .unwrap_or_else(|e| panic!("{name}: {e}"))
        };
        match arg.as_str() {
            "--restarts" => args.restarts = value("--restarts") as usize,
            "--rate" => args.rate = value("--rate"),
            "--seed" => args.seed = value("--seed") as u64,
            // cargo bench passes --bench; anything else is a mistake worth saying.
            "--bench" => {}
            other => panic!("unknown argument {other}: use --restarts N --rate R --seed S"),
        }
    }
    args
}

/// One restart's figures.
struct Restart {
    answer: Duration,
    held: Duration,
    slowest_status: Duration,
}

fn held_after_recovery(status: &StatusReport) -> bool {
    status.recovering.is_none()
        && status
            .batch
            .as_ref()
            .and_then(|b| b.hold.as_deref())
            .is_some_and(|h| h.contains("recovered"))
}

/// Spawns the daemon and polls its socket until the batch is held after recovery.
fn timed_restart(line: &mut Line) -> Restart {
    let began = Instant::now();
    line.spawn_daemon();
    let mut answer = None;
    let mut slowest = Duration::ZERO;
    loop {
        assert!(
            began.elapsed() < GIVE_UP,
            "the restarted daemon did not hold the batch within {GIVE_UP:?}:\n{}",
            line.log_tail()
        );
        let asked = Instant::now();
        if let Ok(response) = call_with_timeout(&line.socket, &line.db, &Request::Status, GIVE_UP) {
            let took = asked.elapsed();
            answer.get_or_insert_with(|| began.elapsed());
            slowest = slowest.max(took);
            if response.status.as_ref().is_some_and(held_after_recovery) {
                return Restart {
                    answer: answer.unwrap_or_default(),
                    held: began.elapsed(),
                    slowest_status: slowest,
                };
            }
        }
        std::thread::sleep(POLL);
    }
}

/// Runs the line for `run`, resuming any hold as an operator would.
fn run_for(line: &mut Line, run: Duration) {
    let until = Instant::now() + run;
    while Instant::now() < until {
        if let Ok(response) = call_with_timeout(
            &line.socket,
            &line.db,
            &Request::Status,
            Duration::from_secs(5),
        ) && let Some(batch) = response.status.and_then(|s| s.batch)
            && batch.state == "paused"
        {
            line.cli(&["batch", "resume"]);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn row(name: &str, mut values: Vec<Duration>) {
    values.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "| {name} | {:.0} | {:.0} | {:.0} | {:.0} |",
        ms(percentile(&values, 0.5)),
        ms(percentile(&values, 0.9)),
        ms(percentile(&values, 0.99)),
        ms(*values.last().unwrap_or(&Duration::ZERO))
    );
}

/// Sums the `recovery of batch …: N serials returned with proof, M invalidated` lines.
fn restart_costs(log: &str) -> (usize, u64, u64) {
    let mut lines = 0;
    let (mut returned, mut invalidated) = (0, 0);
    for line in log
        .lines()
        .filter(|l| l.contains("serials returned with proof"))
    {
        let number_before = |word: &str| -> u64 {
            line.split(word)
                .next()
                .and_then(|head| head.split_whitespace().last())
                .and_then(|n| n.parse().ok())
                .unwrap_or(0)
        };
        lines += 1;
        returned += number_before(" serials returned with proof");
        invalidated += number_before(" invalidated (printed or unknown)");
    }
    (lines, returned, invalidated)
}

fn main() {
    let args = parse_args();
    let quantity = 200_000u32;
    let mut line = Line::new(LineOptions {
        rate_per_min: args.rate,
        pool: u64::from(quantity) + 10_000,
        seed: args.seed,
        auto_resume: false,
        ..LineOptions::default()
    });
    line.start_daemon();
    line.start_batch("RESTART", quantity);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(args.seed);
    let mut restarts = Vec::new();
    for _ in 0..args.restarts {
        run_for(
            &mut line,
            Duration::from_millis(rng.random_range(300..=2_500)),
        );
        line.kill_daemon();
        restarts.push(timed_restart(&mut line));
        line.cli(&["batch", "resume"]);
    }
    let log = std::fs::read_to_string(&line.log).unwrap_or_default();
    // Kept for a look at each restart's timeline after the fixture's directory goes.
    let kept = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("daemon_restart.log");
    if std::fs::write(&kept, &log).is_ok() {
        println!("the daemons' log: {}", kept.display());
    }
    let (costs, returned, invalidated) = restart_costs(&log);
    println!(
        "{} restarts after kill -9 at {} items/min (seed {}), from the new process's spawn, ms:",
        restarts.len(),
        args.rate,
        args.seed
    );
    println!("| what | p50 | p90 | p99 | max |");
    println!("|---|---|---|---|---|");
    row(
        "first answer on the control socket",
        restarts.iter().map(|r| r.answer).collect(),
    );
    row(
        "batch recovered and held",
        restarts.iter().map(|r| r.held).collect(),
    );
    row(
        "slowest status answer during the restart",
        restarts.iter().map(|r| r.slowest_status).collect(),
    );
    let per = |n: u64| n as f64 / costs.max(1) as f64;
    println!(
        "serials per restart ({costs} recovery lines): {:.1} returned with proof, {:.1} invalidated",
        per(returned),
        per(invalidated)
    );
    line.cli(&["batch", "stop"]);
}
