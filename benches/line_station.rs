//! Line benchmarks: the station runtime in this process (engine, drivers, SQLite
//! store in a temporary directory) runs whole batches against the
//! `serialstation-sim` binary in its own process, on loopback, without faults.
//!
//! ```text
//! cargo build --release -p serialstation-simulator
//! cargo bench --bench line_station -- [latency] [rate] [images] [memory] [--quick]
//! ```
//!
//! - `latency`: batches at 400 items/min (a real line's pace) and 600 items/min:
//!   controller CPU per item and as a share of one core (getrusage of this process,
//!   user + system, over the batch) and the decision latency from the camera
//!   sending its result to the PLC receiving the verdict (simulator's ground truth,
//!   one clock), p50 / p99 / max;
//!
//! Every run also measures the disk's own sync latency (4 KiB + `fdatasync`, 500
//! times, in the store's directory right after the batch), so each latency can be
//! read against the sync it waits for.
//! - `rate`: rising rates without images until a batch has a reject (no faults, so
//!   every reject is false) or falls behind the line: the highest sustained rate;
//! - `images`: the same with real DataMatrix images rendered, decoded and graded;
//! - `memory`: a long batch without images (6,000 items/min, or the first of
//!   `--rates`); the resident set of this process sampled along the batch, and its
//!   peak (VmHWM).
//!
//! With no scenario named, all four run. `--quick` shortens every batch; `--items N`
//! sets the batch size and `--rates A,B,…` (items/min) the rates tried.
//!
//! Above 6,000 items/min the reject gate is moved downstream so that the line still
//! allows 60 ms from the camera to the gate (see [`GATE_WINDOW_S`]).

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serialstation::config::{StationConfig, parse_client_config};
use serialstation::gs1::Gtin;
use serialstation::pool::{Alphabet, GenerationPlan, SerialOrder};
use serialstation::station::{BatchRequest, Station};
use serialstation::store::{Actor, Store};
use serialstation_simulator::{GroundTruth, SimConfig};

const CLIENTS: &[(&str, &str)] = &[
    ("acme.toml", include_str!("../config/clients/acme.toml")),
    (
        "nordpharma.toml",
        include_str!("../config/clients/nordpharma.toml"),
    ),
];
const LINE: &str = include_str!("../config/line.toml");
const GTIN: &str = "09506000134352";

/// Time a real line allows from the camera to the reject gate. The example line's
/// geometry (500 mm camera to gate, 100 mm pitch) gives more than this up to 6,000
/// items/min; above, the gate (and the good exit) move downstream so that the line
/// still allows this much, as a faster line would be built.
const GATE_WINDOW_S: f64 = 0.060;

/// How far to move the reject gate and the good exit downstream at `rate_per_min`,
/// in mm, for a line whose camera-to-gate distance is `camera_to_gate_mm`.
fn gate_shift_mm(rate_per_min: f64, pitch_mm: f64, camera_to_gate_mm: f64) -> f64 {
    let needed = rate_per_min / 60.0 * GATE_WINDOW_S * pitch_mm;
    (needed - camera_to_gate_mm).max(0.0).ceil()
}

/// One batch to run.
#[derive(Debug, Clone, Copy)]
struct Run {
    items: u32,
    rate_per_min: f64,
    images: bool,
    /// Sample the resident set along the batch.
    sample_memory: bool,
}

