//! Import and allocation throughput of the store on a real SQLite file, with the wall
//! time and the CPU time of this process for each step, so that a busy shared machine
//! can be told apart from slow code (criterion's `benches/store.rs` measures wall time).
//!
//! Usage: `cargo run --release --example store_throughput [SERIALS] [BLOCK]`
//! (defaults: 1,000,000 serials, blocks of 10,000). CPU time comes from
//! /proc/self/stat on Linux; elsewhere only wall time is shown.

use std::io::{BufReader, BufWriter, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use serialstation::config::parse_client_config;
use serialstation::gs1::Gtin;
use serialstation::pool::SerialFileReader;
use serialstation::store::{Actor, ImportOutcome, NewBatch, Store};

const GTIN: &str = "09506000134352";

/// User + system CPU time of this process, from /proc (clock ticks of 10 ms).
fn process_cpu_time() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after_name = text.rsplit_once(')')?.1;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let user: u64 = fields.get(11)?.parse().ok()?;
    let system: u64 = fields.get(12)?.parse().ok()?;
    Some(Duration::from_millis((user + system) * 10))
}

/// Runs `step`, printing its wall and CPU time and its rate for `count` items.
fn measured<T>(name: &str, count: u64, step: impl FnOnce() -> T) -> T {
    let cpu_start = process_cpu_time();
    let wall_start = Instant::now();
    let out = step();
    let wall = wall_start.elapsed();
    let cpu = match (cpu_start, process_cpu_time()) {
        (Some(a), Some(b)) => format!("{:.2} s CPU", b.saturating_sub(a).as_secs_f64()),
        _ => "CPU time not available".to_string(),
    };
    println!(
        "{name}: {:.3} s wall, {cpu}, {:.0} per second (wall)",
        wall.as_secs_f64(),
        count as f64 / wall.as_secs_f64()
    );
    out
}

fn fail(message: String) -> ! {
    eprintln!("error: {message}");
    std::process::exit(1)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let count: u64 = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let block: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let dir = tempfile::tempdir().unwrap_or_else(|e| fail(format!("temp dir: {e}")));
    let gtin = Gtin::parse(GTIN).unwrap_or_else(|e| fail(format!("GTIN: {e}")));
    let actor = Actor::new("throughput");

    let pool_file = dir.path().join("pool.txt");
    {
        let file = std::fs::File::create(&pool_file)
            .unwrap_or_else(|e| fail(format!("creating the pool file: {e}")));
        let mut out = BufWriter::new(file);
        for i in 0..count {
            let serial = i.wrapping_mul(7_919_000_003) % 1_000_000_000_000;
            writeln!(out, "{serial:012}").unwrap_or_else(|e| fail(format!("writing: {e}")));
        }
        out.flush()
            .unwrap_or_else(|e| fail(format!("writing the pool file: {e}")));
    }

    let mut store = Store::open(dir.path().join("station.sqlite"))
        .unwrap_or_else(|e| fail(format!("opening the store: {e}")));
    let config_file = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/clients/acme.toml");
    let text = std::fs::read_to_string(&config_file)
        .unwrap_or_else(|e| fail(format!("reading {}: {e}", config_file.display())));
    let config = parse_client_config("acme.toml", &text)
        .config
        .unwrap_or_else(|| fail("the example client configuration is invalid".to_string()));
    store
        .load_client_config(&config, &actor)
        .unwrap_or_else(|e| fail(format!("loading the configuration: {e}")));

    measured(
        &format!("import {count} serials from a file"),
        count,
        || {
            let input = std::fs::File::open(&pool_file)
                .unwrap_or_else(|e| fail(format!("opening the pool file: {e}")));
            let lines = SerialFileReader::plain(BufReader::with_capacity(1 << 16, input));
            match store.import_serials(&gtin, lines, "pool.txt", &actor) {
                Ok(ImportOutcome::Imported { count: n }) if n == count => {}
                other => fail(format!("import failed: {other:?}")),
            }
        },
    );

    let batch = store
        .create_batch(
            &NewBatch {
                gtin: gtin.clone(),
                lot: "THROUGHPUT".into(),
                expiry: "301231".into(),
                quantity: 1,
            },
            &actor,
        )
        .unwrap_or_else(|e| fail(format!("creating a batch: {e}")));
    let blocks = (count as usize / 2) / block.max(1);
    let allocated = (blocks * block) as u64;
    measured(
        &format!("allocate {blocks} blocks of {block}"),
        allocated,
        || {
            for _ in 0..blocks {
                let got = store
                    .allocate_block(batch, &gtin, block, &actor)
                    .unwrap_or_else(|e| fail(format!("allocating: {e}")));
                if got.len() != block {
                    fail(format!("allocated {} of {block}", got.len()));
                }
            }
        },
    );
}
