//! `serialstation pool`.

use std::path::Path;
use std::process::ExitCode;

#[derive(clap::Subcommand, Debug)]
pub enum PoolCommand {}

pub fn run(cmd: PoolCommand, _db: &Path) -> ExitCode {
    match cmd {}
}
