//! The line demo: a whole batch on a simulated line, judged from the outside.
//!
//! [`run_line_demo`] starts the simulator in-process (real DataMatrix images by
//! default), creates a working directory with a fresh store, loads the example
//! clients (embedded), generates a serial pool, runs one batch through the station
//! runtime on real loopback sockets with a live progress line, prints the batch
//! report, and checks the invariants of ARCHITECTURE.md against the simulator's
//! ground truth and the store. [`faults`] holds the fault profiles, [`invariants`]
//! the checks.

pub mod aggregate;
pub mod case_judge;
pub mod case_line;
pub mod daemon_process;
pub mod faults;
pub mod invariants;
pub mod pallet_line;
pub mod station_process;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serialstation_simulator::site_server::{SiteServer, SiteServerConfig};
use serialstation_simulator::{SimConfig, Simulator};

use crate::aggregation::Level;
use crate::config::parse_client_config;
use crate::control::protocol::{BatchView, Request, StatusReport};
use crate::gs1::Gtin;
use crate::pool::{Alphabet, GenerationPlan, SerialOrder};
use crate::report::BatchReport;
use crate::store::{Actor, BatchId, Store};

use daemon_process::DaemonProcess;

pub use faults::FaultLevel;
pub use invariants::InvariantCheck;

/// The example client files, embedded so the demo runs from any directory.
const EXAMPLE_CLIENTS: &[(&str, &str)] = &[
    ("acme.toml", include_str!("../../config/clients/acme.toml")),
    (
        "nordpharma.toml",
        include_str!("../../config/clients/nordpharma.toml"),
    ),
];

/// The example line configuration (device addresses are replaced by the simulator's).
const EXAMPLE_LINE: &str = include_str!("../../config/line.toml");

/// The product the demo runs (from `acme.toml`).
const DEMO_GTIN: &str = "09506000134352";

/// Marks a folder as the line demo's own, so a later run may reset it.
const MARKER: &str = ".serialstation-line-demo";

/// What the demo does.
#[derive(Debug, Clone)]
pub struct LineDemoOptions {
    pub workdir: PathBuf,
    pub items: u32,
    pub rate_per_min: f64,
    pub faults: FaultLevel,
    /// Render and decode real DataMatrix images.
    pub images: bool,
    pub seed: u64,
    /// Show the live progress line on stderr.
    pub progress: bool,
    /// The `serialstation` program to run as the daemon (default: this program).
    pub daemon_exe: Option<PathBuf>,
}

impl Default for LineDemoOptions {
    fn default() -> LineDemoOptions {
        LineDemoOptions {
            workdir: PathBuf::from("serialstation-line-demo"),
            items: 1_000,
            rate_per_min: 1_200.0,
            faults: FaultLevel::Default,
            images: true,
            seed: 1,
            progress: true,
            daemon_exe: None,
        }
    }
}

/// What the demo found.
#[derive(Debug, Clone)]
pub struct DemoOutcome {
    pub workdir: PathBuf,
    pub report: BatchReport,
    pub invariants: Vec<InvariantCheck>,
    pub alarms: Vec<String>,
    pub elapsed: Duration,
}

impl DemoOutcome {
    pub fn passed(&self) -> bool {
        self.invariants.iter().all(|check| check.passed)
    }
}

