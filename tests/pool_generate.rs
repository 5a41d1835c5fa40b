//! `pool generate`: CSPRNG or sequential serials, never a duplicate, and refusal of
//! plans whose guess probability is not below 1 in 10,000.

mod store_support;

use std::collections::HashSet;
use std::process::Command;

use serialstation::pool::{Alphabet, GenerationPlan, SerialOrder};
use serialstation::store::{SerialState, Store};
use store_support::*;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_serialstation"))
}

fn all_serials(db: &std::path::Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn.prepare("SELECT serial FROM serials").unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn random_generation_adds_distinct_serials_of_the_asked_shape() {
    let dir = tempfile::tempdir().unwrap();
    let (db, mut store) = store_with_products(dir.path());
    let plan = GenerationPlan {
        count: 5000,
        order: SerialOrder::Random,
        alphabet: Alphabet::Alphanumeric,
        length: 10,
    };
    let out = store.generate_serials(&gtin(), &plan, &actor()).unwrap();
    assert_eq!(out.count, 5000);
    store.generate_serials(&gtin(), &plan, &actor()).unwrap();
    let serials = all_serials(&db);
    assert_eq!(serials.len(), 10_000);
    assert_eq!(serials.iter().collect::<HashSet<_>>().len(), 10_000);
    assert!(serials.iter().all(|s| {
        s.len() == 10
            && s.bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
    }));
    assert_eq!(
        store.pool_status(Some(&gtin())).unwrap()[0].count(SerialState::Unallocated),
        10_000
    );
}

#[test]
fn guess_probability_counts_the_serials_already_in_the_pool() {
    let dir = tempfile::tempdir().unwrap();
    let (_db, mut store) = store_with_products(dir.path());
    // 10^6 possible numeric serials of length 6: 99 pass (1 in 10,101), 100 do not.
    let plan = |count| GenerationPlan {
        count,
        order: SerialOrder::Random,
        alphabet: Alphabet::Numeric,
        length: 6,
    };
    store
        .generate_serials(&gtin(), &plan(60), &actor())
        .unwrap();
    let err = store
        .generate_serials(&gtin(), &plan(40), &actor())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("100 serials (60 already in the pool + 40 new)"),
        "{err}"
    );
    assert!(
        err.contains("1 in 10000") && err.contains("--length 7"),
        "{err}"
    );
    store
        .generate_serials(&gtin(), &plan(39), &actor())
        .unwrap();
    assert_eq!(store.pool_status(Some(&gtin())).unwrap()[0].total(), 99);
}

#[test]
fn sequential_serials_continue_after_the_highest_and_are_refused_for_eu_markets() {
    let dir = tempfile::tempdir().unwrap();
    let (db, mut store) = store_with_products(dir.path());
    let plan = GenerationPlan {
        count: 10,
        order: SerialOrder::Sequential,
        alphabet: Alphabet::Numeric,
        length: 12,
    };
    // The example product is sold in DE (EU FMD): sequential serials are refused.
    let err = store
        .generate_serials(&gtin(), &plan, &actor())
        .unwrap_err()
        .to_string();
    assert!(err.contains("--random"), "{err}");
    drop(store);
    // A US product (Nordpharma) may use sequential serials.
    let file = repo_root().join("config/clients/nordpharma.toml");
    let out = bin()
        .arg("--db")
        .arg(&db)
        .arg("config")
        .arg("load")
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let us = serialstation::gs1::Gtin::parse("00312345678906").unwrap();
    let mut store = Store::open(&db).unwrap();
    store.generate_serials(&us, &plan, &actor()).unwrap();
    store.generate_serials(&us, &plan, &actor()).unwrap();
    let mut serials = all_serials(&db);
    serials.sort();
    assert_eq!(serials.first().map(String::as_str), Some("000000000001"));
    assert_eq!(serials.last().map(String::as_str), Some("000000000020"));
}

#[test]
fn cli_generate_refuses_with_numbers_and_exit_code_1() {
    let dir = tempfile::tempdir().unwrap();
    let (db, store) = store_with_products(dir.path());
    drop(store);
    let out = bin()
        .arg("--db")
        .arg(&db)
        .args([
            "pool", "generate", "--gtin", GTIN, "--count", "1000", "--random", "--length", "6",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("1 in 1000,") && stderr.contains("EU FMD") && stderr.contains("--length 8"),
        "{stderr}"
    );
    assert!(all_serials(&db).is_empty());

    let out = bin()
        .arg("--db")
        .arg(&db)
        .args([
            "pool", "generate", "--gtin", GTIN, "--count", "1000", "--random",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(all_serials(&db).len(), 1000);

    let out = bin()
        .arg("--db")
        .arg(&db)
        .args(["pool", "status", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mine = status
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["gtin"] == GTIN)
        .unwrap();
    assert_eq!(mine["counts"]["Unallocated"], 1000);
    assert_eq!(mine["low"], true);
    let out = bin()
        .arg("--db")
        .arg(&db)
        .args(["pool", "status"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Unallocated 1000") && text.contains("WARNING"),
        "{text}"
    );
}
