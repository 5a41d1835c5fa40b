//! Serial-number states (OPEN-SCS `OPENSCSSerialNumberStateEnum`, OPC 30260) and
//! the one table of transitions the station allows. Pure logic: the same table is
//! written into the database by the first migration, where a trigger refuses every
//! other transition even for raw SQL.
//!
//! Allowed transitions (every other change of state is refused):
//!
//! | from          | to            | why                                                               |
//! |---------------|---------------|-------------------------------------------------------------------|
//! | Unassigned    | Unallocated   | a serial assigned to this station's pool                          |
//! | Unallocated   | Allocated     | reserved for a batch, write-ahead, before it may reach a printer  |
//! | Unallocated   | SNInvalid     | withdrawn from the pool unused (e.g. a pool recalled by its owner) |
//! | Allocated     | Encoded       | the printer acknowledged printing it                              |
//! | Allocated     | Unallocated   | ONLY with printer proof that it was never printed                 |
//! | Allocated     | SNInvalid     | anything uncertain (crash, lost acknowledgement): never used again |
//! | Encoded       | Commissioned  | good verdict, item confirmed past the reject gate                 |
//! | Encoded       | LabelScrapped | rejected item, physically removed                                 |
//! | Encoded       | LabelSampled  | printed item taken for QA before commissioning                    |
//! | Encoded       | SNInvalid     | printed, but its fate cannot be established                       |
//! | Commissioned  | Sampled       | QA sample of a commissioned item                                  |
//! | Commissioned  | Inactive      | decommissioned (damage, rework); its serial is never re-used       |
//! | Commissioned  | Destroyed     | commissioned item destroyed                                       |
//! | Inactive      | Destroyed     | a decommissioned item that is then destroyed                      |
//! | Sampled       | Destroyed     | a QA sample consumed by testing                                   |
//!
//! A serial moves forward only. The one way back, Allocated to Unallocated, needs
//! printer proof (the store's `return_unprinted` takes it explicitly and the database
//! refuses the change without a proof row). Inactive to Commissioned is refused:
//! re-commissioning needs a new serial. SNInvalid, LabelScrapped, LabelSampled,
//! Destroyed and Released are final for the station; Released is set by site systems,
//! never by the station.

use std::fmt;

/// The OPEN-SCS serial-number states; the discriminant is the OPC UA enum value and
/// the integer stored in the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum SerialState {
    Unassigned = 0,
    Unallocated = 1,
    Allocated = 2,
    SnInvalid = 3,
    Encoded = 4,
    LabelSampled = 5,
    LabelScrapped = 6,
    Commissioned = 7,
    Sampled = 8,
    Inactive = 9,
    Destroyed = 10,
    Released = 11,
}

impl SerialState {
    /// Every state, in enum order.
    pub const ALL: [SerialState; 12] = [
        SerialState::Unassigned,
        SerialState::Unallocated,
        SerialState::Allocated,
        SerialState::SnInvalid,
        SerialState::Encoded,
        SerialState::LabelSampled,
        SerialState::LabelScrapped,
        SerialState::Commissioned,
        SerialState::Sampled,
        SerialState::Inactive,
        SerialState::Destroyed,
        SerialState::Released,
    ];

    /// The OPEN-SCS enum value (also the database value).
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The state with this OPEN-SCS enum value.
    pub fn from_code(code: i64) -> Option<SerialState> {
        usize::try_from(code)
            .ok()
            .and_then(|i| SerialState::ALL.get(i).copied())
    }

    /// The OPEN-SCS name, e.g. `SNInvalid`.
    pub fn name(self) -> &'static str {
        match self {
            SerialState::Unassigned => "Unassigned",
            SerialState::Unallocated => "Unallocated",
            SerialState::Allocated => "Allocated",
            SerialState::SnInvalid => "SNInvalid",
            SerialState::Encoded => "Encoded",
            SerialState::LabelSampled => "LabelSampled",
            SerialState::LabelScrapped => "LabelScrapped",
            SerialState::Commissioned => "Commissioned",
            SerialState::Sampled => "Sampled",
            SerialState::Inactive => "Inactive",
            SerialState::Destroyed => "Destroyed",
            SerialState::Released => "Released",
        }
    }
}

