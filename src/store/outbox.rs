//! The outbox: work for the uploader (EPCIS documents to send to a client's site
//! server), with attempts, the last error, the site server's capture ID while a
//! capture is in flight, and parking. The line engine writes outbox rows in the same
//! transaction as the state change; the sender (`crate::upload::sender`) reads them
//! oldest first per client.
//!
//! States: `pending` (to send; "in flight" when a capture ID is recorded), `sent`,
//! and `failed` (parked: the site server refused it; the operator retries it). A
//! parked entry holds back the later entries of its client, so that the site server
//! always receives a client's events in order.
//!
//! Three sorts of rows: per-serial rows (kinds [`SERIAL_ROW_KINDS`], one per
//! commissioned, scrapped or invalidated serial, written by the line, or one per pack
//! an operator decommissioned or destroyed later), container rows (kinds
//! [`AGGREGATION_ROW_KINDS`], one per container event, written by
//! `store::containers`) and EPCIS document chunks (written by the chunker from the
//! other two, sent by the sender). [`Store::chunk_serial_rows`] and
//! [`Store::chunk_aggregation_rows`] replace rows by chunks in one transaction each:
//! the chunks are inserted and the rows they hold marked `sent`.
//!
//! Causal order across the two sorts: a container row is chunked only when no
//! per-serial row of its client with a smaller id is still waiting (the packs it names
//! were commissioned before), and a decommissioned or destroyed pack's row only when
//! no container row with a smaller id is still waiting (it was unpacked before). The
//! sender sends a client's chunks in id order, so the site server learns events in
//! the order they happened.

use rusqlite::params;

use crate::store::batches::{BatchId, BatchState};
use crate::store::error::{SqlContext, StoreError, StoreResult};
use crate::store::{Store, clock};

/// Row id of an outbox entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct OutboxId(pub i64);

/// One piece of work for the uploader.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OutboxEntry {
    pub id: OutboxId,
    pub client_id: String,
    pub kind: String,
    pub batch: Option<BatchId>,
    pub payload: String,
    pub state: String,
    pub attempts: u32,
    pub last_error: Option<String>,
    /// The site server's capture ID of the last capture of this entry (EPCIS 2.0).
    pub capture_id: Option<String>,
    pub created_at: String,
}

/// Migration 3: the capture ID of an in-flight EPCIS 2.0 capture.
pub(crate) const V3_SQL: &str = "ALTER TABLE outbox ADD COLUMN capture_id TEXT;
CREATE INDEX outbox_by_client ON outbox (client_id, id) WHERE state != 'sent';";

/// Migration 3 seeds nothing.
pub(crate) fn seed_nothing_v3(_: &rusqlite::Transaction<'_>) -> rusqlite::Result<()> {
    Ok(())
}

/// Migration 4: per client, kind and batch, the rows not yet sent in id order, with
/// their state, so that the chunker finds and counts its per-serial rows from the
/// index alone.
///
/// It replaces the two earlier partial indexes: every query of the outbox names a
/// client (and a kind), and each index costs the line a write per row twice (when
/// the row is written and when it is sent).
pub(crate) const V4_SQL: &str = "DROP INDEX outbox_pending;
DROP INDEX outbox_by_client;
CREATE INDEX outbox_by_client_kind ON outbox (client_id, kind, batch_id, id, state) WHERE state != 'sent';";

/// The kinds of per-serial outbox rows the line writes. They are only ever
/// `pending` or `sent` (never parked), so "not sent" is all their queries ask,
/// which the partial index answers alone.
pub const SERIAL_ROW_KINDS: [&str; 5] = [
    "commissioned",
    "scrapped",
    "invalidated",
    "decommissioned",
    "destroyed",
];

/// The kinds of container rows (written by `store::containers`), one EPCIS event each:
/// an SSCC commissioned or decommissioned, children packed into or taken out of a
/// container.
pub const AGGREGATION_ROW_KINDS: [&str; 4] = [
    "sscc-commissioned",
    "aggregation-add",
    "aggregation-delete",
    "sscc-decommissioned",
];

