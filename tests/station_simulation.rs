//! The whole station under deterministic simulation.
//!
//! Per seed: a real SQLite store, the example client, a pool of serials, and the
//! simulator's line in-process (`serialstation_simulator::inprocess`) with a random
//! set of device faults from its catalogue, all on a paused tokio clock (virtual
//! time) in one thread. The station is the real one, driven through the daemon's own
//! code paths (`Station::with_devices`, `Station::wait`/`handle`,
//! `PendingRecovery::find`/`attempt`, `requests::handle` for the operator's start,
//! resume and close). It is crashed at a random point: between any two store write
//! transactions or device requests, counted on one shared `CrashPoint`, including
//! during start-up recovery. What was committed survives, what was not is lost; the
//! line keeps moving while the station is down; the station then restarts with a
//! fresh store connection and fresh drivers and recovers. After every recovery, and at
//! the end, the invariants are judged from the simulated ground truth against the
//! store (`serialstation::demo::invariants`): no serial sent or printed twice, every
//! good exit GOOD and commissioned once, every reject used up, and at the end every
//! batch closed and balanced.
//!
//! Every random choice comes from the seed, so a failure replays exactly:
//! `SERIALSTATION_SIM_SEED=<n>` runs that seed alone (the failure message prints the
//! whole command). Sizing: `SERIALSTATION_SIM_SEEDS` (number of seeds, default 1000),
//! `SERIALSTATION_SIM_BASE_SEED` (first seed, default 1), `SERIALSTATION_SIM_ITEMS`
//! (items per seed, default 1000), `SERIALSTATION_SIM_CRASHES` (crashes aimed for per
//! seed, default 10), `SERIALSTATION_SIM_RATE` (items per minute, default 1200),
//! `SERIALSTATION_SIM_THREADS` (seeds run in parallel, default: every core),
//! `SERIALSTATION_SIM_JUDGE_EVERY` (judge after every n-th restart, default 1: every
//! one; the end is always judged).
//!
//! The default run (what CI runs) covers at least a million commissioned items and
//! ten thousand crashes, and says so or fails: many short seeds rather than a few
//! long ones, because every judgement reads the whole store and a seed's judgements
//! grow with its length times its crashes.
//! `scripts/soak-simulation.sh` runs a long soak for releases.

use std::collections::BTreeMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant as WallClock};

use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};
use serialstation::config::line::{CameraKind, PrinterKind};
use serialstation::config::{StationConfig, parse_client_config};
use serialstation::control::protocol::Request;
use serialstation::daemon::access::Caller;
use serialstation::daemon::requests::{self, BatchPolicy};
use serialstation::daemon::startup::PendingRecovery;
use serialstation::daemon::status::LiveView;
use serialstation::demo::invariants::{
    InvariantCheck, check_batches_balanced, check_line_invariants,
};
use serialstation::gs1::Gtin;
use serialstation::line::BatchState;
use serialstation::station::Station;
use serialstation::station::devices::StationDevices;
use serialstation::station::events::{CAMERA_NAME, PLC_NAME, PRINTER_NAME};
use serialstation::station::runtime::Wake;
use serialstation::store::{Actor, BatchId, ImportOutcome, SerialLine, Store};
use serialstation_simulator::control::ControlRequest;
use serialstation_simulator::faults::{FaultKind, FaultSpec};
use serialstation_simulator::ground_truth::GroundTruthWriter;
use serialstation_simulator::inprocess::{
    CrashPoint, DeviceNames, InProcessLine, InProcessOptions, SimulatedCrash,
};
use serialstation_simulator::model::{PackMlCommand, PackMlState};
use serialstation_simulator::runtime::core::lock;
use serialstation_simulator::{GroundTruth, SimConfig};

/// The example client's product whose code ends with the PZN (AI 710): a printer's
/// wrong-data fault changes the PZN, never the serial.
const GTIN: &str = "09506000134352";
const EXPIRY: &str = "391231";
/// How often the simulated operator looks at the batch (start, resume, close).
const OPERATOR_EVERY: Duration = Duration::from_millis(200);
/// The default run: seeds, items per seed and crashes aimed for per seed.
const DEFAULT_SEEDS: u64 = 1_000;
const DEFAULT_ITEMS: u32 = 1_000;
const DEFAULT_CRASHES: u32 = 10;
/// What the default run must cover at least: commissioned items and crashes.
const DEFAULT_FLOOR: (u64, u64) = (1_000_000, 10_000);
/// Actions (store writes and device requests) per item, until measured.
const ACTIONS_PER_ITEM_GUESS: u64 = 8;

