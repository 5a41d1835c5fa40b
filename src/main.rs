//! The `serialstation` binary: hands the command line to [`serialstation::cli::main`].

#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

use std::process::ExitCode;

fn main() -> ExitCode {
    serialstation::cli::main()
}
