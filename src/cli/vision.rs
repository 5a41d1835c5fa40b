//! `serialstation vision`.

use std::process::ExitCode;

#[derive(clap::Subcommand, Debug)]
pub enum VisionCommand {}

pub fn run(cmd: VisionCommand) -> ExitCode {
    match cmd {}
}
