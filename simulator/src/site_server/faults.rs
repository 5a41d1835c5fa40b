//! Faults the simulated site server plays on demand: error statuses, no answer at all,
//! slow answers, a connection dropped after the body was read and stored, and nonsense
//! bodies. Each rule applies to the next N requests of one kind.

use std::time::Duration;

/// What goes wrong with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SiteFault {
    /// Answer with this status (e.g. 500, 503) without processing the request.
    ServerError(u16),
    /// Read the request, never answer, never process (until the server stops).
    NoAnswer,
    /// Process the request, then wait this long before answering.
    Slow(Duration),
    /// Read and process the request (events are stored), then drop the connection
    /// without an answer: the client cannot know that its capture succeeded.
    DropAfterBody,
    /// Answer 200 with a body that is not what the endpoint returns, unprocessed.
    Garbage,
}

/// Which requests a fault applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultTarget {
    /// `POST /capture`.
    Capture,
    /// `GET /capture/{id}`.
    CaptureJob,
    /// `POST /epcis12/capture`.
    Epcis12Capture,
    /// `POST /serials/request`.
    SerialRequest,
    /// `POST /serials/sscc/request`.
    SsccRequest,
    /// Every request.
    Any,
}

#[derive(Debug, Clone)]
struct FaultRule {
    target: FaultTarget,
    fault: SiteFault,
    remaining: u32,
}

/// The pending fault rules, consumed in the order they were added.
#[derive(Debug, Default)]
pub struct FaultPlan {
    rules: Vec<FaultRule>,
}

impl FaultPlan {
    /// Plays `fault` on the next `times` requests matching `target`.
    pub fn add(&mut self, target: FaultTarget, fault: SiteFault, times: u32) {
        if times > 0 {
            self.rules.push(FaultRule {
                target,
                fault,
                remaining: times,
            });
        }
    }

    /// Removes every pending rule.
    pub fn clear(&mut self) {
        self.rules.clear();
    }

    /// The fault for a request of kind `route`, if any, consuming one use of it.
    pub fn take(&mut self, route: FaultTarget) -> Option<SiteFault> {
        let index = self
            .rules
            .iter()
            .position(|r| r.target == route || r.target == FaultTarget::Any)?;
        let rule = &mut self.rules[index];
        let fault = rule.fault;
        rule.remaining -= 1;
        if rule.remaining == 0 {
            self.rules.remove(index);
        }
        Some(fault)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_are_consumed_per_target() {
        let mut plan = FaultPlan::default();
        plan.add(FaultTarget::Capture, SiteFault::ServerError(503), 2);
        assert_eq!(plan.take(FaultTarget::CaptureJob), None);
        assert_eq!(
            plan.take(FaultTarget::Capture),
            Some(SiteFault::ServerError(503))
        );
        assert_eq!(
            plan.take(FaultTarget::Capture),
            Some(SiteFault::ServerError(503))
        );
        assert_eq!(plan.take(FaultTarget::Capture), None);
    }
}