/// What one batch showed.
#[derive(Debug, Clone, Default)]
struct Measured {
    items: u32,
    elapsed: Duration,
    cpu: Duration,
    cpu_system: Duration,
    /// Station rejects by reason (no_read, grade, mismatch, duplicate, not_gs1,
    /// invalid_data, late).
    rejects_by_reason: [u64; 7],
    /// The first items in the reject bin: (item no, seq, camera data, verdict held).
    bin_items: Vec<String>,
    commissioned: u64,
    /// Rejects the station decided (all false: there are no faults).
    station_rejects: u64,
    /// Items the simulator put in the reject bin.
    bin: u64,
    /// Items in the reject bin that entered before the batch's last printed item: a
    /// printed item rejected, or an item the printer had no print for in time. (Blank
    /// items that follow the batch's end before the line stops are rejected too, as
    /// they must be; they are not counted.)
    false_rejects: u64,
    holds: u64,
    alarms: Vec<String>,
    latencies: Vec<Duration>,
    /// (commissioned so far, VmRSS in KiB).
    rss_samples: Vec<(u64, u64)>,
    peak_rss_kib: u64,
    /// Size of the store (database and WAL files) after the batch.
    store_bytes: u64,
    /// The disk's own sync latency, measured in the store's directory right after
    /// the batch: p50, p99, max of a 4 KiB write + `fdatasync`.
    disk_sync: Option<[Duration; 3]>,
    error: Option<String>,
}

impl Measured {
    fn cpu_per_item(&self) -> Duration {
        self.cpu / u32::try_from(self.commissioned.max(1)).unwrap_or(u32::MAX)
    }

    fn achieved_per_min(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            (self.commissioned + self.bin) as f64 / secs * 60.0
        } else {
            0.0
        }
    }

    /// Zero false rejects, no hold, no error: the line kept up.
    fn sustained(&self) -> bool {
        self.error.is_none()
            && self.false_rejects == 0
            && self.holds == 0
            && self.commissioned >= u64::from(self.items)
    }

    /// CPU time per wall-clock time: the share of one core the station used.
    fn core_share(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.cpu.as_secs_f64() / secs
        } else {
            0.0
        }
    }

    fn percentile(&self, p: f64) -> Option<Duration> {
        if self.latencies.is_empty() {
            return None;
        }
        let mut sorted = self.latencies.clone();
        sorted.sort();
        let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
        sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    let named: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|a| ["latency", "rate", "images", "memory"].contains(a))
        .collect();
    let wants = |name: &str| named.is_empty() || named.contains(&name);
    let option = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let items_override: Option<u32> = option("--items").and_then(|v| v.parse().ok());
    let rates_override: Option<Vec<f64>> =
        option("--rates").map(|v| v.split(',').filter_map(|r| r.trim().parse().ok()).collect());
    let sim = match simulator_binary() {
        Ok(path) => path,
        Err(message) => {
            eprintln!("line_station: {message}");
            std::process::exit(1);
        }
    };
    println!("line benchmark: simulator {}", sim.display());
    println!("machine: {}", machine());
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("line_station: cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    let mut table: Vec<(String, Measured)> = Vec::new();
    let mut run = |label: String, spec: Run| -> Measured {
        eprintln!(
            "running: {label} ({} items at {} items/min, images {})",
            spec.items,
            spec.rate_per_min,
            if spec.images { "on" } else { "off" }
        );
        let m = runtime.block_on(run_batch(&sim, spec));
        eprintln!("  {}", summary(&m));
        table.push((label, m.clone()));
        m
    };

    if wants("latency") {
        let items = items_override.unwrap_or(if quick { 200 } else { 1_200 });
        run(
            "400 items/min, no images".into(),
            Run {
                items: items * 2 / 3,
                rate_per_min: 400.0,
                images: false,
                sample_memory: false,
            },
        );
        run(
            "600 items/min, no images".into(),
            Run {
                items,
                rate_per_min: 600.0,
                images: false,
                sample_memory: false,
            },
        );
        run(
            "600 items/min, images".into(),
            Run {
                items,
                rate_per_min: 600.0,
                images: true,
                sample_memory: false,
            },
        );
    }
    if wants("rate") {
        let items = items_override.unwrap_or(if quick { 3_000 } else { 20_000 });
        let rates = rates_override
            .clone()
            .unwrap_or_else(|| vec![30_000.0, 60_000.0, 90_000.0, 120_000.0]);
        for rate in rates {
            let m = run(
                format!("{rate} items/min, no images"),
                Run {
                    items,
                    rate_per_min: rate,
                    images: false,
                    sample_memory: false,
                },
            );
            if !m.sustained() {
                break;
            }
        }
    }
    if wants("images") {
        let items = items_override.unwrap_or(if quick { 500 } else { 3_000 });
        let rates = rates_override
            .clone()
            .unwrap_or_else(|| vec![6_000.0, 12_000.0, 18_000.0, 24_000.0, 30_000.0]);
        for rate in rates {
            let m = run(
                format!("{rate} items/min, images"),
                Run {
                    items,
                    rate_per_min: rate,
                    images: true,
                    sample_memory: false,
                },
            );
            if !m.sustained() {
                break;
            }
        }
    }
    if wants("memory") {
        let items = items_override.unwrap_or(if quick { 20_000 } else { 200_000 });
        let rate = rates_override
            .as_ref()
            .and_then(|r| r.first().copied())
            .unwrap_or(6_000.0);
        run(
            format!("long batch of {items} at {rate} items/min, no images"),
            Run {
                items,
                rate_per_min: rate,
                images: false,
                sample_memory: true,
            },
        );
    }
    print_table(&table);
}