/// Runs the line demo (see the module documentation). Prints as it goes.
pub fn run_line_demo(options: &LineDemoOptions) -> Result<DemoOutcome, String> {
    if options.items == 0 {
        return Err("--items must be at least 1".to_string());
    }
    if !(options.rate_per_min.is_finite() && options.rate_per_min >= 1.0) {
        return Err("--rate must be at least 1 item per minute".to_string());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    let workdir = prepare_workdir(&options.workdir)?;
    let db = workdir.join("serialstation.sqlite");
    println!(
        "serialstation line demo: working directory {}",
        workdir.display()
    );
    println!("store: {} (SQLite)", db.display());
    // The clients' site server: the simulated one, on this machine.
    let site = runtime
        .block_on(SiteServer::start(SiteServerConfig::new(
            workdir.join("site-server.sqlite"),
        )))
        .map_err(|e| format!("cannot start the simulated site server: {e}"))?;
    println!(
        "site server: {}/capture (simulated, EPCIS 2.0)",
        site.base_url()
    );
    let mut store = Store::open(&db).map_err(|e| e.to_string())?;
    let actor = Actor::new("demo");
    load_clients(&mut store, &actor, &site.base_url())?;
    let gtin = Gtin::parse(DEMO_GTIN).map_err(|e| format!("demo GTIN: {e}"))?;
    let pool = u64::from(options.items) * 2 + 1_000;
    store
        .generate_serials(
            &gtin,
            &GenerationPlan {
                count: pool,
                order: SerialOrder::Random,
                alphabet: Alphabet::Alphanumeric,
                length: 12,
            },
            &actor,
        )
        .map_err(|e| e.to_string())?;
    println!("pool: {pool} random serials generated for GTIN {DEMO_GTIN}");
    drop(store);

    // The simulated line runs on the runtime's worker threads while this thread
    // plays the operator.
    let mut sim_config = SimConfig::loopback_any_port(workdir.join("ground-truth.sqlite"));
    sim_config.simulator.seed = options.seed;
    sim_config.simulator.images = options.images;
    sim_config.line.rate_per_min = options.rate_per_min;
    sim_config.faults = faults::profile(options.faults);
    let simulator = runtime
        .block_on(Simulator::start(sim_config))
        .map_err(|e| format!("cannot start the simulated line: {e}"))?;
    for line in simulator.address_lines() {
        println!("simulator: {line}");
    }
    let addresses = simulator.addresses().clone();
    let line_toml = workdir.join("line.toml");
    std::fs::write(
        &line_toml,
        daemon_process::line_config_text(
            EXAMPLE_LINE,
            &addresses.printer.to_string(),
            &addresses.camera.to_string(),
            &addresses.plc.to_string(),
            addresses.plc_unit_id,
            options.rate_per_min,
        ),
    )
    .map_err(|e| format!("cannot write {}: {e}", line_toml.display()))?;
    let exe = match &options.daemon_exe {
        Some(exe) => exe.clone(),
        None => std::env::current_exe()
            .map_err(|e| format!("cannot find the serialstation program: {e}"))?,
    };
    let log = workdir.join("daemon.log");
    let daemon = DaemonProcess::start(&exe, &db, &line_toml, &log)?;
    println!(
        "daemon: `serialstation daemon` running on {} (log {})",
        db.with_extension("sock").display(),
        log.display()
    );
    let session = operate(&daemon, options, &gtin);
    // The closed batch's packs into cases and the cases onto pallets, by the
    // product's hierarchy; the daemon's uploader sends the containers too. Cases
    // on the real case station over a simulated case cell, pallets on the real
    // pallet station over a simulated pallet cell; a level no station builds
    // (bundles) as a packing operator would.
    let cases = match &session {
        Ok((batch, _)) if case_line::has_case_station(&db, &gtin) => {
            Some(aggregate::provide_ssccs(&db, *batch, &gtin).and_then(|()| {
                case_line::run(&exe, &db, &workdir, *batch, options.faults, options.seed)
            }))
        }
        _ => None,
    };
    let cases_done = matches!(cases, Some(Ok(_)));
    let mut packed = match (&session, &cases) {
        (Ok(_), Some(Err(e))) => Err(e.clone()),
        (Ok((batch, _)), _) => {
            aggregate::pack_batch(&db, *batch, &gtin, cases_done, Some(Level::Pallet))
        }
        (Err(_), _) => Ok(None),
    };
    if let (Ok(Some(packed)), Some(Ok(run))) = (&mut packed, &cases) {
        packed.case_station = Some(run.describe());
    }
    let pallets = match (&session, &mut packed) {
        (Ok((batch, _)), Ok(Some(packed))) if has_pallets(&db, &gtin) => {
            let run = pallet_line::run(&exe, &db, &workdir, *batch, options.seed);
            if let Ok(run) = &run {
                aggregate::add_pallets(&db, *batch, packed, run)?;
            }
            Some(run)
        }
        _ => None,
    };
    if let Ok(Some(packed)) = &packed {
        println!();
        print!("{}", aggregate::describe(packed));
    }
    let delivered = if session.is_ok() && packed.is_ok() {
        wait_for_upload(&db, UPLOAD_TIMEOUT)
    } else {
        Ok(())
    };
    let stopped = daemon.shutdown();
    let shutdown = runtime.block_on(simulator.shutdown());
    let (batch, elapsed) = session?;
    let packed = packed?;
    let pallets = pallets.transpose()?;
    let cases = cases.transpose()?;
    stopped?;
    delivered?;
    let truth_path = shutdown.map_err(|e| format!("closing the simulator's ground truth: {e}"))?;

    let store = Store::open_existing(&db).map_err(|e| e.to_string())?;
    let report = BatchReport::build(&store, batch).map_err(|e| e.to_string())?;
    let alarms = batch_alarms(&store, batch);
    println!();
    print!("{}", report.to_text());
    println!("  {} alarms, {:.1} s", alarms.len(), elapsed.as_secs_f64());
    for alarm in alarms.iter().take(10) {
        println!("  alarm: {alarm}");
    }
    if alarms.len() > 10 {
        println!("  ... and {} more alarms", alarms.len() - 10);
    }
    let truth = serialstation_simulator::GroundTruth::open(&truth_path)
        .map_err(|e| format!("reading the ground truth: {e}"))?;
    let mut invariants = invariants::check_invariants(&truth, &store, &report)?;
    invariants.push(site.with_records(|records| invariants::check_upload(records, &store))?);
    if packed.is_some() {
        invariants.push(
            site.with_records(|records| invariants::check_aggregation(records, &store, batch))?,
        );
    }
    if let Some(run) = &cases {
        invariants.push(case_line::judge(&store, batch, run)?);
    }
    if let Some(run) = &pallets {
        let judged = pallet_line::judge_pallets(&store, &run.truth)?;
        invariants.push(pallet_line::invariant(&judged, run));
    }
    runtime.block_on(site.stop());
    println!();
    for check in &invariants {
        println!("{}", check.line());
    }
    Ok(DemoOutcome {
        workdir,
        report,
        invariants,
        alarms,
        elapsed,
    })
}

/// Whether the product's hierarchy has a pallet level.
fn has_pallets(db: &Path, gtin: &Gtin) -> bool {
    Store::open_existing(db)
        .ok()
        .and_then(|store| store.product(gtin).ok().flatten())
        .is_some_and(|product| product.aggregation_level(Level::Pallet).is_some())
}

/// The operator's part: start the batch, watch it, stop it if it stalls, close it.
fn operate(
    daemon: &DaemonProcess,
    options: &LineDemoOptions,
    gtin: &Gtin,
) -> Result<(BatchId, Duration), String> {
    let expiry = expiry_two_years_ahead();
    let lot = format!("DEMO{}", options.seed);
    println!(
        "batch: {} items of GTIN {gtin}, lot {lot}, expiry {expiry}, at {} items/min, faults {}, images {}",
        options.items,
        options.rate_per_min,
        options.faults,
        if options.images { "on" } else { "off" }
    );
    let started = daemon.expect_ok(&Request::BatchStart {
        gtin: gtin.to_string(),
        lot,
        expiry,
        quantity: options.items,
        client: None,
        challenge: 0,
    })?;
    let batch = BatchId(
        started
            .batch
            .ok_or("the daemon started a batch without naming it")?,
    );
    println!("{}", started.message);
    let begun = Instant::now();
    let mut last_progress = (Instant::now(), 0u64);
    let mut stops_sent = 0u32;
    loop {
        std::thread::sleep(Duration::from_millis(250));
        let status = daemon.status()?;
        let Some(view) = status.batch.as_ref() else {
            return Err("the daemon no longer has the batch".to_string());
        };
        if options.progress {
            progress_line(view, &status);
        }
        if view.is_stopped() {
            break;
        }
        if view.commissioned != last_progress.1 {
            last_progress = (Instant::now(), view.commissioned);
        } else if last_progress.0.elapsed() >= STALL_TIMEOUT {
            // Nothing commissioned for a while: stop, then give up on items in flight.
            let abandon = stops_sent > 0;
            println!(
                "\nnothing commissioned for {STALL_TIMEOUT:?}: {}",
                if abandon {
                    "abandoning items in flight"
                } else {
                    "stopping the batch"
                }
            );
            if let Err(e) = daemon.expect_ok(&Request::BatchStop {
                batch: Some(batch.0),
                abandon_in_flight: abandon,
            }) {
                println!("stop refused: {e}");
            }
            stops_sent += 1;
            last_progress.0 = Instant::now();
        }
    }
    if options.progress {
        eprintln!();
    }
    let closed = daemon.expect_ok(&Request::BatchClose {
        batch: Some(batch.0),
        reason: None,
        signature: None,
    })?;
    println!("{}", closed.message);
    Ok((batch, begun.elapsed()))
}

/// Longest wait for the outbox to reach the site server after the batch is closed.
const UPLOAD_TIMEOUT: Duration = Duration::from_secs(90);

/// Waits until the daemon's uploader has delivered every outbox row.
fn wait_for_upload(db: &Path, timeout: Duration) -> Result<(), String> {
    let store = Store::open_existing(db).map_err(|e| e.to_string())?;
    let deadline = Instant::now() + timeout;
    let mut shown = false;
    loop {
        let waiting = store
            .outbox_undelivered(None)
            .map_err(|e| format!("reading the outbox: {e}"))?;
        if waiting == 0 {
            if shown {
                println!();
            }
            return Ok(());
        }
        if Instant::now() > deadline {
            let status = store
                .outbox_status()
                .map(|clients| {
                    clients
                        .iter()
                        .map(|c| {
                            format!(
                                "client {}: {} pending, {} in flight, {} parked, last error: {}",
                                c.client_id,
                                c.pending,
                                c.in_flight,
                                c.parked,
                                c.last_error.as_deref().unwrap_or("none")
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("; ")
                })
                .unwrap_or_default();
            return Err(format!(
                "{waiting} outbox rows were not delivered to the site server within {} s: {status}",
                timeout.as_secs()
            ));
        }
        if !shown {
            print!("upload: waiting for the site server to receive everything");
            shown = true;
        }
        print!(".");
        let _ = std::io::stdout().flush();
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Nothing commissioned for this long: the demo stops the batch.
const STALL_TIMEOUT: Duration = Duration::from_secs(20);

fn progress_line(view: &BatchView, status: &StatusReport) {
    let hold = view
        .hold
        .as_ref()
        .map_or(String::new(), |h| format!(" HELD: {h}"));
    let offline: Vec<&str> = status
        .devices
        .iter()
        .filter(|d| !d.online)
        .map(|d| d.name.as_str())
        .collect();
    eprint!(
        "\r{:>6}/{} commissioned, {} rejected, {:.0} items/min, {}{}{}        ",
        view.commissioned,
        view.quantity,
        view.rejects,
        view.rate_per_min,
        view.state,
        hold,
        if offline.is_empty() {
            String::new()
        } else {
            format!(" OFFLINE: {}", offline.join(", "))
        }
    );
    let _ = std::io::stderr().flush();
}

/// The alarms the store recorded for a batch (audit rows of held states).
fn batch_alarms(store: &Store, batch: BatchId) -> Vec<String> {
    let conn = store.raw_connection();
    let Ok(mut stmt) = conn.prepare(
        "SELECT after FROM audit WHERE action = 'batch.state' AND subject = ?1 ORDER BY id",
    ) else {
        return Vec::new();
    };
    let Ok(rows) = stmt.query_map([format!("batch {}", batch.0)], |r| r.get::<_, String>(0)) else {
        return Vec::new();
    };
    rows.filter_map(Result::ok)
        .filter_map(|after| serde_json::from_str::<serde_json::Value>(&after).ok())
        .filter(|v| v["state"] == "paused")
        .filter_map(|v| v["reason"].as_str().map(str::to_string))
        .collect()
}

fn load_clients(store: &mut Store, actor: &Actor, site_url: &str) -> Result<(), String> {
    for (name, text) in EXAMPLE_CLIENTS {
        // Every example client reports to the demo's simulated site server.
        let text = point_at_site_server(text, site_url);
        let report = parse_client_config(name, &text);
        let config = report
            .config
            .ok_or_else(|| format!("the embedded example client file {name} does not parse"))?;
        store
            .load_client_config(&config, actor)
            .map_err(|e| format!("loading {name}: {e}"))?;
    }
    println!(
        "clients: {} example client files loaded",
        EXAMPLE_CLIENTS.len()
    );
    Ok(())
}

fn prepare_workdir(dir: &Path) -> Result<PathBuf, String> {
    if dir.exists() {
        // The scripted demo's folder (`.serialstation-demo`) may be reused too.
        let ours = dir.join(MARKER).is_file() || dir.join(".serialstation-demo").is_file();
        let empty = std::fs::read_dir(dir)
            .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
            .next()
            .is_none();
        if !ours && !empty {
            return Err(format!(
                "{} exists and was not made by the line demo: pass --workdir with a new or empty folder",
                dir.display()
            ));
        }
        if ours {
            std::fs::remove_dir_all(dir)
                .map_err(|e| format!("cannot reset {}: {e}", dir.display()))?;
        }
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    std::fs::write(dir.join(MARKER), "made by serialstation demo\n")
        .map_err(|e| format!("cannot write in {}: {e}", dir.display()))?;
    dir.canonicalize()
        .map_err(|e| format!("cannot resolve {}: {e}", dir.display()))
}

/// The last day of the month two years from now, as YYMMDD.
fn expiry_two_years_ahead() -> String {
    let today = crate::gs1::date::today_utc();
    let year = today.year + 2;
    let day = crate::gs1::date::days_in_month(year, today.month);
    format!("{:02}{:02}{:02}", year % 100, today.month, day)
}

/// The client file with its `[client.upload]` URL replaced by the demo's site server
/// (keeping the path: `/capture` for EPCIS 2.0, the 1.2 endpoint for XML clients).
fn point_at_site_server(text: &str, base_url: &str) -> String {
    let mut section = String::new();
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with('[') {
            section = trimmed.to_string();
        }
        if section == "[client.upload]" && trimmed.starts_with("url") {
            let old = trimmed.split('"').nth(1).unwrap_or("");
            let path = old
                .split("://")
                .nth(1)
                .and_then(|rest| rest.find('/').map(|i| &rest[i..]))
                .unwrap_or("/capture");
            out.push_str(&format!("url = \"{base_url}{path}\""));
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}
