//! The electronic batch record: everything QA needs to release a batch, read from
//! the store in one place. It holds the reconciliation report ([`BatchReport`]),
//! an item-level reconciliation that makes the counts explain each other, the
//! items over time, the grade distribution, the batch's states and holds, the
//! operator actions and signatures from the audit trail, the challenge test, the
//! upload delivery per client and the audit head.
//!
//! [`BatchRecord::build`] reads; everything after that is pure, and
//! [`crate::report::html::render`] turns a record into one HTML file.
//!
//! What the store does not record is said so in the record, never made up:
//! alarms nobody
//! acknowledged (the daemon keeps alarms in memory and records them only when they
//! are acknowledged; the holds they cause are recorded as state changes with a
//! reason), the number of challenge items requested, and why each serial was
//! invalidated (the line records keep only counts per group commit).

use std::collections::BTreeMap;

use crate::limits::thousands;
use crate::report::BatchReport;
use crate::station::latency::{BIN_LOWER_MS, bin_label};
use crate::store::audit::AuditEntry;
use crate::store::clock;
use crate::store::line_records::BatchSerialCounts;
use crate::store::record_reads::{
    BatchDelivery, ItemClass, ItemTally, LatencyBin, LineRecordGroups, MinuteItems, RejectedItem,
    ReturnGroup,
};
use crate::store::state::SerialState;
use crate::store::{BatchId, ClientOutboxStatus, Store, StoreError};

/// How many of the last rejected items the record lists.
pub const LAST_REJECTS: usize = 25;

/// At most this many time buckets in the charts (minutes are merged above it).
pub const MAX_BUCKETS: usize = 60;

/// At most this many audit rows are listed as operator actions.
pub const MAX_LISTED_ACTIONS: usize = 2000;

/// At most this many audit rows are read for the states and signatures.
const MAX_AUDIT_ROWS_READ: usize = 50_000;

/// The reason the engine records for an operator's pause (`HoldReason::Operator`).
pub const OPERATOR_PAUSE_REASON: &str = "paused by the operator";

/// The actor name start-up recovery writes its records as (`daemon/startup.rs`).
pub const RECOVERY_ACTOR: &str = "recovery";

/// The electronic batch record of one batch.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct BatchRecord {
    /// The reconciliation report (serial counts, verdicts, grades, fates, audit head).
    pub report: BatchReport,
    pub product_name: Option<String>,
    pub client_id: Option<String>,
    pub client_name: Option<String>,
    /// When the batch was created (store time, UTC).
    pub created_at: String,
    pub closed_at: Option<String>,
    /// The station's store file.
    pub store_path: String,
    /// When this record was made (UTC) and by what.
    pub generated_at: String,
    pub generator: String,
    /// Items recorded (verdicts and fates), and the first and last record times.
    pub items: u64,
    pub first_item_at: Option<String>,
    pub last_item_at: Option<String>,
    /// The batch's time span for the timeline, Unix ms (UTC).
    pub span_start_ms: i64,
    pub span_end_ms: i64,
    /// Items per time bucket, oldest first (at most [`MAX_BUCKETS`]).
    pub buckets: Vec<TimeBucket>,
    /// Items whose time could not be read (not in any bucket).
    pub unplaced_items: u64,
    /// The last rejected items, newest first.
    pub last_rejects: Vec<RejectedItem>,
    /// Items per grade letter, best first (A, B, C, D, F, then anything else).
    pub grades: Vec<(String, u64)>,
    /// Items without a grade (no read, or no verdict).
    pub ungraded: u64,
    pub latency: DecisionLatency,
    /// The batch's states over time, from its creation.
    pub timeline: Vec<StateSpan>,
    /// Markers on the timeline: signatures, alarms, decommissions, other actions.
    pub events: Vec<TimelineEvent>,
    pub signatures: Vec<Signature>,
    pub failed_signatures: Vec<Signature>,
    /// QA's release (`batch.release` audit row): who, when and the comment.
    pub release: Option<Release>,
    /// Alarms of the batch as recorded when acknowledged (`alarm.acknowledge`).
    pub alarms: Vec<AlarmRecord>,
    /// The batch's audit rows, oldest first, without the line-record and
    /// allocation bookkeeping rows (counted in `bookkeeping`).
    pub actions: Vec<AuditEntry>,
    /// More audit rows belong to the batch than are listed.
    pub actions_truncated: bool,
    pub bookkeeping: Bookkeeping,
    pub challenge: Challenge,
    /// This batch's outbox rows per client.
    pub deliveries: Vec<BatchDelivery>,
    /// Every client's outbox (all batches), as `upload status` shows it.
    pub outbox_overall: Vec<ClientOutboxStatus>,
    pub reconciliation: ItemReconciliation,
}

/// The items of one stretch of time.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct TimeBucket {
    /// Start, Unix ms (UTC), and as store text.
    pub start_ms: i64,
    pub start: String,
    /// Length in minutes.
    pub minutes: u32,
    pub good: u64,
    pub rejects_by_reason: BTreeMap<String, u64>,
    /// Items with a fate but no verdict.
    pub undecided: u64,
}

impl TimeBucket {
    pub fn rejects(&self) -> u64 {
        self.rejects_by_reason.values().sum()
    }

    /// Items with a verdict.
    pub fn decided(&self) -> u64 {
        self.good + self.rejects()
    }

    /// Items with a verdict per minute.
    pub fn rate_per_min(&self) -> f64 {
        self.decided() as f64 / f64::from(self.minutes.max(1))
    }
}

/// The time from an item's camera read to its verdict, if the store has it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DecisionLatency {
    pub recorded: bool,
    /// Histogram bins (label, items) when recorded.
    pub histogram: Vec<(String, u64)>,
    /// What is recorded, or why nothing is.
    pub note: String,
}

/// One stretch of one batch state.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StateSpan {
    /// The engine's state (`created`, `challenge`, `running`, `paused`, `stopping`,
    /// `stopped`, `challenge_failed`, `closed`) or the stored one.
    pub state: String,
    /// Why (for a hold: the hold's reason).
    pub reason: Option<String>,
    /// Who the change is attributed to.
    pub actor: String,
    pub from: String,
    /// `None`: still in this state when the record was made.
    pub to: Option<String>,
    pub from_ms: i64,
    pub to_ms: i64,
    /// Paused with a reason other than the operator's pause: the line held the batch.
    pub hold: bool,
}

/// A marker on the timeline.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TimelineEvent {
    pub at: String,
    pub at_ms: i64,
    /// `signature`, `signature.failed`, `alarm`, or `action`.
    pub kind: String,
    pub text: String,
}

