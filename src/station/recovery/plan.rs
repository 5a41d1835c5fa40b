//! The recovery plan (pure): from what the store recorded about an unfinished batch,
//! what the printer proved never printed and what the PLC knows about its items,
//! decide where every unsettled serial goes and which verdicts the PLC must get.
//!
//! | serial    | evidence                                               | outcome                          |
//! |-----------|--------------------------------------------------------|----------------------------------|
//! | Allocated | never queued to a printer (since its allocation)       | back to the pool (never sent)    |
//! | Allocated | queued; the printer acknowledged printing a message    | SNInvalid (printed)              |
//! | Allocated | queued; every message listed by the printer's clear    | back to the pool (printer proof) |
//! | Allocated | queued; not listed, or the printer not asked           | SNInvalid                        |
//! | Allocated | a GOOD item names it                                   | inconsistency (error)            |
//! | Encoded   | GOOD item, fate exited_good (recorded or from the PLC) | Commissioned                     |
//! | Encoded   | GOOD item, fate rejected (recorded or from the PLC)    | LabelScrapped                    |
//! | Encoded   | GOOD item, no final fate at the PLC                    | REJECT to the PLC, LabelScrapped |
//! | Encoded   | the same, handing over, the PLC has the item on the line | REJECT to the PLC, handed to the engine (stays Encoded) |
//! | Encoded   | GOOD item, its fate overwritten in the PLC's ring      | SNInvalid (fate unknowable)      |
//! | Encoded   | no GOOD item                                           | LabelScrapped                    |
//!
//! (Before the plan is applied, recovery writes REJECT for the items without a final
//! fate. For the batch the station takes over it then holds the line at once and
//! decides with [`plan_handing_over`]: the items still on the line go to the engine
//! with the batch, which settles them from their fates. For an older batch it runs
//! the line until they have a fate, so that the row "no final fate" is left only for
//! items the PLC does not know, or when running the line is not allowed.)
//!
//! Checks and repairs on items already settled: a GOOD item of a Commissioned serial
//! with no recorded fate must have `exited_good` at the PLC (its fate is recorded),
//! anything else is an inconsistency (an error, never a guess); a GOOD item whose
//! serial was scrapped or invalidated and whose fate is not final gets REJECT again,
//! so a recovery interrupted between its records and its PLC writes is completed by
//! the next run.
//!
//! The Allocated rows need only the printer's evidence: [`plan_allocated`] decides
//! them alone, so that recovery can make the buffer clear's proof (good once only)
//! durable at once. A serial's messages are those of its current allocation (see
//! `UnsettledSerial`). A print acknowledgement outweighs the clear's list: a message
//! the printer reported printed is never taken for unprinted.
//!
//! The records go to the store in one transaction; the REJECT writes follow, in plan
//! order, only after the records are durable.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::line::{ItemFate, RecoveredItem, Seq};
use crate::store::SerialState;
use crate::store::line_records::{LineRecord, SerialOutcome};
use crate::store::recovery_reads::{RecoveryItem, UnsettledSerial};

/// The most seqs one fate-ring read covers: the whole ring, as the register map says.
pub const FATE_WINDOW: u32 = serialstation_devices::plc::register_map::FATE_RING_SLOTS as u32;

/// What the PLC says about one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlcFate {
    /// The item's final fate, read from the fate ring.
    Final(ItemFate),
    /// No final fate yet: the item has not reached the gate, or waits for its reject
    /// confirmation. A REJECT written now decides it.
    NotFinal,
    /// The gate count is past the item but its ring slot holds a later item: the fate
    /// was final and has been overwritten.
    Lost,
}

/// The PLC as read during recovery.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlcView {
    /// Final fates read from the fate ring, by seq.
    pub fates: BTreeMap<u32, ItemFate>,
    /// Every seq before this one has its final fate in the ring (or had: 256 slots).
    pub gate_count: u32,
    /// Items the PLC has seen at product detect: the next item gets this seq.
    pub items_detected: u32,
}

impl PlcView {
    /// True if the PLC has seen `seq` at product detect in its current count (a seq
    /// from before its counters started again is not on the line).
    pub fn has_detected(&self, seq: u32) -> bool {
        let detected = self.items_detected.wrapping_sub(seq);
        detected != 0 && detected < (1 << 31)
    }

    /// What the PLC says about `seq`.
    pub fn fate_of(&self, seq: u32) -> PlcFate {
        if let Some(fate) = self.fates.get(&seq) {
            return PlcFate::Final(*fate);
        }
        let behind = self.gate_count.wrapping_sub(seq);
        if behind != 0 && behind < (1 << 31) {
            PlcFate::Lost
        } else {
            PlcFate::NotFinal
        }
    }
}

/// Of the `fenced` seqs (REJECT written), those still on the line: detected by the
/// PLC, fate not final yet. A seq the PLC has not detected (its counters started
/// again) is not on the line and is not waited for.
pub fn awaiting_fates(view: &PlcView, fenced: &[u32]) -> Vec<u32> {
    fenced
        .iter()
        .copied()
        .filter(|seq| view.has_detected(*seq) && view.fate_of(*seq) == PlcFate::NotFinal)
        .collect()
}

/// Everything the plan is decided from.
#[derive(Debug, Clone, Copy)]
pub struct RecoveryInput<'a> {
    /// The batch's serials still Allocated or Encoded.
    pub serials: &'a [UnsettledSerial],
    /// The batch's items that can matter (see `Store::recovery_items`).
    pub items: &'a [RecoveryItem],
    /// The printer's name, kept with every return proof.
    pub printer: &'a str,
    /// Message ids the printer's buffer clear reported never printed; `None` when the
    /// printer could not be asked.
    pub never_printed: Option<&'a BTreeSet<u64>>,
    /// Message ids the printer reported printed after the previous run ended (the
    /// station matched them to that run while recovery was pending).
    pub acknowledged: &'a BTreeSet<u64>,
    pub plc: &'a PlcView,
}

/// What recovery changes, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct RecoveryTally {
    /// Allocated serials returned to the pool with proof.
    pub returned: u64,
    /// Serials made SNInvalid (may have been printed; fate unknowable).
    pub invalidated: u64,
    pub commissioned: u64,
    pub scrapped: u64,
    /// Verdict slots overwritten with REJECT.
    pub verdicts_overwritten: u64,
    /// Item fates recorded from the PLC.
    pub fates_recorded: u64,
    /// Items on the line without a final fate, handed to the engine with the batch.
    pub handed_over: u64,
    /// Print acknowledgements for the batch's messages that came from the previous
    /// run's printer buffer before the take-over (matched, not alarmed).
    pub previous_run_acks: u64,
}

impl RecoveryTally {
    /// Adds the counts of another part of the same recovery.
    pub fn add(&mut self, other: &RecoveryTally) {
        self.returned += other.returned;
        self.invalidated += other.invalidated;
        self.commissioned += other.commissioned;
        self.scrapped += other.scrapped;
        self.verdicts_overwritten += other.verdicts_overwritten;
        self.fates_recorded += other.fates_recorded;
        self.handed_over += other.handed_over;
        self.previous_run_acks += other.previous_run_acks;
    }
}

/// The plan for one batch.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecoveryPlan {
    /// Store records, applied in one transaction.
    pub records: Vec<LineRecord>,
    /// Seqs whose verdict slot gets REJECT, in order, after the records are durable.
    pub reject_writes: Vec<u32>,
    pub tally: RecoveryTally,
    /// Plain sentences for the operator: items to find at the line.
    pub alerts: Vec<String>,
    /// Items on the line without a final fate, handed to the engine (only from
    /// [`plan_handing_over`]); their REJECTs are in `reject_writes`.
    pub in_flight: Vec<RecoveredItem>,
}

