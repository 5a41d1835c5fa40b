//! `serialstation daemon --config config/line.toml`: runs the station daemon
//! (`crate::daemon`) in the foreground.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::daemon::{DaemonOptions, run as run_daemon};

#[derive(clap::Args, Debug)]
pub struct DaemonArgs {
    /// The line configuration: device addresses and line geometry.
    #[arg(long, default_value = "config/line.toml")]
    pub config: PathBuf,
    /// Log file (appended; default: the store's path with the extension `.log`).
    #[arg(long)]
    pub log_file: Option<PathBuf>,
    /// Resume by itself after a hold once every device is back and the PLC's alarms
    /// are cleared (for simulated lines; a real line waits for the operator).
    #[arg(long)]
    pub auto_resume: bool,
    /// Do not send the outbox to the site servers (it stays queued).
    #[arg(long)]
    pub no_upload: bool,
}

pub fn run(args: DaemonArgs, db: &Path, socket: &Path) -> ExitCode {
    let options = DaemonOptions {
        db: db.to_path_buf(),
        config: args.config,
        socket: socket.to_path_buf(),
        log_file: args.log_file.unwrap_or_else(|| db.with_extension("log")),
        auto_resume: args.auto_resume,
        upload: !args.no_upload,
    };
    run_daemon(&options)
}
