//! Line records: what the station runtime writes while a batch runs, and the
//! reads its reports and recovery need.
//!
//! [`Store::apply_line_records`] applies one group commit of the line engine's
//! persists (serial transitions, printer messages, item verdicts and fates, batch
//! state) in ONE transaction, together with the outbox rows for every commissioned,
//! scrapped or invalidated serial and one audit row. The records are plain store
//! values ([`LineRecord`]) so the store does not depend on the engine.

use std::collections::BTreeMap;

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde_json::json;

use crate::gs1::Gtin;
use crate::store::audit::{self, AuditRecord};
use crate::store::batches::{BatchId, read_batch};
use crate::store::error::{SqlContext, StoreError, StoreResult};
use crate::store::state::{SerialState, can_transition, needs_printer_proof};
use crate::store::{Actor, Durability, Store, clock};

/// Migration 2: printer messages (message id -> serial, for recovery and unique ids),
/// the serial text and PLC fate of every item, and the engine's own batch state.
/// Migration 7: the decision-latency histogram of each batch (see
/// `crate::station::latency`): one row per bin, added to by the line's commits.
pub(crate) const V7_SQL: &str = r#"
CREATE TABLE decision_latency (
    batch_id   INTEGER NOT NULL REFERENCES batches(id),
    lower_ms   INTEGER NOT NULL CHECK (lower_ms >= 0),
    items      INTEGER NOT NULL CHECK (items >= 0),
    max_us     INTEGER NOT NULL CHECK (max_us >= 0),
    PRIMARY KEY (batch_id, lower_ms)
) STRICT, WITHOUT ROWID;
"#;

pub(crate) const V2_SQL: &str = r#"
CREATE TABLE printer_messages (
    message_id INTEGER PRIMARY KEY CHECK (message_id > 0),
    batch_id   INTEGER NOT NULL REFERENCES batches(id),
    serial_id  INTEGER NOT NULL REFERENCES serials(id),
    queued_at  TEXT NOT NULL
) STRICT;
CREATE INDEX printer_messages_by_batch ON printer_messages (batch_id);

ALTER TABLE items ADD COLUMN serial_text TEXT;
ALTER TABLE items ADD COLUMN fate TEXT
    CHECK (fate IN ('exited_good', 'rejected_confirmed', 'rejected_unconfirmed'));

CREATE TABLE batch_line_states (
    batch_id   INTEGER PRIMARY KEY REFERENCES batches(id),
    state      TEXT NOT NULL,
    reason     TEXT,
    counts     TEXT,  -- JSON, set at close
    updated_at TEXT NOT NULL
) STRICT;
"#;

/// Migration 2 seeds nothing.
pub(crate) fn seed_nothing(_tx: &Transaction<'_>) -> rusqlite::Result<()> {
    Ok(())
}

/// The batch a group of line records belongs to, with what the outbox rows carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineBatch {
    pub batch: BatchId,
    pub gtin: Gtin,
    pub client_id: String,
    pub lot: String,
    pub expiry: String,
}

/// Where a serial goes, and whether the site server must learn of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SerialOutcome {
    /// `Allocated` → `Encoded` (no outbox row).
    Encoded,
    /// `Encoded` → `Commissioned` (outbox `commissioned`).
    Commissioned,
    /// → `LabelScrapped` (outbox `scrapped`).
    Scrapped,
    /// `Allocated` → `SNInvalid` (outbox `invalidated`).
    Invalidated,
}

impl SerialOutcome {
    fn target(self) -> SerialState {
        match self {
            SerialOutcome::Encoded => SerialState::Encoded,
            SerialOutcome::Commissioned => SerialState::Commissioned,
            SerialOutcome::Scrapped => SerialState::LabelScrapped,
            SerialOutcome::Invalidated => SerialState::SnInvalid,
        }
    }

    fn outbox_kind(self) -> Option<&'static str> {
        match self {
            SerialOutcome::Encoded => None,
            SerialOutcome::Commissioned => Some("commissioned"),
            SerialOutcome::Scrapped => Some("scrapped"),
            SerialOutcome::Invalidated => Some("invalidated"),
        }
    }
}

