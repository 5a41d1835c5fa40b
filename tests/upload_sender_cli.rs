//! `serialstation upload status|retry|export` on a real store file, through the
//! real binary.

#[path = "store_support/mod.rs"]
mod store_support;

use std::process::Command;

use serialstation::gs1::{Gs1Date, Gtin};
use serialstation::upload::sender::{ChunkPayload, chunk_payloads, queue_chunk};
use serialstation::upload::{
    ChunkLimits, DocumentFormat, EventKind, EventTemplate, EventTime, LotMasterData, Sgln,
};

fn run(db: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_serialstation"))
        .arg("--db")
        .arg(db)
        .args(args)
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn status_retry_and_export() {
    let dir = tempfile::tempdir().unwrap();
    let (db, mut store) = store_support::store_with_products(dir.path());
    let batch = store_support::new_batch(&mut store, "LOT-7");
    let gtin = Gtin::parse(store_support::GTIN).unwrap();
    let template = EventTemplate {
        kind: EventKind::Commissioning(
            LotMasterData::new("LOT-7", Gs1Date::from_ymd(2028, 12, 31).unwrap()).unwrap(),
        ),
        event_time: EventTime::parse_rfc3339("2026-05-04T13:14:15.678+02:00").unwrap(),
        read_point: Sgln::parse("urn:epc:id:sgln:9506000.00001.0").unwrap(),
        biz_location: Sgln::parse("urn:epc:id:sgln:9506000.00001.0").unwrap(),
    };
    let limits = ChunkLimits {
        max_epcs_per_event: 5,
        max_events_per_document: 2,
        max_document_bytes: 1 << 20,
    };
    let serials: Vec<String> = (0..25).map(|i| format!("S{i}")).collect();
    let creation = EventTime::parse_rfc3339("2026-05-04T14:00:00.000+02:00").unwrap();
    let mut ids = Vec::new();
    for chunk in chunk_payloads(
        DocumentFormat::Epcis2JsonLd,
        limits,
        creation,
        template,
        &gtin,
        7,
        &serials,
    )
    .unwrap()
    {
        let chunk: ChunkPayload = chunk.unwrap();
        ids.push(queue_chunk(&mut store, "acme", Some(batch), &chunk).unwrap());
    }
    assert_eq!(ids.len(), 3);
    store
        .park_outbox(ids[0], "site server answered 400 Bad Request: bad epc")
        .unwrap();
    drop(store);

    let (ok, out, err) = run(&db, &["upload", "status"]);
    assert!(ok, "{err}");
    assert!(
        out.contains("acme: 2 pending, 0 in flight, 1 parked, 0 sent"),
        "{out}"
    );
    assert!(
        out.contains("last error: site server answered 400 Bad Request: bad epc"),
        "{out}"
    );

    let (ok, out, _) = run(&db, &["upload", "retry", &ids[0].0.to_string()]);
    assert!(ok && out.contains("1 parked chunk"), "{out}");
    let (ok, _, err) = run(&db, &["upload", "retry"]);
    assert!(!ok && err.contains("no chunk is parked"), "{err}");

    for (format, ext) in [("epcis2-json", "jsonld"), ("epcis12-xml", "xml")] {
        let out_dir = dir.path().join(format);
        let (ok, out, err) = run(
            &db,
            &[
                "upload",
                "export",
                "--batch",
                &batch.0.to_string(),
                "--format",
                format,
                "-o",
                out_dir.to_str().unwrap(),
            ],
        );
        assert!(ok, "{err}");
        assert_eq!(out.lines().count(), 3, "{out}");
        let mut epcs = 0;
        for entry in std::fs::read_dir(&out_dir).unwrap() {
            let path = entry.unwrap().path();
            assert_eq!(path.extension().unwrap(), ext);
            let text = std::fs::read_to_string(&path).unwrap();
            epcs += text.matches("urn:epc:id:sgtin:").count();
        }
        assert_eq!(epcs, 25);
    }
    let (ok, _, err) = run(
        &db,
        &[
            "upload",
            "export",
            "--batch",
            "999",
            "--format",
            "epcis2-json",
            "-o",
            dir.path().join("x").to_str().unwrap(),
        ],
    );
    assert!(!ok && err.contains("no EPCIS chunks"), "{err}");
}
