//! Block allocation: write-ahead, in pool order, and never the same serial twice,
//! across batches, store handles and reopening.

mod store_support;

use std::collections::HashSet;

use serialstation::store::{PrinterProof, SerialState, Store};
use store_support::*;

#[test]
fn allocation_never_hands_out_a_serial_twice_even_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let (path, mut store) = store_with_products(dir.path());
    let serials: Vec<String> = (0..500).map(|i| format!("S{i:05}")).collect();
    let refs: Vec<&str> = serials.iter().map(String::as_str).collect();
    import(&mut store, &refs);
    let b1 = new_batch(&mut store, "LOT1");
    let b2 = new_batch(&mut store, "LOT2");
    let mut seen = HashSet::new();
    let first = store.allocate_block(b1, &gtin(), 120, &actor()).unwrap();
    assert_eq!(first.len(), 120);
    assert_eq!(first[0].serial, "S00000");
    assert!(first.windows(2).all(|w| w[0].id < w[1].id), "pool order");
    for a in &first {
        assert!(seen.insert(a.serial.clone()));
    }
    drop(store);
    // A second handle on the same file, alternating with a reopened first one.
    let mut s1 = Store::open(&path).unwrap();
    let mut s2 = Store::open(&path).unwrap();
    for round in 0..10 {
        let (s, b) = if round % 2 == 0 {
            (&mut s1, b1)
        } else {
            (&mut s2, b2)
        };
        for a in s.allocate_block(b, &gtin(), 37, &actor()).unwrap() {
            assert!(
                seen.insert(a.serial.clone()),
                "{} handed out twice",
                a.serial
            );
            assert_eq!(
                s.serial(a.id).unwrap().unwrap().state,
                SerialState::Allocated
            );
        }
    }
    // Exhaust the pool: the rest, then nothing.
    let rest = s1.allocate_block(b1, &gtin(), 10_000, &actor()).unwrap();
    for a in &rest {
        assert!(seen.insert(a.serial.clone()));
    }
    assert_eq!(seen.len(), 500);
    assert!(
        s2.allocate_block(b2, &gtin(), 5, &actor())
            .unwrap()
            .is_empty()
    );
}

#[test]
fn only_a_proven_return_makes_a_serial_available_again() {
    let dir = tempfile::tempdir().unwrap();
    let (_path, mut store) = store_with_products(dir.path());
    import(&mut store, &["P1", "P2"]);
    let batch = new_batch(&mut store, "LOT1");
    let got = store.allocate_block(batch, &gtin(), 2, &actor()).unwrap();
    assert!(
        store
            .allocate_block(batch, &gtin(), 1, &actor())
            .unwrap()
            .is_empty()
    );
    let proof = PrinterProof {
        printer: "tij-1".into(),
        evidence: "message never sent to the printer".into(),
    };
    store
        .return_unprinted(batch, &[got[1].id], &proof, &actor())
        .unwrap();
    let again = store.allocate_block(batch, &gtin(), 5, &actor()).unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].serial, "P2");
}

#[test]
fn allocation_checks_the_batch() {
    let dir = tempfile::tempdir().unwrap();
    let (_path, mut store) = store_with_products(dir.path());
    import(&mut store, &["C1"]);
    let batch = new_batch(&mut store, "LOT1");
    let other_gtin = serialstation::gs1::Gtin::parse("09506000134369").unwrap();
    assert!(
        store
            .allocate_block(batch, &other_gtin, 1, &actor())
            .is_err()
    );
    assert!(
        store
            .allocate_block(serialstation::store::BatchId(999), &gtin(), 1, &actor())
            .is_err()
    );
    store
        .set_batch_state(batch, serialstation::store::BatchState::Closed, &actor())
        .unwrap();
    let err = store
        .allocate_block(batch, &gtin(), 1, &actor())
        .unwrap_err();
    assert!(err.to_string().contains("closed"), "{err}");
}

#[test]
fn pool_status_counts_states_and_flags_low_water() {
    let dir = tempfile::tempdir().unwrap();
    let (_path, mut store) = store_with_products(dir.path());
    import(&mut store, &["L1", "L2", "L3"]);
    let batch = new_batch(&mut store, "LOT1");
    let got = store.allocate_block(batch, &gtin(), 2, &actor()).unwrap();
    store
        .transition_serials(&[got[0].id], SerialState::Encoded, "printed", &actor())
        .unwrap();
    let status = store.pool_status(Some(&gtin())).unwrap();
    assert_eq!(status.len(), 1);
    let s = &status[0];
    assert_eq!(s.count(SerialState::Unallocated), 1);
    assert_eq!(s.count(SerialState::Allocated), 1);
    assert_eq!(s.count(SerialState::Encoded), 1);
    assert_eq!(s.total(), 3);
    assert!(s.is_low(), "low-water mark of the example product is 20000");
    // Every product is listed, with or without a pool.
    assert_eq!(store.pool_status(None).unwrap().len(), 2);
}
