//! A real store with one finished batch written through the store's own line
//! records (no daemon, no simulator): a challenge test, good items of several
//! grades, rejects of several reasons, a hold, invalidated and returned serials, an
//! acknowledged alarm, signatures and a close. Shared by the batch record tests.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::json;
use serialstation::config::parse_client_config;
use serialstation::gs1::Gtin;
use serialstation::store::line_records::{LineBatch, LineRecord, SerialOutcome};
use serialstation::store::{Actor, ImportOutcome, NewBatch, SerialLine, Store};

pub const GTIN: &str = "09506000134352";
/// A lot that would open a script if it were not escaped.
pub const LOT: &str = "L<script>&1";
/// A serial that would open an element if it were not escaped (rejected for grade).
pub const ODD_SERIAL: &str = "X<i>&Y";
/// A reject reason the engine never writes, to see it escaped.
pub const ODD_REASON: &str = "<b>odd</b>";

pub fn bin(db: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_serialstation"));
    c.arg("--db").arg(db);
    c.env_remove("SERIALSTATION_DB");
    c.env_remove("SERIALSTATION_SOCKET");
    c
}

pub fn run(db: &Path, args: &[&str]) -> Output {
    bin(db)
        .args(args)
        .output()
        .expect("the serialstation binary runs")
}

/// `sscc generate` of `count` SSCCs for the example client `acme` under its company
/// prefix 9506000.
pub fn generate_ssccs(db: &Path, count: u32) -> Output {
    let count = count.to_string();
    run(
        db,
        &[
            "sscc",
            "generate",
            "--client",
            "acme",
            "--company-prefix",
            "9506000",
            "--count",
            &count,
        ],
    )
}

fn apply(store: &mut Store, line: &LineBatch, records: Vec<LineRecord>) {
    store
        .apply_line_records(line, &records, &Actor::new("station"))
        .expect("line records apply");
}

fn state(state: &str, reason: Option<&str>) -> LineRecord {
    LineRecord::BatchState {
        state: state.to_string(),
        reason: reason.map(str::to_string),
    }
}

fn serial(serial: &str, outcome: SerialOutcome) -> LineRecord {
    LineRecord::Serial {
        serial: serial.to_string(),
        outcome,
        detail: "test".to_string(),
    }
}

fn verdict(
    seq: u32,
    good: bool,
    reason: Option<&str>,
    serial: Option<&str>,
    grade: Option<f64>,
) -> LineRecord {
    LineRecord::ItemVerdict {
        seq,
        good,
        reason: reason.map(str::to_string),
        serial: serial.map(str::to_string),
        grade,
    }
}

fn fate(seq: u32, fate: &str, serial: Option<&str>) -> LineRecord {
    LineRecord::ItemFate {
        seq,
        fate: fate.to_string(),
        serial: serial.map(str::to_string),
    }
}

fn pause() {
    std::thread::sleep(Duration::from_millis(250));
}