/// The size of a run.
#[derive(Debug, Clone)]
struct Plan {
    seeds: Vec<u64>,
    /// Items to commission per seed.
    items: u32,
    /// Crashes aimed for per seed (the countdowns are drawn to land about this many).
    crashes: u32,
    /// Line rate, items per minute.
    rate: f64,
    threads: usize,
    /// Judge after every n-th recovery (1: after every one); always at the end.
    judge_every: u64,
    /// No sizing came from the environment: the run must cover [`DEFAULT_FLOOR`].
    is_default: bool,
}

impl Plan {
    fn from_env() -> Plan {
        let seeds = match env_u64("SERIALSTATION_SIM_SEED") {
            Some(seed) => vec![seed],
            None => {
                let base = env_u64("SERIALSTATION_SIM_BASE_SEED").unwrap_or(1);
                let count = env_u64("SERIALSTATION_SIM_SEEDS").unwrap_or(DEFAULT_SEEDS);
                (base..base.saturating_add(count)).collect()
            }
        };
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Plan {
            seeds,
            items: env_u64("SERIALSTATION_SIM_ITEMS").map_or(DEFAULT_ITEMS, |n| n as u32),
            crashes: env_u64("SERIALSTATION_SIM_CRASHES").map_or(DEFAULT_CRASHES, |n| n as u32),
            rate: env_u64("SERIALSTATION_SIM_RATE").map_or(1_200.0, |n| n as f64),
            threads: env_u64("SERIALSTATION_SIM_THREADS").map_or(cores, |n| n as usize),
            judge_every: env_u64("SERIALSTATION_SIM_JUDGE_EVERY").map_or(1, |n| n.max(1)),
            is_default: [
                "SEED",
                "SEEDS",
                "BASE_SEED",
                "ITEMS",
                "CRASHES",
                "RATE",
                "JUDGE_EVERY",
            ]
            .iter()
            .all(|name| std::env::var_os(format!("SERIALSTATION_SIM_{name}")).is_none()),
        }
    }

    /// The command that runs `seed` again exactly.
    fn replay(&self, seed: u64) -> String {
        format!(
            "SERIALSTATION_SIM_SEED={seed} SERIALSTATION_SIM_ITEMS={} SERIALSTATION_SIM_CRASHES={} \
             SERIALSTATION_SIM_RATE={} cargo test --release --test station_simulation -- --nocapture \
             the_whole_station_survives_crashes_at_any_point_and_keeps_every_invariant",
            self.items, self.crashes, self.rate
        )
    }

    /// Most line time one seed may take before it counts as stuck.
    fn budget(&self) -> Duration {
        let nominal = f64::from(self.items) / (self.rate / 60.0);
        Duration::from_secs_f64(nominal * 10.0 + 60.0)
            + Duration::from_secs(30) * (self.crashes * 3 + 1)
    }
}

fn env_u64(name: &str) -> Option<u64> {
    let text = std::env::var(name).ok()?;
    Some(
        text.trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={text:?} is not a whole number")),
    )
}

/// What one seed did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct SeedOutcome {
    commissioned: u64,
    physical_items: u64,
    crashes: u64,
    recoveries: u64,
    /// Items recovery handed to the engine without a final fate (settled afterwards
    /// from their fates).
    handed_over: u64,
    judgements: u64,
    actions: u64,
    virtual_ms: u64,
    /// Every batch's store counts at the end.
    batches: Vec<String>,
    /// A hash of the ground truth's items (what physically happened).
    truth_hash: u64,
}

/// What the operator's look at the batch led to.
#[derive(Debug, PartialEq, Eq)]
enum Next {
    Continue,
    Done,
}

