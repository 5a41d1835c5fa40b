//! Aggregation in the store: SSCC pools and containers (bundles, cases, pallets) with
//! their children, so that every pack and case is in at most one container and the
//! hierarchy the site server learns is the one physically built.
//!
//! Each change (open, pack, unpack, close, label printed, label verified, rework)
//! is one transaction with its audit row and, where the site server must learn of
//! it, its outbox rows. The database itself refuses a pack or case in two
//! containers, an uncommissioned pack in a container, an SSCC used twice and an
//! SSCC state change outside the serial transition table. The rules and the event
//! order are in ARCHITECTURE.md, "Aggregation".

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde_json::json;

use crate::aggregation::{ContainerState, Level, Scanned};
use crate::gs1::Sscc;
use crate::store::audit::{self, AuditRecord};
use crate::store::batches::{BatchId, read_batch};
use crate::store::error::{SqlContext, StoreError, StoreResult};
use crate::store::state::SerialState;
use crate::store::{Actor, Store, clock};

/// Migration 8: SSCC pools, containers and their children.
pub(crate) const V8_SQL: &str = r#"
CREATE TABLE sscc_ranges (
    client_id       TEXT NOT NULL REFERENCES clients(id),
    extension_digit INTEGER NOT NULL CHECK (extension_digit BETWEEN 0 AND 9),
    company_prefix  TEXT NOT NULL CHECK (length(company_prefix) BETWEEN 4 AND 12),
    next_reference  INTEGER NOT NULL CHECK (next_reference >= 0),
    PRIMARY KEY (client_id, extension_digit, company_prefix)
) STRICT;
CREATE TRIGGER sscc_ranges_only_forward BEFORE UPDATE ON sscc_ranges
WHEN NEW.next_reference <= OLD.next_reference
BEGIN SELECT RAISE(ABORT, 'an SSCC range only moves forward: its references are never reissued'); END;
CREATE TRIGGER sscc_ranges_no_delete BEFORE DELETE ON sscc_ranges
BEGIN SELECT RAISE(ABORT, 'an SSCC range is never deleted: its references are never reissued'); END;

CREATE TABLE ssccs (
    id                 INTEGER PRIMARY KEY,
    sscc               TEXT NOT NULL UNIQUE CHECK (length(sscc) = 18),
    client_id          TEXT NOT NULL REFERENCES clients(id),
    company_prefix_len INTEGER NOT NULL CHECK (company_prefix_len BETWEEN 4 AND 12),
    state              INTEGER NOT NULL CHECK (state BETWEEN 0 AND 11),
    batch_id           INTEGER REFERENCES batches(id),
    source             TEXT NOT NULL,
    imported_at        INTEGER NOT NULL,
    state_changed_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX ssccs_unallocated ON ssccs (client_id, id) WHERE state = 1;

CREATE TRIGGER ssccs_insert_guard BEFORE INSERT ON ssccs
WHEN NEW.state != 1 OR NEW.batch_id IS NOT NULL
BEGIN SELECT RAISE(ABORT, 'a new SSCC must be Unallocated, with no batch'); END;

CREATE TRIGGER ssccs_change_guard BEFORE UPDATE OF state, batch_id ON ssccs
WHEN NEW.state IS NOT OLD.state OR NEW.batch_id IS NOT OLD.batch_id
BEGIN
    SELECT CASE
        WHEN NEW.state IS NOT OLD.state
         AND NOT EXISTS (SELECT 1 FROM serial_transitions WHERE from_state = OLD.state AND to_state = NEW.state)
        THEN RAISE(ABORT, 'illegal SSCC state transition')
        WHEN OLD.state = 2 AND NEW.state = 1
        THEN RAISE(ABORT, 'an allocated SSCC never returns to the pool')
        WHEN NOT ((OLD.state = 1 AND NEW.state = 2 AND OLD.batch_id IS NULL AND NEW.batch_id IS NOT NULL)
                  OR (NEW.batch_id IS OLD.batch_id AND NOT (OLD.state = 1 AND NEW.state = 2)))
        THEN RAISE(ABORT, 'an SSCC is bound to a batch only when allocated, and never unbound')
    END;
END;
CREATE TRIGGER ssccs_identity_guard BEFORE UPDATE OF id, sscc, client_id, company_prefix_len, source, imported_at ON ssccs
BEGIN SELECT RAISE(ABORT, 'an SSCC''s text, client and origin never change'); END;
CREATE TRIGGER ssccs_delete_guard BEFORE DELETE ON ssccs
WHEN OLD.state != 1
BEGIN SELECT RAISE(ABORT, 'an SSCC that left Unallocated can never be deleted'); END;

CREATE TABLE containers (
    sscc_id     INTEGER PRIMARY KEY REFERENCES ssccs(id),
    batch_id    INTEGER NOT NULL REFERENCES batches(id),
    level       TEXT NOT NULL CHECK (level IN ('bundle', 'case', 'pallet')),
    child_level TEXT NOT NULL CHECK (child_level IN ('pack', 'bundle', 'case')),
    capacity    INTEGER NOT NULL CHECK (capacity > 0),
    state       TEXT NOT NULL CHECK (state IN ('open', 'closed', 'labelled', 'verified', 'rework')),
    labels      INTEGER NOT NULL DEFAULT 0 CHECK (labels >= 0),
    opened_at   TEXT NOT NULL,
    changed_at  TEXT NOT NULL,
    CHECK (child_level < level OR (child_level = 'pack'))
) STRICT;
CREATE INDEX containers_by_batch ON containers (batch_id, level);
CREATE TRIGGER containers_rework_is_final BEFORE UPDATE ON containers
WHEN OLD.state = 'rework'
BEGIN SELECT RAISE(ABORT, 'a reworked container is final: open a new one'); END;
CREATE TRIGGER containers_identity_guard BEFORE UPDATE OF sscc_id, batch_id, level, child_level, opened_at ON containers
BEGIN SELECT RAISE(ABORT, 'a container''s SSCC, batch and level never change'); END;
CREATE TRIGGER containers_no_delete BEFORE DELETE ON containers
BEGIN SELECT RAISE(ABORT, 'containers are never deleted'); END;

CREATE TABLE container_children (
    id         INTEGER PRIMARY KEY,
    parent_id  INTEGER NOT NULL REFERENCES containers(sscc_id),
    serial_id  INTEGER REFERENCES serials(id),
    child_id   INTEGER REFERENCES containers(sscc_id),
    added_at   TEXT NOT NULL,
    reported   INTEGER NOT NULL DEFAULT 0 CHECK (reported IN (0, 1)),
    removed_at TEXT,
    CHECK ((serial_id IS NULL) <> (child_id IS NULL)),
    CHECK (child_id IS NULL OR child_id <> parent_id)
) STRICT;
CREATE UNIQUE INDEX container_children_pack_once ON container_children (serial_id)
    WHERE removed_at IS NULL AND serial_id IS NOT NULL;
CREATE UNIQUE INDEX container_children_container_once ON container_children (child_id)
    WHERE removed_at IS NULL AND child_id IS NOT NULL;
CREATE INDEX container_children_by_parent ON container_children (parent_id, id);

CREATE TRIGGER container_children_commissioned_only BEFORE INSERT ON container_children
WHEN NEW.serial_id IS NOT NULL AND (SELECT state FROM serials WHERE id = NEW.serial_id) IS NOT 7
BEGIN SELECT RAISE(ABORT, 'a container holds only commissioned packs'); END;
CREATE TRIGGER container_children_identity_guard BEFORE UPDATE OF id, parent_id, serial_id, child_id, added_at ON container_children
BEGIN SELECT RAISE(ABORT, 'a container''s child rows never change what they name'); END;
CREATE TRIGGER container_children_removed_once BEFORE UPDATE OF removed_at ON container_children
WHEN OLD.removed_at IS NOT NULL
BEGIN SELECT RAISE(ABORT, 'a child taken out of a container stays out: pack it again'); END;
CREATE TRIGGER container_children_no_delete BEFORE DELETE ON container_children
BEGIN SELECT RAISE(ABORT, 'container history is append-only'); END;

-- A pack in a container stays commissioned until it is taken out.
CREATE TRIGGER serials_aggregated_guard BEFORE UPDATE OF state ON serials
WHEN OLD.state = 7 AND NEW.state IS NOT 7
 AND EXISTS (SELECT 1 FROM container_children WHERE serial_id = OLD.id AND removed_at IS NULL)
BEGIN SELECT RAISE(ABORT, 'the pack is in a container: unpack it before it leaves Commissioned'); END;
"#;

/// One container as the store holds it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Container {
    pub sscc: String,
    pub batch: BatchId,
    pub gtin: String,
    pub lot: String,
    #[serde(serialize_with = "as_text")]
    pub level: Level,
    #[serde(serialize_with = "as_text")]
    pub child_level: Level,
    pub capacity: u64,
    #[serde(serialize_with = "as_text")]
    pub state: ContainerState,
    /// Children in it now.
    pub count: u64,
    /// Labels printed for it so far.
    pub labels: u64,
    pub opened_at: String,
    pub changed_at: String,
}

