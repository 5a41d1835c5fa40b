//! Aggregation from a terminal, as an operator with a handheld scanner does it: the
//! real binary on a real store holding a finished batch. SSCCs are generated; a case
//! is packed, closed, labelled and verified; a pallet takes the case; the tree and
//! the reconciliation show it; the outbox holds SSCC commissioning before each
//! aggregation; every bad scan is refused with the item named and nothing written;
//! a command killed with SIGKILL at any instant leaves its case whole (packed or
//! not, outbox rows exactly when verified) and the operator resumes it; a case
//! camera's frame is checked against the packs in the case.

mod batch_record_support;

use std::path::Path;
use std::process::Output;

use batch_record_support::{GTIN, LOT, finished_batch, generate_ssccs, run};
use serialstation::gs1::Gtin;
use serialstation::store::line_records::{LineBatch, LineRecord, SerialOutcome};
use serialstation::store::{Actor, ImportOutcome, NewBatch, SerialLine, Store};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "command failed: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// The command fails with exit 1 and a one-line error, no debug dump; returns it.
fn refused(out: &Output) -> String {
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "expected a refusal: {err}");
    assert!(err.starts_with("error: "), "{err}");
    assert!(
        !err.contains("panicked") && !err.contains("Sqlite {"),
        "{err}"
    );
    err
}

fn pack_scan(serial: &str) -> String {
    format!("(01){GTIN}(21){serial}")
}

