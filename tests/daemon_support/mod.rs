//! Shared fixture of the station daemon tests: a temp dir with a store prepared by
//! the library (example clients loaded, a random serial pool), the simulated line
//! in-process on its own multi-thread runtime, `line.toml` pointing at it, and the
//! real `serialstation` binary as the daemon (started, killed with SIGKILL,
//! restarted) and as the operator's CLI. The judge at the end shuts everything down
//! and checks the invariants (ARCHITECTURE.md) from the simulator's ground truth.
//!
//! When a test fails, the fixture keeps its directory and prints the daemon's log.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serialstation::config::parse_client_config;
use serialstation::control::protocol::{BatchView, Request, StatusReport};
use serialstation::demo::daemon_process::line_config_text;
use serialstation::demo::invariants::check_invariants;
use serialstation::gs1::Gtin;
use serialstation::pool::{Alphabet, GenerationPlan, SerialOrder};
use serialstation::report::BatchReport;
use serialstation::store::{Actor, BatchId, SerialState, Store};
use serialstation_simulator::faults::{FaultKind, FaultSpec};
use serialstation_simulator::{
    Control, ControlRequest, GroundTruth, RunningSimulator, SimConfig, Simulator,
};

/// The product the tests run (client `acme`).
pub const GTIN: &str = "09506000134352";
/// The other client's product (client `nordpharma`).
pub const OTHER_CLIENT_GTIN: &str = "00312345678906";

/// How long a daemon may take to answer on its socket after it was started.
const DAEMON_START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a daemon may take to stop after a shutdown request.
const DAEMON_STOP_TIMEOUT: Duration = Duration::from_secs(30);
/// Lines of the daemon's output printed when a test fails.
const LOG_TAIL_LINES: usize = 300;

/// How the line and the daemon are set up.
#[derive(Debug, Clone)]
pub struct LineOptions {
    pub rate_per_min: f64,
    /// Random serials generated for [`GTIN`].
    pub pool: u64,
    pub seed: u64,
    /// Real DataMatrix images (slow); off by default.
    pub images: bool,
    /// Simulator faults from the start.
    pub faults: BTreeMap<FaultKind, FaultSpec>,
    /// `daemon --auto-resume`.
    pub auto_resume: bool,
}

impl Default for LineOptions {
    fn default() -> LineOptions {
        LineOptions {
            rate_per_min: 2_400.0,
            pool: 2_000,
            seed: 1,
            images: false,
            faults: BTreeMap::new(),
            auto_resume: false,
        }
    }
}

/// What a CLI run gave.
#[derive(Debug, Clone)]
pub struct CliOutput {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl CliOutput {
    /// Exit 0; returns stdout.
    #[track_caller]
    pub fn ok(&self) -> &str {
        assert_eq!(self.code, Some(0), "the command failed: {self:?}");
        &self.stdout
    }

    /// Refused the operator's way: exit `code`, and exactly one line on stderr,
    /// `error: ...`, that contains `needle`. Returns that line.
    #[track_caller]
    pub fn refused(&self, code: i32, needle: &str) -> String {
        assert_eq!(self.code, Some(code), "expected exit {code}: {self:?}");
        let lines: Vec<&str> = self
            .stderr
            .lines()
            .filter(|l| !l.trim().is_empty())
            .collect();
        assert_eq!(lines.len(), 1, "expected one line on stderr: {self:?}");
        assert!(
            lines[0].starts_with("error: "),
            "the message should start with `error: `: {self:?}"
        );
        assert!(
            lines[0].contains(needle),
            "the message should contain {needle:?}: {self:?}"
        );
        lines[0].to_string()
    }
}

/// What the store holds that an operator mistake must not change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreSnapshot {
    /// (batch id, store state) of every batch.
    pub batches: Vec<(i64, String)>,
    /// Serials of each pool by state code.
    pub pools: Vec<(String, [u64; 12])>,
    /// Serials by (batch, state code).
    pub serials: Vec<(Option<i64>, i64, u64)>,
}

