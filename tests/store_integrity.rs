//! Store integrity, tried as a careless or hostile user would, through the real
//! binary: a damaged page, another application's database, a truncated audit trail,
//! a lost return proof, online backups, and requests too large to be meant. Each is
//! refused with a message that says what to do, and the file is left as it was.

mod store_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use rusqlite::Connection;
use serialstation::store::{PrinterProof, Store};
use store_support::*;

fn bin(db: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_serialstation"));
    c.arg("--db").arg(db);
    c.env_remove("SERIALSTATION_DB");
    c
}

fn run(db: &Path, args: &[&str]) -> Output {
    bin(db).args(args).output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn file_bytes(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

/// A store with the example client and `n` generated serials, written through the CLI.
fn cli_store(dir: &Path, n: u64) -> PathBuf {
    let db = dir.join("station.sqlite");
    let load = run(
        &db,
        &["config", "load", example_config_path().to_str().unwrap()],
    );
    assert!(load.status.success(), "{}", stderr(&load));
    let generate = run(
        &db,
        &[
            "pool",
            "generate",
            "--gtin",
            GTIN,
            "--count",
            &n.to_string(),
            "--random",
            "--length",
            "12",
            "--alphabet",
            "alphanumeric",
        ],
    );
    assert!(generate.status.success(), "{}", stderr(&generate));
    db
}

/// Writes random bytes over the body of one leaf page of `serials` (found through
/// SQLite's dbstat table), as a failing disk or a stray write would.
fn damage_a_serials_leaf_page(db: &Path) {
    let (page, page_size) = {
        let conn = Connection::open(db).unwrap();
        conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
            .unwrap();
        let page: i64 = conn
            .query_row(
                "SELECT pageno FROM dbstat WHERE name = 'serials' AND pagetype = 'leaf' ORDER BY pageno LIMIT 1 OFFSET 3",
                [],
                |r| r.get(0),
            )
            .unwrap();
        let size: i64 = conn
            .query_row("PRAGMA page_size", [], |r| r.get(0))
            .unwrap();
        (page, size)
    };
    let mut bytes = file_bytes(db);
    let start = usize::try_from((page - 1) * page_size).unwrap();
    let mut x: u32 = 0x9e37_79b9;
    for b in &mut bytes[start..start + usize::try_from(page_size).unwrap()] {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        *b = x as u8;
    }
    std::fs::write(db, bytes).unwrap();
}

#[test]
fn a_damaged_store_is_refused_by_every_command_and_never_written() {
    let dir = tempfile::tempdir().unwrap();
    let db = cli_store(dir.path(), 20_000);
    damage_a_serials_leaf_page(&db);
    let before = file_bytes(&db);
    let serials = dir.path().join("more.txt");
    std::fs::write(&serials, "NEWSERIAL1\nNEWSERIAL2\n").unwrap();
    let config = example_config_path();
    let attempts: Vec<Vec<&str>> = vec![
        vec![
            "pool",
            "generate",
            "--gtin",
            GTIN,
            "--count",
            "10",
            "--random",
            "--length",
            "12",
            "--alphabet",
            "alphanumeric",
        ],
        vec!["pool", "import", "--gtin", GTIN, serials.to_str().unwrap()],
        vec!["config", "load", config.to_str().unwrap()],
        vec!["audit", "verify"],
        vec!["pool", "status"],
        vec!["batch", "report", "1"],
    ];
    for args in &attempts {
        let out = run(&db, args);
        let message = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {message}");
        assert!(message.contains("is damaged"), "{args:?}: {message}");
        assert!(
            message.contains("restore the last backup"),
            "{args:?}: {message}"
        );
        assert!(
            !message.contains("Sqlite") && !message.contains("{ "),
            "{args:?}: {message}"
        );
        assert_eq!(file_bytes(&db), before, "{args:?} changed the damaged file");
    }
    let check = run(&db, &["store", "check"]);
    assert_eq!(check.status.code(), Some(1), "{}", stdout(&check));
    let report = stdout(&check);
    assert!(report.contains("pages and indexes:"), "{report}");
    assert!(report.contains("store is NOT sound"), "{report}");
    assert_eq!(
        file_bytes(&db),
        before,
        "store check changed the damaged file"
    );
}

#[test]
fn another_applications_database_is_refused_and_left_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let foreign = dir.path().join("crm.sqlite");
    {
        let conn = Connection::open(&foreign).unwrap();
        conn.execute_batch(
            "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT);
             INSERT INTO customers (name) VALUES ('Ada');",
        )
        .unwrap();
    }
    let before = file_bytes(&foreign);
    for args in [
        vec!["config", "load", example_config_path().to_str().unwrap()],
        vec!["pool", "status"],
        vec!["audit", "verify"],
        vec!["store", "check"],
    ] {
        let out = run(&foreign, &args);
        let message = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {message}");
        assert!(
            message.contains("another application's SQLite database"),
            "{args:?}: {message}"
        );
        assert!(message.contains("customers"), "{args:?}: {message}");
    }
    assert_eq!(file_bytes(&foreign), before);
    let conn = Connection::open(&foreign).unwrap();
    let tables: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(tables, 1);

    let text = dir.path().join("notes.txt");
    std::fs::write(
        &text,
        "this is not a database, just some notes\n".repeat(200),
    )
    .unwrap();
    let before = file_bytes(&text);
    let out = run(&text, &["pool", "status"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("is not an SQLite database"),
        "{}",
        stderr(&out)
    );
    assert_eq!(file_bytes(&text), before);
}

#[test]
fn a_new_store_carries_the_station_mark() {
    let dir = tempfile::tempdir().unwrap();
    let db = cli_store(dir.path(), 10);
    let conn = Connection::open(&db).unwrap();
    let id: i32 = conn
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .unwrap();
    assert_eq!(id, serialstation::store::integrity::APPLICATION_ID);
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, serialstation::store::schema::LATEST_VERSION);
}

#[test]
fn rows_cut_off_the_end_of_the_audit_trail_are_found_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let db = cli_store(dir.path(), 10);
    let more = run(
        &db,
        &[
            "pool",
            "generate",
            "--gtin",
            GTIN,
            "--count",
            "10",
            "--random",
            "--length",
            "12",
            "--alphabet",
            "alphanumeric",
        ],
    );
    assert!(more.status.success());
    let ok = run(&db, &["audit", "verify"]);
    assert!(ok.status.success(), "{}", stderr(&ok));
    assert!(stdout(&ok).contains("anchors match"), "{}", stdout(&ok));
    let rows: i64 = Connection::open(&db)
        .unwrap()
        .query_row("SELECT MAX(id) FROM audit", [], |r| r.get(0))
        .unwrap();
    {
        let conn = Connection::open(&db).unwrap();
        conn.execute_batch("DROP TRIGGER audit_no_delete;").unwrap();
        conn.execute("DELETE FROM audit WHERE id >= ?1", [rows - 1])
            .unwrap();
    }
    let out = run(&db, &["audit", "verify"]);
    let message = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{message}");
    assert!(
        message.contains(&format!(
            "rows {} to {} were removed from the end",
            rows - 1,
            rows
        )),
        "{message}"
    );
    let check = run(&db, &["store", "check"]);
    assert_eq!(check.status.code(), Some(1));
    assert!(
        stdout(&check).contains("removed from the end"),
        "{}",
        stdout(&check)
    );
}

