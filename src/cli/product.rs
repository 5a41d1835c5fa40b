//! `serialstation product`.

use std::path::Path;
use std::process::ExitCode;

#[derive(clap::Subcommand, Debug)]
pub enum ProductCommand {}

pub fn run(cmd: ProductCommand, _db: &Path) -> ExitCode {
    match cmd {}
}