/// [`AGGREGATION_ROW_KINDS`] as an SQL list.
const AGGREGATION_KINDS_SQL: &str =
    "'sscc-commissioned', 'aggregation-add', 'aggregation-delete', 'sscc-decommissioned'";

/// Per-serial kinds that may follow a container row about the same pack (a pack is
/// unpacked before it is decommissioned or destroyed): they wait for the container
/// rows before them.
const KINDS_AFTER_AGGREGATION: [&str; 2] = ["decommissioned", "destroyed"];

/// Turns a client's container rows into the chunks that carry them (every row
/// given must land in a chunk).
pub type ContainerChunker<'a> =
    dyn FnMut(&[AggregationRow]) -> Result<Vec<QueuedChunk>, String> + 'a;

/// One pending container row, for the chunker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AggregationRow {
    pub id: OutboxId,
    /// One of [`AGGREGATION_ROW_KINDS`].
    pub kind: String,
    pub batch: Option<BatchId>,
    /// The JSON payload `store::containers` wrote.
    pub payload: String,
}

/// A chunk to queue, made from container rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedChunk {
    pub batch: Option<BatchId>,
    pub payload: String,
}

/// One client's pending per-serial rows of one batch and kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SerialRowGroup {
    pub batch: BatchId,
    /// One of [`SERIAL_ROW_KINDS`].
    pub kind: String,
    pub rows: u64,
    pub first_id: OutboxId,
    /// `created_at` of the oldest and newest row.
    pub oldest_created_at: String,
    pub newest_created_at: String,
    pub gtin: String,
    pub lot: String,
    /// YYMMDD, as printed.
    pub expiry: String,
    pub batch_state: BatchState,
    pub company_prefix_length: u8,
}

/// How many of one group's oldest rows to turn into chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupTake {
    /// Index into the groups given to [`SerialChunker::plan`].
    pub group: usize,
    pub rows: u64,
}

/// Turns per-serial rows into chunk payloads, for [`Store::chunk_serial_rows`].
pub trait SerialChunker {
    /// Which groups (given oldest first row first) to chunk now, and how many rows
    /// of each, in the order their chunks are to be queued.
    fn plan(&mut self, groups: &[SerialRowGroup]) -> Vec<GroupTake>;

    /// Turns the serials of `group`, oldest first, into chunk payloads, calling
    /// `emit` with each in order. Every serial taken from `serials` must be in an
    /// emitted chunk when this returns `Ok`.
    fn build(
        &mut self,
        group: &SerialRowGroup,
        serials: &mut dyn Iterator<Item = String>,
        emit: &mut dyn FnMut(String) -> StoreResult<()>,
    ) -> Result<(), String>;
}

/// What one call of [`Store::chunk_serial_rows`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChunkingOutcome {
    /// Chunks queued.
    pub chunks: u64,
    /// Per-serial rows consumed.
    pub rows: u64,
}

/// Per-serial rows still waiting to be chunked, per client (for `upload status`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct WaitingSerials {
    pub client_id: String,
    pub rows: u64,
    pub oldest_created_at: Option<String>,
}

/// Reads the pending per-serial rows of a batch group in id order, remembering the
/// last id read and the first read error.
struct SerialRows<'s> {
    rows: rusqlite::Rows<'s>,
    last_id: Option<i64>,
    count: u64,
    error: Option<StoreError>,
}

