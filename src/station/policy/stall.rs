//! The stall stop, for an unattended batch: when nothing is commissioned for the
//! request's stall timeout, the batch is stopped; if it still cannot finish after
//! another timeout, the items in flight are abandoned (counted as rejected).

use std::time::{Duration, Instant};

use crate::line::OperatorCommand;

/// Watches the commissioned count for progress.
#[derive(Debug, Clone, Copy)]
pub struct StallWatch {
    /// `None`: the operator decides; the watch never stops anything.
    timeout: Option<Duration>,
    /// When the count last changed (or the last stop was decided).
    since: Instant,
    commissioned: u64,
    /// A stop was already decided: the next one abandons the items in flight.
    stop_requested: bool,
}

/// A stall stop to give the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StallStop {
    /// How long nothing was commissioned (the configured timeout).
    pub quiet_for: Duration,
    /// The second stop: items whose fate is still unknown count as rejected.
    pub abandon_in_flight: bool,
}

impl StallStop {
    /// The engine command for this stop.
    pub fn command(self) -> OperatorCommand {
        OperatorCommand::Stop {
            abandon_in_flight: self.abandon_in_flight,
        }
    }

    /// The note the station keeps about it.
    pub fn describe(self) -> String {
        format!(
            "nothing commissioned for {:?}: {}",
            self.quiet_for,
            if self.abandon_in_flight {
                "abandoning items in flight"
            } else {
                "stopping the batch"
            }
        )
    }
}

impl StallWatch {
    /// A watch that starts counting at `now` from zero commissioned.
    pub fn new(timeout: Option<Duration>, now: Instant) -> StallWatch {
        StallWatch {
            timeout,
            since: now,
            commissioned: 0,
            stop_requested: false,
        }
    }

    /// The batch's commissioned count at `now`: any change (a sample taken out
    /// lowers it) is progress and restarts the timer.
    pub fn progress(&mut self, commissioned: u64, now: Instant) {
        if commissioned != self.commissioned {
            self.since = now;
            self.commissioned = commissioned;
        }
    }

    /// Whether the batch has stalled at `now`. A stop restarts the timer, so the
    /// next one (abandoning the items in flight) comes only after another timeout
    /// without progress.
    pub fn check(&mut self, now: Instant) -> Option<StallStop> {
        let timeout = self.timeout?;
        if now.saturating_duration_since(self.since) < timeout {
            return None;
        }
        let abandon_in_flight = self.stop_requested;
        self.stop_requested = true;
        self.since = now;
        Some(StallStop {
            quiet_for: timeout,
            abandon_in_flight,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn without_a_timeout_nothing_ever_stalls() {
        let t0 = Instant::now();
        let mut watch = StallWatch::new(None, t0);
        assert_eq!(watch.check(t0 + s(3_600)), None);
    }

    #[test]
    fn a_batch_stalls_exactly_at_the_timeout() {
        let t0 = Instant::now();
        let mut watch = StallWatch::new(Some(s(10)), t0);
        assert_eq!(watch.check(t0 + s(10) - Duration::from_millis(1)), None);
        assert_eq!(
            watch.check(t0 + s(10)),
            Some(StallStop {
                quiet_for: s(10),
                abandon_in_flight: false
            })
        );
    }

    #[test]
    fn progress_restarts_the_timer() {
        let t0 = Instant::now();
        let mut watch = StallWatch::new(Some(s(10)), t0);
        watch.progress(1, t0 + s(8));
        assert_eq!(watch.check(t0 + s(12)), None);
        // The same count again is no progress.
        watch.progress(1, t0 + s(15));
        assert!(watch.check(t0 + s(18)).is_some());
    }

    #[test]
    fn a_count_that_goes_down_is_progress_too() {
        let t0 = Instant::now();
        let mut watch = StallWatch::new(Some(s(10)), t0);
        watch.progress(5, t0 + s(1));
        watch.progress(4, t0 + s(9));
        assert_eq!(watch.check(t0 + s(15)), None);
        assert!(watch.check(t0 + s(19)).is_some());
    }

    #[test]
    fn the_second_stop_abandons_in_flight_after_another_timeout() {
        let t0 = Instant::now();
        let mut watch = StallWatch::new(Some(s(10)), t0);
        let first = watch.check(t0 + s(10)).unwrap();
        assert!(!first.abandon_in_flight);
        assert_eq!(
            first.command(),
            OperatorCommand::Stop {
                abandon_in_flight: false
            }
        );
        assert_eq!(
            first.describe(),
            "nothing commissioned for 10s: stopping the batch"
        );
        assert_eq!(watch.check(t0 + s(19)), None);
        let second = watch.check(t0 + s(20)).unwrap();
        assert!(second.abandon_in_flight);
        assert_eq!(
            second.command(),
            OperatorCommand::Stop {
                abandon_in_flight: true
            }
        );
        assert_eq!(
            second.describe(),
            "nothing commissioned for 10s: abandoning items in flight"
        );
        // Progress between stops does not make the next stop a plain one again.
        watch.progress(1, t0 + s(21));
        assert!(watch.check(t0 + s(31)).unwrap().abandon_in_flight);
    }
}