/// An electronic signature (or a failed attempt) from the audit trail.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Signature {
    pub audit_id: i64,
    pub at: String,
    /// What was signed: `batch N`, `serial X`, or `active batch` (then matched to
    /// this batch by time).
    pub subject: String,
    pub signer: String,
    pub role: String,
    pub meaning: String,
    /// The action signed for (`batch.close`, `batch.release`, ...).
    pub signed_for: String,
    /// For a failed attempt: what the audit row says about it.
    pub detail: Option<String>,
}

/// QA's release of the batch.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Release {
    pub audit_id: i64,
    pub at: String,
    pub actor: String,
    pub signer: Option<String>,
    pub role: Option<String>,
    pub meaning: Option<String>,
    pub comment: Option<String>,
}

/// An alarm of the batch, recorded when an operator acknowledged it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AlarmRecord {
    pub id: Option<u64>,
    /// When the daemon raised it (as it reported it), or the acknowledgement time.
    pub raised_at: String,
    pub text: String,
    pub acknowledged_at: String,
    pub acknowledged_by: String,
}

/// The machine's bookkeeping rows of the batch in the audit trail, counted.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Bookkeeping {
    /// `line.records` rows (one per group commit).
    pub line_record_groups: u64,
    pub first_line_record_at: Option<String>,
    pub last_line_record_at: Option<String>,
    /// `serials.allocate` rows and the serials they hand out.
    pub allocation_rows: u64,
    pub allocated_serials: u64,
}

/// The challenge test as the store shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Challenge {
    /// A `challenge` state is in the batch's audit trail.
    pub ran: bool,
    pub started_at: Option<String>,
    pub ended_at: Option<String>,
    /// `passed`, `failed`, `ended`, `running`, or `not run`.
    pub outcome: String,
    /// In the operator's words.
    pub summary: String,
    /// Items first recorded during the test.
    pub items: u64,
    pub rejected_confirmed: u64,
    /// Items of the test that were not a confirmed reject (verdict, reason, fate: items).
    pub other: Vec<(String, u64)>,
    /// Rejected items of the test that name no printed serial (blank items).
    pub blank_rejects: u64,
}

/// One line of the item-level reconciliation.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReconLine {
    /// 0: a total; 1, 2: parts of the line above.
    pub depth: u8,
    pub label: String,
    pub count: u64,
    pub note: String,
}

/// A sum the record checks.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReconCheck {
    pub holds: bool,
    pub text: String,
}

/// The items' verdicts against their fates at the gate.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct GateTable {
    /// Columns, in order.
    pub fates: Vec<String>,
    /// (verdict label, count per fate column, total).
    pub rows: Vec<(String, Vec<u64>, u64)>,
}

/// The item-level reconciliation: items on the line, then the serials.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ItemReconciliation {
    pub items: Vec<ReconLine>,
    pub serials: Vec<ReconLine>,
    pub gate: GateTable,
    pub checks: Vec<ReconCheck>,
}

impl ItemReconciliation {
    /// Every check holds.
    pub fn adds_up(&self) -> bool {
        self.checks.iter().all(|c| c.holds)
    }
}

impl BatchRecord {
    /// Reads the record of `batch` from the store.
    pub fn build(store: &Store, batch: BatchId) -> Result<BatchRecord, StoreError> {
        let report = BatchReport::build(store, batch)?;
        let stored = store.batch(batch)?.ok_or_else(|| {
            StoreError::NotFound(format!(
                "there is no batch {} in this store: check the batch number and --db",
                batch.0
            ))
        })?;
        let product = store.batch_product(batch)?;
        let span = store.batch_item_span(batch)?;
        let minutes = store.batch_items_per_minute(batch)?;
        let last_rejects = store.batch_last_rejects(batch, LAST_REJECTS)?;
        let classes = store.batch_item_classes(batch)?;
        let without_item = store.batch_serials_without_item(batch)?;
        let groups = store.batch_line_record_groups(batch)?;
        let audit = store.batch_audit_rows(batch, MAX_AUDIT_ROWS_READ)?;
        let returns = store.batch_returns(batch)?;
        let deliveries = store.batch_delivery(batch)?;
        let outbox_overall = store.outbox_status()?;
        let generated_at = clock::now();

        let created_ms = parse_utc_ms(&stored.created_at);
        let mut end_ms = [
            stored.closed_at.as_deref(),
            span.last_at.as_deref(),
            groups.last_at.as_deref(),
            audit.last().map(|a| a.at.as_str()),
        ]
        .into_iter()
        .flatten()
        .filter_map(parse_utc_ms)
        .max();
        let start_ms = created_ms
            .or_else(|| span.first_at.as_deref().and_then(parse_utc_ms))
            .or(end_ms)
            .unwrap_or(0);
        if end_ms.is_none_or(|end| end <= start_ms) {
            end_ms = Some(start_ms + 60_000);
        }
        let end_ms = end_ms.unwrap_or(start_ms + 60_000);

        let timeline = state_timeline(&stored.created_at, start_ms, end_ms, &audit);
        let (signatures, failed_signatures) = signatures(&audit);
        let release = release(&audit);
        let alarms = alarms(&audit);
        let events = timeline_events(&audit, &alarms);
        let (bookkeeping, actions, actions_truncated) = split_actions(&groups, audit);
        let (buckets, unplaced_items) = bucket_minutes(&minutes, MAX_BUCKETS);

        let challenge_window = challenge_window(&timeline);
        let challenge = match &challenge_window {
            Some((from, to, outcome, reason)) => {
                let tallies = store.batch_items_between(batch, from, to.as_deref())?;
                challenge_evidence(from, to.as_deref(), outcome, reason.as_deref(), &tallies)
            }
            None => Challenge {
                ran: false,
                outcome: "not run".to_string(),
                summary: "no challenge test was run for this batch (its audit trail has no \
                          `challenge` state)"
                    .to_string(),
                ..Challenge::default()
            },
        };

        let grades = grade_rows(&report.items.grades);
        let graded: u64 = grades.iter().map(|(_, n)| n).sum();
        let reconciliation = reconcile(&ReconInput {
            counts: &report.serials,
            classes: &classes,
            without_item: &without_item,
            groups: &groups,
            returns: &returns,
            challenge_blank_rejects: challenge.ran.then_some(challenge.blank_rejects),
        });

        Ok(BatchRecord {
            product_name: product.as_ref().map(|p| p.product_name.clone()),
            client_id: product.as_ref().map(|p| p.client_id.clone()),
            client_name: product.as_ref().map(|p| p.client_name.clone()),
            created_at: stored.created_at,
            closed_at: stored.closed_at,
            store_path: store.path().display().to_string(),
            generated_at,
            generator: format!("serialstation {}", env!("CARGO_PKG_VERSION")),
            items: span.items,
            first_item_at: span.first_at,
            last_item_at: span.last_at,
            span_start_ms: start_ms,
            span_end_ms: end_ms,
            buckets,
            unplaced_items,
            last_rejects,
            ungraded: span.items.saturating_sub(graded),
            grades,
            latency: decision_latency(&store.batch_decision_latency(batch)?),
            timeline,
            events,
            signatures,
            failed_signatures,
            release,
            alarms,
            actions,
            actions_truncated,
            bookkeeping,
            challenge,
            deliveries,
            outbox_overall,
            reconciliation,
            report,
        })
    }
}