fn commissioned(db: &Path, batch: i64) -> Vec<String> {
    let store = Store::open(db).expect("store opens");
    let mut stmt = store
        .raw_connection()
        .prepare("SELECT serial FROM serials WHERE batch_id = ?1 AND state = 7 ORDER BY id")
        .expect("query");
    stmt.query_map([batch], |r| r.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows")
}

fn outbox_kinds(db: &Path) -> Vec<(String, serde_json::Value)> {
    let store = Store::open(db).expect("store opens");
    let mut stmt = store
        .raw_connection()
        .prepare(
            "SELECT kind, payload FROM outbox WHERE kind LIKE 'sscc-%' OR kind LIKE 'aggregation-%' ORDER BY id",
        )
        .expect("query");
    stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
        .expect("query")
        .map(|r| {
            let (kind, payload) = r.expect("row");
            (kind, serde_json::from_str(&payload).expect("json payload"))
        })
        .collect()
}

/// Opens a container and returns its SSCC.
fn open(db: &Path, batch: &str, level: &str, capacity: &str, holds: Option<&str>) -> String {
    let mut args = vec![
        "container",
        "open",
        "--batch",
        batch,
        "--level",
        level,
        "--capacity",
        capacity,
        "--json",
    ];
    if let Some(h) = holds {
        args.extend(["--holds", h]);
    }
    let out = ok(&run(db, &args));
    let v: serde_json::Value = serde_json::from_str(&out).expect("open prints json");
    v["sscc"].as_str().expect("sscc").to_string()
}

/// A second batch of the same GTIN, lot LOT-B, with one commissioned pack; returns
/// its serial.
fn second_lot(db: &Path) -> String {
    let mut store = Store::open(db).expect("store opens");
    let actor = Actor::new("test");
    let gtin = Gtin::parse(GTIN).expect("gtin");
    let lines = std::iter::once(Ok(SerialLine {
        line: 1,
        serial: "Z0001".to_string(),
    }));
    match store
        .import_serials(&gtin, lines, "test", &actor)
        .expect("import")
    {
        ImportOutcome::Imported { count } => assert_eq!(count, 1),
        other => panic!("import refused: {other:?}"),
    }
    let batch = store
        .create_batch(
            &NewBatch {
                gtin: gtin.clone(),
                lot: "LOT-B".to_string(),
                expiry: "301231".to_string(),
                quantity: 1,
            },
            &actor,
        )
        .expect("batch");
    let serial = store
        .allocate_block(batch, &gtin, 1, &actor)
        .expect("allocate")
        .remove(0)
        .serial;
    let line = LineBatch {
        batch,
        gtin,
        client_id: "acme".to_string(),
        lot: "LOT-B".to_string(),
        expiry: "301231".to_string(),
    };
    let records = vec![
        LineRecord::PrintQueued {
            message_id: 1000,
            serial: serial.clone(),
        },
        LineRecord::Serial {
            serial: serial.clone(),
            outcome: SerialOutcome::Encoded,
            detail: "test".into(),
        },
        LineRecord::ItemVerdict {
            seq: 1,
            good: true,
            reason: None,
            serial: Some(serial.clone()),
            grade: Some(4.0),
        },
        LineRecord::ItemFate {
            seq: 1,
            fate: "exited_good".into(),
            serial: Some(serial.clone()),
        },
        LineRecord::Serial {
            serial: serial.clone(),
            outcome: SerialOutcome::Commissioned,
            detail: "test".into(),
        },
    ];
    store
        .apply_line_records(&line, &records, &actor)
        .expect("records apply");
    serial
}

#[test]
fn a_case_and_a_pallet_are_built_by_hand_and_reported_in_order() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = finished_batch(dir.path());
    let packs = commissioned(&db, 1);
    assert_eq!(packs.len(), 25);

    let generated = ok(&generate_ssccs(&db, 5));
    assert!(generated.contains("generated 5 SSCCs"), "{generated}");

    let case = open(&db, "1", "case", "12", None);
    assert!(case.starts_with("09506000"), "{case}");
    let scans: Vec<String> = packs[..12].iter().map(|s| pack_scan(s)).collect();
    let mut args = vec!["container", "pack", case.as_str()];
    args.extend(scans.iter().map(String::as_str));
    let packed = ok(&run(&db, &args));
    assert!(packed.contains("12 of 12 packs"), "{packed}");

    let closed = ok(&run(&db, &["container", "close", &case]));
    assert!(closed.contains("(closed)"), "{closed}");
    ok(&run(
        &db,
        &["container", "label", &case, "--printer", "zpl-1"],
    ));

    // A label that reads back another container's SSCC is refused, naming both.
    let other = open(&db, "1", "case", "12", None);
    let wrong = refused(&run(&db, &["container", "verify", &case, "--read", &other]));
    assert!(
        wrong.contains(&case) && wrong.contains(&other),
        "the refusal names both SSCCs: {wrong}"
    );
    let verified = ok(&run(
        &db,
        &[
            "container",
            "verify",
            &case,
            "--read",
            &format!("]C100{case}"),
        ],
    ));
    assert!(verified.contains("(verified)"), "{verified}");

    let pallet = open(&db, "1", "pallet", "4", None);
    ok(&run(
        &db,
        &["container", "pack", &pallet, &format!("(00){case}")],
    ));
    let short = refused(&run(&db, &["container", "close", &pallet]));
    assert!(
        short.contains("1 of 4") && short.contains("--partial"),
        "{short}"
    );
    ok(&run(&db, &["container", "close", &pallet, "--partial"]));
    ok(&run(&db, &["container", "label", &pallet]));
    ok(&run(
        &db,
        &["container", "verify", &pallet, "--read", &pallet],
    ));

    let tree = ok(&run(&db, &["container", "tree", &pallet]));
    assert!(
        tree.starts_with(&format!("pallet (00){pallet} [verified] 1 of 4 cases")),
        "{tree}"
    );
    assert!(
        tree.contains(&format!("  case (00){case} [verified] 12 of 12 packs")),
        "{tree}"
    );
    assert!(tree.contains("12 pack(s) in all"), "{tree}");
    assert_eq!(tree.matches("    pack (01)").count(), 12, "{tree}");

    let found = ok(&run(&db, &["container", "find", &scans[3]]));
    assert!(found.contains(&case), "{found}");

    let list: serde_json::Value = serde_json::from_str(&ok(&run(
        &db,
        &["container", "list", "--batch", "1", "--json"],
    )))
    .expect("list json");
    let r = &list["reconciliation"];
    assert_eq!(r["commissioned_packs"], 25);
    assert_eq!(r["packs_aggregated"], 12);
    assert_eq!(r["packs_loose"], 13);
    assert_eq!(r["ssccs_allocated"], 3);
    assert_eq!(r["ssccs_used"], 2);
    assert_eq!(r["ssccs_in_progress"], 1);

    // The site server learns each SSCC before any aggregation that names it as
    // parent, and the case before the pallet that holds it.
    let events = outbox_kinds(&db);
    let kinds: Vec<&str> = events.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "sscc-commissioned",
            "aggregation-add",
            "sscc-commissioned",
            "aggregation-add"
        ]
    );
    assert_eq!(events[1].1["parent"]["sscc"], case.as_str());
    assert_eq!(
        events[1].1["children"].as_array().expect("children").len(),
        12
    );
    assert_eq!(events[3].1["parent"]["sscc"], pallet.as_str());
    assert_eq!(events[3].1["children"][0]["sscc"], case.as_str());

    // Every change is in the audit trail, and the trail verifies.
    let audit = ok(&run(&db, &["audit", "verify"]));
    assert!(!audit.contains("BROKEN"), "{audit}");
    let store = Store::open(&db).expect("store");
    let actions: i64 = store
        .raw_connection()
        .query_row(
            "SELECT count(*) FROM audit WHERE action LIKE 'container.%' OR action = 'ssccs.generate'",
            [],
            |r| r.get(0),
        )
        .expect("count");
    // generate, 3 opens, 2 packs, 2 closes, 2 labels, 2 verifies.
    assert_eq!(actions, 12);
    let _ = LOT;
}

