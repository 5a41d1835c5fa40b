//! Start-up recovery of a batch the station left unfinished (the process was killed or
//! the machine lost power): settles every serial that is still Allocated or Encoded so
//! that the batch's counts balance, before the engine takes the batch over held
//! (`OperatorCommand::Recover`).
//!
//! [`plan`] decides (pure); this module does the I/O, in this order:
//! 1. reads the batch's unsettled serials and the items that can matter, checks
//!    that the PLC answers, and raises its consecutive-reject limit to the maximum
//!    (what recovery rejects, it rejects on purpose);
//! 2. clears the printer's buffer: the ids it reports are proven never printed, and
//!    nothing queued before can print afterwards. That proof is good once only, so the
//!    Allocated serials it decides (and the print acknowledgements the station matched
//!    to the previous run) are settled at once, in one transaction per batch, for every
//!    unfinished batch ([`plan::plan_allocated`]): a later failure cannot lose it;
//! 3. reads the PLC's counters and the fate slots of every GOOD item without a
//!    recorded fate;
//! 4. writes REJECT into the verdict slot of every GOOD item whose fate is not final.
//!    REJECT is the PLC's own default, so this write depends on no record. An item
//!    the gate had already released before the REJECT landed still leaves through the
//!    good exit, and its fate is final only once it is there. For the batch the
//!    station takes over ([`RecoveryOptions::hand_over_in_flight`]) such items go to
//!    the engine with the batch, which settles them from their fates when the line
//!    runs again: a restart does not wait for the belt. For an older batch recovery
//!    runs the line (clearing latched PLC alarms as it goes) until every such item has
//!    its final fate ([`RecoveryOptions::settle_in_flight`]). The items behind them
//!    are blank (the printer's buffer is empty) or carry no GOOD verdict, and are
//!    rejected;
//! 5. holds the line;
//! 6. applies the plan's records in one transaction, then writes REJECT for every item
//!    the plan counts as rejected without a final fate (persist before action; a
//!    recovery killed between the two writes them on its next run);
//! 7. checks that nothing of the batch is left outstanding but the serials of the
//!    items handed over ([`RecoveryReport::in_flight`]), and records what the
//!    restart cost in one line ([`RecoveryReport::cost_line`]) in the notes and the
//!    audit trail (`batch.recovery`).
//!
//! The printer and the PLC must answer: each request is retried a few times, then
//! recovery gives up with [`RecoveryError::PrinterUnreachable`] or
//! [`RecoveryError::PlcUnreachable`]; the daemon runs it again later. Before the
//! buffer clear nothing in the store has changed; after it, only the serials the
//! printer's evidence settled (step 2).

pub mod plan;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde_json::json;

use serialstation_devices::plc::register_map::{FateCode, PackMlCommand, PackMlState};
use serialstation_devices::traits::{DeviceError, DeviceFuture, LineIo, Printer};

use crate::line::{ItemFate, Reconciliation, RecoveredItem};
use crate::station::policy::reject_limit::TAIL_REJECT_LIMIT;
use crate::store::line_records::{BatchSerialCounts, LineBatch};
use crate::store::recovery_reads::RecoveryItem;
use crate::store::{Actor, BatchId, Store, StoreError, StoreResult};

use plan::{Inconsistency, PlcView, RecoveryInput, RecoveryPlan, RecoveryTally};

/// The audit action of the one-line summary of each recovery.
pub const AUDIT_ACTION: &str = "batch.recovery";

/// How patient recovery is with the devices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecoveryOptions {
    /// Attempts per device request (at least 1).
    pub attempts: u32,
    /// Wait between two attempts, and between two looks at items in flight.
    pub retry_delay: Duration,
    /// Run the line for at most this long so that items in flight with a GOOD verdict
    /// reach their final fate. `None`: never run the line; such items are counted as
    /// rejected and named in the report's alerts, for the operator to check the good
    /// exit. Not used when `hand_over_in_flight` is set.
    pub settle_in_flight: Option<Duration>,
    /// Hold the line as soon as the items in flight are fenced with REJECT, and hand
    /// those without a final fate to the engine with the batch
    /// ([`RecoveryReport::in_flight`]), which settles them from their fates once the
    /// line runs again. For the batch the station takes over: a restart then does
    /// not wait for the belt.
    pub hand_over_in_flight: bool,
}

