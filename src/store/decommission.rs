//! Decommissioning: an operator takes a commissioned pack out of the batch (a QA
//! sample, damage, destruction). The serial's state change, its outbox row for the
//! site server (`decommissioned`, or `destroyed`) and the audit row are one
//! transaction.

use rusqlite::{OptionalExtension, params};
use serde_json::json;

use crate::gs1::Gtin;
use crate::store::audit::{self, AuditRecord};
use crate::store::batches::{BatchId, read_batch};
use crate::store::error::{SqlContext, StoreError, StoreResult};
use crate::store::state::{SerialState, can_transition};
use crate::store::{Actor, Store, clock};

/// Why an item is taken out, and the state its serial goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecommissionReason {
    /// A QA sample: Commissioned → Sampled.
    Sample,
    /// Destroyed: Commissioned → Destroyed.
    Destroyed,
    /// Damaged, rework or another reason (kept as given): Commissioned → Inactive.
    Other(String),
}

impl DecommissionReason {
    /// Reads the operator's word (`sample`, `destroyed`, `damaged`, ...).
    pub fn parse(word: &str) -> Result<DecommissionReason, String> {
        let word = word.trim();
        if word.is_empty() || word.len() > 64 || word.chars().any(char::is_control) {
            return Err(format!(
                "reason {word:?} is not usable: give one word such as sample, damaged or destroyed"
            ));
        }
        Ok(match word.to_ascii_lowercase().as_str() {
            "sample" | "sampled" => DecommissionReason::Sample,
            "destroyed" | "destroy" => DecommissionReason::Destroyed,
            other => DecommissionReason::Other(other.to_string()),
        })
    }

    pub fn target(&self) -> SerialState {
        match self {
            DecommissionReason::Sample => SerialState::Sampled,
            DecommissionReason::Destroyed => SerialState::Destroyed,
            DecommissionReason::Other(_) => SerialState::Inactive,
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            DecommissionReason::Sample => "sample",
            DecommissionReason::Destroyed => "destroyed",
            DecommissionReason::Other(word) => word,
        }
    }
}

/// What a decommissioning changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decommissioned {
    pub gtin: String,
    pub serial: String,
    pub batch: BatchId,
    pub to: SerialState,
}

impl Store {
    /// Takes the commissioned serial `serial` of `gtin` out for `reason`, with an
    /// outbox row (`decommissioned`) for the client's site server.
    pub fn decommission_serial(
        &mut self,
        gtin: &Gtin,
        serial: &str,
        reason: &DecommissionReason,
        actor: &Actor,
    ) -> StoreResult<Decommissioned> {
        let what = format!("decommissioning serial {serial} of GTIN {gtin}");
        let tx = self.write_tx(&what)?;
        type Row = (i64, i64, Option<i64>, String);
        let row: Option<Row> = tx
            .query_row(
                "SELECT s.id, s.state, s.batch_id, pr.client_id FROM serials s
                 JOIN pools p ON p.id = s.pool_id JOIN products pr ON pr.gtin = p.gtin
                 WHERE p.gtin = ?1 AND s.serial = ?2",
                params![gtin.as_str(), serial],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()
            .context(&what)?;
        let (id, code, batch, client_id) = row.ok_or_else(|| {
            StoreError::NotFound(format!(
                "serial {serial} of GTIN {gtin} is not in this store: check the serial and the GTIN"
            ))
        })?;
        let from = SerialState::from_code(code)
            .ok_or_else(|| StoreError::Corrupt(format!("serial {serial} has state code {code}")))?;
        let to = reason.target();
        if from != SerialState::Commissioned || !can_transition(from, to) {
            return Err(StoreError::Invalid(format!(
                "serial {serial} is {from}, not Commissioned: only a commissioned pack can be decommissioned{}",
                match from {
                    SerialState::Encoded | SerialState::Allocated =>
                        " (it is still on the line: wait until the batch has decided it)",
                    _ => "",
                }
            )));
        }
        let holder: Option<String> = tx
            .query_row(
                "SELECT s.sscc FROM container_children k JOIN ssccs s ON s.id = k.parent_id
                 WHERE k.serial_id = ?1 AND k.removed_at IS NULL",
                [id],
                |r| r.get(0),
            )
            .optional()
            .context(&what)?;
        if let Some(holder) = holder {
            return Err(StoreError::Invalid(format!(
                "serial {serial} is packed in container {holder}: unpack it first                  (`container unpack {holder} <scan>`), then decommission it"
            )));
        }
        let batch = BatchId(batch.ok_or_else(|| {
            StoreError::Corrupt(format!("commissioned serial {serial} has no batch"))
        })?);
        let record = read_batch(&tx, batch)?
            .ok_or_else(|| StoreError::Corrupt(format!("serial {serial} names a missing batch")))?;
        let now = clock::now();
        tx.execute(
            "UPDATE serials SET state = ?1, state_changed_at = ?2 WHERE id = ?3",
            params![to.code(), clock::now_unix_ms(), id],
        )
        .context(&what)?;
        let payload = json!({
            "event": "decommissioned", "gtin": gtin.as_str(), "serial": serial,
            "lot": record.lot, "expiry": record.expiry, "batch": batch.0,
            "reason": reason.as_str(), "state": to.name(),
        })
        .to_string();
        tx.execute(
            "INSERT INTO outbox (client_id, kind, batch_id, payload, state, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, 'pending', ?5, ?5)",
            params![
                client_id,
                if to == SerialState::Destroyed {
                    "destroyed"
                } else {
                    "decommissioned"
                },
                batch.0,
                payload,
                now
            ],
        )
        .context(&what)?;
        audit::append(
            &tx,
            actor,
            AuditRecord {
                action: "serial.decommission",
                subject: format!("{gtin} {serial}"),
                before: Some(json!({"state": from.name()})),
                after: Some(
                    json!({"state": to.name(), "reason": reason.as_str(), "batch": batch.0}),
                ),
            },
        )?;
        tx.commit().context(&what)?;
        Ok(Decommissioned {
            gtin: gtin.to_string(),
            serial: serial.to_string(),
            batch,
            to,
        })
    }

    /// The GTINs whose pools hold `serial` (to find a serial given without its GTIN).
    pub fn gtins_with_serial(&self, serial: &str) -> StoreResult<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT p.gtin FROM serials s JOIN pools p ON p.id = s.pool_id WHERE s.serial = ?1",
            )
            .context("finding a serial")?;
        let rows = stmt
            .query_map([serial], |r| r.get(0))
            .context("finding a serial")?;
        rows.collect::<Result<_, _>>().context("finding a serial")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_map_to_states() {
        assert_eq!(
            DecommissionReason::parse("sample").unwrap().target(),
            SerialState::Sampled
        );
        assert_eq!(
            DecommissionReason::parse("Destroyed").unwrap().target(),
            SerialState::Destroyed
        );
        assert_eq!(
            DecommissionReason::parse("damaged").unwrap().target(),
            SerialState::Inactive
        );
        assert!(DecommissionReason::parse("  ").is_err());
        assert!(DecommissionReason::parse("a\nb").is_err());
    }
}
