//! Everything that can happen to the engine: operator commands (with the batch
//! parameters), serial blocks from the store, printer, camera and PLC reports,
//! device up/down and the passage of time. The daemon turns what it hears on its
//! sockets into these values; the simulation test produces them from its line model.

use crate::gs1::{Gs1Date, Gtin};

use super::types::{BatchId, Device, Grade, ItemFate, MessageId, Seq, SymbologyId};

/// One input to [`super::Engine::handle`].
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// An operator (or the daemon acting for one) asks for something.
    Operator(OperatorCommand),
    /// A block of serials that the store has durably marked `Allocated` to the batch.
    SerialsAllocated {
        serials: Vec<String>,
    },
    /// The store could not allocate serials (pool empty, store error).
    SerialAllocationFailed {
        reason: String,
    },
    /// The printer's print-complete notification for a queued message.
    PrintAcknowledged {
        message_id: MessageId,
    },
    /// The printer's answer to a buffer clear: the messages it never printed.
    PrinterBufferCleared {
        never_printed: Vec<MessageId>,
    },
    /// What the camera read for the item with this seq (its trigger index).
    CameraResult {
        seq: Seq,
        symbology: SymbologyId,
        data: String,
        grade: Grade,
    },
    /// The camera found no code on the item with this seq.
    CameraNoRead {
        seq: Seq,
    },
    /// The PLC triggered the camera for this item; `encoder` is the count at the trigger.
    ItemAtCamera {
        seq: Seq,
        encoder: u32,
    },
    /// What happened to this item at the reject gate. The daemon delivers fates in seq
    /// order (the gate is a FIFO).
    ItemFateReported {
        seq: Seq,
        fate: ItemFate,
    },
    /// The PLC's counters, polled.
    PlcCounters(PlcCounters),
    /// The PLC's alarm bits, polled; any set bit means the PLC has stopped the line.
    PlcAlarms(PlcAlarms),
    DeviceUp(Device),
    DeviceDown(Device),
    /// Monotonic time in milliseconds (the engine has no clock of its own).
    Tick {
        now_ms: u64,
    },
}

/// The PLC counters the engine uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PlcCounters {
    /// The conveyor's encoder count (wrapping u32).
    pub encoder: u32,
    /// Items counted at the camera trigger (wrapping).
    pub items_at_camera: u32,
    pub good_exits: u32,
    pub reject_confirms: u32,
}

/// The PLC's alarm bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PlcAlarms {
    pub reject_not_confirmed: bool,
    pub bin_full: bool,
    pub bin_door_open: bool,
    pub consecutive_rejects: bool,
    pub jam: bool,
}

impl PlcAlarms {
    pub fn any(&self) -> bool {
        self.reject_not_confirmed
            || self.bin_full
            || self.bin_door_open
            || self.consecutive_rejects
            || self.jam
    }

    /// The set alarms, as plain words for the operator.
    pub fn describe(&self) -> String {
        let mut words = Vec::new();
        if self.reject_not_confirmed {
            words.push("reject not confirmed");
        }
        if self.bin_full {
            words.push("reject bin full");
        }
        if self.bin_door_open {
            words.push("reject bin door open");
        }
        if self.consecutive_rejects {
            words.push("too many consecutive rejects");
        }
        if self.jam {
            words.push("jam");
        }
        words.join(", ")
    }
}