impl Default for RecoveryOptions {
    /// 20 attempts 250 ms apart (about 5 s for drivers that have just been started to
    /// connect, or a device that is briefly away); the line runs up to 60 s to bring
    /// items in flight to their fate.
    fn default() -> Self {
        RecoveryOptions {
            attempts: 20,
            retry_delay: Duration::from_millis(250),
            settle_in_flight: Some(Duration::from_secs(60)),
            hand_over_in_flight: false,
        }
    }
}

/// Why a batch could not be recovered. The store is unchanged, except for the serials
/// the printer's buffer clear settled if the error came after it (see the module
/// documentation, step 2).
#[derive(Debug, thiserror::Error)]
pub enum RecoveryError {
    #[error(
        "batch {batch}: the printer cannot be reached to prove which serials were never printed ({last}); check that it is powered and connected, recovery runs again when it is back"
    )]
    PrinterUnreachable { batch: i64, last: String },
    #[error(
        "batch {batch}: the PLC cannot be reached to learn the fates of items in flight ({last}); check that it is powered and connected, recovery runs again when it is back"
    )]
    PlcUnreachable { batch: i64, last: String },
    #[error(
        "batch {batch}: items {} are still on the line without a final fate after running it for {waited:?}; clear what stops the line (PLC alarms, jam), recovery runs again",
        seqs.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
    )]
    ItemsInFlight {
        batch: i64,
        seqs: Vec<u32>,
        waited: Duration,
    },
    #[error("batch {batch} cannot be recovered: {source}")]
    Store {
        batch: i64,
        #[source]
        source: StoreError,
    },
    #[error("batch {batch} cannot be recovered: {source}")]
    Inconsistent {
        batch: i64,
        #[source]
        source: Inconsistency,
    },
    #[error(
        "batch {batch} still has {} serial(s) outstanding after recovery ({}): the store holds serials in states recovery does not settle",
        counts.outstanding, describe(counts)
    )]
    Unbalanced {
        batch: i64,
        counts: BatchSerialCounts,
    },
}

/// What recovery did to one batch.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RecoveryReport {
    pub batch: BatchId,
    pub tally: RecoveryTally,
    /// The store's counts of the batch afterwards (nothing outstanding but the
    /// serials of the items handed over in flight).
    pub counts: BatchSerialCounts,
    /// Items the operator must find at the line (unconfirmed rejects, escapes, lost fates).
    pub alerts: Vec<String>,
    /// What recovery did to the devices, and what they did not do.
    pub notes: Vec<String>,
    /// Items on the line without a final fate, for the engine to settle
    /// (`BatchRecovery::in_flight`); empty unless `hand_over_in_flight`.
    #[serde(skip)]
    pub in_flight: Vec<RecoveredItem>,
}

impl RecoveryReport {
    /// One line for the operator and the log.
    pub fn summary(&self) -> String {
        let t = &self.tally;
        format!(
            "batch {} recovered: returned {}, invalidated {}, commissioned {}, scrapped {}, verdicts overwritten {}; {}",
            self.batch.0,
            t.returned,
            t.invalidated,
            t.commissioned,
            t.scrapped,
            t.verdicts_overwritten,
            describe(&self.counts)
        )
    }

    /// What the restart cost this batch, in one line for the notes and the audit trail.
    pub fn cost_line(&self) -> String {
        let t = &self.tally;
        format!(
            "recovery of batch {}: {} serials returned with proof, {} invalidated (printed or unknown), {} scrapped, {} acknowledgements of the previous run matched, {} items in flight handed over",
            self.batch.0, t.returned, t.invalidated, t.scrapped, t.previous_run_acks, t.handed_over
        )
    }

    /// The counts in the engine's terms, for `BatchRecovery::counts`.
    pub fn reconciliation(&self) -> Reconciliation {
        crate::station::records::reconciliation_of(&self.counts)
    }
}

fn describe(c: &BatchSerialCounts) -> String {
    format!(
        "allocated {} = commissioned {} + scrapped {} + sampled {} + invalidated {} + returned {} (+ {} outstanding)",
        c.allocated,
        c.commissioned,
        c.scrapped,
        c.sampled,
        c.invalidated,
        c.returned,
        c.outstanding
    )
}

/// Batches whose line state is not closed, oldest first, with that state.
pub fn unfinished_batches(store: &Store) -> StoreResult<Vec<(LineBatch, String)>> {
    store.unfinished_line_batches()
}

