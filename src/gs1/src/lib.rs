//! GS1 identifiers for the whole station: the Application Identifier table of the
//! GS1 Barcode Syntax Dictionary, element strings in every read form (bracketed HRI,
//! FNC1 notation, raw scan data, GS1 Digital Link), EPC URIs, and the healthcare
//! policy for codes the line generates.
//!
//! Pure logic, no I/O: every function here is deterministic and safe on any input.
//!
//! This is its own crate (inside `src/gs1/`) because the vision module in `devices/`
//! and the simulator need it too, and the root package depends on both.

pub mod error;
pub mod key;
pub mod date;
pub mod cset;
pub mod element;
pub mod digital_link;
pub mod epc;
pub mod policy;

pub use error::{Gs1Error, Gs1ErrorKind};
pub use element::{AiValue, ElementString};
pub use key::{check_digit, Gtin};
pub use date::Gs1Date;