/// One state change of a running batch.
#[derive(Debug, Clone, PartialEq)]
pub enum LineRecord {
    /// The engine's batch state (`challenge`, `running`, `paused`, `stopping`, ...).
    BatchState {
        state: String,
        reason: Option<String>,
    },
    /// A serial (still Allocated) is about to be sent to the printer as this message.
    PrintQueued { message_id: u64, serial: String },
    /// A serial changes state; `detail` says why (kept in the audit row).
    Serial {
        serial: String,
        outcome: SerialOutcome,
        detail: String,
    },
    /// An Allocated serial goes back to the pool with this proof from `printer`.
    SerialReturned {
        serial: String,
        printer: String,
        evidence: String,
    },
    /// The verdict for an item.
    ItemVerdict {
        seq: u32,
        good: bool,
        reason: Option<String>,
        serial: Option<String>,
        grade: Option<f64>,
    },
    /// The PLC's report of an item at the gate.
    ItemFate {
        seq: u32,
        fate: String,
        serial: Option<String>,
    },
    /// Decision latencies measured since the last commit: per histogram bin (lower
    /// edge in ms), the items and the largest latency (µs).
    DecisionLatency { bins: Vec<(u32, u64, u64)> },
    /// The batch is closed with these counts.
    BatchClosed {
        counts: serde_json::Value,
        unbalanced_reason: Option<String>,
    },
}

/// Maps the engine's batch states onto the `batches.state` column.
fn stored_batch_state(engine_state: &str) -> &'static str {
    match engine_state {
        "paused" => "paused",
        "stopped" | "challenge_failed" => "stopped",
        "closed" => "closed",
        _ => "running",
    }
}

struct SerialRow {
    id: i64,
    state: SerialState,
    batch: Option<i64>,
}