/// The judge's findings.
#[derive(Debug)]
pub struct Verdict {
    pub report: BatchReport,
    pub lines: Vec<String>,
}

/// The line, its store and its daemon.
pub struct Line {
    dir: Option<tempfile::TempDir>,
    pub root: PathBuf,
    pub db: PathBuf,
    pub socket: PathBuf,
    pub line_toml: PathBuf,
    pub log: PathBuf,
    /// The daemon's stderr and stdout, every run appended.
    pub output: PathBuf,
    pub options: LineOptions,
    daemon: Option<Child>,
    /// How many times a daemon was started.
    pub starts: u32,
    sim: Option<RunningSimulator>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Line {
    /// Prepares the store and starts the simulated line; the daemon is not started.
    pub fn new(options: LineOptions) -> Line {
        let dir = tempfile::Builder::new()
            .prefix("ssd")
            .tempdir()
            .expect("a temp dir");
        let root = dir.path().to_path_buf();
        let db = root.join("station.sqlite");
        prepare_store(&db, options.pool);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let mut config = SimConfig::loopback_any_port(root.join("ground-truth.sqlite"));
        config.simulator.seed = options.seed;
        config.simulator.images = options.images;
        config.line.rate_per_min = options.rate_per_min;
        config.faults = options.faults.clone();
        let sim = runtime
            .block_on(Simulator::start(config))
            .expect("the simulated line starts");
        let addresses = sim.addresses().clone();
        let line_toml = root.join("line.toml");
        std::fs::write(
            &line_toml,
            line_config_text(
                include_str!("../../config/line.toml"),
                &addresses.printer.to_string(),
                &addresses.camera.to_string(),
                &addresses.plc.to_string(),
                addresses.plc_unit_id,
                options.rate_per_min,
            ),
        )
        .expect("line.toml written");
        Line {
            socket: root.join("station.sock"),
            log: root.join("daemon.log"),
            output: root.join("daemon.out"),
            dir: Some(dir),
            root,
            db,
            line_toml,
            options,
            daemon: None,
            starts: 0,
            sim: Some(sim),
            runtime: Some(runtime),
        }
    }

    /// The daemon's command line (without the program).
    fn daemon_args(&self, socket: &Path, log: &Path) -> Vec<String> {
        let mut args = vec![
            "--db".to_string(),
            self.db.display().to_string(),
            "--socket".to_string(),
            socket.display().to_string(),
            "daemon".to_string(),
            "--config".to_string(),
            self.line_toml.display().to_string(),
            "--log-file".to_string(),
            log.display().to_string(),
            "--no-upload".to_string(),
        ];
        if self.options.auto_resume {
            args.push("--auto-resume".to_string());
        }
        args
    }

    /// Starts the daemon and waits until its socket answers; returns its first
    /// status.
    pub fn start_daemon(&mut self) -> StatusReport {
        self.spawn_daemon();
        let deadline = Instant::now() + DAEMON_START_TIMEOUT;
        loop {
            if let Some(status) = self.poll_status("the daemon to answer") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the station daemon did not answer on {} within {DAEMON_START_TIMEOUT:?}",
                self.socket.display()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Starts the daemon and returns at once (the restart benchmark times the rest).
    pub fn spawn_daemon(&mut self) {
        assert!(self.daemon.is_none(), "a daemon is already running");
        let output = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.output)
            .expect("the daemon's output file opens");
        let errors = output.try_clone().expect("the output file handle clones");
        let child = Command::new(env!("CARGO_BIN_EXE_serialstation"))
            .args(self.daemon_args(&self.socket, &self.log))
            .env_remove("SERIALSTATION_DB")
            .env_remove("SERIALSTATION_SOCKET")
            .stdin(Stdio::null())
            .stdout(output)
            .stderr(errors)
            .spawn()
            .expect("the serialstation binary starts");
        self.daemon = Some(child);
        self.starts += 1;
    }

    /// `kill -9` of the daemon (SIGKILL), then waits for it.
    pub fn kill_daemon(&mut self) {
        let mut child = self.daemon.take().expect("a daemon to kill");
        child.kill().expect("SIGKILL is sent to the daemon");
        child.wait().expect("the killed daemon is reaped");
    }

    /// Kills the daemon with SIGKILL and starts a new one on the same store.
    pub fn restart_daemon(&mut self) -> StatusReport {
        self.kill_daemon();
        self.start_daemon()
    }

    /// `Some(exit status)` once the daemon has exited.
    pub fn daemon_exit(&mut self) -> Option<String> {
        let child = self.daemon.as_mut()?;
        match child.try_wait() {
            Ok(Some(status)) => Some(status.to_string()),
            Ok(None) => None,
            Err(e) => Some(format!("cannot wait for it: {e}")),
        }
    }

    /// Asks the daemon to stop (the control request the CLI has no command for) and
    /// waits for it to exit with 0.
    pub fn shutdown_daemon(&mut self) {
        let response = serialstation::control::call(&self.socket, &self.db, &Request::Shutdown)
            .expect("the daemon answers the shutdown request");
        assert!(
            response.ok,
            "the daemon refused to stop: {}",
            response.message
        );
        let mut child = self.daemon.take().expect("a running daemon");
        let deadline = Instant::now() + DAEMON_STOP_TIMEOUT;
        loop {
            match child.try_wait().expect("waiting for the daemon") {
                Some(status) => {
                    assert!(status.success(), "the daemon stopped with {status}");
                    return;
                }
                None if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
                None => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "the daemon did not stop within {DAEMON_STOP_TIMEOUT:?} of a shutdown request"
                    );
                }
            }
        }
    }

