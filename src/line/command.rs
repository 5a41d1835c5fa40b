//! Everything the engine asks the outside world to do: persist a state transition,
//! ask the store for serials, drive the printer, write verdicts, start and stop the
//! line, raise alarms.
//!
//! Ordering contract: the daemon applies commands in the order given. Every command
//! that depends on a state transition comes after the [`Command::Persist`] for it, so
//! a daemon that makes each `Persist` durable before acting on any later command (a
//! group commit of consecutive persists is fine) never lets an action leave the
//! process before its record. The one exception is [`Command::StopLine`], a safety
//! action that never waits for the disk: it comes first, its record follows.

use super::reconcile::Reconciliation;
use super::types::{BatchId, Device, Grade, ItemFate, MessageId, RejectReason, Seq, Verdict};

/// One output of [`super::Engine::handle`].
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Make this transition durable before acting on any later command.
    Persist(Transition),
    /// Allocate (write-ahead, durably) up to `count` more serials to the batch and
    /// answer with [`super::Event::SerialsAllocated`].
    RequestSerials { batch: BatchId, count: u32 },
    /// Load one message into the printer's buffer.
    QueuePrint {
        message_id: MessageId,
        serial: String,
        encoder_data: String,
    },
    /// Clear the printer's buffer and answer with [`super::Event::PrinterBufferCleared`].
    ClearPrinterBuffer,
    /// Write a verdict into the PLC's verdict table for this item.
    WriteVerdict { seq: Seq, verdict: Verdict },
    /// Start (or restart) the conveyor.
    StartLine,
    /// Stop the conveyor now.
    StopLine { reason: String },
    /// Tell the operator.
    RaiseAlarm(Alarm),
}

/// A state change the store must record.
#[derive(Debug, Clone, PartialEq)]
pub enum Transition {
    /// The batch moved to a new state.
    BatchState {
        batch: BatchId,
        state: BatchState,
        reason: Option<String>,
    },
    /// A serial (still `Allocated`) is about to be sent to the printer as this message;
    /// lets recovery map the printer's never-printed ids back to serials.
    PrintQueued {
        message_id: MessageId,
        serial: String,
    },
    /// `Allocated` → `Encoded`: the printer acknowledged printing it.
    SerialEncoded {
        serial: String,
        message_id: MessageId,
    },
    /// `Encoded` → `Commissioned`: verified good and past the gate.
    SerialCommissioned { serial: String, seq: Seq },
    /// `Encoded` → `LabelScrapped`: printed but never verified good, or on a rejected item.
    SerialScrapped {
        serial: String,
        seq: Option<Seq>,
        cause: ScrapCause,
    },
    /// `Allocated` → `Unallocated`: proven never printed.
    SerialReturned { serial: String, proof: ReturnProof },
    /// `Allocated` → `SNInvalid`: it may or may not have been printed.
    SerialInvalidated {
        serial: String,
        cause: InvalidationCause,
    },
    /// The verdict for an item (written before the verdict goes to the PLC).
    ItemVerdict {
        seq: Seq,
        verdict: Verdict,
        reason: Option<RejectReason>,
        serial: Option<String>,
        grade: Option<Grade>,
    },
    /// What the PLC reported about an item at the gate.
    ItemFate {
        seq: Seq,
        fate: ItemFate,
        serial: Option<String>,
    },
    /// The batch is closed with these counts (and the recorded reason if they do not balance).
    BatchClosed {
        batch: BatchId,
        counts: Reconciliation,
        unbalanced_reason: Option<String>,
    },
}

/// The batch states the store records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BatchState {
    /// Challenge test running: known-bad items are being fed.
    Challenge,
    /// Producing.
    Running,
    /// Held: the line is stopped until resumed (operator, device, reject supervision).
    Paused,
    /// No more prints; in-flight items finish.
    Stopping,
    /// Stopped; can be closed.
    Stopped,
    /// The challenge test failed; the batch never produced. Can be closed.
    ChallengeFailed,
    /// Closed; reconciled.
    Closed,
}

impl BatchState {
    pub fn as_str(self) -> &'static str {
        match self {
            BatchState::Challenge => "challenge",
            BatchState::Running => "running",
            BatchState::Paused => "paused",
            BatchState::Stopping => "stopping",
            BatchState::Stopped => "stopped",
            BatchState::ChallengeFailed => "challenge_failed",
            BatchState::Closed => "closed",
        }
    }
}

/// Why an encoded serial was scrapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScrapCause {
    /// Read on an item that went to the reject bin (or was rejected in any way).
    ItemRejected,
    /// Read on an item that left without a GOOD verdict (the PLC let it through).
    ItemEscapedWithoutGood,
    /// Printed but never verified good before its item passed the gate.
    NeverVerified,
    /// The item's fate was never learned (abandoned at stop, or missing from the PLC).
    FateUnknown,
}

/// The proof that lets a serial go back to `Unallocated`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReturnProof {
    /// The printer's buffer-clear report listed this message as never printed.
    PrinterReportedUnprinted { message_id: MessageId },
    /// It never left the process: it was never queued to a printer.
    NeverSentToPrinter,
}

/// Why an allocated serial was invalidated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InvalidationCause {
    /// The printer acknowledged a later message first; this one may have printed.
    AcknowledgementMissing,
    /// Queued, but the printer's clear report did not list it as unprinted.
    NotReportedUnprinted,
    /// Queued to a printer that could not be cleared (batch stopped while it was down).
    PrinterUnreachable,
    /// The serial cannot be encoded with the product's code template.
    NotEncodable,
}

/// Something the operator must know about.
#[derive(Debug, Clone, PartialEq)]
pub struct Alarm {
    pub kind: AlarmKind,
    /// One plain sentence: what happened and what to do.
    pub message: String,
}

/// Alarm categories, for filtering and counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlarmKind {
    DeviceDown(Device),
    ConsecutiveRejects,
    RejectNotConfirmed,
    /// An item left through the good exit without a GOOD verdict: retrieve it.
    ItemEscaped,
    PlcAlarm,
    SerialsExhausted,
    /// A device reported something that does not fit (unknown message id, result for
    /// an unknown item, a second result for an item).
    DeviceInconsistency,
    ChallengeFailed,
    /// A result or fate came for an item the engine had already resolved.
    LateReport,
}
