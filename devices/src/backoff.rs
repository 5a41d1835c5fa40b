//! Capped exponential backoff, the one used for every retry: device reconnects
//! (`link.rs`, the PLC driver) and, in the controller, the uploader's retries
//! (`net::jittered` adds the random jitter). Pure: the delay after `n` failures in
//! a row, optionally scaled by a jitter factor the caller draws.

use std::time::Duration;

/// The share of a delay that jitter may add or take away (±20 %).
pub const JITTER: f64 = 0.2;

/// `initial * 2^(failures-1)`, at most `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub initial: Duration,
    pub max: Duration,
}

impl Backoff {
    /// A backoff that never waits less than 1 ms (a zero delay would spin) and
    /// whose cap is at least `initial`.
    pub fn new(initial: Duration, max: Duration) -> Self {
        let initial = initial.max(Duration::from_millis(1));
        Backoff {
            initial,
            max: max.max(initial),
        }
    }

    /// The wait after `consecutive_failures` failures in a row (0 = no wait):
    /// initial, 2×, 4×, … up to max.
    pub fn delay(&self, consecutive_failures: u32) -> Duration {
        if consecutive_failures == 0 {
            return Duration::ZERO;
        }
        let factor = 1u32
            .checked_shl(consecutive_failures - 1)
            .unwrap_or(u32::MAX);
        self.initial.saturating_mul(factor).min(self.max)
    }

    /// [`Backoff::delay`] scaled by `factor`, clamped to `1 ± JITTER`; the caller
    /// draws the factor (e.g. at random within that range).
    pub fn delay_scaled(&self, consecutive_failures: u32, factor: f64) -> Duration {
        let delay = self.delay(consecutive_failures);
        let factor = factor.clamp(1.0 - JITTER, 1.0 + JITTER);
        // Not a number (NaN) or too large for a Duration: no jitter.
        Duration::try_from_secs_f64(factor * delay.as_secs_f64()).unwrap_or(delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn doubles_up_to_the_cap() {
        let b = Backoff {
            initial: ms(100),
            max: Duration::from_secs(1),
        };
        assert_eq!(b.delay(0), Duration::ZERO);
        assert_eq!(b.delay(1), ms(100));
        assert_eq!(b.delay(2), ms(200));
        assert_eq!(b.delay(3), ms(400));
        assert_eq!(b.delay(4), ms(800));
        assert_eq!(b.delay(5), Duration::from_secs(1));
        assert_eq!(b.delay(32), Duration::from_secs(1));
        assert_eq!(b.delay(33), Duration::from_secs(1));
        assert_eq!(b.delay(u32::MAX), Duration::from_secs(1));
    }

    #[test]
    fn a_cap_between_steps_is_reached_exactly() {
        let b = Backoff::new(ms(100), ms(450));
        let delays: Vec<Duration> = (1..=5).map(|n| b.delay(n)).collect();
        assert_eq!(delays, vec![ms(100), ms(200), ms(400), ms(450), ms(450)]);
    }

    #[test]
    fn new_never_waits_zero_and_never_caps_below_the_start() {
        let b = Backoff::new(Duration::ZERO, Duration::ZERO);
        assert_eq!((b.initial, b.max), (ms(1), ms(1)));
        assert_eq!(b.delay(1), ms(1));
        let b = Backoff::new(ms(500), ms(100));
        assert_eq!((b.initial, b.max), (ms(500), ms(500)));
    }

    #[test]
    fn huge_delays_saturate_instead_of_overflowing() {
        let b = Backoff {
            initial: Duration::MAX,
            max: Duration::MAX,
        };
        assert_eq!(b.delay(40), Duration::MAX);
        assert_eq!(b.delay_scaled(40, 1.2), Duration::MAX);
    }

    #[test]
    fn jitter_stays_within_twenty_percent() {
        let b = Backoff {
            initial: ms(100),
            max: Duration::from_secs(1),
        };
        assert_eq!(b.delay_scaled(1, 0.8), ms(80));
        assert_eq!(b.delay_scaled(1, 5.0), ms(120));
        assert_eq!(b.delay_scaled(1, -3.0), ms(80));
        assert_eq!(b.delay_scaled(0, 1.2), Duration::ZERO);
        assert_eq!(b.delay_scaled(4, 1.0), ms(800));
        assert_eq!(b.delay_scaled(4, f64::NAN), ms(800));
    }
}
