//! Long command-line work: a progress line on the terminal and a clean stop on
//! Ctrl-C. The work itself polls [`Interrupt::requested`] at safe points and rolls
//! back when it is set, so a stopped command leaves nothing half-done.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

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

/// A one-line progress display on stderr (indicatif), drawn only on a terminal and
/// at most a few times a second.
pub struct Progress {
    bar: indicatif::ProgressBar,
}

impl Progress {
    /// `total` 0 means unknown: a spinner with the count.
    pub fn new(what: &str, total: u64) -> Progress {
        let bar = if total == 0 {
            indicatif::ProgressBar::new_spinner()
        } else {
            indicatif::ProgressBar::new(total)
        };
        let template = if total == 0 {
            "{spinner} {prefix} {human_pos} ({per_sec}); Ctrl-C stops with nothing added"
        } else {
            "{prefix} [{bar:30}] {human_pos}/{human_len} ({percent}%, {per_sec}, {eta} left); Ctrl-C stops with nothing added"
        };
        if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_prefix(what.to_string());
        bar.set_draw_target(indicatif::ProgressDrawTarget::stderr_with_hz(5));
        Progress { bar }
    }

    /// Shows `done` of the total.
    pub fn update(&mut self, done: u64) {
        self.bar.set_position(done);
    }

    /// Prints a line on stdout without tearing the progress line.
    pub fn println(&self, line: &str) {
        self.bar.suspend(|| println!("{line}"));
    }

    /// Takes the line away.
    pub fn finish(&mut self) {
        self.bar.finish_and_clear();
    }
}
