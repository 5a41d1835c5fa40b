//! Pools and serials: import (all or nothing), generation, write-ahead block
//! allocation, state changes, proven returns, and pool status.
//!
//! A pool belongs to one GTIN of the product master. Every serial is unique within its
//! pool for ever: a serial that was ever allocated is never handed out again unless
//! the printer proved it was never printed ([`Store::return_unprinted`]).
//!
//! Pool order (the order [`Store::allocate_block`] hands serials out) is row-id order:
//! import by import, oldest first, and within one import in the order of the serials'
//! text. An import reads and checks its whole input first and then inserts it sorted,
//! several hundred rows per statement, so that the unique index of (pool, serial) grows
//! by appends instead of scattered inserts (1,000,000 serials: about 2.5 s instead of 7 s).

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::json;

use crate::gs1::Gtin;
use crate::pool::generate::{self, GenerationPlan, RandomSerials, SequentialSerials, SerialOrder};
use crate::store::audit::{self, AuditRecord};
use crate::store::batches::{BatchId, BatchState, read_batch};
use crate::store::error::{SqlContext, StoreError, StoreResult};
use crate::store::products::read_product;
use crate::store::state::{SerialState, can_transition, needs_printer_proof};
use crate::store::{Actor, Store, clock};

/// How often long pool work reports progress (and may be stopped), in serials.
pub const PROGRESS_EVERY: u64 = 10_000;

/// How many line problems an import keeps in detail (the total is always counted).
pub const MAX_KEPT_PROBLEMS: usize = 1000;

/// Row id of a serial in the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct SerialId(pub i64);

/// Serials to import and the problems found in them: pure types of `pool`.
pub use crate::pool::{LineProblem, SerialLine};

/// Alias used in import results.
pub type ImportProblem = LineProblem;

/// The result of an import: everything or nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportOutcome {
    Imported {
        count: u64,
    },
    /// Nothing was imported. `problems` holds the first [`MAX_KEPT_PROBLEMS`] in line order.
    Rejected {
        problems: Vec<LineProblem>,
        total: u64,
    },
}

/// The result of a generation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerateOutcome {
    pub count: u64,
    /// The pool's guess odds afterwards: 1 in `one_in`.
    pub one_in: u128,
}

/// A serial reserved for a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllocatedSerial {
    pub id: SerialId,
    pub serial: String,
}

/// The printer's word that a message was never printed: which printer, and the
/// evidence (e.g. "buffer cleared; message 1234 absent from the print log").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrinterProof {
    pub printer: String,
    pub evidence: String,
}

/// One serial as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SerialRecord {
    pub id: SerialId,
    pub gtin: String,
    pub serial: String,
    pub state: SerialState,
    pub batch: Option<BatchId>,
}

/// The count of serials in each state for one GTIN.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PoolStatus {
    pub gtin: String,
    pub product_name: String,
    /// Indexed by [`SerialState::code`].
    pub counts: [u64; 12],
    pub low_water_mark: u64,
}

impl PoolStatus {
    pub fn count(&self, state: SerialState) -> u64 {
        self.counts[usize::from(state.code())]
    }
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }
    /// True if fewer Unallocated serials remain than the product's low-water mark.
    pub fn is_low(&self) -> bool {
        self.count(SerialState::Unallocated) < self.low_water_mark
    }
}

/// The pool of `gtin`, created on first use; the GTIN must be in the product master.
fn ensure_pool(conn: &Connection, gtin: &Gtin) -> StoreResult<i64> {
    let what = format!("opening the pool of GTIN {gtin}");
    if let Some(id) = conn
        .query_row(
            "SELECT id FROM pools WHERE gtin = ?1",
            [gtin.as_str()],
            |r| r.get(0),
        )
        .optional()
        .context(&what)?
    {
        return Ok(id);
    }
    if read_product(conn, gtin.as_str())?.is_none() {
        return Err(no_product(gtin));
    }
    conn.execute(
        "INSERT INTO pools (gtin, created_at) VALUES (?1, ?2)",
        params![gtin.as_str(), clock::now()],
    )
    .context(&what)?;
    Ok(conn.last_insert_rowid())
}

