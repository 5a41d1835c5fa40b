//! Schema and versioned migrations of the store.
//!
//! The schema version is SQLite's `PRAGMA user_version`; every migration runs in its
//! own IMMEDIATE transaction that also bumps `user_version` and records itself in
//! `schema_migrations`, so a migration is applied completely or not at all. A store
//! whose version is newer than [`LATEST_VERSION`] is refused (an older program must
//! never write into a schema it does not know).
//!
//! Rules the database itself enforces, so that even raw SQL cannot break them:
//! - serials are inserted only as Unassigned/Unallocated, with no batch and no proof;
//! - a state change must be in `serial_transitions` (seeded from
//!   [`crate::store::state::ALLOWED_TRANSITIONS`]);
//! - Allocated back to Unallocated needs a `serial_returns` row (printer proof) for
//!   that serial and batch, named in the same UPDATE;
//! - a serial is bound to a batch only by Unallocated→Allocated and unbound only by a
//!   proven return; its pool, text and import time never change;
//! - a serial that ever left Unallocated cannot be deleted;
//! - the audit trail, the return proofs and the transition table are append-only.

use rusqlite::{Connection, Transaction, TransactionBehavior, params};

use crate::store::clock;
use crate::store::error::{SqlContext, StoreError, StoreResult};
use crate::store::state::{ALLOWED_TRANSITIONS, SerialState};

/// The schema version this program writes.
pub const LATEST_VERSION: i64 = 10;

struct Migration {
    version: i64,
    description: &'static str,
    sql: &'static str,
    seed: fn(&Transaction<'_>) -> rusqlite::Result<()>,
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        description: "clients, products, pools, serials with state guards, batches, items, audit trail, outbox",
        sql: V1_SQL,
        seed: seed_serial_states,
    },
    Migration {
        version: 2,
        description: "line records: printer messages, item serial text and fate",
        sql: crate::store::line_records::V2_SQL,
        seed: crate::store::line_records::seed_nothing,
    },
    Migration {
        version: 3,
        description: "outbox: capture ID of an in-flight capture",
        sql: crate::store::outbox::V3_SQL,
        seed: crate::store::outbox::seed_nothing_v3,
    },
    Migration {
        version: 4,
        description: "outbox: rows not yet sent by client, kind and batch",
        sql: crate::store::outbox::V4_SQL,
        seed: crate::store::outbox::seed_nothing_v3,
    },
    Migration {
        version: 5,
        description: "allocation records for reconciliation; the station's application id",
        sql: V5_SQL,
        seed: seed_allocations_and_mark,
    },
    Migration {
        version: 6,
        description: "users with roles and password hashes, for electronic signatures",
        sql: crate::store::users::V6_SQL,
        seed: crate::store::outbox::seed_nothing_v3,
    },
    Migration {
        version: 7,
        description: "decision latency per batch: items and the largest latency per histogram bin",
        sql: crate::store::line_records::V7_SQL,
        seed: crate::store::outbox::seed_nothing_v3,
    },
    Migration {
        version: 8,
        description: "aggregation: SSCC pools, containers and their children",
        sql: crate::store::containers::V8_SQL,
        seed: crate::store::outbox::seed_nothing_v3,
    },
    Migration {
        version: 9,
        description: "aggregation settings: a product's packaging hierarchy, a client's SSCC prefix",
        sql: crate::store::products::V9_SQL,
        seed: crate::store::outbox::seed_nothing_v3,
    },
    Migration {
        version: 10,
        description: "case station: cases sent to rework found by subject",
        sql: crate::store::audit::V10_SQL,
        seed: crate::store::outbox::seed_nothing_v3,
    },
];

/// Migration 5: one append-only row per block of serials allocated to a batch, written
/// in the allocation's transaction, so that reconciliation counts what was handed out
/// from a record of its own instead of from where the serials are now.
const V5_SQL: &str = r#"
CREATE TABLE allocations (
    id              INTEGER PRIMARY KEY,
    batch_id        INTEGER NOT NULL REFERENCES batches(id),
    pool_id         INTEGER NOT NULL REFERENCES pools(id),
    count           INTEGER NOT NULL CHECK (count > 0),
    first_serial_id INTEGER NOT NULL,
    last_serial_id  INTEGER NOT NULL CHECK (last_serial_id >= first_serial_id),
    allocated_at    TEXT NOT NULL
) STRICT;
CREATE INDEX allocations_by_batch ON allocations (batch_id);
CREATE TRIGGER allocations_no_update BEFORE UPDATE ON allocations
BEGIN SELECT RAISE(ABORT, 'allocation records are append-only'); END;
CREATE TRIGGER allocations_no_delete BEFORE DELETE ON allocations
BEGIN SELECT RAISE(ABORT, 'allocation records are append-only'); END;
"#;