impl Iterator for SerialRows<'_> {
    type Item = String;

    fn next(&mut self) -> Option<String> {
        if self.error.is_some() {
            return None;
        }
        let row = match self.rows.next() {
            Ok(Some(row)) => row,
            Ok(None) => return None,
            Err(e) => {
                self.error = Some(StoreError::Sqlite {
                    context: "reading per-serial outbox rows".to_string(),
                    source: e,
                });
                return None;
            }
        };
        let read = (|| {
            let id = row.get::<_, i64>(0)?;
            let payload = row.get_ref(1)?.as_str()?;
            Ok::<_, rusqlite::Error>((id, serial_of_payload(payload)))
        })();
        match read {
            Ok((id, Some(serial))) => {
                self.last_id = Some(id);
                self.count += 1;
                Some(serial)
            }
            Ok((id, None)) => {
                self.error = Some(StoreError::Corrupt(format!(
                    "outbox row {id} names no serial in its payload"
                )));
                None
            }
            Err(e) => {
                self.error = Some(StoreError::Sqlite {
                    context: "reading per-serial outbox rows".to_string(),
                    source: e,
                });
                None
            }
        }
    }
}

/// The `serial` of a per-serial row's JSON payload.
fn serial_of_payload(payload: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Serial<'a> {
        #[serde(borrow)]
        serial: std::borrow::Cow<'a, str>,
    }
    serde_json::from_str::<Serial<'_>>(payload)
        .ok()
        .map(|s| s.serial.into_owned())
}

/// The id of `client_id`'s oldest container row not chunked yet, or `i64::MAX`.
fn first_waiting_aggregation_row(tx: &rusqlite::Connection, client_id: &str) -> StoreResult<i64> {
    let first: Option<i64> = tx
        .query_row(
            &format!(
                "SELECT min(id) FROM outbox
                 WHERE client_id = ?1 AND kind IN ({AGGREGATION_KINDS_SQL}) AND state != 'sent'"
            ),
            [client_id],
            |r| r.get(0),
        )
        .context("finding the oldest waiting container row")?;
    Ok(first.unwrap_or(i64::MAX))
}

/// The first id of a per-serial row of `kind` that must wait behind the container row
/// `aggregation_bound` (`i64::MAX`: no row waits).
fn serial_bound(kind: &str, aggregation_bound: i64) -> i64 {
    if KINDS_AFTER_AGGREGATION.contains(&kind) {
        aggregation_bound
    } else {
        i64::MAX
    }
}

/// The groups of `client_id`'s per-serial rows not chunked yet; decommissioned and
/// destroyed rows only below `aggregation_bound` (see [`serial_bound`]).
fn read_serial_groups(
    tx: &rusqlite::Connection,
    client_id: &str,
    aggregation_bound: i64,
) -> StoreResult<Vec<SerialRowGroup>> {
    let what = "reading the per-serial outbox rows";
    let mut stmt = tx
        .prepare(
            "SELECT g.batch_id, g.kind, g.n, g.first_id, f.created_at, l.created_at,
                    b.gtin, b.lot, b.expiry, b.state, p.company_prefix_length
             FROM (SELECT batch_id, kind, count(*) AS n, min(id) AS first_id, max(id) AS last_id
                   FROM outbox
                   WHERE client_id = ?1 AND kind IN ('commissioned', 'scrapped', 'invalidated', 'decommissioned', 'destroyed')
                     AND batch_id IS NOT NULL AND state != 'sent'
                     AND (kind NOT IN ('decommissioned', 'destroyed') OR id < ?2)
                   GROUP BY batch_id, kind) g
             JOIN outbox f ON f.id = g.first_id
             JOIN outbox l ON l.id = g.last_id
             JOIN batches b ON b.id = g.batch_id
             JOIN products p ON p.gtin = b.gtin
             ORDER BY g.first_id",
        )
        .context(what)?;
    let rows = stmt
        .query_map(params![client_id, aggregation_bound], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, String>(6)?,
                r.get::<_, String>(7)?,
                r.get::<_, String>(8)?,
                r.get::<_, String>(9)?,
                r.get::<_, i64>(10)?,
            ))
        })
        .context(what)?;
    let mut groups = Vec::new();
    for row in rows {
        let (batch, kind, n, first, oldest, newest, gtin, lot, expiry, state_text, cpl) =
            row.context(what)?;
        let batch_state = BatchState::parse(&state_text).ok_or_else(|| {
            StoreError::Corrupt(format!("batch {batch} has unknown state {state_text:?}"))
        })?;
        groups.push(SerialRowGroup {
            batch: BatchId(batch),
            kind,
            rows: n.max(0) as u64,
            first_id: OutboxId(first),
            oldest_created_at: oldest,
            newest_created_at: newest,
            gtin,
            lot,
            expiry,
            batch_state,
            company_prefix_length: u8::try_from(cpl)
                .map_err(|_| StoreError::Corrupt(format!("company prefix length {cpl} of GTIN")))?,
        });
    }
    Ok(groups)
}

