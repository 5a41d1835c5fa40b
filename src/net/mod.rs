//! Outbound HTTP, shared by the uploader (`upload::sender`) and serial requests
//! (`pool::request`): the one way to build an HTTP client and read what its TLS
//! failures mean ([`client`]), secrets read from the environment or a file and
//! never shown ([`secret`]), and the retry delay: the capped exponential
//! [`Backoff`] of the devices crate (pure) with a random jitter ([`jittered`]).
//!
//! What each caller sends, and the words of its messages, stay with the caller.

pub mod client;
pub mod secret;

use std::time::Duration;

pub use client::{certificate_problem, http_client, is_loopback, load_ca_file, tls_error};
pub use secret::Secret;
pub use serialstation_devices::backoff::{Backoff, JITTER};

/// `backoff`'s delay after `consecutive_failures` failures in a row, scaled by a
/// random factor within ±[`JITTER`], so that stations that lost the same server
/// do not all come back at once.
pub fn jittered(backoff: &Backoff, consecutive_failures: u32) -> Duration {
    backoff.delay_scaled(
        consecutive_failures,
        rand::random_range((1.0 - JITTER)..=(1.0 + JITTER)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_twenty_percent() {
        let backoff = Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(1),
        };
        assert_eq!(jittered(&backoff, 0), Duration::ZERO);
        for _ in 0..100 {
            let d = jittered(&backoff, 4);
            assert!(d >= Duration::from_millis(640) && d <= Duration::from_millis(960));
            let d = jittered(&backoff, 30);
            assert!(d >= Duration::from_millis(800) && d <= Duration::from_millis(1200));
        }
    }
}