/// One seed's run across the station's lives.
struct SeedRun<'a> {
    seed: u64,
    plan: &'a Plan,
    db: PathBuf,
    writer: GroundTruthWriter,
    truth: GroundTruth,
    line: InProcessLine,
    crash: CrashPoint,
    config: StationConfig,
    rng: Xoshiro256PlusPlus,
    outcome: SeedOutcome,
    began: tokio::time::Instant,
    lots: u32,
    /// Restarts judged or passed over so far (see `Plan::judge_every`).
    restarts: u64,
    /// The operator's last refused request, for a stuck run's message.
    last_refusal: Option<String>,
}

fn device_names() -> DeviceNames {
    DeviceNames {
        printer: PRINTER_NAME.to_string(),
        camera: CAMERA_NAME.to_string(),
        plc: PLC_NAME.to_string(),
    }
}

/// A store with the example client and `pool` serials for the product.
fn prepare_store(db: &Path, pool: u64) -> Result<(), String> {
    let mut store = Store::open_for_simulation(db).map_err(|e| e.to_string())?;
    let actor = Actor::new("simulation-setup");
    let report = parse_client_config("acme.toml", include_str!("../config/clients/acme.toml"));
    let config = report
        .config
        .ok_or_else(|| format!("the example client does not parse: {:?}", report.issues))?;
    store
        .load_client_config(&config, &actor)
        .map_err(|e| e.to_string())?;
    let gtin = Gtin::parse(GTIN).map_err(|e| e.to_string())?;
    let lines = (1..=pool).map(|n| {
        Ok(SerialLine {
            line: n,
            serial: format!("S{n:09}"),
        })
    });
    match store
        .import_serials(&gtin, lines, "simulation", &actor)
        .map_err(|e| e.to_string())?
    {
        ImportOutcome::Imported { .. } => Ok(()),
        other => Err(format!("the pool was refused: {other:?}")),
    }
}

/// A random part of the simulator's fault catalogue, each at a random rate up to a
/// ceiling that keeps the line producing.
fn draw_faults(rng: &mut Xoshiro256PlusPlus) -> BTreeMap<FaultKind, FaultSpec> {
    use FaultKind::*;
    let catalogue: [(FaultKind, f64); 20] = [
        (PrintDefect, 0.03),
        (SkippedPrint, 0.01),
        (DoublePrint, 0.003),
        (WrongData, 0.01),
        (CameraNoRead, 0.02),
        (CameraLatency, 0.05),
        (PrinterDisconnect, 0.0005),
        (CameraDisconnect, 0.0005),
        (PlcDisconnect, 0.0002),
        (PrinterSlowReply, 0.01),
        (CameraSlowReply, 0.01),
        (PlcSlowReply, 0.005),
        (PrinterGarbage, 0.001),
        (CameraGarbage, 0.001),
        (PlcGarbage, 0.0002),
        (ModbusException, 0.001),
        (GateNoFire, 0.001),
        (ConfirmMiss, 0.002),
        (BinFull, 0.0005),
        (LineJam, 0.0005),
    ];
    let mut faults = BTreeMap::new();
    for (kind, ceiling) in catalogue {
        if rng.random_range(0..2u32) == 0 {
            continue;
        }
        let mut spec = FaultSpec {
            rate: ceiling * rng.random::<f64>(),
            ..FaultSpec::default()
        };
        match kind {
            PrintDefect => spec.severity = Some(rng.random_range(0.3..1.0)),
            CameraLatency => spec.max_ms = Some(rng.random_range(5..=80u64)),
            PrinterSlowReply | CameraSlowReply | PlcSlowReply => {
                spec.max_ms = Some(rng.random_range(5..=50u64));
            }
            _ => {}
        }
        faults.insert(kind, spec);
    }
    faults
}

fn station_config(rate: f64) -> StationConfig {
    let mut config = StationConfig::parse(include_str!("../config/line.toml"), "line.toml")
        .expect("the example line configuration parses");
    config.line.rate_per_min = rate;
    config.printer.kind = PrinterKind::Tij;
    config.camera.kind = CameraKind::Smart;
    config
}

fn failed_checks(checks: &[InvariantCheck], moment: &str) -> Result<(), String> {
    let failed: Vec<String> = checks
        .iter()
        .filter(|check| !check.passed)
        .map(InvariantCheck::line)
        .collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!("after {moment}: {}", failed.join("; ")))
    }
}

