//! The simulated site server's ground truth: every event it accepted (ObjectEvents
//! and AggregationEvents, with their parent), every EPC of those events, its capture
//! jobs, the serial numbers it issued, and how many duplicates it refused, in one
//! SQLite file, with a reader API for tests (including what a container holds).
//!
//! A capture is one transaction: with `rollback` behaviour either every event of the
//! document is stored or none; with `proceed` the new events are stored and the
//! others reported. An event whose ID is already stored is never stored again.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};

use super::parse::CapturedEvent;

/// Why the ground truth could not be read or written.
#[derive(Debug, thiserror::Error)]
#[error("site server database: {what}: {source}")]
pub struct RecordsError {
    what: &'static str,
    #[source]
    source: rusqlite::Error,
}

trait Context<T> {
    fn context(self, what: &'static str) -> Result<T, RecordsError>;
}

impl<T> Context<T> for rusqlite::Result<T> {
    fn context(self, what: &'static str) -> Result<T, RecordsError> {
        self.map_err(|source| RecordsError { what, source })
    }
}

/// RFC 7807 problem type for an event that is already stored.
pub const ALREADY_EXISTS: &str = "epcisException:ResourceAlreadyExistsException";
/// RFC 7807 problem type for an event the site server refuses.
pub const VALIDATION: &str = "epcisException:ValidationException";

/// One error of a capture job (an RFC 7807 problem object).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CaptureProblem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    /// The event ID the problem is about.
    pub instance: Option<String>,
}

/// A capture job as `GET /capture/{id}` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureJobRecord {
    pub capture_id: String,
    pub created_at: String,
    pub finished_at: String,
    pub success: bool,
    pub error_behaviour: String,
    pub errors: Vec<CaptureProblem>,
}

/// One accepted event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    pub event_id: String,
    /// `ObjectEvent` or `AggregationEvent`.
    pub event_type: String,
    /// An AggregationEvent's `parentID`.
    pub parent_id: Option<String>,
    pub action: String,
    pub biz_step: String,
    pub disposition: String,
    pub epc_count: i64,
    /// The capture job (or `epcis12` request) that brought it.
    pub capture_id: String,
}

/// What a capture did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CaptureOutcome {
    pub stored: usize,
    pub problems: Vec<CaptureProblem>,
}

