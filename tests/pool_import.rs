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