/// Every batch of the store, oldest first.
fn batch_ids(store: &Store) -> Result<Vec<BatchId>, String> {
    let conn = store.raw_connection();
    let mut stmt = conn
        .prepare("SELECT id FROM batches ORDER BY id")
        .map_err(|e| e.to_string())?;
    let ids = stmt
        .query_map([], |r| r.get::<_, i64>(0))
        .map_err(|e| e.to_string())?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    Ok(ids.into_iter().map(BatchId).collect())
}

/// Items in flight that every recovery of the store handed over, from the audit trail.
fn handed_over_total(store: &Store) -> Result<u64, String> {
    store
        .raw_connection()
        .query_row(
            "SELECT COALESCE(SUM(json_extract(after, '$.handed_over')), 0) FROM audit \
             WHERE action = ?1",
            [serialstation::station::recovery::AUDIT_ACTION],
            |row| row.get::<_, i64>(0),
        )
        .map(|n| n as u64)
        .map_err(|e| format!("reading the recoveries' audit rows: {e}"))
}

/// Serials commissioned in every batch of the store.
fn commissioned_total(store: &Store) -> Result<u64, String> {
    let mut total = 0;
    for batch in batch_ids(store)? {
        total += store
            .batch_serial_counts(batch)
            .map_err(|e| e.to_string())?
            .commissioned;
    }
    Ok(total)
}

