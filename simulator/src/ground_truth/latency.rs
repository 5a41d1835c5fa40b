//! Decision latency as the line sees it: for each item seq, the instant the camera
//! sent its result and the instant the PLC received the verdict write for that seq,
//! both from one monotonic clock of the simulator process ([`now_ns`]). The tracker
//! is pure; the runtime feeds it, and finished pairs go to the ground truth as rows.

use std::collections::{HashMap, VecDeque};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Nanoseconds on the simulator's monotonic clock (since its first use in the process).
pub fn now_ns() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    let epoch = *EPOCH.get_or_init(Instant::now);
    u64::try_from(epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// One item's decision: camera result sent → verdict write received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecisionLatency {
    pub seq: u32,
    pub camera_sent_ns: u64,
    pub verdict_received_ns: u64,
}

impl DecisionLatency {
    /// The time from the camera's result to the verdict at the PLC.
    pub fn latency(&self) -> Duration {
        Duration::from_nanos(self.verdict_received_ns.saturating_sub(self.camera_sent_ns))
    }
}

/// Most camera results kept while waiting for their verdict (older ones are dropped:
/// an item whose verdict never comes must not make the tracker grow).
pub const WAITING_KEPT: usize = 65_536;

/// Pairs camera results with the first verdict write for the same seq.
#[derive(Debug, Default)]
pub struct LatencyTracker {
    waiting: HashMap<u32, u64>,
    /// Insertion order, to drop the oldest; entries already paired are skipped then.
    order: VecDeque<(u32, u64)>,
}

impl LatencyTracker {
    /// The camera sent its result for `seq` at `at_ns` (only the first send counts).
    pub fn camera_sent(&mut self, seq: u32, at_ns: u64) {
        if self.waiting.contains_key(&seq) {
            return;
        }
        self.waiting.insert(seq, at_ns);
        self.order.push_back((seq, at_ns));
        while self.order.len() > WAITING_KEPT {
            if let Some((old, old_at)) = self.order.pop_front()
                && self.waiting.get(&old) == Some(&old_at)
            {
                self.waiting.remove(&old);
            }
        }
    }

    /// The PLC received a verdict write for `seq` at `at_ns`: the pair, if the camera's
    /// result for that seq is known and had no verdict yet.
    pub fn verdict_received(&mut self, seq: u32, at_ns: u64) -> Option<DecisionLatency> {
        let camera_sent_ns = self.waiting.remove(&seq)?;
        // Paired entries leave `order` once they reach its front.
        while self
            .order
            .front()
            .is_some_and(|(s, at)| self.waiting.get(s) != Some(at))
        {
            self.order.pop_front();
        }
        Some(DecisionLatency {
            seq,
            camera_sent_ns,
            verdict_received_ns: at_ns,
        })
    }

    /// Camera results still waiting for a verdict.
    pub fn waiting(&self) -> usize {
        self.waiting.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_the_first_verdict_with_the_camera_result() {
        let mut t = LatencyTracker::default();
        assert_eq!(t.verdict_received(7, 10), None);
        t.camera_sent(7, 100);
        t.camera_sent(7, 150);
        let pair = t.verdict_received(7, 400).unwrap();
        assert_eq!(pair.latency(), Duration::from_nanos(300));
        assert_eq!(
            t.verdict_received(7, 500),
            None,
            "a second verdict is not paired"
        );
        assert_eq!(t.waiting(), 0);
    }

    #[test]
    fn stays_bounded_when_verdicts_never_come() {
        let mut t = LatencyTracker::default();
        for seq in 0..(WAITING_KEPT as u32 + 1000) {
            t.camera_sent(seq, u64::from(seq));
        }
        assert_eq!(t.waiting(), WAITING_KEPT);
        assert_eq!(t.verdict_received(0, 1), None, "the oldest were dropped");
        assert!(t.verdict_received(WAITING_KEPT as u32 + 999, 1).is_some());
    }

    #[test]
    fn the_clock_goes_forward() {
        let a = now_ns();
        let b = now_ns();
        assert!(b >= a);
    }
}
