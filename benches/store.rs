//! Store benchmarks on a real SQLite file (WAL, synchronous=FULL):
//! - importing 1,000,000 serials from a pool file (target: at most 2 s);
//! - write-ahead block allocation (target: at least 500,000 serials per second).
//!
//! Serials are 12-digit numbers in scattered order (like a randomised pool), so the
//! unique index sees realistic inserts rather than appends.

use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use serialstation::config::parse_client_config;
use serialstation::gs1::Gtin;
use serialstation::pool::SerialFileReader;
use serialstation::store::{Actor, BatchId, ImportOutcome, NewBatch, SerialLine, Store};

const GTIN: &str = "09506000134352";
const IMPORT_SIZE: u64 = 1_000_000;

/// The i-th serial: a bijection of 0..10^12 (multiplying by a number coprime to 10),
/// so serials are unique and scattered.
fn scattered_serial(i: u64) -> String {
    format!("{:012}", i.wrapping_mul(7_919_000_003) % 1_000_000_000_000)
}

fn fresh_store(dir: &Path, name: &str) -> Store {
    let path = dir.join(name);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    let mut store = Store::open(&path).expect("open store");
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/clients/acme.toml");
    let text = std::fs::read_to_string(&file).expect("example config");
    let config = parse_client_config("acme.toml", &text)
        .config
        .expect("valid example config");
    store
        .load_client_config(&config, &Actor::new("bench"))
        .expect("load config");
    store
}

fn write_pool_file(dir: &Path) -> PathBuf {
    let path = dir.join("pool.txt");
    let mut out = BufWriter::new(std::fs::File::create(&path).expect("create pool file"));
    for i in 0..IMPORT_SIZE {
        writeln!(out, "{}", scattered_serial(i)).expect("write pool file");
    }
    out.flush().expect("flush pool file");
    path
}

fn import_file(store: &mut Store, gtin: &Gtin, file: &Path) -> u64 {
    let input =
        BufReader::with_capacity(1 << 16, std::fs::File::open(file).expect("open pool file"));
    match store.import_serials(
        gtin,
        SerialFileReader::plain(input),
        "bench",
        &Actor::new("bench"),
    ) {
        Ok(ImportOutcome::Imported { count }) => count,
        other => panic!("import failed: {other:?}"),
    }
}

fn bench_import(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let gtin = Gtin::parse(GTIN).expect("gtin");
    let file = write_pool_file(dir.path());
    let mut group = c.benchmark_group("store");
    group.sample_size(10);
    group.throughput(Throughput::Elements(IMPORT_SIZE));
    group.bench_function("import_1m_serials_from_file", |b| {
        b.iter_batched(
            || fresh_store(dir.path(), "import.sqlite"),
            |mut store| assert_eq!(import_file(&mut store, &gtin, &file), IMPORT_SIZE),
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

fn bench_allocate(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let gtin = Gtin::parse(GTIN).expect("gtin");
    let actor = Actor::new("bench");
    let mut store = fresh_store(dir.path(), "allocate.sqlite");
    let batch: BatchId = store
        .create_batch(
            &NewBatch {
                gtin: gtin.clone(),
                lot: "BENCH".into(),
                expiry: "301231".into(),
                quantity: 1,
            },
            &actor,
        )
        .expect("batch");
    let mut next_serial = 0u64;
    let mut available = 0u64;
    let mut refill = |store: &mut Store, available: &mut u64| {
        let lines = (next_serial..next_serial + 500_000)
            .map(|i| {
                Ok(SerialLine {
                    line: i + 1,
                    serial: scattered_serial(i),
                })
            })
            .collect::<Vec<_>>();
        next_serial += 500_000;
        match store.import_serials(&gtin, lines, "bench", &actor) {
            Ok(ImportOutcome::Imported { count }) => *available += count,
            other => panic!("refill failed: {other:?}"),
        }
    };
    let mut group = c.benchmark_group("store");
    group.sample_size(10);
    for block in [1_000usize, 10_000] {
        group.throughput(Throughput::Elements(block as u64));
        group.bench_function(format!("allocate_block_{block}"), |b| {
            b.iter_custom(|iters| {
                let mut timed = Duration::ZERO;
                for _ in 0..iters {
                    if available < block as u64 {
                        refill(&mut store, &mut available);
                    }
                    let start = Instant::now();
                    let got = store
                        .allocate_block(batch, &gtin, block, &actor)
                        .expect("allocate");
                    timed += start.elapsed();
                    assert_eq!(got.len(), block);
                    available -= block as u64;
                }
                timed
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_import, bench_allocate);
criterion_main!(benches);