/// The ground-truth database.
pub struct SiteRecords {
    conn: Connection,
}

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS events (
    event_id    TEXT PRIMARY KEY,
    fingerprint INTEGER NOT NULL,
    action      TEXT NOT NULL,
    biz_step    TEXT NOT NULL,
    disposition TEXT NOT NULL,
    epc_count   INTEGER NOT NULL,
    capture_id  TEXT NOT NULL,
    event_type  TEXT NOT NULL DEFAULT 'ObjectEvent',
    parent_id   TEXT
);
CREATE TABLE IF NOT EXISTS event_epcs (
    event_id TEXT NOT NULL,
    epc      TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS capture_jobs (
    capture_id      TEXT PRIMARY KEY,
    created_at      TEXT NOT NULL,
    finished_at     TEXT NOT NULL,
    success         INTEGER NOT NULL,
    error_behaviour TEXT NOT NULL,
    errors          TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS serial_counters (
    gtin TEXT PRIMARY KEY,
    next INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS sscc_counters (
    company_prefix  TEXT NOT NULL,
    extension_digit INTEGER NOT NULL,
    next            INTEGER NOT NULL,
    PRIMARY KEY (company_prefix, extension_digit)
);
CREATE TABLE IF NOT EXISTS counters (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
"#;

impl SiteRecords {
    /// Opens (creating if needed) the database at `path`.
    pub fn open(path: &Path) -> Result<SiteRecords, RecordsError> {
        let conn = Connection::open(path).context("opening the database file")?;
        conn.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;")
            .context("setting the journal mode")?;
        conn.execute_batch(SCHEMA).context("creating the tables")?;
        // A file written before AggregationEvents were kept gets their columns.
        let has_type: bool = conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM pragma_table_info('events') WHERE name = 'event_type')",
                [],
                |r| r.get(0),
            )
            .context("reading the events table")?;
        if !has_type {
            conn.execute_batch(
                "ALTER TABLE events ADD COLUMN event_type TEXT NOT NULL DEFAULT 'ObjectEvent';
                 ALTER TABLE events ADD COLUMN parent_id TEXT;",
            )
            .context("adding the event type and parent columns")?;
        }
        Ok(SiteRecords { conn })
    }

    /// Stores a capture (see the module doc) and its job record.
    pub fn capture(
        &mut self,
        capture_id: &str,
        created_at: &str,
        events: &[CapturedEvent],
        proceed_on_error: bool,
    ) -> Result<CaptureOutcome, RecordsError> {
        let tx = self.conn.transaction().context("starting a capture")?;
        let mut outcome = CaptureOutcome::default();
        let mut accepted: Vec<(String, &CapturedEvent)> = Vec::with_capacity(events.len());
        let mut duplicates = 0i64;
        {
            let mut lookup = tx
                .prepare("SELECT fingerprint FROM events WHERE event_id = ?1")
                .context("checking event IDs")?;
            let mut seen_here = std::collections::HashSet::new();
            for (index, event) in events.iter().enumerate() {
                let event_id = event.event_id.clone().unwrap_or_else(|| {
                    format!("urn:uuid:00000000-0000-4000-8000-{capture_id:0>8}{index:04}")
                });
                let stored: Option<i64> = lookup
                    .query_row([&event_id], |r| r.get(0))
                    .optional()
                    .context("checking event IDs")?;
                let fingerprint = event.fingerprint as i64;
                let problem = match stored {
                    Some(f) if f == fingerprint => Some((
                        ALREADY_EXISTS,
                        "event already captured; stored once".to_string(),
                    )),
                    Some(_) => Some((
                        VALIDATION,
                        "event ID already used by a different event; refused".to_string(),
                    )),
                    None if !seen_here.insert(event_id.clone()) => Some((
                        ALREADY_EXISTS,
                        "event appears twice in one document; stored once".to_string(),
                    )),
                    None => None,
                };
                match problem {
                    Some((kind, title)) => {
                        if kind == ALREADY_EXISTS {
                            duplicates += 1;
                        }
                        outcome.problems.push(CaptureProblem {
                            kind: kind.to_string(),
                            title,
                            instance: Some(event_id),
                        });
                    }
                    None => accepted.push((event_id, event)),
                }
            }
        }
        let store_accepted = outcome.problems.is_empty() || proceed_on_error;
        if store_accepted {
            let mut insert_event = tx
                .prepare(
                    "INSERT INTO events (event_id, fingerprint, action, biz_step, disposition, epc_count, capture_id,
                                         event_type, parent_id)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                )
                .context("storing events")?;
            let mut insert_epc = tx
                .prepare("INSERT INTO event_epcs (event_id, epc) VALUES (?1, ?2)")
                .context("storing EPCs")?;
            for (event_id, event) in &accepted {
                insert_event
                    .execute(params![
                        event_id,
                        event.fingerprint as i64,
                        event.action,
                        event.biz_step,
                        event.disposition,
                        event.epcs.len() as i64,
                        capture_id,
                        event.event_type,
                        event.parent_id
                    ])
                    .context("storing events")?;
                for epc in &event.epcs {
                    insert_epc
                        .execute(params![event_id, epc])
                        .context("storing EPCs")?;
                }
            }
            outcome.stored = accepted.len();
        }
        if duplicates > 0 {
            tx.execute(
                "INSERT INTO counters (name, value) VALUES ('duplicates_refused', ?1)
                 ON CONFLICT(name) DO UPDATE SET value = value + ?1",
                [duplicates],
            )
            .context("counting duplicates")?;
        }
        let errors = serde_json::to_string(&outcome.problems).unwrap_or_else(|_| "[]".into());
        tx.execute(
            "INSERT INTO capture_jobs (capture_id, created_at, finished_at, success, error_behaviour, errors)
             VALUES (?1, ?2, ?2, ?3, ?4, ?5)",
            params![
                capture_id,
                created_at,
                outcome.problems.is_empty(),
                if proceed_on_error { "proceed" } else { "rollback" },
                errors
            ],
        )
        .context("recording the capture job")?;
        tx.commit().context("committing a capture")?;
        Ok(outcome)
    }

    /// Issues `count` serial numbers for `gtin`, never issued before by this database.
    pub fn issue_serials(&mut self, gtin: &str, count: u32) -> Result<Vec<String>, RecordsError> {
        let tx = self.conn.transaction().context("issuing serials")?;
        let next: i64 = tx
            .query_row(
                "SELECT next FROM serial_counters WHERE gtin = ?1",
                [gtin],
                |r| r.get(0),
            )
            .optional()
            .context("issuing serials")?
            .unwrap_or(100_000_001);
        tx.execute(
            "INSERT INTO serial_counters (gtin, next) VALUES (?1, ?2)
             ON CONFLICT(gtin) DO UPDATE SET next = ?2",
            params![gtin, next + i64::from(count)],
        )
        .context("issuing serials")?;
        tx.commit().context("issuing serials")?;
        Ok((next..next + i64::from(count))
            .map(|n| n.to_string())
            .collect())
    }

    /// Reserves `count` SSCC serial references under `company_prefix` and
    /// `extension_digit`, never reserved before by this database (they start at
    /// 1,000,000 so that they do not meet a station's own generated range, which starts
    /// at 0).
    pub fn issue_sscc_references(
        &mut self,
        company_prefix: &str,
        extension_digit: u8,
        count: u32,
    ) -> Result<std::ops::Range<u64>, RecordsError> {
        let what = "issuing SSCC references";
        let tx = self.conn.transaction().context(what)?;
        let next: i64 = tx
            .query_row(
                "SELECT next FROM sscc_counters WHERE company_prefix = ?1 AND extension_digit = ?2",
                params![company_prefix, extension_digit],
                |r| r.get(0),
            )
            .optional()
            .context(what)?
            .unwrap_or(1_000_000);
        tx.execute(
            "INSERT INTO sscc_counters (company_prefix, extension_digit, next) VALUES (?1, ?2, ?3)
             ON CONFLICT(company_prefix, extension_digit) DO UPDATE SET next = ?3",
            params![company_prefix, extension_digit, next + i64::from(count)],
        )
        .context(what)?;
        tx.commit().context(what)?;
        let next = next.max(0) as u64;
        Ok(next..next + u64::from(count))
    }

    /// A capture job by ID.
    pub fn capture_job(&self, capture_id: &str) -> Result<Option<CaptureJobRecord>, RecordsError> {
        self.conn
            .query_row(
                "SELECT capture_id, created_at, finished_at, success, error_behaviour, errors
                 FROM capture_jobs WHERE capture_id = ?1",
                [capture_id],
                |r| {
                    let errors: String = r.get(5)?;
                    Ok(CaptureJobRecord {
                        capture_id: r.get(0)?,
                        created_at: r.get(1)?,
                        finished_at: r.get(2)?,
                        success: r.get(3)?,
                        error_behaviour: r.get(4)?,
                        errors: serde_json::from_str(&errors).unwrap_or_default(),
                    })
                },
            )
            .optional()
            .context("reading a capture job")
    }

    /// Every accepted event, in the order it was stored.
    pub fn events(&self) -> Result<Vec<StoredEvent>, RecordsError> {
        let what = "reading events";
        let mut stmt = self
            .conn
            .prepare(
                "SELECT event_id, action, biz_step, disposition, epc_count, capture_id, event_type, parent_id
                 FROM events ORDER BY rowid",
            )
            .context(what)?;
        let rows = stmt
            .query_map([], |r| {
                Ok(StoredEvent {
                    event_id: r.get(0)?,
                    event_type: r.get(6)?,
                    parent_id: r.get(7)?,
                    action: r.get(1)?,
                    biz_step: r.get(2)?,
                    disposition: r.get(3)?,
                    epc_count: r.get(4)?,
                    capture_id: r.get(5)?,
                })
            })
            .context(what)?;
        rows.map(|r| r.context(what)).collect()
    }

    /// The EPCs of one accepted event (an AggregationEvent's children), as sent.
    pub fn event_epcs(&self, event_id: &str) -> Result<Vec<String>, RecordsError> {
        let what = "reading an event's EPCs";
        let mut stmt = self
            .conn
            .prepare("SELECT epc FROM event_epcs WHERE event_id = ?1 ORDER BY rowid")
            .context(what)?;
        let rows = stmt.query_map([event_id], |r| r.get(0)).context(what)?;
        rows.map(|r| r.context(what)).collect()
    }

    /// What the container `parent` (its `parentID`, e.g. an SSCC EPC URI) holds now,
    /// by its AggregationEvents in capture order: ADD puts children in, DELETE takes
    /// them out. Children in the order they were first put in.
    pub fn children_of(&self, parent: &str) -> Result<Vec<String>, RecordsError> {
        let what = "reading a container's children";
        let mut stmt = self
            .conn
            .prepare(
                "SELECT e.action, x.epc FROM events e JOIN event_epcs x ON x.event_id = e.event_id
                 WHERE e.event_type = 'AggregationEvent' AND e.parent_id = ?1
                 ORDER BY e.rowid, x.rowid",
            )
            .context(what)?;
        let rows = stmt
            .query_map([parent], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })
            .context(what)?;
        let mut children: Vec<String> = Vec::new();
        for row in rows {
            let (action, epc) = row.context(what)?;
            match action.as_str() {
                "ADD" if !children.contains(&epc) => children.push(epc),
                "DELETE" => children.retain(|c| c != &epc),
                _ => {}
            }
        }
        Ok(children)
    }

    /// EPCs of every accepted event with this bizStep word, in capture order (an EPC
    /// listed twice means the site server got it twice).
    pub fn epcs_with_biz_step(&self, biz_step: &str) -> Result<Vec<String>, RecordsError> {
        let what = "reading EPCs";
        let mut stmt = self
            .conn
            .prepare(
                "SELECT x.epc FROM event_epcs x JOIN events e ON e.event_id = x.event_id
                 WHERE e.biz_step = ?1 ORDER BY x.rowid",
            )
            .context(what)?;
        let rows = stmt.query_map([biz_step], |r| r.get(0)).context(what)?;
        rows.map(|r| r.context(what)).collect()
    }

    /// EPCs commissioned.
    pub fn commissioned_epcs(&self) -> Result<Vec<String>, RecordsError> {
        self.epcs_with_biz_step("commissioning")
    }
    /// EPCs decommissioned.
    pub fn decommissioned_epcs(&self) -> Result<Vec<String>, RecordsError> {
        self.epcs_with_biz_step("decommissioning")
    }
    /// EPCs destroyed.
    pub fn destroyed_epcs(&self) -> Result<Vec<String>, RecordsError> {
        self.epcs_with_biz_step("destroying")
    }

    /// Number of EPC rows over all accepted events.
    pub fn epc_count(&self) -> Result<i64, RecordsError> {
        self.conn
            .query_row("SELECT count(*) FROM event_epcs", [], |r| r.get(0))
            .context("counting EPCs")
    }

    /// How many identical events were refused as duplicates.
    pub fn duplicates_refused(&self) -> Result<i64, RecordsError> {
        Ok(self
            .conn
            .query_row(
                "SELECT value FROM counters WHERE name = 'duplicates_refused'",
                [],
                |r| r.get(0),
            )
            .optional()
            .context("reading the duplicate count")?
            .unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aggregation(id: &str, action: &str, parent: &str, children: &[&str]) -> CapturedEvent {
        CapturedEvent {
            event_type: super::super::parse::AGGREGATION_EVENT.to_string(),
            event_id: Some(id.to_string()),
            action: action.to_string(),
            biz_step: if action == "ADD" {
                "packing"
            } else {
                "unpacking"
            }
            .to_string(),
            disposition: "in_progress".to_string(),
            epcs: children.iter().map(|c| c.to_string()).collect(),
            parent_id: Some(parent.to_string()),
            fingerprint: id.len() as u64,
        }
    }

    #[test]
    fn a_container_holds_what_was_added_and_not_taken_out() {
        let mut records = SiteRecords::open(Path::new(":memory:")).unwrap();
        let case = "urn:epc:id:sscc:9506000.0000000017";
        let events = [
            aggregation("a1", "ADD", case, &["p1", "p2", "p3"]),
            aggregation("d1", "DELETE", case, &["p2"]),
            aggregation("a2", "ADD", case, &["p4"]),
            aggregation("x1", "ADD", "urn:epc:id:sscc:9506000.0000000024", &["p9"]),
        ];
        records
            .capture("c1", "2026-01-01T00:00:00Z", &events, false)
            .unwrap();
        assert_eq!(records.children_of(case).unwrap(), ["p1", "p3", "p4"]);
        let stored = records.events().unwrap();
        assert_eq!(stored[0].event_type, "AggregationEvent");
        assert_eq!(stored[0].parent_id.as_deref(), Some(case));
        assert_eq!(records.event_epcs("a1").unwrap(), ["p1", "p2", "p3"]);
        assert!(
            records
                .children_of("urn:epc:id:sscc:9506000.0000000031")
                .unwrap()
                .is_empty()
        );
    }
}