/// Writes the store and returns its path. The batch is number 1:
/// 40 serials allocated = 25 commissioned + 8 scrapped + 2 invalidated + 5 returned;
/// 36 items: 2 challenge blanks (no read), 25 GOOD, 3 grade rejects naming their
/// serial, 2 mismatch and 2 no-read rejects naming none, 1 odd reject, and 1 late
/// reject without a fate: 11 rejected, 10 of them confirmed at the gate.
pub fn finished_batch(dir: &Path) -> PathBuf {
    let db = dir.join("station.sqlite");
    let mut store = Store::open(&db).expect("store opens");
    let operator = Actor::new("test-operator");
    let config = parse_client_config("acme.toml", include_str!("../../config/clients/acme.toml"))
        .config
        .expect("the example client parses");
    store
        .load_client_config(&config, &operator)
        .expect("client loads");
    let gtin = Gtin::parse(GTIN).expect("gtin");

    let mut imported: Vec<String> = (1..=39).map(|i| format!("R{i:04}")).collect();
    imported.push(ODD_SERIAL.to_string());
    let lines = imported.iter().enumerate().map(|(i, s)| {
        Ok(SerialLine {
            line: i as u64 + 1,
            serial: s.clone(),
        })
    });
    match store
        .import_serials(&gtin, lines, "test", &operator)
        .expect("import")
    {
        ImportOutcome::Imported { count } => assert_eq!(count, 40),
        other => panic!("import refused: {other:?}"),
    }
    let batch = store
        .create_batch(
            &NewBatch {
                gtin: gtin.clone(),
                lot: LOT.to_string(),
                expiry: "301231".to_string(),
                quantity: 25,
            },
            &operator,
        )
        .expect("batch created");
    // Which serial plays which part does not matter, except that the odd one is
    // rejected for its grade (index 25).
    let mut serials: Vec<String> = store
        .allocate_block(batch, &gtin, 40, &operator)
        .expect("allocated")
        .into_iter()
        .map(|s| s.serial)
        .collect();
    assert_eq!(serials.len(), 40);
    let odd = serials
        .iter()
        .position(|s| s == ODD_SERIAL)
        .expect("the odd serial is allocated");
    serials.swap(odd, 25);
    let line = LineBatch {
        batch,
        gtin,
        client_id: "acme".to_string(),
        lot: LOT.to_string(),
        expiry: "301231".to_string(),
    };
    let s = |i: usize| serials[i].as_str();

    // Challenge: two blank known-bad items, both rejected and confirmed.
    apply(&mut store, &line, vec![state("challenge", None)]);
    pause();
    apply(
        &mut store,
        &line,
        vec![
            verdict(1, false, Some("no_read"), None, None),
            verdict(2, false, Some("no_read"), None, None),
            fate(1, "rejected_confirmed", None),
            fate(2, "rejected_confirmed", None),
        ],
    );
    pause();
    apply(&mut store, &line, vec![state("running", None)]);

    // Production, first part: prints, 15 good items, 3 grade rejects.
    let mut records = Vec::new();
    for i in 0..38 {
        records.push(LineRecord::PrintQueued {
            message_id: i as u64 + 1,
            serial: s(i).to_string(),
        });
    }
    for i in 0..34 {
        records.push(serial(s(i), SerialOutcome::Encoded));
    }
    let grades = [4.0, 3.6, 3.1, 2.7, 2.2, 1.8];
    let mut seq = 3u32;
    for i in 0..15 {
        let grade = grades[i % grades.len()];
        records.push(verdict(seq, true, None, Some(s(i)), Some(grade)));
        records.push(fate(seq, "exited_good", Some(s(i))));
        records.push(serial(s(i), SerialOutcome::Commissioned));
        seq += 1;
    }
    for (i, grade) in [(25, 1.0), (26, 0.4), (27, 1.2)] {
        records.push(verdict(seq, false, Some("grade"), Some(s(i)), Some(grade)));
        records.push(fate(seq, "rejected_confirmed", Some(s(i))));
        records.push(serial(s(i), SerialOutcome::Scrapped));
        seq += 1;
    }
    // What the station measured for these 18 verdicts: bins by lower edge (ms).
    records.push(LineRecord::DecisionLatency {
        bins: vec![(0, 12, 950), (1, 5, 1_800), (8, 1, 9_400)],
    });
    apply(&mut store, &line, records);
    pause();

    // Three rejects in a row: a hold, an alarm, and the operator acknowledges it.
    let mut records = Vec::new();
    for reason in ["mismatch", "mismatch", "no_read"] {
        records.push(verdict(seq, false, Some(reason), None, Some(3.0)));
        records.push(fate(seq, "rejected_confirmed", None));
        seq += 1;
    }
    records.push(state("paused", Some("3 consecutive rejects")));
    apply(&mut store, &line, records);
    let raised_at = serialstation::store::clock::now();
    pause();
    store
        .record_action(
            &operator,
            "alarm.acknowledge",
            "batch 1",
            json!({"alarms": [{"id": 1, "text": "3 rejects in a row: <check> the printer", "raised_at": raised_at}]}),
        )
        .expect("alarm acknowledged");
    store
        .record_action(
            &Actor::new("supervisor"),
            "signature",
            "batch 1",
            json!({"signer": "supervisor", "role": "supervisor", "meaning": "resumed after a consecutive-reject stop", "for": "batch.resume"}),
        )
        .expect("signature");
    apply(&mut store, &line, vec![state("running", None)]);
    pause();

    // Production, second part: 10 good items, more rejects; the unverified prints
    // are scrapped, the unacknowledged ones invalidated, the unprinted returned.
    let mut records = Vec::new();
    for i in 15..25 {
        let grade = grades[i % grades.len()];
        records.push(verdict(seq, true, None, Some(s(i)), Some(grade)));
        records.push(fate(seq, "exited_good", Some(s(i))));
        records.push(serial(s(i), SerialOutcome::Commissioned));
        seq += 1;
    }
    records.push(verdict(seq, false, Some("no_read"), None, None));
    records.push(fate(seq, "rejected_confirmed", None));
    seq += 1;
    records.push(verdict(seq, false, Some(ODD_REASON), None, Some(2.0)));
    records.push(fate(seq, "rejected_confirmed", None));
    seq += 1;
    records.push(verdict(seq, false, Some("late"), None, None));
    for i in 28..33 {
        records.push(serial(s(i), SerialOutcome::Scrapped));
    }
    records.push(state("stopping", None));
    records.push(serial(s(33), SerialOutcome::Invalidated));
    records.push(serial(s(34), SerialOutcome::Invalidated));
    for i in 35..38 {
        records.push(LineRecord::SerialReturned {
            serial: s(i).to_string(),
            printer: "tij".to_string(),
            evidence: format!(
                "buffer clear report listed message {} as never printed",
                i + 1
            ),
        });
    }
    for i in 38..40 {
        records.push(LineRecord::SerialReturned {
            serial: s(i).to_string(),
            printer: "none (never sent)".to_string(),
            evidence: "the serial never left the station: it was never queued to a printer"
                .to_string(),
        });
    }
    records.push(state("stopped", None));
    apply(&mut store, &line, records);
    pause();

    store
        .record_action(
            &Actor::new("qa-lead"),
            "signature.failed",
            "batch 1",
            json!({"signer": "qa-lead", "meaning": "approved", "for": "batch.release", "failed_in_a_row": 1, "locked": false}),
        )
        .expect("failed signature");
    let counts = json!({"allocated": 40, "commissioned": 25, "scrapped": 8, "sampled": 0, "invalidated": 2, "returned": 5});
    apply(
        &mut store,
        &line,
        vec![LineRecord::BatchClosed {
            counts,
            unbalanced_reason: None,
        }],
    );
    store
        .record_action(
            &Actor::new("qa-lead"),
            "signature",
            "batch 1",
            json!({"signer": "qa-lead", "role": "qa", "meaning": "approved", "for": "batch.release"}),
        )
        .expect("signature");
    store
        .record_action(
            &Actor::new("qa-lead"),
            "batch.release",
            "batch 1",
            json!({"released": true, "comment": "fine <really>", "signer": "qa-lead", "role": "qa", "meaning": "approved"}),
        )
        .expect("release");
    drop(store);
    db
}
