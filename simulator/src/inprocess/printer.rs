//! The in-process TIJ printer: every request is answered by the TIJ server's own
//! [`answer`] on the shared printer model, and the replies are read the way the TIJ
//! driver reads them (`devices/src/tij/driver.rs`): an error reply is a refusal, a
//! state change is a status event.

use std::sync::Arc;

use serialstation_devices::tij::codec::MAX_DATA;
use serialstation_devices::tij::{TijCommand, TijErrorLevel, TijReply, TijState};
use serialstation_devices::traits::{
    DeviceError, DeviceEventKind, DeviceFuture, Printer, PrinterStatus,
};

use crate::printer::tij_server::answer;
use crate::runtime::net::PRINTER_FAULTS;

use super::Shared;
use super::host::Dev;

/// The printer's handle for the station.
pub(super) struct InProcessPrinter {
    shared: Arc<Shared>,
}

/// The request as the TIJ driver names it in errors.
fn describe(command: &TijCommand) -> String {
    match command {
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

fn is_ready(state: TijState, level: TijErrorLevel) -> bool {
    state == TijState::Running && level != TijErrorLevel::Fault
}

impl InProcessPrinter {
    pub(super) fn new(shared: Arc<Shared>) -> InProcessPrinter {
        InProcessPrinter { shared }
    }

    fn device(&self) -> String {
        self.shared.names.printer.clone()
    }

    fn unexpected(&self, request: &str, detail: impl Into<String>) -> DeviceError {
        DeviceError::Protocol {
            device: self.device(),
            request: request.to_string(),
            detail: detail.into(),
        }
    }

    /// One command: answered by the printer, then its reply's connection faults.
    async fn call(&self, command: TijCommand) -> Result<TijReply, DeviceError> {
        let what = describe(&command);
        self.shared.ready(Dev::Printer, &what)?;
        let replies = answer(&self.shared.core, command);
        self.shared
            .reply_faults(Dev::Printer, PRINTER_FAULTS, &what)
            .await?;
        let mut reply = None;
        for message in replies {
            match message {
                TijReply::StateChanged { state, error_level } => {
                    let status = PrinterStatus {
                        ready: is_ready(state, error_level),
                        job: None,
                        faults: match error_level {
                            TijErrorLevel::Fault => {
                                vec!["printer reports a fault: read its fault list".into()]
                            }
                            _ => Vec::new(),
                        },
                        buffer_level: None,
                    };
                    self.shared
                        .host()
                        .emit(Dev::Printer, DeviceEventKind::PrinterStatus(status));
                }
                other => {
                    if reply.is_none() {
                        reply = Some(other);
                    }
                }
            }
        }
        match reply {
            Some(TijReply::Error { code, text }) => Err(DeviceError::Refused {
                device: self.device(),
                request: what,
                detail: format!("error {} ({code:?}) {text}", code.code()),
            }),
            Some(reply) => Ok(reply),
            None => Err(self.unexpected(&what, "no reply")),
        }
    }

    async fn expect_ack(&self, command: TijCommand) -> Result<(), DeviceError> {
        let what = describe(&command);
        match self.call(command).await? {
            TijReply::Ack => Ok(()),
            other => Err(self.unexpected(&what, format!("{other:?} instead of ACK"))),
        }
    }
}

impl Printer for InProcessPrinter {
    fn name(&self) -> &str {
        &self.shared.names.printer
    }

    fn select_job<'a>(&'a self, job: &'a str) -> DeviceFuture<'a, ()> {
        self.shared.crash.hit();
        Box::pin(self.expect_ack(TijCommand::SelectJob {
            job: job.to_string(),
        }))
    }

    fn queue_message<'a>(&'a self, message_id: u32, data: &'a [u8]) -> DeviceFuture<'a, ()> {
        self.shared.crash.hit();
        Box::pin(async move {
            if data.len() > MAX_DATA {
                return Err(DeviceError::InvalidRequest {
                    device: self.device(),
                    detail: format!(
                        "message data is {} bytes, the protocol allows {MAX_DATA}",
                        data.len()
                    ),
                });
            }
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
        self.shared.crash.hit();
        Box::pin(async move {
            match self.call(TijCommand::GetBufferCount).await? {
                TijReply::BufferCount { count } => Ok(count),
                other => Err(self.unexpected("SRC", format!("{other:?} instead of SRC|n|"))),
            }
        })
    }

    fn clear_buffer(&self) -> DeviceFuture<'_, Vec<u32>> {
        self.shared.crash.hit();
        Box::pin(async move {
            match self.call(TijCommand::ClearBuffer).await? {
                TijReply::Cleared { never_printed } => Ok(never_printed),
                other => Err(self.unexpected("SCB", format!("{other:?} instead of SCB|ids|"))),
            }
        })
    }

    fn status(&self) -> DeviceFuture<'_, PrinterStatus> {
        self.shared.crash.hit();
        Box::pin(async move {
            let status = match self.call(TijCommand::GetStatus).await? {
                TijReply::Status(status) => status,
                other => return Err(self.unexpected("GST", format!("{other:?} instead of STS"))),
            };
            let faults = if status.error_level == TijErrorLevel::None {
                Vec::new()
            } else {
                match self.call(TijCommand::GetFaults).await? {
                    TijReply::Faults(faults) => faults.into_iter().map(|f| f.describe()).collect(),
                    other => {
                        return Err(self.unexpected("GFT", format!("{other:?} instead of FLT")));
                    }
                }
            };
            let buffer_level = match self.call(TijCommand::GetBufferCount).await? {
                TijReply::BufferCount { count } => count,
                other => return Err(self.unexpected("SRC", format!("{other:?} instead of SRC|n|"))),
            };
            Ok(PrinterStatus {
                ready: is_ready(status.state, status.error_level),
                job: (!status.job.is_empty()).then_some(status.job),
                faults,
                buffer_level: Some(buffer_level),
            })
        })
    }

    fn set_running(&self, running: bool) -> DeviceFuture<'_, ()> {
        self.shared.crash.hit();
        Box::pin(self.expect_ack(TijCommand::SetRunning(running)))
    }
}
