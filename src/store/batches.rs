//! Batches and items, minimal: create a batch, read it, change its state, and record
//! an item's verdict. The line engine extends this module.

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::json;

use crate::gs1::{Gs1Date, Gtin};
use crate::store::audit::{self, AuditRecord};
use crate::store::error::{SqlContext, StoreError, StoreResult};
use crate::store::products::read_product;
use crate::store::serials::SerialId;
use crate::store::{Actor, Store, clock};

/// Row id of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct BatchId(pub i64);

/// Where a batch is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BatchState {
    Created,
    Running,
    Paused,
    Stopped,
    Closed,
}

impl BatchState {
    pub fn as_str(self) -> &'static str {
        match self {
            BatchState::Created => "created",
            BatchState::Running => "running",
            BatchState::Paused => "paused",
            BatchState::Stopped => "stopped",
            BatchState::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<BatchState> {
        [
            BatchState::Created,
            BatchState::Running,
            BatchState::Paused,
            BatchState::Stopped,
            BatchState::Closed,
        ]
        .into_iter()
        .find(|b| b.as_str() == s)
    }
}

/// What an operator gives to start a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBatch {
    pub gtin: Gtin,
    pub lot: String,
    /// Expiry as printed in AI (17), YYMMDD; day 00 is refused (GSCN 21-040).
    pub expiry: String,
    pub quantity: u64,
}

/// A batch as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Batch {
    pub id: BatchId,
    pub gtin: String,
    pub lot: String,
    pub expiry: String,
    pub quantity: u64,
    pub state: BatchState,
    pub created_at: String,
    pub closed_at: Option<String>,
}

pub(crate) fn read_batch(conn: &Connection, id: BatchId) -> StoreResult<Option<Batch>> {
    type Row = (String, String, String, i64, String, String, Option<String>);
    let row: Option<Row> = conn
        .query_row(
            "SELECT gtin, lot, expiry, quantity, state, created_at, closed_at FROM batches WHERE id = ?1",
            [id.0],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?)),
        )
        .optional()
        .context("reading a batch")?;
    row.map(
        |(gtin, lot, expiry, quantity, state, created_at, closed_at)| {
            Ok(Batch {
                id,
                gtin,
                lot,
                expiry,
                quantity: u64::try_from(quantity)
                    .map_err(|_| StoreError::Corrupt(format!("batch {} quantity", id.0)))?,
                state: BatchState::parse(&state).ok_or_else(|| {
                    StoreError::Corrupt(format!("batch {} has unknown state {state:?}", id.0))
                })?,
                created_at,
                closed_at,
            })
        },
    )
    .transpose()
}

impl Store {
    /// Creates a batch for a product in the product master. Lot and expiry are checked
    /// against the GS1 healthcare policy.
    pub fn create_batch(&mut self, batch: &NewBatch, actor: &Actor) -> StoreResult<BatchId> {
        let what = format!("creating a batch of GTIN {}", batch.gtin);
        crate::gs1::policy::check_lot(&batch.lot)
            .map_err(|e| StoreError::Invalid(format!("lot {:?}: {e}", batch.lot)))?;
        let year = clock::year_of_unix_ms(clock::now_unix_ms());
        let expiry = Gs1Date::parse_yymmdd(&batch.expiry, false, year)
            .map_err(|e| StoreError::Invalid(format!("expiry {:?}: {e}", batch.expiry)))?;
        crate::limits::check_count(
            "quantity",
            batch.quantity,
            crate::limits::MAX_BATCH_QUANTITY,
            "split the order into several batches",
        )
        .map_err(StoreError::Invalid)?;
        let quantity = i64::try_from(batch.quantity).map_err(|_| {
            StoreError::Invalid(format!("quantity {} is too large", batch.quantity))
        })?;
        let tx = self.write_tx(&what)?;
        if read_product(&tx, batch.gtin.as_str())?.is_none() {
            return Err(StoreError::NotFound(format!(
                "GTIN {} is not in the product master: load its client configuration first",
                batch.gtin
            )));
        }
        let now = clock::now();
        tx.execute(
            "INSERT INTO batches (gtin, lot, expiry, quantity, state, created_at) VALUES (?1, ?2, ?3, ?4, 'created', ?5)",
            params![batch.gtin.as_str(), batch.lot, batch.expiry, quantity, now],
        )
        .context(&what)?;
        let id = BatchId(tx.last_insert_rowid());
        audit::append(
            &tx,
            actor,
            AuditRecord {
                action: "batch.create",
                subject: format!("batch {}", id.0),
                before: None,
                after: Some(json!({
                    "gtin": batch.gtin.as_str(), "lot": batch.lot, "expiry": batch.expiry,
                    "expiry_date": expiry.to_iso(), "quantity": batch.quantity, "state": "created",
                })),
            },
        )?;
        tx.commit().context(&what)?;
        Ok(id)
    }