fn find_serial_row(tx: &Connection, pool: i64, serial: &str) -> StoreResult<Option<SerialRow>> {
    let row: Option<(i64, i64, Option<i64>)> = tx
        .prepare_cached(
            "SELECT id, state, batch_id FROM serials WHERE pool_id = ?1 AND serial = ?2",
        )
        .context("looking up a serial")?
        .query_row(params![pool, serial], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()
        .context("looking up a serial")?;
    row.map(|(id, code, batch)| {
        let state = SerialState::from_code(code)
            .ok_or_else(|| StoreError::Corrupt(format!("serial {serial} has state code {code}")))?;
        Ok(SerialRow { id, state, batch })
    })
    .transpose()
}

fn batch_serial(
    tx: &Connection,
    pool: i64,
    line: &LineBatch,
    serial: &str,
) -> StoreResult<SerialRow> {
    let row = find_serial_row(tx, pool, serial)?.ok_or_else(|| {
        StoreError::NotFound(format!(
            "serial {serial} of GTIN {} is not in the pool: the line engine named a serial the store never allocated",
            line.gtin
        ))
    })?;
    if row.batch != Some(line.batch.0) {
        return Err(StoreError::Invalid(format!(
            "serial {serial} of GTIN {} is not allocated to batch {}",
            line.gtin, line.batch.0
        )));
    }
    Ok(row)
}

fn pool_of(tx: &Connection, gtin: &Gtin) -> StoreResult<i64> {
    tx.prepare_cached("SELECT id FROM pools WHERE gtin = ?1")
        .and_then(|mut s| s.query_row([gtin.as_str()], |r| r.get(0)).optional())
        .context("finding the serial pool")?
        .ok_or_else(|| {
            StoreError::NotFound(format!(
                "there is no serial pool for GTIN {gtin}: import or generate serials first"
            ))
        })
}

impl Store {
    /// Applies one group of line records in one transaction (all or nothing), with
    /// an outbox row per commissioned, scrapped or invalidated serial and one audit
    /// row; synced before it returns.
    pub fn apply_line_records(
        &mut self,
        line: &LineBatch,
        records: &[LineRecord],
        actor: &Actor,
    ) -> StoreResult<()> {
        self.apply_line_records_with(line, records, actor, Durability::Synced)
    }

    /// [`Store::apply_line_records`] with the commit's `durability`: the station
    /// defers the sync of records no action outside the process waits on
    /// (`crate::station::policy::durability`).
    pub fn apply_line_records_with(
        &mut self,
        line: &LineBatch,
        records: &[LineRecord],
        actor: &Actor,
        durability: Durability,
    ) -> StoreResult<()> {
        self.with_durability(durability, |store| {
            store.write_line_records(line, records, actor)
        })
    }

    fn write_line_records(
        &mut self,
        line: &LineBatch,
        records: &[LineRecord],
        actor: &Actor,
    ) -> StoreResult<()> {
        if records.is_empty() {
            return Ok(());
        }
        let what = format!("recording the line state of batch {}", line.batch.0);
        let tx = self.write_tx(&what)?;
        let pool = pool_of(&tx, &line.gtin)?;
        let now = clock::now();
        let now_ms = clock::now_unix_ms();
        let mut tally = BTreeMap::<&'static str, u64>::new();
        for record in records {
            match record {
                LineRecord::BatchState { state, reason } => {
                    set_state(&tx, line, actor, state, reason.as_deref(), None, &now)?;
                    *tally.entry("batch_state").or_default() += 1;
                }
                LineRecord::PrintQueued { message_id, serial } => {
                    let row = batch_serial(&tx, pool, line, serial)?;
                    let id = i64::try_from(*message_id).map_err(|_| {
                        StoreError::Invalid(format!("message id {message_id} is too large"))
                    })?;
                    tx.prepare_cached(
                        "INSERT INTO printer_messages (message_id, batch_id, serial_id, queued_at) VALUES (?1, ?2, ?3, ?4)",
                    )
                    .context(&what)?
                    .execute(params![id, line.batch.0, row.id, now])
                    .context(&format!("recording printer message {message_id} (ids must never repeat)"))?;
                    *tally.entry("print_queued").or_default() += 1;
                }
                LineRecord::Serial {
                    serial,
                    outcome,
                    detail: _,
                } => {
                    let row = batch_serial(&tx, pool, line, serial)?;
                    let to = outcome.target();
                    if needs_printer_proof(row.state, to) || !can_transition(row.state, to) {
                        return Err(StoreError::IllegalTransition {
                            gtin: line.gtin.to_string(),
                            serial: serial.clone(),
                            from: row.state,
                            to,
                        });
                    }
                    tx.prepare_cached(
                        "UPDATE serials SET state = ?1, state_changed_at = ?2 WHERE id = ?3",
                    )
                    .context(&what)?
                    .execute(params![to.code(), now_ms, row.id])
                    .context(&what)?;
                    if let Some(kind) = outcome.outbox_kind() {
                        let payload = json!({
                            "event": kind, "gtin": line.gtin.as_str(), "serial": serial,
                            "lot": line.lot, "expiry": line.expiry, "batch": line.batch.0,
                        })
                        .to_string();
                        tx.prepare_cached(
                            "INSERT INTO outbox (client_id, kind, batch_id, payload, state, created_at, updated_at)
                             VALUES (?1, ?2, ?3, ?4, 'pending', ?5, ?5)",
                        )
                        .context(&what)?
                        .execute(params![line.client_id, kind, line.batch.0, payload, now])
                        .context(&what)?;
                    }
                    *tally.entry(to.name()).or_default() += 1;
                }
                LineRecord::SerialReturned {
                    serial,
                    printer,
                    evidence,
                } => {
                    let row = batch_serial(&tx, pool, line, serial)?;
                    if row.state != SerialState::Allocated {
                        return Err(StoreError::Invalid(format!(
                            "serial {serial} is {}, not Allocated: only an allocated serial can go back to the pool",
                            row.state
                        )));
                    }
                    tx.prepare_cached(
                        "INSERT INTO serial_returns (serial_id, batch_id, printer, evidence, returned_at, actor)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    )
                    .context(&what)?
                    .execute(params![row.id, line.batch.0, printer, evidence, now, actor.as_str()])
                    .context(&what)?;
                    let proof = tx.last_insert_rowid();
                    tx.prepare_cached(
                        "UPDATE serials SET state = 1, batch_id = NULL, return_proof_id = ?1, state_changed_at = ?2 WHERE id = ?3",
                    )
                    .context(&what)?
                    .execute(params![proof, now_ms, row.id])
                    .context(&what)?;
                    *tally.entry("Unallocated").or_default() += 1;
                }
                LineRecord::ItemVerdict {
                    seq,
                    good,
                    reason,
                    serial,
                    grade,
                } => {
                    // Only a GOOD item owns its serial (a duplicate read names a serial
                    // that another item owns); the text is kept for every item.
                    let serial_id = match (good, serial) {
                        (true, Some(text)) => Some(batch_serial(&tx, pool, line, text)?.id),
                        _ => None,
                    };
                    tx.prepare_cached(
                        "INSERT INTO items (batch_id, seq, serial_id, verdict, reason, grade, created_at, decided_at, serial_text)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8)
                         ON CONFLICT (batch_id, seq) DO UPDATE SET serial_id = excluded.serial_id,
                           verdict = excluded.verdict, reason = excluded.reason, grade = excluded.grade,
                           decided_at = excluded.decided_at, serial_text = excluded.serial_text",
                    )
                    .context(&what)?
                    .execute(params![
                        line.batch.0,
                        i64::from(*seq),
                        serial_id,
                        if *good { "good" } else { "reject" },
                        reason,
                        grade,
                        now,
                        serial
                    ])
                    .context(&what)?;
                    *tally
                        .entry(if *good {
                            "verdict_good"
                        } else {
                            "verdict_reject"
                        })
                        .or_default() += 1;
                }
                LineRecord::ItemFate { seq, fate, serial } => {
                    tx.prepare_cached(
                        "INSERT INTO items (batch_id, seq, created_at, serial_text, fate) VALUES (?1, ?2, ?3, ?4, ?5)
                         ON CONFLICT (batch_id, seq) DO UPDATE SET fate = excluded.fate,
                           serial_text = COALESCE(items.serial_text, excluded.serial_text)",
                    )
                    .context(&what)?
                    .execute(params![line.batch.0, i64::from(*seq), now, serial, fate])
                    .context(&what)?;
                    *tally.entry("fate").or_default() += 1;
                }
                LineRecord::DecisionLatency { bins } => {
                    for (lower_ms, items, max_us) in bins {
                        tx.prepare_cached(
                            "INSERT INTO decision_latency (batch_id, lower_ms, items, max_us)
                             VALUES (?1, ?2, ?3, ?4)
                             ON CONFLICT (batch_id, lower_ms) DO UPDATE SET
                               items = items + excluded.items,
                               max_us = max(max_us, excluded.max_us)",
                        )
                        .context(&what)?
                        .execute(params![
                            line.batch.0,
                            i64::from(*lower_ms),
                            i64::try_from(*items).unwrap_or(i64::MAX),
                            i64::try_from(*max_us).unwrap_or(i64::MAX)
                        ])
                        .context(&what)?;
                    }
                }
                LineRecord::BatchClosed {
                    counts,
                    unbalanced_reason,
                } => {
                    set_state(
                        &tx,
                        line,
                        actor,
                        "closed",
                        unbalanced_reason.as_deref(),
                        Some(counts),
                        &now,
                    )?;
                }
            }
        }
        audit::append(
            &tx,
            actor,
            AuditRecord {
                action: "line.records",
                subject: format!("batch {}", line.batch.0),
                before: None,
                after: Some(json!({ "records": tally })),
            },
        )?;
        tx.commit().context(&what)
    }

    /// The next printer message id: above every id ever recorded, so ids never repeat
    /// across batches and restarts.
    pub fn next_message_id(&self) -> StoreResult<u64> {
        let max: Option<i64> = self
            .conn
            .query_row("SELECT MAX(message_id) FROM printer_messages", [], |r| {
                r.get(0)
            })
            .context("reading the last printer message id")?;
        Ok(max.map_or(1, |m| m.max(0) as u64 + 1))
    }

    /// The store's reconciliation counts of a batch.
    pub fn batch_serial_counts(&self, batch: BatchId) -> StoreResult<BatchSerialCounts> {
        let what = format!("counting the serials of batch {}", batch.0);
        let mut counts = BatchSerialCounts::default();
        let mut stmt = self
            .conn
            .prepare("SELECT state, COUNT(*) FROM serials WHERE batch_id = ?1 GROUP BY state")
            .context(&what)?;
        let rows = stmt
            .query_map([batch.0], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
            })
            .context(&what)?;
        for row in rows {
            let (code, n) = row.context(&what)?;
            let n = n.max(0) as u64;
            counts.allocated += n;
            match SerialState::from_code(code) {
                Some(SerialState::Commissioned) => counts.commissioned += n,
                Some(SerialState::LabelScrapped) => counts.scrapped += n,
                Some(SerialState::LabelSampled | SerialState::Sampled) => counts.sampled += n,
                Some(SerialState::SnInvalid) => counts.invalidated += n,
                // Commissioned, then taken out by an operator: still counted as
                // commissioned in the reconciliation, and shown apart.
                Some(SerialState::Inactive | SerialState::Destroyed) => {
                    counts.commissioned += n;
                    counts.decommissioned += n;
                }
                _ => counts.outstanding += n,
            }
        }
        let returned: i64 = self
            .conn
            .query_row(
                "SELECT COUNT(*) FROM serial_returns WHERE batch_id = ?1",
                [batch.0],
                |r| r.get(0),
            )
            .context(&what)?;
        counts.returned = returned.max(0) as u64;
        // What was handed out comes from the allocation records, not from where the
        // serials are now: a lost return proof or a serial unbound behind the
        // station's back then shows as an unbalanced batch.
        let handed_out: i64 = self
            .conn
            .query_row(
                "SELECT COALESCE(SUM(count), 0) FROM allocations WHERE batch_id = ?1",
                [batch.0],
                |r| r.get(0),
            )
            .context(&what)?;
        counts.held = counts.allocated + counts.returned;
        counts.allocated = handed_out.max(0) as u64;
        Ok(counts)
    }

    /// Item verdicts of a batch: rejects by reason and the grade distribution.
    pub fn batch_item_summary(&self, batch: BatchId) -> StoreResult<BatchItemSummary> {
        let what = format!("summarising the items of batch {}", batch.0);
        let mut summary = BatchItemSummary::default();
        let mut stmt = self
            .conn
            .prepare(
                "SELECT verdict, COALESCE(reason, ''), grade, COALESCE(fate, '') FROM items WHERE batch_id = ?1",
            )
            .context(&what)?;
        let rows = stmt
            .query_map([batch.0], |r| {
                Ok((
                    r.get::<_, Option<String>>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<f64>>(2)?,
                    r.get::<_, String>(3)?,
                ))
            })
            .context(&what)?;
        for row in rows {
            let (verdict, reason, grade, fate) = row.context(&what)?;
            match verdict.as_deref() {
                Some("good") => summary.good += 1,
                Some("reject") => {
                    *summary.rejects_by_reason.entry(reason).or_default() += 1;
                }
                _ => {}
            }
            if let Some(grade) = grade {
                let letter = grade_letter(grade);
                *summary.grades.entry(letter.to_string()).or_default() += 1;
            }
            if !fate.is_empty() {
                *summary.fates.entry(fate).or_default() += 1;
            }
        }
        Ok(summary)
    }

    /// The engine's last recorded state of a batch (`None` if never recorded).
    pub fn batch_line_state(&self, batch: BatchId) -> StoreResult<Option<String>> {
        self.conn
            .query_row(
                "SELECT state FROM batch_line_states WHERE batch_id = ?1",
                [batch.0],
                |r| r.get(0),
            )
            .optional()
            .context("reading the line state of a batch")
    }

    /// The serials of a batch that ever went through the printer's queue and are
    /// still Allocated or Encoded, with their message ids (for recovery).
    pub fn unsettled_printer_messages(&self, batch: BatchId) -> StoreResult<Vec<(u64, String)>> {
        let what = format!("reading unsettled prints of batch {}", batch.0);
        let mut stmt = self
            .conn
            .prepare(
                "SELECT m.message_id, s.serial FROM printer_messages m JOIN serials s ON s.id = m.serial_id
                 WHERE m.batch_id = ?1 AND s.state IN (2, 4) ORDER BY m.message_id",
            )
            .context(&what)?;
        let rows = stmt
            .query_map([batch.0], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
            })
            .context(&what)?;
        let mut out = Vec::new();
        for row in rows {
            let (id, serial) = row.context(&what)?;
            out.push((id.max(0) as u64, serial));
        }
        Ok(out)
    }
}

