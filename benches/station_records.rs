//! Persistence cost of one item on the line: the group commit the station runtime
//! makes for an item's records (print queued, encoded, verdict, fate, commissioned)
//! on a real SQLite file (WAL, synchronous=FULL), with its outbox and audit rows.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serialstation::config::parse_client_config;
use serialstation::gs1::Gtin;
use serialstation::pool::{Alphabet, GenerationPlan, SerialOrder};
use serialstation::store::line_records::{LineBatch, LineRecord, SerialOutcome};
use serialstation::store::{Actor, NewBatch, Store};

const GTIN: &str = "09506000134352";
const ITEMS_PER_COMMIT: usize = 16;

fn item_records(message_id: u64, seq: u32, serial: &str) -> Vec<LineRecord> {
    let outcome = |outcome| LineRecord::Serial {
        serial: serial.to_string(),
        outcome,
        detail: "bench".to_string(),
    };
    vec![
        LineRecord::PrintQueued {
            message_id,
            serial: serial.to_string(),
        },
        outcome(SerialOutcome::Encoded),
        LineRecord::ItemVerdict {
            seq,
            good: true,
            reason: None,
            serial: Some(serial.to_string()),
            grade: Some(4.0),
        },
        LineRecord::ItemFate {
            seq,
            fate: "exited_good".to_string(),
            serial: Some(serial.to_string()),
        },
        outcome(SerialOutcome::Commissioned),
    ]
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = Store::open(dir.path().join("bench.sqlite")).expect("store");
    let actor = Actor::new("bench");
    let config = parse_client_config("acme.toml", include_str!("../config/clients/acme.toml"))
        .config
        .expect("client");
    store.load_client_config(&config, &actor).expect("load");
    let gtin = Gtin::parse(GTIN).expect("gtin");
    let plan = GenerationPlan {
        count: 400_000,
        order: SerialOrder::Random,
        alphabet: Alphabet::Alphanumeric,
        length: 12,
    };
    store.generate_serials(&gtin, &plan, &actor).expect("pool");
    let batch = store
        .create_batch(
            &NewBatch {
                gtin: gtin.clone(),
                lot: "B1".to_string(),
                expiry: "301231".to_string(),
                quantity: 1_000_000,
            },
            &actor,
        )
        .expect("batch");
    let line = LineBatch {
        batch,
        gtin: gtin.clone(),
        client_id: "acme".to_string(),
        lot: "B1".to_string(),
        expiry: "301231".to_string(),
    };
    let mut message_id = 1u64;
    let mut group = c.benchmark_group("station_records");
    group.throughput(Throughput::Elements(ITEMS_PER_COMMIT as u64));
    group.bench_function("item_records_group_commit_16", |b| {
        b.iter(|| {
            let serials = store
                .allocate_block(batch, &gtin, ITEMS_PER_COMMIT, &actor)
                .expect("allocate");
            let mut records = Vec::with_capacity(ITEMS_PER_COMMIT * 5);
            for serial in &serials {
                records.extend(item_records(message_id, message_id as u32, &serial.serial));
                message_id += 1;
            }
            store
                .apply_line_records(&line, &records, &actor)
                .expect("group commit");
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
