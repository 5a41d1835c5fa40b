//! `Printer` driver for a ZPL label printer over raw TCP. ZPL has no per-label
//! acknowledgement, so the driver numbers the labels it sends (FIFO) and infers
//! prints from the host status: when the formats in the printer's buffer drop
//! from n to m, the oldest outstanding labels were printed. That inference is the
//! pure [`PrintInference`]; this module does the I/O. `~HS` is also the
//! keep-alive; no answer within the timeout is a fault (a real printer stays
//! silent when media or ribbon is out or the head is open) and the link is
//! re-established.

use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::mpsc;

use super::host_status::{HostStatus, HostStatusError};
use super::label::{ZplCommand, ZplLabel};
use super::print_inference::{PauseSettle, PrintInference, printer_status};
use crate::framing::Decoded;
use crate::link::{LinkConfig, Routed, SessionHandle, StreamProtocol, spawn_session};
use crate::traits::{
    DeviceError, DeviceEvent, DeviceEventKind, DeviceFuture, Printer, PrinterStatus,
};

/// Where and how big the DataMatrix is printed on every label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LabelLayout {
    pub x: u16,
    pub y: u16,
    pub module_dots: u8,
}

impl Default for LabelLayout {
    fn default() -> Self {
        LabelLayout {
            x: 50,
            y: 50,
            module_dots: 8,
        }
    }
}

/// `~HS` polls while waiting for the printer to settle before cancelling its buffer.
const SETTLE_POLLS: usize = 50;

fn lock(tracking: &Mutex<PrintInference>) -> MutexGuard<'_, PrintInference> {
    // A poisoned lock only means another thread panicked mid-update; the data is a plain queue.
    tracking
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The ZPL protocol as the session task drives it.
pub struct ZplProtocol {
    tracking: Arc<Mutex<PrintInference>>,
}

impl StreamProtocol for ZplProtocol {
    type Request = ZplCommand;
    type Inbound = HostStatus;
    type DecodeError = HostStatusError;
    const MAX_BUFFER: usize = 4096;

    fn describe(&self, request: &ZplCommand) -> String {
        match request {
            ZplCommand::Label(_) => "label".into(),
            ZplCommand::HostStatus => {
                "~HS host status (no answer: media or ribbon out, head open, or over temperature)"
                    .into()
            }
            ZplCommand::Pause => "~PP pause".into(),
            ZplCommand::Resume => "~PS resume".into(),
            ZplCommand::CancelAll => "~JA cancel all".into(),
        }
    }

    fn encode(&mut self, request: &ZplCommand) -> Result<Vec<u8>, String> {
        request.encode().map_err(|error| error.to_string())
    }

    fn expects_reply(&self, request: &ZplCommand) -> bool {
        matches!(request, ZplCommand::HostStatus)
    }

    fn decode(&self, buf: &[u8]) -> Decoded<HostStatus, HostStatusError> {
        HostStatus::decode(buf)
    }

    fn route(&mut self, status: HostStatus, awaiting_reply: bool) -> Routed<HostStatus> {
        let mut events = lock(&self.tracking).on_status(&status);
        if !awaiting_reply {
            events.push(DeviceEventKind::ProtocolError(
                "host status arrived with no ~HS in flight; dropped".into(),
            ));
            return Routed {
                reply: None,
                events,
            };
        }
        Routed {
            reply: Some(status),
            events,
        }
    }

    fn keepalive(&mut self) -> Option<ZplCommand> {
        Some(ZplCommand::HostStatus)
    }
}

/// A ZPL label printer on the network.
#[derive(Clone)]
pub struct ZplPrinter {
    session: SessionHandle<ZplProtocol>,
    tracking: Arc<Mutex<PrintInference>>,
    layout: LabelLayout,
}

impl ZplPrinter {
    /// Starts the driver; every label puts one GS1 DataMatrix at `layout`.
    pub fn spawn(
        config: LinkConfig,
        layout: LabelLayout,
        events: mpsc::Sender<DeviceEvent>,
    ) -> Self {
        let tracking = Arc::new(Mutex::new(PrintInference::new()));
        let protocol = ZplProtocol {
            tracking: tracking.clone(),
        };
        ZplPrinter {
            session: spawn_session(config, protocol, events),
            tracking,
            layout,
        }
    }

