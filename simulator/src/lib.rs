//! A simulated packaging line on loopback: conveyor and PLC (Modbus/TCP), printers
//! (TIJ, ZPL) and cameras (smart, image) with fault injection, a control endpoint,
//! and a ground-truth log of every physical item.
//!
//! The core model is pure and deterministic ([`model`]); [`runtime`] runs it in real
//! time behind real sockets. Start a line with [`Simulator::start`]. [`inprocess`]
//! serves the same line in-process on virtual time, for the whole-station simulation.
//! [`pallet_cell`] is the cell after the line: a stacker's scanner, a label printer
//! and a label scanner, for the pallet station.

#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod camera;
pub mod case_cell;
pub mod config;
pub mod control;
pub mod faults;
pub mod ground_truth;
pub mod imaging;
pub mod inprocess;
pub mod label_station;
pub mod model;
pub mod pallet_cell;
pub mod plc;
pub mod printer;
pub mod runtime;
pub mod site_server;

pub use config::SimConfig;
pub use control::{Control, ControlRequest};
pub use ground_truth::{GroundTruth, ItemRecord, PhysicalExit};
pub use runtime::{Addresses, RunningSimulator, Simulator, StartError};
