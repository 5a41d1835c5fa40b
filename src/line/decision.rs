//! The decision rules for one camera read, as a pure function: a GS1 DataMatrix
//! (`]d2`) whose data is a valid GS1 element string, equal in every AI to what was
//! sent for an acknowledged, not yet verified print of this batch, not seen before,
//! with a grade at or above the product's minimum. Anything else is a reject with
//! the first reason that applies.
//!
//! Duplicates across the store: a read can only be GOOD for a candidate, i.e. a serial
//! the store allocated to this batch (it allocates only `Unallocated` serials, and a
//! serial that was ever printed never goes back there) and the printer acknowledged
//! in this batch. So a GOOD serial was never seen before anywhere in the store; the
//! set of serials verified in this batch only names the reason `duplicate` when the
//! same code is read a second time.

use crate::gs1::ElementString;

use super::types::{Grade, RejectReason, SymbologyId};

/// What the engine knows about the serial a read names.
#[derive(Debug, Clone, Copy)]
pub enum SerialStatus<'a> {
    /// Acknowledged printed in this batch, not yet verified: this is what was sent.
    Candidate(&'a ElementString),
    /// Already verified good in this batch.
    VerifiedBefore,
    /// Not an acknowledged, unverified print of this batch.
    Unknown,
}

/// The outcome of the rules for one read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Good {
        serial: String,
    },
    /// `identified` is a candidate serial that is physically on this (rejected) item.
    Reject {
        reason: RejectReason,
        identified: Option<String>,
    },
}

impl Decision {
    fn reject(reason: RejectReason) -> Decision {
        Decision::Reject {
            reason,
            identified: None,
        }
    }
}

/// Decides one read. `lookup` tells what the engine knows about a serial.
pub fn decide<'a>(
    symbology: SymbologyId,
    data: &str,
    grade: Grade,
    min_grade: Grade,
    lookup: impl FnOnce(&str) -> SerialStatus<'a>,
) -> Decision {
    if symbology != SymbologyId::GS1_DATAMATRIX {
        return Decision::reject(RejectReason::NotGs1);
    }
    let mut scan = String::with_capacity(data.len() + 3);
    scan.push_str("]d2");
    scan.push_str(data);
    let read = match ElementString::parse(&scan) {
        Ok(read) => read,
        Err(_) => return Decision::reject(RejectReason::InvalidData),
    };
    let Some(serial) = read.get("21") else {
        return Decision::reject(RejectReason::Mismatch);
    };
    let expected = match lookup(serial) {
        SerialStatus::Candidate(expected) => expected,
        SerialStatus::VerifiedBefore => return Decision::reject(RejectReason::Duplicate),
        SerialStatus::Unknown => return Decision::reject(RejectReason::Mismatch),
    };
    let identified = Some(serial.to_string());
    if read.ais() != expected.ais() {
        return Decision::Reject {
            reason: RejectReason::Mismatch,
            identified,
        };
    }
    if grade < min_grade {
        return Decision::Reject {
            reason: RejectReason::Grade,
            identified,
        };
    }
    Decision::Good {
        serial: serial.to_string(),
    }
}