/// One client's outbox, for `upload status`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ClientOutboxStatus {
    pub client_id: String,
    pub pending: u64,
    /// Pending entries whose capture the site server has acknowledged but not finished.
    pub in_flight: u64,
    pub parked: u64,
    pub sent: u64,
    pub last_error: Option<String>,
    /// Creation time of the oldest entry not yet sent.
    pub oldest_unsent_created_at: Option<String>,
}

const ENTRY_COLUMNS: &str =
    "id, client_id, kind, batch_id, payload, state, attempts, last_error, capture_id, created_at";

fn entry_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<OutboxEntry> {
    Ok(OutboxEntry {
        id: OutboxId(r.get(0)?),
        client_id: r.get(1)?,
        kind: r.get(2)?,
        batch: r.get::<_, Option<i64>>(3)?.map(BatchId),
        payload: r.get(4)?,
        state: r.get(5)?,
        attempts: r.get(6)?,
        last_error: r.get(7)?,
        capture_id: r.get(8)?,
        created_at: r.get(9)?,
    })
}

impl Store {
    /// Replaces pending per-serial rows of `client_id` by chunks, in ONE transaction:
    /// reads the groups (batch, kind), lets `chunker` choose what to take, streams
    /// each taken group's serials (oldest first) through `chunker`, inserts every
    /// chunk it emits as a pending `chunk_kind` row (in order), and marks the rows
    /// consumed `sent`. On any error nothing changes.
    pub fn chunk_serial_rows(
        &mut self,
        client_id: &str,
        chunk_kind: &str,
        chunker: &mut dyn SerialChunker,
    ) -> StoreResult<ChunkingOutcome> {
        let what = format!("turning the serials of client {client_id} into EPCIS chunks");
        let tx = self.write_tx(&what)?;
        let aggregation_bound = first_waiting_aggregation_row(&tx, client_id)?;
        let groups = read_serial_groups(&tx, client_id, aggregation_bound)?;
        if groups.is_empty() {
            return Ok(ChunkingOutcome::default());
        }
        let plan = chunker.plan(&groups);
        let now = clock::now();
        let mut outcome = ChunkingOutcome::default();
        for take in plan {
            let Some(group) = groups.get(take.group) else {
                continue;
            };
            if take.rows == 0 {
                continue;
            }
            let mut insert = tx
                .prepare(
                    "INSERT INTO outbox (client_id, kind, batch_id, payload, state, created_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, 'pending', ?5, ?5)",
                )
                .context(&what)?;
            let mut select = tx
                .prepare(
                    "SELECT id, payload FROM outbox
                     WHERE client_id = ?1 AND kind = ?2 AND batch_id = ?3
                       AND state != 'sent' AND id < ?5
                     ORDER BY id LIMIT ?4",
                )
                .context(&what)?;
            let limit = i64::try_from(take.rows).unwrap_or(i64::MAX);
            let bound = serial_bound(&group.kind, aggregation_bound);
            let rows = select
                .query(params![client_id, group.kind, group.batch.0, limit, bound])
                .context(&what)?;
            let mut serials = SerialRows {
                rows,
                last_id: None,
                count: 0,
                error: None,
            };
            let mut chunks = 0u64;
            let mut emit = |payload: String| -> StoreResult<()> {
                insert
                    .execute(params![client_id, chunk_kind, group.batch.0, payload, now])
                    .context("queueing an EPCIS chunk")?;
                chunks += 1;
                Ok(())
            };
            let built = chunker.build(group, &mut serials, &mut emit);
            if let Some(error) = serials.error.take() {
                return Err(error);
            }
            built.map_err(|message| {
                StoreError::Invalid(format!(
                    "the {} serials of batch {} cannot be reported: {message}",
                    group.kind, group.batch.0
                ))
            })?;
            let (count, last_id) = (serials.count, serials.last_id);
            drop(serials);
            if let Some(last_id) = last_id {
                // OR FAIL: no statement journal (which would hold a copy of every
                // page the statement changes, in memory); on any failure the whole
                // transaction is dropped anyway.
                tx.prepare(
                    "UPDATE OR FAIL outbox SET state = 'sent', updated_at = ?5
                     WHERE client_id = ?1 AND kind = ?2 AND batch_id = ?3
                       AND state != 'sent' AND id <= ?4",
                )
                .context(&what)?
                .execute(params![client_id, group.kind, group.batch.0, last_id, now])
                .context(&what)?;
            }
            outcome.chunks += chunks;
            outcome.rows += count;
        }
        tx.commit().context(&what)?;
        Ok(outcome)
    }