/// The `serialstation-sim` binary: `SERIALSTATION_SIM` if set, else the one next
/// to this benchmark's profile (release, then debug), built with cargo if neither
/// exists.
fn simulator_binary() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("SERIALSTATION_SIM") {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(format!(
                "SERIALSTATION_SIM={} is not a file; point it at a built serialstation-sim",
                path.display()
            ))
        };
    }
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))?;
    // target/<profile>/deps/line_station-… → target/
    let target = exe
        .parent()
        .and_then(Path::parent)
        .and_then(Path::parent)
        .ok_or("cannot find the target directory")?
        .to_path_buf();
    let candidates = [
        target.join("release/serialstation-sim"),
        target.join("debug/serialstation-sim"),
    ];
    if let Some(found) = candidates.iter().find(|p| p.is_file()) {
        return Ok(found.clone());
    }
    eprintln!(
        "serialstation-sim not found in {}; building it: cargo build --release -p serialstation-simulator",
        target.display()
    );
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["build", "--release", "-p", "serialstation-simulator"])
        .status()
        .map_err(|e| format!("cannot run cargo ({e}); build the simulator by hand: cargo build --release -p serialstation-simulator"))?;
    if !status.success() || !candidates[0].is_file() {
        return Err(
            "building the simulator failed; run `cargo build --release -p serialstation-simulator` and look at its errors".into(),
        );
    }
    Ok(candidates[0].clone())
}

/// The simulator in its own process.
struct SimProcess {
    child: Child,
    printer: SocketAddr,
    camera: SocketAddr,
    plc: SocketAddr,
    truth: PathBuf,
}

impl SimProcess {
    fn start(binary: &Path, dir: &Path, spec: Run) -> Result<SimProcess, String> {
        let truth = dir.join("ground-truth.sqlite");
        let mut config = SimConfig::loopback_any_port(truth.clone());
        config.simulator.images = spec.images;
        config.line.rate_per_min = spec.rate_per_min;
        let shift = gate_shift_mm(
            spec.rate_per_min,
            config.line.pitch_mm,
            config.line.reject_gate_mm - config.line.camera_mm,
        );
        config.line.reject_gate_mm += shift;
        config.line.good_exit_mm += shift;
        let config_path = dir.join("line.toml");
        let text = toml::to_string(&config).map_err(|e| format!("simulator config: {e}"))?;
        std::fs::write(&config_path, text).map_err(|e| format!("simulator config: {e}"))?;
        let mut child = Command::new(binary)
            .arg("--config")
            .arg(&config_path)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
        let stdout = child.stdout.take().ok_or("no simulator stdout")?;
        let (mut printer, mut camera, mut plc) = (None, None, None);
        for line in BufReader::new(stdout).lines() {
            let line = line.map_err(|e| format!("reading the simulator: {e}"))?;
            if line == "ready" {
                break;
            }
            let parts: Vec<&str> = line.split(' ').collect();
            let addr = parts.get(2).and_then(|a| a.parse::<SocketAddr>().ok());
            match parts.first() {
                Some(&"printer") => printer = addr,
                Some(&"camera") => camera = addr,
                Some(&"plc") => plc = addr,
                _ => {}
            }
        }
        match (printer, camera, plc) {
            (Some(printer), Some(camera), Some(plc)) => Ok(SimProcess {
                child,
                printer,
                camera,
                plc,
                truth,
            }),
            _ => {
                let _ = child.kill();
                Err("the simulator did not print its device addresses".into())
            }
        }
    }

