//! A container station binary (`serialstation case-station` or `pallet-station`)
//! run as its operator runs it: commands on its standard input, its terminal lines
//! read on a thread, SIGKILL on demand, never left running when a test fails.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

pub struct StationProcess {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
    /// Every line read so far.
    pub log: Vec<String>,
}

impl StationProcess {
    /// Starts `command` (the binary and its arguments) with piped input and output.
    pub fn spawn(mut command: Command) -> StationProcess {
        let mut child = command
            .env_remove("SERIALSTATION_DB")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the station starts");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        StationProcess {
            child,
            stdin,
            lines,
            log: Vec::new(),
        }
    }

    /// Takes every line already printed into the log.
    pub fn drain(&mut self) {
        while let Ok(line) = self.lines.try_recv() {
            self.log.push(line);
        }
    }

    /// Waits for a line containing `text`; panics with the log after `limit`.
    pub fn wait_for(&mut self, text: &str, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Ok(line) = self.lines.recv_timeout(Duration::from_millis(100)) {
                self.log.push(line.clone());
                if line.contains(text) {
                    return line;
                }
            }
        }
        panic!(
            "no line with {text:?} in {limit:?}:\n{}",
            self.log.join("\n")
        );
    }

    /// Types one command line.
    pub fn command(&mut self, line: &str) {
        writeln!(self.stdin, "{line}").expect("the station reads commands");
        self.stdin.flush().expect("flush");
    }

    /// Types `quit`, waits for a clean exit and returns the whole log.
    pub fn quit(mut self) -> Vec<String> {
        self.command("quit");
        let status = self.child.wait().expect("the station exits");
        while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(200)) {
            self.log.push(line);
        }
        assert!(status.success(), "{}", self.log.join("\n"));
        std::mem::take(&mut self.log)
    }

    /// SIGKILL, then reaps the process.
    pub fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        let _ = self.child.wait();
    }
}

impl Drop for StationProcess {
    /// A failed test leaves no station running.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