    fn error(&self, request: &str, detail: impl Into<String>) -> DeviceError {
        DeviceError::Protocol {
            device: self.session.name().to_string(),
            request: request.into(),
            detail: detail.into(),
        }
    }

    /// Asks `~HS` and returns the answer.
    pub async fn host_status(&self) -> Result<HostStatus, DeviceError> {
        match self.session.request(ZplCommand::HostStatus).await? {
            Some(status) => Ok(status),
            None => Err(self.error("~HS", "no host status")),
        }
    }

    async fn send(&self, command: ZplCommand) -> Result<(), DeviceError> {
        self.session.request(command).await.map(|_| ())
    }

    async fn clear(&self) -> Result<Vec<u32>, DeviceError> {
        let before = self.host_status().await?;
        self.send(ZplCommand::Pause).await?;
        let mut settle = PauseSettle::default();
        let mut settled = None;
        for _ in 0..SETTLE_POLLS {
            let status = self.host_status().await?;
            settled = settle.observe(&status);
            if settled.is_some() {
                break;
            }
        }
        let Some(in_printer) = settled else {
            return Err(self.error(
                "~PP pause",
                "the printer did not settle in pause; nothing was cancelled, retry",
            ));
        };
        let candidates = lock(&self.tracking).begin_clear(in_printer);
        let result = self.cancel_and_confirm().await;
        lock(&self.tracking).finish_clear(&candidates, result.is_ok());
        result?;
        if !before.paused {
            self.send(ZplCommand::Resume).await?;
        }
        Ok(candidates)
    }

    async fn cancel_and_confirm(&self) -> Result<(), DeviceError> {
        self.send(ZplCommand::CancelAll).await?;
        let after = self.host_status().await?;
        if after.formats_in_buffer != 0 {
            return Err(self.error(
                "~JA cancel all",
                format!(
                    "{} formats still in the buffer after cancel",
                    after.formats_in_buffer
                ),
            ));
        }
        Ok(())
    }
}

impl Printer for ZplPrinter {
    fn name(&self) -> &str {
        self.session.name()
    }

    /// ZPL has no jobs: every label uses the configured layout. Accepted as a no-op.
    fn select_job<'a>(&'a self, _job: &'a str) -> DeviceFuture<'a, ()> {
        Box::pin(async { Ok(()) })
    }

    fn queue_message<'a>(&'a self, message_id: u32, data: &'a [u8]) -> DeviceFuture<'a, ()> {
        Box::pin(async move {
            let label = ZplLabel {
                x: self.layout.x,
                y: self.layout.y,
                module_dots: self.layout.module_dots,
                gs1: true,
                data: data.to_vec(),
            };
            if let Err(error) = label.encode() {
                return Err(DeviceError::InvalidRequest {
                    device: self.session.name().to_string(),
                    detail: error.to_string(),
                });
            }
            // Tracked before sending: if the write fails half-way the label may still
            // print, and an id that is tracked can only ever be reported as printed.
            lock(&self.tracking).label_sent(message_id);
            self.send(ZplCommand::Label(label)).await
        })
    }

    fn buffer_level(&self) -> DeviceFuture<'_, u32> {
        Box::pin(async move { Ok(u32::from(self.host_status().await?.formats_in_buffer)) })
    }

    fn clear_buffer(&self) -> DeviceFuture<'_, Vec<u32>> {
        Box::pin(self.clear())
    }

    fn status(&self) -> DeviceFuture<'_, PrinterStatus> {
        Box::pin(async move {
            let status = self.host_status().await?;
            Ok(printer_status(
                &status,
                usize::from(status.formats_in_buffer),
            ))
        })
    }

    fn set_running(&self, running: bool) -> DeviceFuture<'_, ()> {
        Box::pin(self.send(if running {
            ZplCommand::Resume
        } else {
            ZplCommand::Pause
        }))
    }
}