    /// SIGTERM, wait: the ground truth is committed.
    fn stop(mut self) -> Result<PathBuf, String> {
        let pid = libc::pid_t::try_from(self.child.id()).map_err(|e| e.to_string())?;
        // SAFETY: sends a signal to our own child process, which has not been reaped.
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
        let status = self.child.wait().map_err(|e| e.to_string())?;
        if !status.success() {
            return Err(format!("the simulator ended with {status}"));
        }
        Ok(self.truth)
    }
}

/// User + system CPU time of this process, and the system part.
fn cpu_time() -> (Duration, Duration) {
    // SAFETY: getrusage only writes the struct it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    (tv(usage.ru_utime) + tv(usage.ru_stime), tv(usage.ru_stime))
}

/// A `Vm…:` line of /proc/self/status, in KiB.
fn proc_status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

async fn run_batch(sim_binary: &Path, spec: Run) -> Measured {
    let mut m = Measured {
        items: spec.items,
        ..Measured::default()
    };
    if let Err(e) = run_batch_into(sim_binary, spec, &mut m).await {
        m.error = Some(e);
    }
    m
}

/// The disk's own sync latency in `dir`: `rounds` × (4 KiB written at the end of a
/// file, then `fdatasync`), as a WAL commit does it; p50, p99, max.
fn disk_sync_latency(dir: &Path, rounds: usize) -> Result<[Duration; 3], String> {
    use std::io::Write;
    let path = dir.join("sync-probe");
    let mut file = std::fs::File::create(&path).map_err(|e| format!("sync probe: {e}"))?;
    let block = [0x5au8; 4096];
    let mut times = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let start = Instant::now();
        file.write_all(&block)
            .map_err(|e| format!("sync probe: {e}"))?;
        file.sync_data().map_err(|e| format!("sync probe: {e}"))?;
        times.push(start.elapsed());
    }
    drop(file);
    let _ = std::fs::remove_file(&path);
    times.sort();
    let at = |p: f64| {
        times[(((p / 100.0) * times.len() as f64).ceil() as usize).clamp(1, times.len()) - 1]
    };
    Ok([at(50.0), at(99.0), times[times.len() - 1]])
}