fn as_text<T: std::fmt::Display, S: serde::Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

/// Where a read of good exits starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GoodExitsFrom {
    /// At this 0-based index among the batch's good exits.
    Index(u64),
    /// Right after this item number.
    AfterItem(i64),
}

/// A container with everything under it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ContainerTree {
    pub container: Container,
    /// Packs directly in it: their serials (GTIN and lot are the container's).
    pub packs: Vec<String>,
    /// Containers directly in it.
    pub containers: Vec<ContainerTree>,
}

impl ContainerTree {
    /// Packs anywhere under this container.
    pub fn pack_total(&self) -> u64 {
        self.packs.len() as u64 + self.containers.iter().map(|c| c.pack_total()).sum::<u64>()
    }
}

/// One level's numbers in a batch's aggregation reconciliation.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LevelReconciliation {
    pub level: String,
    /// Containers of this level by state.
    pub open: u64,
    pub closed: u64,
    pub labelled: u64,
    pub verified: u64,
    pub rework: u64,
    /// Children of the level below currently in verified containers of this level.
    pub children_in_verified: u64,
}

/// A batch's aggregation reconciliation (invariant 8): packs aggregated + packs loose
/// = commissioned, and SSCCs allocated = used + invalidated + in progress.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AggregationReconciliation {
    pub batch: BatchId,
    pub commissioned_packs: u64,
    pub packs_aggregated: u64,
    pub packs_loose: u64,
    pub levels: Vec<LevelReconciliation>,
    pub ssccs_allocated: u64,
    pub ssccs_used: u64,
    pub ssccs_invalidated: u64,
    pub ssccs_in_progress: u64,
}

impl AggregationReconciliation {
    pub fn packs_balance(&self) -> bool {
        self.packs_aggregated + self.packs_loose == self.commissioned_packs
    }
    pub fn ssccs_balance(&self) -> bool {
        self.ssccs_used + self.ssccs_invalidated + self.ssccs_in_progress == self.ssccs_allocated
    }
}

/// The row of a container read inside a transaction.
struct Row {
    sscc_id: i64,
    container: Container,
    client_id: String,
    company_prefix_len: i64,
    sscc_state: SerialState,
}

const CONTAINER_SELECT: &str = "SELECT c.sscc_id, s.sscc, c.batch_id, b.gtin, b.lot, c.level, c.child_level,
        c.capacity, c.state, c.labels, c.opened_at, c.changed_at, s.client_id, s.company_prefix_len, s.state,
        (SELECT count(*) FROM container_children k WHERE k.parent_id = c.sscc_id AND k.removed_at IS NULL)
 FROM containers c JOIN ssccs s ON s.id = c.sscc_id JOIN batches b ON b.id = c.batch_id";

fn map_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(Row, String, String, String, i64)> {
    let level: String = r.get(5)?;
    let child_level: String = r.get(6)?;
    let state: String = r.get(8)?;
    let sscc_state: i64 = r.get(14)?;
    Ok((
        Row {
            sscc_id: r.get(0)?,
            container: Container {
                sscc: r.get(1)?,
                batch: BatchId(r.get(2)?),
                gtin: r.get(3)?,
                lot: r.get(4)?,
                level: Level::Pack,
                child_level: Level::Pack,
                capacity: r.get::<_, i64>(7)?.max(0) as u64,
                state: ContainerState::Open,
                count: r.get::<_, i64>(15)?.max(0) as u64,
                labels: r.get::<_, i64>(9)?.max(0) as u64,
                opened_at: r.get(10)?,
                changed_at: r.get(11)?,
            },
            client_id: r.get(12)?,
            company_prefix_len: r.get(13)?,
            sscc_state: SerialState::Unassigned,
        },
        level,
        child_level,
        state,
        sscc_state,
    ))
}

fn finish_row(raw: (Row, String, String, String, i64)) -> StoreResult<Row> {
    let (mut row, level, child_level, state, sscc_state) = raw;
    let bad = |what: &str, value: &str| {
        StoreError::Corrupt(format!(
            "container {} has {what} {value:?}",
            row.container.sscc
        ))
    };
    row.container.level = Level::parse(&level).map_err(|_| bad("level", &level))?;
    row.container.child_level =
        Level::parse(&child_level).map_err(|_| bad("child level", &child_level))?;
    row.container.state =
        ContainerState::from_str_opt(&state).ok_or_else(|| bad("state", &state))?;
    row.sscc_state = SerialState::from_code(sscc_state)
        .ok_or_else(|| bad("SSCC state code", &sscc_state.to_string()))?;
    Ok(row)
}

fn read_container(conn: &Connection, sscc: &Sscc) -> StoreResult<Option<Row>> {
    let what = format!("reading container {sscc}");
    let raw = conn
        .query_row(
            &format!("{CONTAINER_SELECT} WHERE s.sscc = ?1"),
            [sscc.as_str()],
            map_row,
        )
        .optional()
        .context(&what)?;
    raw.map(finish_row).transpose()
}

