//! The database itself refuses every serial state change that is not in the allowed
//! table, even when it comes as raw SQL, and guards inserts, deletes, batches and
//! printer proofs.

mod store_support;

use rusqlite::{Connection, params};
use serialstation::store::state::{
    ALLOWED_TRANSITIONS, SerialState, can_transition, needs_printer_proof,
};
use serialstation::store::{PrinterProof, Store, StoreError};
use store_support::*;

/// A path of allowed transitions from Unallocated (or Unassigned) to `target`.
fn path_to(target: SerialState) -> Vec<SerialState> {
    use std::collections::{HashMap, VecDeque};
    let start = if target == SerialState::Unassigned {
        SerialState::Unassigned
    } else {
        SerialState::Unallocated
    };
    let mut prev: HashMap<SerialState, SerialState> = HashMap::new();
    let mut queue = VecDeque::from([start]);
    while let Some(s) = queue.pop_front() {
        if s == target {
            let mut path = vec![s];
            let mut cur = s;
            while let Some(p) = prev.get(&cur) {
                path.push(*p);
                cur = *p;
            }
            path.reverse();
            return path;
        }
        for (f, t) in ALLOWED_TRANSITIONS {
            if f == s && !prev.contains_key(&t) && t != start && !needs_printer_proof(f, t) {
                prev.insert(t, s);
                queue.push_back(t);
            }
        }
    }
    Vec::new()
}

fn raw_set_state(
    conn: &Connection,
    id: i64,
    to: SerialState,
    batch: i64,
) -> rusqlite::Result<usize> {
    conn.execute(
        "UPDATE serials SET state = ?1, batch_id = CASE WHEN state = 1 AND ?1 = 2 THEN ?2 ELSE batch_id END WHERE id = ?3",
        params![to.code(), batch, id],
    )
}