#[test]
fn bad_scans_are_refused_with_the_item_named_and_nothing_half_written() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = finished_batch(dir.path());
    let other_lot = second_lot(&db);
    let packs = commissioned(&db, 1);
    ok(&generate_ssccs(&db, 4));
    let case_a = open(&db, "1", "case", "3", None);
    let case_b = open(&db, "1", "case", "3", None);
    ok(&run(
        &db,
        &["container", "pack", &case_a, &pack_scan(&packs[0])],
    ));

    // A pack already in another case.
    let twice = refused(&run(
        &db,
        &["container", "pack", &case_b, &pack_scan(&packs[0])],
    ));
    assert!(
        twice.contains(&packs[0]) && twice.contains(&case_a),
        "{twice}"
    );
    // A pack of another lot.
    let lot = refused(&run(
        &db,
        &["container", "pack", &case_b, &pack_scan(&other_lot)],
    ));
    assert!(lot.contains(&other_lot) && lot.contains("LOT-B"), "{lot}");
    // A pack that was never commissioned (scrapped on the line).
    let scrapped = refused(&run(
        &db,
        &["container", "pack", &case_b, &pack_scan("X<i>&Y")],
    ));
    assert!(scrapped.contains("not commissioned"), "{scrapped}");
    // A serial this station never printed.
    let unknown = refused(&run(
        &db,
        &["container", "pack", &case_b, &pack_scan("NOPE1")],
    ));
    assert!(unknown.contains("NOPE1"), "{unknown}");
    // An SSCC with a wrong check digit.
    let mut bad = case_b.clone();
    let last = bad.pop().expect("digit");
    bad.push(if last == '0' { '1' } else { '0' });
    let digit = refused(&run(
        &db,
        &["container", "pack", &bad, &pack_scan(&packs[1])],
    ));
    assert!(digit.contains("check digit"), "{digit}");
    // A pack at the wrong level: a pallet holds cases.
    let pallet = open(&db, "1", "pallet", "2", None);
    let level = refused(&run(
        &db,
        &["container", "pack", &pallet, &pack_scan(&packs[1])],
    ));
    assert!(level.contains("holds cases, not packs"), "{level}");
    // An unverified case on a pallet.
    let unverified = refused(&run(&db, &["container", "pack", &pallet, &case_a]));
    assert!(
        unverified.contains("open") && unverified.contains("verified"),
        "{unverified}"
    );
    // All or nothing: one good and one bad child pack nothing; so does a child
    // scanned twice, and more than fit.
    let mixed = refused(&run(
        &db,
        &[
            "container",
            "pack",
            &case_b,
            &pack_scan(&packs[1]),
            &pack_scan(&other_lot),
        ],
    ));
    assert!(mixed.contains(&other_lot), "{mixed}");
    let dup = refused(&run(
        &db,
        &[
            "container",
            "pack",
            &case_b,
            &pack_scan(&packs[1]),
            &pack_scan(&packs[1]),
        ],
    ));
    assert!(dup.contains("scanned twice"), "{dup}");
    let full = refused(&run(
        &db,
        &[
            "container",
            "pack",
            &case_b,
            &pack_scan(&packs[1]),
            &pack_scan(&packs[2]),
            &pack_scan(&packs[3]),
            &pack_scan(&packs[4]),
        ],
    ));
    assert!(full.contains("do not fit"), "{full}");
    let b: serde_json::Value =
        serde_json::from_str(&ok(&run(&db, &["container", "tree", &case_b, "--json"])))
            .expect("tree json");
    assert_eq!(
        b["packs"].as_array().expect("packs").len(),
        0,
        "nothing half-written"
    );

    // Unpacking something that is not in the case.
    let absent = refused(&run(
        &db,
        &["container", "unpack", &case_a, &pack_scan(&packs[5])],
    ));
    assert!(
        absent.contains(&packs[5]) && absent.contains("is not in"),
        "{absent}"
    );
    // A pack in a case cannot leave Commissioned until it is unpacked.
    let mut store = Store::open(&db).expect("store");
    let gtin = Gtin::parse(GTIN).expect("gtin");
    let held = store
        .decommission_serial(
            &gtin,
            &packs[0],
            &serialstation::store::decommission::DecommissionReason::Sample,
            &Actor::new("qa"),
        )
        .expect_err("a packed pack is not decommissioned");
    assert!(held.to_string().contains("unpack it first"), "{held}");
    drop(store);

    // Replace swaps in one step; rework releases everything and is final.
    ok(&run(
        &db,
        &[
            "container",
            "replace",
            &case_a,
            &pack_scan(&packs[0]),
            &pack_scan(&packs[6]),
        ],
    ));
    let found = ok(&run(&db, &["container", "find", &pack_scan(&packs[0])]));
    assert!(found.contains("in no container"), "{found}");
    ok(&run(&db, &["container", "close", &case_a, "--partial"]));
    ok(&run(&db, &["container", "label", &case_a]));
    ok(&run(
        &db,
        &["container", "verify", &case_a, "--read", &case_a],
    ));
    let reworked = ok(&run(
        &db,
        &["container", "rework", &case_a, "--reason", "crushed"],
    ));
    assert!(reworked.contains("(rework)"), "{reworked}");
    let again = refused(&run(
        &db,
        &["container", "pack", &case_a, &pack_scan(&packs[6])],
    ));
    assert!(again.contains("reworked"), "{again}");
    ok(&run(
        &db,
        &["container", "pack", &case_b, &pack_scan(&packs[6])],
    ));
    let kinds: Vec<String> = outbox_kinds(&db).into_iter().map(|(k, _)| k).collect();
    assert_eq!(
        kinds,
        [
            "sscc-commissioned",
            "aggregation-add",
            "aggregation-delete",
            "sscc-decommissioned"
        ]
    );

    // SSCCs under a prefix too short for an EPC URI are never issued.
    let short = refused(&run(
        &db,
        &[
            "sscc",
            "generate",
            "--client",
            "acme",
            "--company-prefix",
            "95060",
            "--count",
            "1",
        ],
    ));
    assert!(short.contains("6 to 12 digits"), "{short}");
    // A client whose cases never close below capacity: --partial is refused.
    let text = include_str!("../config/clients/acme.toml").replacen(
        "partial_at_batch_end = true",
        "partial_at_batch_end = false",
        1,
    );
    let config = serialstation::config::parse_client_config("acme.toml", &text)
        .config
        .expect("client parses");
    let mut store = Store::open(&db).expect("store");
    store
        .load_client_config(&config, &Actor::new("test"))
        .expect("client loads");
    drop(store);
    let partial = refused(&run(&db, &["container", "close", &case_b, "--partial"]));
    assert!(
        partial.contains("never closes below capacity") && partial.contains(&case_b),
        "{partial}"
    );
}