fn require_container(conn: &Connection, sscc: &Sscc) -> StoreResult<Row> {
    read_container(conn, sscc)?.ok_or_else(|| {
        let known: Option<i64> = conn
            .query_row("SELECT state FROM ssccs WHERE sscc = ?1", [sscc.as_str()], |r| {
                r.get(0)
            })
            .optional()
            .ok()
            .flatten();
        StoreError::NotFound(match known {
            Some(_) => format!(
                "SSCC {sscc} is in this store's SSCC pool but no container was opened with it: \
                 open one with `container open`"
            ),
            None => format!(
                "SSCC {sscc} is not a container of this station: check the label, or scan the right one"
            ),
        })
    })
}

fn set_container_state(
    tx: &Transaction<'_>,
    row: &Row,
    to: ContainerState,
    labels: u64,
    what: &str,
) -> StoreResult<()> {
    tx.execute(
        "UPDATE containers SET state = ?1, labels = ?2, changed_at = ?3 WHERE sscc_id = ?4",
        params![to.as_str(), labels as i64, clock::now(), row.sscc_id],
    )
    .context(what)?;
    Ok(())
}

fn set_sscc_state(
    tx: &Transaction<'_>,
    sscc_id: i64,
    to: SerialState,
    what: &str,
) -> StoreResult<()> {
    tx.execute(
        "UPDATE ssccs SET state = ?1, state_changed_at = ?2 WHERE id = ?3",
        params![to.code(), clock::now_unix_ms(), sscc_id],
    )
    .context(what)?;
    Ok(())
}

/// The outbox row of one aggregation event for the client's site server.
fn outbox_row(
    tx: &Transaction<'_>,
    row: &Row,
    kind: &str,
    payload: serde_json::Value,
    what: &str,
) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO outbox (client_id, kind, batch_id, payload, state, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, 'pending', ?5, ?5)",
        params![
            row.client_id,
            kind,
            row.container.batch.0,
            payload.to_string(),
            clock::now()
        ],
    )
    .context(what)?;
    Ok(())
}

/// A child as it is named in an event: a pack's GTIN and serial, or an SSCC with its
/// company prefix length (EPC URIs need it).
fn child_refs(
    tx: &Transaction<'_>,
    parent_id: i64,
    condition: &str,
    what: &str,
) -> StoreResult<Vec<(i64, serde_json::Value)>> {
    let mut stmt = tx
        .prepare(&format!(
            "SELECT k.id, p.gtin, se.serial, pr.company_prefix_length, s.sscc, s.company_prefix_len
             FROM container_children k
             LEFT JOIN serials se ON se.id = k.serial_id
             LEFT JOIN pools p ON p.id = se.pool_id
             LEFT JOIN products pr ON pr.gtin = p.gtin
             LEFT JOIN ssccs s ON s.id = k.child_id
             WHERE k.parent_id = ?1 AND {condition} ORDER BY k.id"
        ))
        .context(what)?;
    let rows = stmt
        .query_map([parent_id], |r| {
            let id: i64 = r.get(0)?;
            let gtin: Option<String> = r.get(1)?;
            let value = match gtin {
                Some(gtin) => json!({
                    "gtin": gtin,
                    "serial": r.get::<_, String>(2)?,
                    "company_prefix_length": r.get::<_, i64>(3)?,
                }),
                None => json!({
                    "sscc": r.get::<_, String>(4)?,
                    "company_prefix_length": r.get::<_, i64>(5)?,
                }),
            };
            Ok((id, value))
        })
        .context(what)?;
    rows.collect::<Result<Vec<_>, _>>().context(what)
}

/// A container of `level` may hold `child_level`s, `capacity` of them.
fn check_levels(level: Level, child_level: Level, capacity: u64) -> StoreResult<()> {
    if !level.is_container() {
        return Err(StoreError::Invalid(
            "a pack is not a container: open a bundle, case or pallet".to_string(),
        ));
    }
    if child_level >= level {
        return Err(StoreError::Invalid(format!(
            "a {level} cannot hold {child_level}s: a container holds a lower level"
        )));
    }
    if capacity == 0 || capacity > 100_000 {
        return Err(StoreError::Invalid(format!(
            "capacity {capacity}: a {level} holds 1 to 100,000 {child_level}s"
        )));
    }
    Ok(())
}