    /// Replaces pending container rows of `client_id` by chunks, in ONE transaction:
    /// reads at most `max_rows` of them in id order, none at or past the client's
    /// oldest per-serial row not chunked yet (the packs they name are reported
    /// first), lets `build` turn them into chunks, inserts each chunk as a pending
    /// `chunk_kind` row (in order) and marks the rows read `sent`. `build` must put
    /// every row it is given into its chunks. On any error nothing changes.
    pub fn chunk_aggregation_rows(
        &mut self,
        client_id: &str,
        chunk_kind: &str,
        max_rows: u64,
        build: &mut ContainerChunker<'_>,
    ) -> StoreResult<ChunkingOutcome> {
        let what = format!("turning the container events of client {client_id} into EPCIS chunks");
        // Most rounds find none: no write transaction (and no wait for the line's
        // commits) for nothing.
        let waiting: bool = self
            .conn
            .query_row(
                &format!(
                    "SELECT EXISTS (SELECT 1 FROM outbox
                     WHERE client_id = ?1 AND kind IN ({AGGREGATION_KINDS_SQL}) AND state != 'sent')"
                ),
                [client_id],
                |r| r.get(0),
            )
            .context(&what)?;
        if !waiting {
            return Ok(ChunkingOutcome::default());
        }
        let tx = self.write_tx(&what)?;
        let first_serial: Option<i64> = tx
            .query_row(
                "SELECT min(id) FROM outbox
                 WHERE client_id = ?1 AND kind IN ('commissioned', 'scrapped', 'invalidated', 'decommissioned', 'destroyed')
                   AND batch_id IS NOT NULL AND state != 'sent'",
                [client_id],
                |r| r.get(0),
            )
            .context(&what)?;
        let rows = {
            let mut select = tx
                .prepare(&format!(
                    "SELECT id, kind, batch_id, payload FROM outbox
                     WHERE client_id = ?1 AND kind IN ({AGGREGATION_KINDS_SQL})
                       AND state != 'sent' AND id < ?2
                     ORDER BY id LIMIT ?3"
                ))
                .context(&what)?;
            let limit = i64::try_from(max_rows).unwrap_or(i64::MAX);
            let mapped = select
                .query_map(
                    params![client_id, first_serial.unwrap_or(i64::MAX), limit],
                    |r| {
                        Ok(AggregationRow {
                            id: OutboxId(r.get(0)?),
                            kind: r.get(1)?,
                            batch: r.get::<_, Option<i64>>(2)?.map(BatchId),
                            payload: r.get(3)?,
                        })
                    },
                )
                .context(&what)?;
            mapped.collect::<Result<Vec<_>, _>>().context(&what)?
        };
        if rows.is_empty() {
            return Ok(ChunkingOutcome::default());
        }
        let chunks = build(&rows).map_err(|message| {
            StoreError::Invalid(format!(
                "the container events of client {client_id} cannot be reported: {message}"
            ))
        })?;
        if chunks.is_empty() {
            return Err(StoreError::Invalid(format!(
                "no EPCIS chunk was made from {} container events of client {client_id}; nothing was changed",
                rows.len()
            )));
        }
        let now = clock::now();
        {
            let mut insert = tx
                .prepare(
                    "INSERT INTO outbox (client_id, kind, batch_id, payload, state, created_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, 'pending', ?5, ?5)",
                )
                .context(&what)?;
            for chunk in &chunks {
                insert
                    .execute(params![
                        client_id,
                        chunk_kind,
                        chunk.batch.map(|b| b.0),
                        chunk.payload,
                        now
                    ])
                    .context("queueing an EPCIS chunk")?;
            }
            let mut mark = tx
                .prepare(
                    "UPDATE outbox SET state = 'sent', updated_at = ?2 WHERE id = ?1 AND state != 'sent'",
                )
                .context(&what)?;
            for row in &rows {
                mark.execute(params![row.id.0, now]).context(&what)?;
            }
        }
        tx.commit().context(&what)?;
        Ok(ChunkingOutcome {
            chunks: chunks.len() as u64,
            rows: rows.len() as u64,
        })
    }

    /// Per client, the rows not yet chunked: per-serial rows and container rows.
    pub fn waiting_serials(&self) -> StoreResult<Vec<WaitingSerials>> {
        let what = "counting per-serial outbox rows";
        let mut stmt = self
            .conn
            .prepare(
                "SELECT client_id, count(*), min(created_at) FROM outbox
                 WHERE kind IN ('commissioned', 'scrapped', 'invalidated', 'decommissioned', 'destroyed',
                                'sscc-commissioned', 'aggregation-add', 'aggregation-delete', 'sscc-decommissioned')
                   AND state != 'sent'
                 GROUP BY client_id ORDER BY client_id",
            )
            .context(what)?;
        let rows = stmt
            .query_map([], |r| {
                Ok(WaitingSerials {
                    client_id: r.get(0)?,
                    rows: r.get::<_, i64>(1)?.max(0) as u64,
                    oldest_created_at: r.get(2)?,
                })
            })
            .context(what)?;
        rows.map(|r| r.context(what)).collect()
    }

    /// Clients that have per-serial or container rows not yet chunked.
    pub fn clients_with_waiting_serials(&self) -> StoreResult<Vec<String>> {
        let what = "listing clients with serials to report";
        let mut stmt = self
            .conn
            .prepare(
                "SELECT DISTINCT client_id FROM outbox
                 WHERE kind IN ('commissioned', 'scrapped', 'invalidated', 'decommissioned', 'destroyed',
                                'sscc-commissioned', 'aggregation-add', 'aggregation-delete', 'sscc-decommissioned')
                   AND state != 'sent'
                 ORDER BY client_id",
            )
            .context(what)?;
        let rows = stmt.query_map([], |r| r.get(0)).context(what)?;
        rows.map(|r| r.context(what)).collect()
    }

    /// Sets this connection's page cache ceiling (KiB), e.g. small for a
    /// long-running reader that streams through many rows once.
    pub fn set_page_cache_kib(&self, kib: u32) -> StoreResult<()> {
        self.conn
            .pragma_update(None, "cache_size", -i64::from(kib))
            .context("setting the page cache size")
    }

    /// Outbox rows not delivered yet (per-serial rows not chunked, chunks not sent,
    /// parked ones), of one client or of all.
    pub fn outbox_undelivered(&self, client_id: Option<&str>) -> StoreResult<u64> {
        let n: i64 = self
            .conn
            .query_row(
                "SELECT COUNT(*) FROM outbox WHERE state != 'sent' AND (?1 IS NULL OR client_id = ?1)",
                [client_id],
                |r| r.get(0),
            )
            .context("counting the outbox rows not delivered")?;
        Ok(n.max(0) as u64)
    }

    /// Queues work for the uploader.
    pub fn enqueue_outbox(
        &mut self,
        client_id: &str,
        kind: &str,
        batch: Option<BatchId>,
        payload: &str,
    ) -> StoreResult<OutboxId> {
        let now = clock::now();
        self.conn
            .execute(
                "INSERT INTO outbox (client_id, kind, batch_id, payload, state, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, 'pending', ?5, ?5)",
                params![client_id, kind, batch.map(|b| b.0), payload, now],
            )
            .context("queueing work for the uploader")?;
        Ok(OutboxId(self.conn.last_insert_rowid()))
    }

    /// The oldest pending entries of every client and kind (a scan of the table:
    /// for tests and tools; the uploader reads per client).
    pub fn pending_outbox(&self, limit: usize) -> StoreResult<Vec<OutboxEntry>> {
        let what = "reading the outbox";
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT {ENTRY_COLUMNS} FROM outbox WHERE state = 'pending' ORDER BY id LIMIT ?1"
            ))
            .context(what)?;
        let rows = stmt
            .query_map([i64::try_from(limit).unwrap_or(i64::MAX)], entry_from_row)
            .context(what)?;
        rows.map(|r| r.context(what)).collect()
    }

    /// Marks an entry delivered.
    pub fn mark_outbox_sent(&mut self, id: OutboxId) -> StoreResult<()> {
        self.conn
            .execute(
                "UPDATE outbox SET state = 'sent', attempts = attempts + 1, last_error = NULL, updated_at = ?1
                 WHERE id = ?2",
                params![clock::now(), id.0],
            )
            .context("marking outbox work sent")?;
        Ok(())
    }

    /// Records a failed attempt; the entry stays pending for the next retry.
    pub fn record_outbox_failure(&mut self, id: OutboxId, error: &str) -> StoreResult<()> {
        self.conn
            .execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?1, updated_at = ?2 WHERE id = ?3",
                params![error, clock::now(), id.0],
            )
            .context("recording an outbox failure")?;
        Ok(())
    }

    /// The first entry of `kind` for `client_id` that is not sent yet (pending or
    /// parked): the one the sender must deliver before any later one.
    pub fn outbox_head(&self, client_id: &str, kind: &str) -> StoreResult<Option<OutboxEntry>> {
        use rusqlite::OptionalExtension;
        self.conn
            .query_row(
                &format!(
                    "SELECT {ENTRY_COLUMNS} FROM outbox
                     WHERE client_id = ?1 AND kind = ?2 AND state != 'sent' ORDER BY id LIMIT 1"
                ),
                params![client_id, kind],
                entry_from_row,
            )
            .optional()
            .context("reading the next outbox entry")
    }

    /// One entry by id.
    pub fn outbox_entry(&self, id: OutboxId) -> StoreResult<Option<OutboxEntry>> {
        use rusqlite::OptionalExtension;
        self.conn
            .query_row(
                &format!("SELECT {ENTRY_COLUMNS} FROM outbox WHERE id = ?1"),
                [id.0],
                entry_from_row,
            )
            .optional()
            .context("reading an outbox entry")
    }

    /// Entries of `kind` for one batch, in order (for export).
    pub fn outbox_entries_of_batch(
        &self,
        batch: BatchId,
        kind: &str,
    ) -> StoreResult<Vec<OutboxEntry>> {
        let what = "reading a batch's outbox entries";
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT {ENTRY_COLUMNS} FROM outbox WHERE batch_id = ?1 AND kind = ?2 ORDER BY id"
            ))
            .context(what)?;
        let rows = stmt
            .query_map(params![batch.0, kind], entry_from_row)
            .context(what)?;
        rows.map(|r| r.context(what)).collect()
    }

    /// Records the capture ID the site server gave this entry's capture (or clears it).
    pub fn set_outbox_capture_id(
        &mut self,
        id: OutboxId,
        capture_id: Option<&str>,
    ) -> StoreResult<()> {
        self.conn
            .execute(
                "UPDATE outbox SET capture_id = ?1, updated_at = ?2 WHERE id = ?3",
                params![capture_id, clock::now(), id.0],
            )
            .context("recording a capture ID")?;
        Ok(())
    }

    /// Parks an entry with the site server's own message; it stays until retried.
    pub fn park_outbox(&mut self, id: OutboxId, message: &str) -> StoreResult<()> {
        self.conn
            .execute(
                "UPDATE outbox SET state = 'failed', attempts = attempts + 1, last_error = ?1,
                 capture_id = NULL, updated_at = ?2 WHERE id = ?3 AND state != 'sent'",
                params![message, clock::now(), id.0],
            )
            .context("parking outbox work")?;
        Ok(())
    }

    /// Puts parked entries back to pending: one (`Some(id)`) or all. Returns how many.
    pub fn retry_parked_outbox(&mut self, id: Option<OutboxId>) -> StoreResult<usize> {
        let now = clock::now();
        let changed = match id {
            Some(id) => self.conn.execute(
                "UPDATE outbox SET state = 'pending', updated_at = ?1 WHERE id = ?2 AND state = 'failed'",
                params![now, id.0],
            ),
            None => self.conn.execute(
                "UPDATE outbox SET state = 'pending', updated_at = ?1 WHERE state = 'failed'",
                params![now],
            ),
        }
        .context("retrying parked outbox work")?;
        Ok(changed)
    }

    /// Clients that have entries of `kind` not yet sent.
    pub fn clients_with_outbox_work(&self, kind: &str) -> StoreResult<Vec<String>> {
        let what = "listing clients with outbox work";
        let mut stmt = self
            .conn
            .prepare("SELECT DISTINCT client_id FROM outbox WHERE kind = ?1 AND state != 'sent' ORDER BY client_id")
            .context(what)?;
        let rows = stmt.query_map([kind], |r| r.get(0)).context(what)?;
        rows.map(|r| r.context(what)).collect()
    }

    /// Per-client counts of the outbox chunks (per-serial and container rows not
    /// included: see [`Store::waiting_serials`]), for `upload status`.
    pub fn outbox_status(&self) -> StoreResult<Vec<ClientOutboxStatus>> {
        let what = "summarising the outbox";
        let mut stmt = self
            .conn
            .prepare(
                "SELECT client_id,
                        sum(state = 'pending' AND capture_id IS NULL),
                        sum(state = 'pending' AND capture_id IS NOT NULL),
                        sum(state = 'failed'),
                        sum(state = 'sent'),
                        (SELECT last_error FROM outbox l WHERE l.client_id = o.client_id
                           AND l.last_error IS NOT NULL AND l.state != 'sent' ORDER BY l.updated_at DESC, l.id DESC LIMIT 1),
                        min(CASE WHEN state != 'sent' THEN created_at END)
                 FROM outbox o WHERE kind NOT IN ('commissioned', 'scrapped', 'invalidated', 'decommissioned', 'destroyed',
                                                  'sscc-commissioned', 'aggregation-add', 'aggregation-delete', 'sscc-decommissioned')
                 GROUP BY client_id ORDER BY client_id",
            )
            .context(what)?;
        let rows = stmt
            .query_map([], |r| {
                Ok(ClientOutboxStatus {
                    client_id: r.get(0)?,
                    pending: r.get::<_, i64>(1)?.max(0) as u64,
                    in_flight: r.get::<_, i64>(2)?.max(0) as u64,
                    parked: r.get::<_, i64>(3)?.max(0) as u64,
                    sent: r.get::<_, i64>(4)?.max(0) as u64,
                    last_error: r.get(5)?,
                    oldest_unsent_created_at: r.get(6)?,
                })
            })
            .context(what)?;
        rows.map(|r| r.context(what)).collect()
    }
}