fn no_product(gtin: &Gtin) -> StoreError {
    StoreError::NotFound(format!(
        "GTIN {gtin} is not in the product master: load its client configuration first \
         (serialstation config load FILE)"
    ))
}

fn existing_pool(conn: &Connection, gtin: &Gtin) -> StoreResult<Option<i64>> {
    conn.prepare_cached("SELECT id FROM pools WHERE gtin = ?1")
        .and_then(|mut s| s.query_row([gtin.as_str()], |r| r.get(0)).optional())
        .context("finding a pool")
}

fn state_from_db(code: i64) -> StoreResult<SerialState> {
    SerialState::from_code(code)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown serial state code {code}")))
}

fn read_serial(conn: &Connection, id: SerialId) -> StoreResult<Option<SerialRecord>> {
    let row: Option<(String, String, i64, Option<i64>)> = conn
        .query_row(
            "SELECT p.gtin, s.serial, s.state, s.batch_id FROM serials s JOIN pools p ON p.id = s.pool_id
             WHERE s.id = ?1",
            [id.0],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()
        .context("reading a serial")?;
    row.map(|(gtin, serial, state, batch)| {
        Ok(SerialRecord {
            id,
            gtin,
            serial,
            state: state_from_db(state)?,
            batch: batch.map(BatchId),
        })
    })
    .transpose()
}

/// Rows per INSERT statement on import: one statement per row would pay SQLite's
/// per-statement costs (savepoint, statement journal) a million times.
const IMPORT_ROWS_PER_STATEMENT: usize = 500;

/// `INSERT` of `rows` new Unallocated serials: `?1` is the pool, `?2` the import time
/// (Unix ms), `?3`.. the serials. Serials already in the pool are skipped.
fn multi_row_insert_sql(rows: usize) -> String {
    let mut sql = String::from(
        "INSERT INTO serials (pool_id, serial, state, imported_at, state_changed_at) VALUES ",
    );
    for i in 0..rows {
        if i > 0 {
            sql.push(',');
        }
        sql.push_str(&format!("(?1, ?{}, 1, ?2, ?2)", i + 3));
    }
    sql.push_str(" ON CONFLICT (pool_id, serial) DO NOTHING");
    sql
}

/// A problem ordered by its line, so that a max-heap of them can drop the highest line.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct ByLine(pub(super) LineProblem);

impl Ord for ByLine {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.0.line, &self.0.reason).cmp(&(other.0.line, &other.0.reason))
    }
}

