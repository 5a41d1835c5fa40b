//! GS1 identifiers for the whole station: the Application Identifier table of the
//! GS1 Barcode Syntax Dictionary, element strings in every read form (bracketed HRI,
//! FNC1 notation, raw scan data, GS1 Digital Link), EPC URIs, and the healthcare
//! policy for codes the line generates.
//!
//! Pure logic, no I/O: every function here is deterministic and safe on any input
//! (the one exception is reading the system clock for the current year when the
//! caller does not pass one).
//!
//! This is its own crate (inside `src/gs1/`) because the vision module in `devices/`
//! and the simulator need it too, and the root package depends on both.

#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod ai;
pub mod ai_table;
pub mod cset;
pub mod data;
pub mod date;
pub mod dictionary;
pub mod digital_link;
pub mod element;
pub mod epc;
pub mod error;
pub mod key;
pub mod lint;
pub mod policy;
pub mod read;
pub mod validate;

pub use date::Gs1Date;
pub use element::{AiValue, ElementString};
pub use error::{Gs1Error, Gs1ErrorKind};
pub use key::{Gtin, Sscc, check_digit};
