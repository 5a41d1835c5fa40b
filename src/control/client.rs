//! The CLI side of the control socket: one request, one response, blocking.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::protocol::{MAX_LINE_BYTES, Request, Response};

/// How long the CLI waits for the daemon's answer.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(120);

/// Why a call to the daemon failed.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error(
        "cannot reach the station daemon at {path} ({reason}): start it with `serialstation --db {db} daemon --config config/line.toml`, or point --socket at the running daemon's socket"
    )]
    Unreachable {
        path: String,
        db: String,
        reason: String,
    },
    #[error("the station daemon at {path} did not answer properly: {reason}")]
    BadAnswer { path: String, reason: String },
}

/// The socket of the daemon that runs on the store `db`: the store's path with the
/// extension `sock`.
pub fn default_socket_path(db: &Path) -> PathBuf {
    db.with_extension("sock")
}

/// Sends one request and reads the answer.
pub fn call(socket: &Path, db: &Path, request: &Request) -> Result<Response, ControlError> {
    call_with_timeout(socket, db, request, ANSWER_TIMEOUT)
}

/// [`call`] with its own limit on how long to wait for the answer (the console polls
/// the status with a short one, so that a daemon that hangs shows at once).
pub fn call_with_timeout(
    socket: &Path,
    db: &Path,
    request: &Request,
    timeout: Duration,
) -> Result<Response, ControlError> {
    let shown = socket.display().to_string();
    let unreachable = |reason: String| ControlError::Unreachable {
        path: shown.clone(),
        db: db.display().to_string(),
        reason,
    };
    let bad = |reason: String| ControlError::BadAnswer {
        path: shown.clone(),
        reason,
    };
    let mut stream = UnixStream::connect(socket).map_err(|e| unreachable(e.to_string()))?;
    stream
        .set_read_timeout(Some(timeout))
        .map_err(|e| unreachable(e.to_string()))?;
    stream
        .set_write_timeout(Some(timeout))
        .map_err(|e| unreachable(e.to_string()))?;
    let mut line = serde_json::to_string(request).map_err(|e| bad(e.to_string()))?;
    line.push('\n');
    stream
        .write_all(line.as_bytes())
        .map_err(|e| unreachable(e.to_string()))?;
    let mut reader = BufReader::new(stream).take(MAX_LINE_BYTES as u64);
    let mut answer = String::new();
    reader
        .read_line(&mut answer)
        .map_err(|e| bad(format!("reading the answer: {e}")))?;
    if answer.trim().is_empty() {
        return Err(bad("it closed the connection without an answer".into()));
    }
    serde_json::from_str(answer.trim()).map_err(|e| bad(format!("unreadable answer: {e}")))
}
