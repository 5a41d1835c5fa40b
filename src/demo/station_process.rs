//! A container station run by the demo as an operator would start it: the real
//! `serialstation` binary as a child process, its terminal on a pipe, every line
//! it prints also written to its log file. Shared by the case line and the
//! pallet line, with the label arguments both stations take and the reading of a
//! simulated cell's ground truth.

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;

/// The label printer and label scanner arguments of a container station, with
/// the demo's read-back timeout.
pub fn label_args(printer: SocketAddr, scanner: SocketAddr) -> [String; 6] {
    [
        "--label-printer".to_string(),
        printer.to_string(),
        "--label-scanner".to_string(),
        scanner.to_string(),
        "--label-timeout-ms".to_string(),
        "2000".to_string(),
    ]
}

/// A simulated cell's ground truth (`what` names it in messages). The cell
/// rewrites the file as it changes, so a read that fails is tried again for a
/// second.
pub fn read_truth<T: DeserializeOwned>(path: &Path, what: &str) -> Result<T, String> {
    let mut last = String::new();
    for _ in 0..50 {
        match std::fs::read_to_string(path) {
            Ok(text) => match serde_json::from_str(&text) {
                Ok(truth) => return Ok(truth),
                Err(e) => last = e.to_string(),
            },
            Err(e) => last = e.to_string(),
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Err(format!(
        "the {what}'s ground truth {}: {last}",
        path.display()
    ))
}

/// The running station: its stdin and its stdout lines.
pub struct StationProcess {
    /// What it is called in messages, e.g. "the pallet station".
    name: &'static str,
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
}

impl StationProcess {
    /// Starts `exe --db DB ARGS…`, its output copied to `log`.
    pub fn start(
        name: &'static str,
        exe: &Path,
        db: &Path,
        args: &[String],
        log: &Path,
    ) -> Result<StationProcess, String> {
        let mut child = Command::new(exe)
            .arg("--db")
            .arg(db)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start {name}: {e}"))?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(format!("the terminal of {name} is missing"));
        };
        let mut file = std::fs::File::create(log)
            .map_err(|e| format!("cannot write {}: {e}", log.display()))?;
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = writeln!(file, "{line}");
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        Ok(StationProcess {
            name,
            child,
            stdin,
            lines,
        })
    }

    /// Types one command on its terminal.
    pub fn command(&mut self, line: &str) -> Result<(), String> {
        writeln!(self.stdin, "{line}")
            .and_then(|()| self.stdin.flush())
            .map_err(|e| format!("{} stopped taking commands: {e}", self.name))
    }

    /// The next line containing `text`, within `until`.
    pub fn wait_for(&self, text: &str, until: Instant) -> Result<String, String> {
        while Instant::now() < until {
            match self.lines.recv_timeout(Duration::from_millis(100)) {
                Ok(line) if line.contains(text) => return Ok(line),
                Ok(_) | Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(format!("{} ended before it printed {text:?}", self.name));
                }
            }
        }
        Err(format!("{} did not print {text:?} in time", self.name))
    }

    /// Types `quit` and waits for it to end.
    pub fn quit(mut self) -> Result<ExitStatus, String> {
        self.command("quit")?;
        self.child
            .wait()
            .map_err(|e| format!("waiting for {}: {e}", self.name))
    }
}

impl Drop for StationProcess {
    /// A demo that fails half-way leaves no station running.
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