/// Recovers one batch with the default patience ([`RecoveryOptions::default`]).
pub async fn recover_batch(
    store: &mut Store,
    line: &LineBatch,
    printer: &dyn Printer,
    plc: &dyn LineIo,
    actor: &Actor,
) -> Result<RecoveryReport, RecoveryError> {
    recover_batch_with(store, line, printer, plc, actor, RecoveryOptions::default()).await
}

/// Recovers one batch; see the module documentation for the order of steps.
pub async fn recover_batch_with(
    store: &mut Store,
    line: &LineBatch,
    printer: &dyn Printer,
    plc: &dyn LineIo,
    actor: &Actor,
    options: RecoveryOptions,
) -> Result<RecoveryReport, RecoveryError> {
    recover_batch_acknowledged(store, line, printer, plc, actor, options, &[]).await
}

/// Recovers one batch, told the ids of the print acknowledgements the station
/// received for the previous run's messages before the take-over
/// (`Engine::earlier_run_acks`): their serials were printed. See the module
/// documentation for the order of steps.
///
/// Run it only while no batch is running on this station's printer (at start-up,
/// before the take-over): it clears the printer's buffer, and settles with that clear
/// the Allocated serials of every unfinished batch of the store.
pub async fn recover_batch_acknowledged(
    store: &mut Store,
    line: &LineBatch,
    printer: &dyn Printer,
    plc: &dyn LineIo,
    actor: &Actor,
    options: RecoveryOptions,
    acknowledged: &[u64],
) -> Result<RecoveryReport, RecoveryError> {
    let batch = line.batch.0;
    let store_error = |source| RecoveryError::Store { batch, source };
    let plc_error = |e: DeviceError| RecoveryError::PlcUnreachable {
        batch,
        last: e.to_string(),
    };
    let mut notes = Vec::new();

    let serials = store.unsettled_serials(line.batch).map_err(store_error)?;
    let items = store.recovery_items(line.batch).map_err(store_error)?;
    let acked = store
        .batch_message_ids_among(line.batch, acknowledged)
        .map_err(store_error)?;

    // The PLC must answer before the printer's buffer is cleared: a clear's proof is
    // good once only, and would be lost if recovery then gave up for want of the PLC.
    retry(options, || plc.read_status())
        .await
        .map_err(plc_error)?;
    // Every item recovery fences, and every blank item behind them, is rejected on
    // purpose: the PLC's consecutive-reject stop must not abort the line while
    // recovery runs it to settle them (which then takes a Clear, a Reset and a
    // Start). The take-over sets the limit for the batch again (`TailRejectLimit`).
    retry(options, || {
        plc.set_consecutive_reject_limit(TAIL_REJECT_LIMIT)
    })
    .await
    .map_err(plc_error)?;
    let never_printed: BTreeSet<u64> = retry(options, || printer.clear_buffer())
        .await
        .map_err(|e| RecoveryError::PrinterUnreachable {
            batch,
            last: e.to_string(),
        })?
        .into_iter()
        .map(u64::from)
        .collect();
    notes.push(format!(
        "printer buffer cleared: {} message(s) reported never printed",
        never_printed.len()
    ));

    // The clear's proof is good once only: what it decides is made durable now.
    let settled = plan::plan_allocated(RecoveryInput {
        serials: &serials,
        items: &items,
        printer: printer.name(),
        never_printed: Some(&never_printed),
        acknowledged: &acked,
        plc: &PlcView::default(),
    })
    .map_err(|source| RecoveryError::Inconsistent { batch, source })?;
    store
        .apply_line_records(line, &settled.records, actor)
        .map_err(store_error)?;
    let mut alerts = settled.alerts;
    settle_other_batches(
        store,
        line,
        printer.name(),
        &never_printed,
        acknowledged,
        actor,
        &mut alerts,
        &mut notes,
    )
    .map_err(store_error)?;
    // What is left of the batch: its printed serials.
    let serials = store.unsettled_serials(line.batch).map_err(store_error)?;

    let decide = |view: &PlcView| {
        let input = RecoveryInput {
            serials: &serials,
            items: &items,
            printer: printer.name(),
            never_printed: Some(&never_printed),
            acknowledged: &acked,
            plc: view,
        };
        if options.hand_over_in_flight {
            plan::plan_handing_over(input)
        } else {
            plan::plan(input)
        }
        .map_err(|source| RecoveryError::Inconsistent { batch, source })
    };

    let view = read_plc(plc, &items, options).await.map_err(plc_error)?;
    let fenced = decide(&view)?.reject_writes;
    for seq in &fenced {
        retry(options, || plc.write_verdict(*seq, false))
            .await
            .map_err(plc_error)?;
    }
    if let Some(limit) = options.settle_in_flight
        && !options.hand_over_in_flight
        && !plan::awaiting_fates(&view, &fenced).is_empty()
    {
        settle_in_flight(plc, &items, &fenced, limit, options, &mut notes)
            .await
            .map_err(|e| match e {
                Settle::Device(e) => plc_error(e),
                Settle::Timeout(seqs) => RecoveryError::ItemsInFlight {
                    batch,
                    seqs,
                    waited: limit,
                },
            })?;
    }
    hold_line(plc, options, &mut notes)
        .await
        .map_err(plc_error)?;
    // The fates as they stand with the line held: an item that reached its fate since
    // the last look is settled by it.
    let view = read_plc(plc, &items, options).await.map_err(plc_error)?;
    let plan = decide(&view)?;

    apply(store, line, actor, &plan, plc, options).await?;

    let counts = store.batch_serial_counts(line.batch).map_err(store_error)?;
    let handed_serials = plan
        .in_flight
        .iter()
        .filter(|item| item.serial.is_some())
        .count();
    if counts.outstanding != handed_serials as u64 {
        return Err(RecoveryError::Unbalanced { batch, counts });
    }
    let mut tally = settled.tally;
    tally.add(&plan.tally);
    let overwritten: BTreeSet<u32> = fenced.iter().chain(&plan.reject_writes).copied().collect();
    tally.verdicts_overwritten = overwritten.len() as u64;
    tally.previous_run_acks = acked.len() as u64;
    alerts.extend(plan.alerts);
    if !plan.in_flight.is_empty() {
        notes.push(format!(
            "line held with {} item(s) in flight fenced with REJECT; the batch settles them from their fates when it runs again",
            plan.in_flight.len()
        ));
    }
    // Each acknowledgement is reported once: with the batch whose message it is.
    if !acked.is_empty() {
        notes.push(format!(
            "{} acknowledgements of the previous run's messages were matched during recovery",
            acked.len()
        ));
    }
    let mut report = RecoveryReport {
        batch: line.batch,
        tally,
        counts,
        alerts,
        notes,
        in_flight: plan.in_flight,
    };
    let cost = report.cost_line();
    store
        .record_action(
            actor,
            AUDIT_ACTION,
            &format!("batch {batch}"),
            audit_details(&report, &cost),
        )
        .map_err(store_error)?;
    report.notes.push(cost);
    Ok(report)
}

