//! The station's invariants (ARCHITECTURE.md, "Invariants and where they are
//! enforced"), judged from the simulator's ground truth (what physically happened)
//! and the station's store (what it recorded and reported). [`check_invariants`]
//! reads a ground-truth file after a demo or a test batch; [`judge_items`] (pure)
//! judges ground-truth rows in memory against what the store says of every serial
//! ([`StoreSerials`]), so the whole-station simulation can judge after every crash;
//! [`check_batches_balanced`] judges every batch of a store at the end.

use std::collections::{BTreeMap, HashMap, HashSet};

use serialstation_simulator::faults::FaultKind;
use serialstation_simulator::model::Verdict;
use serialstation_simulator::{GroundTruth, ItemRecord, PhysicalExit};

use crate::report::BatchReport;
use crate::store::{BatchId, SerialState, Store};

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

/// What the store says about its serials, for judging ground-truth rows
/// ([`judge_items`]). Serials are keyed by their text: the judged store has one pool.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreSerials {
    /// Outbox rows per serial and kind (`commissioned`, `scrapped`, `invalidated`, ...).
    pub outbox: HashMap<(String, String), u64>,
    /// Every serial of the store and its state.
    pub states: HashMap<String, SerialState>,
    /// Serials sent to the printer more often than their proven returns allow
    /// (printer messages), with how often.
    pub sent_more_than_once: Vec<(String, u64)>,
}

impl StoreSerials {
    /// Reads the outbox, every serial's state and the printer messages per serial.
    pub fn read(store: &Store) -> Result<StoreSerials, String> {
        let outbox = outbox_events(store)?;
        let conn = store.raw_connection();
        let failed = |e: rusqlite::Error| format!("reading the serials: {e}");
        let mut states = HashMap::new();
        let mut stmt = conn
            .prepare("SELECT serial, state FROM serials")
            .map_err(failed)?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
            .map_err(failed)?;
        for row in rows {
            let (serial, code) = row.map_err(failed)?;
            let state = SerialState::from_code(code)
                .ok_or_else(|| format!("serial {serial} has the unknown state code {code}"))?;
            states.insert(serial, state);
        }
        let mut stmt = conn
            .prepare(
                // A serial may go to the printer again only after a return with the
                // printer's proof that its earlier message was never printed.
                "SELECT s.serial, COUNT(*) FROM printer_messages m JOIN serials s ON s.id = m.serial_id
                 GROUP BY m.serial_id
                 HAVING COUNT(*) > 1 + (SELECT COUNT(*) FROM serial_returns r WHERE r.serial_id = m.serial_id)
                 ORDER BY s.serial",
            )
            .map_err(failed)?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
            .map_err(failed)?;
        let mut sent_more_than_once = Vec::new();
        for row in rows {
            let (serial, n) = row.map_err(failed)?;
            sent_more_than_once.push((serial, u64::try_from(n).unwrap_or(0)));
        }
        Ok(StoreSerials {
            outbox,
            states,
            sent_more_than_once,
        })
    }

    fn count(&self, serial: &str, kind: &str) -> u64 {
        self.outbox
            .get(&(serial.to_string(), kind.to_string()))
            .copied()
            .unwrap_or(0)
    }
}

/// Whether the item physically left the line without a GOOD verdict: into the reject
/// bin, or through the good exit past a gate that did not fire (an escape).
fn rejected(item: &ItemRecord) -> bool {
    match item.exit {
        PhysicalExit::RejectBin => true,
        PhysicalExit::GoodExit => item.verdict_held != Some(Verdict::Good),
        PhysicalExit::OnLine => false,
    }
}

