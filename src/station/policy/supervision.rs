//! The supervision of a running batch after each wake-up of the station: holds are
//! counted (for the outcome and the status), and, when the batch request asked for
//! them, an automatic resume is tried ([`super::auto_resume`]) and a stalled batch is
//! stopped ([`super::stall`]). Why the line holds is the engine's decision
//! (`crate::line::supervision`); this is what the station does about it.

use std::time::{Duration, Instant};

use crate::line::{BatchState, BatchStatus, HoldReason};

use super::auto_resume::AutoResume;
use super::stall::{StallStop, StallWatch};

/// The unattended-operator settings of a batch. The default (neither) is a batch
/// run by an operator, and a taken-over one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SupervisionOptions {
    /// Resume by itself after a hold once every device is back and PLC alarms are
    /// cleared.
    pub auto_resume: bool,
    /// Stop the batch when nothing is commissioned for this long.
    pub stall_timeout: Option<Duration>,
}

/// What the supervisor looks at: the engine's view of the batch.
#[derive(Debug, Clone, Copy)]
pub struct Observation<'a> {
    pub state: BatchState,
    pub hold: Option<&'a HoldReason>,
    pub commissioned: u64,
}

impl<'a> Observation<'a> {
    pub fn of(status: &'a BatchStatus) -> Observation<'a> {
        Observation {
            state: status.state,
            hold: status.hold.as_ref(),
            commissioned: status.counts.commissioned,
        }
    }
}

/// What to do after a look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Watch {
    /// The batch is over (stopped, failed its challenge, closed): nothing to do.
    Over,
    /// Nothing to do now; then check for a stall ([`Supervisor::stall_check`]).
    Continue,
    /// Try an automatic resume now, then check for a stall.
    TryResume,
}

/// The supervision of the active batch and its bookkeeping.
#[derive(Debug, Clone, Copy)]
pub struct Supervisor {
    begun: Instant,
    holds: u64,
    was_held: bool,
    resume: AutoResume,
    stall: StallWatch,
}

impl Supervisor {
    /// Supervision of a batch that begins at `now`.
    pub fn new(options: SupervisionOptions, now: Instant) -> Supervisor {
        Supervisor {
            begun: now,
            holds: 0,
            was_held: false,
            resume: AutoResume::new(options.auto_resume, now),
            stall: StallWatch::new(options.stall_timeout, now),
        }
    }

    /// Takes in the batch as seen at `now`: counts a hold that has just begun,
    /// notes progress, and says whether to try a resume.
    pub fn observe(&mut self, seen: Observation<'_>, now: Instant) -> Watch {
        if matches!(
            seen.state,
            BatchState::Stopped | BatchState::ChallengeFailed | BatchState::Closed
        ) {
            return Watch::Over;
        }
        self.stall.progress(seen.commissioned, now);
        let held = seen.hold.is_some();
        if held && !self.was_held {
            self.holds += 1;
        }
        self.was_held = held;
        if self.resume.due(seen.hold, now) {
            Watch::TryResume
        } else {
            Watch::Continue
        }
    }

    /// Whether the batch has stalled at `now` (after [`Supervisor::observe`] said
    /// [`Watch::Continue`] or [`Watch::TryResume`]).
    pub fn stall_check(&mut self, now: Instant) -> Option<StallStop> {
        self.stall.check(now)
    }

    /// Holds of the batch so far (each counted when it begins).
    pub fn holds(&self) -> u64 {
        self.holds
    }

