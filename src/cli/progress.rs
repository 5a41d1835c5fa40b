//! Long command-line work: a progress line on the terminal and a clean stop on
//! Ctrl-C. The work itself polls [`Interrupt::requested`] at safe points and rolls
//! back when it is set, so a stopped command leaves nothing half-done.

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::limits::thousands;

/// Set once the operator pressed Ctrl-C (SIGINT) or the process got SIGTERM.
#[derive(Clone)]
pub struct Interrupt(Arc<AtomicBool>);

impl Interrupt {
    /// Starts watching for Ctrl-C and SIGTERM. From here on they no longer end the
    /// process at once: they set the flag, and the work stops at its next safe point.
    pub fn watch() -> Interrupt {
        let flag = Arc::new(AtomicBool::new(false));
        let set = Arc::clone(&flag);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build();
        if let Ok(runtime) = runtime {
            // Register the handlers before returning, so that no signal is lost.
            let signals = runtime.block_on(async {
                use tokio::signal::unix::{SignalKind, signal};
                Some((
                    signal(SignalKind::interrupt()).ok()?,
                    signal(SignalKind::terminate()).ok()?,
                ))
            });
            if let Some((mut int, mut term)) = signals {
                std::thread::spawn(move || {
                    runtime.block_on(async {
                        tokio::select! {
                            _ = int.recv() => {},
                            _ = term.recv() => {},
                        }
                    });
                    set.store(true, Ordering::SeqCst);
                });
            }
        }
        Interrupt(flag)
    }

    pub fn requested(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// A one-line progress display on stderr, shown only on a terminal and redrawn at
/// most a few times a second.
pub struct Progress {
    what: String,
    total: u64,
    started: Instant,
    last_drawn: Option<Instant>,
    visible: bool,
}

impl Progress {
    pub fn new(what: &str, total: u64) -> Progress {
        Progress {
            what: what.to_string(),
            total,
            started: Instant::now(),
            last_drawn: None,
            visible: std::io::stderr().is_terminal(),
        }
    }

    /// Shows `done` of the total (a total of 0 means unknown: only `done` shows).
    pub fn update(&mut self, done: u64) {
        if !self.visible
            || self
                .last_drawn
                .is_some_and(|t| t.elapsed() < Duration::from_millis(200))
        {
            return;
        }
        self.last_drawn = Some(Instant::now());
        let rate = done as f64 / self.started.elapsed().as_secs_f64().max(0.001);
        let of_total = if self.total == 0 {
            String::new()
        } else {
            format!(
                " of {} ({}%)",
                thousands(self.total),
                done.saturating_mul(100) / self.total
            )
        };
        let _ = write!(
            std::io::stderr(),
            "\r{} {}{of_total}, {} per second; Ctrl-C stops with nothing added \x1b[K",
            self.what,
            thousands(done),
            thousands(rate as u64)
        );
    }

    /// Clears the line.
    pub fn finish(&mut self) {
        if self.visible && self.last_drawn.is_some() {
            let _ = write!(std::io::stderr(), "\r\x1b[K");
        }
    }
}
