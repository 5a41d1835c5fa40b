//! The deterministic simulation of the line engine: the pure engine
//! ([`crate::line::Engine`]) driven against the simulator's own model of the line
//! (conveyor and PLC, printer, smart camera) with the simulator's fault catalogue and
//! its seeded fault table as the only source of randomness, a model store that
//! enforces the serial state machine and the persist-before-act ordering, and a
//! driver that plays the operator and checks the invariants after every step. A run
//! depends on its seed alone. Used by `tests/line_simulation.rs`; see ARCHITECTURE.md
//! ("Invariants and where they are enforced").
//!
//! Module map: [`sim_line`] (the simulator's line stepped a millisecond at a time,
//! with the device links, the PLC poll and the camera's latency between it and the
//! engine), [`truth`] (what happened to every item), [`ledger`] (the model store),
//! [`profiles`] (fault profiles), [`run`] (the driver and its checks).
//!
//! It lives beside `line`, not in it: the engine stays free of the simulator.

pub mod ledger;
pub mod profiles;
pub mod run;
pub mod sim_line;
pub mod truth;

pub use profiles::Faults;
pub use run::{SimFailure, SimReport, SimSettings, run_seed};
pub use sim_line::{SimLine, line_config};