/// What an operator can ask of the line.
#[derive(Debug, Clone, PartialEq)]
pub enum OperatorCommand {
    Start(Box<BatchStart>),
    Pause,
    Resume,
    /// Stop the batch: no more prints, in-flight items finish, unprinted serials go
    /// back with the printer's proof. With `abandon_in_flight`, items whose fate is
    /// still unknown are counted as rejected (used when a device cannot come back).
    Stop {
        abandon_in_flight: bool,
    },
    /// Close a stopped batch. A batch whose reconciliation does not balance needs a
    /// reason, which is recorded. `store_counts` are the store's own counts for the
    /// batch; when given they must balance too and agree with the engine's.
    Close {
        reason: Option<String>,
        store_counts: Option<super::Reconciliation>,
    },
    /// Take over a batch that was running when the daemon stopped, after the daemon's
    /// start-up recovery has settled every serial in the store. The batch comes back
    /// held (paused) until the operator resumes it.
    Recover(Box<BatchRecovery>),
    /// An operator took this commissioned serial of the active batch out as a QA
    /// sample; the store has recorded Commissioned → Sampled. The batch counts it as
    /// sampled, so one more item is produced to reach the quantity.
    Sampled {
        serial: String,
    },
    /// Go on producing after a failed challenge test: signed by the person who
    /// takes responsibility (the daemon checks the signature). The batch comes back
    /// paused, for a normal resume once the line is checked.
    OverrideChallenge,
}

/// A batch to take over after a restart.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchRecovery {
    /// The batch's parameters as recorded at its start. `pool_available` is the pool
    /// now (checked against what is still to produce); `first_message_id` must be above
    /// every message id used before; `challenge_items` is ignored.
    pub start: BatchStart,
    /// The store's counts for the batch after recovery: they balance but for the
    /// serials of `in_flight`, which are still outstanding.
    pub counts: super::Reconciliation,
    /// The batch was stopping when the daemon went away.
    pub stopping: bool,
    /// Items of the previous run still on the line without a final fate. Recovery
    /// wrote REJECT for each and held the line; the engine settles them from the
    /// fates the PLC reports once the line runs again.
    pub in_flight: Vec<RecoveredItem>,
}

/// An item start-up recovery hands to the engine without a final fate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveredItem {
    pub seq: Seq,
    /// The serial verified GOOD on it, still outstanding: commissioned if the item
    /// leaves through the good exit (the gate released it before recovery's REJECT
    /// landed), scrapped if it is rejected. `None`: its serial is already settled,
    /// and the item leaving through the good exit is an escape.
    pub serial: Option<String>,
}

/// The parameters of a new batch.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchStart {
    pub batch: BatchId,
    pub product: ProductSpec,
    pub lot: String,
    /// Expiry as GS1 YYMMDD.
    pub expiry: String,
    /// Items to commission.
    pub quantity: u32,
    /// Unallocated serials in the pool for this GTIN, as the store counts them.
    pub pool_available: u64,
    /// Today's date (the engine has no calendar of its own).
    pub today: Gs1Date,
    /// The first printer message id of this batch.
    pub first_message_id: MessageId,
    /// Known-bad challenge items the operator will feed before production
    /// (0 = no challenge test).
    pub challenge_items: u32,
}

/// What the engine needs to know about the product.
#[derive(Debug, Clone, PartialEq)]
pub struct ProductSpec {
    pub gtin: Gtin,
    pub template: CodeTemplate,
    pub min_grade: Grade,
    /// This many rejects in a row stop the line.
    pub consecutive_reject_limit: u32,
}

/// Which AIs the code carries, in which order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeTemplate {
    pub fields: Vec<TemplateField>,
}

impl CodeTemplate {
    /// The usual pharma code: (01) GTIN, (17) expiry, (10) lot, (21) serial.
    pub fn standard() -> CodeTemplate {
        CodeTemplate {
            fields: vec![
                TemplateField::Gtin,
                TemplateField::Expiry,
                TemplateField::Lot,
                TemplateField::Serial,
            ],
        }
    }
}

/// One element of a code template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateField {
    /// (01) the product's GTIN.
    Gtin,
    /// (17) the batch expiry.
    Expiry,
    /// (10) the batch lot.
    Lot,
    /// (21) the item's serial.
    Serial,
    /// Any other AI with a value fixed for the product (e.g. a national number, 710–717).
    Fixed { ai: String, value: String },
}
