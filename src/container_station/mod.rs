//! Container stations on the line. The case station (`case.rs`, decisions;
//! `case_run.rs`, its PLC, camera, printer and terminal) checks every closed case
//! against what the tracking put into it, builds it in the store, labels it and
//! verifies the label before the case packer releases it. The pallet station
//! (`pallet.rs`, decisions; `run.rs`, its sockets and terminal) stacks cases onto
//! pallets as the stacker's fixed scanner reads them, closes each pallet at
//! capacity or on the operator's word, prints its logistic label and verifies it
//! with the label scanner. `label.rs` makes any stored container's label (content
//! and ZPL), also for `container label --print`; `devices.rs` holds what both
//! stations' I/O shares (the label printer, the operator's terminal, the batch's
//! level from its product's hierarchy).
//! ARCHITECTURE.md, "Aggregation", has the flow and the cells' wire protocols.

pub mod case;
pub mod case_run;
pub mod devices;
pub mod label;
pub mod pallet;
pub mod run;

pub use case::{CaseCellIo, CaseExit, CaseSettings, CaseStation, Handled};
pub use label::container_label;
pub use pallet::{CaseRead, CellIo, PalletSettings, PalletStation};
pub use run::{PalletStationOptions, run};

/// A scanner's no-read string: `NOREAD`, `NO READ`, `ERROR`, `NR`, or an empty
/// line.
pub(crate) fn is_no_read(line: &str) -> bool {
    let word: String = line
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase();
    matches!(word.as_str(), "" | "NOREAD" | "ERROR" | "NR")
}
