//! serialstation: a line-side serialization station controller for pharmaceutical
//! packaging lines. The binary's entry point is [`cli::main`].
//!
//! Concerns, one folder each; dependencies point one way (`line` and `upload` use
//! `store` and `gs1`; `store` uses `gs1`; nothing points back up):
//! - `gs1` (crate `serialstation-gs1` in `src/gs1/`): identifiers and element strings.
//! - [`config`]: clients, products and line configuration files.
//! - [`pool`]: serial pool files and generation (pure logic).
//! - [`store`]: the SQLite store, every read and write of state.
//! - [`line`]: the per-item engine (a pure state machine).
//! - [`line_sim`]: the engine's deterministic simulation on the simulator's line model.
//! - [`cli`]: the command line.

#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub use serialstation_gs1 as gs1;

pub mod access;
pub mod aggregation;
pub mod cli;
pub mod config;
pub mod console;
pub mod container_station;
pub mod control;
pub mod daemon;
pub mod demo;
pub mod limits;
pub mod line;
pub mod line_sim;
pub mod net;
pub mod pool;
pub mod report;
pub mod station;
pub mod store;
pub mod upload;