/// The batch's decision-latency histogram as the record shows it: every bin from
/// 0 ms up to the highest one with items (empty bins included, so the shape is
/// honest), and a note with the count, the median's and the 99th percentile's bins
/// and the largest latency.
pub fn decision_latency(bins: &[LatencyBin]) -> DecisionLatency {
    let total: u64 = bins.iter().map(|b| b.items).sum();
    if total == 0 {
        return DecisionLatency {
            recorded: false,
            histogram: Vec::new(),
            note: "not recorded: the station stored no decision latency for this batch (it \
                   wrote no verdict, or an older version ran it)"
                .to_string(),
        };
    }
    let highest = bins
        .iter()
        .filter(|b| b.items > 0)
        .map(|b| b.lower_ms)
        .max()
        .unwrap_or(0);
    let histogram: Vec<(String, u64)> = BIN_LOWER_MS
        .iter()
        .enumerate()
        .take_while(|(_, lower)| **lower <= highest)
        .map(|(i, lower)| {
            let items = bins
                .iter()
                .filter(|b| b.lower_ms == *lower)
                .map(|b| b.items)
                .sum();
            (bin_label(i), items)
        })
        .collect();
    let quantile_bin = |q: f64| {
        let rank = ((total as f64) * q).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (label, n) in &histogram {
            seen += n;
            if seen >= rank {
                return label.clone();
            }
        }
        String::from("?")
    };
    let max_us = bins.iter().map(|b| b.max_us).max().unwrap_or(0);
    DecisionLatency {
        recorded: true,
        note: format!(
            "{} items timed from the station taking in the camera readout to the verdict \
             written to the PLC (the disk sync of the verdict lies in between); median in \
             the {} ms bin, 99th percentile in the {} ms bin, largest {:.1} ms. Verdicts \
             written after the station's last commit before a restart are not counted",
            thousands(total),
            quantile_bin(0.5),
            quantile_bin(0.99),
            max_us as f64 / 1000.0
        ),
        histogram,
    }
}