impl SeedRun<'_> {
    /// Arms the crash point for the coming life: mostly somewhere in the middle of
    /// production, sometimes within the first few actions (inside start-up recovery).
    fn arm_crash(&mut self) {
        let most = u64::from(self.plan.crashes) * 3;
        if self.outcome.crashes >= most {
            self.crash.disarm();
            return;
        }
        let after = if self.outcome.crashes > 0 && self.rng.random_range(0..4u32) == 0 {
            self.rng.random_range(1..=40u64)
        } else {
            let entered = lock(&self.line.core()).model.items_entered();
            let per_item = if entered > 100 {
                (self.crash.actions() / entered).max(1)
            } else {
                ACTIONS_PER_ITEM_GUESS
            };
            let expected = per_item * u64::from(self.plan.items) * 13 / 10;
            let mean = (expected / u64::from(self.plan.crashes.max(1))).max(10);
            self.rng.random_range(1..=2 * mean)
        };
        self.crash.arm(after);
    }

    /// Judges the finished items of the ground truth against the store (after every
    /// `judge_every`-th restart).
    fn judge(&mut self, store: &Store, moment: &str) -> Result<(), String> {
        self.restarts += 1;
        if !(self.restarts - 1).is_multiple_of(self.plan.judge_every) {
            return Ok(());
        }
        self.writer
            .flush()
            .map_err(|e| format!("flushing the ground truth: {e}"))?;
        let items = self
            .truth
            .items()
            .map_err(|e| format!("reading the ground truth: {e}"))?;
        let checks = check_line_invariants(&items, store)?;
        self.outcome.judgements += 1;
        failed_checks(&checks, moment)
    }

    /// One life of the station: start (recovering what the last one left), then run
    /// as the daemon runs it, with an operator who starts, resumes and closes batches,
    /// until every item is commissioned and every batch closed. Ends early with a
    /// `SimulatedCrash` panic at the armed crash point.
    async fn life(&mut self) -> Result<(), String> {
        let mut store = Store::open_for_simulation(&self.db)
            .map_err(|e| format!("reopening the store: {e}"))?;
        store.set_write_hook(Some(self.crash.store_hook()));
        let devices = self.line.connect();
        let mut station = Station::with_devices(
            self.config.clone(),
            store,
            StationDevices {
                printer: devices.printer,
                camera: devices.camera,
                plc: devices.plc,
            },
            devices.events,
        );
        let mut recovery = PendingRecovery::find(station.store())
            .map_err(|e| format!("listing unfinished batches: {e}"))?;
        if recovery.is_none() {
            self.judge(station.store(), "a start with nothing to recover")?;
        }
        let caller = Caller::unrestricted(Actor::new("simulated-operator"));
        let policy = BatchPolicy { auto_resume: true };
        let mut live = LiveView::default();
        let mut next_look = tokio::time::Instant::now();
        loop {
            let wake = station
                .wait()
                .await
                .map_err(|e| format!("the station stopped: {e}"))?;
            let polled = matches!(wake, Wake::Poll);
            station
                .handle(wake)
                .await
                .map_err(|e| format!("the station stopped: {e}"))?;
            if !polled {
                continue;
            }
            let now = tokio::time::Instant::now();
            if now.duration_since(self.began) > self.plan.budget() {
                return Err(format!(
                    "not finished after {:?} of line time (recovery: {:?}; batch: {:?}; last refusal: {:?})",
                    self.plan.budget(),
                    recovery.as_ref().map(PendingRecovery::describe),
                    station.batch_status().map(|s| (s.state, s.hold, s.counts)),
                    self.last_refusal
                ));
            }
            if let Some(pending) = recovery.as_mut() {
                match pending.attempt(&mut station).await {
                    Ok(true) => {
                        recovery = None;
                        self.outcome.recoveries += 1;
                        self.judge(station.store(), "start-up recovery")?;
                    }
                    Ok(false) => {}
                    Err(e) => return Err(format!("start-up recovery failed: {e}")),
                }
                continue;
            }
            if now < next_look {
                continue;
            }
            next_look = now + OPERATOR_EVERY;
            if self
                .operate(&mut station, &caller, &policy, &mut live)
                .await?
                == Next::Done
            {
                return Ok(());
            }
        }
    }

    /// The operator's look at the batch: start one while items are missing, resume a
    /// held one, close a stopped one.
    async fn operate(
        &mut self,
        station: &mut Station,
        caller: &Caller,
        policy: &BatchPolicy,
        live: &mut LiveView,
    ) -> Result<Next, String> {
        let request = match station.batch_status() {
            None => {
                let done = commissioned_total(station.store())?;
                let target = u64::from(self.plan.items);
                if done >= target {
                    self.crash.disarm();
                    return Ok(Next::Done);
                }
                self.lots += 1;
                Request::BatchStart {
                    gtin: GTIN.to_string(),
                    lot: format!("SIM{}", self.lots),
                    expiry: EXPIRY.to_string(),
                    quantity: u32::try_from(target - done).unwrap_or(u32::MAX),
                    client: None,
                    challenge: 0,
                }
            }
            Some(status)
                if matches!(
                    status.state,
                    BatchState::Stopped | BatchState::ChallengeFailed
                ) =>
            {
                Request::BatchClose {
                    batch: None,
                    reason: None,
                    signature: None,
                }
            }
            Some(status) if status.hold.is_some() => Request::BatchResume {
                batch: None,
                signature: None,
            },
            Some(_) => return Ok(Next::Continue),
        };
        let closing = matches!(request, Request::BatchClose { .. });
        let (response, _) = requests::handle(station, request, caller, policy, None, live).await;
        if !response.ok {
            if closing {
                return Err(format!(
                    "the stopped batch could not be closed: {}",
                    response.message
                ));
            }
            if response.message.contains("PLC still reports an alarm") {
                // What an operator does at the line's panel once the cause is gone:
                // bring the PLC to Stopped (Clear from Aborted, Stop from Idle) and
                // reset, which drops the latched alarms; then resume again.
                let state = lock(&self.line.core()).model.plc.state;
                let commands: &[PackMlCommand] = match state {
                    PackMlState::Aborted => &[PackMlCommand::Clear, PackMlCommand::Reset],
                    PackMlState::Idle => &[PackMlCommand::Stop, PackMlCommand::Reset],
                    _ => &[PackMlCommand::Reset],
                };
                for &command in commands {
                    let _ = self
                        .line
                        .control()
                        .apply(ControlRequest::Command { command });
                }
            }
            self.last_refusal = Some(response.message);
        }
        Ok(Next::Continue)
    }

    /// The end: every item still on the line goes to the ground truth, and everything
    /// is judged once more, every batch closed and balanced included.
    fn finish(mut self, runtime: &tokio::runtime::Runtime) -> Result<SeedOutcome, String> {
        self.crash.disarm();
        let began = self.began;
        self.outcome.virtual_ms = runtime.block_on(async move {
            u64::try_from(began.elapsed().as_millis()).unwrap_or(u64::MAX)
        });
        self.outcome.actions = self.crash.actions();
        self.line.finish();
        self.writer
            .flush()
            .map_err(|e| format!("flushing the ground truth: {e}"))?;
        let store = Store::open_for_simulation(&self.db)
            .map_err(|e| format!("reopening the store at the end: {e}"))?;
        let items = self
            .truth
            .items()
            .map_err(|e| format!("reading the ground truth: {e}"))?;
        let mut checks = check_line_invariants(&items, &store)?;
        checks.push(check_batches_balanced(&store)?);
        failed_checks(&checks, "the last batch was closed")?;
        self.outcome.commissioned = commissioned_total(&store)?;
        self.outcome.handed_over = handed_over_total(&store)?;
        self.outcome.physical_items = items.len() as u64;
        for batch in batch_ids(&store)? {
            let counts = store
                .batch_serial_counts(batch)
                .map_err(|e| e.to_string())?;
            self.outcome
                .batches
                .push(format!("{}: {counts:?}", batch.0));
        }
        let mut hasher = DefaultHasher::new();
        for item in &items {
            (
                item.item_no,
                item.seq,
                item.serial(),
                item.exit.as_str(),
                format!("{:?} {:?}", item.verdict_held, item.plc_fate),
            )
                .hash(&mut hasher);
        }
        self.outcome.truth_hash = hasher.finish();
        Ok(self.outcome)
    }
}