#[test]
fn database_refuses_every_transition_not_in_the_table_even_as_raw_sql() {
    let dir = tempfile::tempdir().unwrap();
    let (path, mut store) = store_with_products(dir.path());
    let batch = new_batch(&mut store, "LOT1");
    drop(store);
    let conn = Connection::open(&path).unwrap();
    conn.pragma_update(None, "foreign_keys", true).unwrap();
    let pool_id: i64 = conn
        .query_row("SELECT id FROM pools", [], |r| r.get(0))
        .unwrap_or_else(|_| {
            conn.execute(
                "INSERT INTO pools (gtin, created_at) VALUES (?1, 'now')",
                [GTIN],
            )
            .unwrap();
            conn.last_insert_rowid()
        });
    let mut serial_no = 0;
    let mut checked = 0;
    for from in SerialState::ALL {
        let path = path_to(from);
        if path.is_empty() {
            // Released is never reached by the station; it has no way out either.
            assert_eq!(from, SerialState::Released);
            continue;
        }
        for to in SerialState::ALL {
            if to == from {
                continue;
            }
            serial_no += 1;
            conn.execute(
                "INSERT INTO serials (pool_id, serial, state, imported_at, state_changed_at) VALUES (?1, ?2, ?3, 0, 0)",
                params![pool_id, format!("T{serial_no}"), path[0].code()],
            )
            .unwrap();
            let id = conn.last_insert_rowid();
            for step in &path[1..] {
                raw_set_state(&conn, id, *step, batch.0)
                    .unwrap_or_else(|e| panic!("path to {from}: {step}: {e}"));
            }
            let result = raw_set_state(&conn, id, to, batch.0);
            let expected = can_transition(from, to) && !needs_printer_proof(from, to);
            assert_eq!(result.is_ok(), expected, "{from} -> {to}: {result:?}");
            if let Err(e) = result {
                assert!(
                    e.to_string().contains("transition") || e.to_string().contains("proof"),
                    "{from} -> {to}: {e}"
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 120, "checked {checked} pairs");
}

#[test]
fn store_api_refuses_illegal_transitions_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let (_path, mut store) = store_with_products(dir.path());
    import(&mut store, &["A1", "A2"]);
    let batch = new_batch(&mut store, "LOT1");
    let got = store.allocate_block(batch, &gtin(), 1, &actor()).unwrap();
    let id = got[0].id;
    // Allocated -> Commissioned skips Encoded.
    let err = store
        .transition_serials(&[id], SerialState::Commissioned, "test", &actor())
        .unwrap_err();
    assert!(matches!(err, StoreError::IllegalTransition { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("A1 of GTIN 09506000134352 is Allocated; it cannot become Commissioned"),
        "{err}"
    );
    // Allocated -> Unallocated only through return_unprinted.
    assert!(
        store
            .transition_serials(&[id], SerialState::Unallocated, "test", &actor())
            .is_err()
    );
    store
        .transition_serials(&[id], SerialState::Encoded, "printed", &actor())
        .unwrap();
    store
        .transition_serials(&[id], SerialState::Commissioned, "good", &actor())
        .unwrap();
    store
        .transition_serials(&[id], SerialState::Inactive, "damaged", &actor())
        .unwrap();
    let err = store
        .transition_serials(&[id], SerialState::Commissioned, "again", &actor())
        .unwrap_err();
    assert!(matches!(
        err,
        StoreError::IllegalTransition {
            from: SerialState::Inactive,
            ..
        }
    ));
    assert_eq!(
        store.serial(id).unwrap().unwrap().state,
        SerialState::Inactive
    );
}

#[test]
fn return_to_pool_needs_printer_proof_in_the_database_too() {
    let dir = tempfile::tempdir().unwrap();
    let (path, mut store) = store_with_products(dir.path());
    import(&mut store, &["R1", "R2", "R3"]);
    let batch = new_batch(&mut store, "LOT1");
    let got = store.allocate_block(batch, &gtin(), 2, &actor()).unwrap();
    let conn = Connection::open(&path).unwrap();
    // Raw SQL without a proof row is refused.
    let err = conn
        .execute(
            "UPDATE serials SET state = 1, batch_id = NULL WHERE id = ?1",
            [got[0].id.0],
        )
        .unwrap_err();
    assert!(err.to_string().contains("printer proof"), "{err}");
    // A proof for a different serial does not count.
    conn.execute(
        "INSERT INTO serial_returns (serial_id, batch_id, printer, evidence, returned_at, actor) VALUES (?1, ?2, 'p', 'e', 't', 'a')",
        params![got[1].id.0, batch.0],
    )
    .unwrap();
    let wrong_proof = conn.last_insert_rowid();
    assert!(
        conn.execute(
            "UPDATE serials SET state = 1, batch_id = NULL, return_proof_id = ?1 WHERE id = ?2",
            params![wrong_proof, got[0].id.0]
        )
        .is_err()
    );
    // Empty evidence is refused by the API.
    let empty = PrinterProof {
        printer: "tij-1".into(),
        evidence: " ".into(),
    };
    assert!(
        store
            .return_unprinted(batch, &[got[0].id], &empty, &actor())
            .is_err()
    );
    let proof = PrinterProof {
        printer: "tij-1".into(),
        evidence: "buffer cleared; message absent from print log".into(),
    };
    store
        .return_unprinted(batch, &[got[0].id], &proof, &actor())
        .unwrap();
    let rec = store.serial(got[0].id).unwrap().unwrap();
    assert_eq!((rec.state, rec.batch), (SerialState::Unallocated, None));
    // Returning something not allocated to the batch fails as a whole.
    assert!(
        store
            .return_unprinted(batch, &[got[1].id, got[0].id], &proof, &actor())
            .is_err()
    );
    assert_eq!(
        store.serial(got[1].id).unwrap().unwrap().state,
        SerialState::Allocated
    );
}

#[test]
fn inserts_deletes_and_identity_are_guarded() {
    let dir = tempfile::tempdir().unwrap();
    let (path, mut store) = store_with_products(dir.path());
    import(&mut store, &["G1", "G2"]);
    let batch = new_batch(&mut store, "LOT1");
    let got = store.allocate_block(batch, &gtin(), 1, &actor()).unwrap();
    let conn = Connection::open(&path).unwrap();
    let pool_id: i64 = conn
        .query_row("SELECT id FROM pools", [], |r| r.get(0))
        .unwrap();
    // A serial cannot be born Commissioned.
    assert!(conn
        .execute(
            "INSERT INTO serials (pool_id, serial, state, imported_at, state_changed_at) VALUES (?1, 'X', 7, 0, 0)",
            [pool_id]
        )
        .is_err());
    // An allocated serial cannot be deleted, an unallocated one can.
    assert!(
        conn.execute("DELETE FROM serials WHERE id = ?1", [got[0].id.0])
            .is_err()
    );
    assert_eq!(
        conn.execute("DELETE FROM serials WHERE serial = 'G2'", [])
            .unwrap(),
        1
    );
    // Its text and pool never change; it cannot move to another batch.
    assert!(
        conn.execute(
            "UPDATE serials SET serial = 'Z' WHERE id = ?1",
            [got[0].id.0]
        )
        .is_err()
    );
    let other = new_batch(&mut store, "LOT2");
    assert!(
        conn.execute(
            "UPDATE serials SET batch_id = ?1 WHERE id = ?2",
            params![other.0, got[0].id.0]
        )
        .is_err()
    );
    // Allocation without a batch is refused.
    conn.execute(
        "INSERT INTO serials (pool_id, serial, state, imported_at, state_changed_at) VALUES (?1, 'NB', 1, 0, 0)",
        [pool_id],
    )
    .unwrap();
    assert!(
        conn.execute("UPDATE serials SET state = 2 WHERE serial = 'NB'", [])
            .is_err()
    );
    // The transition table itself is locked.
    assert!(
        conn.execute("INSERT INTO serial_transitions VALUES (9, 7)", [])
            .is_err()
    );
    assert!(conn.execute("DELETE FROM serial_transitions", []).is_err());
}

#[test]
fn a_store_newer_than_the_program_is_refused_and_reopening_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sqlite");
    let store = Store::open(&path).unwrap();
    let version = store.schema_version().unwrap();
    drop(store);
    let store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), version);
    drop(store);
    let conn = Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", version + 1)
        .unwrap();
    drop(conn);
    let err = Store::open(&path).unwrap_err();
    assert!(matches!(err, StoreError::NewerSchema { .. }), "{err}");
    assert!(err.to_string().contains("newer"), "{err}");
}
