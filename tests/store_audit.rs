//! The audit trail records state-changing commands with who/when/what/before/after,
//! and its hash chain finds the first edited, deleted or inserted row.

mod store_support;

use rusqlite::Connection;
use serialstation::store::Store;
use store_support::*;

fn drop_guards(conn: &Connection) {
    conn.execute_batch("DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;")
        .unwrap();
}

fn store_with_history(dir: &std::path::Path) -> std::path::PathBuf {
    let (path, mut store) = store_with_products(dir);
    import(&mut store, &["H1", "H2", "H3"]);
    let batch = new_batch(&mut store, "LOT1");
    store.allocate_block(batch, &gtin(), 2, &actor()).unwrap();
    store
        .record_action(
            &actor(),
            "line.pause",
            "batch 1",
            serde_json::json!({"reason": "test"}),
        )
        .unwrap();
    path
}

#[test]
fn every_change_is_recorded_with_actor_and_before_after() {
    let dir = tempfile::tempdir().unwrap();
    let path = store_with_history(dir.path());
    let store = Store::open(&path).unwrap();
    let rows = store.audit_tail(100).unwrap();
    let actions: Vec<&str> = rows.iter().map(|r| r.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "client.add",
            "product.add",
            "product.add",
            "pool.import",
            "batch.create",
            "serials.allocate",
            "line.pause"
        ]
    );
    assert!(
        rows.iter()
            .all(|r| r.actor == "test-operator" && r.at.ends_with('Z'))
    );
    assert!(
        rows[1]
            .after
            .as_deref()
            .unwrap_or("")
            .contains("09506000134352")
    );
    let v = store.verify_audit().unwrap();
    assert!(v.is_intact(), "{v:?}");
    assert_eq!(v.rows_checked, 7);
    assert_eq!(v.head_hash, rows[6].hash);
}

#[test]
fn an_update_to_a_product_records_before_and_after() {
    let dir = tempfile::tempdir().unwrap();
    let (_path, mut store) = store_with_products(dir.path());
    let mut product = store.product(&gtin()).unwrap().unwrap();
    product.min_grade = 3.0;
    let client = store.client("acme").unwrap().unwrap();
    let config = serialstation::config::ClientConfig {
        client,
        products: vec![product],
    };
    store.load_client_config(&config, &actor()).unwrap();
    let last = store.audit_tail(1).unwrap().remove(0);
    assert_eq!(last.action, "product.update");
    assert!(last.before.unwrap().contains("\"min_grade\":1.5"));
    assert!(last.after.unwrap().contains("\"min_grade\":3.0"));
    // Loading the same again changes nothing and writes no row.
    let n = store.audit_tail(1000).unwrap().len();
    store.load_client_config(&config, &actor()).unwrap();
    assert_eq!(store.audit_tail(1000).unwrap().len(), n);
}

#[test]
fn the_database_refuses_to_edit_or_delete_audit_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = store_with_history(dir.path());
    let conn = Connection::open(&path).unwrap();
    assert!(
        conn.execute("UPDATE audit SET actor = 'mallory' WHERE id = 2", [])
            .is_err()
    );
    assert!(conn.execute("DELETE FROM audit WHERE id = 2", []).is_err());
}

#[test]
fn verification_finds_an_edited_row() {
    let dir = tempfile::tempdir().unwrap();
    let path = store_with_history(dir.path());
    let conn = Connection::open(&path).unwrap();
    drop_guards(&conn);
    conn.execute("UPDATE audit SET actor = 'mallory' WHERE id = 4", [])
        .unwrap();
    let v = Store::open(&path).unwrap().verify_audit().unwrap();
    let broken = v.first_broken.unwrap();
    assert_eq!(broken.id, 4);
    assert!(broken.reason.contains("changed"), "{}", broken.reason);
    assert_eq!(v.rows_checked, 3);
}

#[test]
fn verification_finds_a_deleted_row() {
    let dir = tempfile::tempdir().unwrap();
    let path = store_with_history(dir.path());
    let conn = Connection::open(&path).unwrap();
    drop_guards(&conn);
    conn.execute("DELETE FROM audit WHERE id = 3", []).unwrap();
    let broken = Store::open(&path)
        .unwrap()
        .verify_audit()
        .unwrap()
        .first_broken
        .unwrap();
    assert_eq!(broken.id, 4);
    assert!(broken.reason.contains("missing"), "{}", broken.reason);
}

#[test]
fn verification_finds_a_deleted_and_renumbered_row() {
    // The forger deletes row 3 and renumbers the rest so the ids stay contiguous.
    let dir = tempfile::tempdir().unwrap();
    let path = store_with_history(dir.path());
    let conn = Connection::open(&path).unwrap();
    drop_guards(&conn);
    conn.execute("DELETE FROM audit WHERE id = 3", []).unwrap();
    conn.execute("UPDATE audit SET id = id - 1 WHERE id > 3", [])
        .unwrap();
    let broken = Store::open(&path)
        .unwrap()
        .verify_audit()
        .unwrap()
        .first_broken
        .unwrap();
    assert_eq!(broken.id, 3);
}
