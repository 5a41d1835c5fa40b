//! The printer's suspect latch. A printer request that fails means the printer is
//! gone even while its link looks up: the engine is told once (`DeviceDown`, which
//! holds the batch), and the printer is then probed at each PLC poll until it
//! answers (`DeviceUp`, after the station set it up again). A link that comes up
//! again ends the suspicion too. A label printer's buffer level, its only print
//! confirmation, is polled only while the printer is not suspect.

/// Whether the printer is suspect.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PrinterWatch {
    suspect: bool,
}

impl PrinterWatch {
    /// A printer request failed. True when the engine must be told the printer is
    /// down: the first failure since it was last known good.
    #[must_use]
    pub fn request_failed(&mut self) -> bool {
        let newly = !self.suspect;
        self.suspect = true;
        newly
    }

    /// Whether to probe the printer's status at this poll.
    pub fn wants_probe(&self) -> bool {
        self.suspect
    }

    /// The printer answered a probe or its link came up: it is good again (the
    /// station sets it up; after a probe it also tells the engine).
    pub fn back(&mut self) {
        self.suspect = false;
    }

    /// Whether a label printer's buffer level may be polled now.
    pub fn may_poll_buffer(&self) -> bool {
        !self.suspect
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failing_printer_is_reported_down_once_and_probed_until_it_answers() {
        let mut watch = PrinterWatch::default();
        assert!(!watch.wants_probe());
        assert!(watch.may_poll_buffer());
        assert!(watch.request_failed());
        assert!(!watch.request_failed());
        assert!(!watch.request_failed());
        assert!(watch.wants_probe());
        assert!(!watch.may_poll_buffer());
        watch.back();
        assert!(!watch.wants_probe());
        assert!(watch.may_poll_buffer());
    }

    #[test]
    fn a_flapping_printer_is_reported_down_each_time_it_fails_after_coming_back() {
        let mut watch = PrinterWatch::default();
        let mut downs = 0;
        for _ in 0..5 {
            for _ in 0..3 {
                downs += u32::from(watch.request_failed());
            }
            watch.back();
        }
        assert_eq!(downs, 5);
    }

    #[test]
    fn coming_back_when_not_suspect_changes_nothing() {
        let mut watch = PrinterWatch::default();
        watch.back();
        assert_eq!(watch, PrinterWatch::default());
        assert!(watch.request_failed());
    }
}
