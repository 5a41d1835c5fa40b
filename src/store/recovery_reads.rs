//! The reads start-up recovery needs: batches the line engine left unfinished, the
//! serials of a batch that are not in a final state (with the printer messages of
//! their current allocation), the items whose fate can still change what happens to
//! a serial, and which acknowledged message ids are the batch's.

use std::collections::{BTreeMap, BTreeSet};

use rusqlite::{OptionalExtension, params};

use crate::gs1::Gtin;
use crate::store::Store;
use crate::store::batches::BatchId;
use crate::store::error::{SqlContext, StoreError, StoreResult};
use crate::store::line_records::LineBatch;
use crate::store::state::SerialState;

/// A serial of a batch still `Allocated` or `Encoded`, with the printer messages it
/// was queued as since it was last allocated (empty: this allocation was never queued
/// to a printer). A serial that went back to the pool with a printer's proof and was
/// allocated to the batch again keeps its earlier messages in `printer_messages`; those
/// the proof names are left out here (they were proven never printed, see
/// [`messages_proven_unprinted`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsettledSerial {
    pub serial: String,
    pub state: SerialState,
    pub message_ids: Vec<u64>,
}

/// The message ids a return's evidence names as listed never printed by a printer's
/// buffer clear: the engine writes "... listed message 7 as never printed", start-up
/// recovery "... listed message 3, 9 as never printed". Text in any other form names
/// none, so a message is only ever left out on the printer's own word (pure).
pub fn messages_proven_unprinted(evidence: &str) -> Vec<u64> {
    const OPENING: &str = "listed message ";
    const CLOSING: &str = " as never printed";
    let mut ids = Vec::new();
    let mut rest = evidence;
    while let Some(at) = rest.find(OPENING) {
        let after = &rest[at + OPENING.len()..];
        let Some(end) = after.find(CLOSING) else {
            break;
        };
        let listed: Option<Vec<u64>> = after[..end]
            .split(", ")
            .map(|id| {
                if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) {
                    id.parse::<u64>().ok()
                } else {
                    None
                }
            })
            .collect();
        if let Some(listed) = listed {
            ids.extend(listed);
        }
        rest = &after[end + CLOSING.len()..];
    }
    ids
}

/// `messages` without the ones in `proven` (pure).
fn without_proven(messages: Vec<u64>, proven: Option<&BTreeSet<u64>>) -> Vec<u64> {
    match proven {
        Some(proven) => messages
            .into_iter()
            .filter(|id| !proven.contains(id))
            .collect(),
        None => messages,
    }
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
    /// each with the printer messages it was queued as since its current allocation
    /// (see [`UnsettledSerial`]).
    pub fn unsettled_serials(&self, batch: BatchId) -> StoreResult<Vec<UnsettledSerial>> {
        let what = format!("reading the unsettled serials of batch {}", batch.0);
        let mut messages: BTreeMap<String, Vec<u64>> = BTreeMap::new();
        for (message_id, serial) in self.unsettled_printer_messages(batch)? {
            messages.entry(serial).or_default().push(message_id);
        }
        let proven = self.earlier_return_proofs(batch)?;
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
            let message_ids = without_proven(
                messages.remove(&serial).unwrap_or_default(),
                proven.get(&serial),
            );
            out.push(UnsettledSerial {
                serial,
                state: state_of(code)?,
                message_ids,
            });
        }
        Ok(out)
    }

    /// For the serials allocated to `batch` now and not settled, the message ids that
    /// the printer proofs of their earlier returns from this batch name as never
    /// printed, by serial.
    fn earlier_return_proofs(
        &self,
        batch: BatchId,
    ) -> StoreResult<BTreeMap<String, BTreeSet<u64>>> {
        let what = format!(
            "reading the earlier returns of the serials of batch {}",
            batch.0
        );
        let mut stmt = self
            .conn
            .prepare(
                "SELECT s.serial, r.evidence FROM serial_returns r JOIN serials s ON s.id = r.serial_id
                 WHERE r.batch_id = ?1 AND s.batch_id = ?1 AND s.state IN (2, 4)",
            )
            .context(&what)?;
        let rows = stmt
            .query_map([batch.0], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })
            .context(&what)?;
        let mut out: BTreeMap<String, BTreeSet<u64>> = BTreeMap::new();
        for row in rows {
            let (serial, evidence) = row.context(&what)?;
            let ids = messages_proven_unprinted(&evidence);
            if !ids.is_empty() {
                out.entry(serial).or_default().extend(ids);
            }
        }
        Ok(out)
    }

    /// Which of `ids` are printer messages the station queued for `batch`.
    pub fn batch_message_ids_among(
        &self,
        batch: BatchId,
        ids: &[u64],
    ) -> StoreResult<BTreeSet<u64>> {
        let what = format!("matching printer message ids to batch {}", batch.0);
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT 1 FROM printer_messages WHERE message_id = ?1 AND batch_id = ?2",
            )
            .context(&what)?;
        let mut out = BTreeSet::new();
        for &id in ids {
            let Ok(key) = i64::try_from(id) else {
                continue;
            };
            let found = stmt
                .query_row(params![key, batch.0], |_| Ok(()))
                .optional()
                .context(&what)?;
            if found.is_some() {
                out.insert(id);
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_messages_a_printer_proof_names_are_read_from_either_wording() {
        assert_eq!(
            messages_proven_unprinted("buffer clear report listed message 7 as never printed"),
            [7]
        );
        assert_eq!(
            messages_proven_unprinted(
                "start-up recovery: the printer's buffer clear listed message 3, 19 as never printed"
            ),
            [3, 19]
        );
    }

    #[test]
    fn evidence_in_any_other_form_names_no_message() {
        for evidence in [
            "the serial never left the station: it was never queued to a printer",
            "listed message 7",
            "listed message  as never printed",
            "listed message 7,8 as never printed",
            "listed message -7 as never printed",
            "listed message +7 as never printed",
            "listed message 7, x as never printed",
            "listed message 99999999999999999999999 as never printed",
            "",
        ] {
            assert_eq!(
                messages_proven_unprinted(evidence),
                Vec::<u64>::new(),
                "{evidence}"
            );
        }
        // Only the well-formed list counts when the text holds more than one.
        assert_eq!(
            messages_proven_unprinted(
                "listed message 4, y as never printed; listed message 5 as never printed"
            ),
            [5]
        );
    }

    #[test]
    fn only_messages_proven_by_an_earlier_return_are_left_out() {
        let proven: BTreeSet<u64> = [3, 4].into_iter().collect();
        assert_eq!(without_proven(vec![3, 9], Some(&proven)), [9]);
        assert_eq!(without_proven(vec![3, 4], Some(&proven)), Vec::<u64>::new());
        assert_eq!(without_proven(vec![3, 9], None), [3, 9]);
    }
}