impl fmt::Display for SerialState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The allowed transitions, exactly the table in the module documentation.
pub const ALLOWED_TRANSITIONS: [(SerialState, SerialState); 15] = {
    use SerialState::*;
    [
        (Unassigned, Unallocated),
        (Unallocated, Allocated),
        (Unallocated, SnInvalid),
        (Allocated, Encoded),
        (Allocated, Unallocated),
        (Allocated, SnInvalid),
        (Encoded, Commissioned),
        (Encoded, LabelScrapped),
        (Encoded, LabelSampled),
        (Encoded, SnInvalid),
        (Commissioned, Sampled),
        (Commissioned, Inactive),
        (Commissioned, Destroyed),
        (Inactive, Destroyed),
        (Sampled, Destroyed),
    ]
};

/// True if a serial may move from `from` to `to`. Staying in the same state is not a
/// transition and returns false.
pub fn can_transition(from: SerialState, to: SerialState) -> bool {
    ALLOWED_TRANSITIONS.contains(&(from, to))
}

/// True if moving from `from` to `to` needs printer proof (Allocated back to Unallocated).
pub fn needs_printer_proof(from: SerialState, to: SerialState) -> bool {
    from == SerialState::Allocated && to == SerialState::Unallocated
}

#[cfg(test)]
mod tests {
    use super::SerialState::*;
    use super::*;

    /// The expected answer for every one of the 144 pairs, written out independently
    /// of `ALLOWED_TRANSITIONS`.
    fn expected(from: SerialState, to: SerialState) -> bool {
        matches!(
            (from, to),
            (Unassigned, Unallocated)
                | (Unallocated, Allocated)
                | (Unallocated, SnInvalid)
                | (Allocated, Encoded)
                | (Allocated, Unallocated)
                | (Allocated, SnInvalid)
                | (Encoded, Commissioned)
                | (Encoded, LabelScrapped)
                | (Encoded, LabelSampled)
                | (Encoded, SnInvalid)
                | (Commissioned, Sampled)
                | (Commissioned, Inactive)
                | (Commissioned, Destroyed)
                | (Inactive, Destroyed)
                | (Sampled, Destroyed)
        )
    }

    #[test]
    fn every_pair_of_states_is_decided_as_the_table_says() {
        for from in SerialState::ALL {
            for to in SerialState::ALL {
                assert_eq!(
                    can_transition(from, to),
                    expected(from, to),
                    "{from} -> {to}"
                );
            }
        }
    }

    #[test]
    fn codes_are_the_open_scs_enum_values_and_round_trip() {
        for (i, s) in SerialState::ALL.iter().enumerate() {
            assert_eq!(s.code() as usize, i);
            assert_eq!(SerialState::from_code(i as i64), Some(*s));
        }
        assert_eq!(SerialState::from_code(12), None);
        assert_eq!(SerialState::from_code(-1), None);
        assert_eq!(SnInvalid.code(), 3);
        assert_eq!(Commissioned.code(), 7);
        assert_eq!(Released.code(), 11);
    }

    #[test]
    fn no_way_back_except_proven_return() {
        // Lifecycle rank: pool states, then reserved, then printed, then everything after.
        let rank = |s: SerialState| match s {
            Unassigned => 0,
            Unallocated => 1,
            Allocated => 2,
            Encoded => 3,
            Commissioned | SnInvalid | LabelSampled | LabelScrapped => 4,
            Sampled | Inactive | Released => 5,
            Destroyed => 6,
        };
        for (from, to) in ALLOWED_TRANSITIONS {
            if rank(to) <= rank(from) {
                assert!(
                    needs_printer_proof(from, to),
                    "{from} -> {to} goes back without proof"
                );
            }
        }
        assert!(!can_transition(Inactive, Commissioned));
        assert!(!can_transition(LabelScrapped, Commissioned));
        assert!(!can_transition(Encoded, Unallocated));
        assert!(!can_transition(Unallocated, Encoded));
    }

    #[test]
    fn final_states_have_no_way_out() {
        for s in [SnInvalid, LabelScrapped, LabelSampled, Destroyed, Released] {
            for to in SerialState::ALL {
                assert!(!can_transition(s, to), "{s} -> {to}");
            }
        }
    }
}
