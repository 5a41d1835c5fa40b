//! The per-item engine: a pure state machine, events in, commands out.
//!
//! The engine runs one batch at a time through the per-item loop described in ARCHITECTURE.md ("One item through the code"):
//! it keeps the printer's buffer topped up from write-ahead allocated serial
//! blocks, matches every camera read to its item by the PLC's sequence number,
//! decides GOOD or REJECT by the rules of [`decision`], supervises rejects (an
//! unconfirmed reject or N rejects in a row stop the line; a device that goes away
//! holds the batch), commissions only items the PLC reports past the gate with a
//! GOOD verdict, scraps every other printed serial, and keeps the reconciliation
//! counts that must balance at close.
//!
//! It does no I/O: the daemon turns socket traffic into [`Event`]s and applies the
//! [`Command`]s in order, making each [`Command::Persist`] durable before acting on
//! the commands after it. The same engine runs under the deterministic simulation
//! in `crate::line_sim`, which lives outside this module so that the engine never
//! depends on the simulator.
//!
//! Module map: [`types`] (value types), [`event`] and [`command`] (the interface),
//! [`config`], [`batch`] (lifecycle and start checks), [`printing`] (serial supply
//! and printer buffer), [`tracking`] (items by seq), [`decision`] (the rules),
//! [`supervision`] (holds, devices, reject streak), [`reconcile`] (counts),
//! [`engine`] (the wiring).

pub mod command;
pub mod config;
pub mod decision;
pub mod engine;
pub mod error;
pub mod event;
pub mod reconcile;
pub mod supervision;
pub mod types;

mod batch;
mod printing;
mod tracking;

pub use command::{
    Alarm, AlarmKind, BatchState, Command, InvalidationCause, ReturnProof, ScrapCause, Transition,
};
pub use config::{DecisionWindow, EngineConfig};
pub use engine::{BatchStats, BatchStatus, Engine};
pub use error::{OperatorError, OperatorErrorKind};
pub use event::{
    BatchRecovery, BatchStart, CodeTemplate, Event, OperatorCommand, PlcAlarms, PlcCounters,
    ProductSpec, RecoveredItem, TemplateField,
};
pub use reconcile::Reconciliation;
pub use supervision::HoldReason;
pub use types::{
    BatchId, Device, Grade, ItemFate, MessageId, RejectReason, Seq, SymbologyId, Verdict,
};

/// Checks a batch's parameters as the engine will at start (product template, lot,
/// expiry, quantity against the pool, devices), without starting anything: lets the
/// daemon refuse a batch before the store records it.
pub fn check_batch_start(start: &BatchStart, offline: &[Device]) -> Result<(), OperatorError> {
    batch::check_start(start, offline).map(|_| ())
}
