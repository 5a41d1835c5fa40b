//! `Camera` driver for the framed image camera: one session task per camera
//! for the socket, and one grading thread that decodes and grades every image
//! with the vision module (CPU-bound work never blocks the socket) and reports
//! a `CameraResult` event per image.

use std::sync::mpsc as std_mpsc;

use tokio::sync::mpsc;

use super::analysis::analyse;
use super::frame::{FrameError, GrayImage, ImageFrame};
use crate::framing::Decoded;
use crate::link::{LinkConfig, Routed, SessionHandle, StreamProtocol, spawn_session};
use crate::readout::{CameraReadout, ReadOutcome};
use crate::traits::{Camera, DeviceEvent, DeviceEventKind, DeviceFuture};

/// Images waiting for grading before new ones are reported as no-reads.
pub const GRADING_BACKLOG: usize = 64;

/// The image-frame protocol as the session task drives it.
pub struct ImageProtocol {
    grading: std_mpsc::SyncSender<GrayImage>,
    heartbeat: u32,
}

impl StreamProtocol for ImageProtocol {
    type Request = ImageFrame;
    type Inbound = ImageFrame;
    type DecodeError = FrameError;
    const MAX_BUFFER: usize =
        super::frame::HEADER_LEN + super::frame::MAX_PIXELS + super::frame::CRC_LEN;

    fn describe(&self, request: &ImageFrame) -> String {
        match request {
            ImageFrame::Image(image) => format!("image (seq {})", image.seq),
            ImageFrame::Arm => "arm".into(),
            ImageFrame::Disarm => "disarm".into(),
            ImageFrame::Trigger { seq } => format!("trigger (seq {seq})"),
            ImageFrame::Heartbeat { counter } => format!("heartbeat {counter}"),
        }
    }

    fn encode(&mut self, request: &ImageFrame) -> Result<Vec<u8>, String> {
        Ok(request.encode())
    }

    fn expects_reply(&self, request: &ImageFrame) -> bool {
        matches!(request, ImageFrame::Heartbeat { .. })
    }

    fn decode(&self, buf: &[u8]) -> Decoded<ImageFrame, FrameError> {
        ImageFrame::decode(buf)
    }

    fn route(&mut self, message: ImageFrame, awaiting_reply: bool) -> Routed<ImageFrame> {
        match message {
            ImageFrame::Image(image) => {
                let seq = image.seq;
                match self.grading.try_send(image) {
                    Ok(()) => Routed::nothing(),
                    // Grading cannot keep up (or stopped): the item is reported as a
                    // no-read (so it is rejected), and the reason is reported too.
                    Err(_) => Routed {
                        reply: None,
                        events: vec![
                            DeviceEventKind::ProtocolError(format!(
                                "image for seq {seq} not graded: {GRADING_BACKLOG} images already wait for grading; reported as a no-read"
                            )),
                            DeviceEventKind::CameraResult(CameraReadout {
                                seq,
                                outcome: ReadOutcome::NoRead,
                            }),
                        ],
                    },
                }
            }
            ImageFrame::Heartbeat { .. } if awaiting_reply => Routed::reply(message),
            ImageFrame::Heartbeat { .. } => Routed::nothing(),
            other => Routed::event(DeviceEventKind::ProtocolError(format!(
                "the camera sent a host-only frame ({other:?}); ignored"
            ))),
        }
    }

    fn keepalive(&mut self) -> Option<ImageFrame> {
        self.heartbeat = self.heartbeat.wrapping_add(1);
        Some(ImageFrame::Heartbeat {
            counter: self.heartbeat,
        })
    }
}

/// An image camera on the network; its images are decoded and graded here.
#[derive(Clone)]
pub struct ImageCamera {
    session: SessionHandle<ImageProtocol>,
}

impl ImageCamera {
    /// Starts the driver and its grading thread.
    pub fn spawn(config: LinkConfig, events: mpsc::Sender<DeviceEvent>) -> Self {
        let (grading_tx, grading_rx) = std_mpsc::sync_channel::<GrayImage>(GRADING_BACKLOG);
        let device = config.name.clone();
        let grading_events = events.clone();
        std::thread::Builder::new()
            .name(format!("grading-{device}"))
            .spawn(move || {
                // Ends when the session (and so the sender) is gone, or nobody listens.
                while let Ok(image) = grading_rx.recv() {
                    let readout = analyse(&image);
                    let event = DeviceEvent {
                        device: device.clone(),
                        kind: DeviceEventKind::CameraResult(readout),
                    };
                    if grading_events.blocking_send(event).is_err() {
                        break;
                    }
                }
            })
            .map_err(|error| tracing::error!("cannot start the grading thread: {error}"))
            .ok();
        let protocol = ImageProtocol {
            grading: grading_tx,
            heartbeat: 0,
        };
        ImageCamera {
            session: spawn_session(config, protocol, events),
        }
    }
}

impl Camera for ImageCamera {
    fn name(&self) -> &str {
        self.session.name()
    }

    fn set_armed(&self, armed: bool) -> DeviceFuture<'_, ()> {
        Box::pin(async move {
            self.session
                .request(if armed {
                    ImageFrame::Arm
                } else {
                    ImageFrame::Disarm
                })
                .await
                .map(|_| ())
        })
    }

    fn trigger(&self, seq: u32) -> DeviceFuture<'_, ()> {
        Box::pin(async move {
            self.session
                .request(ImageFrame::Trigger { seq })
                .await
                .map(|_| ())
        })
    }
}
