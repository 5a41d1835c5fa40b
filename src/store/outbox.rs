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

use rusqlite::params;

use crate::store::batches::BatchId;
use crate::store::error::{SqlContext, StoreResult};
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

    /// The oldest pending entries.
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

    /// Per-client counts of the outbox, for `upload status`.
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
                 FROM outbox o GROUP BY client_id ORDER BY client_id",
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
