//! Runs one target: its seeds first, unmutated, then mutations of a growing corpus,
//! each input under `catch_unwind`, until the budget is spent. A panic is a crash;
//! each distinct crash (by panic location) is kept once, shrunk to a smaller input
//! that still panics at the same place.
//!
//! Panics are silent while a target runs: a panic hook, installed once, records the
//! panic's location and prints nothing for a thread that is inside a target, and
//! hands every other panic to the hook that was installed before (so the test
//! harness, `--replay` and other threads keep their usual panic output).
//!
//! A hang cannot be caught on the thread that hangs: [`Watch`] publishes the input
//! being run and since when, for a watchdog on another thread (see `main.rs`).

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::collections::HashSet;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Mutex, MutexGuard, Once, PoisonError};
use std::time::{Duration, Instant};

use crate::Target;
use crate::mutate::{Rng, mutate};

/// Most inputs kept in a target's corpus (seeds included).
pub const MAX_CORPUS: usize = 256;
/// Most distinct crashes kept per target.
pub const MAX_CRASHES: usize = 8;
/// Most executions spent shrinking one crashing input.
pub const MINIMIZE_EXECUTIONS: u64 = 2_000;

/// How long to fuzz one target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    /// This many executions (seeds included; shrinking a crash may add some).
    Iterations(u64),
    /// This much wall-clock time (the seeds always run).
    Time(Duration),
}

/// An input that made the target panic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Crash {
    pub input: Vec<u8>,
    /// The panic message and, when known, where it was raised.
    pub message: String,
}

/// What a run found.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub executions: u64,
    /// Distinct crashes, in the order found (at most [`MAX_CRASHES`]).
    pub crashes: Vec<Crash>,
    /// Inputs in the corpus at the end.
    pub corpus_size: usize,
    /// The slowest single execution, and its input.
    pub slowest: Duration,
    pub slowest_input: Vec<u8>,
}

/// The input a target is running now, for a watchdog on another thread.
#[derive(Debug, Default)]
pub struct Watch {
    current: Mutex<Current>,
}

#[derive(Debug, Default)]
struct Current {
    target: &'static str,
    input: Vec<u8>,
    since: Option<Instant>,
}

/// An execution that has been running for too long.
#[derive(Debug, Clone)]
pub struct Stuck {
    pub target: &'static str,
    pub input: Vec<u8>,
    pub running_for: Duration,
}

impl Watch {
    pub fn new() -> Watch {
        Watch::default()
    }

    fn lock(&self) -> MutexGuard<'_, Current> {
        self.current.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn begin(&self, target: &'static str, input: &[u8]) {
        let mut current = self.lock();
        current.target = target;
        current.input.clear();
        current.input.extend_from_slice(input);
        current.since = Some(Instant::now());
    }

    fn end(&self) {
        self.lock().since = None;
    }

    /// The execution in progress, if it has been running for longer than `limit`.
    pub fn stuck(&self, limit: Duration) -> Option<Stuck> {
        let current = self.lock();
        let running_for = current.since?.elapsed();
        (running_for > limit).then(|| Stuck {
            target: current.target,
            input: current.input.clone(),
            running_for,
        })
    }
}

thread_local! {
    /// True while this thread runs a target input.
    static CAPTURING: Cell<bool> = const { Cell::new(false) };
    /// Where the last captured panic on this thread was raised.
    static LAST_LOCATION: RefCell<Option<String>> = const { RefCell::new(None) };
}

fn install_hook() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let capturing = CAPTURING.try_with(|c| c.get()).unwrap_or(false);
            if capturing {
                let at = info
                    .location()
                    .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()));
                let _ = LAST_LOCATION.try_with(|slot| *slot.borrow_mut() = at);
            } else {
                previous(info);
            }
        }));
    });
}

/// A panic, with the key that tells distinct crashes apart.
struct Failure {
    key: String,
    message: String,
}

fn payload_text(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_string()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "panic with a payload that is not text".to_string()
    }
}

