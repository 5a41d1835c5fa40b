//! `Camera` driver for the DMCC-style smart camera: one session task per
//! camera; every command carries a command id (and a checksum when configured),
//! pushed results become `CameraResult` events.

use tokio::sync::mpsc;

use super::codec::{DmccCodecError, DmccCommand, DmccMessage, DmccRequest, DmccStatus};
use crate::framing::Decoded;
use crate::link::{LinkConfig, Routed, SessionHandle, StreamProtocol, spawn_session};
use crate::traits::{Camera, DeviceError, DeviceEvent, DeviceEventKind, DeviceFuture};

/// The DMCC protocol as the session task drives it.
pub struct DmccProtocol {
    checksum: bool,
    next_command_id: u32,
    in_flight_id: Option<u32>,
}

impl DmccProtocol {
    /// `checksum`: send every command in checksum mode.
    pub fn new(checksum: bool) -> Self {
        DmccProtocol {
            checksum,
            next_command_id: 1,
            in_flight_id: None,
        }
    }
}

impl StreamProtocol for DmccProtocol {
    type Request = DmccCommand;
    type Inbound = DmccMessage;
    type DecodeError = DmccCodecError;
    const MAX_BUFFER: usize = 64 * 1024;

    fn describe(&self, request: &DmccCommand) -> String {
        format!("{request:?}")
    }

    fn encode(&mut self, request: &DmccCommand) -> Result<Vec<u8>, String> {
        let id = self.next_command_id;
        self.next_command_id = self.next_command_id.wrapping_add(1).max(1);
        self.in_flight_id = Some(id);
        Ok(DmccRequest {
            checksum: self.checksum,
            command_id: Some(id),
            command: request.clone(),
        }
        .encode())
    }

    fn expects_reply(&self, _request: &DmccCommand) -> bool {
        true
    }

    fn decode(&self, buf: &[u8]) -> Decoded<DmccMessage, DmccCodecError> {
        DmccMessage::decode(buf)
    }

    fn route(&mut self, message: DmccMessage, awaiting_reply: bool) -> Routed<DmccMessage> {
        match message {
            DmccMessage::Result { readout, .. } => {
                Routed::event(DeviceEventKind::CameraResult(readout))
            }
            DmccMessage::Response { command_id, .. }
                if awaiting_reply && command_id == self.in_flight_id =>
            {
                self.in_flight_id = None;
                Routed::reply(message)
            }
            DmccMessage::Response {
                command_id, status, ..
            } => Routed::event(DeviceEventKind::ProtocolError(format!(
                "response to command id {command_id:?} (status {}) matches no command in flight; dropped",
                status.code()
            ))),
        }
    }

    fn keepalive(&mut self) -> Option<DmccCommand> {
        Some(DmccCommand::GetDeviceType)
    }
}

/// A smart camera on the network.
#[derive(Clone)]
pub struct DmccCamera {
    session: SessionHandle<DmccProtocol>,
}

impl DmccCamera {
    /// Starts the driver; `checksum` sends commands in checksum mode.
    pub fn spawn(config: LinkConfig, checksum: bool, events: mpsc::Sender<DeviceEvent>) -> Self {
        DmccCamera {
            session: spawn_session(config, DmccProtocol::new(checksum), events),
        }
    }

    /// Sends one command and returns the response body (status 0), or the refusal.
    pub async fn command(&self, command: DmccCommand) -> Result<String, DeviceError> {
        let what = format!("{command:?}");
        match self.session.request(command).await? {
            Some(DmccMessage::Response {
                status: DmccStatus::Ok,
                body,
                ..
            }) => Ok(body),
            Some(DmccMessage::Response { status, body, .. }) => Err(DeviceError::Refused {
                device: self.session.name().to_string(),
                request: what,
                detail: format!("status {} ({status:?}) {body}", status.code()),
            }),
            other => Err(DeviceError::Protocol {
                device: self.session.name().to_string(),
                request: what,
                detail: format!("{other:?} instead of a response"),
            }),
        }
    }

    /// The camera model (`GET DEVICE.TYPE`).
    pub async fn device_type(&self) -> Result<String, DeviceError> {
        self.command(DmccCommand::GetDeviceType).await
    }

    /// Ask the camera to add a checksum to pushed results.
    pub async fn set_result_checksum(&self, on: bool) -> Result<(), DeviceError> {
        self.command(DmccCommand::SetResultChecksum(on))
            .await
            .map(|_| ())
    }
}

impl Camera for DmccCamera {
    fn name(&self) -> &str {
        self.session.name()
    }

    fn set_armed(&self, armed: bool) -> DeviceFuture<'_, ()> {
        Box::pin(async move {
            self.command(DmccCommand::SetTriggerEnabled(armed))
                .await
                .map(|_| ())
        })
    }

    fn trigger(&self, _seq: u32) -> DeviceFuture<'_, ()> {
        Box::pin(async move { self.command(DmccCommand::TriggerOn).await.map(|_| ()) })
    }
}
