//! Item tracking: every item the PLC reported at the camera, by seq, from the camera
//! trigger until its fate at the gate. Items are held in seq order (the conveyor is
//! a FIFO), so lookup by seq is an index, the decision point is checked from the
//! oldest undecided item, and a fate for a later seq resolves any older item whose
//! fate never came.

use std::collections::VecDeque;

use super::config::DecisionWindow;
use super::types::{Grade, RejectReason, Seq, Verdict};

/// The largest forward jump of the PLC's item count the tracker fills with
/// placeholder items; a bigger jump is a device inconsistency.
pub(super) const MAX_SEQ_GAP: u32 = 4096;

/// The verdict written for an item and the serial known to be on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ItemDecision {
    pub verdict: Verdict,
    pub reason: Option<RejectReason>,
    /// GOOD: the verified serial. REJECT: a candidate serial read on the item, if any.
    pub serial: Option<String>,
    pub grade: Option<Grade>,
}

/// One item between the camera trigger and its fate.
#[derive(Debug, Clone)]
pub(super) struct TrackedItem {
    pub seq: Seq,
    base_encoder: Option<u32>,
    base_ms: u64,
    pub decision: Option<ItemDecision>,
    /// Handed over by start-up recovery (it passed the camera in the previous run).
    pub recovered: bool,
}

impl TrackedItem {
    /// The encoder count at the item's camera trigger, when known.
    pub(super) fn trigger_encoder(&self) -> Option<u32> {
        self.base_encoder
    }
}

/// How a seq relates to the tracked window.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Arrival {
    /// Tracked (new or already known).
    Tracked,
    /// Older than every tracked item: already resolved.
    Stale,
    /// Too far ahead to be believable.
    TooFarAhead,
}

/// Items whose fate is settled by one fate report.
#[derive(Debug)]
pub(super) struct FateResolution {
    /// Older items whose fate never came (the PLC lost them).
    pub missing: Vec<TrackedItem>,
    /// The item the fate is for, if it was tracked.
    pub item: Option<TrackedItem>,
    /// The fate is for an item already resolved.
    pub stale: bool,
    /// The fate is for an item that passed the camera before this run of the batch
    /// began (before the start, or before the station took the batch over after a
    /// restart): the previous run, or start-up recovery, settled it.
    pub before_run: bool,
}

/// The current position of the line, as the engine knows it.
#[derive(Debug, Clone, Copy)]
pub(super) struct LineNow {
    pub encoder: Option<u32>,
    pub ms: u64,
}

/// The items between camera and gate, in seq order.
#[derive(Debug, Default)]
pub(super) struct ItemTracker {
    /// The first item of this run (the first one reported at the camera).
    run_start: Option<Seq>,
    front: Option<Seq>,
    items: VecDeque<TrackedItem>,
    /// Items of the previous run that start-up recovery handed over without a final
    /// fate (ARCHITECTURE.md §6), in seq order: all before this run's first item.
    recovered: VecDeque<TrackedItem>,
    /// Seqs of handed-over items given up by an abandon: a fate for one is late.
    abandoned_recovered: Vec<Seq>,
    undecided_cursor: Option<Seq>,
    good_awaiting_fate: usize,
    bound_awaiting_fate: usize,
}

impl ItemTracker {
    pub(super) fn len(&self) -> usize {
        self.items.len() + self.recovered.len()
    }

    /// Handed-over items still waiting for their fate.
    pub(super) fn recovered_awaiting_fate(&self) -> usize {
        self.recovered.len()
    }

    /// Takes out every handed-over item that is not before `seq`, the seq the PLC
    /// gives an item arriving at the camera now. They all passed the camera before
    /// the take-over, so such items can only mean that the PLC's item count started
    /// again: their fates will never come under their seqs (and a new item with the
    /// same seq must not settle them).
    pub(super) fn take_recovered_not_before(&mut self, seq: Seq) -> Vec<TrackedItem> {
        if self
            .recovered
            .back()
            .is_none_or(|last| last.seq.is_before(seq))
        {
            return Vec::new();
        }
        let keep = self
            .recovered
            .iter()
            .take_while(|item| item.seq.is_before(seq))
            .count();
        let taken: Vec<TrackedItem> = self.recovered.drain(keep..).collect();
        for item in &taken {
            self.forget_counters(item);
        }
        taken
    }