impl PartialOrd for ByLine {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// Keeps the [`MAX_KEPT_PROBLEMS`] problems with the lowest line numbers.
pub(super) fn keep_lowest_lines(
    kept: &mut std::collections::BinaryHeap<ByLine>,
    problem: LineProblem,
) {
    if kept.len() < MAX_KEPT_PROBLEMS {
        kept.push(ByLine(problem));
    } else if kept
        .peek()
        .is_some_and(|highest| problem.line < highest.0.line)
    {
        kept.pop();
        kept.push(ByLine(problem));
    }
}

/// Sorts checked serials by text (then line) and drops every repeat of a serial,
/// reporting it as a duplicate of the first line it appeared on.
pub(super) fn sort_and_drop_duplicates(
    mut serials: Vec<SerialLine>,
    mut note: impl FnMut(LineProblem),
) -> Vec<SerialLine> {
    serials.sort_unstable_by(|a, b| a.serial.cmp(&b.serial).then(a.line.cmp(&b.line)));
    let mut unique: Vec<SerialLine> = Vec::with_capacity(serials.len());
    for current in serials {
        match unique.last() {
            Some(first) if first.serial == current.serial => note(LineProblem {
                line: current.line,
                reason: format!("duplicate of line {} ({:?})", first.line, current.serial),
            }),
            _ => unique.push(current),
        }
    }
    unique
}

impl Store {
    /// Imports serials into the pool of `gtin`, all or nothing, in one transaction.
    /// Every serial is checked ([`crate::pool::check_serial_text`]) and must be new to
    /// the pool and to the input; `source` (e.g. the file name) goes to the audit row.
    pub fn import_serials<I>(
        &mut self,
        gtin: &Gtin,
        lines: I,
        source: &str,
        actor: &Actor,
    ) -> StoreResult<ImportOutcome>
    where
        I: IntoIterator<Item = Result<SerialLine, LineProblem>>,
    {
        let what = format!("importing serials into the pool of GTIN {gtin}");
        // Problems are found out of line order (duplicates show up after sorting), so
        // the kept ones are the lowest-numbered lines, not the first found.
        let mut problems = std::collections::BinaryHeap::new();
        let mut total_problems = 0u64;
        let mut note = |p: LineProblem, total: &mut u64| {
            *total += 1;
            keep_lowest_lines(&mut problems, p);
        };
        // Read and check the whole input first, then insert it in serial order: the
        // unique index then takes appends instead of scattered inserts.
        let mut pending: Vec<SerialLine> = Vec::new();
        for item in lines {
            match item {
                Ok(l) => match crate::pool::check_serial_text(&l.serial) {
                    Ok(()) => pending.push(l),
                    Err(reason) => note(
                        LineProblem {
                            line: l.line,
                            reason,
                        },
                        &mut total_problems,
                    ),
                },
                Err(p) => note(p, &mut total_problems),
            }
        }
        let unique = sort_and_drop_duplicates(pending, |p| note(p, &mut total_problems));
        let tx = self.write_tx(&what)?;
        let pool_id = ensure_pool(&tx, gtin)?;
        let now_ms = clock::now_unix_ms();
        // Serials inserted by this transaction get row ids above this one.
        let last_id_before: i64 = tx
            .query_row("SELECT COALESCE(MAX(id), 0) FROM serials", [], |r| r.get(0))
            .context(&what)?;
        let mut inserted = 0u64;
        {
            let mut find = tx
                .prepare("SELECT id, state FROM serials WHERE pool_id = ?1 AND serial = ?2")
                .context(&what)?;
            let mut full_chunk = tx
                .prepare(&multi_row_insert_sql(IMPORT_ROWS_PER_STATEMENT))
                .context(&what)?;
            for chunk in unique.chunks(IMPORT_ROWS_PER_STATEMENT) {
                let mut partial_chunk;
                let insert = if chunk.len() == IMPORT_ROWS_PER_STATEMENT {
                    &mut full_chunk
                } else {
                    partial_chunk = tx
                        .prepare(&multi_row_insert_sql(chunk.len()))
                        .context(&what)?;
                    &mut partial_chunk
                };
                insert.raw_bind_parameter(1, pool_id).context(&what)?;
                insert.raw_bind_parameter(2, now_ms).context(&what)?;
                for (i, l) in chunk.iter().enumerate() {
                    insert
                        .raw_bind_parameter(i + 3, l.serial.as_str())
                        .context(&what)?;
                }
                let added = insert.raw_execute().context(&what)?;
                inserted += added as u64;
                if added == chunk.len() {
                    continue;
                }
                // Some serials of this chunk were in the pool before: name them.
                for SerialLine { line, serial } in chunk {
                    let (id, state): (i64, i64) = find
                        .query_row(params![pool_id, serial], |r| Ok((r.get(0)?, r.get(1)?)))
                        .context(&what)?;
                    if id > last_id_before {
                        continue;
                    }
                    let reason = format!(
                        "{serial:?} is already in the pool ({})",
                        state_from_db(state)?
                    );
                    note(
                        LineProblem {
                            line: *line,
                            reason,
                        },
                        &mut total_problems,
                    );
                }
            }
        }
        let count = inserted;
        if total_problems == 0 && count == 0 {
            note(
                LineProblem {
                    line: 0,
                    reason: "the input holds no serials".to_string(),
                },
                &mut total_problems,
            );
        }
        if total_problems > 0 {
            drop(tx); // rolls back: nothing is imported
            let mut problems: Vec<LineProblem> = problems.into_iter().map(|k| k.0).collect();
            problems.sort_by_key(|p| p.line);
            return Ok(ImportOutcome::Rejected {
                problems,
                total: total_problems,
            });
        }
        audit::append(
            &tx,
            actor,
            AuditRecord {
                action: "pool.import",
                subject: format!("pool {gtin}"),
                before: None,
                after: Some(json!({"gtin": gtin.as_str(), "imported": count, "source": source})),
            },
        )?;
        tx.commit().context(&what)?;
        Ok(ImportOutcome::Imported { count })
    }