fn catch(target: &Target, input: &[u8]) -> Result<(), Failure> {
    install_hook();
    LAST_LOCATION.with(|slot| *slot.borrow_mut() = None);
    CAPTURING.with(|c| c.set(true));
    let result = panic::catch_unwind(AssertUnwindSafe(|| (target.run)(input)));
    CAPTURING.with(|c| c.set(false));
    result.map_err(|payload| {
        let text = payload_text(&*payload);
        match LAST_LOCATION.with(|slot| slot.borrow_mut().take()) {
            Some(at) => Failure {
                message: format!("{text} (at {at})"),
                key: at,
            },
            None => Failure {
                key: text.clone(),
                message: text,
            },
        }
    })
}

/// Runs `input` once on `target`, silently: `Err` holds the panic message.
pub fn execute(target: &Target, input: &[u8]) -> Result<(), String> {
    catch(target, input).map_err(|failure| failure.message)
}

/// Fuzzes `target` within `budget`; `seed` makes the run reproducible.
pub fn run_target(target: &Target, budget: Budget, seed: u64) -> Outcome {
    run_target_watched(target, budget, seed, &Watch::new())
}

/// [`run_target`], publishing every input in `watch` while it runs.
pub fn run_target_watched(target: &Target, budget: Budget, seed: u64, watch: &Watch) -> Outcome {
    let mut run = Run {
        target,
        watch,
        outcome: Outcome::default(),
        crash_keys: HashSet::new(),
    };
    let started = Instant::now();
    let spent = |executions: u64| match budget {
        Budget::Iterations(limit) => executions >= limit,
        Budget::Time(limit) => started.elapsed() >= limit,
    };
    let max_len = target.max_len.max(1);
    let mut rng = Rng::new(seed ^ crate::fnv1a64(target.name.as_bytes()));

    let mut corpus: Vec<Vec<u8>> = (target.seeds)()
        .into_iter()
        .map(|mut seed_input| {
            seed_input.truncate(max_len);
            seed_input
        })
        .collect();
    corpus.truncate(MAX_CORPUS);
    if corpus.is_empty() {
        corpus.push(Vec::new());
    }
    // The seeds stay; later entries are replaced once the corpus is full.
    let fixed = corpus.len();
    let mut shapes: HashSet<(u32, u8, u8)> = corpus.iter().map(|c| shape(c)).collect();

    for input in &corpus {
        run.once(input);
    }
    while !spent(run.outcome.executions) {
        let base = &corpus[rng.below(corpus.len())];
        let input = mutate(&mut rng, base, &corpus, max_len);
        let crashed = run.once(&input);
        if !crashed && shapes.insert(shape(&input)) {
            if corpus.len() < MAX_CORPUS {
                corpus.push(input);
            } else if fixed < MAX_CORPUS {
                let slot = fixed + rng.below(MAX_CORPUS - fixed);
                corpus[slot] = input;
            }
        }
    }
    run.outcome.corpus_size = corpus.len();
    run.outcome
}

/// A cheap novelty signal without coverage feedback: length class, first and last byte.
fn shape(input: &[u8]) -> (u32, u8, u8) {
    let length_class = usize::BITS - input.len().leading_zeros();
    (
        length_class,
        input.first().copied().unwrap_or(0),
        input.last().copied().unwrap_or(0),
    )
}

struct Run<'a> {
    target: &'a Target,
    watch: &'a Watch,
    outcome: Outcome,
    crash_keys: HashSet<String>,
}

