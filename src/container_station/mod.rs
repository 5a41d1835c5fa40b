//! Container stations on the line. The pallet station (`pallet.rs`, decisions;
//! `run.rs`, its sockets and terminal) stacks cases onto pallets as the stacker's
//! fixed scanner reads them, closes each pallet at capacity or on the operator's
//! word, prints its logistic label and verifies it with the label scanner.
//! `label.rs` makes any stored container's label (content and ZPL), also for
//! `container label --print`. ARCHITECTURE.md, "Aggregation", has the flow and
//! the cell's wire protocol.

pub mod label;
pub mod pallet;
pub mod run;

pub use label::container_label;
pub use pallet::{CaseRead, CellIo, PalletSettings, PalletStation};
pub use run::{PalletStationOptions, run};