async fn run_batch_into(sim_binary: &Path, spec: Run, m: &mut Measured) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
    let mut store =
        Store::open(dir.path().join("station.sqlite")).map_err(|e| format!("store: {e}"))?;
    let actor = Actor::new("bench");
    for (name, text) in CLIENTS {
        let config = parse_client_config(name, text)
            .config
            .ok_or_else(|| format!("{name} does not parse"))?;
        store
            .load_client_config(&config, &actor)
            .map_err(|e| e.to_string())?;
    }
    let gtin = Gtin::parse(GTIN).map_err(|e| e.to_string())?;
    store
        .generate_serials(
            &gtin,
            &GenerationPlan {
                count: u64::from(spec.items) + u64::from(spec.items) / 10 + 1_000,
                order: SerialOrder::Random,
                alphabet: Alphabet::Alphanumeric,
                length: 12,
            },
            &actor,
        )
        .map_err(|e| e.to_string())?;

    let sim = SimProcess::start(sim_binary, dir.path(), spec)?;
    let mut config = StationConfig::parse(LINE, "config/line.toml").map_err(|e| e.to_string())?;
    config.printer.address = sim.printer.to_string();
    config.camera.address = sim.camera.to_string();
    config.plc.address = sim.plc.to_string();
    config.line.rate_per_min = spec.rate_per_min;
    config.line.reject_gate_mm += gate_shift_mm(
        spec.rate_per_min,
        config.line.pitch_mm,
        config.line.reject_gate_mm - config.line.camera_mm,
    );
    let today = serialstation::gs1::date::today_utc();
    let year = today.year + 2;
    let expiry = format!(
        "{:02}{:02}{:02}",
        year % 100,
        today.month,
        serialstation::gs1::date::days_in_month(year, today.month)
    );
    let request = BatchRequest {
        gtin,
        lot: "BENCH1".into(),
        expiry,
        quantity: spec.items,
        actor,
        auto_resume: true,
        stall_timeout: Some(Duration::from_secs(15)),
    };
    // As the daemon does: a small page cache keeps the line's memory flat.
    store
        .set_page_cache_kib(16 * 1024)
        .map_err(|e| e.to_string())?;
    let mut station = Station::connect(config, store);
    let step = u64::from(spec.items / 20).max(1);
    let mut next_sample = 0u64;
    let mut samples = Vec::new();
    let cpu_before = cpu_time();
    let begun = Instant::now();
    let outcome = station
        .run_batch(&request, |status| {
            if spec.sample_memory && status.counts.commissioned >= next_sample {
                samples.push((status.counts.commissioned, proc_status_kib("VmRSS:")));
                next_sample = status.counts.commissioned + step;
            }
        })
        .await;
    m.elapsed = begun.elapsed();
    let cpu_after = cpu_time();
    m.cpu = cpu_after.0.saturating_sub(cpu_before.0);
    m.cpu_system = cpu_after.1.saturating_sub(cpu_before.1);
    m.peak_rss_kib = proc_status_kib("VmHWM:");
    if spec.sample_memory {
        samples.push((u64::MAX, proc_status_kib("VmRSS:")));
    }
    m.rss_samples = samples;
    drop(station);
    m.store_bytes = ["station.sqlite", "station.sqlite-wal"]
        .iter()
        .filter_map(|name| std::fs::metadata(dir.path().join(name)).ok())
        .map(|meta| meta.len())
        .sum();
    m.disk_sync = Some(disk_sync_latency(dir.path(), 500)?);
    let truth_path = sim.stop()?;
    let outcome = outcome.map_err(|e| format!("batch failed: {e}"))?;
    m.commissioned = outcome.counts.commissioned;
    m.station_rejects = outcome.status.stats.total_rejects();
    m.rejects_by_reason = outcome.status.stats.rejects_by_reason;
    m.holds = outcome.holds;
    m.alarms = outcome.alarms;
    let truth = GroundTruth::open(&truth_path).map_err(|e| e.to_string())?;
    m.bin = truth.summary().map_err(|e| e.to_string())?.reject_bin;
    let items = truth.items().map_err(|e| e.to_string())?;
    let last_printed = items
        .iter()
        .filter(|item| item.print.is_some())
        .map(|item| item.item_no)
        .max()
        .unwrap_or(0);
    let in_bin = |item: &&serialstation_simulator::ItemRecord| {
        item.exit == serialstation_simulator::PhysicalExit::RejectBin
    };
    m.false_rejects = items
        .iter()
        .filter(in_bin)
        .filter(|item| item.item_no < last_printed)
        .count() as u64;
    m.bin_items = items
        .iter()
        .filter(in_bin)
        .filter(|item| item.item_no < last_printed)
        .take(5)
        .map(|item| {
            format!(
                "item {} seq {} printed {} camera {:?} verdict {:?} late {}",
                item.item_no,
                item.seq,
                item.print.is_some(),
                item.camera.as_ref().and_then(|c| c.data.clone()),
                item.verdict_held,
                item.late_verdicts
            )
        })
        .collect();
    m.latencies = truth
        .decision_latencies()
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|(_, latency)| latency)
        .collect();
    Ok(())
}