/// Judges finished ground-truth items against the store (pure). Meant for moments
/// when the store has settled every serial of the items judged: after start-up
/// recovery, or after the last batch is closed.
///
/// 1. No serial was sent to the printer twice (the store's printer messages), none
///    was printed on two items, and none that was printed is back in the pool or
///    still unsettled. A printer's silent double print (fault `double_print`) puts
///    one message on two items: those serials are left out of the per-item counts.
/// 2. Every item that left the good exit had a GOOD verdict (an escape past a gate
///    that did not fire, fault `gate_no_fire`, is judged as a reject), left it once,
///    and its serial is commissioned exactly once; every commissioned serial left the
///    good exit.
/// 3. Every rejected item's serial is used up (scrapped or invalidated), never
///    commissioned (double-printed serials aside, as in 1).
pub fn judge_items(items: &[ItemRecord], store: &StoreSerials) -> Vec<InvariantCheck> {
    let doubled: HashSet<&str> = items
        .iter()
        .filter(|item| item.faults.contains(&FaultKind::DoublePrint))
        .filter_map(|item| item.serial())
        .collect();

    let mut problems: Vec<String> = store
        .sent_more_than_once
        .iter()
        .map(|(serial, n)| format!("{serial} was sent to the printer {n} times"))
        .collect();
    let mut printed: BTreeMap<&str, u64> = BTreeMap::new();
    for serial in items.iter().filter_map(|item| item.serial()) {
        if !doubled.contains(serial) {
            *printed.entry(serial).or_default() += 1;
        }
    }
    for (serial, n) in &printed {
        if *n > 1 {
            problems.push(format!("{serial} was printed on {n} items"));
        }
        if let Some(state) = store.states.get(*serial)
            && matches!(
                state,
                SerialState::Unallocated | SerialState::Allocated | SerialState::Encoded
            )
        {
            problems.push(format!("{serial} was printed but the store has it {state}"));
        }
    }
    let first = check(
        1,
        "no serial printed twice",
        &problems,
        format!(
            "{} serials printed, each sent and printed once and none back in the pool",
            printed.len()
        ),
    );

    let mut problems = Vec::new();
    let mut good_exits: BTreeMap<&str, u64> = BTreeMap::new();
    for item in items.iter().filter(|i| i.exit == PhysicalExit::GoodExit) {
        if rejected(item) {
            if !item.faults.contains(&FaultKind::GateNoFire) {
                problems.push(format!(
                    "item {} (seq {}) left the good exit without a GOOD verdict",
                    item.item_no, item.seq
                ));
            }
            continue;
        }
        match item.serial() {
            Some(serial) => *good_exits.entry(serial).or_default() += 1,
            None => problems.push(format!(
                "item {} (seq {}) left the good exit with a GOOD verdict and no readable serial",
                item.item_no, item.seq
            )),
        }
    }
    for (serial, n) in &good_exits {
        if *n > 1 {
            problems.push(format!("{serial} left the good exit on {n} items"));
        }
        let commissioned = store.count(serial, "commissioned");
        if commissioned != 1 {
            problems.push(format!(
                "{serial} left the good exit and was commissioned {commissioned} times"
            ));
        }
    }
    let mut commissioned: Vec<&str> = store
        .outbox
        .keys()
        .filter(|(_, kind)| kind == "commissioned")
        .map(|(serial, _)| serial.as_str())
        .filter(|serial| !good_exits.contains_key(serial))
        .collect();
    commissioned.sort_unstable();
    for serial in commissioned {
        problems.push(format!(
            "{serial} was commissioned but never left the good exit"
        ));
    }
    let second = check(
        2,
        "every good exit had a GOOD verdict and is commissioned once",
        &problems,
        format!(
            "{} good exits, each commissioned exactly once",
            good_exits.len()
        ),
    );

    let mut problems = Vec::new();
    let mut rejects = 0u64;
    for item in items.iter().filter(|item| rejected(item)) {
        rejects += 1;
        let Some(serial) = item.serial() else {
            continue;
        };
        if doubled.contains(serial) {
            continue;
        }
        if store.count(serial, "commissioned") > 0 {
            problems.push(format!("{serial} was rejected but commissioned"));
        } else if store.count(serial, "scrapped") + store.count(serial, "invalidated") == 0 {
            problems.push(format!("{serial} was rejected but never reported used up"));
        }
    }
    let third = check(
        3,
        "every rejected item scrapped, never commissioned",
        &problems,
        format!("{rejects} rejected items, every printed serial among them used up"),
    );
    vec![first, second, third]
}