/// Opens a container in `tx` with the client's oldest available SSCC.
fn open_in(
    tx: &Transaction<'_>,
    batch: BatchId,
    level: Level,
    child_level: Level,
    capacity: u64,
    actor: &Actor,
    what: &str,
) -> StoreResult<Sscc> {
    let record = read_batch(tx, batch)?.ok_or_else(|| {
        StoreError::NotFound(format!(
            "batch {} is not in this store: `batch list` shows the batches",
            batch.0
        ))
    })?;
    let client_id: String = tx
        .query_row(
            "SELECT client_id FROM products WHERE gtin = ?1",
            [&record.gtin],
            |r| r.get(0),
        )
        .context(what)?;
    let next: Option<(i64, String)> = tx
        .query_row(
            "SELECT id, sscc FROM ssccs WHERE client_id = ?1 AND state = 1 ORDER BY id LIMIT 1",
            [&client_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .context(what)?;
    let (sscc_id, sscc) = next.ok_or_else(|| {
        StoreError::Invalid(format!(
            "client {client_id} has no SSCC left: generate or import SSCCs first (`sscc generate`)"
        ))
    })?;
    tx.execute(
        "UPDATE ssccs SET state = 2, batch_id = ?1, state_changed_at = ?2 WHERE id = ?3",
        params![batch.0, clock::now_unix_ms(), sscc_id],
    )
    .context(what)?;
    let now = clock::now();
    tx.execute(
        "INSERT INTO containers (sscc_id, batch_id, level, child_level, capacity, state, labels, opened_at, changed_at)
         VALUES (?1, ?2, ?3, ?4, ?5, 'open', 0, ?6, ?6)",
        params![sscc_id, batch.0, level.as_str(), child_level.as_str(), capacity as i64, now],
    )
    .context(what)?;
    audit::append(
        tx,
        actor,
        AuditRecord {
            action: "container.open",
            subject: format!("SSCC {sscc}"),
            before: None,
            after: Some(json!({
                "batch": batch.0, "level": level.as_str(), "holds": child_level.as_str(),
                "capacity": capacity,
            })),
        },
    )?;
    let sscc = Sscc::parse(&sscc)
        .map_err(|e| StoreError::Corrupt(format!("SSCC {sscc}: {}", e.message)))?;
    Ok(sscc)
}

/// Closes container `sscc` in `tx` (see [`Store::close_container`]).
fn close_in(
    tx: &Transaction<'_>,
    sscc: &Sscc,
    partial: bool,
    actor: &Actor,
    what: &str,
) -> StoreResult<()> {
    let row = require_container(tx, sscc)?;
    let c = &row.container;
    if c.state != ContainerState::Open {
        return Err(StoreError::Invalid(format!(
            "{} {sscc} is {}, not open: only an open container closes",
            c.level, c.state
        )));
    }
    if c.count == 0 {
        return Err(StoreError::Invalid(format!(
            "{} {sscc} is empty: pack its {}s first, or rework it to release its SSCC",
            c.level, c.child_level
        )));
    }
    if c.count < c.capacity && !partial {
        return Err(StoreError::Invalid(format!(
            "{} {sscc} holds {} of {} {}s: close it as a partial {} (--partial) or pack the rest",
            c.level, c.count, c.capacity, c.child_level, c.level
        )));
    }
    set_container_state(tx, &row, ContainerState::Closed, c.labels, what)?;
    audit::append(
        tx,
        actor,
        AuditRecord {
            action: "container.close",
            subject: format!("SSCC {sscc}"),
            before: Some(json!({"state": c.state.as_str()})),
            after: Some(json!({
                "state": "closed", "count": c.count, "capacity": c.capacity,
                "partial": c.count < c.capacity,
            })),
        },
    )?;
    Ok(())
}

/// What `pack` looked up for one scanned child.
enum ChildKey {
    Pack(i64),
    Container(i64),
}

impl Store {
    /// Opens a container of `level` holding `child_level` for `batch`, with the
    /// client's oldest available SSCC.
    pub fn open_container(
        &mut self,
        batch: BatchId,
        level: Level,
        child_level: Level,
        capacity: u64,
        actor: &Actor,
    ) -> StoreResult<Container> {
        check_levels(level, child_level, capacity)?;
        let what = format!("opening a {level} for batch {}", batch.0);
        let tx = self.write_tx(&what)?;
        let sscc = open_in(&tx, batch, level, child_level, capacity, actor, &what)?;
        let row = require_container(&tx, &sscc)?;
        tx.commit().context(&what)?;
        Ok(row.container)
    }

    /// Builds a whole container in one transaction: opened with the client's
    /// oldest available SSCC, `children` packed, closed (`partial` when below
    /// capacity). A crash leaves either nothing or the closed container: no
    /// empty container holds an SSCC. The case station uses it at case close.
    #[allow(clippy::too_many_arguments)]
    pub fn build_container(
        &mut self,
        batch: BatchId,
        level: Level,
        child_level: Level,
        capacity: u64,
        children: &[Scanned],
        partial: bool,
        actor: &Actor,
    ) -> StoreResult<Container> {
        check_levels(level, child_level, capacity)?;
        let what = format!("building a {level} for batch {}", batch.0);
        let tx = self.write_tx(&what)?;
        let sscc = open_in(&tx, batch, level, child_level, capacity, actor, &what)?;
        pack_in(&tx, &sscc, children, actor, &what)?;
        close_in(&tx, &sscc, partial, actor, &what)?;
        let row = require_container(&tx, &sscc)?;
        tx.commit().context(&what)?;
        Ok(row.container)
    }

    /// Puts `children` into the container `parent`, all or none. Each child must be
    /// of the level the container holds, of its batch's GTIN and lot, commissioned
    /// (a pack) or verified (a container), and in no other container. A container
    /// that was closed or labelled opens again: its label no longer tells the truth.
    pub fn pack(
        &mut self,
        parent: &Sscc,
        children: &[Scanned],
        actor: &Actor,
    ) -> StoreResult<Container> {
        let what = format!("packing into container {parent}");
        let tx = self.write_tx(&what)?;
        pack_in(&tx, parent, children, actor, &what)?;
        let row = require_container(&tx, parent)?;
        tx.commit().context(&what)?;
        Ok(row.container)
    }

    /// Replaces `old` by `new` in `parent` in one transaction (a damaged pack swapped
    /// for a good one): both checks pass or nothing changes.
    pub fn replace_child(
        &mut self,
        parent: &Sscc,
        old: &Scanned,
        new: &Scanned,
        actor: &Actor,
    ) -> StoreResult<Container> {
        let what = format!("replacing {old} by {new} in container {parent}");
        let tx = self.write_tx(&what)?;
        unpack_in(&tx, parent, std::slice::from_ref(old), actor, &what)?;
        pack_in(&tx, parent, std::slice::from_ref(new), actor, &what)?;
        let row = require_container(&tx, parent)?;
        tx.commit().context(&what)?;
        Ok(row.container)
    }

    /// Takes `children` out of `parent`, all or none. Children the site server
    /// already knows to be in it get an unpacking event. The container opens again.
    pub fn unpack(
        &mut self,
        parent: &Sscc,
        children: &[Scanned],
        actor: &Actor,
    ) -> StoreResult<Container> {
        let what = format!("unpacking from container {parent}");
        let tx = self.write_tx(&what)?;
        unpack_in(&tx, parent, children, actor, &what)?;
        let row = require_container(&tx, parent)?;
        tx.commit().context(&what)?;
        Ok(row.container)
    }

    /// Closes `sscc`: its contents are final until it is labelled. A container
    /// below capacity closes only when `partial` says so.
    pub fn close_container(
        &mut self,
        sscc: &Sscc,
        partial: bool,
        actor: &Actor,
    ) -> StoreResult<Container> {
        let what = format!("closing container {sscc}");
        let tx = self.write_tx(&what)?;
        close_in(&tx, sscc, partial, actor, &what)?;
        let row = require_container(&tx, sscc)?;
        tx.commit().context(&what)?;
        Ok(row.container)
    }

    /// Records that the label of closed container `sscc` was sent to the printer
    /// (with its count). Its SSCC is then printed: it can never return.
    pub fn container_label_printed(
        &mut self,
        sscc: &Sscc,
        printer: &str,
        actor: &Actor,
    ) -> StoreResult<Container> {
        let what = format!("recording the label of container {sscc}");
        let tx = self.write_tx(&what)?;
        let row = require_container(&tx, sscc)?;
        let c = &row.container;
        if !matches!(
            c.state,
            ContainerState::Closed | ContainerState::Labelled | ContainerState::Verified
        ) {
            return Err(StoreError::Invalid(format!(
                "{} {sscc} is {}: close it before its label is printed",
                c.level, c.state
            )));
        }
        if row.sscc_state == SerialState::Allocated {
            set_sscc_state(&tx, row.sscc_id, SerialState::Encoded, &what)?;
        }
        set_container_state(&tx, &row, ContainerState::Labelled, c.labels + 1, &what)?;
        audit::append(
            &tx,
            actor,
            AuditRecord {
                action: "container.label",
                subject: format!("SSCC {sscc}"),
                before: Some(json!({"state": c.state.as_str(), "labels": c.labels})),
                after: Some(json!({
                    "state": "labelled", "labels": c.labels + 1, "count": c.count, "printer": printer,
                })),
            },
        )?;
        let row = require_container(&tx, sscc)?;
        tx.commit().context(&what)?;
        Ok(row.container)
    }

    /// Checks the label read back from container `sscc`. When it is the container's
    /// own SSCC, the container is verified: its SSCC is commissioned (first time) and
    /// the children the site server does not yet know get an aggregation event,
    /// both as outbox rows in this transaction. When it reads another SSCC, nothing
    /// changes and the error names both.
    pub fn container_label_verified(
        &mut self,
        sscc: &Sscc,
        read_back: &str,
        actor: &Actor,
    ) -> StoreResult<Container> {
        let what = format!("verifying the label of container {sscc}");
        let tx = self.write_tx(&what)?;
        let row = require_container(&tx, sscc)?;
        let c = &row.container;
        if c.state != ContainerState::Labelled {
            return Err(StoreError::Invalid(format!(
                "{} {sscc} is {}: only a labelled container's label is verified{}",
                c.level,
                c.state,
                if c.state == ContainerState::Closed {
                    " (print its label first)"
                } else {
                    ""
                }
            )));
        }
        let read = match crate::aggregation::read_scan(read_back) {
            Ok(Scanned::Container(read)) => read,
            Ok(other) => {
                return Err(StoreError::Invalid(format!(
                    "the label of {sscc} reads back as {other}, not an SSCC: \
                     the label is wrong; reprint it"
                )));
            }
            Err(e) => {
                return Err(StoreError::Invalid(format!(
                    "the label of {sscc} cannot be read back ({e}): reprint it"
                )));
            }
        };
        if &read != sscc {
            return Err(StoreError::Invalid(format!(
                "the label of container {sscc} reads back SSCC {read}: it is another container's label; \
                 remove it and reprint"
            )));
        }
        let now = clock::now();
        if row.sscc_state != SerialState::Commissioned {
            set_sscc_state(&tx, row.sscc_id, SerialState::Commissioned, &what)?;
            outbox_row(
                &tx,
                &row,
                "sscc-commissioned",
                json!({
                    "event": "sscc-commissioned", "sscc": c.sscc,
                    "company_prefix_length": row.company_prefix_len,
                    "level": c.level.as_str(), "batch": c.batch.0, "at": now,
                }),
                &what,
            )?;
        }
        let new_children = child_refs(
            &tx,
            row.sscc_id,
            "k.removed_at IS NULL AND k.reported = 0",
            &what,
        )?;
        if !new_children.is_empty() {
            outbox_row(
                &tx,
                &row,
                "aggregation-add",
                json!({
                    "event": "aggregation-add",
                    "parent": {"sscc": c.sscc, "company_prefix_length": row.company_prefix_len},
                    "level": c.level.as_str(),
                    "children": new_children.iter().map(|(_, v)| v.clone()).collect::<Vec<_>>(),
                    "batch": c.batch.0, "at": now,
                }),
                &what,
            )?;
            tx.execute(
                "UPDATE container_children SET reported = 1
                 WHERE parent_id = ?1 AND removed_at IS NULL AND reported = 0",
                [row.sscc_id],
            )
            .context(&what)?;
        }
        set_container_state(&tx, &row, ContainerState::Verified, c.labels, &what)?;
        audit::append(
            &tx,
            actor,
            AuditRecord {
                action: "container.verify",
                subject: format!("SSCC {sscc}"),
                before: Some(json!({"state": c.state.as_str()})),
                after: Some(json!({
                    "state": "verified", "count": c.count, "reported_now": new_children.len(),
                })),
            },
        )?;
        let row = require_container(&tx, sscc)?;
        tx.commit().context(&what)?;
        Ok(row.container)
    }

    /// Sends container `sscc` to rework: its children are released (loose again,
    /// with an unpacking event for those the site server knew), and its SSCC is never
    /// used again (invalidated if it was not yet reported, decommissioned if it was).
    pub fn rework_container(
        &mut self,
        sscc: &Sscc,
        reason: &str,
        actor: &Actor,
    ) -> StoreResult<Container> {
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(StoreError::Invalid(
                "--reason is empty: say why the container goes to rework".to_string(),
            ));
        }
        let what = format!("reworking container {sscc}");
        let tx = self.write_tx(&what)?;
        let row = require_container(&tx, sscc)?;
        let c = &row.container;
        if c.state == ContainerState::Rework {
            return Err(StoreError::Invalid(format!(
                "{} {sscc} is already reworked",
                c.level
            )));
        }
        let in_parent: Option<String> = tx
            .query_row(
                "SELECT s.sscc FROM container_children k JOIN ssccs s ON s.id = k.parent_id
                 WHERE k.child_id = ?1 AND k.removed_at IS NULL",
                [row.sscc_id],
                |r| r.get(0),
            )
            .optional()
            .context(&what)?;
        if let Some(outer) = in_parent {
            return Err(StoreError::Invalid(format!(
                "{} {sscc} is on {outer}: unpack it from there first",
                c.level
            )));
        }
        let reported = child_refs(
            &tx,
            row.sscc_id,
            "k.removed_at IS NULL AND k.reported = 1",
            &what,
        )?;
        let now = clock::now();
        if !reported.is_empty() {
            outbox_row(
                &tx,
                &row,
                "aggregation-delete",
                json!({
                    "event": "aggregation-delete",
                    "parent": {"sscc": c.sscc, "company_prefix_length": row.company_prefix_len},
                    "children": reported.iter().map(|(_, v)| v.clone()).collect::<Vec<_>>(),
                    "batch": c.batch.0, "at": now,
                }),
                &what,
            )?;
        }
        tx.execute(
            "UPDATE container_children SET removed_at = ?1 WHERE parent_id = ?2 AND removed_at IS NULL",
            params![now, row.sscc_id],
        )
        .context(&what)?;
        let sscc_to = match row.sscc_state {
            SerialState::Allocated | SerialState::Encoded => Some(SerialState::SnInvalid),
            SerialState::Commissioned => Some(SerialState::Inactive),
            _ => None,
        };
        if let Some(to) = sscc_to {
            set_sscc_state(&tx, row.sscc_id, to, &what)?;
            if to == SerialState::Inactive {
                outbox_row(
                    &tx,
                    &row,
                    "sscc-decommissioned",
                    json!({
                        "event": "sscc-decommissioned", "sscc": c.sscc,
                        "company_prefix_length": row.company_prefix_len,
                        "reason": reason, "batch": c.batch.0, "at": now,
                    }),
                    &what,
                )?;
            }
        }
        set_container_state(&tx, &row, ContainerState::Rework, c.labels, &what)?;
        audit::append(
            &tx,
            actor,
            AuditRecord {
                action: "container.rework",
                subject: format!("SSCC {sscc}"),
                before: Some(json!({"state": c.state.as_str(), "count": c.count})),
                after: Some(json!({
                    "state": "rework", "released": c.count, "reason": reason,
                    "sscc_state": sscc_to.map(|s| s.name()),
                })),
            },
        )?;
        let row = require_container(&tx, sscc)?;
        tx.commit().context(&what)?;
        Ok(row.container)
    }

    /// Container `sscc` as the store holds it.
    pub fn container(&self, sscc: &Sscc) -> StoreResult<Container> {
        require_container(&self.conn, sscc).map(|row| row.container)
    }

    /// The container that holds `child` now, if any.
    pub fn container_holding(&self, child: &Scanned) -> StoreResult<Option<Container>> {
        let key = lookup_child(&self.conn, child)?;
        let (column, id) = match key {
            ChildKey::Pack(id) => ("serial_id", id),
            ChildKey::Container(id) => ("child_id", id),
        };
        let parent: Option<String> = self
            .conn
            .query_row(
                &format!(
                    "SELECT s.sscc FROM container_children k JOIN ssccs s ON s.id = k.parent_id
                     WHERE k.{column} = ?1 AND k.removed_at IS NULL"
                ),
                [id],
                |r| r.get(0),
            )
            .optional()
            .context("finding a child's container")?;
        match parent {
            Some(text) => {
                let sscc = Sscc::parse(&text)
                    .map_err(|e| StoreError::Corrupt(format!("SSCC {text}: {}", e.message)))?;
                self.container(&sscc).map(Some)
            }
            None => Ok(None),
        }
    }

    /// The tree under container `sscc`: its packs and its containers, to the bottom.
    pub fn container_tree(&self, sscc: &Sscc) -> StoreResult<ContainerTree> {
        let row = require_container(&self.conn, sscc)?;
        tree_of(&self.conn, row, 0)
    }

    /// A batch's containers, oldest first.
    pub fn batch_containers(&self, batch: BatchId) -> StoreResult<Vec<Container>> {
        let what = format!("reading the containers of batch {}", batch.0);
        let mut stmt = self
            .conn
            .prepare(&format!(
                "{CONTAINER_SELECT} WHERE c.batch_id = ?1 ORDER BY c.opened_at, c.sscc_id"
            ))
            .context(&what)?;
        let rows = stmt.query_map([batch.0], map_row).context(&what)?;
        let mut out = Vec::new();
        for raw in rows {
            out.push(finish_row(raw.context(&what)?)?.container);
        }
        Ok(out)
    }

    /// The serials of the packs the line released to the good exit, in the order
    /// they left the reject gate (by the PLC's item number): `count` of them from
    /// the `first` (0-based). The case packer counts packs into cases in this
    /// order, so this is what the tracking put into a case.
    pub fn good_exit_serials(
        &self,
        batch: BatchId,
        first: u64,
        count: u64,
    ) -> StoreResult<Vec<String>> {
        let what = format!("reading the good exits of batch {}", batch.0);
        self.good_exits(batch, GoodExitsFrom::Index(first), count)?
            .into_iter()
            .map(|(seq, serial)| {
                serial.ok_or_else(|| {
                    StoreError::Corrupt(format!("{what}: good exit {seq} has no serial"))
                })
            })
            .collect()
    }

    /// Good exits as `(item number, serial)`, in item order, `count` of them
    /// from `from`; the serial is `None` for an item that left through the good
    /// exit with no serial known (an escape the camera never read). Starting
    /// after a known item number reads only what it returns; starting at an
    /// index skips the ones before it.
    pub fn good_exits(
        &self,
        batch: BatchId,
        from: GoodExitsFrom,
        count: u64,
    ) -> StoreResult<Vec<(i64, Option<String>)>> {
        let what = format!("reading the good exits of batch {}", batch.0);
        const SELECT: &str = "SELECT i.seq, COALESCE(s.serial, i.serial_text) FROM items i
             LEFT JOIN serials s ON s.id = i.serial_id
             WHERE i.batch_id = ?1 AND i.fate = 'exited_good'";
        let (sql, start) = match from {
            GoodExitsFrom::Index(first) => (
                format!("{SELECT} ORDER BY i.seq LIMIT ?3 OFFSET ?2"),
                first as i64,
            ),
            GoodExitsFrom::AfterItem(seq) => (
                format!("{SELECT} AND i.seq > ?2 ORDER BY i.seq LIMIT ?3"),
                seq,
            ),
        };
        let mut stmt = self.conn.prepare_cached(&sql).context(&what)?;
        let rows = stmt
            .query_map(params![batch.0, start, count as i64], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, Option<String>>(1)?))
            })
            .context(&what)?;
        rows.map(|row| row.context(&what)).collect()
    }

    /// A batch's commissioned packs that are in no container, oldest first.
    pub fn loose_commissioned_serials(&self, batch: BatchId) -> StoreResult<Vec<String>> {
        let what = format!("reading the loose packs of batch {}", batch.0);
        let mut stmt = self
            .conn
            .prepare(
                "SELECT s.serial FROM serials s
                 WHERE s.batch_id = ?1 AND s.state = 7
                   AND NOT EXISTS (SELECT 1 FROM container_children k
                                   WHERE k.serial_id = s.id AND k.removed_at IS NULL)
                 ORDER BY s.id",
            )
            .context(&what)?;
        let rows = stmt.query_map([batch.0], |r| r.get(0)).context(&what)?;
        rows.collect::<Result<_, _>>().context(&what)
    }

    /// A batch's verified containers of `level` that are on nothing yet, oldest first.
    pub fn loose_verified_containers(
        &self,
        batch: BatchId,
        level: Level,
    ) -> StoreResult<Vec<String>> {
        let what = format!("reading the loose {level}s of batch {}", batch.0);
        let mut stmt = self
            .conn
            .prepare(
                "SELECT s.sscc FROM containers c JOIN ssccs s ON s.id = c.sscc_id
                 WHERE c.batch_id = ?1 AND c.level = ?2 AND c.state = 'verified'
                   AND NOT EXISTS (SELECT 1 FROM container_children k
                                   WHERE k.child_id = c.sscc_id AND k.removed_at IS NULL)
                 ORDER BY c.sscc_id",
            )
            .context(&what)?;
        let rows = stmt
            .query_map(params![batch.0, level.as_str()], |r| r.get(0))
            .context(&what)?;
        rows.collect::<Result<_, _>>().context(&what)
    }

    /// A batch's aggregation reconciliation at every level (invariant 8).
    pub fn aggregation_reconciliation(
        &self,
        batch: BatchId,
    ) -> StoreResult<AggregationReconciliation> {
        let what = format!("reconciling the aggregation of batch {}", batch.0);
        let conn = &self.conn;
        let count = |sql: &str| -> StoreResult<u64> {
            conn.query_row(sql, [batch.0], |r| r.get::<_, i64>(0))
                .context(&what)
                .map(|n| n.max(0) as u64)
        };
        let commissioned_packs =
            count("SELECT count(*) FROM serials WHERE batch_id = ?1 AND state = 7")?;
        let packs_aggregated = count(
            "SELECT count(*) FROM container_children k JOIN serials s ON s.id = k.serial_id
             WHERE s.batch_id = ?1 AND k.removed_at IS NULL",
        )?;
        let mut levels = Vec::new();
        for level in Level::CONTAINERS {
            let by_state = |state: &str| -> StoreResult<u64> {
                conn.query_row(
                    "SELECT count(*) FROM containers WHERE batch_id = ?1 AND level = ?2 AND state = ?3",
                    params![batch.0, level.as_str(), state],
                    |r| r.get::<_, i64>(0),
                )
                .context(&what)
                .map(|n| n.max(0) as u64)
            };
            let entry = LevelReconciliation {
                level: level.as_str().to_string(),
                open: by_state("open")?,
                closed: by_state("closed")?,
                labelled: by_state("labelled")?,
                verified: by_state("verified")?,
                rework: by_state("rework")?,
                children_in_verified: conn
                    .query_row(
                        "SELECT count(*) FROM container_children k JOIN containers c ON c.sscc_id = k.parent_id
                         WHERE c.batch_id = ?1 AND c.level = ?2 AND c.state = 'verified' AND k.removed_at IS NULL",
                        params![batch.0, level.as_str()],
                        |r| r.get::<_, i64>(0),
                    )
                    .context(&what)?
                    .max(0) as u64,
            };
            if entry.open + entry.closed + entry.labelled + entry.verified + entry.rework > 0 {
                levels.push(entry);
            }
        }
        let sscc_count = |states: &str| -> StoreResult<u64> {
            count(&format!(
                "SELECT count(*) FROM ssccs WHERE batch_id = ?1 AND state IN ({states})"
            ))
        };
        let ssccs_allocated = count("SELECT count(*) FROM ssccs WHERE batch_id = ?1")?;
        Ok(AggregationReconciliation {
            batch,
            commissioned_packs,
            packs_aggregated,
            packs_loose: commissioned_packs.saturating_sub(packs_aggregated),
            levels,
            ssccs_allocated,
            ssccs_used: sscc_count("7, 8, 9, 10, 11")?,
            ssccs_invalidated: sscc_count("3")?,
            ssccs_in_progress: sscc_count("2, 4")?,
        })
    }
}

