//! The reads the electronic batch record needs (`crate::report::record`), all
//! read-only and all about one batch: its items per minute, its last rejects, how
//! its items relate to its serials, the audit rows that belong to it, the tallies of
//! its line records, its printer-proven returns and its outbox rows per client.
//!
//! Times are the store's own UTC text (`YYYY-MM-DDTHH:MM:SS.mmmZ`, see
//! [`crate::store::clock`]), so that they compare and cut (`substr`) as text.
//!
//! How long decisions took is not in `items`: `items.created_at` and
//! `items.decided_at` are both the time of the transaction that stores the verdict,
//! not of the camera read. The station measures the latency itself and stores a
//! histogram per batch (`decision_latency`, see `crate::station::latency`).

use std::collections::BTreeMap;

use rusqlite::{OptionalExtension, params};

use crate::store::Store;
use crate::store::audit::AuditEntry;
use crate::store::batches::BatchId;
use crate::store::error::{SqlContext, StoreError, StoreResult};
use crate::store::outbox::SERIAL_ROW_KINDS;
use crate::store::state::SerialState;

/// One bin of a batch's decision-latency histogram.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct LatencyBin {
    /// Lower edge of the bin (ms); the bin ends at the next bin's edge.
    pub lower_ms: u32,
    pub items: u64,
    /// The largest latency in the bin (µs).
    pub max_us: u64,
}

/// The items of one batch decided in one minute.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MinuteItems {
    /// `YYYY-MM-DDTHH:MM` (UTC) of the verdict, or of the item's first record when
    /// it has no verdict.
    pub minute: String,
    pub good: u64,
    /// Rejects by reason (`""` when the reject has no reason recorded).
    pub rejects_by_reason: BTreeMap<String, u64>,
    /// Items recorded without a verdict (a fate only).
    pub undecided: u64,
}

/// A rejected item.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RejectedItem {
    /// The PLC's item number.
    pub seq: i64,
    /// The printed serial of this batch identified on the item, if any.
    pub serial: Option<String>,
    pub reason: Option<String>,
    /// 0.0 (F) to 4.0 (A), when the camera graded a read.
    pub grade: Option<f64>,
    /// When the verdict was recorded.
    pub at: String,
    pub fate: Option<String>,
}

/// Items of a batch with the same verdict, reason, fate and serial link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemClass {
    /// `good`, `reject`, or `None` (only a fate recorded).
    pub verdict: Option<String>,
    pub reason: Option<String>,
    /// `exited_good`, `rejected_confirmed`, `rejected_unconfirmed`, or `None`.
    pub fate: Option<String>,
    /// The item's record names a serial: the one a GOOD item owns, or the printed
    /// serial of this batch identified on a rejected item.
    pub names_serial: bool,
    /// The named serial's state now (`None`: names none, or names one that is not
    /// in the product's pool).
    pub serial_state: Option<SerialState>,
    /// The named serial is bound to this batch.
    pub serial_in_batch: bool,
    pub items: u64,
}

/// Items of a time window with the same verdict, reason, fate and serial link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemTally {
    pub verdict: Option<String>,
    pub reason: Option<String>,
    pub fate: Option<String>,
    pub names_serial: bool,
    pub items: u64,
}

/// How many items a batch has and when the first and last were recorded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ItemSpan {
    pub items: u64,
    pub first_at: Option<String>,
    pub last_at: Option<String>,
}

/// The line-record audit rows of a batch (one per group commit).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineRecordGroups {
    pub groups: u64,
    pub first_at: Option<String>,
    pub last_at: Option<String>,
    /// Per actor (the operator the station acted for, or `recovery`), the sum of
    /// each record kind (`Commissioned`, `LabelScrapped`, `SNInvalid`,
    /// `Unallocated`, `verdict_good`, `fate`, ...).
    pub tallies: BTreeMap<String, BTreeMap<String, u64>>,
}

/// Serials of a batch returned to the pool, by the printer that gave the proof.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReturnGroup {
    /// The printer's name, or `none (never sent)` for serials never queued.
    pub printer: String,
    pub serials: u64,
    /// One of the proofs, as an example.
    pub example_evidence: String,
    pub first_at: String,
    pub last_at: String,
}