#[test]
fn a_missing_anchor_file_fails_verification_until_a_new_one_is_signed_for() {
    let dir = tempfile::tempdir().unwrap();
    let db = cli_store(dir.path(), 10);
    let anchor = serialstation::store::anchor::anchor_path(&db);
    std::fs::remove_file(&anchor).unwrap();
    let out = run(&db, &["audit", "verify"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("is missing"), "{}", stderr(&out));
    // Commands do not quietly start a new one.
    let status = run(&db, &["pool", "status"]);
    assert!(status.status.success());
    assert!(!anchor.exists());
    let refused = run(&db, &["audit", "anchor", "--new", "--reason", " "]);
    assert_eq!(refused.status.code(), Some(1));
    let new = run(
        &db,
        &[
            "audit",
            "anchor",
            "--new",
            "--reason",
            "anchor file deleted by mistake",
        ],
    );
    assert!(new.status.success(), "{}", stderr(&new));
    let ok = run(&db, &["audit", "verify"]);
    assert!(ok.status.success(), "{}", stderr(&ok));
    let list = run(&db, &["audit", "list", "--limit", "1"]);
    assert!(
        stdout(&list).contains("audit.anchor_new"),
        "{}",
        stdout(&list)
    );
}

#[test]
fn a_lost_return_proof_unbalances_the_batch() {
    let dir = tempfile::tempdir().unwrap();
    let (db, mut store) = store_with_products(dir.path());
    import(&mut store, &["R1", "R2", "R3", "R4", "R5"]);
    let batch = new_batch(&mut store, "LOT1");
    let allocated = store.allocate_block(batch, &gtin(), 5, &actor()).unwrap();
    let proof = PrinterProof {
        printer: "tij-1".to_string(),
        evidence: "buffer cleared: messages 1 to 2 never printed".to_string(),
    };
    store
        .return_unprinted(batch, &[allocated[0].id, allocated[1].id], &proof, &actor())
        .unwrap();
    let report = serialstation::report::BatchReport::build(&store, batch).unwrap();
    assert_eq!(report.serials.allocated, 5);
    assert_eq!(report.serials.held, 5);
    drop(store);
    {
        let conn = Connection::open(&db).unwrap();
        conn.execute_batch(
            "PRAGMA foreign_keys = OFF;
             DROP TRIGGER serial_returns_no_delete;
             DELETE FROM serial_returns WHERE id = (SELECT MAX(id) FROM serial_returns);",
        )
        .unwrap();
    }
    let store = Store::open(&db).unwrap();
    let report = serialstation::report::BatchReport::build(&store, batch).unwrap();
    assert_eq!(
        report.serials.allocated, 5,
        "allocation records are independent"
    );
    assert_eq!(report.serials.held, 4);
    assert!(!report.balanced);
    assert!(
        report.to_text().contains("a record was lost"),
        "{}",
        report.to_text()
    );
    let out = run(&db, &["batch", "report", &batch.0.to_string(), "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
}

#[test]
fn a_backup_is_consistent_while_another_connection_writes() {
    let dir = tempfile::tempdir().unwrap();
    let db = cli_store(dir.path(), 20_000);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let db = db.clone();
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut store = Store::open(&db).unwrap();
            let mut n = 0u64;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                store
                    .record_action(
                        &actor(),
                        "test.write",
                        "backup",
                        serde_json::json!({ "n": n }),
                    )
                    .unwrap();
                n += 1;
                // A line commits in groups, not in a tight loop.
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            n
        })
    };
    let backup = dir.path().join("backup.sqlite");
    let out = run(&db, &["store", "backup", backup.to_str().unwrap()]);
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let writes = writer.join().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("backed up"), "{}", stdout(&out));
    assert!(writes > 0);
    let check = run(&backup, &["store", "check"]);
    assert!(check.status.success(), "{}", stdout(&check));
    let verify = run(&backup, &["audit", "verify"]);
    assert!(verify.status.success(), "{}", stderr(&verify));
    // The original, still written to after the copy, is sound too.
    let original = run(&db, &["store", "check"]);
    assert!(original.status.success(), "{}", stdout(&original));
    // A backup never overwrites.
    let again = run(&db, &["store", "backup", backup.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        stderr(&again).contains("already exists"),
        "{}",
        stderr(&again)
    );
}