    /// Runs a second daemon on this store with its own socket path and log; returns
    /// what it printed once it exited (it is killed if it runs for a minute).
    pub fn second_daemon(&self, socket: &Path) -> CliOutput {
        let log = self.root.join("second-daemon.log");
        let mut child = Command::new(env!("CARGO_BIN_EXE_serialstation"))
            .args(self.daemon_args(socket, &log))
            .env_remove("SERIALSTATION_DB")
            .env_remove("SERIALSTATION_SOCKET")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the serialstation binary starts");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            match child.try_wait().expect("waiting for the second daemon") {
                Some(_) => break,
                None if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
                None => {
                    let _ = child.kill();
                    break;
                }
            }
        }
        let output = child
            .wait_with_output()
            .expect("the second daemon's output");
        CliOutput {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Runs `serialstation --db DB --socket SOCKET ARGS...`.
    pub fn cli(&self, args: &[&str]) -> CliOutput {
        self.cli_with_socket(&self.socket, args)
    }

    /// Runs the CLI with `input` on its standard input (passwords with
    /// `--password-stdin`, one per line).
    pub fn cli_with_input(&self, args: &[&str], input: &str) -> CliOutput {
        use std::io::Write as _;
        let mut child = Command::new(env!("CARGO_BIN_EXE_serialstation"))
            .arg("--db")
            .arg(&self.db)
            .arg("--socket")
            .arg(&self.socket)
            .args(args)
            .env_remove("SERIALSTATION_DB")
            .env_remove("SERIALSTATION_SOCKET")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the serialstation binary runs");
        if let Some(mut stdin) = child.stdin.take() {
            let _ = stdin.write_all(input.as_bytes());
        }
        let output = child.wait_with_output().expect("the command ends");
        CliOutput {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Runs the CLI against another socket path.
    pub fn cli_with_socket(&self, socket: &Path, args: &[&str]) -> CliOutput {
        let output = Command::new(env!("CARGO_BIN_EXE_serialstation"))
            .arg("--db")
            .arg(&self.db)
            .arg("--socket")
            .arg(socket)
            .args(args)
            .env_remove("SERIALSTATION_DB")
            .env_remove("SERIALSTATION_SOCKET")
            .stdin(Stdio::null())
            .output()
            .expect("the serialstation binary runs");
        CliOutput {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// `batch status --json`, parsed.
    #[track_caller]
    pub fn status(&self) -> StatusReport {
        let out = self.cli(&["batch", "status", "--json"]);
        let text = out.ok();
        serde_json::from_str(text.trim())
            .unwrap_or_else(|e| panic!("`batch status --json` is not a status ({e}): {text}"))
    }

    /// One `batch status --json` (`None` if the daemon does not answer); panics if
    /// the daemon has exited.
    #[track_caller]
    fn poll_status(&mut self, what: &str) -> Option<StatusReport> {
        if let Some(exit) = self.daemon_exit() {
            panic!("waiting for {what}: the station daemon exited ({exit})");
        }
        let out = self.cli(&["batch", "status", "--json"]);
        (out.code == Some(0)).then(|| {
            serde_json::from_str(out.stdout.trim()).unwrap_or_else(|e| {
                panic!(
                    "`batch status --json` is not a status ({e}): {}",
                    out.stdout
                )
            })
        })
    }

    /// Polls `batch status --json` until `done` holds; panics after `timeout` with
    /// the last status (and, through the fixture, the daemon's log).
    #[track_caller]
    pub fn wait_until(
        &mut self,
        what: &str,
        timeout: Duration,
        done: impl FnMut(&StatusReport) -> bool,
    ) -> StatusReport {
        self.wait(what, timeout, false, done).0
    }

    /// [`Line::wait_until`], playing the operator meanwhile: whenever the batch is
    /// held (a PLC alarm, a reject streak, ...), it runs `batch resume`, as the alarm
    /// asks the operator to once the cause is cleared. Returns the status and the
    /// reasons of the holds it resumed, in order.
    #[track_caller]
    pub fn wait_resuming(
        &mut self,
        what: &str,
        timeout: Duration,
        done: impl FnMut(&StatusReport) -> bool,
    ) -> (StatusReport, Vec<String>) {
        self.wait(what, timeout, true, done)
    }

    #[track_caller]
    fn wait(
        &mut self,
        what: &str,
        timeout: Duration,
        resume_holds: bool,
        mut done: impl FnMut(&StatusReport) -> bool,
    ) -> (StatusReport, Vec<String>) {
        let deadline = Instant::now() + timeout;
        let mut last = None;
        let mut resumed = Vec::new();
        loop {
            if let Some(status) = self.poll_status(what) {
                if done(&status) {
                    return (status, resumed);
                }
                if resume_holds
                    && let Some(batch) = &status.batch
                    && batch.state == "paused"
                    && let Some(hold) = &batch.hold
                    && self.cli(&["batch", "resume"]).code == Some(0)
                {
                    resumed.push(hold.clone());
                }
                last = Some(status);
            }
            if Instant::now() > deadline {
                panic!(
                    "waiting for {what}: not there after {timeout:?} (holds resumed: {resumed:?}); last status:\n{}",
                    last.as_ref()
                        .map(serialstation::cli::batch::render_status)
                        .unwrap_or_else(|| "(none)".to_string())
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Starts a batch of the test product through the CLI; returns its number.
    #[track_caller]
    pub fn start_batch(&self, lot: &str, quantity: u32) -> i64 {
        let out = self.cli(&[
            "batch",
            "start",
            "--product",
            GTIN,
            "--lot",
            lot,
            "--expiry",
            &expiry_in_years(2),
            "--quantity",
            &quantity.to_string(),
        ]);
        let text = out.ok();
        let status = self.status();
        let batch = status.batch.as_ref().map(|b| b.id);
        assert!(
            batch.is_some_and(|id| text.contains(&format!("batch {id} started"))),
            "the start message names the batch: {text}"
        );
        batch.unwrap_or_default()
    }

    /// The simulator's control handle (faults, line conditions).
    pub fn control(&self) -> Control {
        self.sim.as_ref().expect("the simulator runs").control()
    }

    /// Sets one simulator fault; panics if the simulator refuses it.
    #[track_caller]
    pub fn set_fault(&self, fault: FaultKind, spec: FaultSpec) {
        let reply = self
            .control()
            .apply(ControlRequest::SetFault { fault, spec });
        assert_eq!(
            reply["ok"], true,
            "the simulator refused the fault: {reply}"
        );
    }

    pub fn clear_faults(&self) {
        let reply = self.control().apply(ControlRequest::ClearFaults);
        assert_eq!(reply["ok"], true, "{reply}");
    }

    /// Opens the store (the daemon may be running: SQLite in WAL mode reads beside it).
    pub fn store(&self) -> Store {
        Store::open_existing(&self.db).expect("the store opens")
    }

    /// What an operator mistake must leave as it was.
    pub fn snapshot(&self) -> StoreSnapshot {
        let store = self.store();
        let batches = store
            .list_batches(10_000)
            .expect("batches listed")
            .into_iter()
            .map(|b| (b.id.0, b.state.as_str().to_string()))
            .collect();
        let pools = store
            .pool_status(None)
            .expect("pool status")
            .into_iter()
            .map(|p| (p.gtin, p.counts))
            .collect();
        let conn = store.raw_connection();
        let mut stmt = conn
            .prepare("SELECT batch_id, state, count(*) FROM serials GROUP BY batch_id, state ORDER BY 1, 2")
            .expect("serial counts query");
        let serials = stmt
            .query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)? as u64))
            })
            .expect("serial counts")
            .collect::<Result<Vec<_>, _>>()
            .expect("serial counts read");
        StoreSnapshot {
            batches,
            pools,
            serials,
        }
    }

    /// Serials of `batch` in `state`, oldest change first.
    pub fn serials_in_state(
        &self,
        batch: Option<i64>,
        state: SerialState,
        limit: usize,
    ) -> Vec<String> {
        let store = self.store();
        let conn = store.raw_connection();
        let mut stmt = conn
            .prepare(
                "SELECT serial FROM serials WHERE state = ?1 AND batch_id IS ?2 ORDER BY state_changed_at, id LIMIT ?3",
            )
            .expect("serials query");
        stmt.query_map(
            rusqlite::params![i64::from(state.code()), batch, limit as i64],
            |r| r.get::<_, String>(0),
        )
        .expect("serials")
        .collect::<Result<Vec<_>, _>>()
        .expect("serials read")
    }

    /// The judge: shuts the daemon (if running) and the simulator down, then checks
    /// the batch report (closed, balanced, `quantity` commissioned when given) and
    /// the five invariants from the ground truth. Everything is printed.
    #[track_caller]
    pub fn judge(&mut self, batch: i64, quantity: Option<u64>) -> Verdict {
        if self.daemon.is_some() {
            self.shutdown_daemon();
        }
        let sim = self.sim.take().expect("the simulator runs");
        let runtime = self.runtime.as_ref().expect("the runtime runs");
        let truth_path = runtime
            .block_on(sim.shutdown())
            .expect("the simulator's ground truth is committed");
        let truth = GroundTruth::open(&truth_path).expect("the ground truth opens");
        let store = self.store();
        let report = BatchReport::build(&store, BatchId(batch)).expect("the batch report builds");
        println!("{}", report.to_text());
        let checks = check_invariants(&truth, &store, &report).expect("the invariants are checked");
        let lines: Vec<String> = checks.iter().map(|c| c.line()).collect();
        for line in &lines {
            println!("{line}");
        }
        for check in &checks {
            assert!(check.passed, "{}\n{}", check.line(), report.to_text());
        }
        assert!(
            report.balanced,
            "the batch does not balance:\n{}",
            report.to_text()
        );
        assert_eq!(report.state, "closed", "{}", report.to_text());
        if let Some(quantity) = quantity {
            assert_eq!(
                report.serials.commissioned,
                quantity,
                "the batch commissions its quantity:\n{}",
                report.to_text()
            );
        }
        // The report from the CLI, as JSON: balanced (exit 0).
        let out = self.cli(&["batch", "report", &batch.to_string(), "--json"]);
        let json: serde_json::Value =
            serde_json::from_str(out.ok().trim()).expect("`batch report --json` is JSON");
        assert_eq!(json["balanced"], true, "{json}");
        Verdict { report, lines }
    }

    /// The tail of the daemon's output, for failure messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.output).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n")
    }
}

impl Drop for Line {
    fn drop(&mut self) {
        if let Some(mut child) = self.daemon.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            // Commit what the simulator logged so far, for a look at the kept dir.
            if let Some(sim) = &self.sim
                && let Err(e) = sim.ground_truth()
            {
                eprintln!("the simulator's ground truth could not be flushed: {e}");
            }
            let kept = self.dir.take().map(tempfile::TempDir::keep);
            eprintln!(
                "---- the station daemon's output (last {LOG_TAIL_LINES} lines of {}; {} start(s)) ----\n{}\n---- end of the daemon's output; test directory kept: {} ----",
                self.output.display(),
                self.starts,
                self.log_tail(),
                kept.map_or("(gone)".to_string(), |p| p.display().to_string()),
            );
        }
        // The simulator's tasks run on the runtime: drop it first.
        drop(self.sim.take());
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// A store with the example clients and a pool of `pool` random serials of [`GTIN`].
pub fn prepare_store(db: &Path, pool: u64) {
    let mut store = Store::open(db).expect("the store is created");
    let actor = Actor::new("test-setup");
    let clients = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/clients");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&clients)
        .expect("config/clients is readable")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "no example client files in {}",
        clients.display()
    );
    for file in files {
        let text = std::fs::read_to_string(&file).expect("the client file reads");
        let report = parse_client_config(&file.display().to_string(), &text);
        let config = report
            .config
            .unwrap_or_else(|| panic!("{} does not parse: {:?}", file.display(), report.issues));
        store
            .load_client_config(&config, &actor)
            .expect("the client file loads");
    }
    store
        .generate_serials(
            &Gtin::parse(GTIN).expect("the test GTIN"),
            &GenerationPlan {
                count: pool,
                order: SerialOrder::Random,
                alphabet: Alphabet::Alphanumeric,
                length: 12,
            },
            &actor,
        )
        .expect("the pool is generated");
}

/// The last day of the current month `years` from now, as YYYY-MM-DD.
pub fn expiry_in_years(years: i32) -> String {
    let today = serialstation::gs1::date::today_utc();
    let year = today.year + years;
    let day = serialstation::gs1::date::days_in_month(year, today.month);
    format!("{year:04}-{:02}-{day:02}", today.month)
}

/// The name of the operating-system user running the tests, as `id -un` gives it.
pub fn os_user() -> Option<String> {
    let out = Command::new("id").arg("-un").output().ok()?;
    let name = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (out.status.success() && !name.is_empty()).then_some(name)
}

/// The batch of a status, or a panic naming what was expected.
#[track_caller]
pub fn batch_of(status: &StatusReport) -> &BatchView {
    status
        .batch
        .as_ref()
        .unwrap_or_else(|| panic!("the status has no active batch: {status:?}"))
}

/// Whether the status shows `device` offline.
pub fn offline(status: &StatusReport, device: &str) -> bool {
    status
        .devices
        .iter()
        .any(|d| d.name.eq_ignore_ascii_case(device) && !d.online)
}