/// The checks and writes of [`Store::pack`], inside the caller's transaction.
fn pack_in(
    tx: &Transaction<'_>,
    parent: &Sscc,
    children: &[Scanned],
    actor: &Actor,
    what: &str,
) -> StoreResult<()> {
    let row = require_container(tx, parent)?;
    let c = &row.container;
    if c.state == ContainerState::Rework {
        return Err(StoreError::Invalid(format!(
            "container {parent} was reworked and is final: open a new {}",
            c.level
        )));
    }
    if c.count + children.len() as u64 > c.capacity {
        return Err(StoreError::Invalid(format!(
            "{} {parent} holds {} of {}: {} more do not fit",
            c.level,
            c.count,
            c.capacity,
            children.len()
        )));
    }
    let mut keys = Vec::with_capacity(children.len());
    for (i, child) in children.iter().enumerate() {
        if children[..i].contains(child) {
            return Err(StoreError::Invalid(format!(
                "{child} was scanned twice: nothing was packed; scan each child once"
            )));
        }
        keys.push(check_child(tx, &row, child)?);
    }
    let now = clock::now();
    for key in &keys {
        let (serial_id, child_id) = match key {
            ChildKey::Pack(id) => (Some(*id), None),
            ChildKey::Container(id) => (None, Some(*id)),
        };
        tx.execute(
            "INSERT INTO container_children (parent_id, serial_id, child_id, added_at) VALUES (?1, ?2, ?3, ?4)",
            params![row.sscc_id, serial_id, child_id, now],
        )
        .context(what)?;
    }
    if c.state != ContainerState::Open {
        set_container_state(tx, &row, ContainerState::Open, c.labels, what)?;
    }
    audit::append(
        tx,
        actor,
        AuditRecord {
            action: "container.pack",
            subject: format!("SSCC {parent}"),
            before: Some(json!({"state": c.state.as_str(), "count": c.count})),
            after: Some(json!({
                "state": "open",
                "count": c.count + children.len() as u64,
                "added": children.iter().map(|c| c.to_string()).collect::<Vec<_>>(),
            })),
        },
    )?;
    Ok(())
}

