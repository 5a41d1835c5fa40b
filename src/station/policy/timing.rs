//! The station loop's clock arithmetic: how often the PLC is polled (by the line's
//! rate), how long a
//! batch start waits for the devices, and the engine's tick time (milliseconds
//! since the station started; the engine itself has no clock).

use std::time::{Duration, Instant};

/// The PLC is read at most this often, however fast the line runs.
pub const FASTEST_POLL: Duration = Duration::from_millis(20);
/// The PLC is read at least this often, however slow the line runs: PLC alarms and
/// a stopped line are seen within it.
pub const SLOWEST_POLL: Duration = Duration::from_millis(100);

/// How often the PLC's counters, arrivals and fates are read on a line running at
/// `rate_per_min`: once per item's pitch time, between [`FASTEST_POLL`] and
/// [`SLOWEST_POLL`]. No verdict waits for a poll (a camera result is decided and
/// written when it comes, ARCHITECTURE.md §3); the poll brings fates, the encoder
/// and alarms, so a fate is seen at most one pitch after the PLC has it, and
/// polling faster than the items come costs CPU and buys nothing. At 400 and
/// 600 items/min that is every 100 ms, at 1,200 every 50 ms, at 3,000 or more every
/// 20 ms.
pub fn poll_interval(rate_per_min: f64) -> Duration {
    if !(rate_per_min.is_finite() && rate_per_min > 0.0) {
        return FASTEST_POLL;
    }
    let pitch = Duration::from_secs_f64(60.0 / rate_per_min);
    pitch.clamp(FASTEST_POLL, SLOWEST_POLL)
}
/// Longest wait for every device to come online at batch start.
pub const DEVICES_TIMEOUT: Duration = Duration::from_secs(20);

/// The engine's time at `now` (`Event::Tick`): milliseconds since `started`, never
/// less than zero.
pub fn tick_ms(started: Instant, now: Instant) -> u64 {
    u64::try_from(now.saturating_duration_since(started).as_millis()).unwrap_or(u64::MAX)
}

/// A wait that began at one instant and may last so long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    begun: Instant,
    wait: Duration,
}

impl Deadline {
    /// A wait of `wait` from `begun`.
    pub fn after(begun: Instant, wait: Duration) -> Deadline {
        Deadline { begun, wait }
    }

    /// What is left of the wait at `now`; `None` once it is over.
    pub fn left(&self, now: Instant) -> Option<Duration> {
        let left = self
            .wait
            .saturating_sub(now.saturating_duration_since(self.begun));
        (!left.is_zero()).then_some(left)
    }

    /// The whole wait (for messages).
    pub fn wait(&self) -> Duration {
        self.wait
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn the_poll_follows_the_line_rate_within_its_bounds() {
        assert_eq!(poll_interval(400.0), SLOWEST_POLL);
        assert_eq!(poll_interval(600.0), ms(100));
        assert_eq!(poll_interval(1_200.0), ms(50));
        assert_eq!(poll_interval(2_000.0), ms(30));
        assert_eq!(poll_interval(3_000.0), FASTEST_POLL);
        assert_eq!(poll_interval(60_000.0), FASTEST_POLL);
        assert_eq!(poll_interval(0.0), FASTEST_POLL);
        assert_eq!(poll_interval(f64::NAN), FASTEST_POLL);
    }

    #[test]
    fn ticks_count_milliseconds_from_the_start() {
        let t0 = Instant::now();
        assert_eq!(tick_ms(t0, t0), 0);
        assert_eq!(tick_ms(t0, t0 + Duration::from_micros(1_999)), 1);
        assert_eq!(tick_ms(t0, t0 + ms(20)), 20);
        // A stamp from before the start is time zero.
        assert_eq!(tick_ms(t0 + ms(5), t0), 0);
    }

    #[test]
    fn a_deadline_runs_out_exactly_at_its_end() {
        let t0 = Instant::now();
        let deadline = Deadline::after(t0, DEVICES_TIMEOUT);
        assert_eq!(deadline.left(t0), Some(DEVICES_TIMEOUT));
        assert_eq!(deadline.left(t0 + ms(19_999)), Some(ms(1)));
        assert_eq!(deadline.left(t0 + DEVICES_TIMEOUT), None);
        assert_eq!(deadline.left(t0 + ms(60_000)), None);
        assert_eq!(deadline.wait(), DEVICES_TIMEOUT);
    }

    #[test]
    fn a_zero_wait_is_over_at_once() {
        let t0 = Instant::now();
        assert_eq!(Deadline::after(t0, Duration::ZERO).left(t0), None);
    }

    #[test]
    fn an_instant_before_the_begin_leaves_the_whole_wait() {
        let t0 = Instant::now() + ms(100);
        let deadline = Deadline::after(t0, ms(50));
        assert_eq!(deadline.left(t0 - ms(100)), Some(ms(50)));
    }
}
