//! The reads the operator's console (`serialstation console`) needs beyond what the
//! daemon's status report carries: the last rejected items of a batch. Read-only.

use rusqlite::params;

use crate::store::Store;
use crate::store::batches::BatchId;
use crate::store::error::{SqlContext, StoreResult};

/// One rejected item of a batch, as the console lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct RejectedItem {
    /// The PLC's item number.
    pub seq: i64,
    /// The serial the camera read (`None` when nothing was read).
    pub serial: Option<String>,
    /// Why it was rejected (`no_read`, `grade`, `mismatch`, ...).
    pub reason: Option<String>,
    /// The ISO/IEC 15415 grade, 0.0 to 4.0, when the code was graded.
    pub grade: Option<f64>,
    /// When the verdict was recorded (UTC, ISO 8601).
    pub decided_at: Option<String>,
}

impl Store {
    /// The last `limit` rejected items of `batch`, newest (highest seq) first.
    pub fn recent_rejects(&self, batch: BatchId, limit: usize) -> StoreResult<Vec<RejectedItem>> {
        let what = format!("reading the last rejected items of batch {}", batch.0);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT seq, serial_text, reason, grade, decided_at FROM items
                 WHERE batch_id = ?1 AND verdict = 'reject'
                 ORDER BY seq DESC LIMIT ?2",
            )
            .context(&what)?;
        let rows = stmt
            .query_map(params![batch.0, limit], |r| {
                Ok(RejectedItem {
                    seq: r.get(0)?,
                    serial: r.get(1)?,
                    reason: r.get(2)?,
                    grade: r.get(3)?,
                    decided_at: r.get(4)?,
                })
            })
            .context(&what)?;
        rows.map(|r| r.context(&what)).collect()
    }
}