/// Fills the allocation records of a store written before migration 5 from the audit
/// trail's `serials.allocate` rows (each names its batch, GTIN, count and serial
/// range), and marks the file as the station's.
fn seed_allocations_and_mark(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO allocations (batch_id, pool_id, count, first_serial_id, last_serial_id, allocated_at)
         SELECT CAST(substr(a.subject, 7) AS INTEGER), p.id,
                json_extract(a.after, '$.allocated'),
                json_extract(a.after, '$.first_serial_id'),
                json_extract(a.after, '$.last_serial_id'),
                a.at
         FROM audit a JOIN pools p ON p.gtin = json_extract(a.after, '$.gtin')
         WHERE a.action = 'serials.allocate' AND json_extract(a.after, '$.allocated') > 0
         ORDER BY a.id",
        [],
    )?;
    tx.pragma_update(
        None,
        "application_id",
        crate::store::integrity::APPLICATION_ID,
    )
}

const V1_SQL: &str = r#"
CREATE TABLE schema_migrations (
    version     INTEGER PRIMARY KEY,
    description TEXT NOT NULL,
    applied_at  TEXT NOT NULL
) STRICT;

CREATE TABLE clients (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    serial_source TEXT NOT NULL,  -- JSON
    upload        TEXT NOT NULL,  -- JSON
    updated_at    TEXT NOT NULL
) STRICT;

CREATE TABLE products (
    gtin                     TEXT PRIMARY KEY CHECK (length(gtin) = 14),
    client_id                TEXT NOT NULL REFERENCES clients(id),
    name                     TEXT NOT NULL,
    company_prefix_length    INTEGER NOT NULL CHECK (company_prefix_length BETWEEN 6 AND 12),
    markets                  TEXT NOT NULL,  -- JSON array of market codes
    code_template            TEXT NOT NULL,  -- JSON array of AIs, in print order
    nhrn                     TEXT NOT NULL,  -- JSON object: AI -> value
    min_grade                REAL NOT NULL CHECK (min_grade BETWEEN 0.0 AND 4.0),
    low_water_mark           INTEGER NOT NULL CHECK (low_water_mark >= 0),
    consecutive_reject_limit INTEGER NOT NULL CHECK (consecutive_reject_limit >= 1),
    updated_at               TEXT NOT NULL
) STRICT;

CREATE TABLE pools (
    id         INTEGER PRIMARY KEY,
    gtin       TEXT NOT NULL UNIQUE REFERENCES products(gtin),
    created_at TEXT NOT NULL
) STRICT;

CREATE TABLE serial_states (
    code INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
) STRICT;

CREATE TABLE serial_transitions (
    from_state INTEGER NOT NULL REFERENCES serial_states(code),
    to_state   INTEGER NOT NULL REFERENCES serial_states(code),
    PRIMARY KEY (from_state, to_state)
) STRICT, WITHOUT ROWID;

CREATE TABLE batches (
    id         INTEGER PRIMARY KEY,
    gtin       TEXT NOT NULL REFERENCES products(gtin),
    lot        TEXT NOT NULL CHECK (length(lot) BETWEEN 1 AND 20),
    expiry     TEXT NOT NULL CHECK (length(expiry) = 6),  -- YYMMDD as printed in AI (17)
    quantity   INTEGER NOT NULL CHECK (quantity > 0),
    state      TEXT NOT NULL CHECK (state IN ('created', 'running', 'paused', 'stopped', 'closed')),
    created_at TEXT NOT NULL,
    closed_at  TEXT
) STRICT;

CREATE TABLE serials (
    id               INTEGER PRIMARY KEY,
    pool_id          INTEGER NOT NULL REFERENCES pools(id),
    serial           TEXT NOT NULL CHECK (length(serial) BETWEEN 1 AND 20),
    state            INTEGER NOT NULL CHECK (state BETWEEN 0 AND 11),
    batch_id         INTEGER REFERENCES batches(id),
    return_proof_id  INTEGER REFERENCES serial_returns(id),
    imported_at      INTEGER NOT NULL,  -- Unix ms, UTC
    state_changed_at INTEGER NOT NULL,  -- Unix ms, UTC
    UNIQUE (pool_id, serial)
) STRICT;

-- Allocation takes the oldest Unallocated serials of a pool: this index holds only those.
CREATE INDEX serials_unallocated ON serials (pool_id) WHERE state = 1;
CREATE INDEX serials_by_batch ON serials (batch_id) WHERE batch_id IS NOT NULL;

