//! The operator's console (`serialstation console`) driven the way a person drives
//! it: the real binary in a tmux pane of 80×24, keys typed with `tmux send-keys`,
//! the screen read back with `tmux capture-pane`, against the real daemon on the
//! simulated line (tests/daemon_support). Start a batch through the form (a wrong
//! expiry first), pause, resume, resize the window, lose the daemon and get it back,
//! quit. Every wait is for a state of the screen, bounded.
//!
//! Needs tmux: scripts/install-test-tools.sh installs it. Without it the test says
//! "skipped"; under CI that is a failure instead.

mod daemon_support;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use daemon_support::{GTIN, Line, LineOptions, expiry_in_years};

/// How long a screen state may take to appear.
const SCREEN_WAIT: Duration = Duration::from_secs(20);
/// How long the line may take to show progress, or to come back after a restart.
const LINE_WAIT: Duration = Duration::from_secs(60);

const NO_TERMINAL: &str = "serialstation console needs a terminal: run it in a terminal window, or use `serialstation batch status --watch` from scripts";

/// Skips (returns false) without tmux, or fails under CI.
fn tmux_available() -> bool {
    let found = Command::new("tmux")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if found {
        return true;
    }
    let reason = "tmux not installed (scripts/install-test-tools.sh installs it)";
    assert!(std::env::var_os("CI").is_none(), "{reason}");
    println!("skipped: {reason}");
    false
}

fn sh_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

/// One console in its own tmux server.
struct Console {
    server: String,
    exit_file: PathBuf,
    error_file: PathBuf,
}

impl Console {
    /// Starts `serialstation console` in a detached 80×24 tmux session.
    fn start(line: &Line) -> Console {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let console = Console {
            server: format!("ssconsole-{}-{nanos}", std::process::id()),
            exit_file: line.root.join("console.exit"),
            error_file: line.root.join("console.err"),
        };
        let command = format!(
            "{} --db {} --socket {} console 2>{}; echo \"exit=$?\" >{}",
            sh_quote(env!("CARGO_BIN_EXE_serialstation")),
            sh_quote(&line.db.display().to_string()),
            sh_quote(&line.socket.display().to_string()),
            sh_quote(&console.error_file.display().to_string()),
            sh_quote(&console.exit_file.display().to_string()),
        );
        let status = console
            .tmux()
            .args(["new-session", "-d", "-s", "console", "-x", "80", "-y", "24"])
            .arg(command)
            .status()
            .expect("tmux runs");
        assert!(status.success(), "tmux new-session failed: {status}");
        console
    }

    fn tmux(&self) -> Command {
        let mut command = Command::new("tmux");
        command
            .args(["-L", &self.server, "-f", "/dev/null"])
            .env("SHELL", "/bin/sh")
            .env_remove("TMUX")
            .env_remove("SERIALSTATION_DB")
            .env_remove("SERIALSTATION_SOCKET")
            .stdin(Stdio::null());
        command
    }

    /// Keys by tmux name (`Tab`, `Enter`, `C-u`, `y`).
    fn keys(&self, keys: &[&str]) {
        let status = self
            .tmux()
            .args(["send-keys", "-t", "console"])
            .args(keys)
            .status()
            .expect("tmux send-keys runs");
        assert!(status.success(), "tmux send-keys {keys:?} failed");
    }

    /// Text typed as it is.
    fn type_text(&self, text: &str) {
        let status = self
            .tmux()
            .args(["send-keys", "-t", "console", "-l", text])
            .status()
            .expect("tmux send-keys runs");
        assert!(status.success(), "tmux send-keys -l {text:?} failed");
    }

    fn resize(&self, width: u16, height: u16) {
        let status = self
            .tmux()
            .args(["resize-window", "-t", "console"])
            .args(["-x", &width.to_string(), "-y", &height.to_string()])
            .status()
            .expect("tmux resize-window runs");
        assert!(status.success(), "tmux resize-window failed");
    }

