//! The store's line records on a real SQLite file: one engine group commit is one
//! transaction (all or nothing), commissioned/scrapped serials get their outbox row
//! in it, message ids never repeat, and the batch's counts balance.

use serialstation::config::parse_client_config;
use serialstation::gs1::Gtin;
use serialstation::pool::{Alphabet, GenerationPlan, SerialOrder};
use serialstation::store::line_records::{LineBatch, LineRecord, SerialOutcome};
use serialstation::store::{Actor, Durability, NewBatch, Store};

const GTIN: &str = "09506000134352";

fn setup(dir: &std::path::Path) -> (Store, LineBatch, Vec<String>) {
    let mut store = Store::open(dir.join("records.sqlite")).expect("store opens");
    let actor = Actor::new("test");
    let config = parse_client_config("acme.toml", include_str!("../config/clients/acme.toml"))
        .config
        .expect("client parses");
    store
        .load_client_config(&config, &actor)
        .expect("client loads");
    let gtin = Gtin::parse(GTIN).expect("gtin");
    let plan = GenerationPlan {
        count: 100,
        order: SerialOrder::Random,
        alphabet: Alphabet::Alphanumeric,
        length: 12,
    };
    store.generate_serials(&gtin, &plan, &actor).expect("pool");
    let batch = store
        .create_batch(
            &NewBatch {
                gtin: gtin.clone(),
                lot: "L1".to_string(),
                expiry: "301231".to_string(),
                quantity: 1,
            },
            &actor,
        )
        .expect("batch");
    let serials = store
        .allocate_block(batch, &gtin, 3, &actor)
        .expect("allocated")
        .into_iter()
        .map(|s| s.serial)
        .collect();
    let line = LineBatch {
        batch,
        gtin,
        client_id: "acme".to_string(),
        lot: "L1".to_string(),
        expiry: "301231".to_string(),
    };
    (store, line, serials)
}

fn serial(serial: &str, outcome: SerialOutcome) -> LineRecord {
    LineRecord::Serial {
        serial: serial.to_string(),
        outcome,
        detail: "test".to_string(),
    }
}

fn outbox_rows(store: &Store, kind: &str) -> i64 {
    store
        .raw_connection()
        .query_row("SELECT COUNT(*) FROM outbox WHERE kind = ?1", [kind], |r| {
            r.get(0)
        })
        .expect("outbox count")
}

#[test]
fn a_group_commit_is_all_or_nothing_and_the_batch_balances() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (mut store, line, serials) = setup(dir.path());
    let actor = Actor::new("station");
    assert_eq!(store.next_message_id().expect("id"), 1);
    store
        .apply_line_records(
            &line,
            &[
                LineRecord::BatchState {
                    state: "running".to_string(),
                    reason: None,
                },
                LineRecord::PrintQueued {
                    message_id: 1,
                    serial: serials[0].clone(),
                },
                serial(&serials[0], SerialOutcome::Encoded),
                LineRecord::ItemVerdict {
                    seq: 5,
                    good: true,
                    reason: None,
                    serial: Some(serials[0].clone()),
                    grade: Some(4.0),
                },
                LineRecord::ItemFate {
                    seq: 5,
                    fate: "exited_good".to_string(),
                    serial: Some(serials[0].clone()),
                },
                serial(&serials[0], SerialOutcome::Commissioned),
                LineRecord::SerialReturned {
                    serial: serials[1].clone(),
                    printer: "printer".to_string(),
                    evidence: "buffer clear report".to_string(),
                },
            ],
            &actor,
        )
        .expect("group applied");
    assert_eq!(outbox_rows(&store, "commissioned"), 1);
    assert_eq!(store.next_message_id().expect("id"), 2);

    // Commissioning a serial that was never printed is illegal: the whole group,
    // including the print record before it, is rolled back.
    let refused = store.apply_line_records(
        &line,
        &[
            LineRecord::PrintQueued {
                message_id: 2,
                serial: serials[2].clone(),
            },
            serial(&serials[2], SerialOutcome::Commissioned),
        ],
        &actor,
    );
    assert!(refused.is_err(), "Allocated -> Commissioned is refused");
    assert_eq!(
        store.next_message_id().expect("id"),
        2,
        "nothing of the group stayed"
    );
    assert_eq!(outbox_rows(&store, "commissioned"), 1);

    // A message id is never used twice.
    let reused = store.apply_line_records(
        &line,
        &[LineRecord::PrintQueued {
            message_id: 1,
            serial: serials[2].clone(),
        }],
        &actor,
    );
    assert!(reused.is_err(), "message id 1 is taken");

    store
        .apply_line_records(
            &line,
            &[serial(&serials[2], SerialOutcome::Invalidated)],
            &actor,
        )
        .expect("invalidated");
    let counts = store.batch_serial_counts(line.batch).expect("counts");
    assert_eq!(
        (
            counts.allocated,
            counts.commissioned,
            counts.returned,
            counts.invalidated,
            counts.outstanding
        ),
        (3, 1, 1, 1, 0)
    );
    assert_eq!(outbox_rows(&store, "invalidated"), 1);
    let summary = store.batch_item_summary(line.batch).expect("summary");
    assert_eq!(summary.good, 1);
    assert_eq!(summary.grades.get("A"), Some(&1));
    assert_eq!(summary.fates.get("exited_good"), Some(&1));
    assert!(store.verify_audit().expect("audit").is_intact());
}

#[test]
fn a_deferred_commit_is_kept_and_leaves_the_store_synced() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (mut store, line, serials) = setup(dir.path());
    let actor = Actor::new("station");
    let synchronous = |store: &Store| -> i64 {
        store
            .raw_connection()
            .query_row("PRAGMA synchronous", [], |r| r.get(0))
            .expect("pragma")
    };
    assert_eq!(synchronous(&store), 2, "FULL");
    store
        .apply_line_records_with(
            &line,
            &[LineRecord::PrintQueued {
                message_id: 1,
                serial: serials[0].clone(),
            }],
            &actor,
            Durability::Deferred,
        )
        .expect("deferred commit");
    assert_eq!(synchronous(&store), 2, "every other commit is synced again");
    // A refused deferred group leaves nothing and the store synced too.
    let refused = store.apply_line_records_with(
        &line,
        &[LineRecord::PrintQueued {
            message_id: 1,
            serial: serials[1].clone(),
        }],
        &actor,
        Durability::Deferred,
    );
    assert!(refused.is_err(), "message id 1 is used");
    assert_eq!(synchronous(&store), 2);
    drop(store);
    // What the deferred commit wrote is in the file for the next process.
    let store = Store::open(dir.path().join("records.sqlite")).expect("reopen");
    assert_eq!(store.next_message_id().expect("id"), 2);
}