    /// One batch by id.
    pub fn batch(&self, id: BatchId) -> StoreResult<Option<Batch>> {
        read_batch(&self.conn, id)
    }

    /// The newest `limit` batches, newest first.
    pub fn list_batches(&self, limit: usize) -> StoreResult<Vec<Batch>> {
        let ids: Vec<i64> = self
            .conn
            .prepare("SELECT id FROM batches ORDER BY id DESC LIMIT ?1")
            .context("listing batches")?
            .query_map([i64::try_from(limit).unwrap_or(i64::MAX)], |r| r.get(0))
            .context("listing batches")?
            .collect::<Result<_, _>>()
            .context("listing batches")?;
        let mut batches = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(batch) = read_batch(&self.conn, BatchId(id))? {
                batches.push(batch);
            }
        }
        Ok(batches)
    }

    /// Changes a batch's state (audited). A closed batch stays closed.
    pub fn set_batch_state(
        &mut self,
        id: BatchId,
        state: BatchState,
        actor: &Actor,
    ) -> StoreResult<()> {
        let what = format!("changing the state of batch {}", id.0);
        let tx = self.write_tx(&what)?;
        let before = read_batch(&tx, id)?
            .ok_or_else(|| StoreError::NotFound(format!("there is no batch {}", id.0)))?;
        if before.state == BatchState::Closed && state != BatchState::Closed {
            return Err(StoreError::Invalid(format!(
                "batch {} is closed and cannot be reopened",
                id.0
            )));
        }
        let closed_at = (state == BatchState::Closed).then(clock::now);
        tx.execute(
            "UPDATE batches SET state = ?1, closed_at = COALESCE(closed_at, ?2) WHERE id = ?3",
            params![state.as_str(), closed_at, id.0],
        )
        .context(&what)?;
        audit::append(
            &tx,
            actor,
            AuditRecord {
                action: "batch.state",
                subject: format!("batch {}", id.0),
                before: Some(json!({"state": before.state.as_str()})),
                after: Some(json!({"state": state.as_str()})),
            },
        )?;
        tx.commit().context(&what)
    }

    /// Records an item (by the PLC's sequence number) and its verdict. Minimal: the line
    /// engine records items together with the serial's state change.
    pub fn record_item(
        &mut self,
        batch: BatchId,
        seq: i64,
        serial: Option<SerialId>,
        verdict: Option<&str>,
        reason: Option<&str>,
        grade: Option<f64>,
    ) -> StoreResult<i64> {
        let what = format!("recording item {seq} of batch {}", batch.0);
        let now = clock::now();
        self.conn
            .execute(
                "INSERT INTO items (batch_id, seq, serial_id, verdict, reason, grade, created_at, decided_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, CASE WHEN ?4 IS NULL THEN NULL ELSE ?7 END)",
                params![batch.0, seq, serial.map(|s| s.0), verdict, reason, grade, now],
            )
            .context(&what)?;
        Ok(self.conn.last_insert_rowid())
    }
}

impl Store {
    /// QA's release of a closed batch on its record, once. `signed` is the granted
    /// signature ("approved"), absent only on a station with no enrolled user.
    pub fn release_batch(
        &mut self,
        batch: BatchId,
        comment: Option<&str>,
        actor: &Actor,
        signed: Option<&crate::store::users::Signed>,
    ) -> StoreResult<()> {
        let what = format!("releasing batch {}", batch.0);
        let tx = self.write_tx(&what)?;
        let b = read_batch(&tx, batch)?
            .ok_or_else(|| StoreError::NotFound(format!("there is no batch {}", batch.0)))?;
        if b.state != BatchState::Closed {
            return Err(StoreError::Invalid(format!(
                "batch {} is {}: only a closed batch is released (close it first)",
                batch.0,
                b.state.as_str()
            )));
        }
        let subject = format!("batch {}", batch.0);
        let released: Option<String> = tx
            .query_row(
                "SELECT actor || ' at ' || at FROM audit WHERE action = 'batch.release' AND subject = ?1 LIMIT 1",
                [&subject],
                |r| r.get(0),
            )
            .optional()
            .context(&what)?;
        if let Some(by) = released {
            return Err(StoreError::Invalid(format!(
                "batch {} was already released by {by}",
                batch.0
            )));
        }
        audit::append(
            &tx,
            actor,
            AuditRecord {
                action: "batch.release",
                subject,
                before: Some(json!({ "state": "closed" })),
                after: Some(json!({
                    "released": true,
                    "comment": comment,
                    "signer": signed.map(|s| s.signer.clone()),
                    "role": signed.map(|s| s.role.as_str()),
                    "meaning": signed.map(|s| s.meaning.clone()),
                })),
            },
        )?;
        tx.commit().context(&what)
    }
}