/// One client's outbox rows of a batch.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct BatchDelivery {
    pub client_id: String,
    /// Per-serial rows not yet put into an EPCIS document.
    pub serial_rows_waiting: u64,
    /// Per-serial rows already put into documents.
    pub serial_rows_chunked: u64,
    /// Per-serial rows by kind (`commissioned`, `scrapped`, ...), all states.
    pub serial_rows_by_kind: BTreeMap<String, u64>,
    /// EPCIS documents not yet sent and not in flight.
    pub documents_pending: u64,
    /// Documents whose capture the site server accepted but has not finished.
    pub documents_in_flight: u64,
    /// Documents the site server refused (until `upload retry`).
    pub documents_parked: u64,
    pub documents_sent: u64,
    /// When the last document was sent.
    pub last_sent_at: Option<String>,
    /// The newest error of a row not yet sent.
    pub last_error: Option<String>,
}

/// The product and client of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchProduct {
    pub product_name: String,
    pub client_id: String,
    pub client_name: String,
}

fn count(n: i64) -> u64 {
    n.max(0) as u64
}

fn state_of(code: i64) -> StoreResult<SerialState> {
    SerialState::from_code(code)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown serial state code {code}")))
}

fn subject(batch: BatchId) -> String {
    format!("batch {}", batch.0)
}

impl Store {
    /// The product and client a batch is for.
    pub fn batch_product(&self, batch: BatchId) -> StoreResult<Option<BatchProduct>> {
        self.conn
            .query_row(
                "SELECT p.name, p.client_id, c.name FROM batches b
                 JOIN products p ON p.gtin = b.gtin JOIN clients c ON c.id = p.client_id
                 WHERE b.id = ?1",
                [batch.0],
                |r| {
                    Ok(BatchProduct {
                        product_name: r.get(0)?,
                        client_id: r.get(1)?,
                        client_name: r.get(2)?,
                    })
                },
            )
            .optional()
            .context("reading the product and client of a batch")
    }

    /// How many items a batch has, and when the first and the last were recorded.
    pub fn batch_item_span(&self, batch: BatchId) -> StoreResult<ItemSpan> {
        self.conn
            .query_row(
                "SELECT COUNT(*), MIN(created_at), MAX(COALESCE(decided_at, created_at))
                 FROM items WHERE batch_id = ?1",
                [batch.0],
                |r| {
                    Ok(ItemSpan {
                        items: count(r.get(0)?),
                        first_at: r.get(1)?,
                        last_at: r.get(2)?,
                    })
                },
            )
            .context("reading the time span of a batch's items")
    }

