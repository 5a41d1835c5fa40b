//! The station loop's clock arithmetic: how often the PLC is polled, how long a
//! batch start waits for the devices, and the engine's tick time (milliseconds
//! since the station started; the engine itself has no clock).

use std::time::{Duration, Instant};

/// How often the PLC's counters are read.
pub const POLL_INTERVAL: Duration = Duration::from_millis(20);
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