#[test]
fn counts_too_large_to_be_meant_are_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = cli_store(dir.path(), 10);
    let out = run(
        &db,
        &[
            "pool",
            "generate",
            "--gtin",
            GTIN,
            "--count",
            "4000000000",
            "--random",
            "--length",
            "12",
            "--alphabet",
            "alphanumeric",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let message = stderr(&out);
    assert!(
        message.contains("4,000,000,000") && message.contains("10,000,000"),
        "{message}"
    );
    assert!(!message.contains(".."), "{message}");
    let start = run(
        &db,
        &[
            "batch",
            "start",
            "--product",
            GTIN,
            "--lot",
            "L1",
            "--expiry",
            "2028-11-30",
            "--quantity",
            "100",
            "--challenge",
            "4000000000",
        ],
    );
    assert_eq!(start.status.code(), Some(1));
    let message = stderr(&start);
    assert!(
        message.contains("challenge test of 4,000,000,000 items"),
        "{message}"
    );
    let pool = run(&db, &["pool", "status", "--json"]);
    assert!(stdout(&pool).contains("\"total\":10"), "{}", stdout(&pool));
}

#[test]
fn ctrl_c_stops_a_long_generation_with_nothing_added() {
    let dir = tempfile::tempdir().unwrap();
    let db = cli_store(dir.path(), 10);
    let child = bin(&db)
        .args([
            "pool",
            "generate",
            "--gtin",
            GTIN,
            "--count",
            "10000000",
            "--random",
            "--length",
            "14",
            "--alphabet",
            "alphanumeric",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(700));
    // SIGINT, as Ctrl-C on the terminal.
    let pid = i32::try_from(child.id()).unwrap();
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let out = child.wait_with_output().unwrap();
    let message = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{message}");
    assert!(message.contains("nothing was added"), "{message}");
    let pool = run(&db, &["pool", "status", "--json"]);
    assert!(stdout(&pool).contains("\"total\":10"), "{}", stdout(&pool));
    let verify = run(&db, &["audit", "verify"]);
    assert!(verify.status.success(), "{}", stderr(&verify));
}

/// The daemon opens the store without waiting for its page check (a restart must not
/// wait for a check that grows with the file) and runs the check beside its start;
/// a damaged store still stops it, with the same message, before anything is
/// produced or written.
#[test]
fn the_daemon_stops_on_a_damaged_store_found_by_its_page_check() {
    let dir = tempfile::tempdir().unwrap();
    let db = cli_store(dir.path(), 20_000);
    damage_a_serials_leaf_page(&db);
    let before = file_bytes(&db);
    // Devices nobody serves: nothing can be recovered or run meanwhile.
    let line_toml = dir.path().join("line.toml");
    let nowhere = "127.0.0.1:1";
    std::fs::write(
        &line_toml,
        serialstation::demo::daemon_process::line_config_text(
            include_str!("../config/line.toml"),
            nowhere,
            nowhere,
            nowhere,
            1,
            600.0,
        ),
    )
    .unwrap();
    let socket = dir.path().join("station.sock");
    let log = dir.path().join("daemon.log");
    let mut daemon = bin(&db)
        .arg("--socket")
        .arg(&socket)
        .arg("daemon")
        .arg("--config")
        .arg(&line_toml)
        .arg("--log-file")
        .arg(&log)
        .arg("--no-upload")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let status = loop {
        if let Some(status) = daemon.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = daemon.kill();
            panic!("the daemon kept running on a damaged store");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let mut message = String::new();
    std::io::Read::read_to_string(daemon.stderr.as_mut().unwrap(), &mut message).unwrap();
    assert_eq!(status.code(), Some(1), "{message}");
    assert!(message.contains("is damaged"), "{message}");
    assert!(message.contains("restore the last backup"), "{message}");
    assert!(
        !message.contains("Sqlite") && !message.contains("{ "),
        "{message}"
    );
    assert_eq!(
        file_bytes(&db),
        before,
        "the daemon changed the damaged file"
    );
}