/// [`judge_items`] with what the store says now.
pub fn check_line_invariants(
    items: &[ItemRecord],
    store: &Store,
) -> Result<Vec<InvariantCheck>, String> {
    Ok(judge_items(items, &StoreSerials::read(store)?))
}

/// Every batch of the store is closed and balances
/// (`allocated = commissioned + scrapped + sampled + invalidated + returned`, nothing
/// outstanding, no allocation record lost). A batch that was created but never
/// started (no serial ever allocated to it) is left out.
pub fn check_batches_balanced(store: &Store) -> Result<InvariantCheck, String> {
    let failed = |e: rusqlite::Error| format!("listing the batches: {e}");
    let conn = store.raw_connection();
    let mut stmt = conn
        .prepare("SELECT id, state FROM batches ORDER BY id")
        .map_err(failed)?;
    let batches = stmt
        .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))
        .map_err(failed)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(failed)?;
    let mut problems = Vec::new();
    let mut closed = 0u64;
    let mut allocated = 0u64;
    for (id, state) in batches {
        let counts = store
            .batch_serial_counts(BatchId(id))
            .map_err(|e| e.to_string())?;
        if state == "created" && counts.allocated == 0 && counts.held == 0 {
            continue;
        }
        let reconciliation = crate::station::records::reconciliation_of(&counts);
        if !reconciliation.balances() || counts.outstanding != 0 {
            problems.push(format!(
                "batch {id} does not balance: {} ({} outstanding)",
                reconciliation.describe(),
                counts.outstanding
            ));
        }
        if counts.held != counts.allocated {
            problems.push(format!(
                "batch {id}: {} serials allocated but {} held or returned",
                counts.allocated, counts.held
            ));
        }
        if state != "closed" {
            problems.push(format!("batch {id} is {state}, not closed"));
        }
        closed += 1;
        allocated += counts.allocated;
    }
    Ok(check(
        4,
        "every allocated serial accounted for",
        &problems,
        format!("{closed} batch(es) closed and balanced, {allocated} serials allocated"),
    ))
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
    // Packs only: SSCCs of containers are commissioned too (see check_aggregation).
    let is_pack = |epc: &String| epc.starts_with("urn:epc:id:sgtin:");
    for epc in site
        .commissioned_epcs()
        .map_err(read)?
        .into_iter()
        .filter(is_pack)
    {
        *commissioned_at_site.entry(serial_of(&epc)).or_default() += 1;
    }
    let mut used_up_at_site: HashMap<String, u64> = HashMap::new();
    for epc in site
        .decommissioned_epcs()
        .map_err(read)?
        .into_iter()
        .chain(site.destroyed_epcs().map_err(read)?)
        .filter(is_pack)
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