/// What the plan does with an item on the line whose fate is not final.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum InFlight {
    /// Count it rejected (REJECT is written): recovery has run the line until every
    /// such item had its fate, or may not run it.
    CountRejected,
    /// Hand it to the engine with its REJECT written, to be settled by its fate.
    HandOver,
}

/// The recorded state contradicts itself: recovery stops rather than guess.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the store and the PLC disagree: {0}; the batch's printed serials and its items were left as they were, find the item at the line and ask the validation engineer"
)]
pub struct Inconsistency(pub String);

const PREFIX: &str = "start-up recovery";

/// The printer named in the proof of a serial that was never sent to one.
const NEVER_SENT: &str = "none (never sent)";

fn parse_fate(seq: u32, text: &str) -> Result<ItemFate, Inconsistency> {
    match text {
        "exited_good" => Ok(ItemFate::ExitedGood),
        "rejected_confirmed" => Ok(ItemFate::RejectedConfirmed),
        "rejected_unconfirmed" => Ok(ItemFate::RejectedUnconfirmed),
        other => Err(Inconsistency(format!(
            "item {seq} has the fate {other:?}, which this program does not know"
        ))),
    }
}

/// The seqs whose fates recovery must read from the PLC: every GOOD item without a
/// recorded fate. Sorted, without repeats.
pub fn seqs_to_ask(items: &[RecoveryItem]) -> Vec<u32> {
    let seqs: BTreeSet<u32> = items
        .iter()
        .filter(|item| item.good && item.fate.is_none())
        .map(|item| item.seq)
        .collect();
    seqs.into_iter().collect()
}

/// Fate-ring reads (first seq, count) that cover `seqs` (sorted), each at most
/// [`FATE_WINDOW`] seqs long.
pub fn fate_windows(seqs: &[u32]) -> Vec<(u32, u16)> {
    let mut windows: Vec<(u32, u16)> = Vec::new();
    for &seq in seqs {
        if let Some((first, count)) = windows.last_mut() {
            let offset = seq.wrapping_sub(*first);
            if offset < FATE_WINDOW {
                let needed = (offset + 1) as u16;
                *count = (*count).max(needed);
                continue;
            }
        }
        windows.push((seq, 1));
    }
    windows
}

struct Builder {
    plan: RecoveryPlan,
    written: BTreeSet<u32>,
    in_flight: InFlight,
}

impl Builder {
    fn serial(&mut self, serial: &str, outcome: SerialOutcome, detail: String) {
        match outcome {
            SerialOutcome::Commissioned => self.plan.tally.commissioned += 1,
            SerialOutcome::Scrapped => self.plan.tally.scrapped += 1,
            SerialOutcome::Invalidated => self.plan.tally.invalidated += 1,
            SerialOutcome::Encoded => {}
        }
        self.plan.records.push(LineRecord::Serial {
            serial: serial.to_string(),
            outcome,
            detail: format!("{PREFIX}: {detail}"),
        });
    }

    fn returned(&mut self, serial: &str, printer: String, evidence: String) {
        self.plan.tally.returned += 1;
        self.plan.records.push(LineRecord::SerialReturned {
            serial: serial.to_string(),
            printer,
            evidence: format!("{PREFIX}: {evidence}"),
        });
    }

    fn fate(&mut self, seq: u32, fate: ItemFate, serial: Option<&str>) {
        self.plan.tally.fates_recorded += 1;
        self.plan.records.push(LineRecord::ItemFate {
            seq,
            fate: fate.as_str().to_string(),
            serial: serial.map(str::to_string),
        });
        if fate == ItemFate::RejectedUnconfirmed {
            self.plan.alerts.push(format!(
                "the reject of item {seq} was never confirmed: find it (reject bin or good exit) and remove it"
            ));
        }
    }

    fn reject(&mut self, seq: u32) {
        if self.written.insert(seq) {
            self.plan.tally.verdicts_overwritten += 1;
            self.plan.reject_writes.push(seq);
        }
    }

    /// Hands `seq` to the engine if the plan does and the PLC has it on the line
    /// (its REJECT is written all the same); false if the plan must settle it.
    fn hand_over(&mut self, seq: u32, serial: Option<&str>, plc: &PlcView) -> bool {
        if self.in_flight != InFlight::HandOver || !plc.has_detected(seq) {
            return false;
        }
        self.reject(seq);
        self.plan.tally.handed_over += 1;
        self.plan.in_flight.push(RecoveredItem {
            seq: Seq(seq),
            serial: serial.map(str::to_string),
        });
        true
    }
}

/// The recorded items by the serial they name: GOOD ones, and rejects.
struct ItemIndex<'a> {
    good: HashMap<&'a str, &'a RecoveryItem>,
    reject: HashMap<&'a str, &'a RecoveryItem>,
}