pub(crate) fn grade_letter(grade: f64) -> char {
    match grade {
        g if g >= 3.5 => 'A',
        g if g >= 2.5 => 'B',
        g if g >= 1.5 => 'C',
        g if g >= 0.5 => 'D',
        _ => 'F',
    }
}

fn set_state(
    tx: &Connection,
    line: &LineBatch,
    actor: &Actor,
    state: &str,
    reason: Option<&str>,
    counts: Option<&serde_json::Value>,
    now: &str,
) -> StoreResult<()> {
    let what = format!("changing the state of batch {}", line.batch.0);
    let before = read_batch(tx, line.batch)?
        .ok_or_else(|| StoreError::NotFound(format!("there is no batch {}", line.batch.0)))?;
    let stored = stored_batch_state(state);
    let closed_at = (stored == "closed").then_some(now);
    tx.execute(
        "UPDATE batches SET state = ?1, closed_at = COALESCE(closed_at, ?2) WHERE id = ?3",
        params![stored, closed_at, line.batch.0],
    )
    .context(&what)?;
    let counts_text = counts.map(|c| c.to_string());
    tx.execute(
        "INSERT INTO batch_line_states (batch_id, state, reason, counts, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (batch_id) DO UPDATE SET state = excluded.state, reason = excluded.reason,
           counts = COALESCE(excluded.counts, batch_line_states.counts), updated_at = excluded.updated_at",
        params![line.batch.0, state, reason, counts_text, now],
    )
    .context(&what)?;
    audit::append(
        tx,
        actor,
        AuditRecord {
            action: "batch.state",
            subject: format!("batch {}", line.batch.0),
            before: Some(json!({"state": before.state.as_str()})),
            after: Some(json!({"state": state, "reason": reason, "counts": counts})),
        },
    )?;
    Ok(())
}

/// The store's counts of one batch's serials.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct BatchSerialCounts {
    /// Serials handed out to the batch, from the allocation records.
    pub allocated: u64,
    /// Serials bound to the batch now plus those returned with printer proof: equals
    /// `allocated` unless a record was lost or changed outside the station.
    pub held: u64,
    pub commissioned: u64,
    pub scrapped: u64,
    pub sampled: u64,
    pub invalidated: u64,
    pub returned: u64,
    /// Of the commissioned: taken out later (damaged, destroyed), not samples.
    pub decommissioned: u64,
    /// Still Allocated or Encoded (not in a final state).
    pub outstanding: u64,
}

/// Item verdicts of a batch.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct BatchItemSummary {
    pub good: u64,
    pub rejects_by_reason: BTreeMap<String, u64>,
    /// Items by grade letter (A..F).
    pub grades: BTreeMap<String, u64>,
    /// Items by their PLC fate.
    pub fates: BTreeMap<String, u64>,
}