/// The checks and writes of [`Store::unpack`], inside the caller's transaction.
fn unpack_in(
    tx: &Transaction<'_>,
    parent: &Sscc,
    children: &[Scanned],
    actor: &Actor,
    what: &str,
) -> StoreResult<()> {
    let row = require_container(tx, parent)?;
    let c = &row.container;
    if c.state == ContainerState::Rework {
        return Err(StoreError::Invalid(format!(
            "container {parent} was reworked: it holds nothing any more"
        )));
    }
    let mut child_rows = Vec::with_capacity(children.len());
    for (i, child) in children.iter().enumerate() {
        if children[..i].contains(child) {
            return Err(StoreError::Invalid(format!(
                "{child} was scanned twice: nothing was unpacked; scan each child once"
            )));
        }
        let key = lookup_child(tx, child)?;
        let (column, id) = match key {
            ChildKey::Pack(id) => ("serial_id", id),
            ChildKey::Container(id) => ("child_id", id),
        };
        let found: Option<i64> = tx
            .query_row(
                &format!(
                    "SELECT id FROM container_children WHERE parent_id = ?1 AND {column} = ?2 AND removed_at IS NULL"
                ),
                params![row.sscc_id, id],
                |r| r.get(0),
            )
            .optional()
            .context(what)?;
        child_rows.push(found.ok_or_else(|| {
            StoreError::Invalid(format!(
                "{child} is not in {} {parent}: nothing was unpacked; `container tree {parent}` shows what is",
                c.level
            ))
        })?);
    }
    let list = child_rows
        .iter()
        .map(|id| id.to_string())
        .collect::<Vec<_>>()
        .join(",");
    let reported = child_refs(
        tx,
        row.sscc_id,
        &format!("k.id IN ({list}) AND k.reported = 1"),
        what,
    )?;
    if !reported.is_empty() {
        let sscc_uri_len = row.company_prefix_len;
        outbox_row(
            tx,
            &row,
            "aggregation-delete",
            json!({
                "event": "aggregation-delete",
                "parent": {"sscc": c.sscc, "company_prefix_length": sscc_uri_len},
                "children": reported.iter().map(|(_, v)| v.clone()).collect::<Vec<_>>(),
                "batch": c.batch.0, "at": clock::now(),
            }),
            what,
        )?;
    }
    tx.execute(
        &format!("UPDATE container_children SET removed_at = ?1 WHERE id IN ({list})"),
        [clock::now()],
    )
    .context(what)?;
    if c.state != ContainerState::Open {
        set_container_state(tx, &row, ContainerState::Open, c.labels, what)?;
    }
    audit::append(
        tx,
        actor,
        AuditRecord {
            action: "container.unpack",
            subject: format!("SSCC {parent}"),
            before: Some(json!({"state": c.state.as_str(), "count": c.count})),
            after: Some(json!({
                "state": "open",
                "count": c.count - children.len() as u64,
                "removed": children.iter().map(|c| c.to_string()).collect::<Vec<_>>(),
            })),
        },
    )?;
    Ok(())
}

