use std::process::ExitCode;

fn main() -> ExitCode {
    serialstation::cli::main()
}