/// The audit row's details: the one line and its numbers.
fn audit_details(report: &RecoveryReport, cost: &str) -> serde_json::Value {
    let t = &report.tally;
    json!({
        "summary": cost,
        "returned": t.returned,
        "invalidated": t.invalidated,
        "commissioned": t.commissioned,
        "scrapped": t.scrapped,
        "verdicts_overwritten": t.verdicts_overwritten,
        "fates_recorded": t.fates_recorded,
        "handed_over": t.handed_over,
        "previous_run_acks": t.previous_run_acks,
        "alerts": report.alerts.len(),
    })
}

/// Settles, with the same buffer clear, the Allocated serials of every other
/// unfinished batch (a second clear would find the buffer empty and prove nothing).
/// A batch whose records contradict themselves is left for its own recovery, which
/// stops on it.
#[allow(clippy::too_many_arguments)]
fn settle_other_batches(
    store: &mut Store,
    line: &LineBatch,
    printer: &str,
    never_printed: &BTreeSet<u64>,
    acknowledged: &[u64],
    actor: &Actor,
    alerts: &mut Vec<String>,
    notes: &mut Vec<String>,
) -> StoreResult<()> {
    for (other, _) in store.unfinished_line_batches()? {
        if other.batch == line.batch {
            continue;
        }
        let serials = store.unsettled_serials(other.batch)?;
        if !serials
            .iter()
            .any(|s| s.state == crate::store::SerialState::Allocated)
        {
            continue;
        }
        let items = store.recovery_items(other.batch)?;
        let acked = store.batch_message_ids_among(other.batch, acknowledged)?;
        let settled = match plan::plan_allocated(RecoveryInput {
            serials: &serials,
            items: &items,
            printer,
            never_printed: Some(never_printed),
            acknowledged: &acked,
            plc: &PlcView::default(),
        }) {
            Ok(settled) => settled,
            Err(e) => {
                notes.push(format!(
                    "batch {}: its allocated serials are left for its own recovery: {e}",
                    other.batch.0
                ));
                continue;
            }
        };
        store.apply_line_records(&other, &settled.records, actor)?;
        alerts.extend(settled.alerts);
        notes.push(format!(
            "batch {}: {} serials returned with proof and {} invalidated with this buffer clear",
            other.batch.0, settled.tally.returned, settled.tally.invalidated
        ));
    }
    Ok(())
}

