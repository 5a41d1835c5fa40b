//! Structured logs (tracing) to stderr and to a log file, both plain text.

use std::fs::OpenOptions;
use std::path::Path;
use std::sync::Mutex;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::writer::MakeWriterExt;

/// Installs the daemon's subscriber: `SERIALSTATION_LOG` (default `info`) filters;
/// every line goes to stderr and is appended to `file`.
pub fn init(file: &Path) -> Result<(), String> {
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)
        .map_err(|e| format!("cannot open the log file {}: {e}", file.display()))?;
    let filter =
        EnvFilter::try_from_env("SERIALSTATION_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(std::io::stderr.and(Mutex::new(log)))
        .try_init()
        .map_err(|e| format!("cannot install the logger: {e}"))
}
