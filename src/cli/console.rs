//! `serialstation console`: the full-screen operator's console (see
//! [`crate::console`]). Exit 0 when the operator quits, 2 without a terminal, 1 when
//! the terminal fails.

use std::path::Path;
use std::process::ExitCode;

/// `serialstation console` takes no options of its own: `--db` and `--socket` name
/// the station.
#[derive(clap::Args, Debug)]
pub struct ConsoleArgs {}

pub fn run(_args: ConsoleArgs, db: &Path, socket: &Path) -> ExitCode {
    if !crate::console::has_terminal() {
        eprintln!("error: {}", crate::console::NO_TERMINAL);
        return ExitCode::from(2);
    }
    match crate::console::run(db, socket) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(1)
        }
    }
}