/// Records first (one transaction), then the REJECT writes that depend on them.
async fn apply(
    store: &mut Store,
    line: &LineBatch,
    actor: &Actor,
    plan: &RecoveryPlan,
    plc: &dyn LineIo,
    options: RecoveryOptions,
) -> Result<(), RecoveryError> {
    let batch = line.batch.0;
    store
        .apply_line_records(line, &plan.records, actor)
        .map_err(|source| RecoveryError::Store { batch, source })?;
    for seq in &plan.reject_writes {
        retry(options, || plc.write_verdict(*seq, false))
            .await
            .map_err(|e| RecoveryError::PlcUnreachable {
                batch,
                last: format!(
                    "{e}; the serials are settled in the store, the REJECT verdicts are written again on the next run"
                ),
            })?;
    }
    Ok(())
}

/// Holds the line if it is running.
async fn hold_line(
    plc: &dyn LineIo,
    options: RecoveryOptions,
    notes: &mut Vec<String>,
) -> Result<(), DeviceError> {
    let status = retry(options, || plc.read_status()).await?;
    if matches!(
        status.state,
        PackMlState::Execute
            | PackMlState::Starting
            | PackMlState::Unholding
            | PackMlState::Unsuspending
    ) {
        retry(options, || plc.command(PackMlCommand::Hold)).await?;
        notes.push(format!("line held (it was {})", status.state));
    }
    Ok(())
}

enum Settle {
    Device(DeviceError),
    /// These seqs are still without a final fate.
    Timeout(Vec<u32>),
}

/// Runs the line until every fenced item on it has its final fate.
async fn settle_in_flight(
    plc: &dyn LineIo,
    items: &[RecoveryItem],
    fenced: &[u32],
    limit: Duration,
    options: RecoveryOptions,
    notes: &mut Vec<String>,
) -> Result<(), Settle> {
    let deadline = tokio::time::Instant::now() + limit;
    let mut commands = 0u32;
    loop {
        let view = read_plc(plc, items, options)
            .await
            .map_err(Settle::Device)?;
        let waiting = plan::awaiting_fates(&view, fenced);
        if waiting.is_empty() {
            notes.push(format!(
                "line run until {} item(s) in flight reached their fate ({commands} command(s) to the PLC)",
                fenced.len()
            ));
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(Settle::Timeout(waiting));
        }
        let status = retry(options, || plc.read_status())
            .await
            .map_err(Settle::Device)?;
        if let Some(command) = next_run_command(status.state, status.alarms.0 != 0) {
            retry(options, || plc.command(command))
                .await
                .map_err(Settle::Device)?;
            commands += 1;
        }
        tokio::time::sleep(options.retry_delay.min(Duration::from_millis(50))).await;
    }
}

/// The PackML command that brings the line one step closer to Execute, or `None`
/// when it runs or is on its way. Latched alarms are cleared the PackML way: Clear
/// from Aborted, Reset from Stopped; a line that is Idle with an alarm still set is
/// stopped first so that Reset can clear it once its cause is gone.
fn next_run_command(state: PackMlState, alarms: bool) -> Option<PackMlCommand> {
    match state {
        PackMlState::Aborted => Some(PackMlCommand::Clear),
        PackMlState::Stopped | PackMlState::Complete => Some(PackMlCommand::Reset),
        PackMlState::Idle if alarms => Some(PackMlCommand::Stop),
        PackMlState::Idle => Some(PackMlCommand::Start),
        PackMlState::Held => Some(PackMlCommand::Unhold),
        PackMlState::Suspended => Some(PackMlCommand::Unsuspend),
        _ => None,
    }
}