    /// Time since the batch began.
    pub fn elapsed(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.begun)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::line::Device;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn running(hold: Option<&HoldReason>, commissioned: u64) -> Observation<'_> {
        Observation {
            state: if hold.is_some() {
                BatchState::Paused
            } else {
                BatchState::Running
            },
            hold,
            commissioned,
        }
    }

    const UNATTENDED: SupervisionOptions = SupervisionOptions {
        auto_resume: true,
        stall_timeout: Some(Duration::from_secs(5)),
    };

    #[test]
    fn each_hold_is_counted_once_when_it_begins() {
        let t0 = Instant::now();
        let mut sup = Supervisor::new(SupervisionOptions::default(), t0);
        let down = HoldReason::DeviceDown(Device::Camera);
        let escaped = HoldReason::ItemEscaped;
        assert_eq!(sup.observe(running(None, 0), t0), Watch::Continue);
        sup.observe(running(Some(&down), 0), t0 + ms(20));
        sup.observe(running(Some(&down), 0), t0 + ms(40));
        // A different reason without a resume in between is still the same hold.
        sup.observe(running(Some(&escaped), 0), t0 + ms(60));
        assert_eq!(sup.holds(), 1);
        sup.observe(running(None, 0), t0 + ms(80));
        sup.observe(running(Some(&down), 0), t0 + ms(100));
        assert_eq!(sup.holds(), 2);
    }

    #[test]
    fn a_finished_batch_is_left_alone() {
        let t0 = Instant::now();
        let mut sup = Supervisor::new(UNATTENDED, t0);
        let down = HoldReason::DeviceDown(Device::Plc);
        for state in [
            BatchState::Stopped,
            BatchState::ChallengeFailed,
            BatchState::Closed,
        ] {
            let seen = Observation {
                state,
                hold: Some(&down),
                commissioned: 3,
            };
            assert_eq!(sup.observe(seen, t0 + ms(10_000)), Watch::Over);
        }
        assert_eq!(sup.holds(), 0);
        // Nothing was taken in: the commissioned count was not seen as progress.
        assert!(sup.stall_check(t0 + ms(5_000)).is_some());
    }

    #[test]
    fn an_operator_run_batch_is_never_resumed_or_stopped() {
        let t0 = Instant::now();
        let mut sup = Supervisor::new(SupervisionOptions::default(), t0);
        let down = HoldReason::DeviceDown(Device::Printer);
        for i in 0..100 {
            let now = t0 + ms(i * 1_000);
            assert_eq!(sup.observe(running(Some(&down), 0), now), Watch::Continue);
            assert_eq!(sup.stall_check(now), None);
        }
    }

    #[test]
    fn an_unattended_batch_resumes_after_the_calm_period_and_stops_when_stalled() {
        let t0 = Instant::now();
        let mut sup = Supervisor::new(UNATTENDED, t0);
        let down = HoldReason::DeviceDown(Device::Printer);
        assert_eq!(
            sup.observe(running(Some(&down), 0), t0 + ms(100)),
            Watch::Continue
        );
        assert_eq!(sup.stall_check(t0 + ms(100)), None);
        assert_eq!(
            sup.observe(running(Some(&down), 0), t0 + ms(500)),
            Watch::TryResume
        );
        assert_eq!(
            sup.observe(running(None, 2), t0 + ms(4_000)),
            Watch::Continue
        );
        // Progress at 4 s: no stall at 8.9 s, a stall at 9 s.
        assert_eq!(sup.stall_check(t0 + ms(8_900)), None);
        let stop = sup.stall_check(t0 + ms(9_000)).unwrap();
        assert!(!stop.abandon_in_flight);
        assert_eq!(sup.holds(), 1);
        assert_eq!(sup.elapsed(t0 + ms(9_000)), ms(9_000));
    }

    #[test]
    fn an_operator_pause_is_counted_but_not_lifted() {
        let t0 = Instant::now();
        let mut sup = Supervisor::new(UNATTENDED, t0);
        let paused = HoldReason::Operator;
        assert_eq!(
            sup.observe(running(Some(&paused), 0), t0 + ms(1_000)),
            Watch::Continue
        );
        assert_eq!(
            sup.observe(running(Some(&paused), 0), t0 + ms(2_000)),
            Watch::Continue
        );
        assert_eq!(sup.holds(), 1);
    }
}