    /// Takes over items of the previous run that have passed the camera, carry a
    /// decision and still wait for their fate (start-up recovery hands them over).
    /// Call it before this run's first item arrives.
    pub(super) fn adopt_recovered(&mut self, mut items: Vec<(Seq, ItemDecision)>) {
        items.sort_by(|a, b| {
            if a.0 == b.0 {
                std::cmp::Ordering::Equal
            } else if a.0.is_before(b.0) {
                std::cmp::Ordering::Less
            } else {
                std::cmp::Ordering::Greater
            }
        });
        for (seq, decision) in items {
            if decision.verdict == Verdict::Good {
                self.good_awaiting_fate += 1;
            }
            if decision.serial.is_some() {
                self.bound_awaiting_fate += 1;
            }
            self.recovered.push_back(TrackedItem {
                seq,
                base_encoder: None,
                base_ms: 0,
                decision: Some(decision),
                recovered: true,
            });
        }
    }

    /// Items with a GOOD verdict whose fate is not known yet.
    pub(super) fn good_awaiting_fate(&self) -> usize {
        self.good_awaiting_fate
    }

    /// Items carrying a known serial (GOOD or identified reject) awaiting their fate.
    pub(super) fn bound_awaiting_fate(&self) -> usize {
        self.bound_awaiting_fate
    }

    fn end(&self) -> Option<Seq> {
        self.front
            .map(|front| Seq(front.0.wrapping_add(self.items.len() as u32)))
    }

    fn index_of(&self, seq: Seq) -> Option<usize> {
        let front = self.front?;
        let index = seq.0.wrapping_sub(front.0) as usize;
        (index < self.items.len()).then_some(index)
    }

    /// Makes sure `seq` is tracked (with any skipped seqs before it as placeholders).
    /// `max_lead` bounds how far past the last tracked seq it may be.
    pub(super) fn arrive(
        &mut self,
        seq: Seq,
        now: LineNow,
        trigger_encoder: Option<u32>,
        max_lead: u32,
    ) -> Arrival {
        let Some(end) = self.end() else {
            self.run_start.get_or_insert(seq);
            self.front = Some(seq);
            self.push(seq, now, trigger_encoder);
            return Arrival::Tracked;
        };
        if self.index_of(seq).is_some() {
            return Arrival::Tracked;
        }
        if seq.is_before(end) {
            return Arrival::Stale;
        }
        let lead = seq.0.wrapping_sub(end.0);
        if lead >= max_lead {
            if !self.items.is_empty() {
                return Arrival::TooFarAhead;
            }
            // Nothing in flight: follow the PLC's count (items passed while we were away).
            self.front = Some(seq);
            self.push(seq, now, trigger_encoder);
            return Arrival::Tracked;
        }
        let mut next = end;
        while next != seq {
            self.push(next, now, None);
            next = next.next();
        }
        self.push(seq, now, trigger_encoder);
        Arrival::Tracked
    }

    fn push(&mut self, seq: Seq, now: LineNow, trigger_encoder: Option<u32>) {
        self.items.push_back(TrackedItem {
            seq,
            base_encoder: trigger_encoder.or(now.encoder),
            base_ms: now.ms,
            decision: None,
            recovered: false,
        });
    }

    pub(super) fn get(&self, seq: Seq) -> Option<&TrackedItem> {
        self.index_of(seq).map(|index| &self.items[index])
    }

    /// Records the decision for a tracked, undecided item.
    pub(super) fn decide(&mut self, seq: Seq, decision: ItemDecision) {
        let Some(index) = self.index_of(seq) else {
            return;
        };
        let item = &mut self.items[index];
        if item.decision.is_some() {
            return;
        }
        if decision.verdict == Verdict::Good {
            self.good_awaiting_fate += 1;
        }
        if decision.serial.is_some() {
            self.bound_awaiting_fate += 1;
        }
        item.decision = Some(decision);
    }