    /// The items of a batch per minute of their verdict, oldest first. Minutes
    /// without items are absent.
    pub fn batch_items_per_minute(&self, batch: BatchId) -> StoreResult<Vec<MinuteItems>> {
        let what = format!("counting the items of batch {} per minute", batch.0);
        let mut stmt = self
            .conn
            .prepare(
                "SELECT substr(COALESCE(decided_at, created_at), 1, 16) AS minute,
                        COALESCE(verdict, '') AS v, COALESCE(reason, '') AS why, COUNT(*)
                 FROM items WHERE batch_id = ?1
                 GROUP BY minute, v, why ORDER BY minute",
            )
            .context(&what)?;
        let rows = stmt
            .query_map([batch.0], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            })
            .context(&what)?;
        let mut out: Vec<MinuteItems> = Vec::new();
        for row in rows {
            let (minute, verdict, reason, n) = row.context(&what)?;
            let n = count(n);
            if out.last().is_none_or(|m| m.minute != minute) {
                out.push(MinuteItems {
                    minute: minute.clone(),
                    ..MinuteItems::default()
                });
            }
            let Some(bucket) = out.last_mut() else {
                continue;
            };
            match verdict.as_str() {
                "good" => bucket.good += n,
                "reject" => *bucket.rejects_by_reason.entry(reason).or_default() += n,
                _ => bucket.undecided += n,
            }
        }
        Ok(out)
    }

    /// The last `limit` rejected items of a batch, newest first.
    pub fn batch_last_rejects(
        &self,
        batch: BatchId,
        limit: usize,
    ) -> StoreResult<Vec<RejectedItem>> {
        let what = format!("reading the last rejects of batch {}", batch.0);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut stmt = self
            .conn
            .prepare(
                "SELECT seq, serial_text, reason, grade, COALESCE(decided_at, created_at), fate
                 FROM items WHERE batch_id = ?1 AND verdict = 'reject'
                 ORDER BY id DESC LIMIT ?2",
            )
            .context(&what)?;
        let rows = stmt
            .query_map(params![batch.0, limit], |r| {
                Ok(RejectedItem {
                    seq: r.get(0)?,
                    serial: r.get(1)?,
                    reason: r.get(2)?,
                    grade: r.get(3)?,
                    at: r.get(4)?,
                    fate: r.get(5)?,
                })
            })
            .context(&what)?;
        rows.map(|r| r.context(&what)).collect()
    }

    /// The items of a batch grouped by verdict, reason, fate and the state of the
    /// serial their record names: how the items explain the serial counts.
    pub fn batch_item_classes(&self, batch: BatchId) -> StoreResult<Vec<ItemClass>> {
        let what = format!("relating the items of batch {} to its serials", batch.0);
        let pool: i64 = self
            .conn
            .query_row(
                "SELECT p.id FROM pools p JOIN batches b ON b.gtin = p.gtin WHERE b.id = ?1",
                [batch.0],
                |r| r.get(0),
            )
            .optional()
            .context(&what)?
            .unwrap_or(-1);
        let mut stmt = self
            .conn
            .prepare(
                "SELECT i.verdict AS v, i.reason AS why, i.fate AS f,
                        (i.serial_id IS NOT NULL OR i.serial_text IS NOT NULL) AS named,
                        s.state AS st, (s.batch_id IS ?1) AS in_batch, COUNT(*)
                 FROM items i
                 LEFT JOIN serials s ON s.id = COALESCE(
                     i.serial_id,
                     (SELECT x.id FROM serials x WHERE x.pool_id = ?2 AND x.serial = i.serial_text))
                 WHERE i.batch_id = ?1
                 GROUP BY v, why, f, named, st, in_batch",
            )
            .context(&what)?;
        let rows = stmt
            .query_map(params![batch.0, pool], |r| {
                Ok((
                    r.get::<_, Option<String>>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, Option<i64>>(4)?,
                    r.get::<_, i64>(5)?,
                    r.get::<_, i64>(6)?,
                ))
            })
            .context(&what)?;
        let mut out = Vec::new();
        for row in rows {
            let (verdict, reason, fate, named, state, in_batch, n) = row.context(&what)?;
            out.push(ItemClass {
                verdict,
                reason,
                fate,
                names_serial: named != 0,
                serial_state: state.map(state_of).transpose()?,
                serial_in_batch: in_batch != 0,
                items: count(n),
            });
        }
        Ok(out)
    }

    /// The serials bound to a batch that no item's record names, by state (e.g.
    /// printed serials scrapped because they were never verified good, or serials
    /// invalidated before they reached an item).
    pub fn batch_serials_without_item(
        &self,
        batch: BatchId,
    ) -> StoreResult<BTreeMap<SerialState, u64>> {
        let what = format!("finding the serials of batch {} no item names", batch.0);
        let mut stmt = self
            .conn
            .prepare(
                "SELECT s.state, COUNT(*) FROM serials s
                 WHERE s.batch_id = ?1
                   AND s.id NOT IN (SELECT serial_id FROM items
                                    WHERE batch_id = ?1 AND serial_id IS NOT NULL)
                   AND s.serial NOT IN (SELECT serial_text FROM items
                                        WHERE batch_id = ?1 AND serial_text IS NOT NULL)
                 GROUP BY s.state",
            )
            .context(&what)?;
        let rows = stmt
            .query_map([batch.0], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
            })
            .context(&what)?;
        let mut out = BTreeMap::new();
        for row in rows {
            let (code, n) = row.context(&what)?;
            *out.entry(state_of(code)?).or_default() += count(n);
        }
        Ok(out)
    }

    /// The items of a batch first recorded between `from` and `to` (inclusive,
    /// store time text; `None`: no end), grouped by verdict, reason and fate.
    pub fn batch_items_between(
        &self,
        batch: BatchId,
        from: &str,
        to: Option<&str>,
    ) -> StoreResult<Vec<ItemTally>> {
        let what = format!("counting the items of batch {} in a time window", batch.0);
        let mut stmt = self
            .conn
            .prepare(
                "SELECT verdict AS v, reason AS why, fate AS f,
                        (serial_id IS NOT NULL OR serial_text IS NOT NULL) AS named, COUNT(*)
                 FROM items
                 WHERE batch_id = ?1 AND created_at >= ?2 AND (?3 IS NULL OR created_at <= ?3)
                 GROUP BY v, why, f, named",
            )
            .context(&what)?;
        let rows = stmt
            .query_map(params![batch.0, from, to], |r| {
                Ok((
                    r.get::<_, Option<String>>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, i64>(4)?,
                ))
            })
            .context(&what)?;
        let mut out = Vec::new();
        for row in rows {
            let (verdict, reason, fate, named, n) = row.context(&what)?;
            out.push(ItemTally {
                verdict,
                reason,
                fate,
                names_serial: named != 0,
                items: count(n),
            });
        }
        Ok(out)
    }

    /// The `line.records` audit rows of a batch: how many, when, and per actor the
    /// sum of each kind of record they list.
    pub fn batch_line_record_groups(&self, batch: BatchId) -> StoreResult<LineRecordGroups> {
        let what = format!("reading the line records of batch {}", batch.0);
        let subject = subject(batch);
        let (groups, first_at, last_at) = self
            .conn
            .query_row(
                "SELECT COUNT(*), MIN(at), MAX(at) FROM audit
                 WHERE action = 'line.records' AND subject = ?1",
                [&subject],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, Option<String>>(1)?,
                        r.get::<_, Option<String>>(2)?,
                    ))
                },
            )
            .context(&what)?;
        let mut stmt = self
            .conn
            .prepare(
                "SELECT a.actor, j.key, CAST(SUM(j.value) AS INTEGER)
                 FROM audit a, json_each(a.after, '$.records') AS j
                 WHERE a.action = 'line.records' AND a.subject = ?1
                 GROUP BY a.actor, j.key",
            )
            .context(&what)?;
        let rows = stmt
            .query_map([&subject], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<i64>>(2)?,
                ))
            })
            .context(&what)?;
        let mut tallies: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
        for row in rows {
            let (actor, key, n) = row.context(&what)?;
            *tallies.entry(actor).or_default().entry(key).or_default() += count(n.unwrap_or(0));
        }
        Ok(LineRecordGroups {
            groups: count(groups),
            first_at,
            last_at,
            tallies,
        })
    }

    /// The audit rows that belong to a batch, oldest first, at most `limit`: rows
    /// whose subject is `batch N`; the decommissioning of its serials; signatures
    /// (and failed attempts) for one of its serials (`serial X`); and signatures
    /// for the `active batch` made while this batch was the newest and not closed.
    /// Without its `line.records` rows (see [`Store::batch_line_record_groups`]).
    pub fn batch_audit_rows(&self, batch: BatchId, limit: usize) -> StoreResult<Vec<AuditEntry>> {
        let what = format!("reading the audit rows of batch {}", batch.0);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut stmt = self
            .conn
            .prepare(
                "SELECT a.id, a.at, a.actor, a.action, a.subject, a.before, a.after, a.prev_hash, a.hash
                 FROM audit a
                 WHERE a.action != 'line.records'
                   AND (a.subject = ?1
                        OR (a.action = 'serial.decommission'
                            AND json_extract(a.after, '$.batch') = ?2)
                        OR (a.action IN ('signature', 'signature.failed')
                            AND ((a.subject = 'active batch'
                                  AND a.at >= (SELECT created_at FROM batches WHERE id = ?2)
                                  AND a.at <= COALESCE((SELECT closed_at FROM batches WHERE id = ?2), '9999')
                                  AND a.at < COALESCE((SELECT MIN(created_at) FROM batches WHERE id > ?2), '9999'))
                                 OR (a.subject LIKE 'serial %'
                                     AND EXISTS (
                                         SELECT 1 FROM serials s
                                         WHERE s.pool_id = (SELECT p.id FROM pools p
                                                            JOIN batches b ON b.gtin = p.gtin
                                                            WHERE b.id = ?2)
                                           AND s.serial = substr(a.subject, 8)
                                           AND s.batch_id = ?2)))))
                 ORDER BY a.id LIMIT ?3",
            )
            .context(&what)?;
        let rows = stmt
            .query_map(
                params![subject(batch), batch.0, limit],
                crate::store::audit::entry_from_row,
            )
            .context(&what)?;
        rows.map(|r| r.context(&what)).collect()
    }

    /// The decision-latency histogram of a batch: per bin (lower edge in ms, from
    /// the lowest), the items and the largest latency in µs. Empty when the station
    /// recorded none (a batch run by an older version, or no verdict written).
    pub fn batch_decision_latency(&self, batch: BatchId) -> StoreResult<Vec<LatencyBin>> {
        let what = format!("reading the decision latency of batch {}", batch.0);
        let mut stmt = self
            .conn
            .prepare(
                "SELECT lower_ms, items, max_us FROM decision_latency
                 WHERE batch_id = ?1 ORDER BY lower_ms",
            )
            .context(&what)?;
        let rows = stmt
            .query_map([batch.0], |r| {
                Ok(LatencyBin {
                    lower_ms: r.get::<_, i64>(0)?.clamp(0, i64::from(u32::MAX)) as u32,
                    items: count(r.get(1)?),
                    max_us: count(r.get(2)?),
                })
            })
            .context(&what)?;
        rows.map(|r| r.context(&what)).collect()
    }

    /// The serials of a batch returned to the pool with proof, by printer.
    pub fn batch_returns(&self, batch: BatchId) -> StoreResult<Vec<ReturnGroup>> {
        let what = format!("reading the returns of batch {}", batch.0);
        let mut stmt = self
            .conn
            .prepare(
                "SELECT printer, COUNT(*), MIN(evidence), MIN(returned_at), MAX(returned_at)
                 FROM serial_returns WHERE batch_id = ?1 GROUP BY printer ORDER BY printer",
            )
            .context(&what)?;
        let rows = stmt
            .query_map([batch.0], |r| {
                Ok(ReturnGroup {
                    printer: r.get(0)?,
                    serials: count(r.get(1)?),
                    example_evidence: r.get(2)?,
                    first_at: r.get(3)?,
                    last_at: r.get(4)?,
                })
            })
            .context(&what)?;
        rows.map(|r| r.context(&what)).collect()
    }

    /// Per client, the outbox rows of a batch: per-serial rows and EPCIS documents
    /// by delivery state.
    pub fn batch_delivery(&self, batch: BatchId) -> StoreResult<Vec<BatchDelivery>> {
        let what = format!("reading the outbox rows of batch {}", batch.0);
        let mut stmt = self
            .conn
            .prepare(
                "SELECT client_id, kind, state, (capture_id IS NOT NULL) AS capturing, COUNT(*),
                        MAX(CASE WHEN state = 'sent' THEN updated_at END)
                 FROM outbox WHERE batch_id = ?1
                 GROUP BY client_id, kind, state, capturing ORDER BY client_id",
            )
            .context(&what)?;
        let rows = stmt
            .query_map([batch.0], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, i64>(4)?,
                    r.get::<_, Option<String>>(5)?,
                ))
            })
            .context(&what)?;
        let mut clients: BTreeMap<String, BatchDelivery> = BTreeMap::new();
        for row in rows {
            let (client_id, kind, state, capturing, n, sent_at) = row.context(&what)?;
            let n = count(n);
            let entry = clients
                .entry(client_id.clone())
                .or_insert_with(|| BatchDelivery {
                    client_id,
                    ..BatchDelivery::default()
                });
            if SERIAL_ROW_KINDS.contains(&kind.as_str()) {
                *entry.serial_rows_by_kind.entry(kind).or_default() += n;
                if state == "sent" {
                    entry.serial_rows_chunked += n;
                } else {
                    entry.serial_rows_waiting += n;
                }
                continue;
            }
            match state.as_str() {
                "sent" => {
                    entry.documents_sent += n;
                    if sent_at > entry.last_sent_at {
                        entry.last_sent_at = sent_at;
                    }
                }
                "failed" => entry.documents_parked += n,
                _ if capturing != 0 => entry.documents_in_flight += n,
                _ => entry.documents_pending += n,
            }
        }
        let mut errors = self
            .conn
            .prepare(
                "SELECT client_id, last_error FROM outbox
                 WHERE batch_id = ?1 AND last_error IS NOT NULL AND state != 'sent'
                 ORDER BY updated_at DESC, id DESC",
            )
            .context(&what)?;
        let rows = errors
            .query_map([batch.0], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })
            .context(&what)?;
        for row in rows {
            let (client_id, error) = row.context(&what)?;
            if let Some(entry) = clients.get_mut(&client_id)
                && entry.last_error.is_none()
            {
                entry.last_error = Some(error);
            }
        }
        Ok(clients.into_values().collect())
    }
}
