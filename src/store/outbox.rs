//! The outbox, minimal: work for the uploader (EPCIS documents to send to a client's
//! site server), with attempts and the last error. The uploader extends this module;
//! the line engine writes outbox rows in the same transaction as the state change.

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
            .prepare(
                "SELECT id, client_id, kind, batch_id, payload, state, attempts, last_error FROM outbox
                 WHERE state = 'pending' ORDER BY id LIMIT ?1",
            )
            .context(what)?;
        let rows = stmt
            .query_map([i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
                Ok(OutboxEntry {
                    id: OutboxId(r.get(0)?),
                    client_id: r.get(1)?,
                    kind: r.get(2)?,
                    batch: r.get::<_, Option<i64>>(3)?.map(BatchId),
                    payload: r.get(4)?,
                    state: r.get(5)?,
                    attempts: r.get(6)?,
                    last_error: r.get(7)?,
                })
            })
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
}
