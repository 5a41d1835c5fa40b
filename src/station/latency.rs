//! Decision latency: the time from the station taking in an item's camera readout
//! to that item's verdict written to the PLC (the group commit's disk sync lies in
//! between). Pure bookkeeping: the runtime stamps readouts and verdict writes with
//! its monotonic clock; this module keeps the stamps, bins the latencies, and hands
//! the counts not yet stored to the next commit (`LineRecord::DecisionLatency`).
//!
//! The counts live in the store per batch and bin, not per item: one row per bin
//! (at most [`BIN_LOWER_MS`]`.len()` rows per batch), each with the largest latency
//! seen in it, so the batch record draws the histogram and names the maximum. The
//! counts of the verdicts written since the last commit are lost when the process
//! dies; the batch record says the histogram covers the items it counts.
//! See ARCHITECTURE.md, "The path of one item".

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Lower edge (ms) of each histogram bin; the last bin is open-ended. Fine around one
/// disk sync (1–10 ms), coarse where only the tail lives.
pub const BIN_LOWER_MS: [u32; 16] = [0, 1, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 50, 100, 200, 500];

/// Readouts older than this without a verdict write are forgotten (the item left
/// the line undecided, or the station restarted).
const STAMP_HORIZON: Duration = Duration::from_secs(60);

/// Most readouts kept waiting for their verdict (bounded memory on a broken PLC).
const MAX_STAMPS: usize = 65_536;

/// The bin a latency falls in.
pub fn bin_of(latency: Duration) -> usize {
    let ms = latency.as_millis();
    BIN_LOWER_MS
        .iter()
        .rposition(|&lower| ms >= u128::from(lower))
        .unwrap_or(0)
}

/// Label of a bin, e.g. `"4–5"` or `"≥ 500"` (ms).
pub fn bin_label(index: usize) -> String {
    match (BIN_LOWER_MS.get(index), BIN_LOWER_MS.get(index + 1)) {
        (Some(lower), Some(upper)) => format!("{lower}–{upper}"),
        (Some(lower), None) => format!("≥ {lower}"),
        _ => String::from("?"),
    }
}

/// The items of one bin and the largest latency among them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BinCount {
    pub items: u64,
    pub max_us: u64,
}

/// Readout stamps waiting for their verdict write, and the latencies not yet stored.
#[derive(Debug, Default)]
pub struct LatencyBook {
    stamps: BTreeMap<u32, Instant>,
    unstored: BTreeMap<u32, BinCount>,
}

impl LatencyBook {
    /// The station took in item `seq`'s camera readout at `at`.
    pub fn readout(&mut self, seq: u32, at: Instant) {
        if self.stamps.len() >= MAX_STAMPS {
            self.forget_before(at.checked_sub(STAMP_HORIZON).unwrap_or(at));
            if self.stamps.len() >= MAX_STAMPS {
                self.stamps.pop_first();
            }
        }
        // The first readout counts: a repeated readout of the same item is not a
        // new decision.
        self.stamps.entry(seq).or_insert(at);
    }

    /// Item `seq`'s verdict reached the PLC at `at`; returns its latency when its
    /// readout was stamped.
    pub fn verdict_written(&mut self, seq: u32, at: Instant) -> Option<Duration> {
        let read = self.stamps.remove(&seq)?;
        let latency = at.saturating_duration_since(read);
        let lower = BIN_LOWER_MS[bin_of(latency)];
        let bin = self.unstored.entry(lower).or_default();
        bin.items += 1;
        bin.max_us = bin.max_us.max(latency.as_micros() as u64);
        if self.stamps.len() > MAX_STAMPS / 2 {
            self.forget_before(at.checked_sub(STAMP_HORIZON).unwrap_or(at));
        }
        Some(latency)
    }

    /// The counts since the last call, by lower edge (ms); empty when none.
    pub fn take_unstored(&mut self) -> Vec<(u32, BinCount)> {
        std::mem::take(&mut self.unstored).into_iter().collect()
    }

    /// Forgets every stamp (a new batch).
    pub fn clear(&mut self) {
        self.stamps.clear();
        self.unstored.clear();
    }

    fn forget_before(&mut self, horizon: Instant) {
        self.stamps.retain(|_, &mut read| read >= horizon);
    }

    #[cfg(test)]
    fn waiting(&self) -> usize {
        self.stamps.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_cover_every_latency() {
        assert_eq!(bin_of(Duration::ZERO), 0);
        assert_eq!(bin_of(Duration::from_micros(999)), 0);
        assert_eq!(bin_of(Duration::from_millis(1)), 1);
        assert_eq!(bin_of(Duration::from_micros(7_900)), 6);
        assert_eq!(BIN_LOWER_MS[bin_of(Duration::from_millis(9))], 8);
        assert_eq!(bin_of(Duration::from_secs(30)), BIN_LOWER_MS.len() - 1);
        assert_eq!(bin_label(0), "0–1");
        assert_eq!(bin_label(BIN_LOWER_MS.len() - 1), "≥ 500");
        assert!(BIN_LOWER_MS.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn a_verdict_is_timed_from_its_first_readout() {
        let t0 = Instant::now();
        let mut book = LatencyBook::default();
        book.readout(7, t0);
        book.readout(7, t0 + Duration::from_millis(3));
        assert_eq!(
            book.verdict_written(7, t0 + Duration::from_micros(4_200)),
            Some(Duration::from_micros(4_200))
        );
        // No readout stamped: no latency, nothing counted.
        assert_eq!(book.verdict_written(8, t0), None);
        assert_eq!(
            book.take_unstored(),
            vec![(
                4,
                BinCount {
                    items: 1,
                    max_us: 4_200
                }
            )]
        );
        assert!(book.take_unstored().is_empty());
    }

    #[test]
    fn counts_add_up_per_bin_with_their_maximum() {
        let t0 = Instant::now();
        let mut book = LatencyBook::default();
        for (seq, us) in [(1, 1_100), (2, 1_900), (3, 250_000)] {
            book.readout(seq, t0);
            book.verdict_written(seq, t0 + Duration::from_micros(us));
        }
        assert_eq!(
            book.take_unstored(),
            vec![
                (
                    1,
                    BinCount {
                        items: 2,
                        max_us: 1_900
                    }
                ),
                (
                    200,
                    BinCount {
                        items: 1,
                        max_us: 250_000
                    }
                ),
            ]
        );
    }

    #[test]
    fn stamps_stay_bounded() {
        let t0 = Instant::now();
        let mut book = LatencyBook::default();
        for seq in 0..(MAX_STAMPS as u32 + 10) {
            book.readout(seq, t0);
        }
        assert_eq!(book.waiting(), MAX_STAMPS);
        // Old stamps go when a verdict shows that time has moved on.
        book.readout(u32::MAX, t0 + STAMP_HORIZON * 2);
        book.verdict_written(u32::MAX, t0 + STAMP_HORIZON * 2);
        assert_eq!(book.waiting(), 0);
    }
}