/// How deep containers may nest (pallet → case → bundle → pack is three).
const MAX_DEPTH: usize = 8;

fn tree_of(conn: &Connection, row: Row, depth: usize) -> StoreResult<ContainerTree> {
    let what = format!("reading the contents of container {}", row.container.sscc);
    if depth > MAX_DEPTH {
        return Err(StoreError::Corrupt(format!(
            "containers nest deeper than {MAX_DEPTH} levels under {}",
            row.container.sscc
        )));
    }
    let mut packs = Vec::new();
    let mut inner = Vec::new();
    {
        let mut stmt = conn
            .prepare(
                "SELECT se.serial, s.sscc FROM container_children k
                 LEFT JOIN serials se ON se.id = k.serial_id
                 LEFT JOIN ssccs s ON s.id = k.child_id
                 WHERE k.parent_id = ?1 AND k.removed_at IS NULL ORDER BY k.id",
            )
            .context(&what)?;
        let rows = stmt
            .query_map([row.sscc_id], |r| {
                Ok((
                    r.get::<_, Option<String>>(0)?,
                    r.get::<_, Option<String>>(1)?,
                ))
            })
            .context(&what)?;
        for entry in rows {
            match entry.context(&what)? {
                (Some(serial), _) => packs.push(serial),
                (None, Some(sscc)) => inner.push(sscc),
                (None, None) => {
                    return Err(StoreError::Corrupt(format!(
                        "a child of {} names neither a pack nor a container",
                        row.container.sscc
                    )));
                }
            }
        }
    }
    let mut containers = Vec::with_capacity(inner.len());
    for text in inner {
        let sscc = Sscc::parse(&text)
            .map_err(|e| StoreError::Corrupt(format!("SSCC {text}: {}", e.message)))?;
        let child = require_container(conn, &sscc)?;
        containers.push(tree_of(conn, child, depth + 1)?);
    }
    Ok(ContainerTree {
        container: row.container,
        packs,
        containers,
    })
}