/// Invariants 6 to 8 as far as the station's records and the site server go (the
/// physical contents are judged from the cells' ground truth by `case_judge.rs`
/// and `pallet_line.rs`): every verified container of `batch` holds at
/// the site server exactly the children the station recorded, no pack or case is in
/// two containers there, and the batch reconciles at every level.
pub fn check_aggregation(
    site: &serialstation_simulator::site_server::SiteRecords,
    store: &Store,
    batch: BatchId,
) -> Result<InvariantCheck, String> {
    let read = |e: serialstation_simulator::site_server::RecordsError| {
        format!("reading the site server's records: {e}")
    };
    let mut problems = Vec::new();
    let containers = store.batch_containers(batch).map_err(|e| e.to_string())?;
    let mut seen_children: HashMap<String, String> = HashMap::new();
    let mut verified = 0u64;
    for container in containers
        .iter()
        .filter(|c| c.state == crate::aggregation::ContainerState::Verified)
    {
        verified += 1;
        let sscc = crate::gs1::Sscc::parse(&container.sscc).map_err(|e| e.message)?;
        let tree = store.container_tree(&sscc).map_err(|e| e.to_string())?;
        let prefix_len = store
            .product(&crate::gs1::Gtin::parse(&container.gtin).map_err(|e| e.message)?)
            .map_err(|e| e.to_string())?
            .map(|p| p.company_prefix_length as usize)
            .unwrap_or(7);
        let parent_uri = crate::gs1::epc::sscc_uri(&sscc, prefix_len).map_err(|e| e.message)?;
        let gtin = crate::gs1::Gtin::parse(&container.gtin).map_err(|e| e.message)?;
        let mut expected: Vec<String> = Vec::new();
        for serial in &tree.packs {
            expected.push(
                crate::gs1::epc::sgtin_uri(&gtin, prefix_len, serial).map_err(|e| e.message)?,
            );
        }
        for inner in &tree.containers {
            let inner_sscc =
                crate::gs1::Sscc::parse(&inner.container.sscc).map_err(|e| e.message)?;
            expected
                .push(crate::gs1::epc::sscc_uri(&inner_sscc, prefix_len).map_err(|e| e.message)?);
        }
        for child in &expected {
            if let Some(other) = seen_children.insert(child.clone(), parent_uri.clone()) {
                problems.push(format!("{child} is in {other} and in {parent_uri}"));
            }
        }
        let mut at_site = site.children_of(&parent_uri).map_err(read)?;
        at_site.sort();
        expected.sort();
        if at_site != expected {
            problems.push(format!(
                "{parent_uri}: the station holds {} children, the site server {} (or others)",
                expected.len(),
                at_site.len()
            ));
        }
    }
    let r = store
        .aggregation_reconciliation(batch)
        .map_err(|e| e.to_string())?;
    if !r.packs_balance() {
        problems.push(format!(
            "packs do not reconcile: {} aggregated + {} loose != {} commissioned",
            r.packs_aggregated, r.packs_loose, r.commissioned_packs
        ));
    }
    if !r.ssccs_balance() {
        problems.push(format!(
            "SSCCs do not reconcile: {} used + {} invalidated + {} in progress != {} allocated",
            r.ssccs_used, r.ssccs_invalidated, r.ssccs_in_progress, r.ssccs_allocated
        ));
    }
    Ok(check(
        7,
        "every container holds at the site server what the station recorded, no child twice, every level reconciles",
        &problems,
        format!(
            "{verified} containers match the site server; {} packs aggregated + {} loose = {} commissioned; {} SSCCs used",
            r.packs_aggregated, r.packs_loose, r.commissioned_packs, r.ssccs_used
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(item_no: u64, serial: Option<&str>, exit: PhysicalExit, good: bool) -> ItemRecord {
        ItemRecord {
            item_no,
            seq: item_no as u32,
            entered_encoder: 0,
            entered_ms: 0.0,
            print: serial.map(|s| serialstation_simulator::ground_truth::PrintOutcome {
                message_id: item_no.to_string(),
                data: format!("21{s}"),
                serial: Some(s.to_string()),
                grade: None,
                defects: Vec::new(),
            }),
            imaging: "none".into(),
            camera: None,
            verdict_held: Some(if good { Verdict::Good } else { Verdict::Reject }),
            verdict_encoder: None,
            verdict_ms: None,
            late_verdicts: 0,
            released: Some(good),
            gate_fired: Some(!good),
            exit,
            reject_seen_by_sensor: None,
            plc_fate: None,
            faults: Vec::new(),
        }
    }

    /// A store that commissioned `good`, scrapped `scrapped`, and holds `states`.
    fn store(good: &[&str], scrapped: &[&str], states: &[(&str, SerialState)]) -> StoreSerials {
        let mut view = StoreSerials::default();
        for serial in good {
            view.outbox
                .insert((serial.to_string(), "commissioned".into()), 1);
            view.states
                .insert(serial.to_string(), SerialState::Commissioned);
        }
        for serial in scrapped {
            view.outbox
                .insert((serial.to_string(), "scrapped".into()), 1);
            view.states
                .insert(serial.to_string(), SerialState::LabelScrapped);
        }
        for (serial, state) in states {
            view.states.insert(serial.to_string(), *state);
        }
        view
    }

    fn failed(checks: &[InvariantCheck]) -> Vec<u8> {
        checks
            .iter()
            .filter(|c| !c.passed)
            .map(|c| c.number)
            .collect()
    }

    #[test]
    fn a_clean_run_passes_every_check() {
        let items = [
            item(1, Some("A"), PhysicalExit::GoodExit, true),
            item(2, Some("B"), PhysicalExit::RejectBin, false),
            item(3, None, PhysicalExit::RejectBin, false),
        ];
        let checks = judge_items(&items, &store(&["A"], &["B"], &[]));
        assert_eq!(failed(&checks), Vec::<u8>::new(), "{checks:?}");
    }

    #[test]
    fn a_serial_sent_twice_printed_twice_or_back_in_the_pool_fails_the_first() {
        let items = [
            item(1, Some("A"), PhysicalExit::GoodExit, true),
            item(2, Some("B"), PhysicalExit::RejectBin, false),
        ];
        let mut view = store(&["A"], &["B"], &[]);
        view.sent_more_than_once.push(("A".into(), 2));
        assert_eq!(failed(&judge_items(&items, &view)), [1]);

        let twice = [
            item(1, Some("A"), PhysicalExit::GoodExit, true),
            item(2, Some("A"), PhysicalExit::RejectBin, false),
        ];
        assert!(failed(&judge_items(&twice, &store(&["A"], &[], &[]))).contains(&1));

        let returned = store(&["A"], &[], &[("B", SerialState::Unallocated)]);
        assert_eq!(failed(&judge_items(&items, &returned)), [1, 3]);
    }

    #[test]
    fn a_silent_double_print_is_not_the_stations_double_print() {
        let mut repeat = item(2, Some("A"), PhysicalExit::RejectBin, false);
        repeat.faults.push(FaultKind::DoublePrint);
        let items = [item(1, Some("A"), PhysicalExit::GoodExit, true), repeat];
        assert!(failed(&judge_items(&items, &store(&["A"], &[], &[]))).is_empty());
    }

    #[test]
    fn a_good_exit_must_be_commissioned_exactly_once_and_nothing_else_commissioned() {
        let items = [item(1, Some("A"), PhysicalExit::GoodExit, true)];
        assert_eq!(failed(&judge_items(&items, &store(&[], &["A"], &[]))), [2]);
        let mut twice = store(&["A"], &[], &[]);
        twice.outbox.insert(("A".into(), "commissioned".into()), 2);
        assert_eq!(failed(&judge_items(&items, &twice)), [2]);
        assert_eq!(
            failed(&judge_items(&items, &store(&["A", "Z"], &[], &[]))),
            [2],
            "Z was commissioned without leaving the good exit"
        );
    }

    #[test]
    fn an_escape_past_a_failed_gate_is_judged_as_a_reject() {
        let mut escaped = item(1, Some("A"), PhysicalExit::GoodExit, false);
        assert_eq!(
            failed(&judge_items(
                std::slice::from_ref(&escaped),
                &store(&[], &["A"], &[])
            )),
            [2],
            "without the gate fault it is a PLC failure"
        );
        escaped.faults.push(FaultKind::GateNoFire);
        let items = [escaped];
        assert!(failed(&judge_items(&items, &store(&[], &["A"], &[]))).is_empty());
        assert_eq!(
            failed(&judge_items(&items, &store(&["A"], &[], &[]))),
            [2, 3]
        );
    }

    #[test]
    fn a_reject_must_be_used_up_and_never_commissioned() {
        let items = [item(1, Some("B"), PhysicalExit::RejectBin, false)];
        assert_eq!(
            failed(&judge_items(
                &items,
                &store(&[], &[], &[("B", SerialState::LabelScrapped)])
            )),
            [3],
            "no outbox row: never reported used up"
        );
        assert_eq!(
            failed(&judge_items(&items, &store(&["B"], &[], &[]))),
            [2, 3]
        );
    }
}