#[test]
fn the_handheld_session_checks_each_scan_as_it_comes() {
    use std::io::Write;
    let dir = tempfile::tempdir().expect("temp dir");
    let db = finished_batch(dir.path());
    let packs = commissioned(&db, 1);
    ok(&generate_ssccs(&db, 2));
    let case = open(&db, "1", "case", "3", None);
    let mut child = batch_record_support::bin(&db)
        .args(["container", "scan"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("scan session starts");
    let input = format!(
        "]C100{case}\r\n]d201{GTIN}21{}\n{}\n]d201{GTIN}21{}\u{1d}10LOT\ndone\n",
        packs[0],
        pack_scan(&packs[0]),
        packs[1]
    );
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("scans sent");
    let out = child.wait_with_output().expect("session ends");
    let stdout = ok(&out);
    assert!(
        stdout.contains("ok: 1 of 3") && stdout.contains("ok: 2 of 3"),
        "{stdout}"
    );
    assert!(
        text(&out.stderr).contains("already in case"),
        "{}",
        text(&out.stderr)
    );
    assert!(stdout.contains("1 scan(s) refused"), "{stdout}");
}

#[test]
fn ssccs_are_imported_all_or_nothing_and_never_twice() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = finished_batch(dir.path());
    let sscc = |ext: u8, reference: u64| {
        serialstation::gs1::Sscc::build(ext, "9506000", reference)
            .expect("sscc")
            .as_str()
            .to_string()
    };
    ok(&generate_ssccs(&db, 3));
    // Three read forms of SSCCs issued elsewhere under the same prefix.
    let good = dir.path().join("ssccs.txt");
    let uri_of = |s: &str| format!("urn:epc:id:sscc:9506000.{}{}", &s[..1], &s[8..17]);
    std::fs::write(
        &good,
        format!(
            "{}\n(00){}\n{}\n",
            sscc(1, 5),
            sscc(1, 6),
            uri_of(&sscc(1, 7))
        ),
    )
    .expect("write");
    let args = |file: &Path| -> Vec<String> {
        [
            "sscc",
            "import",
            "--client",
            "acme",
            "--company-prefix",
            "9506000",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain([file.display().to_string()])
        .collect()
    };
    let run_import = |file: &Path| {
        let a = args(file);
        run(&db, &a.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let imported = ok(&run_import(&good));
    assert!(imported.contains("imported 3 SSCCs"), "{imported}");

    // Every kind of bad line is named by its number; nothing of the file is kept.
    let mut wrong_digit = sscc(1, 8);
    let last = wrong_digit.pop().expect("digit");
    wrong_digit.push(if last == '0' { '1' } else { '0' });
    let bad = dir.path().join("bad.txt");
    std::fs::write(
        &bad,
        [
            sscc(1, 9),  // 1: fine on its own
            wrong_digit, // 2: check digit
            serialstation::gs1::Sscc::build(1, "9506001", 1) // 3: another prefix
                .expect("sscc")
                .as_str()
                .to_string(),
            sscc(1, 10),        // 4
            sscc(1, 10),        // 5: duplicate of line 4
            sscc(0, 0),         // 6: generated here already
            sscc(1, 5),         // 7: imported already
            pack_scan("X0001"), // 8: a pack, not a container
        ]
        .join("\n"),
    )
    .expect("write");
    let err = refused(&run_import(&bad));
    assert!(err.contains("nothing was imported"), "{err}");
    for (line, words) in [
        (2, "check digit"),
        (3, "not under company prefix 9506000"),
        (5, "duplicate of line 4"),
        (6, "already in this store"),
        (7, "already in this store"),
        (8, "pack code"),
    ] {
        assert!(
            err.lines()
                .any(|l| l.contains(&format!("line {line}:")) && l.contains(words)),
            "line {line} ({words}) not reported: {err}"
        );
    }
    assert!(
        !err.contains("line 1:") && !err.contains("line 4:"),
        "{err}"
    );
    let status = ok(&run(&db, &["sscc", "status", "--client", "acme", "--json"]));
    let status: serde_json::Value = serde_json::from_str(&status).expect("json");
    assert_eq!(status["available"], 6, "{status}");

    // A client that is not in the store, and a file that is not there.
    let err = refused(&run(
        &db,
        &[
            "sscc",
            "import",
            "--client",
            "nobody",
            "--company-prefix",
            "9506000",
            good.to_str().expect("path"),
        ],
    ));
    assert!(
        err.contains("nobody") && err.contains("config load"),
        "{err}"
    );
    let err = refused(&run(
        &db,
        &[
            "sscc",
            "import",
            "--client",
            "acme",
            "--company-prefix",
            "9506000",
            "/nonexistent/ssccs.txt",
        ],
    ));
    assert!(err.contains("cannot open"), "{err}");
    // Without --company-prefix the client's own ([client.sscc]) is used: the file
    // read again is refused whole, as already imported.
    let err = refused(&run(
        &db,
        &[
            "sscc",
            "import",
            "--client",
            "acme",
            good.to_str().expect("path"),
        ],
    ));
    assert!(
        err.contains("3 problem(s)") && err.contains("already in this store"),
        "{err}"
    );
}

#[test]
fn a_case_image_is_checked_against_the_packs_in_the_case() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = finished_batch(dir.path());
    let packs = commissioned(&db, 1);
    ok(&generate_ssccs(&db, 2));
    let case = open(&db, "1", "case", "12", None);
    let mut args = vec!["container".to_string(), "pack".to_string(), case.clone()];
    args.extend(packs[..12].iter().map(|s| pack_scan(s)));
    ok(&run(
        &db,
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
    ));
    let code = |serial: &str| format!("(01){GTIN}(10){LOT}(21){serial}");
    let render = |name: &str, codes: &[String]| {
        let path = dir.path().join(name);
        let mut args = vec![
            "vision".to_string(),
            "case-render".to_string(),
            "-o".to_string(),
            path.display().to_string(),
            "--layout".to_string(),
            "3x4".to_string(),
            "--width".to_string(),
            "1224".to_string(),
            "--height".to_string(),
            "1024".to_string(),
        ];
        args.extend(codes.iter().cloned());
        ok(&run(
            &db,
            &args.iter().map(String::as_str).collect::<Vec<_>>(),
        ));
        path
    };
    let check = |image: &Path| {
        run(
            &db,
            &[
                "container",
                "check-image",
                &case,
                image.to_str().expect("path"),
                "--layout",
                "3x4",
            ],
        )
    };

    // The packs in another order than they were packed: the set is what counts.
    let mut codes: Vec<String> = packs[..12].iter().rev().map(|s| code(s)).collect();
    let good = render("good.png", &codes);
    let shown = ok(&check(&good));
    assert!(shown.contains("shows exactly its 12 packs"), "{shown}");

    // Place 3 empty, place 5 a pack of the batch not in this case, place 7 the code
    // of place 1 again, place 9 a pack of another lot.
    codes[2] = "-".to_string();
    codes[4] = code(&packs[20]);
    codes[6] = codes[0].clone();
    codes[8] = format!("(01){GTIN}(10)OTHER-LOT(21){}", packs[21]);
    let bad = render("bad.png", &codes);
    let err = refused(&check(&bad));
    for words in [
        format!(
            "place 5: pack {} is in the case but was not put into it",
            packs[20]
        ),
        format!("pack {} is read at places 1 and 7", packs[11]),
        format!(
            "place 9: pack {} is of GTIN {GTIN} lot OTHER-LOT",
            packs[21]
        ),
        format!(
            "pack {} was put into the case but is not in the image",
            packs[9]
        ),
        format!(
            "pack {} was put into the case but is not in the image",
            packs[7]
        ),
        "rework the case".to_string(),
    ] {
        assert!(err.contains(&words), "{words:?} not in: {err}");
    }
    // A layout that is not one is refused by the argument parser (exit 2).
    let out = run(
        &db,
        &[
            "container",
            "check-image",
            &case,
            good.to_str().expect("path"),
            "--layout",
            "3by4",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("ROWSxCOLS"),
        "{}",
        text(&out.stderr)
    );
}

/// The state and active children of a container, read from the store.
fn case_state(db: &Path, sscc: &str) -> (String, i64) {
    let store = Store::open(db).expect("store opens");
    store
        .raw_connection()
        .query_row(
            "SELECT c.state, (SELECT count(*) FROM container_children k
                               WHERE k.parent_id = c.sscc_id AND k.removed_at IS NULL)
             FROM containers c JOIN ssccs s ON s.id = c.sscc_id WHERE s.sscc = ?1",
            [sscc],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("container row")
}

/// Outbox rows of `kind` whose payload names `sscc` as the container or parent.
fn rows_naming(db: &Path, kind: &str, sscc: &str) -> usize {
    outbox_kinds(db)
        .iter()
        .filter(|(k, payload)| {
            k == kind && (payload["sscc"] == sscc || payload["parent"]["sscc"] == sscc)
        })
        .count()
}

#[test]
fn kill_9_while_a_case_is_packed_closed_labelled_or_verified_leaves_it_whole() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = finished_batch(dir.path());
    let packs = commissioned(&db, 1);
    ok(&generate_ssccs(&db, 20));
    let scans: Vec<String> = packs[..12].iter().map(|s| pack_scan(s)).collect();
    // A fixed pseudo-random sequence: which step is killed and when (replays).
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move |bound: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % bound
    };
    let mut killed = 0;
    for round in 0..12 {
        let case = open(&db, "1", "case", "12", None);
        let steps: Vec<Vec<String>> = vec![
            ["container", "pack", &case]
                .iter()
                .map(|s| s.to_string())
                .chain(scans.iter().cloned())
                .collect(),
            ["container", "close", &case]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            ["container", "label", &case]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            ["container", "verify", &case, "--read", &case]
                .iter()
                .map(|s| s.to_string())
                .collect(),
        ];
        let victim = next(steps.len() as u64) as usize;
        for (i, step) in steps.iter().enumerate().take(victim + 1) {
            let mut child = batch_record_support::bin(&db)
                .args(step)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("spawn");
            if i == victim {
                std::thread::sleep(std::time::Duration::from_micros(next(12_000)));
                if child.try_wait().expect("wait").is_none() {
                    killed += 1;
                }
                let _ = child.kill(); // SIGKILL
            }
            let _ = child.wait();
        }
        // Whole or not at all: no half-packed case, and the site server's rows
        // exist exactly when the case was verified.
        let (state_now, count) = case_state(&db, &case);
        assert!(
            count == 0 || count == 12,
            "round {round}: {count} packs in {case}"
        );
        let verified = state_now == "verified";
        assert_eq!(
            rows_naming(&db, "sscc-commissioned", &case),
            usize::from(verified),
            "round {round}"
        );
        assert_eq!(
            rows_naming(&db, "aggregation-add", &case),
            usize::from(verified),
            "round {round}"
        );
        // The operator resumes the case where it stopped, then reworks it to free
        // the packs for the next round.
        let resume_from = match (state_now.as_str(), count) {
            ("open", 0) => 0,
            ("open", _) => 1,
            ("closed", _) => 2,
            ("labelled", _) => 3,
            _ => 4,
        };
        for step in &steps[resume_from..] {
            ok(&run(
                &db,
                &step.iter().map(String::as_str).collect::<Vec<_>>(),
            ));
        }
        assert_eq!(case_state(&db, &case), ("verified".to_string(), 12));
        assert_eq!(
            rows_naming(&db, "aggregation-add", &case),
            1,
            "round {round}"
        );
        ok(&run(
            &db,
            &["container", "rework", &case, "--reason", "next round"],
        ));
    }
    let audit = ok(&run(&db, &["audit", "verify"]));
    assert!(!audit.contains("BROKEN"), "{audit}");
    let check = ok(&run(&db, &["store", "check"]));
    assert!(!check.contains("NOT sound"), "{check}");
    println!("{killed} of 12 commands were killed while running");
}