impl Run<'_> {
    /// Runs one input; true if it panicked.
    fn once(&mut self, input: &[u8]) -> bool {
        match self.timed(input) {
            Ok(()) => false,
            Err(failure) => {
                if self.outcome.crashes.len() < MAX_CRASHES
                    && self.crash_keys.insert(failure.key.clone())
                {
                    let (input, message) = self.minimize(input, failure);
                    self.outcome.crashes.push(Crash { input, message });
                }
                true
            }
        }
    }

    fn timed(&mut self, input: &[u8]) -> Result<(), Failure> {
        self.watch.begin(self.target.name, input);
        let started = Instant::now();
        let result = catch(self.target, input);
        let elapsed = started.elapsed();
        self.watch.end();
        self.outcome.executions += 1;
        if elapsed > self.outcome.slowest {
            self.outcome.slowest = elapsed;
            self.outcome.slowest_input = input.to_vec();
        }
        result
    }

    /// Removes chunks of a crashing input (halving their size) while it still
    /// panics at the same place; returns the smallest input and its message.
    fn minimize(&mut self, input: &[u8], failure: Failure) -> (Vec<u8>, String) {
        let mut best = input.to_vec();
        let mut message = failure.message;
        let mut budget = MINIMIZE_EXECUTIONS;
        let mut chunk = (best.len() / 2).max(1);
        while !best.is_empty() && chunk > 0 && budget > 0 {
            let mut start = 0;
            let mut removed = false;
            while start < best.len() && budget > 0 {
                let end = (start + chunk).min(best.len());
                let mut candidate = best[..start].to_vec();
                candidate.extend_from_slice(&best[end..]);
                budget -= 1;
                match self.timed(&candidate) {
                    Err(again) if again.key == failure.key => {
                        best = candidate;
                        message = again.message;
                        removed = true;
                    }
                    _ => start += chunk,
                }
            }
            if !removed {
                chunk /= 2;
            }
        }
        (best, message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seeds() -> Vec<Vec<u8>> {
        vec![b"fine".to_vec()]
    }

    fn panics_on_x(data: &[u8]) {
        if data.contains(&b'X') {
            panic!("found an X");
        }
    }

    fn never_panics(_data: &[u8]) {}

    const PANICKY: Target = Target {
        name: "panicky",
        what: "panics on any input holding X",
        seeds,
        run: panics_on_x,
        max_len: 64,
        slow: false,
    };

    #[test]
    fn a_crash_is_found_shrunk_and_reported_once() {
        let outcome = run_target(&PANICKY, Budget::Iterations(20_000), 5);
        assert!(outcome.executions >= 20_000);
        assert_eq!(outcome.crashes.len(), 1, "{:?}", outcome.crashes);
        let crash = &outcome.crashes[0];
        assert_eq!(crash.input, b"X".to_vec());
        assert!(
            crash.message.starts_with("found an X (at "),
            "{}",
            crash.message
        );
        assert!(crash.message.contains("runner.rs"), "{}", crash.message);
    }

    #[test]
    fn a_quiet_target_has_no_crashes_and_runs_its_budget() {
        let target = Target {
            run: never_panics,
            ..PANICKY
        };
        let outcome = run_target(&target, Budget::Iterations(3_000), 1);
        assert!(outcome.crashes.is_empty());
        assert_eq!(outcome.executions, 3_000);
        assert!((1..=MAX_CORPUS).contains(&outcome.corpus_size));
    }

    #[test]
    fn runs_are_reproducible() {
        let a = run_target(&PANICKY, Budget::Iterations(2_000), 77);
        let b = run_target(&PANICKY, Budget::Iterations(2_000), 77);
        assert_eq!(a.crashes, b.crashes);
        assert_eq!(a.executions, b.executions);
    }

    #[test]
    fn execute_reports_the_message_and_a_time_budget_ends() {
        assert_eq!(execute(&PANICKY, b"ok"), Ok(()));
        let message = execute(&PANICKY, b"aXb").unwrap_err();
        assert!(message.starts_with("found an X"), "{message}");
        let started = Instant::now();
        let target = Target {
            run: never_panics,
            ..PANICKY
        };
        let outcome = run_target(&target, Budget::Time(Duration::from_millis(50)), 2);
        assert!(outcome.executions >= 1);
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn the_watch_reports_only_long_executions() {
        let watch = Watch::new();
        assert!(watch.stuck(Duration::ZERO).is_none());
        watch.begin("t", b"abc");
        std::thread::sleep(Duration::from_millis(5));
        let stuck = watch.stuck(Duration::from_millis(1)).expect("stuck");
        assert_eq!(stuck.target, "t");
        assert_eq!(stuck.input, b"abc".to_vec());
        assert!(watch.stuck(Duration::from_secs(60)).is_none());
        watch.end();
        assert!(watch.stuck(Duration::ZERO).is_none());
    }
}