-- Printer proof that an allocated serial was never printed.
CREATE TABLE serial_returns (
    id          INTEGER PRIMARY KEY,
    serial_id   INTEGER NOT NULL REFERENCES serials(id),
    batch_id    INTEGER NOT NULL REFERENCES batches(id),
    printer     TEXT NOT NULL CHECK (length(printer) > 0),
    evidence    TEXT NOT NULL CHECK (length(evidence) > 0),
    returned_at TEXT NOT NULL,
    actor       TEXT NOT NULL
) STRICT;
CREATE INDEX serial_returns_by_serial ON serial_returns (serial_id);

CREATE TABLE items (
    id         INTEGER PRIMARY KEY,
    batch_id   INTEGER NOT NULL REFERENCES batches(id),
    seq        INTEGER NOT NULL,  -- the PLC's encoder-tracked item number
    serial_id  INTEGER REFERENCES serials(id),
    verdict    TEXT CHECK (verdict IN ('good', 'reject')),
    reason     TEXT,
    grade      REAL CHECK (grade BETWEEN 0.0 AND 4.0),
    created_at TEXT NOT NULL,
    decided_at TEXT,
    UNIQUE (batch_id, seq)
) STRICT;
CREATE UNIQUE INDEX items_serial_once ON items (serial_id) WHERE serial_id IS NOT NULL;

CREATE TABLE audit (
    id        INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    subject   TEXT NOT NULL,
    before    TEXT,  -- JSON
    after     TEXT,  -- JSON
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
) STRICT;

CREATE TABLE outbox (
    id         INTEGER PRIMARY KEY,
    client_id  TEXT NOT NULL REFERENCES clients(id),
    kind       TEXT NOT NULL,
    batch_id   INTEGER REFERENCES batches(id),
    payload    TEXT NOT NULL,
    state      TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'failed')),
    attempts   INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_error TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;
CREATE INDEX outbox_pending ON outbox (id) WHERE state = 'pending';

CREATE TRIGGER serials_insert_guard BEFORE INSERT ON serials
WHEN NEW.state NOT IN (0, 1) OR NEW.batch_id IS NOT NULL OR NEW.return_proof_id IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'a new serial must be Unassigned or Unallocated, with no batch and no return proof');
END;

-- One trigger guards every change of state or batch, so an UPDATE pays for one trigger
-- per row, not three. The checks run in this order, and the first that fails aborts:
-- the transition must be in serial_transitions; Allocated->Unallocated needs a new proof
-- row for this serial and batch; the batch is set only by Unallocated->Allocated and
-- cleared only by that proven return.
CREATE TRIGGER serials_change_guard BEFORE UPDATE OF state, batch_id ON serials
WHEN NEW.state IS NOT OLD.state OR NEW.batch_id IS NOT OLD.batch_id
BEGIN
    SELECT CASE
        WHEN NEW.state IS NOT OLD.state
         AND NOT EXISTS (SELECT 1 FROM serial_transitions WHERE from_state = OLD.state AND to_state = NEW.state)
        THEN RAISE(ABORT, 'illegal serial state transition')
        WHEN OLD.state = 2 AND NEW.state = 1
         AND (NEW.return_proof_id IS NULL OR NEW.return_proof_id IS OLD.return_proof_id
              OR NOT EXISTS (SELECT 1 FROM serial_returns r
                             WHERE r.id = NEW.return_proof_id AND r.serial_id = OLD.id AND r.batch_id = OLD.batch_id))
        THEN RAISE(ABORT, 'an allocated serial returns to the pool only with printer proof that it was never printed')
        WHEN NOT ((OLD.state = 1 AND NEW.state = 2 AND OLD.batch_id IS NULL AND NEW.batch_id IS NOT NULL)
                  OR (OLD.state = 2 AND NEW.state = 1 AND NEW.batch_id IS NULL)
                  OR (NEW.batch_id IS OLD.batch_id AND NOT (OLD.state = 1 AND NEW.state = 2)))
        THEN RAISE(ABORT, 'a serial is bound to a batch only when allocated and unbound only by a proven return')
    END;
END;

CREATE TRIGGER serials_proof_guard BEFORE UPDATE OF return_proof_id ON serials
WHEN NEW.return_proof_id IS NOT OLD.return_proof_id AND NOT (OLD.state = 2 AND NEW.state = 1)
BEGIN
    SELECT RAISE(ABORT, 'a return proof is recorded only with a return to the pool');
END;

CREATE TRIGGER serials_identity_guard BEFORE UPDATE OF id, pool_id, serial, imported_at ON serials
WHEN NEW.id IS NOT OLD.id OR NEW.pool_id IS NOT OLD.pool_id OR NEW.serial IS NOT OLD.serial
  OR NEW.imported_at IS NOT OLD.imported_at
