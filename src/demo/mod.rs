//! The line demo: a whole batch on a simulated line, judged from the outside.
//!
//! [`run_line_demo`] starts the simulator in-process (real DataMatrix images by
//! default), creates a working directory with a fresh store, loads the example
//! clients (embedded), generates a serial pool, runs one batch through the station
//! runtime on real loopback sockets with a live progress line, prints the batch
//! report, and checks the five invariants of DESIGN.md against the simulator's
//! ground truth and the store. [`faults`] holds the fault profiles, [`invariants`]
//! the checks.

pub mod faults;
pub mod invariants;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serialstation_simulator::{SimConfig, Simulator};

use crate::config::parse_client_config;
use crate::gs1::Gtin;
use crate::line::BatchStatus;
use crate::pool::{Alphabet, GenerationPlan, SerialOrder};
use crate::report::BatchReport;
use crate::station::{BatchRequest, Station, StationConfig};
use crate::store::{Actor, Store};

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
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    runtime.block_on(run(options))
}

async fn run(options: &LineDemoOptions) -> Result<DemoOutcome, String> {
    if options.items == 0 {
        return Err("--items must be at least 1".to_string());
    }
    if !(options.rate_per_min.is_finite() && options.rate_per_min >= 1.0) {
        return Err("--rate must be at least 1 item per minute".to_string());
    }
    let workdir = prepare_workdir(&options.workdir)?;
    let db = workdir.join("serialstation.sqlite");
    println!(
        "serialstation line demo: working directory {}",
        workdir.display()
    );
    println!("store: {} (SQLite)", db.display());
    let mut store = Store::open(&db).map_err(|e| e.to_string())?;
    let actor = Actor::new("demo");
    load_clients(&mut store, &actor)?;
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

    let mut sim_config = SimConfig::loopback_any_port(workdir.join("ground-truth.sqlite"));
    sim_config.simulator.seed = options.seed;
    sim_config.simulator.images = options.images;
    sim_config.line.rate_per_min = options.rate_per_min;
    sim_config.faults = faults::profile(options.faults);
    let simulator = Simulator::start(sim_config)
        .await
        .map_err(|e| format!("cannot start the simulated line: {e}"))?;
    for line in simulator.address_lines() {
        println!("simulator: {line}");
    }
    let mut station_config =
        StationConfig::parse(EXAMPLE_LINE, "config/line.toml").map_err(|e| e.to_string())?;
    let addresses = simulator.addresses().clone();
    station_config.printer.address = addresses.printer.to_string();
    station_config.camera.address = addresses.camera.to_string();
    station_config.plc.address = addresses.plc.to_string();
    station_config.plc.unit_id = addresses.plc_unit_id;
    station_config.line.rate_per_min = options.rate_per_min;

    let expiry = expiry_two_years_ahead();
    let request = BatchRequest {
        gtin: gtin.clone(),
        lot: format!("DEMO{}", options.seed),
        expiry,
        quantity: options.items,
        actor: actor.clone(),
        auto_resume: true,
        stall_timeout: Duration::from_secs(20),
    };
    println!(
        "batch: {} items of GTIN {DEMO_GTIN}, lot {}, expiry {}, at {} items/min, faults {:?}, images {}",
        request.quantity,
        request.lot,
        request.expiry,
        options.rate_per_min,
        options.faults,
        if options.images { "on" } else { "off" }
    );
    let mut station = Station::connect(station_config, store);
    let begun = Instant::now();
    let mut shown = Instant::now();
    let show = options.progress;
    let result = station
        .run_batch(&request, |status| {
            if show && shown.elapsed() >= Duration::from_millis(250) {
                shown = Instant::now();
                progress_line(status, begun.elapsed());
            }
        })
        .await;
    if show {
        eprintln!();
    }
    let shutdown = simulator.shutdown().await;
    let outcome = result.map_err(|e| e.to_string())?;
    let truth_path = shutdown.map_err(|e| format!("closing the simulator's ground truth: {e}"))?;
    let store = station.into_store();
    let report = BatchReport::build(&store, outcome.batch).map_err(|e| e.to_string())?;
    println!();
    print!("{}", report.to_text());
    println!(
        "  {} holds, {} alarms, {:.1} s",
        outcome.holds,
        outcome.alarms.len(),
        outcome.elapsed.as_secs_f64()
    );
    for alarm in outcome.alarms.iter().take(10) {
        println!("  alarm: {alarm}");
    }
    if outcome.alarms.len() > 10 {
        println!("  ... and {} more alarms", outcome.alarms.len() - 10);
    }
    let truth = serialstation_simulator::GroundTruth::open(&truth_path)
        .map_err(|e| format!("reading the ground truth: {e}"))?;
    let invariants = invariants::check_invariants(&truth, &store, &report)?;
    println!();
    for check in &invariants {
        println!("{}", check.line());
    }
    Ok(DemoOutcome {
        workdir,
        report,
        invariants,
        alarms: outcome.alarms,
        elapsed: outcome.elapsed,
    })
}

fn progress_line(status: &BatchStatus, elapsed: Duration) {
    let produced = status.counts.commissioned;
    let rejects = status.stats.total_rejects();
    let minutes = elapsed.as_secs_f64() / 60.0;
    let rate = if minutes > 0.0 {
        (status.stats.good_verdicts + rejects) as f64 / minutes
    } else {
        0.0
    };
    let hold = status
        .hold
        .as_ref()
        .map_or(String::new(), |h| format!(" HELD: {h}"));
    eprint!(
        "\r{:>6}/{} commissioned, {} rejected, {:.0} items/min, {}{}        ",
        produced,
        status.quantity,
        rejects,
        rate,
        status.state.as_str(),
        hold
    );
    let _ = std::io::stderr().flush();
}

fn load_clients(store: &mut Store, actor: &Actor) -> Result<(), String> {
    for (name, text) in EXAMPLE_CLIENTS {
        let report = parse_client_config(name, text);
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

/// `serialstation demo`: runs the line demo and turns its outcome into the
/// exit code (1 if it could not run or any invariant failed).
pub fn run_line_demo_command(args: &crate::cli::demo::DemoArgs) -> std::process::ExitCode {
    let options = LineDemoOptions {
        workdir: args.workdir.clone(),
        items: args.items,
        rate_per_min: args.rate_per_min,
        faults: args.faults,
        images: !args.no_images,
        seed: args.seed,
        progress: true,
    };
    match run_line_demo(&options) {
        Ok(outcome) if outcome.passed() => {
            println!("\nline demo passed: every invariant holds");
            std::process::ExitCode::SUCCESS
        }
        Ok(_) => {
            println!("\nline demo FAILED: an invariant does not hold (see above)");
            std::process::ExitCode::from(1)
        }
        Err(message) => {
            eprintln!("line demo failed: {message}");
            std::process::ExitCode::from(1)
        }
    }
}