/// Finds a scanned child in the store, without judging it.
fn lookup_child(conn: &Connection, child: &Scanned) -> StoreResult<ChildKey> {
    match child {
        Scanned::Pack { gtin, serial } => {
            let id: Option<i64> = conn
                .query_row(
                    "SELECT s.id FROM serials s JOIN pools p ON p.id = s.pool_id
                     WHERE p.gtin = ?1 AND s.serial = ?2",
                    params![gtin.as_str(), serial],
                    |r| r.get(0),
                )
                .optional()
                .context("finding a scanned pack")?;
            id.map(ChildKey::Pack).ok_or_else(|| {
                StoreError::NotFound(format!(
                    "{child} is not a serial of this station: it was not printed here; set it aside"
                ))
            })
        }
        Scanned::Container(sscc) => {
            let id: Option<i64> = conn
                .query_row(
                    "SELECT c.sscc_id FROM containers c JOIN ssccs s ON s.id = c.sscc_id WHERE s.sscc = ?1",
                    [sscc.as_str()],
                    |r| r.get(0),
                )
                .optional()
                .context("finding a scanned container")?;
            id.map(ChildKey::Container).ok_or_else(|| {
                StoreError::NotFound(format!(
                    "{child} is not a container of this station: check its label"
                ))
            })
        }
    }
}

/// Judges one scanned child for `parent`; the error names the child and the rule.
fn check_child(tx: &Transaction<'_>, parent: &Row, child: &Scanned) -> StoreResult<ChildKey> {
    let p = &parent.container;
    let key = lookup_child(tx, child)?;
    match (&key, child) {
        (ChildKey::Pack(id), Scanned::Pack { gtin, .. }) => {
            if p.child_level != Level::Pack {
                return Err(StoreError::Invalid(format!(
                    "{child}: {} {} holds {}s, not packs",
                    p.level, p.sscc, p.child_level
                )));
            }
            type PackRow = (i64, Option<String>, Option<String>);
            let (state, lot, holder): PackRow = tx
                .query_row(
                    "SELECT s.state, b.lot,
                            (SELECT ps.sscc FROM container_children k JOIN ssccs ps ON ps.id = k.parent_id
                             WHERE k.serial_id = s.id AND k.removed_at IS NULL)
                     FROM serials s LEFT JOIN batches b ON b.id = s.batch_id WHERE s.id = ?1",
                    [id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .context("checking a scanned pack")?;
            if gtin.as_str() != p.gtin {
                return Err(StoreError::Invalid(format!(
                    "{child} is GTIN {gtin}, but {} {} holds GTIN {}: set it aside",
                    p.level, p.sscc, p.gtin
                )));
            }
            if state != i64::from(SerialState::Commissioned.code()) {
                let name = SerialState::from_code(state)
                    .map(|s| s.name().to_string())
                    .unwrap_or_else(|| format!("state {state}"));
                return Err(StoreError::Invalid(format!(
                    "{child} is {name}, not commissioned: only a commissioned pack may be packed; set it aside"
                )));
            }
            if lot.as_deref() != Some(p.lot.as_str()) {
                return Err(StoreError::Invalid(format!(
                    "{child} is of lot {}, but {} {} holds lot {}: set it aside",
                    lot.unwrap_or_default(),
                    p.level,
                    p.sscc,
                    p.lot
                )));
            }
            if let Some(holder) = holder {
                return Err(StoreError::Invalid(if holder == p.sscc {
                    format!("{child} is already in {} {}", p.level, p.sscc)
                } else {
                    format!("{child} is already in container {holder}: unpack it from there first")
                }));
            }
        }
        (ChildKey::Container(id), Scanned::Container(sscc)) => {
            let inner = require_container(tx, sscc)?;
            let c = &inner.container;
            if *id == parent.sscc_id {
                return Err(StoreError::Invalid(format!(
                    "{child} is the container itself: scan its children"
                )));
            }
            if c.level != p.child_level {
                return Err(StoreError::Invalid(format!(
                    "{child} is a {}, but {} {} holds {}s",
                    c.level, p.level, p.sscc, p.child_level
                )));
            }
            if c.gtin != p.gtin || c.lot != p.lot {
                return Err(StoreError::Invalid(format!(
                    "{child} holds GTIN {} lot {}, but {} {} holds GTIN {} lot {}: set it aside",
                    c.gtin, c.lot, p.level, p.sscc, p.gtin, p.lot
                )));
            }
            if c.state != ContainerState::Verified {
                return Err(StoreError::Invalid(format!(
                    "{child} is {}: only a {} whose label was verified may be packed",
                    c.state, c.level
                )));
            }
            let holder: Option<String> = tx
                .query_row(
                    "SELECT s.sscc FROM container_children k JOIN ssccs s ON s.id = k.parent_id
                     WHERE k.child_id = ?1 AND k.removed_at IS NULL",
                    [id],
                    |r| r.get(0),
                )
                .optional()
                .context("checking a scanned container")?;
            if let Some(holder) = holder {
                return Err(StoreError::Invalid(if holder == p.sscc {
                    format!("{child} is already in {} {}", p.level, p.sscc)
                } else {
                    format!("{child} is already in container {holder}: unpack it from there first")
                }));
            }
        }
        _ => {
            return Err(StoreError::Corrupt(
                "a scanned child changed kind while being looked up".to_string(),
            ));
        }
    }
    Ok(key)
}