/// Unix ms (UTC) of store time text `YYYY-MM-DDTHH:MM[:SS[.mmm]]...`.
pub fn parse_utc_ms(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    let sep = |i: usize, c: u8| b.get(i) == Some(&c);
    if !(sep(4, b'-') && sep(7, b'-') && sep(10, b'T') && sep(13, b':')) {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<i64> {
        let part = text.get(from..to)?;
        if part.bytes().all(|c| c.is_ascii_digit()) {
            part.parse().ok()
        } else {
            None
        }
    };
    let (year, month, day) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (hour, minute) = (num(11, 13)?, num(14, 16)?);
    let second = if sep(16, b':') { num(17, 19)? } else { 0 };
    let millis = if sep(16, b':') && sep(19, b'.') {
        num(20, 23)?
    } else {
        0
    };
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let days = days_from_civil(year, month, day)?;
    Some((((days * 24 + hour) * 60 + minute) * 60 + second) * 1000 + millis)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (the `time` crate's
/// calendar). A day past the end of its month runs on into the next month.
fn days_from_civil(year: i64, month: i64, day: i64) -> Option<i64> {
    let month = time::Month::try_from(u8::try_from(month).ok()?).ok()?;
    let first = time::Date::from_calendar_date(i32::try_from(year).ok()?, month, 1).ok()?;
    let midnight = time::UtcDateTime::new(first, time::Time::MIDNIGHT).unix_timestamp();
    Some(midnight.div_euclid(86_400) + day - 1)
}

/// Merges per-minute counts into at most `max` buckets of whole minutes, from the
/// first minute to the last, with empty buckets where nothing was decided. Returns
/// the buckets and the items whose minute could not be read.
pub fn bucket_minutes(minutes: &[MinuteItems], max: usize) -> (Vec<TimeBucket>, u64) {
    let mut unplaced = 0u64;
    let mut placed: Vec<(i64, &MinuteItems)> = Vec::new();
    for m in minutes {
        match parse_utc_ms(&m.minute) {
            Some(ms) => placed.push((ms, m)),
            None => {
                unplaced += m.good + m.undecided + m.rejects_by_reason.values().sum::<u64>();
            }
        }
    }
    let (Some(first), Some(last)) = (
        placed.iter().map(|(ms, _)| *ms).min(),
        placed.iter().map(|(ms, _)| *ms).max(),
    ) else {
        return (Vec::new(), unplaced);
    };
    let span_minutes = (last - first) / 60_000 + 1;
    let max = i64::try_from(max.max(1)).unwrap_or(i64::MAX);
    let width = (span_minutes + max - 1) / max;
    let count = (span_minutes + width - 1) / width;
    let width_u32 = u32::try_from(width).unwrap_or(u32::MAX);
    let mut buckets: Vec<TimeBucket> = (0..count)
        .map(|i| {
            let start_ms = first + i * width * 60_000;
            TimeBucket {
                start_ms,
                start: clock::format_unix_ms(start_ms),
                minutes: width_u32,
                ..TimeBucket::default()
            }
        })
        .collect();
    for (ms, m) in placed {
        let index = usize::try_from((ms - first) / 60_000 / width).unwrap_or(0);
        let Some(bucket) = buckets.get_mut(index) else {
            unplaced += m.good + m.undecided + m.rejects_by_reason.values().sum::<u64>();
            continue;
        };
        bucket.good += m.good;
        bucket.undecided += m.undecided;
        for (reason, n) in &m.rejects_by_reason {
            *bucket.rejects_by_reason.entry(reason.clone()).or_default() += n;
        }
    }
    (buckets, unplaced)
}

/// Grade letters best first: the ISO/IEC 15415 letters, then anything else.
fn grade_rows(grades: &BTreeMap<String, u64>) -> Vec<(String, u64)> {
    let mut rows: Vec<(String, u64)> = ["A", "B", "C", "D", "F"]
        .iter()
        .map(|letter| {
            (
                letter.to_string(),
                grades.get(*letter).copied().unwrap_or(0),
            )
        })
        .collect();
    for (letter, n) in grades {
        if !["A", "B", "C", "D", "F"].contains(&letter.as_str()) {
            rows.push((letter.clone(), *n));
        }
    }
    rows
}

fn json_of(text: Option<&str>) -> Option<serde_json::Value> {
    text.and_then(|t| serde_json::from_str(t).ok())
}

fn json_str(value: Option<&serde_json::Value>, key: &str) -> Option<String> {
    match value?.get(key)? {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// The batch's states over time from its `batch.state` audit rows, starting with
/// `created` at the batch's creation.
fn state_timeline(
    created_at: &str,
    start_ms: i64,
    end_ms: i64,
    audit: &[AuditEntry],
) -> Vec<StateSpan> {
    let mut spans: Vec<StateSpan> = vec![StateSpan {
        state: "created".to_string(),
        reason: None,
        actor: String::new(),
        from: created_at.to_string(),
        to: None,
        from_ms: start_ms,
        to_ms: end_ms,
        hold: false,
    }];
    for row in audit.iter().filter(|a| a.action == "batch.state") {
        let after = json_of(row.after.as_deref());
        let Some(state) = json_str(after.as_ref(), "state") else {
            continue;
        };
        let reason = json_str(after.as_ref(), "reason");
        let at_ms = parse_utc_ms(&row.at)
            .unwrap_or(start_ms)
            .clamp(start_ms, end_ms);
        if let Some(last) = spans.last_mut() {
            last.to = Some(row.at.clone());
            last.to_ms = at_ms;
        }
        spans.push(StateSpan {
            // An operator's pause is not a hold; any other reason is the line's.
            hold: state == "paused"
                && reason
                    .as_deref()
                    .is_some_and(|r| r != OPERATOR_PAUSE_REASON),
            state,
            reason,
            actor: row.actor.clone(),
            from: row.at.clone(),
            to: None,
            from_ms: at_ms,
            to_ms: end_ms,
        });
    }
    spans
}

/// Signatures and failed signature attempts, oldest first.
fn signatures(audit: &[AuditEntry]) -> (Vec<Signature>, Vec<Signature>) {
    let mut good = Vec::new();
    let mut failed = Vec::new();
    for row in audit {
        let is_failed = row.action == "signature.failed";
        if row.action != "signature" && !is_failed {
            continue;
        }
        let after = json_of(row.after.as_deref());
        let after = after.as_ref();
        let mut details: Vec<String> = ["reason", "why", "error", "detail"]
            .iter()
            .filter_map(|key| json_str(after, key))
            .collect();
        if let Some(n) = json_str(after, "failed_in_a_row") {
            details.push(format!("{n} wrong password(s) in a row"));
        }
        if json_str(after, "locked").as_deref() == Some("true") {
            details.push("the account was locked".to_string());
        }
        let signature = Signature {
            audit_id: row.id,
            at: row.at.clone(),
            subject: row.subject.clone(),
            signer: json_str(after, "signer").unwrap_or_else(|| row.actor.clone()),
            role: json_str(after, "role").unwrap_or_default(),
            meaning: json_str(after, "meaning").unwrap_or_default(),
            signed_for: json_str(after, "for").unwrap_or_default(),
            detail: (!details.is_empty()).then(|| details.join("; ")),
        };
        if is_failed {
            failed.push(signature);
        } else {
            good.push(signature);
        }
    }
    (good, failed)
}

/// The first `batch.release` row, if any.
fn release(audit: &[AuditEntry]) -> Option<Release> {
    let row = audit.iter().find(|a| a.action == "batch.release")?;
    let after = json_of(row.after.as_deref());
    let after = after.as_ref();
    Some(Release {
        audit_id: row.id,
        at: row.at.clone(),
        actor: row.actor.clone(),
        signer: json_str(after, "signer"),
        role: json_str(after, "role"),
        meaning: json_str(after, "meaning"),
        comment: json_str(after, "comment"),
    })
}

/// The alarms listed by the batch's `alarm.acknowledge` rows
/// (`{"alarms": [{"id", "text", "raised_at"}]}`), in acknowledgement order.
fn alarms(audit: &[AuditEntry]) -> Vec<AlarmRecord> {
    let mut out = Vec::new();
    for row in audit.iter().filter(|a| a.action == "alarm.acknowledge") {
        let after = json_of(row.after.as_deref());
        let listed = after
            .as_ref()
            .and_then(|v| v.get("alarms"))
            .and_then(serde_json::Value::as_array);
        let Some(listed) = listed else {
            out.push(AlarmRecord {
                id: None,
                raised_at: row.at.clone(),
                text: row.after.clone().unwrap_or_default(),
                acknowledged_at: row.at.clone(),
                acknowledged_by: row.actor.clone(),
            });
            continue;
        };
        for alarm in listed {
            out.push(AlarmRecord {
                id: alarm.get("id").and_then(serde_json::Value::as_u64),
                raised_at: json_str(Some(alarm), "raised_at").unwrap_or_else(|| row.at.clone()),
                text: json_str(Some(alarm), "text").unwrap_or_default(),
                acknowledged_at: row.at.clone(),
                acknowledged_by: row.actor.clone(),
            });
        }
    }
    out
}

/// Markers for the timeline: the acknowledged alarms at the time they were raised,
/// and every audit row of the batch that is not a state change, an alarm
/// acknowledgement or bookkeeping.
fn timeline_events(audit: &[AuditEntry], alarms: &[AlarmRecord]) -> Vec<TimelineEvent> {
    let mut events: Vec<TimelineEvent> = alarms
        .iter()
        .filter_map(|a| {
            let at_ms = parse_utc_ms(&a.raised_at).or_else(|| parse_utc_ms(&a.acknowledged_at))?;
            Some(TimelineEvent {
                at: a.raised_at.clone(),
                at_ms,
                kind: "alarm".to_string(),
                text: format!(
                    "alarm{}: {} (acknowledged by {} at {})",
                    a.id.map_or(String::new(), |id| format!(" {id}")),
                    a.text,
                    a.acknowledged_by,
                    a.acknowledged_at
                ),
            })
        })
        .collect();
    events.extend(
        audit
            .iter()
            .filter(|a| {
                !matches!(
                    a.action.as_str(),
                    "batch.state" | "serials.allocate" | "alarm.acknowledge"
                )
            })
            .filter_map(|a| {
                let at_ms = parse_utc_ms(&a.at)?;
                let kind = if a.action == "signature" || a.action == "signature.failed" {
                    a.action.clone()
                } else if a.action.starts_with("alarm") {
                    "alarm".to_string()
                } else {
                    "action".to_string()
                };
                Some(TimelineEvent {
                    at: a.at.clone(),
                    at_ms,
                    kind,
                    text: format!("{} by {}", a.action, a.actor),
                })
            }),
    );
    events.sort_by_key(|e| e.at_ms);
    events
}

/// Splits the batch's audit rows into bookkeeping counts and the listed actions.
fn split_actions(
    groups: &LineRecordGroups,
    audit: Vec<AuditEntry>,
) -> (Bookkeeping, Vec<AuditEntry>, bool) {
    let mut bookkeeping = Bookkeeping {
        line_record_groups: groups.groups,
        first_line_record_at: groups.first_at.clone(),
        last_line_record_at: groups.last_at.clone(),
        ..Bookkeeping::default()
    };
    let mut actions = Vec::new();
    let mut truncated = false;
    for row in audit {
        if row.action == "serials.allocate" {
            bookkeeping.allocation_rows += 1;
            let after = json_of(row.after.as_deref());
            bookkeeping.allocated_serials += after
                .as_ref()
                .and_then(|v| v.get("allocated"))
                .and_then(serde_json::Value::as_u64)
                .unwrap_or(0);
            continue;
        }
        if actions.len() < MAX_LISTED_ACTIONS {
            actions.push(row);
        } else {
            truncated = true;
        }
    }
    (bookkeeping, actions, truncated)
}

/// The challenge test's window on the timeline: (start, end, outcome, reason).
fn challenge_window(
    timeline: &[StateSpan],
) -> Option<(String, Option<String>, String, Option<String>)> {
    let start = timeline.iter().position(|s| s.state == "challenge")?;
    let from = timeline.get(start)?.from.clone();
    for span in timeline.iter().skip(start + 1) {
        let outcome = match span.state.as_str() {
            "challenge" | "paused" => continue,
            "running" => "passed",
            "challenge_failed" => "failed",
            _ => "ended",
        };
        return Some((
            from,
            Some(span.from.clone()),
            outcome.to_string(),
            span.reason.clone(),
        ));
    }
    Some((from, None, "running".to_string(), None))
}

fn challenge_evidence(
    from: &str,
    to: Option<&str>,
    outcome: &str,
    reason: Option<&str>,
    tallies: &[ItemTally],
) -> Challenge {
    let mut challenge = Challenge {
        ran: true,
        started_at: Some(from.to_string()),
        ended_at: to.map(str::to_string),
        outcome: outcome.to_string(),
        ..Challenge::default()
    };
    let mut other: BTreeMap<String, u64> = BTreeMap::new();
    for t in tallies {
        challenge.items += t.items;
        let reject = t.verdict.as_deref() == Some("reject");
        if reject && !t.names_serial {
            challenge.blank_rejects += t.items;
        }
        if reject && t.fate.as_deref() == Some("rejected_confirmed") {
            challenge.rejected_confirmed += t.items;
        } else {
            let key = format!(
                "verdict {}, reason {}, fate {}",
                t.verdict.as_deref().unwrap_or("none"),
                t.reason.as_deref().unwrap_or("none"),
                t.fate.as_deref().unwrap_or("not recorded")
            );
            *other.entry(key).or_default() += t.items;
        }
    }
    challenge.other = other.into_iter().collect();
    let end = to.unwrap_or("the time of this record");
    challenge.summary = match outcome {
        "passed" => format!(
            "passed: from {from} to {end}, {} items were recorded, {} of them rejected with the \
             reject confirmed; production started at {end}",
            challenge.items, challenge.rejected_confirmed
        ),
        "failed" => format!(
            "FAILED at {end}{}: {} items recorded, {} rejected with the reject confirmed; the \
             batch did not produce",
            reason.map_or(String::new(), |r| format!(" ({r})")),
            challenge.items,
            challenge.rejected_confirmed
        ),
        "ended" => format!(
            "ended at {end} before it passed (the batch was stopped): {} items recorded, {} \
             rejected with the reject confirmed",
            challenge.items, challenge.rejected_confirmed
        ),
        _ => format!(
            "still running at the time of this record: {} items recorded so far, {} rejected \
             with the reject confirmed",
            challenge.items, challenge.rejected_confirmed
        ),
    };
    challenge
}

/// What the item-level reconciliation is computed from.
pub struct ReconInput<'a> {
    pub counts: &'a BatchSerialCounts,
    pub classes: &'a [ItemClass],
    pub without_item: &'a BTreeMap<SerialState, u64>,
    pub groups: &'a LineRecordGroups,
    pub returns: &'a [ReturnGroup],
    /// Rejected blank items of the challenge test, when one ran.
    pub challenge_blank_rejects: Option<u64>,
}

const FATES: [&str; 3] = ["exited_good", "rejected_confirmed", "rejected_unconfirmed"];

fn is_commissioned(state: Option<SerialState>) -> bool {
    matches!(
        state,
        Some(SerialState::Commissioned | SerialState::Inactive | SerialState::Destroyed)
    )
}

fn is_sampled(state: Option<SerialState>) -> bool {
    matches!(
        state,
        Some(SerialState::Sampled | SerialState::LabelSampled)
    )
}

fn state_name(state: Option<SerialState>) -> &'static str {
    state.map_or("no serial of this pool", SerialState::name)
}

fn line(depth: u8, label: impl Into<String>, count: u64, note: impl Into<String>) -> ReconLine {
    ReconLine {
        depth,
        label: label.into(),
        count,
        note: note.into(),
    }
}

fn by_reason_note(map: &BTreeMap<String, u64>) -> String {
    map.iter()
        .map(|(reason, n)| {
            format!(
                "{} {n}",
                if reason.is_empty() {
                    "no reason"
                } else {
                    reason
                }
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn check(holds: bool, text: String) -> ReconCheck {
    ReconCheck { holds, text }
}

/// The item-level reconciliation: every item on the line accounted for by its
/// verdict and fate, and every serial of the batch by the item (or the lack of one)
/// that explains it. Each sum that should hold is checked and says so when it does
/// not.
pub fn reconcile(input: &ReconInput<'_>) -> ItemReconciliation {
    let c = input.counts;
    let classes = input.classes;
    let sum = |f: &dyn Fn(&ItemClass) -> bool| -> u64 {
        classes.iter().filter(|&k| f(k)).map(|k| k.items).sum()
    };
    let good = |k: &ItemClass| k.verdict.as_deref() == Some("good");
    let reject = |k: &ItemClass| k.verdict.as_deref() == Some("reject");
    let undecided = |k: &ItemClass| !good(k) && !reject(k);
    let exited = |k: &ItemClass| k.fate.as_deref() == Some("exited_good");
    let gate_rejected = |k: &ItemClass| {
        matches!(
            k.fate.as_deref(),
            Some("rejected_confirmed" | "rejected_unconfirmed")
        )
    };
    let no_fate = |k: &ItemClass| k.fate.is_none();
    let scrapped = |k: &ItemClass| k.serial_state == Some(SerialState::LabelScrapped);
    let open = |k: &ItemClass| {
        matches!(
            k.serial_state,
            Some(SerialState::Allocated | SerialState::Encoded)
        )
    };

    let total = sum(&|_| true);
    let n_good = sum(&good);
    let n_reject = sum(&reject);
    let n_undecided = sum(&undecided);

    // GOOD items.
    let good_commissioned = sum(&|k| good(k) && exited(k) && is_commissioned(k.serial_state));
    let good_sampled = sum(&|k| good(k) && exited(k) && is_sampled(k.serial_state));
    let good_gate_scrapped = sum(&|k| good(k) && gate_rejected(k) && scrapped(k));
    let good_nofate_scrapped = sum(&|k| good(k) && no_fate(k) && scrapped(k));
    let good_nofate_open = sum(&|k| good(k) && no_fate(k) && open(k));
    let good_explained = good_commissioned
        + good_sampled
        + good_gate_scrapped
        + good_nofate_scrapped
        + good_nofate_open;

    // Rejected items.
    let reject_named_scrapped = sum(&|k| reject(k) && k.names_serial && scrapped(k));
    let reject_named_other = sum(&|k| reject(k) && k.names_serial && !scrapped(k));
    let mut named_by_reason: BTreeMap<String, u64> = BTreeMap::new();
    let mut blank_by_reason: BTreeMap<String, u64> = BTreeMap::new();
    for k in classes.iter().filter(|&k| reject(k)) {
        let reason = k.reason.clone().unwrap_or_default();
        if !k.names_serial {
            *blank_by_reason.entry(reason).or_default() += k.items;
        } else if scrapped(k) {
            *named_by_reason.entry(reason).or_default() += k.items;
        }
    }
    let reject_blank: u64 = blank_by_reason.values().sum();

    let mut items = vec![
        line(0, "items on the line (recorded by the station)", total, ""),
        line(1, "GOOD verdict", n_good, ""),
        line(
            2,
            "passed the good exit, serial commissioned",
            good_commissioned,
            "",
        ),
    ];
    if good_sampled > 0 {
        items.push(line(
            2,
            "passed the good exit, serial since taken as a sample",
            good_sampled,
            "",
        ));
    }
    items.push(line(
        2,
        "rejected at the gate after a GOOD verdict, serial scrapped",
        good_gate_scrapped,
        "e.g. items in flight when the batch stopped or recovery wrote REJECT",
    ));
    items.push(line(
        2,
        "fate never reported, serial scrapped",
        good_nofate_scrapped,
        "counted as rejected",
    ));
    if good_nofate_open > 0 {
        items.push(line(
            2,
            "fate not reported yet, serial still open (in flight)",
            good_nofate_open,
            "",
        ));
    }
    items.push(line(1, "rejected", n_reject, ""));
    items.push(line(
        2,
        "printed serial of this batch identified on the item, serial scrapped",
        reject_named_scrapped,
        by_reason_note(&named_by_reason),
    ));
    let mut blank_note = by_reason_note(&blank_by_reason);
    if let Some(challenge) = input.challenge_blank_rejects {
        blank_note = format!("{blank_note}; {challenge} of them during the challenge test");
    }
    items.push(line(
        2,
        "no printed serial of this batch identified: blank or unprinted item, challenge item, \
         no read, unreadable or foreign code",
        reject_blank,
        blank_note,
    ));
    if reject_named_other > 0 {
        items.push(line(
            2,
            "identified serial NOT scrapped",
            reject_named_other,
            "see the checks",
        ));
    }
    let mut undecided_by_fate: BTreeMap<String, u64> = BTreeMap::new();
    for k in classes.iter().filter(|&k| undecided(k)) {
        *undecided_by_fate
            .entry(k.fate.clone().unwrap_or_else(|| "no fate".to_string()))
            .or_default() += k.items;
    }
    items.push(line(
        1,
        "no verdict recorded (only a fate)",
        n_undecided,
        by_reason_note(&undecided_by_fate),
    ));

    // Verdicts against fates.
    let mut gate = GateTable {
        fates: FATES
            .iter()
            .map(|f| f.to_string())
            .chain(["no fate recorded".to_string()])
            .collect(),
        rows: Vec::new(),
    };
    type ClassTest<'a> = &'a dyn Fn(&ItemClass) -> bool;
    let verdict_rows: [(&str, ClassTest<'_>); 3] = [
        ("GOOD", &good),
        ("rejected", &reject),
        ("no verdict", &undecided),
    ];
    for (label, is) in verdict_rows {
        let mut cells: Vec<u64> = FATES
            .iter()
            .map(|f| sum(&|k| is(k) && k.fate.as_deref() == Some(*f)))
            .collect();
        cells.push(sum(&|k| is(k) && no_fate(k)));
        let row_total: u64 = cells.iter().sum();
        gate.rows.push((label.to_string(), cells, row_total));
    }
    let mut totals: Vec<u64> = FATES
        .iter()
        .map(|f| sum(&|k| k.fate.as_deref() == Some(*f)))
        .collect();
    totals.push(sum(&no_fate));
    gate.rows.push(("all items".to_string(), totals, total));

    let mut checks = Vec::new();
    let reject_fate = |f: Option<&str>| sum(&|k| reject(k) && k.fate.as_deref() == f);
    let (r_conf, r_unconf, r_exit, r_none) = (
        reject_fate(Some("rejected_confirmed")),
        reject_fate(Some("rejected_unconfirmed")),
        reject_fate(Some("exited_good")),
        reject_fate(None),
    );
    checks.push(check(
        r_exit == 0,
        format!(
            "{n_reject} rejected = {r_conf} rejected_confirmed + {r_unconf} rejected_unconfirmed \
             + {r_exit} left through the good exit + {r_none} with no fate recorded{}",
            if r_exit > 0 {
                ": rejected items left through the good exit (escaped)"
            } else {
                ""
            }
        ),
    ));
    checks.push(check(
        r_unconf == 0,
        format!("{r_unconf} rejects not confirmed by the reject station"),
    ));
    let good_other = n_good.saturating_sub(good_explained);
    checks.push(check(
        good_other == 0,
        if good_other == 0 {
            format!(
                "{n_good} GOOD = {good_commissioned} commissioned + {good_sampled} sampled + \
                 {good_gate_scrapped} rejected at the gate + {good_nofate_scrapped} fate never \
                 reported + {good_nofate_open} in flight"
            )
        } else {
            let odd: Vec<String> = classes
                .iter()
                .filter(|&k| {
                    good(k)
                        && !((exited(k)
                            && (is_commissioned(k.serial_state) || is_sampled(k.serial_state)))
                            || (gate_rejected(k) && scrapped(k))
                            || (no_fate(k) && (scrapped(k) || open(k))))
                })
                .map(|k| {
                    format!(
                        "{} with fate {} and serial {}",
                        k.items,
                        k.fate.as_deref().unwrap_or("none"),
                        state_name(k.serial_state)
                    )
                })
                .collect();
            format!(
                "does not add up: {good_other} GOOD items are not explained ({})",
                odd.join("; ")
            )
        },
    ));
    if reject_named_other > 0 {
        let odd: Vec<String> = classes
            .iter()
            .filter(|&k| reject(k) && k.names_serial && !scrapped(k))
            .map(|k| format!("{} naming a serial {}", k.items, state_name(k.serial_state)))
            .collect();
        checks.push(check(
            false,
            format!(
                "does not add up: {reject_named_other} rejected items name a serial that is not \
                 scrapped ({})",
                odd.join("; ")
            ),
        ));
    }

    // Serials.
    let named = |f: &dyn Fn(Option<SerialState>) -> bool| -> u64 {
        classes
            .iter()
            .filter(|k| k.serial_in_batch && f(k.serial_state))
            .map(|k| k.items)
            .sum()
    };
    let unnamed = |f: &dyn Fn(SerialState) -> bool| -> u64 {
        input
            .without_item
            .iter()
            .filter(|(s, _)| f(**s))
            .map(|(_, n)| n)
            .sum()
    };
    let commissioned_named = named(&is_commissioned);
    let commissioned_unnamed = unnamed(&|s| is_commissioned(Some(s)));
    let scrapped_named = named(&|s| s == Some(SerialState::LabelScrapped));
    let scrapped_unnamed = unnamed(&|s| s == SerialState::LabelScrapped);
    let scrapped_other_items = scrapped_named
        .saturating_sub(reject_named_scrapped + good_gate_scrapped + good_nofate_scrapped);
    let sampled_named = named(&is_sampled);
    let sampled_unnamed = unnamed(&|s| is_sampled(Some(s)));

    let mut invalidated_recovery = 0u64;
    let mut invalidated_line = 0u64;
    let mut invalidated_line_actors: Vec<String> = Vec::new();
    for (actor, tally) in &input.groups.tallies {
        let n = tally
            .get(SerialState::SnInvalid.name())
            .copied()
            .unwrap_or(0);
        if n == 0 {
            continue;
        }
        if actor == RECOVERY_ACTOR {
            invalidated_recovery += n;
        } else {
            invalidated_line += n;
            invalidated_line_actors.push(format!("{actor} {n}"));
        }
    }
    let returned_proof: u64 = input
        .returns
        .iter()
        .filter(|r| !r.printer.starts_with("none"))
        .map(|r| r.serials)
        .sum();
    let returned_unsent: u64 = input
        .returns
        .iter()
        .filter(|r| r.printer.starts_with("none"))
        .map(|r| r.serials)
        .sum();

    let mut serials = vec![
        line(
            0,
            "serials allocated to the batch (allocation records)",
            c.allocated,
            "",
        ),
        line(1, "commissioned", c.commissioned, ""),
        line(
            2,
            "on a GOOD item that passed the good exit",
            commissioned_named,
            "",
        ),
    ];
    if commissioned_unnamed > 0 {
        serials.push(line(
            2,
            "on no recorded item",
            commissioned_unnamed,
            "see the checks",
        ));
    }
    if c.decommissioned > 0 {
        serials.push(line(
            2,
            "of these, decommissioned since (damaged or destroyed)",
            c.decommissioned,
            "",
        ));
    }
    serials.push(line(1, "scrapped (printed, used up)", c.scrapped, ""));
    serials.push(line(
        2,
        "printed and rejected: identified on a rejected item",
        reject_named_scrapped,
        "",
    ));
    serials.push(line(
        2,
        "GOOD item rejected at the gate or its fate never reported",
        good_gate_scrapped + good_nofate_scrapped,
        "",
    ));
    if scrapped_other_items > 0 {
        serials.push(line(
            2,
            "named by other items",
            scrapped_other_items,
            "items without a verdict",
        ));
    }
    serials.push(line(
        2,
        "printed, never verified good (on no recorded item)",
        scrapped_unnamed,
        "the print on a blank-read, unreadable, foreign-code or late item, or one that never \
         reached the camera: scrapped once its item must have passed the gate",
    ));
    serials.push(line(1, "sampled", c.sampled, ""));
    if c.sampled > 0 {
        serials.push(line(2, "taken from a commissioned item", sampled_named, ""));
        if sampled_unnamed > 0 {
            serials.push(line(2, "on no recorded item", sampled_unnamed, ""));
        }
    }
    serials.push(line(1, "invalidated (SNInvalid)", c.invalidated, ""));
    serials.push(line(
        2,
        "by the line while it ran",
        invalidated_line,
        format!(
            "print acknowledgement missing, printer unreachable at stop, or not encodable \
             (the cause of each serial is not recorded){}",
            if invalidated_line_actors.is_empty() {
                String::new()
            } else {
                format!("; recorded for {}", invalidated_line_actors.join(", "))
            }
        ),
    ));
    serials.push(line(
        2,
        "by start-up recovery",
        invalidated_recovery,
        "may have been printed, cannot be accounted for",
    ));
    serials.push(line(1, "returned to the pool with proof", c.returned, ""));
    serials.push(line(
        2,
        "printer reported them never printed",
        returned_proof,
        input
            .returns
            .iter()
            .filter(|r| !r.printer.starts_with("none"))
            .map(|r| format!("{}: {} (e.g. {})", r.printer, r.serials, r.example_evidence))
            .collect::<Vec<_>>()
            .join("; "),
    ));
    serials.push(line(2, "never sent to a printer", returned_unsent, ""));
    if c.outstanding > 0 {
        serials.push(line(
            1,
            "outstanding (Allocated or Encoded: not settled yet)",
            c.outstanding,
            "",
        ));
    }

    let accounted = c.commissioned + c.scrapped + c.sampled + c.invalidated + c.returned;
    checks.push(check(
        accounted == c.allocated && c.outstanding == 0,
        format!(
            "{} allocated {} {} commissioned + {} scrapped + {} sampled + {} invalidated + {} \
             returned{}",
            c.allocated,
            if accounted == c.allocated { "=" } else { "≠" },
            c.commissioned,
            c.scrapped,
            c.sampled,
            c.invalidated,
            c.returned,
            if c.outstanding > 0 {
                format!(" ({} outstanding)", c.outstanding)
            } else {
                String::new()
            }
        ),
    ));
    checks.push(check(
        c.held == c.allocated,
        if c.held == c.allocated {
            format!(
                "the allocation records hand out {} serials; all are bound to the batch or \
                 returned with proof",
                c.allocated
            )
        } else {
            format!(
                "does not add up: the allocation records hand out {} serials, but {} are bound \
                 to the batch or returned with proof (a record was lost or changed outside the \
                 station)",
                c.allocated, c.held
            )
        },
    ));
    checks.push(check(
        commissioned_named + commissioned_unnamed == c.commissioned
            && commissioned_unnamed == 0
            && commissioned_named == good_commissioned,
        format!(
            "{} commissioned = {commissioned_named} on GOOD items past the good exit{}{}",
            c.commissioned,
            if commissioned_unnamed > 0 {
                format!(" + {commissioned_unnamed} on no recorded item (does not add up)")
            } else {
                String::new()
            },
            if commissioned_named != good_commissioned {
                format!(
                    "; does not add up: {good_commissioned} GOOD items passed the good exit \
                     with a commissioned serial"
                )
            } else {
                String::new()
            }
        ),
    ));
    let scrapped_sum = scrapped_named + scrapped_unnamed;
    checks.push(check(
        scrapped_sum == c.scrapped,
        format!(
            "{} scrapped {} {reject_named_scrapped} identified on rejected items + {} GOOD \
             items rejected at the gate or without a fate{} + {scrapped_unnamed} never \
             verified good{}",
            c.scrapped,
            if scrapped_sum == c.scrapped {
                "="
            } else {
                "≠"
            },
            good_gate_scrapped + good_nofate_scrapped,
            if scrapped_other_items > 0 {
                format!(" + {scrapped_other_items} on items without a verdict")
            } else {
                String::new()
            },
            if scrapped_sum != c.scrapped {
                ": does not add up (an item names a serial another item names, or a serial \
                 changed outside the line)"
            } else {
                ""
            }
        ),
    ));
    let invalidated_sum = invalidated_line + invalidated_recovery;
    checks.push(check(
        invalidated_sum == c.invalidated,
        format!(
            "{} invalidated {} {invalidated_line} by the line + {invalidated_recovery} by \
             recovery (from the batch's line records){}",
            c.invalidated,
            if invalidated_sum == c.invalidated {
                "="
            } else {
                "≠"
            },
            if invalidated_sum != c.invalidated {
                ": does not add up (serials were invalidated outside the line records, e.g. by \
                 `serials.transition`, or line records are missing)"
            } else {
                ""
            }
        ),
    ));
    checks.push(check(
        true,
        format!(
            "{n_reject} rejected items vs {} scrapped serials: {reject_named_scrapped} rejected \
             items carried a printed serial of this batch (scrapped); {reject_blank} carried \
             none; {} further serials were scrapped without a rejected item naming them",
            c.scrapped,
            c.scrapped.saturating_sub(reject_named_scrapped)
        ),
    ));

    ItemReconciliation {
        items,
        serials,
        gate,
        checks,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_times_parse_back_to_their_milliseconds() {
        for ms in [0, 951_782_400_123, 1_798_761_599_999, 1_700_000_000_000] {
            assert_eq!(parse_utc_ms(&clock::format_unix_ms(ms)), Some(ms));
        }
        assert_eq!(parse_utc_ms("2026-03-01T10:07"), Some(1_772_359_620_000));
        assert_eq!(parse_utc_ms("not a time"), None);
        assert_eq!(parse_utc_ms("2026-13-01T10:07"), None);
    }

    fn minute(m: &str, good: u64, rejects: &[(&str, u64)]) -> MinuteItems {
        MinuteItems {
            minute: m.to_string(),
            good,
            rejects_by_reason: rejects.iter().map(|(r, n)| (r.to_string(), *n)).collect(),
            undecided: 0,
        }
    }

    #[test]
    fn minutes_merge_into_at_most_the_bucket_limit_with_gaps_kept() {
        let minutes = vec![
            minute("2026-03-01T10:00", 10, &[("grade", 1)]),
            minute("2026-03-01T10:01", 12, &[]),
            minute("2026-03-01T10:05", 3, &[("no_read", 2)]),
        ];
        let (buckets, unplaced) = bucket_minutes(&minutes, 60);
        assert_eq!(unplaced, 0);
        assert_eq!(buckets.len(), 6);
        assert_eq!(buckets[2].decided(), 0);
        let (merged, _) = bucket_minutes(&minutes, 3);
        assert_eq!(merged.len(), 3);
        assert_eq!(merged[0].minutes, 2);
        assert_eq!(merged[0].good, 22);
        assert_eq!(merged[2].rejects(), 2);
        let total: u64 = merged.iter().map(TimeBucket::decided).sum();
        assert_eq!(total, 28);
        assert!(bucket_minutes(&[], 60).0.is_empty());
    }

    fn class(
        verdict: Option<&str>,
        reason: Option<&str>,
        fate: Option<&str>,
        state: Option<SerialState>,
        items: u64,
    ) -> ItemClass {
        ItemClass {
            verdict: verdict.map(str::to_string),
            reason: reason.map(str::to_string),
            fate: fate.map(str::to_string),
            names_serial: state.is_some(),
            serial_state: state,
            serial_in_batch: state.is_some(),
            items,
        }
    }

    #[test]
    fn rejects_scraps_and_fates_explain_each_other() {
        // 34 rejected, 20 scrapped, 27 rejected_confirmed: the example that needed
        // explaining.
        let classes = vec![
            class(
                Some("good"),
                None,
                Some("exited_good"),
                Some(SerialState::Commissioned),
                100,
            ),
            class(
                Some("reject"),
                Some("grade"),
                Some("rejected_confirmed"),
                Some(SerialState::LabelScrapped),
                12,
            ),
            class(
                Some("reject"),
                Some("no_read"),
                Some("rejected_confirmed"),
                None,
                15,
            ),
            class(Some("reject"), Some("late"), None, None, 7),
        ];
        let without_item = BTreeMap::from([(SerialState::LabelScrapped, 8)]);
        let counts = BatchSerialCounts {
            allocated: 130,
            held: 130,
            commissioned: 100,
            scrapped: 20,
            invalidated: 2,
            returned: 8,
            ..BatchSerialCounts::default()
        };
        let groups = LineRecordGroups {
            tallies: BTreeMap::from([(
                "station".to_string(),
                BTreeMap::from([("SNInvalid".to_string(), 2)]),
            )]),
            ..LineRecordGroups::default()
        };
        let recon = reconcile(&ReconInput {
            counts: &counts,
            classes: &classes,
            without_item: &without_item,
            groups: &groups,
            returns: &[ReturnGroup {
                printer: "tij".to_string(),
                serials: 8,
                example_evidence: "buffer clear".to_string(),
                first_at: String::new(),
                last_at: String::new(),
            }],
            challenge_blank_rejects: None,
        });
        assert!(recon.adds_up(), "{:#?}", recon.checks);
        let texts: Vec<&str> = recon.checks.iter().map(|c| c.text.as_str()).collect();
        assert!(texts.iter().any(|t| t.starts_with(
            "34 rejected = 27 rejected_confirmed + 0 rejected_unconfirmed + 0 left through the good exit + 7 with no fate recorded"
        )));
        assert!(
            texts
                .iter()
                .any(|t| t.starts_with("20 scrapped = 12 identified on rejected items"))
        );

        // A scrapped serial more than the items and the unnamed ones explain.
        let counts = BatchSerialCounts {
            scrapped: 21,
            allocated: 131,
            held: 131,
            ..counts
        };
        let recon = reconcile(&ReconInput {
            counts: &counts,
            classes: &classes,
            without_item: &without_item,
            groups: &groups,
            returns: &[],
            challenge_blank_rejects: None,
        });
        assert!(!recon.adds_up());
        assert!(
            recon
                .checks
                .iter()
                .any(|c| !c.holds && c.text.contains("does not add up"))
        );
    }
}