    /// Generates `plan.count` new serials into the pool of `gtin`, in one transaction.
    /// Refuses plans that break the guess-probability rule or the product's market
    /// rules (see [`crate::pool::generate`]); never produces a serial already stored.
    pub fn generate_serials(
        &mut self,
        gtin: &Gtin,
        plan: &GenerationPlan,
        actor: &Actor,
    ) -> StoreResult<GenerateOutcome> {
        self.generate_serials_watched(gtin, plan, actor, &mut |_| true)
    }

    /// [`Store::generate_serials`], calling `watch(added)` every
    /// [`PROGRESS_EVERY`] serials; when it returns false (the operator pressed
    /// Ctrl-C), the transaction rolls back and nothing is added.
    pub fn generate_serials_watched(
        &mut self,
        gtin: &Gtin,
        plan: &GenerationPlan,
        actor: &Actor,
        watch: &mut dyn FnMut(u64) -> bool,
    ) -> StoreResult<GenerateOutcome> {
        let what = format!("generating serials for the pool of GTIN {gtin}");
        let tx = self.write_tx(&what)?;
        let product = read_product(&tx, gtin.as_str())?.ok_or_else(|| no_product(gtin))?;
        let pool_id = ensure_pool(&tx, gtin)?;
        let existing: i64 = tx
            .query_row(
                "SELECT COUNT(*) FROM serials WHERE pool_id = ?1",
                [pool_id],
                |r| r.get(0),
            )
            .context(&what)?;
        let existing = u64::try_from(existing).unwrap_or(0);
        let odds =
            generate::check_plan(plan, existing, &product.markets).map_err(StoreError::Invalid)?;
        let mut next: Box<dyn FnMut() -> Option<String>> = match plan.order {
            SerialOrder::Random => {
                let mut g = RandomSerials::from_os(plan.alphabet, plan.length)
                    .map_err(StoreError::Invalid)?;
                Box::new(move || Some(g.next_serial()))
            }
            SerialOrder::Sequential => {
                let pattern = plan.alphabet.glob_class().repeat(usize::from(plan.length));
                let highest: Option<String> = tx
                    .query_row(
                        "SELECT MAX(serial) FROM serials WHERE pool_id = ?1 AND serial GLOB ?2",
                        params![pool_id, pattern],
                        |r| r.get(0),
                    )
                    .context(&what)?;
                let mut g =
                    SequentialSerials::after(highest.as_deref(), plan.alphabet, plan.length);
                Box::new(move || g.next_serial())
            }
        };
        let now_ms = clock::now_unix_ms();
        let mut added = 0u64;
        let mut collisions = 0u64;
        let collision_limit = 1000 + plan.count / 100;
        {
            let mut insert = tx
                .prepare(
                    "INSERT INTO serials (pool_id, serial, state, imported_at, state_changed_at)
                     VALUES (?1, ?2, 1, ?3, ?3) ON CONFLICT (pool_id, serial) DO NOTHING",
                )
                .context(&what)?;
            while added < plan.count {
                let Some(serial) = next() else {
                    return Err(StoreError::Invalid(format!(
                        "only {added} more sequential serials of length {} fit after the highest one in the pool: \
                         use a longer --length",
                        plan.length
                    )));
                };
                if insert
                    .execute(params![pool_id, serial, now_ms])
                    .context(&what)?
                    == 1
                {
                    added += 1;
                    if added.is_multiple_of(PROGRESS_EVERY) && !watch(added) {
                        return Err(StoreError::Cancelled(format!(
                            "stopped after {added} of {} serials: nothing was added to the pool of GTIN {gtin}",
                            plan.count
                        )));
                    }
                } else {
                    collisions += 1;
                    if collisions > collision_limit {
                        return Err(StoreError::Invalid(format!(
                            "{collisions} generated serials were already in the pool: the pool is too full for \
                             --length {}; use a longer --length",
                            plan.length
                        )));
                    }
                }
            }
        }
        drop(next);
        audit::append(
            &tx,
            actor,
            AuditRecord {
                action: "pool.generate",
                subject: format!("pool {gtin}"),
                before: Some(json!({"serials": existing})),
                after: Some(json!({
                    "serials": existing + added,
                    "generated": added,
                    "order": if plan.order == SerialOrder::Random { "random" } else { "sequential" },
                    "alphabet": plan.alphabet.name(),
                    "length": plan.length,
                    "guess_odds_one_in": odds.one_in().to_string(),
                })),
            },
        )?;
        tx.commit().context(&what)?;
        Ok(GenerateOutcome {
            count: added,
            one_in: odds.one_in(),
        })
    }