fn micros(d: Option<Duration>) -> String {
    d.map_or("-".into(), |d| format!("{:.0} µs", d.as_secs_f64() * 1e6))
}

fn summary(m: &Measured) -> String {
    if let Some(e) = &m.error {
        return format!("FAILED: {e}");
    }
    format!(
        "{} commissioned in {:.1} s ({:.0}/min), CPU {:.2} s (system {:.2} s) = {:.1} µs/item, {:.2} % of one core, false rejects {}, station rejects {} {:?} (bin {}), holds {}, latency p50 {} p99 {} max {}, peak RSS {:.1} MiB, store {:.1} MiB{}{}",
        m.commissioned,
        m.elapsed.as_secs_f64(),
        m.achieved_per_min(),
        m.cpu.as_secs_f64(),
        m.cpu_system.as_secs_f64(),
        m.cpu_per_item().as_secs_f64() * 1e6,
        m.core_share() * 100.0,
        m.false_rejects,
        m.station_rejects,
        m.rejects_by_reason,
        m.bin,
        m.holds,
        micros(m.percentile(50.0)),
        micros(m.percentile(99.0)),
        micros(m.latencies.iter().max().copied()),
        m.peak_rss_kib as f64 / 1024.0,
        m.store_bytes as f64 / (1024.0 * 1024.0),
        m.alarms
            .first()
            .map_or(String::new(), |a| format!(", first alarm: {a}")),
        m.bin_items
            .iter()
            .map(|i| format!("\n    in the bin: {i}"))
            .collect::<String>()
    )
}

fn print_table(table: &[(String, Measured)]) {
    println!();
    println!(
        "| run | items | achieved/min | CPU per item | % of one core | false rejects | holds | latency p50 | p99 | max | disk sync p50 / p99 / max | peak RSS | sustained |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for (label, m) in table {
        if let Some(e) = &m.error {
            println!("| {label} | {} | failed: {e} |||||||||||", m.items);
            continue;
        }
        println!(
            "| {label} | {} | {:.0} | {:.1} µs | {:.2} % | {} | {} | {} | {} | {} | {} | {:.1} MiB | {} |",
            m.commissioned,
            m.achieved_per_min(),
            m.cpu_per_item().as_secs_f64() * 1e6,
            m.core_share() * 100.0,
            m.false_rejects,
            m.holds,
            micros(m.percentile(50.0)),
            micros(m.percentile(99.0)),
            micros(m.latencies.iter().max().copied()),
            m.disk_sync
                .map_or("-".to_string(), |[p50, p99, max]| format!(
                    "{} / {} / {}",
                    micros(Some(p50)),
                    micros(Some(p99)),
                    micros(Some(max))
                )),
            m.peak_rss_kib as f64 / 1024.0,
            if m.sustained() { "yes" } else { "no" }
        );
    }
    for (label, m) in table {
        if m.rss_samples.is_empty() {
            continue;
        }
        println!();
        println!("resident set along `{label}` (commissioned → VmRSS):");
        let line: Vec<String> = m
            .rss_samples
            .iter()
            .map(|(n, kib)| {
                let at = if *n == u64::MAX {
                    "end".to_string()
                } else {
                    n.to_string()
                };
                format!("{at}: {:.1} MiB", *kib as f64 / 1024.0)
            })
            .collect();
        println!("  {}", line.join(", "));
    }
}

fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let load = std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default();
    format!("{cpus} CPUs, {model}, load average {load}")
}
