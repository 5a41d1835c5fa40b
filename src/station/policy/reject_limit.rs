//! The PLC's consecutive-reject limit around the stretches where nothing is printed.
//!
//! While nothing is printed (a challenge test, the tail of a batch) and until the
//! first item printed afterwards is verified, the infeed brings blank items, which
//! the PLC rejects (they get no verdict). They are expected, so they must not trip
//! the PLC's consecutive-reject stop (counted at the gate): its limit is raised to
//! the maximum meanwhile (every such item is still rejected, and the engine still
//! stops the line on consecutive rejects of printed items) and set back to the
//! configured limit when the first good item leaves once prints are wanted again.
//! At batch start and take-over the limit is raised too: the items already between
//! the print head and the camera are blank.

/// The PLC's consecutive-reject limit while nothing is printed (its maximum).
pub const TAIL_REJECT_LIMIT: u16 = 1000;

/// What to write to the PLC's consecutive-reject limit now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectLimitChange {
    /// Leave it as it is.
    Keep,
    /// Raise it to this (the maximum): blank items are coming.
    Raise(u16),
    /// Set it back to the configured limit: a good item has left since prints
    /// are wanted again.
    Restore(u16),
}

impl RejectLimitChange {
    /// The limit to write, if any.
    pub fn limit(self) -> Option<u16> {
        match self {
            RejectLimitChange::Keep => None,
            RejectLimitChange::Raise(limit) | RejectLimitChange::Restore(limit) => Some(limit),
        }
    }
}

/// Whether the limit is raised, and the good exits counted when it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TailRejectLimit {
    /// The line's configured limit.
    configured: u16,
    /// `Some(good exits)`: raised (as far as the station knows) when the batch had
    /// that many good exits.
    raised_at: Option<u64>,
}

impl TailRejectLimit {
    /// The configured limit in force (nothing raised).
    pub fn new(configured: u16) -> TailRejectLimit {
        TailRejectLimit {
            configured,
            raised_at: None,
        }
    }

    /// A batch starts or is taken over: the limit to write. The limit counts as
    /// raised from zero good exits whether or not the write succeeds (a failed
    /// write is noted; the next restore then sets the configured limit anyway).
    pub fn at_start(&mut self) -> u16 {
        self.raised_at = Some(0);
        TAIL_REJECT_LIMIT
    }

    /// What to write, from the engine's status: whether prints are wanted now
    /// (`no_prints`: the batch's tail or its challenge test) and the good exits.
    pub fn decide(&self, no_prints: bool, good_exits: u64) -> RejectLimitChange {
        match self.raised_at {
            None if no_prints => RejectLimitChange::Raise(TAIL_REJECT_LIMIT),
            Some(raised_at) if !no_prints && good_exits > raised_at => {
                RejectLimitChange::Restore(self.configured)
            }
            _ => RejectLimitChange::Keep,
        }
    }

    /// The PLC took `limit` while the batch had `good_exits`. (A failed write
    /// changes nothing: the same change is decided again at the next look.)
    pub fn applied(&mut self, limit: u16, good_exits: u64) {
        self.raised_at = (limit == TAIL_REJECT_LIMIT).then_some(good_exits);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_start_the_limit_is_raised_until_the_first_good_exit_while_printing() {
        let mut limit = TailRejectLimit::new(5);
        assert_eq!(limit.at_start(), TAIL_REJECT_LIMIT);
        // Still no good exit, or prints not wanted: keep the raised limit.
        assert_eq!(limit.decide(false, 0), RejectLimitChange::Keep);
        assert_eq!(limit.decide(true, 3), RejectLimitChange::Keep);
        assert_eq!(limit.decide(false, 1), RejectLimitChange::Restore(5));
        limit.applied(5, 1);
        assert_eq!(limit.decide(false, 9), RejectLimitChange::Keep);
    }

    #[test]
    fn the_tail_raises_the_limit_once() {
        let mut limit = TailRejectLimit::new(5);
        assert_eq!(limit.decide(false, 40), RejectLimitChange::Keep);
        assert_eq!(
            limit.decide(true, 40),
            RejectLimitChange::Raise(TAIL_REJECT_LIMIT)
        );
        limit.applied(TAIL_REJECT_LIMIT, 40);
        assert_eq!(limit.decide(true, 41), RejectLimitChange::Keep);
    }

    #[test]
    fn the_limit_comes_back_only_after_a_good_exit_past_the_raise() {
        let mut limit = TailRejectLimit::new(7);
        limit.applied(TAIL_REJECT_LIMIT, 40);
        // Prints wanted again (an item in flight failed), but no good item has
        // left since the raise: exactly at the boundary the limit stays raised.
        assert_eq!(limit.decide(false, 40), RejectLimitChange::Keep);
        assert_eq!(limit.decide(false, 41), RejectLimitChange::Restore(7));
        limit.applied(7, 41);
        // The next tail raises it again.
        assert_eq!(
            limit.decide(true, 41),
            RejectLimitChange::Raise(TAIL_REJECT_LIMIT)
        );
    }

    #[test]
    fn a_failed_write_is_decided_again() {
        let mut limit = TailRejectLimit::new(5);
        // The write failed: nothing applied, so the same change comes next time.
        assert_eq!(
            limit.decide(true, 0),
            RejectLimitChange::Raise(TAIL_REJECT_LIMIT)
        );
        assert_eq!(
            limit.decide(true, 0),
            RejectLimitChange::Raise(TAIL_REJECT_LIMIT)
        );
        limit.applied(TAIL_REJECT_LIMIT, 0);
        assert_eq!(limit.decide(false, 1), RejectLimitChange::Restore(5));
        assert_eq!(limit.decide(false, 2), RejectLimitChange::Restore(5));
    }

    #[test]
    fn a_configured_limit_at_the_maximum_counts_as_raised() {
        let mut limit = TailRejectLimit::new(TAIL_REJECT_LIMIT);
        limit.applied(TAIL_REJECT_LIMIT, 3);
        assert_eq!(
            limit.decide(false, 4),
            RejectLimitChange::Restore(TAIL_REJECT_LIMIT)
        );
        limit.applied(TAIL_REJECT_LIMIT, 4);
        assert_eq!(limit.decide(false, 4), RejectLimitChange::Keep);
    }

    #[test]
    fn the_limit_to_write() {
        assert_eq!(RejectLimitChange::Keep.limit(), None);
        assert_eq!(RejectLimitChange::Raise(1000).limit(), Some(1000));
        assert_eq!(RejectLimitChange::Restore(3).limit(), Some(3));
    }
}
