//! `serialstation config`.

use std::path::Path;
use std::process::ExitCode;

#[derive(clap::Subcommand, Debug)]
pub enum ConfigCommand {}

pub fn run(cmd: ConfigCommand, _db: &Path) -> ExitCode {
    match cmd {}
}
