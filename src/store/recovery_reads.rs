//! The reads start-up recovery needs: batches the line engine left unfinished, the
//! serials of a batch that are not in a final state, and the items whose fate can
//! still change what happens to a serial.

use std::collections::BTreeMap;

use rusqlite::{OptionalExtension, params};

use crate::gs1::Gtin;
use crate::store::Store;
use crate::store::batches::BatchId;
use crate::store::error::{SqlContext, StoreError, StoreResult};
use crate::store::line_records::LineBatch;
use crate::store::state::SerialState;

/// A serial of a batch still `Allocated` or `Encoded`, with every printer message it
/// was queued as (empty: it was never queued to a printer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsettledSerial {
    pub serial: String,
    pub state: SerialState,
    pub message_ids: Vec<u64>,
}

/// A recorded item that recovery may have to settle or check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveryItem {
    /// The PLC's item number.
    pub seq: u32,
    /// The recorded verdict was GOOD.
    pub good: bool,
    /// Why it was rejected, for a reject.
    pub reason: Option<String>,
    /// The serial the item owns (GOOD) or the serial its read named (reject).
    pub serial: Option<String>,
    /// The serial's state now, for a GOOD item.
    pub serial_state: Option<SerialState>,
    /// The PLC fate recorded for it (`exited_good`, `rejected_confirmed`,
    /// `rejected_unconfirmed`), if any.
    pub fate: Option<String>,
}

fn state_of(code: i64) -> StoreResult<SerialState> {
    SerialState::from_code(code)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown serial state code {code}")))
}

impl Store {
    /// Batches whose line state is not `closed` (and whose batch row is not closed),
    /// oldest first, with their engine state (`running`, `paused`, `stopping`, ...).
    /// A batch with serials bound to it but no line state yet is listed with its
    /// `batches.state`.
    pub fn unfinished_line_batches(&self) -> StoreResult<Vec<(LineBatch, String)>> {
        let what = "listing the batches left unfinished";
        let mut stmt = self
            .conn
            .prepare(
                "SELECT b.id, b.gtin, p.client_id, b.lot, b.expiry, COALESCE(l.state, b.state)
                 FROM batches b
                 JOIN products p ON p.gtin = b.gtin
                 LEFT JOIN batch_line_states l ON l.batch_id = b.id
                 WHERE b.state != 'closed'
                   AND (l.state IS NOT NULL AND l.state != 'closed'
                        OR l.state IS NULL AND EXISTS (SELECT 1 FROM serials s WHERE s.batch_id = b.id))
                 ORDER BY b.id",
            )
            .context(what)?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                ))
            })
            .context(what)?;
        let mut out = Vec::new();
        for row in rows {
            let (id, gtin, client_id, lot, expiry, state) = row.context(what)?;
            let gtin = Gtin::parse(&gtin).map_err(|e| {
                StoreError::Corrupt(format!(
                    "batch {id} has GTIN {gtin:?}, which is invalid: {e}"
                ))
            })?;
            out.push((
                LineBatch {
                    batch: BatchId(id),
                    gtin,
                    client_id,
                    lot,
                    expiry,
                },
                state,
            ));
        }
        Ok(out)
    }

    /// The batch as the line records it, if it exists.
    pub fn line_batch(&self, batch: BatchId) -> StoreResult<Option<LineBatch>> {
        let row: Option<(String, String, String, String)> = self
            .conn
            .query_row(
                "SELECT b.gtin, p.client_id, b.lot, b.expiry FROM batches b
                 JOIN products p ON p.gtin = b.gtin WHERE b.id = ?1",
                [batch.0],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()
            .context("reading a batch")?;
        row.map(|(gtin, client_id, lot, expiry)| {
            let gtin = Gtin::parse(&gtin).map_err(|e| {
                StoreError::Corrupt(format!(
                    "batch {} has GTIN {gtin:?}, which is invalid: {e}",
                    batch.0
                ))
            })?;
            Ok(LineBatch {
                batch,
                gtin,
                client_id,
                lot,
                expiry,
            })
        })
        .transpose()
    }

    /// The serials of a batch still `Allocated` or `Encoded`, in allocation order,
    /// each with the printer messages it was queued as.
    pub fn unsettled_serials(&self, batch: BatchId) -> StoreResult<Vec<UnsettledSerial>> {
        let what = format!("reading the unsettled serials of batch {}", batch.0);
        let mut messages: BTreeMap<String, Vec<u64>> = BTreeMap::new();
        for (message_id, serial) in self.unsettled_printer_messages(batch)? {
            messages.entry(serial).or_default().push(message_id);
        }
        let mut stmt = self
            .conn
            .prepare(
                "SELECT serial, state FROM serials WHERE batch_id = ?1 AND state IN (2, 4) ORDER BY id",
            )
            .context(&what)?;
        let rows = stmt
            .query_map([batch.0], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
            })
            .context(&what)?;
        let mut out = Vec::new();
        for row in rows {
            let (serial, code) = row.context(&what)?;
            let message_ids = messages.remove(&serial).unwrap_or_default();
            out.push(UnsettledSerial {
                serial,
                state: state_of(code)?,
                message_ids,
            });
        }
        Ok(out)
    }

    /// The items of a batch recovery must look at: every GOOD item whose serial is
    /// still `Allocated`/`Encoded` or whose fate was never recorded, and every reject
    /// without a recorded fate that names a serial. In seq order.
    pub fn recovery_items(&self, batch: BatchId) -> StoreResult<Vec<RecoveryItem>> {
        let what = format!("reading the items of batch {} for recovery", batch.0);
        let mut stmt = self
            .conn
            .prepare(
                "SELECT i.seq, i.verdict, i.reason, COALESCE(s.serial, i.serial_text), s.state, i.fate
                 FROM items i LEFT JOIN serials s ON s.id = i.serial_id
                 WHERE i.batch_id = ?1
                   AND ((i.serial_id IS NOT NULL AND (i.fate IS NULL OR s.state IN (2, 4)))
                        OR (i.serial_id IS NULL AND i.fate IS NULL AND i.serial_text IS NOT NULL))
                 ORDER BY i.seq",
            )
            .context(&what)?;
        let rows = stmt
            .query_map(params![batch.0], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, Option<i64>>(4)?,
                    r.get::<_, Option<String>>(5)?,
                ))
            })
            .context(&what)?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, verdict, reason, serial, state, fate) = row.context(&what)?;
            let seq = u32::try_from(seq).map_err(|_| {
                StoreError::Corrupt(format!(
                    "batch {} has an item with seq {seq}, outside the PLC's 32-bit range",
                    batch.0
                ))
            })?;
            out.push(RecoveryItem {
                seq,
                good: verdict.as_deref() == Some("good"),
                reason,
                serial,
                serial_state: state.map(state_of).transpose()?,
                fate,
            });
        }
        Ok(out)
    }
}
