//! What the store's integrity checks cost: opening a store (with its page check),
//! the full `store check`, and an online backup, on a store of N serials.
//!
//! Usage: `cargo run --release --example store_open_cost [SERIALS]` (default
//! 1,000,000). Each figure is the median of 5 runs; the raw SQLite open without any
//! check is measured beside it, so the check's share is a ratio from one run.

use std::path::Path;
use std::time::{Duration, Instant};

use serialstation::config::parse_client_config;
use serialstation::gs1::Gtin;
use serialstation::pool::{Alphabet, GenerationPlan, SerialOrder};
use serialstation::store::{Actor, Store};

fn median(mut runs: Vec<Duration>) -> Duration {
    runs.sort();
    runs[runs.len() / 2]
}

fn timed(times: usize, mut step: impl FnMut()) -> Duration {
    median(
        (0..times)
            .map(|_| {
                let start = Instant::now();
                step();
                start.elapsed()
            })
            .collect(),
    )
}

fn main() {
    let serials: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().expect("temporary folder");
    let db = dir.path().join("station.sqlite");
    {
        let mut store = Store::open(&db).expect("open store");
        let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/clients/acme.toml");
        let text = std::fs::read_to_string(&file).expect("example config");
        let config = parse_client_config("acme.toml", &text)
            .config
            .expect("valid example config");
        let actor = Actor::new("bench");
        store
            .load_client_config(&config, &actor)
            .expect("load config");
        let gtin = Gtin::parse("09506000134352").expect("gtin");
        let mut left = serials;
        while left > 0 {
            let count = left.min(5_000_000);
            let plan = GenerationPlan {
                count,
                order: SerialOrder::Random,
                alphabet: Alphabet::Alphanumeric,
                length: 16,
            };
            store
                .generate_serials(&gtin, &plan, &actor)
                .expect("generate");
            left -= count;
        }
    }
    let bytes = std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0);
    println!(
        "store of {serials} serials: {:.1} MiB",
        bytes as f64 / (1024.0 * 1024.0)
    );
    let raw = timed(5, || {
        let conn = rusqlite::Connection::open(&db).expect("raw open");
        let _: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .expect("read header");
    });
    let open = timed(5, || {
        drop(Store::open(&db).expect("open"));
    });
    let check = timed(3, || {
        let report = serialstation::store::integrity::full_check(&db).expect("check");
        assert!(report.is_sound());
    });
    let backup = timed(3, || {
        let target = dir.path().join("backup.sqlite");
        let _ = std::fs::remove_file(&target);
        let _ = std::fs::remove_file(serialstation::store::anchor::anchor_path(&target));
        let store = Store::open(&db).expect("open");
        store.backup_to(&target).expect("backup");
    });
    println!(
        "raw SQLite open, no check:      {:>8.1} ms",
        raw.as_secs_f64() * 1e3
    );
    println!(
        "Store::open (with quick_check): {:>8.1} ms",
        open.as_secs_f64() * 1e3
    );
    println!(
        "store check (full):             {:>8.1} ms",
        check.as_secs_f64() * 1e3
    );
    println!(
        "store backup (open + copy):     {:>8.1} ms",
        backup.as_secs_f64() * 1e3
    );
}
