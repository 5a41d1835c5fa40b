//! Shared set-up for the store, pool and config tests: a real store file in a temp
//! dir, loaded with the example client configuration.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use serialstation::config::parse_client_config;
use serialstation::gs1::Gtin;
use serialstation::store::{Actor, BatchId, NewBatch, Store};

pub const GTIN: &str = "09506000134352";

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn example_config_path() -> PathBuf {
    repo_root().join("config/clients/acme.toml")
}

pub fn actor() -> Actor {
    Actor::new("test-operator")
}

pub fn gtin() -> Gtin {
    Gtin::parse(GTIN).unwrap()
}

/// A fresh store with the example client `acme` loaded.
pub fn store_with_products(dir: &Path) -> (PathBuf, Store) {
    let path = dir.join("station.sqlite");
    let mut store = Store::open(&path).unwrap();
    let file = example_config_path();
    let text = std::fs::read_to_string(&file).unwrap();
    let report = parse_client_config(&file.display().to_string(), &text);
    let config = report
        .config
        .unwrap_or_else(|| panic!("example config invalid: {:?}", report.issues));
    store.load_client_config(&config, &actor()).unwrap();
    (path, store)
}

pub fn new_batch(store: &mut Store, lot: &str) -> BatchId {
    store
        .create_batch(
            &NewBatch {
                gtin: gtin(),
                lot: lot.to_string(),
                expiry: "281231".to_string(),
                quantity: 1000,
            },
            &actor(),
        )
        .unwrap()
}

pub fn import(store: &mut Store, serials: &[&str]) {
    let lines = serials.iter().enumerate().map(|(i, s)| {
        Ok(serialstation::store::SerialLine {
            line: i as u64 + 1,
            serial: s.to_string(),
        })
    });
    match store
        .import_serials(&gtin(), lines, "test", &actor())
        .unwrap()
    {
        serialstation::store::ImportOutcome::Imported { count } => {
            assert_eq!(count as usize, serials.len())
        }
        other => panic!("import rejected: {other:?}"),
    }
}
