//! The audit trail: one row per command that changes state (who, when in UTC, what,
//! on which subject, before/after as JSON), written in the same transaction as the
//! change itself.
//!
//! Tampering is detectable: each row carries `hash = SHA-256(prev_hash ‖ row content)`
//! where the content is every field, length-prefixed (so no two different rows hash
//! alike), including the row id. The first row's `prev_hash` is 64 zeros. Editing a
//! row breaks its own hash; deleting or inserting a row breaks the id sequence and the
//! next row's `prev_hash`. The database also refuses UPDATE and DELETE on the table.
//! Cutting rows off the end cannot be seen from inside the file: the anchor file
//! beside the store ([`crate::store::anchor`]) and every batch report record the row
//! count and head hash, and verification checks the trail against them.

use rusqlite::{Connection, params};
use sha2::{Digest, Sha256};

use crate::store::Store;
use crate::store::actor::Actor;
use crate::store::clock;
use crate::store::error::{SqlContext, StoreResult};

/// `prev_hash` of the first row.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One row of the audit trail.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AuditEntry {
    pub id: i64,
    /// UTC, ISO 8601.
    pub at: String,
    pub actor: String,
    pub action: String,
    pub subject: String,
    /// JSON text, when the change had a before state.
    pub before: Option<String>,
    /// JSON text, when the change has an after state.
    pub after: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

/// The first row at which the chain is broken, and how.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BrokenAuditRow {
    pub id: i64,
    pub reason: String,
}

/// Result of checking the whole chain.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AuditVerification {
    pub rows_checked: u64,
    /// Hash of the last row (the genesis hash for an empty trail).
    pub head_hash: String,
    pub first_broken: Option<BrokenAuditRow>,
    /// The trail against the anchor file beside the store (rows cut off the end).
    pub anchor: Option<crate::store::anchor::AnchorCheck>,
}

impl AuditVerification {
    pub fn is_intact(&self) -> bool {
        self.first_broken.is_none() && self.anchor.as_ref().is_none_or(|a| a.problem.is_none())
    }
}

/// What one audit row says, before it is chained.
pub(crate) struct AuditRecord<'a> {
    pub action: &'a str,
    pub subject: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

/// Migration 10: the case station's rework records by subject; partial, so
/// that no other audit row pays for it.
pub(crate) const V10_SQL: &str =
    "CREATE INDEX audit_case_rework ON audit (subject) WHERE action = 'case.rework';";