/// Runs one seed to its end; `Err` says which invariant failed (or why the run could
/// not go on). A panic that is not a simulated crash is a bug: its seed is printed and
/// the panic goes on.
fn run_seed(seed: u64, plan: &Plan) -> Result<SeedOutcome, String> {
    let dir = scratch_dir().map_err(|e| format!("temp dir: {e}"))?;
    let db = dir.path().join("station.sqlite");
    let truth_path = dir.path().join("truth.sqlite");
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    prepare_store(&db, u64::from(plan.items) * 3 + 2_000)?;
    // The judge flushes before it reads, so rows may wait for company.
    let writer = GroundTruthWriter::create(&truth_path, &[("seed", seed.to_string())])
        .map_err(|e| format!("ground truth: {e}"))?
        .batched(1_024);
    let mut sim = SimConfig::default_line();
    sim.simulator.seed = seed;
    sim.simulator.images = false;
    sim.simulator.autostart = false;
    sim.simulator.ground_truth = truth_path.clone();
    sim.line.rate_per_min = plan.rate;
    sim.faults = draw_faults(&mut rng);
    let crash = CrashPoint::new();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .map_err(|e| format!("runtime: {e}"))?;
    let (line, began) = runtime.block_on(async {
        let line = InProcessLine::new(
            &sim,
            Some(writer.clone()),
            crash.clone(),
            device_names(),
            InProcessOptions::default(),
        )
        .map_err(|e| e.to_string())?;
        tokio::spawn(line.clone().pump());
        Ok::<_, String>((line, tokio::time::Instant::now()))
    })?;
    let truth = GroundTruth::open(&truth_path).map_err(|e| format!("ground truth: {e}"))?;
    let mut run = SeedRun {
        seed,
        plan,
        db,
        writer,
        truth,
        line,
        crash,
        config: station_config(plan.rate),
        rng,
        outcome: SeedOutcome::default(),
        began,
        lots: 0,
        restarts: 0,
        last_refusal: None,
    };
    loop {
        run.arm_crash();
        let life = catch_unwind(AssertUnwindSafe(|| runtime.block_on(run.life())));
        match life {
            Ok(Ok(())) => break,
            Ok(Err(failure)) => return Err(failure),
            Err(payload) if payload.is::<SimulatedCrash>() => {
                run.outcome.crashes += 1;
                // The line runs on while the station is down.
                let downtime = Duration::from_millis(run.rng.random_range(50..=2_000u64));
                runtime.block_on(async { tokio::time::sleep(downtime).await });
            }
            Err(payload) => {
                eprintln!(
                    "seed={} panicked (not a simulated crash); replay: {}",
                    run.seed,
                    plan.replay(run.seed)
                );
                resume_unwind(payload);
            }
        }
    }
    let outcome = run.finish(&runtime);
    drop(runtime);
    outcome
}

