//! Automatic resume, for an unattended batch (a demo or a test; a real line waits for
//! its operator): which holds the station may lift by itself, how often it tries,
//! and what one try does (wait for the devices, reset the PLC's latched alarms, or
//! resume).

use std::time::{Duration, Instant};

use crate::line::HoldReason;

/// Least time between two automatic resume attempts. It is also the calm period
/// after the batch starts (or is taken over) before the first attempt.
pub const RESUME_RETRY: Duration = Duration::from_millis(500);

/// Whether the station may lift this hold by itself. Holds someone asked for (the
/// operator's pause, a take-over after a restart) and an empty pool wait for a
/// person; holds with a cause at the line (a device, rejects, a PLC alarm) are
/// retried once that cause is gone.
pub fn may_auto_resume(hold: Option<&HoldReason>) -> bool {
    match hold {
        None
        | Some(HoldReason::SerialsExhausted)
        | Some(HoldReason::Operator)
        | Some(HoldReason::Recovered) => false,
        Some(HoldReason::DeviceDown(_))
        | Some(HoldReason::ConsecutiveRejects(_))
        | Some(HoldReason::RejectNotConfirmed)
        | Some(HoldReason::ItemEscaped)
        | Some(HoldReason::PlcAlarm(_)) => true,
    }
}

/// When the next automatic resume attempt is due.
#[derive(Debug, Clone, Copy)]
pub struct AutoResume {
    enabled: bool,
    last_try: Instant,
}

impl AutoResume {
    /// `enabled` comes from the batch request; the first attempt waits
    /// [`RESUME_RETRY`] from `now`.
    pub fn new(enabled: bool, now: Instant) -> AutoResume {
        AutoResume {
            enabled,
            last_try: now,
        }
    }

    /// Whether to try a resume at `now` for the batch's current `hold`. A `true`
    /// counts as an attempt: the next one waits [`RESUME_RETRY`] from `now`, whatever
    /// this one achieves.
    pub fn due(&mut self, hold: Option<&HoldReason>, now: Instant) -> bool {
        if self.enabled
            && may_auto_resume(hold)
            && now.saturating_duration_since(self.last_try) >= RESUME_RETRY
        {
            self.last_try = now;
            true
        } else {
            false
        }
    }
}

/// What one automatic resume attempt does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResumeStep {
    /// A device is still offline: nothing now, the next attempt looks again.
    WaitForDevices,
    /// The PLC has latched alarms: ask it to reset them (they clear once their
    /// cause is gone); the resume itself waits for the next attempt.
    ResetPlcAlarms,
    /// Everything is back: resume the batch.
    Resume,
}

/// One attempt's step, from what the station knows of the devices and the PLC.
pub fn resume_step(devices_offline: bool, plc_alarms: bool) -> ResumeStep {
    if devices_offline {
        ResumeStep::WaitForDevices
    } else if plc_alarms {
        ResumeStep::ResetPlcAlarms
    } else {
        ResumeStep::Resume
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::line::Device;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn only_holds_with_a_cause_at_the_line_are_lifted_automatically() {
        assert!(!may_auto_resume(None));
        assert!(!may_auto_resume(Some(&HoldReason::Operator)));
        assert!(!may_auto_resume(Some(&HoldReason::Recovered)));
        assert!(!may_auto_resume(Some(&HoldReason::SerialsExhausted)));
        for hold in [
            HoldReason::DeviceDown(Device::Printer),
            HoldReason::DeviceDown(Device::Camera),
            HoldReason::DeviceDown(Device::Plc),
            HoldReason::ConsecutiveRejects(5),
            HoldReason::RejectNotConfirmed,
            HoldReason::ItemEscaped,
            HoldReason::PlcAlarm("e-stop".into()),
        ] {
            assert!(may_auto_resume(Some(&hold)), "{hold:?}");
        }
    }

    #[test]
    fn attempts_are_spaced_by_the_retry_period_from_the_start() {
        let t0 = Instant::now();
        let hold = HoldReason::DeviceDown(Device::Camera);
        let mut resume = AutoResume::new(true, t0);
        assert!(!resume.due(Some(&hold), t0));
        assert!(!resume.due(Some(&hold), t0 + RESUME_RETRY - ms(1)));
        // Exactly at the boundary it is due.
        assert!(resume.due(Some(&hold), t0 + RESUME_RETRY));
        // The attempt restarts the period, whatever it achieved.
        assert!(!resume.due(Some(&hold), t0 + RESUME_RETRY + ms(499)));
        assert!(resume.due(Some(&hold), t0 + RESUME_RETRY * 2));
    }

    #[test]
    fn nothing_is_attempted_when_disabled_or_not_held() {
        let t0 = Instant::now();
        let hold = HoldReason::ItemEscaped;
        let mut off = AutoResume::new(false, t0);
        assert!(!off.due(Some(&hold), t0 + ms(10_000)));
        let mut on = AutoResume::new(true, t0);
        assert!(!on.due(None, t0 + ms(10_000)));
        assert!(!on.due(Some(&HoldReason::Operator), t0 + ms(10_000)));
        // Looks that decide nothing do not count as attempts.
        assert!(on.due(Some(&hold), t0 + ms(10_000)));
    }

    #[test]
    fn a_flapping_device_gets_one_attempt_per_period() {
        let t0 = Instant::now();
        let down = HoldReason::DeviceDown(Device::Printer);
        let mut resume = AutoResume::new(true, t0);
        // Looks every 20 ms for 2 s while the printer comes and goes: the hold
        // stays (the engine keeps it until a resume), attempts come at 0.5 s steps.
        let due: Vec<u64> = (0..=100)
            .map(|i| i * 20)
            .filter(|&at| resume.due(Some(&down), t0 + ms(at)))
            .collect();
        assert_eq!(due, vec![500, 1000, 1500, 2000]);
        // Each attempt waits while a device is offline, so a flap ends in a
        // resume only at an attempt that finds everything back.
        assert_eq!(resume_step(true, false), ResumeStep::WaitForDevices);
        assert_eq!(resume_step(false, false), ResumeStep::Resume);
    }

    #[test]
    fn an_attempt_waits_for_devices_then_resets_alarms_then_resumes() {
        assert_eq!(resume_step(true, true), ResumeStep::WaitForDevices);
        assert_eq!(resume_step(true, false), ResumeStep::WaitForDevices);
        assert_eq!(resume_step(false, true), ResumeStep::ResetPlcAlarms);
        assert_eq!(resume_step(false, false), ResumeStep::Resume);
    }

    #[test]
    fn a_clock_that_seems_to_go_back_delays_the_attempt() {
        let t0 = Instant::now() + ms(1_000);
        let mut resume = AutoResume::new(true, t0);
        assert!(!resume.due(Some(&HoldReason::ItemEscaped), t0 - ms(1_000)));
        assert!(resume.due(Some(&HoldReason::ItemEscaped), t0 + RESUME_RETRY));
    }
}
