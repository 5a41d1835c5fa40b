//! The small device traits the line engine codes against (`Printer`, `Camera`,
//! `LineIo`), the typed events every driver reports, and the driver error type.
//! Methods return boxed futures so a daemon can hold `Box<dyn Printer>` for
//! whichever printer a line has.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use crate::plc::register_map::{FateCode, FateSlot, LineStatus, PackMlCommand};
use crate::readout::CameraReadout;

/// The future every device method returns.
pub type DeviceFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, DeviceError>> + Send + 'a>>;

/// State of the connection to a device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkState {
    /// Connected; requests go through.
    Up,
    /// Not connected; the driver is retrying with backoff. `reason` says what went wrong.
    Down { reason: String },
}

/// A printer's overall condition, whatever its protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrinterStatus {
    /// True when it prints on product detect (running, no fault).
    pub ready: bool,
    /// The selected job, when the protocol has jobs.
    pub job: Option<String>,
    /// Current faults, in plain words with what to do.
    pub faults: Vec<String>,
    /// Messages waiting in the printer's buffer, when known.
    pub buffer_level: Option<u32>,
}

/// What happened at a device.
#[derive(Debug, Clone, PartialEq)]
pub enum DeviceEventKind {
    /// The link went up or down.
    Link(LinkState),
    /// Bytes from the device made no sense; they were dropped and the decoder resynchronised.
    ProtocolError(String),
    /// The printer printed the message with this host-chosen id.
    PrintComplete { message_id: u32 },
    /// The printer's condition changed (state, faults).
    PrinterStatus(PrinterStatus),
    /// A camera result for one item.
    CameraResult(CameraReadout),
    /// The PLC's status block changed in line state or alarms (polled).
    LineStatus(LineStatus),
    /// The PLC recorded this item's fate at the gate.
    ItemFate { seq: u32, fate: FateCode },
    /// Fates of these seqs were overwritten in the PLC's ring before they could be read
    /// (the driver was away too long); recover them from the counters or treat them as unknown.
    /// `first_seq` and the `count - 1` seqs after it (wrapping).
    FatesLost { first_seq: u32, count: u32 },
}

/// One event, tagged with the device's configured name.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceEvent {
    pub device: String,
    pub kind: DeviceEventKind,
}

/// Why a device request failed. Every message says what to check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeviceError {
    #[error(
        "{device} is not connected ({reason}); check that it is powered and reachable, the driver keeps retrying"
    )]
    NotConnected { device: String, reason: String },
    #[error(
        "{device} did not answer {request} within {after:?}; the connection is being re-established"
    )]
    Timeout {
        device: String,
        request: String,
        after: Duration,
    },
    #[error("{device} refused {request}: {detail}")]
    Refused {
        device: String,
        request: String,
        detail: String,
    },
    #[error("{device} answered {request} with something unexpected: {detail}")]
    Protocol {
        device: String,
        request: String,
        detail: String,
    },
    #[error("request to {device} is invalid: {detail}")]
    InvalidRequest { device: String, detail: String },
    #[error("{device}: the driver has stopped")]
    Stopped { device: String },
}

/// A printer with a FIFO buffer of host-numbered messages.
pub trait Printer: Send + Sync {
    /// The configured device name (used in events and errors).
    fn name(&self) -> &str;
    /// Select the job (layout) whose variable field takes the queued data.
    fn select_job<'a>(&'a self, job: &'a str) -> DeviceFuture<'a, ()>;
    /// Append one message to the buffer; `data` is a GS1 element string with GS separators.
    fn queue_message<'a>(&'a self, message_id: u32, data: &'a [u8]) -> DeviceFuture<'a, ()>;
    /// Messages waiting in the buffer.
    fn buffer_level(&self) -> DeviceFuture<'_, u32>;
    /// Empty the buffer; returns the ids that were queued and are proven never printed.
    fn clear_buffer(&self) -> DeviceFuture<'_, Vec<u32>>;
    /// Current condition.
    fn status(&self) -> DeviceFuture<'_, PrinterStatus>;
    /// Start (print on product detect) or stop printing.
    fn set_running(&self, running: bool) -> DeviceFuture<'_, ()>;
}

/// A camera that reports one result per triggered item, as `CameraResult` events.
pub trait Camera: Send + Sync {
    fn name(&self) -> &str;
    /// Arm (react to the PLC's hardware trigger) or disarm.
    fn set_armed(&self, armed: bool) -> DeviceFuture<'_, ()>;
    /// Software trigger for item `seq`. Cameras that number triggers themselves
    /// (the smart camera) report their own index instead.
    fn trigger(&self, seq: u32) -> DeviceFuture<'_, ()>;
}

/// The line PLC: counters, verdicts, fates, line state and commands.
pub trait LineIo: Send + Sync {
    fn name(&self) -> &str;
    /// One consistent snapshot of the status block.
    fn read_status(&self) -> DeviceFuture<'_, LineStatus>;
    /// Write the verdict for item `seq` (true = GOOD, false = REJECT).
    fn write_verdict(&self, seq: u32, good: bool) -> DeviceFuture<'_, ()>;
    /// Send a PackML command.
    fn command(&self, command: PackMlCommand) -> DeviceFuture<'_, ()>;
    /// Set the consecutive-reject limit (1..=1000).
    fn set_consecutive_reject_limit(&self, limit: u16) -> DeviceFuture<'_, ()>;
    /// Read the fate slots of `first_seq` and the `count - 1` seqs after it (wrapping,
    /// count at most 256); returns only the slots that hold exactly those seqs (a
    /// missing seq has no fate yet, or its slot was overwritten).
    fn read_fates(&self, first_seq: u32, count: u16) -> DeviceFuture<'_, Vec<FateSlot>>;
}
