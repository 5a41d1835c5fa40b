//! `pool import`: all or nothing, with the offending line numbers; through the library
//! and through the real binary.

mod store_support;

use std::io::Write;
use std::process::Command;

use serialstation::pool::SerialFileReader;
use serialstation::store::{ImportOutcome, SerialState, Store};
use store_support::*;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_serialstation"))
}

fn write(dir: &std::path::Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::File::create(&path)
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    path
}

fn total(store: &Store) -> u64 {
    store.pool_status(Some(&gtin())).unwrap()[0].total()
}

#[test]
fn a_file_with_any_bad_line_imports_nothing_and_names_every_bad_line() {
    let dir = tempfile::tempdir().unwrap();
    let (_path, mut store) = store_with_products(dir.path());
    import(&mut store, &["EXISTING1"]);
    let text = "GOOD1\nGOOD2\n\nBAD SPACE\nGOOD1\nTHIS-SERIAL-IS-WAY-TOO-LONG\nEXISTING1\nBAD#HASH\nGOOD3\n";
    let reader = SerialFileReader::plain(text.as_bytes());
    let outcome = store
        .import_serials(&gtin(), reader, "inline", &actor())
        .unwrap();
    let ImportOutcome::Rejected { problems, total: n } = outcome else {
        panic!("imported a bad file")
    };
    let lines: Vec<u64> = problems.iter().map(|p| p.line).collect();
    assert_eq!(lines, [3, 4, 5, 6, 7, 8], "{problems:?}");
    assert_eq!(n, 6);
    assert_eq!(problems[0].reason, "empty line");
    assert!(
        problems[1].reason.contains("position 4"),
        "{}",
        problems[1].reason
    );
    assert_eq!(problems[2].reason, "duplicate of line 1 (\"GOOD1\")");
    assert!(
        problems[3].reason.contains("27 characters"),
        "{}",
        problems[3].reason
    );
    assert!(
        problems[4]
            .reason
            .contains("already in the pool (Unallocated)"),
        "{}",
        problems[4].reason
    );
    assert!(
        problems[5].reason.contains("CSET 82"),
        "{}",
        problems[5].reason
    );
    // Nothing was imported: only the serial that was there before.
    assert_eq!(total(&store), 1);
    assert_eq!(
        store.pool_status(Some(&gtin())).unwrap()[0].count(SerialState::Unallocated),
        1
    );
}

#[test]
fn a_clean_file_imports_every_serial() {
    let dir = tempfile::tempdir().unwrap();
    let (_path, mut store) = store_with_products(dir.path());
    let text: String = (0..10_000).map(|i| format!("N{i:08}\r\n")).collect();
    let outcome = store
        .import_serials(
            &gtin(),
            SerialFileReader::plain(text.as_bytes()),
            "inline",
            &actor(),
        )
        .unwrap();
    assert_eq!(outcome, ImportOutcome::Imported { count: 10_000 });
    assert_eq!(total(&store), 10_000);
    assert!(store.find_serial(&gtin(), "N00009999").unwrap().is_some());
}

#[test]
fn an_unknown_gtin_is_refused_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let (_path, mut store) = store_with_products(dir.path());
    let unknown = serialstation::gs1::Gtin::parse("19506000134359").unwrap();
    let err = store
        .import_serials(
            &unknown,
            SerialFileReader::plain("A\n".as_bytes()),
            "x",
            &actor(),
        )
        .unwrap_err();
    assert!(err.to_string().contains("config load"), "{err}");
}

#[test]
fn cli_import_plain_file_then_csv_column() {
    let dir = tempfile::tempdir().unwrap();
    let (db, store) = store_with_products(dir.path());
    drop(store);
    let plain = write(dir.path(), "pool.txt", "A0001\nA0002\nA0003\n");
    let out = bin()
        .arg("--db")
        .arg(&db)
        .args(["pool", "import", "--gtin", GTIN])
        .arg(&plain)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("imported 3 serials"));

    let csv = write(
        dir.path(),
        "pool.csv",
        "gtin;serial\n09506000134352;\"B;1\"\n09506000134352;B2\n",
    );
    let out = bin()
        .arg("--db")
        .arg(&db)
        .args([
            "pool",
            "import",
            "--gtin",
            GTIN,
            "--column",
            "serial",
            "--delimiter",
            ";",
        ])
        .arg(&csv)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let store = Store::open(&db).unwrap();
    assert!(store.find_serial(&gtin(), "B;1").unwrap().is_some());
    assert_eq!(total(&store), 5);
}

#[test]
fn cli_import_lists_at_most_twenty_problems_and_imports_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (db, store) = store_with_products(dir.path());
    drop(store);
    let mut text = String::from("OK1\n");
    for _ in 0..30 {
        text.push_str("bad serial\n");
    }
    let file = write(dir.path(), "bad.txt", &text);
    let out = bin()
        .arg("--db")
        .arg(&db)
        .args(["pool", "import", "--gtin", GTIN])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("nothing was imported"), "{stderr}");
    assert!(
        stderr.contains("line 2:") && stderr.contains("line 21:") && !stderr.contains("line 22:"),
        "{stderr}"
    );
    assert!(stderr.contains("and 10 more"), "{stderr}");
    assert_eq!(total(&Store::open(&db).unwrap()), 0);
}