/// The PLC's gate count and the final fates of every GOOD item without a recorded fate.
async fn read_plc(
    plc: &dyn LineIo,
    items: &[RecoveryItem],
    options: RecoveryOptions,
) -> Result<PlcView, DeviceError> {
    let status = retry(options, || plc.read_status()).await?;
    let asked = plan::seqs_to_ask(items);
    let wanted: BTreeSet<u32> = asked.iter().copied().collect();
    let mut fates = BTreeMap::new();
    for (first, count) in plan::fate_windows(&asked) {
        for slot in retry(options, || plc.read_fates(first, count)).await? {
            let fate = match slot.fate {
                FateCode::ExitedGood => ItemFate::ExitedGood,
                FateCode::RejectedConfirmed => ItemFate::RejectedConfirmed,
                FateCode::RejectedUnconfirmed => ItemFate::RejectedUnconfirmed,
                FateCode::None => continue,
            };
            if wanted.contains(&slot.seq) {
                fates.insert(slot.seq, fate);
            }
        }
    }
    Ok(PlcView {
        fates,
        gate_count: status.gate_count,
        items_detected: status.items_detected,
    })
}

/// Runs a device request until it succeeds or `options.attempts` have failed.
async fn retry<'a, T>(
    options: RecoveryOptions,
    mut request: impl FnMut() -> DeviceFuture<'a, T>,
) -> Result<T, DeviceError> {
    let attempts = options.attempts.max(1);
    let mut attempt = 1;
    loop {
        match request().await {
            Ok(value) => return Ok(value),
            Err(e) if attempt >= attempts => return Err(e),
            Err(e) => {
                tracing::debug!("recovery: attempt {attempt} of {attempts} failed: {e}");
                attempt += 1;
                tokio::time::sleep(options.retry_delay).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_is_brought_to_execute_one_command_at_a_time() {
        use PackMlState::*;
        assert_eq!(next_run_command(Execute, false), None);
        assert_eq!(next_run_command(Aborted, true), Some(PackMlCommand::Clear));
        assert_eq!(next_run_command(Stopped, true), Some(PackMlCommand::Reset));
        assert_eq!(next_run_command(Idle, true), Some(PackMlCommand::Stop));
        assert_eq!(next_run_command(Stopped, false), Some(PackMlCommand::Reset));
        assert_eq!(
            next_run_command(Complete, false),
            Some(PackMlCommand::Reset)
        );
        assert_eq!(next_run_command(Idle, false), Some(PackMlCommand::Start));
        assert_eq!(next_run_command(Held, false), Some(PackMlCommand::Unhold));
        assert_eq!(
            next_run_command(Suspended, false),
            Some(PackMlCommand::Unsuspend)
        );
        for moving in [Starting, Unholding, Resetting, Clearing, Holding, Stopping] {
            assert_eq!(next_run_command(moving, false), None, "{moving:?}");
        }
    }

    #[test]
    fn the_summary_names_every_count() {
        let report = RecoveryReport {
            batch: BatchId(3),
            tally: RecoveryTally {
                returned: 4,
                invalidated: 2,
                commissioned: 1,
                scrapped: 3,
                verdicts_overwritten: 1,
                fates_recorded: 1,
                handed_over: 0,
                previous_run_acks: 17,
            },
            counts: BatchSerialCounts {
                allocated: 20,
                commissioned: 11,
                scrapped: 3,
                invalidated: 2,
                returned: 4,
                ..BatchSerialCounts::default()
            },
            alerts: Vec::new(),
            notes: Vec::new(),
            in_flight: Vec::new(),
        };
        let summary = report.summary();
        for part in [
            "batch 3",
            "returned 4",
            "invalidated 2",
            "commissioned 1",
            "scrapped 3",
            "verdicts overwritten 1",
            "allocated 20",
        ] {
            assert!(summary.contains(part), "{summary}");
        }
        assert!(report.reconciliation().balances());
        assert_eq!(
            report.cost_line(),
            "recovery of batch 3: 4 serials returned with proof, 2 invalidated (printed or unknown), 3 scrapped, 17 acknowledgements of the previous run matched, 0 items in flight handed over"
        );
        let details = audit_details(&report, &report.cost_line());
        assert_eq!(details["summary"], report.cost_line().as_str());
        assert_eq!(details["previous_run_acks"], 17);
        assert_eq!(details["returned"], 4);
    }
}
