//! The batch reconciliation report: where every allocated serial of a batch ended
//! up (allocated = commissioned + scrapped + sampled + invalidated + returned),
//! rejects by reason, the grade distribution and the items' fates at the gate,
//! read from the store; rendered as text for the operator or as JSON.
//!
//! [`record`] builds the electronic batch record (this report plus the item-level
//! reconciliation, the items over time, states and holds, audit rows, signatures,
//! the challenge test and upload delivery), and [`html`] renders it as one
//! self-contained HTML file (`serialstation batch report N --html -o FILE`).

pub mod html;
pub mod record;

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::store::line_records::{BatchItemSummary, BatchSerialCounts};
use crate::store::{BatchId, Store, StoreError};

/// The report of one batch.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BatchReport {
    pub batch: i64,
    pub gtin: String,
    pub lot: String,
    pub expiry: String,
    pub quantity: u64,
    pub state: String,
    pub serials: BatchSerialCounts,
    pub balanced: bool,
    pub items: BatchItemSummary,
    /// The audit trail when the report was made: rows and head hash. A later
    /// `audit verify` must still find this row with this hash.
    pub audit_rows: u64,
    pub audit_head: String,
    /// Cases and pallets, when the batch was aggregated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aggregation: Option<crate::store::containers::AggregationReconciliation>,
}

impl BatchReport {
    /// Reads the report of `batch` from the store.
    pub fn build(store: &Store, batch: BatchId) -> Result<BatchReport, StoreError> {
        let record = store.batch(batch)?.ok_or_else(|| {
            StoreError::NotFound(format!(
                "there is no batch {} in this store: check the batch number and --db",
                batch.0
            ))
        })?;
        let serials = store.batch_serial_counts(batch)?;
        let items = store.batch_item_summary(batch)?;
        let (audit_rows, audit_head) = store.audit_head()?;
        let accounted = serials.commissioned
            + serials.scrapped
            + serials.sampled
            + serials.invalidated
            + serials.returned;
        Ok(BatchReport {
            batch: batch.0,
            gtin: record.gtin,
            lot: record.lot,
            expiry: record.expiry,
            quantity: record.quantity,
            state: store
                .batch_line_state(batch)?
                .unwrap_or_else(|| record.state.as_str().to_string()),
            balanced: serials.outstanding == 0
                && accounted == serials.allocated
                && serials.held == serials.allocated,
            serials,
            items,
            audit_rows,
            audit_head,
            aggregation: Some(store.aggregation_reconciliation(batch)?)
                .filter(|r| !r.levels.is_empty()),
        })
    }

    /// The report as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }

    /// The report as text for the operator.
    pub fn to_text(&self) -> String {
        let s = &self.serials;
        let mut text = String::new();
        let _ = writeln!(
            text,
            "batch {}: GTIN {} lot {} expiry {}, quantity {}, {}",
            self.batch, self.gtin, self.lot, self.expiry, self.quantity, self.state
        );
        let _ = writeln!(
            text,
            "  serials: allocated {} = commissioned {} + scrapped {} + sampled {} + invalidated {} + returned {}  [{}]",
            s.allocated,
            s.commissioned,
            s.scrapped,
            s.sampled,
            s.invalidated,
            s.returned,
            if self.balanced {
                "balanced".to_string()
            } else {
                unbalanced_reason(s)
            }
        );
        if s.decommissioned > 0 {
            let _ = writeln!(
                text,
                "  of the commissioned, {} decommissioned since (damaged or destroyed)",
                s.decommissioned
            );
        }
        let rejects: u64 = self.items.rejects_by_reason.values().sum();
        let _ = writeln!(
            text,
            "  verdicts: {} good, {} rejected{}",
            self.items.good,
            rejects,
            list(&self.items.rejects_by_reason, " (", ")")
        );
        let _ = writeln!(text, "  grades:{}", list_or_none(&self.items.grades));
        let _ = writeln!(text, "  at the gate:{}", list_or_none(&self.items.fates));
        if let Some(r) = &self.aggregation {
            let _ = writeln!(
                text,
                "  aggregation: packs {} commissioned = {} aggregated + {} loose{}; SSCCs {} allocated = {} used + {} invalidated + {} in progress",
                r.commissioned_packs,
                r.packs_aggregated,
                r.packs_loose,
                if r.packs_balance() {
                    ""
                } else {
                    " (DOES NOT BALANCE)"
                },
                r.ssccs_allocated,
                r.ssccs_used,
                r.ssccs_invalidated,
                r.ssccs_in_progress
            );
            for level in &r.levels {
                let _ = writeln!(
                    text,
                    "    {}s: {} verified holding {}, {} labelled, {} closed, {} open, {} reworked (`serialstation container list --batch {}`)",
                    level.level,
                    level.verified,
                    level.children_in_verified,
                    level.labelled,
                    level.closed,
                    level.open,
                    level.rework,
                    self.batch
                );
            }
        }
        let _ = writeln!(
            text,
            "  audit trail at this report: {} rows, head hash {}",
            self.audit_rows, self.audit_head
        );
        text
    }
}

/// Why the numbers do not balance, in the operator's words.
fn unbalanced_reason(s: &BatchSerialCounts) -> String {
    let mut why = Vec::new();
    if s.outstanding > 0 {
        why.push(format!("{} outstanding", s.outstanding));
    }
    if s.held != s.allocated {
        why.push(format!(
            "the allocation records hand out {} serials, but {} are bound to the batch or returned with              printer proof: a record was lost or changed outside the station",
            s.allocated, s.held
        ));
    }
    let accounted = s.commissioned + s.scrapped + s.sampled + s.invalidated + s.returned;
    if why.is_empty() && accounted != s.allocated {
        why.push(format!("{accounted} accounted for"));
    }
    format!("NOT balanced: {}", why.join("; "))
}

fn list(map: &BTreeMap<String, u64>, open: &str, close: &str) -> String {
    if map.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = map.iter().map(|(k, v)| format!("{k} {v}")).collect();
    format!("{open}{}{close}", parts.join(", "))
}

fn list_or_none(map: &BTreeMap<String, u64>) -> String {
    if map.is_empty() {
        " none".to_string()
    } else {
        list(map, " ", "")
    }
}