#[test]
fn cli_import_of_a_csv_without_the_column_says_which_columns_exist() {
    let dir = tempfile::tempdir().unwrap();
    let (db, store) = store_with_products(dir.path());
    drop(store);
    let file = write(dir.path(), "x.csv", "sn,lot\nA,B\n");
    let out = bin()
        .arg("--db")
        .arg(&db)
        .args(["pool", "import", "--gtin", GTIN, "--column", "serial"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no column \"serial\"") && stderr.contains("\"sn\""),
        "{stderr}"
    );
}

/// Imports `serials` (line i+1 holds serials[i]) through the library.
fn import_lines(store: &mut Store, serials: &[String]) -> ImportOutcome {
    let lines = serials.iter().enumerate().map(|(i, s)| {
        Ok(serialstation::store::SerialLine {
            line: i as u64 + 1,
            serial: s.clone(),
        })
    });
    store
        .import_serials(&gtin(), lines, "inline", &actor())
        .unwrap()
}

#[test]
fn serials_already_in_the_pool_are_found_in_every_part_of_a_large_file() {
    let dir = tempfile::tempdir().unwrap();
    let (_path, mut store) = store_with_products(dir.path());
    // Scattered order, more rows than one insert statement takes.
    let first: Vec<String> = (0..3000u64)
        .map(|i| format!("E{:06}", (i * 7919) % 1_000_000))
        .collect();
    assert_eq!(
        import_lines(&mut store, &first),
        ImportOutcome::Imported { count: 3000 }
    );
    let mut second: Vec<String> = (0..3000u64)
        .map(|i| format!("F{:06}", (i * 104_729) % 1_000_000))
        .collect();
    // Lines 11, 1501 and 2999 repeat serials of the first import; line 2000 repeats
    // line 12 of this file, and line 2500 repeats a serial of both.
    second[10] = first[2999].clone();
    second[1500] = first[0].clone();
    second[2998] = first[1234].clone();
    second[1999] = second[11].clone();
    second[2499] = first[1234].clone();
    let ImportOutcome::Rejected {
        problems,
        total: problem_count,
    } = import_lines(&mut store, &second)
    else {
        panic!("an import with serials already in the pool must be rejected");
    };
    let found: Vec<(u64, String)> = problems.into_iter().map(|p| (p.line, p.reason)).collect();
    assert_eq!(
        found,
        vec![
            (
                11,
                format!("{:?} is already in the pool (Unallocated)", first[2999])
            ),
            (
                1501,
                format!("{:?} is already in the pool (Unallocated)", first[0])
            ),
            (2000, format!("duplicate of line 12 ({:?})", second[11])),
            (
                2500,
                format!("{:?} is already in the pool (Unallocated)", first[1234])
            ),
            (2999, format!("duplicate of line 2500 ({:?})", first[1234])),
        ]
    );
    assert_eq!(problem_count, 5);
    assert_eq!(total(&store), 3000, "nothing of the second file");
}

#[test]
fn pool_order_is_oldest_import_first_then_serial_text() {
    let dir = tempfile::tempdir().unwrap();
    let (_path, mut store) = store_with_products(dir.path());
    let first: Vec<String> = ["K3", "K1", "K2"].map(String::from).to_vec();
    let second: Vec<String> = ["A9", "A1"].map(String::from).to_vec();
    import_lines(&mut store, &first);
    import_lines(&mut store, &second);
    let batch = new_batch(&mut store, "LOT1");
    let got: Vec<String> = store
        .allocate_block(batch, &gtin(), 10, &actor())
        .unwrap()
        .into_iter()
        .map(|a| a.serial)
        .collect();
    assert_eq!(got, ["K1", "K2", "K3", "A1", "A9"]);
    for serial in &got {
        let rec = store.find_serial(&gtin(), serial).unwrap().unwrap();
        assert_eq!(
            (rec.state, rec.batch),
            (SerialState::Allocated, Some(batch))
        );
    }
}

#[test]
fn the_problems_kept_in_detail_are_those_of_the_lowest_lines() {
    let dir = tempfile::tempdir().unwrap();
    let (_path, mut store) = store_with_products(dir.path());
    // Lines 2k-1 and 2k hold the same serial; the serials fall as the lines rise, so
    // sorting meets the duplicates of the last lines first. 1,100 duplicates in all.
    let serials: Vec<String> = (1..=2200u64)
        .map(|line| format!("D{:04}", (2200 - line) / 2))
        .collect();
    let ImportOutcome::Rejected {
        problems,
        total: problem_count,
    } = import_lines(&mut store, &serials)
    else {
        panic!("a file with duplicates must be rejected");
    };
    assert_eq!(problem_count, 1100);
    assert_eq!(
        problems.len(),
        serialstation::store::serials::MAX_KEPT_PROBLEMS
    );
    let lines: Vec<u64> = problems.iter().map(|p| p.line).collect();
    assert_eq!(lines, (1..=1000).map(|k| 2 * k).collect::<Vec<u64>>());
    assert_eq!(
        problems[0].reason,
        format!("duplicate of line 1 ({:?})", serials[0])
    );
}