    /// Reserves up to `n` Unallocated serials of `gtin` for `batch`, write-ahead: when
    /// this returns they are durably Allocated to the batch. Returns them in pool order;
    /// fewer than `n` (possibly none) if the pool runs short.
    pub fn allocate_block(
        &mut self,
        batch: BatchId,
        gtin: &Gtin,
        n: usize,
        actor: &Actor,
    ) -> StoreResult<Vec<AllocatedSerial>> {
        let what = format!("allocating serials of GTIN {gtin} to batch {}", batch.0);
        let tx = self.write_tx(&what)?;
        let b = read_batch(&tx, batch)?
            .ok_or_else(|| StoreError::NotFound(format!("there is no batch {}", batch.0)))?;
        if b.gtin != gtin.as_str() {
            return Err(StoreError::Invalid(format!(
                "batch {} runs GTIN {}, not {gtin}: serials of one GTIN cannot be allocated to another's batch",
                batch.0, b.gtin
            )));
        }
        if b.state == BatchState::Closed {
            return Err(StoreError::Invalid(format!(
                "batch {} is closed: no more serials can be allocated to it",
                batch.0
            )));
        }
        let Some(pool_id) = existing_pool(&tx, gtin)? else {
            return Ok(Vec::new());
        };
        let limit = i64::try_from(n).unwrap_or(i64::MAX);
        // The oldest `n` Unallocated serials of the pool are every Unallocated serial of
        // the pool whose id lies between the first and the last of them, so one range
        // UPDATE reserves exactly these (the write lock is held since the SELECT).
        let mut allocated = Vec::with_capacity(n.min(1 << 20));
        {
            let mut oldest = tx
                .prepare(
                    "SELECT id, serial FROM serials WHERE pool_id = ?1 AND state = 1
                     ORDER BY id LIMIT ?2",
                )
                .context(&what)?;
            let rows = oldest
                .query_map(params![pool_id, limit], |r| {
                    Ok(AllocatedSerial {
                        id: SerialId(r.get(0)?),
                        serial: r.get(1)?,
                    })
                })
                .context(&what)?;
            for row in rows {
                allocated.push(row.context(&what)?);
            }
        }
        if let (Some(first), Some(last)) = (allocated.first(), allocated.last()) {
            let reserved = tx
                .execute(
                    "UPDATE serials SET state = 2, batch_id = ?1, state_changed_at = ?2
                     WHERE pool_id = ?3 AND state = 1 AND id BETWEEN ?4 AND ?5",
                    params![
                        batch.0,
                        clock::now_unix_ms(),
                        pool_id,
                        first.id.0,
                        last.id.0
                    ],
                )
                .context(&what)?;
            if reserved != allocated.len() {
                return Err(StoreError::Corrupt(format!(
                    "{what}: {reserved} serials were reserved where {} were selected; nothing was allocated",
                    allocated.len()
                )));
            }
        }
        allocated.sort_unstable_by_key(|a| a.id);
        if let (Some(first), Some(last)) = (allocated.first(), allocated.last()) {
            tx.prepare_cached(
                "INSERT INTO allocations (batch_id, pool_id, count, first_serial_id, last_serial_id, allocated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .context(&what)?
            .execute(params![
                batch.0,
                pool_id,
                allocated.len() as i64,
                first.id.0,
                last.id.0,
                clock::now()
            ])
            .context(&what)?;
            audit::append(
                &tx,
                actor,
                AuditRecord {
                    action: "serials.allocate",
                    subject: format!("batch {}", batch.0),
                    before: None,
                    after: Some(json!({
                        "gtin": gtin.as_str(), "requested": n, "allocated": allocated.len(),
                        "first_serial_id": first.id.0, "last_serial_id": last.id.0,
                    })),
                },
            )?;
        }
        tx.commit().context(&what)?;
        Ok(allocated)
    }

    /// Returns allocated serials of `batch` to the pool, with the printer's proof that
    /// none of them was printed. Each gets its own proof row; any serial that is not
    /// Allocated to this batch makes the whole call fail.
    pub fn return_unprinted(
        &mut self,
        batch: BatchId,
        serials: &[SerialId],
        proof: &PrinterProof,
        actor: &Actor,
    ) -> StoreResult<()> {
        let what = format!(
            "returning unprinted serials of batch {} to the pool",
            batch.0
        );
        if proof.printer.trim().is_empty() || proof.evidence.trim().is_empty() {
            return Err(StoreError::Invalid(
                "a return to the pool needs the printer's name and its evidence that nothing was printed".to_string(),
            ));
        }
        let tx = self.write_tx(&what)?;
        let now = clock::now();
        let now_ms = clock::now_unix_ms();
        for &id in serials {
            let rec = read_serial(&tx, id)?
                .ok_or_else(|| StoreError::NotFound(format!("there is no serial {}", id.0)))?;
            if rec.state != SerialState::Allocated || rec.batch != Some(batch) {
                return Err(StoreError::Invalid(format!(
                    "serial {} of GTIN {} is {} (batch {}), not Allocated to batch {}: only serials allocated to \
                     this batch can be returned",
                    rec.serial,
                    rec.gtin,
                    rec.state,
                    rec.batch.map_or("none".to_string(), |b| b.0.to_string()),
                    batch.0
                )));
            }
            tx.execute(
                "INSERT INTO serial_returns (serial_id, batch_id, printer, evidence, returned_at, actor)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![id.0, batch.0, proof.printer, proof.evidence, now, actor.as_str()],
            )
            .context(&what)?;
            let proof_id = tx.last_insert_rowid();
            tx.execute(
                "UPDATE serials SET state = 1, batch_id = NULL, return_proof_id = ?1, state_changed_at = ?2 WHERE id = ?3",
                params![proof_id, now_ms, id.0],
            )
            .context(&what)?;
        }
        audit::append(
            &tx,
            actor,
            AuditRecord {
                action: "serials.return_unprinted",
                subject: format!("batch {}", batch.0),
                before: Some(json!({"state": "Allocated"})),
                after: Some(json!({
                    "state": "Unallocated", "count": serials.len(),
                    "serial_ids": serials.iter().map(|s| s.0).collect::<Vec<_>>(),
                    "printer": proof.printer, "evidence": proof.evidence,
                })),
            },
        )?;
        tx.commit().context(&what)
    }

    /// Moves serials to state `to` in one transaction, after checking every transition
    /// against [`can_transition`]. Allocated→Unallocated is refused here: use
    /// [`Store::return_unprinted`] with printer proof.
    pub fn transition_serials(
        &mut self,
        serials: &[SerialId],
        to: SerialState,
        reason: &str,
        actor: &Actor,
    ) -> StoreResult<()> {
        let what = format!("changing serials to {to}");
        let tx = self.write_tx(&what)?;
        let now_ms = clock::now_unix_ms();
        let mut from_states = std::collections::BTreeMap::<&'static str, u64>::new();
        for &id in serials {
            let rec = read_serial(&tx, id)?
                .ok_or_else(|| StoreError::NotFound(format!("there is no serial {}", id.0)))?;
            if needs_printer_proof(rec.state, to) || !can_transition(rec.state, to) {
                return Err(StoreError::IllegalTransition {
                    gtin: rec.gtin,
                    serial: rec.serial,
                    from: rec.state,
                    to,
                });
            }
            tx.execute(
                "UPDATE serials SET state = ?1, state_changed_at = ?2 WHERE id = ?3",
                params![to.code(), now_ms, id.0],
            )
            .context(&what)?;
            *from_states.entry(rec.state.name()).or_default() += 1;
        }
        audit::append(
            &tx,
            actor,
            AuditRecord {
                action: "serials.transition",
                subject: format!("{} serial(s)", serials.len()),
                before: Some(json!({"states": from_states})),
                after: Some(json!({
                    "state": to.name(), "reason": reason,
                    "serial_ids": serials.iter().map(|s| s.0).collect::<Vec<_>>(),
                })),
            },
        )?;
        tx.commit().context(&what)
    }

    /// One serial by id.
    pub fn serial(&self, id: SerialId) -> StoreResult<Option<SerialRecord>> {
        read_serial(&self.conn, id)
    }

    /// One serial by GTIN and text.
    pub fn find_serial(&self, gtin: &Gtin, serial: &str) -> StoreResult<Option<SerialRecord>> {
        let id: Option<i64> = self
            .conn
            .query_row(
                "SELECT s.id FROM serials s JOIN pools p ON p.id = s.pool_id WHERE p.gtin = ?1 AND s.serial = ?2",
                params![gtin.as_str(), serial],
                |r| r.get(0),
            )
            .optional()
            .context("finding a serial")?;
        id.map_or(Ok(None), |id| read_serial(&self.conn, SerialId(id)))
    }

    /// How many serials of the GTIN's pool are Unallocated (0 without a pool). Reads
    /// only the partial index of Unallocated serials, not the whole pool as
    /// [`Store::pool_status`] does: a batch start and a restart pay for what is
    /// left, not for every serial ever imported.
    pub fn pool_unallocated(&self, gtin: &Gtin) -> StoreResult<u64> {
        let Some(pool_id) = existing_pool(&self.conn, gtin)? else {
            return Ok(0);
        };
        let count: i64 = self
            .conn
            .prepare_cached("SELECT COUNT(*) FROM serials WHERE pool_id = ?1 AND state = 1")
            .and_then(|mut s| s.query_row([pool_id], |r| r.get(0)))
            .context("counting the unallocated serials")?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    /// Counts per state for every product (or one GTIN), with the low-water mark.
    pub fn pool_status(&self, gtin: Option<&Gtin>) -> StoreResult<Vec<PoolStatus>> {
        let what = "reading pool status";
        let mut stmt = self
            .conn
            .prepare(
                "SELECT pr.gtin, pr.name, pr.low_water_mark, s.state, COUNT(s.id)
                 FROM products pr
                 LEFT JOIN pools p ON p.gtin = pr.gtin
                 LEFT JOIN serials s ON s.pool_id = p.id
                 WHERE ?1 IS NULL OR pr.gtin = ?1
                 GROUP BY pr.gtin, s.state
                 ORDER BY pr.gtin",
            )
            .context(what)?;
        let rows = stmt
            .query_map([gtin.map(Gtin::as_str)], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, Option<i64>>(3)?,
                    r.get::<_, i64>(4)?,
                ))
            })
            .context(what)?;
        let mut out: Vec<PoolStatus> = Vec::new();
        for row in rows {
            let (g, name, low_water, state, count) = row.context(what)?;
            if out.last().is_none_or(|s| s.gtin != g) {
                out.push(PoolStatus {
                    gtin: g,
                    product_name: name,
                    counts: [0; 12],
                    low_water_mark: u64::try_from(low_water).unwrap_or(0),
                });
            }
            if let (Some(state), Some(status)) = (state, out.last_mut()) {
                status.counts[usize::from(state_from_db(state)?.code())] =
                    u64::try_from(count).unwrap_or(0);
            }
        }
        if let (Some(g), true) = (gtin, out.is_empty()) {
            return Err(no_product(g));
        }
        Ok(out)
    }
}