    /// The oldest undecided item whose decision point has passed, if any.
    pub(super) fn next_past_decision_point(
        &mut self,
        now: LineNow,
        window: DecisionWindow,
    ) -> Option<Seq> {
        let front = self.front?;
        let mut cursor = match self.undecided_cursor {
            Some(cursor) if !cursor.is_before(front) => cursor,
            _ => front,
        };
        let result = loop {
            let index = cursor.0.wrapping_sub(front.0) as usize;
            let Some(item) = self.items.get_mut(index) else {
                break None;
            };
            if item.decision.is_some() {
                cursor = cursor.next();
                continue;
            }
            let passed = match window {
                DecisionWindow::EncoderCounts(counts) => match (item.base_encoder, now.encoder) {
                    (Some(base), Some(encoder)) => {
                        let travelled = encoder.wrapping_sub(base) as i32;
                        travelled > 0 && travelled as u32 >= counts
                    }
                    (None, Some(encoder)) => {
                        item.base_encoder = Some(encoder);
                        false
                    }
                    _ => false,
                },
                DecisionWindow::Millis(ms) => now.ms.saturating_sub(item.base_ms) >= ms,
            };
            if passed {
                cursor = cursor.next();
                break Some(item.seq);
            }
            break None;
        };
        self.undecided_cursor = Some(cursor);
        result
    }

    /// True if the item's decision point has passed (a result now would be late).
    pub(super) fn is_past_decision_point(
        &self,
        seq: Seq,
        now: LineNow,
        window: DecisionWindow,
    ) -> bool {
        let Some(item) = self.get(seq) else {
            return true;
        };
        match window {
            DecisionWindow::EncoderCounts(counts) => match (item.base_encoder, now.encoder) {
                (Some(base), Some(encoder)) => {
                    let travelled = encoder.wrapping_sub(base) as i32;
                    travelled > 0 && travelled as u32 >= counts
                }
                _ => false,
            },
            DecisionWindow::Millis(ms) => now.ms.saturating_sub(item.base_ms) >= ms,
        }
    }

    /// Takes the item a fate is for out of tracking, with every older item whose
    /// fate never came.
    pub(super) fn resolve_fate(&mut self, seq: Seq) -> FateResolution {
        let mut resolution = FateResolution {
            missing: Vec::new(),
            item: None,
            stale: false,
            before_run: false,
        };
        if self.abandoned_recovered.contains(&seq) {
            resolution.stale = true;
            return resolution;
        }
        // Fates come in seq order: the recovered items before `seq` never got theirs.
        while let Some(first) = self.recovered.front() {
            if first.seq != seq && !first.seq.is_before(seq) {
                break;
            }
            let Some(item) = self.recovered.pop_front() else {
                break;
            };
            self.forget_counters(&item);
            if item.seq == seq {
                resolution.item = Some(item);
                return resolution;
            }
            resolution.missing.push(item);
        }
        if self.run_start.is_none_or(|start| seq.is_before(start)) {
            resolution.before_run = true;
            return resolution;
        }
        let Some(front) = self.front else {
            self.front = Some(seq.next());
            return resolution;
        };
        if seq.is_before(front) {
            resolution.stale = true;
            return resolution;
        }
        while let Some(item) = self.items.pop_front() {
            self.front = Some(item.seq.next());
            self.forget_counters(&item);
            if item.seq == seq {
                resolution.item = Some(item);
                return resolution;
            }
            resolution.missing.push(item);
        }
        // Never seen at the camera: everything up to it is resolved.
        self.front = Some(seq.next());
        resolution
    }

    /// Takes every tracked item out (batch abandoned).
    pub(super) fn drain_all(&mut self) -> Vec<TrackedItem> {
        let mut items: Vec<TrackedItem> = self.recovered.drain(..).collect();
        self.abandoned_recovered
            .extend(items.iter().map(|item| item.seq));
        if let Some(last) = self.items.back() {
            self.front = Some(last.seq.next());
        }
        items.extend(self.items.drain(..));
        self.good_awaiting_fate = 0;
        self.bound_awaiting_fate = 0;
        items
    }

    fn forget_counters(&mut self, item: &TrackedItem) {
        if let Some(decision) = &item.decision {
            if decision.verdict == Verdict::Good {
                self.good_awaiting_fate -= 1;
            }
            if decision.serial.is_some() {
                self.bound_awaiting_fate -= 1;
            }
        }
    }
}
