//! `serialstation gs1`.

use std::process::ExitCode;

#[derive(clap::Subcommand, Debug)]
pub enum Gs1Command {}

pub fn run(cmd: Gs1Command) -> ExitCode {
    match cmd {}
}
