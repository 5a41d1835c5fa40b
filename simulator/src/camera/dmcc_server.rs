//! The simulated smart camera on TCP, DMCC style: answers commands with the devices
//! DMCC codec and pushes one result line (read with grade, or no-read) per trigger.

use serialstation_devices::dmcc::{
    DmccCodecError, DmccCommand, DmccMessage, DmccRequest, DmccStatus,
};
use serialstation_devices::framing::decode_all;
use serialstation_devices::readout::{CameraReadout, ReadOutcome};

use crate::imaging::Shot;
use crate::runtime::core::{SharedCore, lock};
use crate::runtime::net::DeviceProtocol;
use std::sync::Arc;

/// Model name the camera reports to `GET DEVICE.TYPE`.
pub const DEVICE_TYPE: &str = "SS-SMARTCAM-1";

/// One host connection to the smart camera.
#[derive(Debug, Default)]
pub struct DmccConnection;

fn response(request: &DmccRequest, status: DmccStatus, body: &str) -> Vec<u8> {
    DmccMessage::Response {
        checksum: request.checksum,
        command_id: request.command_id,
        status,
        body: body.into(),
    }
    .encode()
}

/// Answers one request.
pub fn answer(core: &SharedCore, request: &DmccRequest) -> Vec<u8> {
    let mut core = lock(core);
    match &request.command {
        DmccCommand::GetDeviceType => response(request, DmccStatus::Ok, DEVICE_TYPE),
        DmccCommand::SetTriggerEnabled(on) => {
            core.camera_armed = *on;
            response(request, DmccStatus::Ok, "")
        }
        DmccCommand::SetResultChecksum(on) => {
            core.camera_result_checksum = *on;
            response(request, DmccStatus::Ok, "")
        }
        DmccCommand::TriggerOn => {
            // Nothing tracked is under the camera on a software trigger: the reply is
            // the acknowledgement, and a no-read for the next trigger index follows.
            let seq = core.model.plc.camera_trigger_count;
            let mut bytes = response(request, DmccStatus::Ok, "");
            let checksum = core.camera_result_checksum;
            bytes.extend(
                DmccMessage::Result {
                    checksum,
                    readout: CameraReadout {
                        seq,
                        outcome: ReadOutcome::NoRead,
                    },
                }
                .encode(),
            );
            bytes
        }
        DmccCommand::TriggerOff => response(request, DmccStatus::Ok, ""),
        DmccCommand::Unknown(_) => response(request, DmccStatus::InvalidCommand, ""),
    }
}

impl DeviceProtocol for DmccConnection {
    type Push = Arc<Shot>;

    fn on_bytes(&mut self, core: &SharedCore, buf: &[u8]) -> (Vec<Vec<u8>>, usize) {
        let (messages, used) = decode_all(buf, DmccRequest::decode);
        let mut out = Vec::new();
        for message in messages {
            match message {
                Ok(request) => out.push(answer(core, &request)),
                Err(DmccCodecError::Checksum { command_id }) => out.push(
                    DmccMessage::Response {
                        checksum: true,
                        command_id,
                        status: DmccStatus::ChecksumIncorrect,
                        body: String::new(),
                    }
                    .encode(),
                ),
                Err(e) => lock(core).note("camera", format!("DMCC garbage ignored: {e}")),
            }
        }
        (out, used)
    }

    fn sending_push(&mut self, core: &SharedCore, shot: &Arc<Shot>, at_ns: u64) {
        lock(core).camera_result_sent(shot.seq, at_ns);
    }

    fn on_push(&mut self, core: &SharedCore, shot: &Arc<Shot>) -> Option<Vec<u8>> {
        let checksum = lock(core).camera_result_checksum;
        Some(
            DmccMessage::Result {
                checksum,
                readout: shot.readout.clone(),
            }
            .encode(),
        )
    }
}