BEGIN
    SELECT RAISE(ABORT, 'a serial''s pool, text and import time never change');
END;

CREATE TRIGGER serials_delete_guard BEFORE DELETE ON serials
WHEN OLD.state NOT IN (0, 1) OR OLD.return_proof_id IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'a serial that left Unallocated can never be deleted');
END;

CREATE TRIGGER serial_returns_no_update BEFORE UPDATE ON serial_returns
BEGIN SELECT RAISE(ABORT, 'printer proofs are append-only'); END;
CREATE TRIGGER serial_returns_no_delete BEFORE DELETE ON serial_returns
BEGIN SELECT RAISE(ABORT, 'printer proofs are append-only'); END;

CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
"#;

/// Triggers that make the state tables read-only once seeded.
const V1_LOCK_STATE_TABLES_SQL: &str = r#"
CREATE TRIGGER serial_transitions_no_insert BEFORE INSERT ON serial_transitions
BEGIN SELECT RAISE(ABORT, 'the serial transition table changes only by migration'); END;
CREATE TRIGGER serial_transitions_no_update BEFORE UPDATE ON serial_transitions
BEGIN SELECT RAISE(ABORT, 'the serial transition table changes only by migration'); END;
CREATE TRIGGER serial_transitions_no_delete BEFORE DELETE ON serial_transitions
BEGIN SELECT RAISE(ABORT, 'the serial transition table changes only by migration'); END;
"#;

fn seed_serial_states(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    for state in SerialState::ALL {
        tx.execute(
            "INSERT INTO serial_states (code, name) VALUES (?1, ?2)",
            params![state.code(), state.name()],
        )?;
    }
    for (from, to) in ALLOWED_TRANSITIONS {
        tx.execute(
            "INSERT INTO serial_transitions (from_state, to_state) VALUES (?1, ?2)",
            params![from.code(), to.code()],
        )?;
    }
    tx.execute_batch(V1_LOCK_STATE_TABLES_SQL)
}

/// The schema version recorded in the database file.
pub fn current_version(conn: &Connection) -> StoreResult<i64> {
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
        .context("reading the schema version")
}

/// Brings the schema up to [`LATEST_VERSION`], one transaction per migration.
/// Refuses a store newer than this program.
pub fn migrate(conn: &mut Connection, path_for_messages: &str) -> StoreResult<()> {
    let found = current_version(conn)?;
    if found > LATEST_VERSION {
        return Err(StoreError::NewerSchema {
            path: path_for_messages.to_string(),
            found,
            supported: LATEST_VERSION,
        });
    }
    if found == LATEST_VERSION {
        // Nothing to do: no write lock taken, so opening a store beside a busy writer
        // (the daemon) never waits for it.
        return Ok(());
    }
    for migration in MIGRATIONS {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .context("starting a schema migration")?;
        // Re-read inside the write lock: another process may have migrated meanwhile.
        let version: i64 = tx
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .context("reading the schema version")?;
        if version >= migration.version {
            continue;
        }
        let what = format!(
            "applying schema migration {} ({})",
            migration.version, migration.description
        );
        tx.execute_batch(migration.sql).context(&what)?;
        (migration.seed)(&tx).context(&what)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, description, applied_at) VALUES (?1, ?2, ?3)",
            params![migration.version, migration.description, clock::now()],
        )
        .context(&what)?;
        tx.pragma_update(None, "user_version", migration.version)
            .context(&what)?;
        tx.commit().context(&what)?;
    }
    Ok(())
}

/// Checks that the database's transition table is exactly the program's, so that the
/// code-level check and the database trigger can never disagree.
pub fn check_transition_table(conn: &Connection) -> StoreResult<()> {
    let mut stmt = conn
        .prepare(
            "SELECT from_state, to_state FROM serial_transitions ORDER BY from_state, to_state",
        )
        .context("reading the serial transition table")?;
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))
        .context("reading the serial transition table")?;
    let mut in_db = Vec::new();
    for row in rows {
        in_db.push(row.context("reading the serial transition table")?);
    }
    let mut in_code: Vec<(i64, i64)> = ALLOWED_TRANSITIONS
        .iter()
        .map(|(f, t)| (i64::from(f.code()), i64::from(t.code())))
        .collect();
    in_code.sort_unstable();
    if in_db != in_code {
        let show = |pairs: &[(i64, i64)]| {
            pairs
                .iter()
                .map(|(from, to)| format!("{from}→{to}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        return Err(StoreError::Corrupt(format!(
            "the serial transition table in the database ({}) differs from this program's ({}): \
             the store was altered outside the station; restore it from its last backup",
            show(&in_db),
            show(&in_code)
        )));
    }
    Ok(())
}