    /// The screen now, or `None` once the console's session has ended.
    fn screen(&self) -> Option<String> {
        let out = self
            .tmux()
            .args(["capture-pane", "-p", "-t", "console"])
            .output()
            .expect("tmux capture-pane runs");
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    fn ended(&self) -> String {
        format!(
            "{}; its stderr: {}",
            std::fs::read_to_string(&self.exit_file)
                .unwrap_or_else(|_| "no exit status written".to_string())
                .trim(),
            std::fs::read_to_string(&self.error_file).unwrap_or_default()
        )
    }

    /// Waits until the screen satisfies `done`; panics with the last screen after
    /// `timeout`, or at once if the console has ended.
    #[track_caller]
    fn wait_for(&self, what: &str, timeout: Duration, done: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + timeout;
        let mut last = String::new();
        loop {
            match self.screen() {
                Some(screen) if done(&screen) => return screen,
                Some(screen) => last = screen,
                None => panic!(
                    "waiting for {what}: the console is gone ({}); last screen:\n{last}",
                    self.ended()
                ),
            }
            assert!(
                Instant::now() < deadline,
                "waiting for {what}: not on the screen after {timeout:?}; the screen:\n{last}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Waits for the console to end; returns what its shell wrote (`exit=N`).
    #[track_caller]
    fn wait_exit(&self, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(text) = std::fs::read_to_string(&self.exit_file)
                && text.contains("exit=")
            {
                return text.trim().to_string();
            }
            assert!(
                Instant::now() < deadline,
                "the console did not end within {timeout:?}; the screen:\n{}",
                self.screen().unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "---- the console's screen ----\n{}\n---- the console's stderr ----\n{}",
                self.screen().unwrap_or_else(|| "(gone)".to_string()),
                std::fs::read_to_string(&self.error_file).unwrap_or_default()
            );
        }
        let _ = self
            .tmux()
            .arg("kill-server")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// The commissioned count in the progress label ("12 / 1,000 commissioned").
fn commissioned(screen: &str, quantity: &str) -> Option<u64> {
    let at = screen.find(&format!(" / {quantity} commissioned"))?;
    let before: Vec<char> = screen[..at]
        .chars()
        .rev()
        .take_while(|c| c.is_ascii_digit() || *c == ',')
        .collect();
    let digits: String = before.iter().rev().filter(|c| **c != ',').collect();
    digits.parse().ok()
}

#[test]
fn an_operator_runs_a_batch_from_the_console_through_a_resize_and_a_daemon_restart() {
    if !tmux_available() {
        return;
    }
    let mut line = Line::new(LineOptions {
        rate_per_min: 600.0,
        ..LineOptions::default()
    });
    line.start_daemon();
    let console = Console::start(&line);
    console.wait_for("the console's first screen", SCREEN_WAIT, |s| {
        s.contains("no batch running — press s to start one") && s.contains("s start")
    });

    // The start form: a wrong expiry shows its error at once; fixed, the form submits.
    console.keys(&["s"]);
    console.wait_for("the start form", SCREEN_WAIT, |s| {
        s.contains("Start a batch")
    });
    console.type_text(GTIN);
    console.keys(&["Tab"]);
    console.type_text("LCONSOLE1");
    console.keys(&["Tab"]);
    console.type_text("2030-13-01");
    console.wait_for("the expiry's error", SCREEN_WAIT, |s| {
        s.contains("month 13 does not exist")
    });
    console.keys(&["C-u"]);
    console.type_text(&expiry_in_years(2));
    console.wait_for("the error gone", SCREEN_WAIT, |s| {
        !s.contains("does not exist")
    });
    console.keys(&["Tab"]);
    console.type_text("1000");
    console.keys(&["Enter"]);
    console.wait_for("the start question", SCREEN_WAIT, |s| {
        s.contains("Start a batch of 1,000 packs") && s.contains("[y/n]")
    });
    console.keys(&["y"]);
    let screen = console.wait_for("the batch running with progress", LINE_WAIT, |s| {
        s.contains("RUNNING") && commissioned(s, "1,000").is_some_and(|n| n > 0)
    });
    let batch = line
        .status()
        .batch
        .expect("the daemon reports the batch")
        .id;
    assert!(screen.contains(&format!("batch {batch}")), "{screen}");
    assert!(screen.contains("LCONSOLE1"), "{screen}");

    // Pause and resume, each confirmed.
    console.keys(&["p"]);
    console.wait_for("the pause question", SCREEN_WAIT, |s| {
        s.contains(&format!("Pause batch {batch}? [y/n]"))
    });
    console.keys(&["y"]);
    console.wait_for("the batch paused", SCREEN_WAIT, |s| s.contains("PAUSED"));
    console.keys(&["r"]);
    console.wait_for("the resume question", SCREEN_WAIT, |s| {
        s.contains(&format!("Resume batch {batch}? [y/n]"))
    });
    console.keys(&["y"]);
    console.wait_for("the batch running again", SCREEN_WAIT, |s| {
        s.contains("RUNNING") && !s.contains("PAUSED")
    });

    // A larger window: the screen is drawn at the new size (the clock at the right
    // edge of the first line, 30 lines).
    console.resize(100, 30);
    console.wait_for("the screen redrawn at 100×30", SCREEN_WAIT, |s| {
        s.lines().count() >= 30
            && s.lines()
                .next()
                .is_some_and(|l| l.trim_end().chars().count() > 80)
            && s.contains("RUNNING")
    });

    // The daemon goes away: the console says so and keeps running; it comes back.
    line.kill_daemon();
    console.wait_for("the reconnecting banner", SCREEN_WAIT, |s| {
        s.contains("reconnecting to the station daemon")
    });
    std::thread::sleep(Duration::from_secs(1));
    console.wait_for("the console still reconnecting", SCREEN_WAIT, |s| {
        s.contains("reconnecting")
    });
    line.start_daemon();
    console.wait_for("the console reconnected", LINE_WAIT, |s| {
        !s.contains("reconnecting") && s.contains(&format!("batch {batch}"))
    });

    // q quits; the process ends with 0.
    console.keys(&["q"]);
    assert_eq!(
        console.wait_exit(SCREEN_WAIT),
        "exit=0",
        "{}",
        console.ended()
    );
}

#[test]
fn without_a_terminal_the_console_refuses_with_exit_2() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let out = Command::new(env!("CARGO_BIN_EXE_serialstation"))
        .arg("--db")
        .arg(dir.path().join("station.sqlite"))
        .arg("--socket")
        .arg(dir.path().join("station.sock"))
        .arg("console")
        .env_remove("SERIALSTATION_DB")
        .env_remove("SERIALSTATION_SOCKET")
        .stdin(Stdio::null())
        .output()
        .expect("the serialstation binary runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.trim(), format!("error: {NO_TERMINAL}"));
    assert!(out.stdout.is_empty(), "nothing on stdout");
    // Nothing was created.
    assert!(!dir.path().join("station.sqlite").exists());
}