/// Appends a row to the chain. Call inside the transaction that makes the change.
pub(crate) fn append(
    conn: &Connection,
    actor: &Actor,
    record: AuditRecord<'_>,
) -> StoreResult<i64> {
    let what = "writing the audit trail";
    // The head: rows so far (ids run 1..=rows) and the last hash, genesis if none.
    let (rows, prev_hash) = crate::store::anchor::head(conn)?;
    let id = i64::try_from(rows).unwrap_or(i64::MAX - 1) + 1;
    let before = record.before.map(|v| v.to_string());
    let after = record.after.map(|v| v.to_string());
    let at = clock::now();
    let hash = row_hash(
        &prev_hash,
        id,
        &at,
        actor.as_str(),
        record.action,
        &record.subject,
        before.as_deref(),
        after.as_deref(),
    );
    conn.prepare_cached(
        "INSERT INTO audit (id, at, actor, action, subject, before, after, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )
    .context(what)?
    .execute(params![
        id,
        at,
        actor.as_str(),
        record.action,
        record.subject,
        before,
        after,
        prev_hash,
        hash
    ])
    .context(what)?;
    Ok(id)
}

/// SHA-256 over the previous hash and every field of the row, length-prefixed.
#[allow(clippy::too_many_arguments)]
fn row_hash(
    prev_hash: &str,
    id: i64,
    at: &str,
    actor: &str,
    action: &str,
    subject: &str,
    before: Option<&str>,
    after: Option<&str>,
) -> String {
    fn field(h: &mut Sha256, value: Option<&[u8]>) {
        match value {
            Some(bytes) => {
                h.update((bytes.len() as u64).to_le_bytes());
                h.update(bytes);
            }
            None => h.update(u64::MAX.to_le_bytes()),
        }
    }
    let mut h = Sha256::new();
    field(&mut h, Some(prev_hash.as_bytes()));
    field(&mut h, Some(&id.to_le_bytes()));
    field(&mut h, Some(at.as_bytes()));
    field(&mut h, Some(actor.as_bytes()));
    field(&mut h, Some(action.as_bytes()));
    field(&mut h, Some(subject.as_bytes()));
    field(&mut h, before.map(str::as_bytes));
    field(&mut h, after.map(str::as_bytes));
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn entry_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AuditEntry> {
    Ok(AuditEntry {
        id: r.get(0)?,
        at: r.get(1)?,
        actor: r.get(2)?,
        action: r.get(3)?,
        subject: r.get(4)?,
        before: r.get(5)?,
        after: r.get(6)?,
        prev_hash: r.get(7)?,
        hash: r.get(8)?,
    })
}

const ENTRY_COLUMNS: &str = "id, at, actor, action, subject, before, after, prev_hash, hash";

/// Checks every row of the chain in order and reports the first broken one.
pub fn verify(conn: &Connection) -> StoreResult<AuditVerification> {
    let what = "reading the audit trail";
    let mut stmt = conn
        .prepare(&format!("SELECT {ENTRY_COLUMNS} FROM audit ORDER BY id"))
        .context(what)?;
    let mut rows = stmt.query([]).context(what)?;
    let mut expected_prev = GENESIS_HASH.to_string();
    let mut expected_id = 1i64;
    let mut checked = 0u64;
    while let Some(row) = rows.next().context(what)? {
        let entry = entry_from_row(row).context(what)?;
        let broken = |reason: String| AuditVerification {
            rows_checked: checked,
            head_hash: expected_prev.clone(),
            first_broken: Some(BrokenAuditRow {
                id: entry.id,
                reason,
            }),
            anchor: None,
        };
        if entry.id != expected_id {
            let missing = if entry.id == expected_id + 1 {
                format!("row {expected_id} is missing (deleted)")
            } else {
                format!(
                    "rows {expected_id} to {} are missing (deleted)",
                    entry.id - 1
                )
            };
            return Ok(broken(format!(
                "row {} follows row {}: {missing}",
                entry.id,
                expected_id - 1,
            )));
        }
        if entry.prev_hash != expected_prev {
            return Ok(broken(format!(
                "row {} does not chain to the row before it (a row was removed, replaced or re-hashed)",
                entry.id
            )));
        }
        let recomputed = row_hash(
            &entry.prev_hash,
            entry.id,
            &entry.at,
            &entry.actor,
            &entry.action,
            &entry.subject,
            entry.before.as_deref(),
            entry.after.as_deref(),
        );
        if recomputed != entry.hash {
            return Ok(broken(format!(
                "row {} was changed after it was written (its hash does not match)",
                entry.id
            )));
        }
        expected_prev = entry.hash;
        expected_id += 1;
        checked += 1;
    }
    Ok(AuditVerification {
        rows_checked: checked,
        head_hash: expected_prev,
        first_broken: None,
        anchor: None,
    })
}

impl Store {
    /// Checks the audit trail's hash chain from the first row to the last.
    /// Also checks the trail against the anchor file beside the store, so that rows
    /// cut off the end show too.
    pub fn verify_audit(&self) -> StoreResult<AuditVerification> {
        let mut v = verify(&self.conn)?;
        v.anchor = Some(crate::store::anchor::check(
            &self.conn,
            &crate::store::anchor::anchor_path(&self.path),
        )?);
        Ok(v)
    }

    /// The trail's current row count and head hash, as batch reports print them.
    pub fn audit_head(&self) -> StoreResult<(u64, String)> {
        crate::store::anchor::head(&self.conn)
    }

    /// The last `limit` audit rows, oldest first.
    pub fn audit_tail(&self, limit: usize) -> StoreResult<Vec<AuditEntry>> {
        let what = "reading the audit trail";
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT * FROM (SELECT {ENTRY_COLUMNS} FROM audit ORDER BY id DESC LIMIT ?1) ORDER BY id"
            ))
            .context(what)?;
        let rows = stmt.query_map([limit], entry_from_row).context(what)?;
        rows.map(|r| r.context(what)).collect()
    }

    /// Whether the case station sent `subject` ("case N of batch B") to rework:
    /// a lookup in the partial index of migration 10, which holds only those
    /// rows (its condition must be written as a literal to be used).
    pub fn case_sent_to_rework(&self, subject: &str) -> StoreResult<bool> {
        let what = "reading the audit trail";
        self.conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM audit WHERE action = 'case.rework' AND subject = ?1)",
                [subject],
                |r| r.get(0),
            )
            .context(what)
    }

    /// Records an operator action that changes no table of this module (e.g. pausing
    /// the line) so that the audit trail shows it.
    pub fn record_action(
        &mut self,
        actor: &Actor,
        action: &str,
        subject: &str,
        details: serde_json::Value,
    ) -> StoreResult<i64> {
        let tx = self.write_tx("recording an operator action")?;
        let id = append(
            &tx,
            actor,
            AuditRecord {
                action,
                subject: subject.to_string(),
                before: None,
                after: Some(details),
            },
        )?;
        tx.commit().context("recording an operator action")?;
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_depends_on_every_field_and_on_absence_versus_empty() {
        let base = row_hash(GENESIS_HASH, 1, "t", "a", "x", "s", None, Some("{}"));
        assert_eq!(base.len(), 64);
        assert_ne!(
            base,
            row_hash(GENESIS_HASH, 2, "t", "a", "x", "s", None, Some("{}"))
        );
        assert_ne!(
            base,
            row_hash(GENESIS_HASH, 1, "t", "b", "x", "s", None, Some("{}"))
        );
        assert_ne!(
            base,
            row_hash(GENESIS_HASH, 1, "t", "a", "x", "s", Some(""), Some("{}"))
        );
        assert_ne!(
            base,
            row_hash(GENESIS_HASH, 1, "t", "ax", "", "s", None, Some("{}"))
        );
        assert_eq!(
            base,
            row_hash(GENESIS_HASH, 1, "t", "a", "x", "s", None, Some("{}"))
        );
    }
}
