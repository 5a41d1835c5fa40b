//! Crash points: the whole-station simulation crashes the station between any two of
//! its actions (a store write transaction or a device request) by counting those
//! actions down on one shared [`CrashPoint`]. The crash is a panic with the payload
//! [`SimulatedCrash`], raised before the action begins: whoever catches the unwind
//! tells a simulated crash from a real bug by that payload.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// The panic payload of a simulated crash ([`std::panic::panic_any`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SimulatedCrash;

#[derive(Debug, Default)]
struct Counters {
    /// Actions left until the crash, this one included; 0 = disarmed.
    left: AtomicU64,
    /// Every action counted since the crash point was made.
    seen: AtomicU64,
}

/// A countdown shared by the store's write hook and the in-process devices (cheap to
/// clone; every clone counts on the same countdown).
#[derive(Debug, Clone, Default)]
pub struct CrashPoint {
    counters: Arc<Counters>,
}

impl CrashPoint {
    /// A disarmed crash point.
    pub fn new() -> CrashPoint {
        CrashPoint::default()
    }

    /// Crashes at the `after`-th action from now (1 = the very next one); 0 disarms.
    pub fn arm(&self, after: u64) {
        self.counters.left.store(after, Ordering::SeqCst);
    }

    /// No crash until armed again.
    pub fn disarm(&self) {
        self.arm(0);
    }

    /// Whether a crash is still to come.
    pub fn armed(&self) -> bool {
        self.counters.left.load(Ordering::SeqCst) != 0
    }

    /// Actions counted so far (armed or not).
    pub fn actions(&self) -> u64 {
        self.counters.seen.load(Ordering::SeqCst)
    }

    /// One action is about to begin: crashes here when it is the one counted down to
    /// (then the crash point is disarmed).
    pub fn hit(&self) {
        self.counters.seen.fetch_add(1, Ordering::SeqCst);
        let before = self
            .counters
            .left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| match left {
                0 => None,
                n => Some(n - 1),
            });
        if before == Ok(1) {
            crash();
        }
    }

    /// The hook for `Store::set_write_hook` of the station's store: every write
    /// transaction is one action on this countdown.
    pub fn store_hook(&self) -> Arc<dyn Fn() + Send + Sync> {
        let point = self.clone();
        Arc::new(move || point.hit())
    }
}

/// The crash itself: a deliberate unwind with a payload nobody else uses.
#[allow(clippy::panic)]
fn crash() -> ! {
    std::panic::panic_any(SimulatedCrash)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crashes(point: &CrashPoint) -> bool {
        match std::panic::catch_unwind(|| point.hit()) {
            Ok(()) => false,
            Err(payload) => {
                assert!(payload.is::<SimulatedCrash>(), "only a simulated crash");
                true
            }
        }
    }

    #[test]
    fn a_disarmed_point_never_crashes_but_counts() {
        let point = CrashPoint::new();
        for _ in 0..10 {
            assert!(!crashes(&point));
        }
        assert_eq!(point.actions(), 10);
        assert!(!point.armed());
    }

    #[test]
    fn it_crashes_exactly_at_the_counted_action_and_once() {
        let point = CrashPoint::new();
        point.arm(3);
        assert!(!crashes(&point));
        assert!(!crashes(&point));
        assert!(point.armed());
        assert!(crashes(&point), "the third action crashes");
        assert!(!point.armed());
        assert!(!crashes(&point), "disarmed after its crash");
        assert_eq!(point.actions(), 4);
    }

    #[test]
    fn clones_and_the_store_hook_share_one_countdown() {
        let point = CrashPoint::new();
        let other = point.clone();
        let hook = point.store_hook();
        point.arm(2);
        hook();
        assert!(crashes(&other), "the hook's action counted");
        point.arm(1);
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| hook()));
        assert!(caught.is_err_and(|p| p.is::<SimulatedCrash>()));
    }

    #[test]
    fn arming_with_zero_disarms() {
        let point = CrashPoint::new();
        point.arm(1);
        point.arm(0);
        assert!(!crashes(&point));
    }
}
