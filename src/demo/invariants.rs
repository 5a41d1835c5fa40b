//! The station's invariants (ARCHITECTURE.md, "Invariants and where they are
//! enforced"), judged from the simulator's ground truth (what physically happened)
//! and the station's store (what it recorded and reported).

use std::collections::HashMap;

use serialstation_simulator::GroundTruth;

use crate::report::BatchReport;
use crate::store::Store;

/// The verdict on one invariant.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct InvariantCheck {
    pub number: u8,
    pub name: &'static str,
    pub passed: bool,
    pub detail: String,
}

impl InvariantCheck {
    /// One line: `invariant N (name): ok|FAILED - detail`.
    pub fn line(&self) -> String {
        format!(
            "invariant {} ({}): {} - {}",
            self.number,
            self.name,
            if self.passed { "ok" } else { "FAILED" },
            self.detail
        )
    }
}

fn check(number: u8, name: &'static str, problems: &[String], ok_detail: String) -> InvariantCheck {
    InvariantCheck {
        number,
        name,
        passed: problems.is_empty(),
        detail: if problems.is_empty() {
            ok_detail
        } else {
            let shown: Vec<&str> = problems.iter().take(5).map(String::as_str).collect();
            format!("{} problem(s): {}", problems.len(), shown.join("; "))
        },
    }
}

/// Outbox events per serial and kind.
fn outbox_events(store: &Store) -> Result<HashMap<(String, String), u64>, String> {
    let conn = store.raw_connection();
    let mut stmt = conn
        .prepare("SELECT kind, payload FROM outbox")
        .map_err(|e| format!("reading the outbox: {e}"))?;
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
        .map_err(|e| format!("reading the outbox: {e}"))?;
    let mut events = HashMap::new();
    for row in rows {
        let (kind, payload) = row.map_err(|e| format!("reading the outbox: {e}"))?;
        let value: serde_json::Value = serde_json::from_str(&payload)
            .map_err(|e| format!("an outbox payload is not JSON: {e}"))?;
        let serial = value["serial"].as_str().unwrap_or_default().to_string();
        *events.entry((serial, kind)).or_insert(0) += 1;
    }
    Ok(events)
}

/// Checks the five invariants.
pub fn check_invariants(
    truth: &GroundTruth,
    store: &Store,
    report: &BatchReport,
) -> Result<Vec<InvariantCheck>, String> {
    let gt = |e: serialstation_simulator::ground_truth::GroundTruthError| {
        format!("reading the ground truth: {e}")
    };
    let events = outbox_events(store)?;
    let count = |serial: &str, kind: &str| {
        events
            .get(&(serial.to_string(), kind.to_string()))
            .copied()
            .unwrap_or(0)
    };

    let twice = truth.serials_printed_more_than_once().map_err(gt)?;
    let summary = truth.summary().map_err(gt)?;
    let problems: Vec<String> = twice
        .iter()
        .map(|(serial, n)| format!("{serial} printed {n} times"))
        .collect();
    let first = check(
        1,
        "no serial printed twice",
        &problems,
        format!("{} items printed, each serial once", summary.printed),
    );

    let escaped = truth.good_exits_without_good_verdict().map_err(gt)?;
    let good = truth.serials_exited_good().map_err(gt)?;
    let mut problems: Vec<String> = escaped
        .iter()
        .map(|item| {
            format!(
                "item {} left the good exit without a GOOD verdict",
                item.seq
            )
        })
        .collect();
    for serial in &good {
        let n = count(serial, "commissioned");
        if n != 1 {
            problems.push(format!(
                "{serial} left the good exit and was commissioned {n} times"
            ));
        }
    }
    let second = check(
        2,
        "every good exit had a GOOD verdict and is commissioned once",
        &problems,
        format!("{} good exits, each commissioned exactly once", good.len()),
    );

    let rejected = truth.serials_rejected().map_err(gt)?;
    let mut problems = Vec::new();
    for serial in &rejected {
        if count(serial, "commissioned") > 0 {
            problems.push(format!("{serial} was rejected but commissioned"));
        } else if count(serial, "scrapped") + count(serial, "invalidated") == 0 {
            problems.push(format!("{serial} was rejected but never reported used up"));
        }
    }
    let third = check(
        3,
        "every rejected item scrapped, never commissioned",
        &problems,
        format!("{} rejected items, all scrapped", rejected.len()),
    );

    let mut problems = Vec::new();
    if !report.balanced {
        problems.push(format!(
            "allocated {} but {} still outstanding",
            report.serials.allocated, report.serials.outstanding
        ));
    }
    if report.state != "closed" {
        problems.push(format!("the batch is {}, not closed", report.state));
    }
    let fourth = check(
        4,
        "every allocated serial accounted for",
        &problems,
        format!(
            "{} allocated, balanced and closed",
            report.serials.allocated
        ),
    );

    let audit = store
        .verify_audit()
        .map_err(|e| format!("verifying the audit trail: {e}"))?;
    let problems: Vec<String> = audit
        .first_broken
        .iter()
        .map(|row| format!("row {}: {}", row.id, row.reason))
        .collect();
    let fifth = check(
        5,
        "audit trail verifies",
        &problems,
        format!("{} rows, hash chain intact", audit.rows_checked),
    );
    Ok(vec![first, second, third, fourth, fifth])
}

