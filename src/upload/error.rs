//! The one error type of EPCIS document building: what was wrong with the input and
//! what to do about it. Every message is a plain sentence an operator can act on.

use serialstation_gs1::Gs1Error;

/// Why an EPCIS event or document could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentError {
    /// A timestamp or time-zone offset that EPCIS cannot carry.
    #[error("{0}")]
    Time(String),
    /// A read point or business location that is not an SGLN EPC URI.
    #[error("{0}")]
    Location(String),
    /// An EPC URI that cannot be used in an event.
    #[error("{0}")]
    Epc(String),
    /// Lot number, expiry date or other batch master data that cannot be reported.
    #[error("{0}")]
    MasterData(String),
    /// An event with nothing in it, or an event the chosen format cannot carry.
    #[error("{0}")]
    Event(String),
    /// Chunk limits that cannot be met (e.g. one event is larger than the byte limit).
    #[error("{0}")]
    Limits(String),
    /// A GS1 rule broken by a product or serial (from `serialstation-gs1`).
    #[error("{0}")]
    Gs1(#[from] Gs1Error),
}