impl<'a> ItemIndex<'a> {
    fn new(items: &'a [RecoveryItem]) -> ItemIndex<'a> {
        let mut index = ItemIndex {
            good: HashMap::new(),
            reject: HashMap::new(),
        };
        for item in items {
            let Some(serial) = item.serial.as_deref() else {
                continue;
            };
            let map = if item.good {
                &mut index.good
            } else {
                &mut index.reject
            };
            map.entry(serial).or_insert(item);
        }
        index
    }
}

impl Builder {
    fn new(in_flight: InFlight) -> Builder {
        Builder {
            plan: RecoveryPlan::default(),
            written: BTreeSet::new(),
            in_flight,
        }
    }
}

/// Decides the plan. Fails only when the records contradict themselves or the PLC.
/// An item on the line without a final fate is counted as rejected (its REJECT is
/// written).
pub fn plan(input: RecoveryInput<'_>) -> Result<RecoveryPlan, Inconsistency> {
    plan_with(input, InFlight::CountRejected)
}

/// As [`plan`], but an item the PLC has on the line without a final fate is handed
/// to the engine (`RecoveryPlan::in_flight`) with its REJECT written: its serial stays
/// Encoded until its fate comes. For the batch the engine takes over, with the line
/// held.
pub fn plan_handing_over(input: RecoveryInput<'_>) -> Result<RecoveryPlan, Inconsistency> {
    plan_with(input, InFlight::HandOver)
}

fn plan_with(input: RecoveryInput<'_>, in_flight: InFlight) -> Result<RecoveryPlan, Inconsistency> {
    let index = ItemIndex::new(input.items);
    let good_items = &index.good;
    let reject_items = &index.reject;
    let mut b = Builder::new(in_flight);
    for unsettled in input.serials {
        let serial = unsettled.serial.as_str();
        match unsettled.state {
            SerialState::Allocated => allocated(&mut b, &index, unsettled, &input)?,
            SerialState::Encoded => {
                let good = good_items.get(serial).copied();
                let reject = reject_items.get(serial).copied();
                settle_encoded(&mut b, serial, good, reject, input.plc)?;
            }
            _ => {}
        }
    }
    for item in input.items {
        if !item.good || item.fate.is_some() {
            continue;
        }
        match item.serial_state {
            Some(SerialState::Allocated | SerialState::Encoded) | None => {}
            Some(SerialState::Commissioned) => check_commissioned(&mut b, item, input.plc)?,
            Some(_) => settle_fate_of_used_up(&mut b, item, input.plc),
        }
    }
    Ok(b.plan)
}

/// The part of the plan that needs only the printer's evidence: every Allocated
/// serial of `input.serials` (the PLC view is not looked at). Recovery applies it as
/// soon as the printer's buffer is cleared; [`plan`] decides the same for them.
pub fn plan_allocated(input: RecoveryInput<'_>) -> Result<RecoveryPlan, Inconsistency> {
    let index = ItemIndex::new(input.items);
    let mut b = Builder::new(InFlight::CountRejected);
    for unsettled in input.serials {
        if unsettled.state == SerialState::Allocated {
            allocated(&mut b, &index, unsettled, &input)?;
        }
    }
    Ok(b.plan)
}

fn allocated(
    b: &mut Builder,
    index: &ItemIndex<'_>,
    unsettled: &UnsettledSerial,
    input: &RecoveryInput<'_>,
) -> Result<(), Inconsistency> {
    let serial = unsettled.serial.as_str();
    if let Some(item) = index.good.get(serial) {
        return Err(Inconsistency(format!(
            "serial {serial} is still Allocated, yet item {} has a GOOD verdict for it (a print is recorded before its verdict)",
            item.seq
        )));
    }
    settle_allocated(b, unsettled, input);
    Ok(())
}

fn id_list(ids: &[u64]) -> String {
    ids.iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn settle_allocated(b: &mut Builder, unsettled: &UnsettledSerial, input: &RecoveryInput<'_>) {
    let serial = unsettled.serial.as_str();
    if unsettled.message_ids.is_empty() {
        b.returned(
            serial,
            NEVER_SENT.to_string(),
            "the serial never left the station: it was never queued to a printer".to_string(),
        );
        return;
    }
    let printed: Vec<u64> = unsettled
        .message_ids
        .iter()
        .copied()
        .filter(|id| input.acknowledged.contains(id))
        .collect();
    if !printed.is_empty() {
        let printed_ids = id_list(&printed);
        if input
            .never_printed
            .is_some_and(|never| printed.iter().any(|id| never.contains(id)))
        {
            b.plan.alerts.push(format!(
                "the printer reported message {printed_ids} printed, yet its buffer clear listed it as never printed: serial {serial} is invalidated; check the printer"
            ));
        }
        b.serial(
            serial,
            SerialOutcome::Invalidated,
            format!(
                "printed: the printer acknowledged message {printed_ids} after the previous run ended"
            ),
        );
        return;
    }
    let ids = id_list(&unsettled.message_ids);
    match input.never_printed {
        Some(never) if unsettled.message_ids.iter().all(|id| never.contains(id)) => b.returned(
            serial,
            input.printer.to_string(),
            format!("the printer's buffer clear listed message {ids} as never printed"),
        ),
        Some(_) => b.serial(
            serial,
            SerialOutcome::Invalidated,
            format!(
                "queued as message {ids}, not listed by the printer's buffer clear: it may have printed"
            ),
        ),
        None => b.serial(
            serial,
            SerialOutcome::Invalidated,
            format!("queued as message {ids} to a printer that could not be asked"),
        ),
    }
}

fn settle_encoded(
    b: &mut Builder,
    serial: &str,
    good: Option<&RecoveryItem>,
    reject: Option<&RecoveryItem>,
    plc: &PlcView,
) -> Result<(), Inconsistency> {
    let Some(item) = good else {
        let detail = match reject {
            Some(item) => format!(
                "printed, never verified good (item {} rejected: {})",
                item.seq,
                item.reason.as_deref().unwrap_or("no reason recorded")
            ),
            None => "printed, never verified good".to_string(),
        };
        b.serial(serial, SerialOutcome::Scrapped, detail);
        return Ok(());
    };
    let seq = item.seq;
    let (fate, recorded) = match item.fate.as_deref() {
        Some(text) => (PlcFate::Final(parse_fate(seq, text)?), true),
        None => (plc.fate_of(seq), false),
    };
    match fate {
        PlcFate::Final(fate) => {
            if !recorded {
                b.fate(seq, fate, Some(serial));
            }
            if fate == ItemFate::ExitedGood {
                b.serial(
                    serial,
                    SerialOutcome::Commissioned,
                    format!("item {seq} verified good and left through the good exit"),
                );
            } else {
                b.serial(
                    serial,
                    SerialOutcome::Scrapped,
                    format!("item {seq} was rejected at the gate ({})", fate.as_str()),
                );
            }
        }
        PlcFate::NotFinal if b.hand_over(seq, Some(serial), plc) => {}
        PlcFate::NotFinal => {
            b.serial(
                serial,
                SerialOutcome::Scrapped,
                format!("item {seq} had no final fate: its verdict is overwritten with REJECT"),
            );
            b.reject(seq);
            b.plan.alerts.push(format!(
                "item {seq} (serial {serial}) had no final fate at recovery and is counted as rejected: if it is not in the reject bin, find it and remove it"
            ));
        }
        PlcFate::Lost => {
            b.serial(
                serial,
                SerialOutcome::Invalidated,
                format!(
                    "item {seq} passed the gate but the PLC no longer holds its fate: it cannot be established"
                ),
            );
            b.plan.alerts.push(format!(
                "the fate of item {seq} (serial {serial}) is lost: its serial is invalidated; if it is in the good exit, remove it"
            ));
        }
    }
    Ok(())
}

fn check_commissioned(
    b: &mut Builder,
    item: &RecoveryItem,
    plc: &PlcView,
) -> Result<(), Inconsistency> {
    let serial = item.serial.as_deref().unwrap_or("?");
    match plc.fate_of(item.seq) {
        PlcFate::Final(ItemFate::ExitedGood) => {
            b.fate(item.seq, ItemFate::ExitedGood, item.serial.as_deref());
            Ok(())
        }
        PlcFate::Lost => Ok(()),
        PlcFate::Final(fate) => Err(Inconsistency(format!(
            "serial {serial} is Commissioned, but the PLC reports its item {} as {}",
            item.seq,
            fate.as_str()
        ))),
        PlcFate::NotFinal => Err(Inconsistency(format!(
            "serial {serial} is Commissioned, but its item {} has not passed the gate (a serial is commissioned only after its item left through the good exit)",
            item.seq
        ))),
    }
}

/// A GOOD item whose serial is already scrapped or invalidated, with no recorded fate.
fn settle_fate_of_used_up(b: &mut Builder, item: &RecoveryItem, plc: &PlcView) {
    match plc.fate_of(item.seq) {
        PlcFate::Final(fate) => {
            b.fate(item.seq, fate, item.serial.as_deref());
            if fate == ItemFate::ExitedGood {
                b.plan.alerts.push(format!(
                    "item {} left through the good exit though its serial {} is not commissioned: retrieve it from the good exit",
                    item.seq,
                    item.serial.as_deref().unwrap_or("?")
                ));
            }
        }
        PlcFate::NotFinal => {
            // Its serial is settled already: leaving through the good exit would be
            // an escape, which the engine raises.
            if !b.hand_over(item.seq, None, plc) {
                b.reject(item.seq);
            }
        }
        PlcFate::Lost => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unsettled(serial: &str, state: SerialState, ids: &[u64]) -> UnsettledSerial {
        UnsettledSerial {
            serial: serial.to_string(),
            state,
            message_ids: ids.to_vec(),
        }
    }

    fn good(seq: u32, serial: &str, state: SerialState, fate: Option<&str>) -> RecoveryItem {
        RecoveryItem {
            seq,
            good: true,
            reason: None,
            serial: Some(serial.to_string()),
            serial_state: Some(state),
            fate: fate.map(str::to_string),
        }
    }

    fn reject(seq: u32, serial: &str) -> RecoveryItem {
        RecoveryItem {
            seq,
            good: false,
            reason: Some("grade".to_string()),
            serial: Some(serial.to_string()),
            serial_state: None,
            fate: None,
        }
    }

    fn plc(gate_count: u32, fates: &[(u32, ItemFate)]) -> PlcView {
        PlcView {
            fates: fates.iter().copied().collect(),
            gate_count,
            items_detected: gate_count.wrapping_add(50),
        }
    }

    #[test]
    fn awaited_fates_are_fenced_items_on_the_line_without_a_final_fate() {
        let view = PlcView {
            fates: [(12, ItemFate::ExitedGood)].into_iter().collect(),
            gate_count: 10,
            items_detected: 20,
        };
        // 5: lost (behind the gate); 12: final; 11 and 19: on the line; 20 and 900:
        // never detected by this PLC.
        assert_eq!(awaiting_fates(&view, &[5, 11, 12, 19, 20, 900]), [11, 19]);
        assert_eq!(awaiting_fates(&view, &[]), Vec::<u32>::new());
    }

    fn run(
        serials: &[UnsettledSerial],
        items: &[RecoveryItem],
        never: Option<&[u64]>,
        plc: &PlcView,
    ) -> Result<RecoveryPlan, Inconsistency> {
        run_acknowledged(serials, items, never, &[], plc)
    }

    fn run_acknowledged(
        serials: &[UnsettledSerial],
        items: &[RecoveryItem],
        never: Option<&[u64]>,
        acknowledged: &[u64],
        plc: &PlcView,
    ) -> Result<RecoveryPlan, Inconsistency> {
        let never: Option<BTreeSet<u64>> = never.map(|ids| ids.iter().copied().collect());
        let acknowledged: BTreeSet<u64> = acknowledged.iter().copied().collect();
        plan(RecoveryInput {
            serials,
            items,
            printer: "printer",
            never_printed: never.as_ref(),
            acknowledged: &acknowledged,
            plc,
        })
    }

    fn outcome_of(plan: &RecoveryPlan, serial: &str) -> Vec<&'static str> {
        plan.records
            .iter()
            .filter_map(|r| match r {
                LineRecord::Serial {
                    serial: s, outcome, ..
                } if s == serial => Some(match outcome {
                    SerialOutcome::Commissioned => "commissioned",
                    SerialOutcome::Scrapped => "scrapped",
                    SerialOutcome::Invalidated => "invalidated",
                    SerialOutcome::Encoded => "encoded",
                }),
                LineRecord::SerialReturned { serial: s, .. } if s == serial => Some("returned"),
                _ => None,
            })
            .collect()
    }

    fn fates_recorded(plan: &RecoveryPlan) -> Vec<(u32, String)> {
        plan.records
            .iter()
            .filter_map(|r| match r {
                LineRecord::ItemFate { seq, fate, .. } => Some((*seq, fate.clone())),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn allocated_never_queued_returns_as_never_sent() {
        let p = run(
            &[unsettled("A", SerialState::Allocated, &[])],
            &[],
            None,
            &plc(0, &[]),
        )
        .expect("plan");
        assert_eq!(outcome_of(&p, "A"), ["returned"]);
        match &p.records[0] {
            LineRecord::SerialReturned { printer, .. } => assert_eq!(printer, "none (never sent)"),
            other => panic!("{other:?}"),
        }
        assert_eq!(p.tally.returned, 1);
        assert!(p.reject_writes.is_empty());
    }

    #[test]
    fn allocated_queued_and_listed_returns_with_the_printers_proof() {
        let p = run(
            &[unsettled("A", SerialState::Allocated, &[7])],
            &[],
            Some(&[6, 7]),
            &plc(0, &[]),
        )
        .expect("plan");
        assert_eq!(outcome_of(&p, "A"), ["returned"]);
        match &p.records[0] {
            LineRecord::SerialReturned {
                printer, evidence, ..
            } => {
                assert_eq!(printer, "printer");
                assert!(evidence.contains("message 7"), "{evidence}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn allocated_queued_twice_needs_every_message_listed() {
        let serials = [unsettled("A", SerialState::Allocated, &[3, 9])];
        let p = run(&serials, &[], Some(&[9]), &plc(0, &[])).expect("plan");
        assert_eq!(outcome_of(&p, "A"), ["invalidated"]);
        let p = run(&serials, &[], Some(&[3, 9]), &plc(0, &[])).expect("plan");
        assert_eq!(outcome_of(&p, "A"), ["returned"]);
    }

    #[test]
    fn allocated_queued_but_not_listed_is_invalidated() {
        let p = run(
            &[unsettled("A", SerialState::Allocated, &[7])],
            &[],
            Some(&[8]),
            &plc(0, &[]),
        )
        .expect("plan");
        assert_eq!(outcome_of(&p, "A"), ["invalidated"]);
        assert_eq!(p.tally.invalidated, 1);
    }

    #[test]
    fn allocated_queued_to_a_printer_not_asked_is_invalidated() {
        let p = run(
            &[unsettled("A", SerialState::Allocated, &[7])],
            &[],
            None,
            &plc(0, &[]),
        )
        .expect("plan");
        assert_eq!(outcome_of(&p, "A"), ["invalidated"]);
    }

    #[test]
    fn allocated_acknowledged_by_the_printer_after_the_restart_is_invalidated_as_printed() {
        let p = run_acknowledged(
            &[
                unsettled("A", SerialState::Allocated, &[7]),
                unsettled("B", SerialState::Allocated, &[8]),
            ],
            &[],
            Some(&[8]),
            &[7, 30],
            &plc(0, &[]),
        )
        .expect("plan");
        assert_eq!(outcome_of(&p, "A"), ["invalidated"]);
        match &p.records[0] {
            LineRecord::Serial { detail, .. } => {
                assert!(detail.contains("acknowledged message 7"), "{detail}")
            }
            other => panic!("{other:?}"),
        }
        // An acknowledgement of another message changes nothing for B.
        assert_eq!(outcome_of(&p, "B"), ["returned"]);
        assert_eq!(p.tally.invalidated, 1);
        assert_eq!(p.tally.returned, 1);
        assert!(p.alerts.is_empty(), "{:?}", p.alerts);
    }

    #[test]
    fn a_printed_message_the_clear_also_lists_is_never_taken_for_unprinted() {
        let p = run_acknowledged(
            &[unsettled("A", SerialState::Allocated, &[7])],
            &[],
            Some(&[7]),
            &[7],
            &plc(0, &[]),
        )
        .expect("plan");
        assert_eq!(outcome_of(&p, "A"), ["invalidated"]);
        assert_eq!(p.alerts.len(), 1);
        assert!(p.alerts[0].contains("check the printer"), "{:?}", p.alerts);
    }

    #[test]
    fn an_acknowledged_message_of_an_encoded_serial_changes_nothing() {
        let serials = [unsettled("E", SerialState::Encoded, &[4])];
        let with = run_acknowledged(&serials, &[], Some(&[]), &[4], &plc(0, &[])).expect("plan");
        let without = run(&serials, &[], Some(&[]), &plc(0, &[])).expect("plan");
        assert_eq!(with, without);
        assert_eq!(outcome_of(&with, "E"), ["scrapped"]);
    }

    #[test]
    fn the_printers_evidence_alone_settles_every_allocated_serial() {
        let serials = [
            unsettled("N", SerialState::Allocated, &[]),
            unsettled("L", SerialState::Allocated, &[5]),
            unsettled("Q", SerialState::Allocated, &[6]),
            unsettled("P", SerialState::Allocated, &[9]),
            unsettled("E", SerialState::Encoded, &[2]),
        ];
        let items = [good(10, "E", SerialState::Encoded, None)];
        let never: BTreeSet<u64> = [5].into_iter().collect();
        let acknowledged: BTreeSet<u64> = [9].into_iter().collect();
        let unknown = PlcView::default();
        let views = [plc(0, &[]), plc(11, &[(10, ItemFate::ExitedGood)])];
        let input = RecoveryInput {
            serials: &serials,
            items: &items,
            printer: "printer",
            never_printed: Some(&never),
            acknowledged: &acknowledged,
            plc: &unknown,
        };
        let early = plan_allocated(input).expect("plan");
        assert_eq!(outcome_of(&early, "N"), ["returned"]);
        assert_eq!(outcome_of(&early, "L"), ["returned"]);
        assert_eq!(outcome_of(&early, "Q"), ["invalidated"]);
        assert_eq!(outcome_of(&early, "P"), ["invalidated"]);
        assert!(outcome_of(&early, "E").is_empty(), "the PLC decides it");
        assert!(early.reject_writes.is_empty());
        assert_eq!(early.tally.returned, 2);
        assert_eq!(early.tally.invalidated, 2);
        // Whatever the PLC says, the full plan decides the same for them.
        for view in &views {
            let full = plan(RecoveryInput { plc: view, ..input }).expect("plan");
            for serial in ["N", "L", "Q", "P"] {
                assert_eq!(
                    outcome_of(&full, serial),
                    outcome_of(&early, serial),
                    "{serial}"
                );
            }
        }
    }

    #[test]
    fn the_printers_evidence_alone_still_refuses_an_allocated_serial_with_a_good_item() {
        let serials = [unsettled("A", SerialState::Allocated, &[7])];
        let items = [good(5, "A", SerialState::Allocated, None)];
        let err = plan_allocated(RecoveryInput {
            serials: &serials,
            items: &items,
            printer: "printer",
            never_printed: Some(&BTreeSet::new()),
            acknowledged: &BTreeSet::new(),
            plc: &PlcView::default(),
        })
        .expect_err("inconsistent");
        assert!(err.to_string().contains("serial A"), "{err}");
    }

    #[test]
    fn tallies_of_the_parts_of_a_recovery_add_up() {
        let mut total = RecoveryTally {
            returned: 2,
            invalidated: 1,
            previous_run_acks: 3,
            ..RecoveryTally::default()
        };
        total.add(&RecoveryTally {
            returned: 1,
            commissioned: 4,
            scrapped: 5,
            verdicts_overwritten: 6,
            fates_recorded: 7,
            invalidated: 8,
            handed_over: 2,
            previous_run_acks: 9,
        });
        assert_eq!(
            total,
            RecoveryTally {
                returned: 3,
                invalidated: 9,
                commissioned: 4,
                scrapped: 5,
                verdicts_overwritten: 6,
                fates_recorded: 7,
                handed_over: 2,
                previous_run_acks: 12,
            }
        );
    }

    /// A serial returned with the printer's proof and allocated to the batch again
    /// keeps its old message in the store: the store leaves out every message a
    /// return's proof names, so it must read the proofs both the engine and recovery
    /// write.
    #[test]
    fn the_store_reads_the_message_ids_of_every_printer_proof_written() {
        use crate::line::{MessageId, ReturnProof, Transition};
        use crate::store::recovery_reads::messages_proven_unprinted;

        let engine = crate::station::records::to_record(
            &Transition::SerialReturned {
                serial: "S".to_string(),
                proof: ReturnProof::PrinterReportedUnprinted {
                    message_id: MessageId(4711),
                },
            },
            "printer",
        );
        match engine {
            LineRecord::SerialReturned { evidence, .. } => {
                assert_eq!(messages_proven_unprinted(&evidence), [4711], "{evidence}")
            }
            other => panic!("{other:?}"),
        }
        let p = run(
            &[unsettled("A", SerialState::Allocated, &[3, 12])],
            &[],
            Some(&[3, 12]),
            &plc(0, &[]),
        )
        .expect("plan");
        match &p.records[0] {
            LineRecord::SerialReturned { evidence, .. } => {
                assert_eq!(messages_proven_unprinted(evidence), [3, 12], "{evidence}")
            }
            other => panic!("{other:?}"),
        }
        // A return as never sent names no message.
        let p = run(
            &[unsettled("N", SerialState::Allocated, &[])],
            &[],
            None,
            &plc(0, &[]),
        )
        .expect("plan");
        match &p.records[0] {
            LineRecord::SerialReturned { evidence, .. } => {
                assert!(messages_proven_unprinted(evidence).is_empty(), "{evidence}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn allocated_with_a_good_verdict_is_an_inconsistency() {
        let err = run(
            &[unsettled("A", SerialState::Allocated, &[7])],
            &[good(5, "A", SerialState::Allocated, None)],
            Some(&[]),
            &plc(0, &[]),
        )
        .expect_err("inconsistent");
        assert!(err.to_string().contains("serial A"), "{err}");
    }

    #[test]
    fn encoded_good_and_exited_good_at_the_plc_is_commissioned_with_its_fate() {
        let p = run(
            &[unsettled("E", SerialState::Encoded, &[1])],
            &[good(10, "E", SerialState::Encoded, None)],
            Some(&[]),
            &plc(11, &[(10, ItemFate::ExitedGood)]),
        )
        .expect("plan");
        assert_eq!(outcome_of(&p, "E"), ["commissioned"]);
        assert_eq!(fates_recorded(&p), [(10, "exited_good".to_string())]);
        // The fate is recorded before the serial changes.
        assert!(matches!(p.records[0], LineRecord::ItemFate { .. }));
        assert!(p.reject_writes.is_empty());
        assert_eq!(p.tally.commissioned, 1);
    }

    #[test]
    fn encoded_good_with_a_recorded_exit_is_commissioned_without_asking() {
        let p = run(
            &[unsettled("E", SerialState::Encoded, &[1])],
            &[good(10, "E", SerialState::Encoded, Some("exited_good"))],
            Some(&[]),
            // The PLC knows nothing of it any more: the recorded fate decides.
            &plc(0, &[]),
        )
        .expect("plan");
        assert_eq!(outcome_of(&p, "E"), ["commissioned"]);
        assert!(fates_recorded(&p).is_empty());
    }

    #[test]
    fn encoded_good_but_rejected_at_the_plc_is_scrapped() {
        for fate in [ItemFate::RejectedConfirmed, ItemFate::RejectedUnconfirmed] {
            let p = run(
                &[unsettled("E", SerialState::Encoded, &[1])],
                &[good(10, "E", SerialState::Encoded, None)],
                Some(&[]),
                &plc(20, &[(10, fate)]),
            )
            .expect("plan");
            assert_eq!(outcome_of(&p, "E"), ["scrapped"]);
            assert_eq!(fates_recorded(&p), [(10, fate.as_str().to_string())]);
            assert!(p.reject_writes.is_empty());
            assert_eq!(
                p.alerts.len(),
                usize::from(fate == ItemFate::RejectedUnconfirmed)
            );
        }
        let p = run(
            &[unsettled("E", SerialState::Encoded, &[1])],
            &[good(
                10,
                "E",
                SerialState::Encoded,
                Some("rejected_confirmed"),
            )],
            Some(&[]),
            &plc(0, &[]),
        )
        .expect("plan");
        assert_eq!(outcome_of(&p, "E"), ["scrapped"]);
    }

    #[test]
    fn encoded_good_not_yet_at_the_gate_gets_reject_and_is_scrapped() {
        // Gate count 10: item 10 and later have no final fate (none in the ring).
        let p = run(
            &[unsettled("E", SerialState::Encoded, &[1])],
            &[good(10, "E", SerialState::Encoded, None)],
            Some(&[]),
            &plc(10, &[(11, ItemFate::ExitedGood)]),
        )
        .expect("plan");
        assert_eq!(outcome_of(&p, "E"), ["scrapped"]);
        assert_eq!(p.reject_writes, [10]);
        assert_eq!(p.tally.verdicts_overwritten, 1);
        assert!(fates_recorded(&p).is_empty());
    }

    fn run_handing_over(
        serials: &[UnsettledSerial],
        items: &[RecoveryItem],
        plc: &PlcView,
    ) -> RecoveryPlan {
        let never = BTreeSet::new();
        plan_handing_over(RecoveryInput {
            serials,
            items,
            printer: "printer",
            never_printed: Some(&never),
            acknowledged: &BTreeSet::new(),
            plc,
        })
        .expect("plan")
    }

    #[test]
    fn handing_over_leaves_items_on_the_line_to_the_engine_with_their_reject_written() {
        let view = PlcView {
            fates: [(11, ItemFate::ExitedGood)].into_iter().collect(),
            gate_count: 10,
            items_detected: 20,
        };
        let p = run_handing_over(
            &[
                unsettled("E", SerialState::Encoded, &[1]),
                unsettled("F", SerialState::Encoded, &[2]),
                unsettled("G", SerialState::Encoded, &[3]),
            ],
            &[
                good(10, "E", SerialState::Encoded, None),
                good(11, "F", SerialState::Encoded, None),
                // Never detected by this PLC (its counters started again): not on the
                // line, so counted rejected as without handing over.
                good(25, "G", SerialState::Encoded, None),
                // A GOOD item whose serial was already scrapped: handed over without
                // a serial, so that leaving through the good exit is an escape.
                good(12, "S", SerialState::LabelScrapped, None),
            ],
            &view,
        );
        assert!(outcome_of(&p, "E").is_empty(), "E stays Encoded");
        assert_eq!(outcome_of(&p, "F"), ["commissioned"]);
        assert_eq!(outcome_of(&p, "G"), ["scrapped"]);
        assert_eq!(
            p.in_flight,
            [
                RecoveredItem {
                    seq: Seq(10),
                    serial: Some("E".to_string())
                },
                RecoveredItem {
                    seq: Seq(12),
                    serial: None
                },
            ]
        );
        let mut writes = p.reject_writes.clone();
        writes.sort_unstable();
        assert_eq!(writes, [10, 12, 25]);
        assert_eq!(p.tally.handed_over, 2);
        // Without handing over, the same records count E as rejected.
        let counted = run(
            &[unsettled("E", SerialState::Encoded, &[1])],
            &[good(10, "E", SerialState::Encoded, None)],
            Some(&[]),
            &view,
        )
        .expect("plan");
        assert_eq!(outcome_of(&counted, "E"), ["scrapped"]);
        assert!(counted.in_flight.is_empty());
    }

    #[test]
    fn encoded_good_whose_fate_was_overwritten_is_invalidated_without_a_write() {
        let p = run(
            &[unsettled("E", SerialState::Encoded, &[1])],
            &[good(10, "E", SerialState::Encoded, None)],
            Some(&[]),
            &plc(400, &[]),
        )
        .expect("plan");
        assert_eq!(outcome_of(&p, "E"), ["invalidated"]);
        assert!(p.reject_writes.is_empty());
        assert_eq!(p.alerts.len(), 1);
    }

    #[test]
    fn encoded_without_a_good_verdict_is_scrapped() {
        let p = run(
            &[
                unsettled("R", SerialState::Encoded, &[1]),
                unsettled("N", SerialState::Encoded, &[2]),
            ],
            &[reject(4, "R")],
            Some(&[]),
            &plc(0, &[(4, ItemFate::ExitedGood)]),
        )
        .expect("plan");
        assert_eq!(outcome_of(&p, "R"), ["scrapped"]);
        assert_eq!(outcome_of(&p, "N"), ["scrapped"]);
        assert!(p.reject_writes.is_empty());
        match &p.records[0] {
            LineRecord::Serial { detail, .. } => assert!(detail.contains("item 4"), "{detail}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn commissioned_without_a_fate_is_checked_against_the_plc() {
        let items = [good(10, "C", SerialState::Commissioned, None)];
        let p = run(
            &[],
            &items,
            Some(&[]),
            &plc(11, &[(10, ItemFate::ExitedGood)]),
        )
        .expect("exited good: consistent");
        assert_eq!(fates_recorded(&p), [(10, "exited_good".to_string())]);
        assert!(p.reject_writes.is_empty());
        let p = run(&[], &items, Some(&[]), &plc(400, &[])).expect("lost: cannot check");
        assert!(p.records.is_empty());
        let err = run(&[], &items, Some(&[]), &plc(5, &[])).expect_err("not at the gate");
        assert!(err.to_string().contains("has not passed the gate"), "{err}");
        let err = run(
            &[],
            &items,
            Some(&[]),
            &plc(11, &[(10, ItemFate::RejectedConfirmed)]),
        )
        .expect_err("rejected");
        assert!(err.to_string().contains("rejected_confirmed"), "{err}");
    }

    #[test]
    fn scrapped_good_items_without_a_fate_get_reject_again() {
        for state in [SerialState::LabelScrapped, SerialState::SnInvalid] {
            let items = [good(10, "S", state, None)];
            let p = run(&[], &items, Some(&[]), &plc(3, &[])).expect("plan");
            assert!(p.records.is_empty());
            assert_eq!(p.reject_writes, [10]);
            let p = run(
                &[],
                &items,
                Some(&[]),
                &plc(11, &[(10, ItemFate::ExitedGood)]),
            )
            .expect("plan");
            assert_eq!(fates_recorded(&p), [(10, "exited_good".to_string())]);
            assert_eq!(p.alerts.len(), 1, "escaped item is reported");
            let p = run(
                &[],
                &items,
                Some(&[]),
                &plc(11, &[(10, ItemFate::RejectedConfirmed)]),
            )
            .expect("plan");
            assert_eq!(fates_recorded(&p), [(10, "rejected_confirmed".to_string())]);
            assert!(p.alerts.is_empty());
        }
    }

    #[test]
    fn an_unknown_recorded_fate_is_an_inconsistency() {
        let err = run(
            &[unsettled("E", SerialState::Encoded, &[1])],
            &[good(10, "E", SerialState::Encoded, Some("vanished"))],
            Some(&[]),
            &plc(0, &[]),
        )
        .expect_err("unknown fate");
        assert!(err.to_string().contains("vanished"), "{err}");
    }

    #[test]
    fn plc_fates_use_wrapping_seqs() {
        let view = plc(5, &[(u32::MAX - 1, ItemFate::ExitedGood)]);
        assert_eq!(
            view.fate_of(u32::MAX - 1),
            PlcFate::Final(ItemFate::ExitedGood)
        );
        assert_eq!(view.fate_of(u32::MAX), PlcFate::Lost);
        assert_eq!(view.fate_of(4), PlcFate::Lost);
        assert_eq!(view.fate_of(5), PlcFate::NotFinal);
        assert_eq!(view.fate_of(6), PlcFate::NotFinal);
    }

    #[test]
    fn fate_windows_cover_every_seq_in_reads_of_at_most_256() {
        assert_eq!(fate_windows(&[]), []);
        assert_eq!(fate_windows(&[5]), [(5, 1)]);
        assert_eq!(fate_windows(&[5, 6, 260]), [(5, 256)]);
        assert_eq!(fate_windows(&[5, 261]), [(5, 1), (261, 1)]);
        assert_eq!(
            fate_windows(&[0, 1, u32::MAX - 1]),
            [(0, 2), (u32::MAX - 1, 1)]
        );
    }

    #[test]
    fn seqs_to_ask_are_good_items_without_a_recorded_fate() {
        let items = [
            good(3, "A", SerialState::Encoded, None),
            good(1, "B", SerialState::Encoded, Some("exited_good")),
            reject(2, "C"),
            good(0, "D", SerialState::Commissioned, None),
        ];
        assert_eq!(seqs_to_ask(&items), [0, 3]);
    }

    mod properties {
        use super::*;
        use crate::store::state::can_transition;
        use proptest::prelude::*;

        /// What the PLC knows about a generated item.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        enum Plc {
            Fate(ItemFate),
            NotFinal,
            Lost,
        }

        #[derive(Debug, Clone)]
        struct Case {
            state: SerialState,
            listed: Vec<bool>,
            /// The printer reported the last message printed after the restart (it may
            /// also be listed: a printer contradicting itself).
            acked: bool,
            item: Option<(bool, Option<ItemFate>, Plc)>,
        }

        fn fate() -> impl Strategy<Value = ItemFate> {
            prop_oneof![
                Just(ItemFate::ExitedGood),
                Just(ItemFate::RejectedConfirmed),
                Just(ItemFate::RejectedUnconfirmed),
            ]
        }

        fn plc_fate() -> impl Strategy<Value = Plc> {
            prop_oneof![
                fate().prop_map(Plc::Fate),
                Just(Plc::NotFinal),
                Just(Plc::Lost)
            ]
        }

        fn case() -> impl Strategy<Value = Case> {
            (
                prop_oneof![
                    Just(SerialState::Allocated),
                    Just(SerialState::Encoded),
                    Just(SerialState::Commissioned),
                    Just(SerialState::LabelScrapped),
                    Just(SerialState::SnInvalid),
                ],
                prop::collection::vec(any::<bool>(), 0..3),
                prop::bool::weighted(0.2),
                prop::option::of((any::<bool>(), prop::option::of(fate()), plc_fate())),
            )
                .prop_map(|(state, listed, acked, item)| Case {
                    state,
                    listed,
                    acked,
                    item,
                })
        }

        /// Seqs below `GATE` whose fate is not in the ring are lost; at or above, not final.
        const GATE: u32 = 100_000;

        struct World {
            serials: Vec<UnsettledSerial>,
            items: Vec<RecoveryItem>,
            never: Option<BTreeSet<u64>>,
            acked: BTreeSet<u64>,
            plc: PlcView,
            states: BTreeMap<String, SerialState>,
            /// Cases that must make the plan fail.
            inconsistent: bool,
        }

        /// Rewrites the cases that contradict themselves into consistent ones.
        fn sanitize(cases: &mut [Case]) {
            for case in cases {
                let Some((good, recorded, plc)) = case.item.as_mut() else {
                    continue;
                };
                if !*good {
                    continue;
                }
                match case.state {
                    SerialState::Allocated => *good = false,
                    SerialState::Commissioned
                        if recorded.is_none()
                            && !matches!(*plc, Plc::Lost | Plc::Fate(ItemFate::ExitedGood)) =>
                    {
                        *plc = Plc::Fate(ItemFate::ExitedGood);
                    }
                    _ => {}
                }
            }
        }

        fn world(cases: &[Case], printer_asked: bool) -> World {
            let mut w = World {
                serials: Vec::new(),
                items: Vec::new(),
                never: printer_asked.then(BTreeSet::new),
                acked: BTreeSet::new(),
                plc: PlcView {
                    fates: BTreeMap::new(),
                    gate_count: GATE,
                    items_detected: GATE + 1_000,
                },
                states: BTreeMap::new(),
                inconsistent: false,
            };
            let mut next_message = 1u64;
            for (i, case) in cases.iter().enumerate() {
                let serial = format!("S{i}");
                let mut messages = Vec::new();
                for listed in &case.listed {
                    messages.push(next_message);
                    if *listed && let Some(never) = w.never.as_mut() {
                        never.insert(next_message);
                    }
                    next_message += 1;
                }
                if case.acked
                    && let Some(last) = messages.last()
                {
                    w.acked.insert(*last);
                }
                w.states.insert(serial.clone(), case.state);
                if matches!(case.state, SerialState::Allocated | SerialState::Encoded) {
                    w.serials.push(UnsettledSerial {
                        serial: serial.clone(),
                        state: case.state,
                        message_ids: messages,
                    });
                }
                let Some((is_good, recorded, plc)) = case.item else {
                    continue;
                };
                let i = i as u32;
                let seq = match plc {
                    Plc::Lost => i,
                    _ => GATE + i,
                };
                if let Plc::Fate(fate) = plc {
                    w.plc.fates.insert(seq, fate);
                }
                if is_good {
                    match (case.state, recorded, plc) {
                        (SerialState::Allocated, _, _) => w.inconsistent = true,
                        (SerialState::Commissioned, None, Plc::NotFinal) => w.inconsistent = true,
                        (SerialState::Commissioned, None, Plc::Fate(f))
                            if f != ItemFate::ExitedGood =>
                        {
                            w.inconsistent = true
                        }
                        _ => {}
                    }
                }
                w.items.push(RecoveryItem {
                    seq,
                    good: is_good,
                    reason: (!is_good).then(|| "no_read".to_string()),
                    serial: Some(serial),
                    serial_state: is_good.then_some(case.state),
                    fate: recorded.map(|f| f.as_str().to_string()),
                });
            }
            w
        }

        fn run_world(w: &World, hand_over: bool) -> Result<RecoveryPlan, Inconsistency> {
            let input = RecoveryInput {
                serials: &w.serials,
                items: &w.items,
                printer: "printer",
                never_printed: w.never.as_ref(),
                acknowledged: &w.acked,
                plc: &w.plc,
            };
            if hand_over {
                plan_handing_over(input)
            } else {
                plan(input)
            }
        }

        /// The final fate of a GOOD item as recorded or read (None: not final or lost).
        fn known_fate(w: &World, item: &RecoveryItem) -> Option<ItemFate> {
            match item.fate.as_deref() {
                Some(text) => parse_fate(item.seq, text).ok(),
                None => w.plc.fates.get(&item.seq).copied(),
            }
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2000))]

            #[test]
            fn every_unsettled_serial_is_settled_once_and_legally(
                mut cases in prop::collection::vec(case(), 0..24),
                printer_asked in any::<bool>(),
                sane in prop::bool::weighted(0.8),
                hand_over in any::<bool>(),
            ) {
                if sane {
                    sanitize(&mut cases);
                }
                let w = world(&cases, printer_asked);
                let result = run_world(&w, hand_over);
                prop_assert_eq!(result.is_err(), w.inconsistent, "{:?}", result);
                let Ok(p) = result else { return Ok(()); };

                // Every Allocated/Encoded serial gets exactly one outcome, legally.
                let mut states = w.states.clone();
                let mut settled = BTreeMap::<String, u32>::new();
                for record in &p.records {
                    match record {
                        LineRecord::Serial { serial, outcome, .. } => {
                            let from = states[serial];
                            let to = match outcome {
                                SerialOutcome::Commissioned => SerialState::Commissioned,
                                SerialOutcome::Scrapped => SerialState::LabelScrapped,
                                SerialOutcome::Invalidated => SerialState::SnInvalid,
                                SerialOutcome::Encoded => SerialState::Encoded,
                            };
                            prop_assert!(can_transition(from, to), "{} {:?} -> {:?}", serial, from, to);
                            states.insert(serial.clone(), to);
                            *settled.entry(serial.clone()).or_default() += 1;
                        }
                        LineRecord::SerialReturned { serial, .. } => {
                            prop_assert_eq!(states[serial], SerialState::Allocated);
                            states.insert(serial.clone(), SerialState::Unallocated);
                            *settled.entry(serial.clone()).or_default() += 1;
                        }
                        LineRecord::ItemFate { .. } => {}
                        other => prop_assert!(false, "unexpected record {:?}", other),
                    }
                }
                // ... but for the serials of items handed over, which stay Encoded.
                let handed: BTreeSet<&str> = p.in_flight.iter().filter_map(|i| i.serial.as_deref()).collect();
                prop_assert!(hand_over || p.in_flight.is_empty());
                prop_assert_eq!(p.tally.handed_over, p.in_flight.len() as u64);
                for unsettled in &w.serials {
                    let expected = if handed.contains(unsettled.serial.as_str()) { None } else { Some(1) };
                    prop_assert_eq!(settled.get(&unsettled.serial).copied(), expected, "{}", unsettled.serial);
                }
                prop_assert_eq!(settled.len() + handed.len(), w.serials.len());
                for item in &p.in_flight {
                    prop_assert_eq!(w.plc.fate_of(item.seq.0), PlcFate::NotFinal);
                    prop_assert!(p.reject_writes.contains(&item.seq.0), "handed over without its REJECT");
                }

                for unsettled in &w.serials {
                    let serial = &unsettled.serial;
                    let good = w.items.iter().find(|i| i.good && i.serial.as_ref() == Some(serial));
                    let after = states[serial];
                    // Returned only with proof, and never once the printer reported a
                    // message of it printed.
                    let proven = unsettled.message_ids.is_empty()
                        || (w.never.as_ref().is_some_and(|n| unsettled.message_ids.iter().all(|id| n.contains(id)))
                            && !unsettled.message_ids.iter().any(|id| w.acked.contains(id)));
                    if after == SerialState::Unallocated {
                        prop_assert!(proven, "{} returned without proof", serial);
                    }
                    if unsettled.state == SerialState::Allocated {
                        prop_assert_eq!(after == SerialState::Unallocated, proven);
                        prop_assert_ne!(after, SerialState::Commissioned);
                    }
                    // Commissioned exactly when a GOOD item is known to have exited good.
                    let exited = good.is_some_and(|g| known_fate(&w, g) == Some(ItemFate::ExitedGood));
                    prop_assert_eq!(after == SerialState::Commissioned, exited, "{}", serial);
                    // An undecided GOOD item is fenced with REJECT and its serial scrapped,
                    // or, handing over, left Encoded for the engine.
                    if let Some(g) = good
                        && g.fate.is_none()
                        && w.plc.fate_of(g.seq) == PlcFate::NotFinal
                    {
                        prop_assert!(p.reject_writes.contains(&g.seq));
                        if hand_over && w.plc.has_detected(g.seq) {
                            prop_assert_eq!(after, SerialState::Encoded);
                            prop_assert!(p.in_flight.iter().any(|i| i.seq.0 == g.seq && i.serial.as_deref() == Some(serial.as_str())));
                        } else {
                            prop_assert_eq!(after, SerialState::LabelScrapped);
                        }
                    }
                }
                // REJECT goes only to items whose fate is not final, never twice.
                let unique: BTreeSet<u32> = p.reject_writes.iter().copied().collect();
                prop_assert_eq!(unique.len(), p.reject_writes.len());
                for seq in &p.reject_writes {
                    prop_assert_eq!(w.plc.fate_of(*seq), PlcFate::NotFinal);
                    let item = w.items.iter().find(|i| i.seq == *seq);
                    prop_assert!(item.is_some_and(|i| i.good && i.fate.is_none()));
                }
                // The tally matches the records.
                let count = |want: SerialState| states.iter().filter(|(s, st)| **st == want && w.states[*s] != want).count() as u64;
                prop_assert_eq!(p.tally.commissioned, count(SerialState::Commissioned));
                prop_assert_eq!(p.tally.scrapped, count(SerialState::LabelScrapped));
                prop_assert_eq!(p.tally.invalidated, count(SerialState::SnInvalid));
                prop_assert_eq!(p.tally.returned, count(SerialState::Unallocated));
                prop_assert_eq!(p.tally.verdicts_overwritten, p.reject_writes.len() as u64);
            }

            #[test]
            fn running_recovery_again_changes_nothing_but_repeats_the_rejects(
                mut cases in prop::collection::vec(case(), 0..24),
                printer_asked in any::<bool>(),
            ) {
                sanitize(&mut cases);
                let w = world(&cases, printer_asked);
                prop_assert!(!w.inconsistent);
                let first = run_world(&w, false).expect("consistent cases plan");
                // The store after the first run: states moved, fates recorded.
                let mut states = w.states.clone();
                let mut fates = BTreeMap::<u32, String>::new();
                for record in &first.records {
                    match record {
                        LineRecord::Serial { serial, outcome, .. } => {
                            let to = match outcome {
                                SerialOutcome::Commissioned => SerialState::Commissioned,
                                SerialOutcome::Scrapped => SerialState::LabelScrapped,
                                SerialOutcome::Invalidated => SerialState::SnInvalid,
                                SerialOutcome::Encoded => SerialState::Encoded,
                            };
                            states.insert(serial.clone(), to);
                        }
                        LineRecord::SerialReturned { serial, .. } => {
                            states.insert(serial.clone(), SerialState::Unallocated);
                        }
                        LineRecord::ItemFate { seq, fate, .. } => {
                            fates.insert(*seq, fate.clone());
                        }
                        _ => {}
                    }
                }
                let items: Vec<RecoveryItem> = w
                    .items
                    .iter()
                    .map(|item| {
                        let mut item = item.clone();
                        if item.good {
                            item.serial_state = item.serial.as_ref().map(|s| states[s]);
                        }
                        if item.fate.is_none() {
                            item.fate = fates.get(&item.seq).cloned();
                        }
                        item
                    })
                    .collect();
                let second = plan(RecoveryInput {
                    serials: &[],
                    items: &items,
                    printer: "printer",
                    never_printed: Some(&BTreeSet::new()),
                    acknowledged: &BTreeSet::new(),
                    plc: &w.plc,
                })
                .expect("a settled batch is consistent");
                prop_assert!(second.records.is_empty(), "{:?}", second.records);
                let mut again = second.reject_writes.clone();
                again.sort_unstable();
                let mut before = first.reject_writes.clone();
                before.sort_unstable();
                prop_assert_eq!(again, before);
            }
        }
    }
}