/// A directory for one seed's store and ground truth: in memory (`/dev/shm`) where
/// the machine has it, since a simulated crash is a process's crash, not a power
/// loss, and what a commit wrote survives it either way; else the usual temp dir.
fn scratch_dir() -> std::io::Result<tempfile::TempDir> {
    let shm = Path::new("/dev/shm");
    if shm.is_dir()
        && let Ok(dir) = tempfile::Builder::new()
            .prefix("station-sim")
            .tempdir_in(shm)
    {
        return Ok(dir);
    }
    tempfile::tempdir()
}

/// Simulated crashes are expected by the thousand: they unwind silently. Every other
/// panic is reported as usual.
fn silence_simulated_crashes() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if info.payload().is::<SimulatedCrash>() {
                return;
            }
            previous(info);
        }));
    });
}

/// Runs every seed of `plan` on `plan.threads` threads; returns the outcomes by seed.
fn run_plan(plan: &Plan) -> Vec<(u64, Result<SeedOutcome, String>)> {
    silence_simulated_crashes();
    let next = AtomicUsize::new(0);
    let results = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..plan.threads.clamp(1, plan.seeds.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(&seed) = plan.seeds.get(i) else {
                        return;
                    };
                    let result = run_seed(seed, plan);
                    results
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push((seed, result));
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap_or_else(|p| p.into_inner());
    results.sort_by_key(|(seed, _)| *seed);
    results
}

#[test]
fn the_whole_station_survives_crashes_at_any_point_and_keeps_every_invariant() {
    let plan = Plan::from_env();
    let wall = WallClock::now();
    let results = run_plan(&plan);
    let mut total = SeedOutcome::default();
    let mut failures = Vec::new();
    for (seed, result) in &results {
        match result {
            Ok(outcome) => {
                total.commissioned += outcome.commissioned;
                total.physical_items += outcome.physical_items;
                total.crashes += outcome.crashes;
                total.recoveries += outcome.recoveries;
                total.handed_over += outcome.handed_over;
                total.judgements += outcome.judgements;
                total.virtual_ms += outcome.virtual_ms;
            }
            Err(failure) => failures.push(format!(
                "seed={seed}: {failure}\n  replay: {}",
                plan.replay(*seed)
            )),
        }
    }
    println!(
        "station simulation: {} seeds, {} items commissioned ({} through the line), {} crashes, \
         {} recoveries ({} items in flight handed over), {} judgements, {:.1} s of line time, \
         {:.1} s wall",
        results.len(),
        total.commissioned,
        total.physical_items,
        total.crashes,
        total.recoveries,
        total.handed_over,
        total.judgements,
        total.virtual_ms as f64 / 1000.0,
        wall.elapsed().as_secs_f64()
    );
    assert!(
        failures.is_empty(),
        "{} of {} seeds failed:\n{}",
        failures.len(),
        results.len(),
        failures.join("\n")
    );
    if plan.is_default {
        let (items, crashes) = DEFAULT_FLOOR;
        assert!(
            total.commissioned >= items && total.crashes >= crashes,
            "the default run must cover at least {items} commissioned items and {crashes} crashes; \
             it covered {} and {}: raise DEFAULT_SEEDS or DEFAULT_CRASHES",
            total.commissioned,
            total.crashes
        );
        assert!(
            total.handed_over > 0,
            "no recovery handed an item in flight to the engine: the default run must cover it"
        );
    }
}

#[test]
fn a_seed_replays_exactly() {
    let plan = Plan {
        seeds: vec![7],
        items: 300,
        crashes: 8,
        rate: 1_200.0,
        threads: 1,
        judge_every: 1,
        is_default: false,
    };
    silence_simulated_crashes();
    let first = run_seed(7, &plan).unwrap_or_else(|e| panic!("seed=7: {e}"));
    let second = run_seed(7, &plan).unwrap_or_else(|e| panic!("seed=7: {e}"));
    assert!(first.crashes > 0, "the run crashed the station: {first:?}");
    assert_eq!(first, second, "the same seed ran differently");
}