/// The site server's side: every commissioned serial reached it exactly once, and
/// every scrapped or invalidated serial was reported used up (never as commissioned).
pub fn check_upload(
    site: &serialstation_simulator::site_server::SiteRecords,
    store: &Store,
) -> Result<InvariantCheck, String> {
    let read = |e: serialstation_simulator::site_server::RecordsError| {
        format!("reading the site server's records: {e}")
    };
    // Serial of an SGTIN EPC URI: after the last '.' (the demo's serials are
    // alphanumeric, so never escaped).
    let serial_of = |epc: &str| epc.rsplit('.').next().unwrap_or_default().to_string();
    let mut commissioned_at_site: HashMap<String, u64> = HashMap::new();
    for epc in site.commissioned_epcs().map_err(read)? {
        *commissioned_at_site.entry(serial_of(&epc)).or_default() += 1;
    }
    let mut used_up_at_site: HashMap<String, u64> = HashMap::new();
    for epc in site
        .decommissioned_epcs()
        .map_err(read)?
        .into_iter()
        .chain(site.destroyed_epcs().map_err(read)?)
    {
        *used_up_at_site.entry(serial_of(&epc)).or_default() += 1;
    }
    let events = outbox_events(store)?;
    let mut problems = Vec::new();
    let mut commissioned = 0u64;
    let mut used_up = 0u64;
    for (serial, kind) in events.keys() {
        match kind.as_str() {
            "commissioned" => {
                commissioned += 1;
                let n = commissioned_at_site.get(serial).copied().unwrap_or(0);
                if n != 1 {
                    problems.push(format!(
                        "{serial} was commissioned but the site server got it {n} times"
                    ));
                }
            }
            "scrapped" | "invalidated" => {
                used_up += 1;
                if commissioned_at_site.contains_key(serial) {
                    problems.push(format!(
                        "{serial} is {kind} but the site server has it commissioned"
                    ));
                }
                if !used_up_at_site.contains_key(serial) {
                    problems.push(format!(
                        "{serial} is {kind} but the site server was never told"
                    ));
                }
            }
            _ => {}
        }
    }
    let extra = commissioned_at_site
        .keys()
        .filter(|serial| !events.contains_key(&((*serial).clone(), "commissioned".to_string())))
        .count();
    if extra > 0 {
        problems.push(format!(
            "the site server has {extra} commissioned serials the station never commissioned"
        ));
    }
    Ok(check(
        6,
        "the site server got every commissioned serial once and every used-up one",
        &problems,
        format!("{commissioned} commissioned and {used_up} used-up serials delivered, none twice"),
    ))
}
