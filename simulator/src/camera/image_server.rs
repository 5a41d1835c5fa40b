//! The simulated image camera on TCP: streams one framed grayscale image per
//! trigger (0 × 0 when nothing was acquired) with the devices frame codec, and
//! answers arm, disarm, software trigger and heartbeat frames.

use std::sync::Arc;

use serialstation_devices::framing::decode_all;
use serialstation_devices::image_camera::{GrayImage, ImageFrame};

use crate::imaging::Shot;
use crate::runtime::core::{SharedCore, lock};
use crate::runtime::net::DeviceProtocol;

/// One host connection to the image camera.
#[derive(Debug, Default)]
pub struct ImageConnection;

fn empty_image(seq: u32) -> ImageFrame {
    ImageFrame::Image(GrayImage {
        seq,
        width: 0,
        height: 0,
        pixels: Vec::new(),
    })
}

impl DeviceProtocol for ImageConnection {
    type Push = Arc<Shot>;

    fn on_bytes(&mut self, core: &SharedCore, buf: &[u8]) -> (Vec<Vec<u8>>, usize) {
        let (messages, used) = decode_all(buf, ImageFrame::decode);
        let mut out = Vec::new();
        for message in messages {
            match message {
                Ok(ImageFrame::Arm) => lock(core).camera_armed = true,
                Ok(ImageFrame::Disarm) => lock(core).camera_armed = false,
                // Nothing tracked is under the camera on a software trigger.
                Ok(ImageFrame::Trigger { seq }) => out.push(empty_image(seq).encode()),
                Ok(ImageFrame::Heartbeat { counter }) => {
                    out.push(ImageFrame::Heartbeat { counter }.encode())
                }
                Ok(ImageFrame::Image(_)) => {
                    lock(core).note("camera", "the host sent an image frame; ignored".into())
                }
                Err(e) => lock(core).note("camera", format!("image-camera garbage ignored: {e}")),
            }
        }
        (out, used)
    }

    fn sending_push(&mut self, core: &SharedCore, shot: &Arc<Shot>, at_ns: u64) {
        lock(core).camera_result_sent(shot.seq, at_ns);
    }

    fn on_push(&mut self, _core: &SharedCore, shot: &Arc<Shot>) -> Option<Vec<u8>> {
        let frame = match &shot.image {
            Some(img) => ImageFrame::Image(GrayImage {
                seq: shot.seq,
                width: img.width,
                height: img.height,
                pixels: img.pixels.clone(),
            }),
            None => empty_image(shot.seq),
        };
        Some(frame.encode())
    }
}
