//! The demo's station daemon: the real `serialstation daemon` as a child process on
//! the demo's store, driven through its control socket like an operator would.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::control::protocol::{Request, Response, StatusReport};
use crate::control::{ControlError, call};

/// A running daemon; killed if still running when dropped.
pub struct DaemonProcess {
    child: Child,
    db: PathBuf,
    socket: PathBuf,
}

impl DaemonProcess {
    /// Starts `exe --db DB daemon --config CONFIG --auto-resume` with its log in `log`,
    /// and waits until its control socket answers.
    pub fn start(
        exe: &Path,
        db: &Path,
        config: &Path,
        log: &Path,
    ) -> Result<DaemonProcess, String> {
        let socket = crate::control::default_socket_path(db);
        let child = Command::new(exe)
            .arg("--db")
            .arg(db)
            .arg("--socket")
            .arg(&socket)
            .arg("daemon")
            .arg("--config")
            .arg(config)
            .arg("--log-file")
            .arg(log)
            .arg("--auto-resume")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start the station daemon {}: {e}", exe.display()))?;
        let mut daemon = DaemonProcess {
            child,
            db: db.to_path_buf(),
            socket,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match daemon.status() {
                Ok(_) => return Ok(daemon),
                Err(e) => {
                    if let Ok(Some(exit)) = daemon.child.try_wait() {
                        return Err(format!(
                            "the station daemon exited at start ({exit}); its log: {}",
                            log.display()
                        ));
                    }
                    if Instant::now() > deadline {
                        return Err(format!("the station daemon did not answer in time: {e}"));
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Sends one request.
    pub fn call(&self, request: &Request) -> Result<Response, ControlError> {
        call(&self.socket, &self.db, request)
    }

    /// Sends one request; a refusal becomes an error with the daemon's message.
    pub fn expect_ok(&self, request: &Request) -> Result<Response, String> {
        match self.call(request) {
            Ok(response) if response.ok => Ok(response),
            Ok(response) => Err(response.message),
            Err(e) => Err(e.to_string()),
        }
    }

    pub fn status(&self) -> Result<StatusReport, String> {
        self.expect_ok(&Request::Status)?
            .status
            .ok_or_else(|| "the daemon answered without a status".to_string())
    }

    /// Asks the daemon to stop and waits for it (killing it after 20 s).
    pub fn shutdown(mut self) -> Result<(), String> {
        let asked = self.expect_ok(&Request::Shutdown);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) if status.success() => return asked.map(|_| ()),
                Ok(Some(status)) => return Err(format!("the station daemon exited with {status}")),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50))
                }
                Ok(None) => {
                    let _ = self.child.kill();
                    return Err("the station daemon did not stop; it was killed".to_string());
                }
                Err(e) => return Err(format!("waiting for the station daemon: {e}")),
            }
        }
    }
}

impl Drop for DaemonProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The example line configuration with the device addresses and the rate replaced.
pub fn line_config_text(
    template: &str,
    printer: &str,
    camera: &str,
    plc: &str,
    unit_id: u8,
    rate_per_min: f64,
) -> String {
    let mut section = String::new();
    let mut out = String::with_capacity(template.len());
    for line in template.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with('[') {
            section = trimmed.trim_matches(|c| c == '[' || c == ']').to_string();
        }
        let key = trimmed.split('=').next().unwrap_or("").trim();
        let replaced = match (section.as_str(), key) {
            ("printer", "address") => Some(format!("address = \"{printer}\"")),
            ("camera", "address") => Some(format!("address = \"{camera}\"")),
            ("plc", "address") => Some(format!("address = \"{plc}\"")),
            ("plc", "unit_id") => Some(format!("unit_id = {unit_id}")),
            ("line", "rate_per_min") => Some(format!("rate_per_min = {rate_per_min:.1}")),
            _ => None,
        };
        out.push_str(replaced.as_deref().unwrap_or(line));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::StationConfig;

    #[test]
    fn the_example_line_gets_the_simulator_addresses() {
        let text = line_config_text(
            include_str!("../../config/line.toml"),
            "127.0.0.1:1",
            "127.0.0.1:2",
            "127.0.0.1:3",
            9,
            600.0,
        );
        let config = StationConfig::parse(&text, "line.toml").expect("parses");
        assert_eq!(config.printer.address, "127.0.0.1:1");
        assert_eq!(config.camera.address, "127.0.0.1:2");
        assert_eq!(config.plc.address, "127.0.0.1:3");
        assert_eq!(config.plc.unit_id, 9);
        assert_eq!(config.line.rate_per_min, 600.0);
    }
}
