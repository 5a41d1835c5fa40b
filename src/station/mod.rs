//! The station runtime: the line engine wired to the store and the device drivers.
//!
//! `tuning` derives the engine's tuning from the line configuration; [`devices`]
//! starts the drivers; [`events`] turns driver reports into engine events and
//! [`records`] turns engine transitions into store records (both pure);
//! [`latency`] times each decision from camera readout to PLC write (pure);
//! [`product`] builds the engine's product spec; [`runtime`] is the event loop that
//! runs a batch with persistence before action.
//!
//! The runtime takes its devices, its clock and its store through narrow seams:
//! `Station::with_devices` accepts any implementation of the device traits (the real
//! drivers from [`devices::connect`], or the simulator's in-process line), its clock
//! is the tokio runtime's (virtual under a paused test clock), and the store is
//! handed in. `tests/station_simulation.rs` runs the whole station that way.

pub mod devices;
pub mod events;
pub mod latency;
pub mod policy;
pub mod product;
pub mod records;
pub mod recovery;
pub mod runtime;
mod tuning;

pub use runtime::{BatchOutcome, BatchRequest, Station, StationError};
