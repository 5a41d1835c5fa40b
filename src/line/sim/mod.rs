//! The deterministic line simulation: a seeded, in-process model of the line (conveyor,
//! printer, camera, PLC gate, with their faults), a model store that enforces the serial
//! state machine and the persist-before-act ordering, and a driver that runs the engine
//! against them and checks the invariants after every step. Used by the simulation test
//! and the engine benchmark; a run depends on its seed alone.

pub mod faults;
pub mod ledger;
pub mod line_model;
pub mod rng;
pub mod run;

pub use faults::FaultProfile;
pub use line_model::Geometry;
pub use run::{SimFailure, SimReport, SimSettings, run_seed};
