//! `Printer` driver for the TIJ/TTO serialization protocol: one session task
//! (see `crate::link`) per printer; `PRC` notifications become `PrintComplete`
//! events and `STA` notifications `PrinterStatus` events.

use tokio::sync::mpsc;

use super::codec::{TijCodecError, TijCommand, TijErrorLevel, TijReply, TijState};
use crate::framing::Decoded;
use crate::link::{LinkConfig, Routed, SessionHandle, StreamProtocol, spawn_session};
use crate::traits::{
    DeviceError, DeviceEvent, DeviceEventKind, DeviceFuture, Printer, PrinterStatus,
};

/// The TIJ protocol as the session task drives it.
pub struct TijProtocol;

impl StreamProtocol for TijProtocol {
    type Request = TijCommand;
    type Inbound = TijReply;
    type DecodeError = TijCodecError;
    const MAX_BUFFER: usize = 64 * 1024;

    fn describe(&self, request: &TijCommand) -> String {
        match request {
            TijCommand::SelectJob { job } => format!("SEL (job {job})"),
            TijCommand::QueueMessage { id, .. } => format!("SLI (message {id})"),
            TijCommand::GetBufferCount => "SRC".into(),
            TijCommand::ClearBuffer => "SCB".into(),
            TijCommand::GetStatus => "GST".into(),
            TijCommand::GetFaults => "GFT".into(),
            TijCommand::SetRunning(running) => {
                format!("SST ({})", if *running { "running" } else { "offline" })
            }
        }
    }

    fn encode(&mut self, request: &TijCommand) -> Result<Vec<u8>, String> {
        if let TijCommand::QueueMessage { data, .. } = request
            && data.len() > super::codec::MAX_DATA
        {
            return Err(format!(
                "message data is {} bytes, the protocol allows {}",
                data.len(),
                super::codec::MAX_DATA
            ));
        }
        Ok(request.encode())
    }

    fn expects_reply(&self, _request: &TijCommand) -> bool {
        true
    }

    fn decode(&self, buf: &[u8]) -> Decoded<TijReply, TijCodecError> {
        TijReply::decode(buf)
    }

    fn route(&mut self, message: TijReply, _awaiting_reply: bool) -> Routed<TijReply> {
        match message {
            TijReply::PrintComplete { id } => {
                Routed::event(DeviceEventKind::PrintComplete { message_id: id })
            }
            TijReply::StateChanged { state, error_level } => {
                Routed::event(DeviceEventKind::PrinterStatus(PrinterStatus {
                    ready: is_ready(state, error_level),
                    job: None,
                    faults: match error_level {
                        TijErrorLevel::Fault => {
                            vec!["printer reports a fault: read its fault list".into()]
                        }
                        _ => Vec::new(),
                    },
                    buffer_level: None,
                }))
            }
            reply => Routed::reply(reply),
        }
    }

    fn keepalive(&mut self) -> Option<TijCommand> {
        Some(TijCommand::GetBufferCount)
    }

    fn on_connect(&mut self) -> Vec<u8> {
        // A bare CR flushes whatever half-frame the printer may hold.
        b"\r".to_vec()
    }
}

fn is_ready(state: TijState, level: TijErrorLevel) -> bool {
    state == TijState::Running && level != TijErrorLevel::Fault
}

/// A TIJ/TTO printer on the network.
#[derive(Clone)]
pub struct TijPrinter {
    session: SessionHandle<TijProtocol>,
}

impl TijPrinter {
    /// Starts the driver; events (link, print complete, status, protocol errors) go to `events`.
    pub fn spawn(config: LinkConfig, events: mpsc::Sender<DeviceEvent>) -> Self {
        TijPrinter {
            session: spawn_session(config, TijProtocol, events),
        }
    }

    async fn call(&self, command: TijCommand) -> Result<TijReply, DeviceError> {
        let what = TijProtocol.describe(&command);
        match self.session.request(command).await? {
            Some(TijReply::Error { code, text }) => Err(DeviceError::Refused {
                device: self.session.name().to_string(),
                request: what,
                detail: format!("error {} ({code:?}) {text}", code.code()),
            }),
            Some(reply) => Ok(reply),
            None => Err(self.unexpected(&what, "no reply")),
        }
    }

    fn unexpected(&self, request: &str, detail: impl Into<String>) -> DeviceError {
        DeviceError::Protocol {
            device: self.session.name().to_string(),
            request: request.to_string(),
            detail: detail.into(),
        }
    }

    async fn expect_ack(&self, command: TijCommand) -> Result<(), DeviceError> {
        let what = TijProtocol.describe(&command);
        match self.call(command).await? {
            TijReply::Ack => Ok(()),
            other => Err(self.unexpected(&what, format!("{other:?} instead of ACK"))),
        }
    }

    /// Reads the printer's fault list (`GFT`) as plain descriptions.
    pub async fn faults(&self) -> Result<Vec<String>, DeviceError> {
        match self.call(TijCommand::GetFaults).await? {
            TijReply::Faults(faults) => Ok(faults.into_iter().map(|f| f.describe()).collect()),
            other => Err(self.unexpected("GFT", format!("{other:?} instead of FLT"))),
        }
    }
}

impl Printer for TijPrinter {
    fn name(&self) -> &str {
        self.session.name()
    }

    fn select_job<'a>(&'a self, job: &'a str) -> DeviceFuture<'a, ()> {
        Box::pin(self.expect_ack(TijCommand::SelectJob {
            job: job.to_string(),
        }))
    }

    fn queue_message<'a>(&'a self, message_id: u32, data: &'a [u8]) -> DeviceFuture<'a, ()> {
        Box::pin(async move {
            match self
                .call(TijCommand::QueueMessage {
                    id: message_id,
                    data: data.to_vec(),
                })
                .await?
            {
                TijReply::Queued { id } if id == message_id => Ok(()),
                other => {
                    Err(self.unexpected("SLI", format!("{other:?} instead of ACK|{message_id}|")))
                }
            }
        })
    }

    fn buffer_level(&self) -> DeviceFuture<'_, u32> {
        Box::pin(async move {
            match self.call(TijCommand::GetBufferCount).await? {
                TijReply::BufferCount { count } => Ok(count),
                other => Err(self.unexpected("SRC", format!("{other:?} instead of SRC|n|"))),
            }
        })
    }

    fn clear_buffer(&self) -> DeviceFuture<'_, Vec<u32>> {
        Box::pin(async move {
            match self.call(TijCommand::ClearBuffer).await? {
                TijReply::Cleared { never_printed } => Ok(never_printed),
                other => Err(self.unexpected("SCB", format!("{other:?} instead of SCB|ids|"))),
            }
        })
    }

    fn status(&self) -> DeviceFuture<'_, PrinterStatus> {
        Box::pin(async move {
            let status = match self.call(TijCommand::GetStatus).await? {
                TijReply::Status(status) => status,
                other => return Err(self.unexpected("GST", format!("{other:?} instead of STS"))),
            };
            let faults = if status.error_level == TijErrorLevel::None {
                Vec::new()
            } else {
                self.faults().await?
            };
            let buffer_level = self.buffer_level().await?;
            Ok(PrinterStatus {
                ready: is_ready(status.state, status.error_level),
                job: (!status.job.is_empty()).then_some(status.job),
                faults,
                buffer_level: Some(buffer_level),
            })
        })
    }

    fn set_running(&self, running: bool) -> DeviceFuture<'_, ()> {
        Box::pin(self.expect_ack(TijCommand::SetRunning(running)))
    }
}
