//! Capped exponential backoff between failed attempts, with ±20 % jitter so that
//! stations that lost the same site server do not all come back at once. The
//! arithmetic is pure; only [`Backoff::jittered`] draws a random factor.

use std::time::Duration;

/// `initial * 2^(failures-1)`, at most `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub initial: Duration,
    pub max: Duration,
}

impl Default for Backoff {
    /// 1 s doubling up to 5 min.
    fn default() -> Self {
        Backoff {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(300),
        }
    }
}

impl Backoff {
    /// The wait after `consecutive_failures` failures in a row (0 = no wait).
    pub fn delay(&self, consecutive_failures: u32) -> Duration {
        if consecutive_failures == 0 {
            return Duration::ZERO;
        }
        let factor = 1u32
            .checked_shl(consecutive_failures - 1)
            .unwrap_or(u32::MAX);
        self.initial.saturating_mul(factor).min(self.max)
    }

    /// [`Backoff::delay`] scaled by `factor` (clamped to 0.8..=1.2).
    pub fn delay_scaled(&self, consecutive_failures: u32, factor: f64) -> Duration {
        self.delay(consecutive_failures)
            .mul_f64(factor.clamp(1.0 - JITTER, 1.0 + JITTER))
    }

    /// [`Backoff::delay`] with a random ±20 % jitter.
    pub fn jittered(&self, consecutive_failures: u32) -> Duration {
        self.delay_scaled(
            consecutive_failures,
            rand::random_range((1.0 - JITTER)..=(1.0 + JITTER)),
        )
    }
}

/// The jitter's share of a delay, either way.
pub const JITTER: f64 = 0.2;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_and_caps() {
        let b = Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(1),
        };
        assert_eq!(b.delay(0), Duration::ZERO);
        assert_eq!(b.delay(1), Duration::from_millis(100));
        assert_eq!(b.delay(3), Duration::from_millis(400));
        assert_eq!(b.delay(5), Duration::from_secs(1));
        assert_eq!(b.delay(200), Duration::from_secs(1));
    }

    #[test]
    fn jitter_stays_within_twenty_percent() {
        let b = Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(1),
        };
        assert_eq!(b.delay_scaled(1, 0.8), Duration::from_millis(80));
        assert_eq!(b.delay_scaled(1, 5.0), Duration::from_millis(120));
        assert_eq!(b.delay_scaled(0, 1.2), Duration::ZERO);
        for _ in 0..100 {
            let d = b.jittered(4);
            assert!(d >= Duration::from_millis(640) && d <= Duration::from_millis(960));
        }
    }
}
