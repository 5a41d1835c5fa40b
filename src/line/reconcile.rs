//! Reconciliation counts of a batch: every allocated serial ends up commissioned,
//! scrapped, sampled, invalidated or returned, and at close the numbers must balance.

/// The counts of a batch's serials by where they ended up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Reconciliation {
    pub allocated: u64,
    pub commissioned: u64,
    pub scrapped: u64,
    pub sampled: u64,
    pub invalidated: u64,
    pub returned: u64,
}

impl Reconciliation {
    /// Serials accounted for in a final state.
    pub fn accounted(&self) -> u64 {
        self.commissioned + self.scrapped + self.sampled + self.invalidated + self.returned
    }

    /// allocated = commissioned + scrapped + sampled + invalidated + returned.
    pub fn balances(&self) -> bool {
        self.allocated == self.accounted()
    }

    /// Allocated serials not yet in a final state (negative means more accounted than allocated).
    pub fn outstanding(&self) -> i128 {
        i128::from(self.allocated) - i128::from(self.accounted())
    }

    /// One line for the operator: the equation with its numbers.
    pub fn describe(&self) -> String {
        format!(
            "allocated {} = commissioned {} + scrapped {} + sampled {} + invalidated {} + returned {} ({})",
            self.allocated,
            self.commissioned,
            self.scrapped,
            self.sampled,
            self.invalidated,
            self.returned,
            if self.balances() {
                "balanced".to_string()
            } else {
                format!("off by {}", self.outstanding())
            }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn balances_only_when_every_serial_is_accounted_for() {
        let mut counts = Reconciliation {
            allocated: 10,
            commissioned: 6,
            scrapped: 2,
            returned: 2,
            ..Default::default()
        };
        assert!(counts.balances());
        counts.invalidated += 1;
        assert!(!counts.balances());
        assert_eq!(counts.outstanding(), -1);
        assert!(counts.describe().contains("off by -1"));
    }
}
