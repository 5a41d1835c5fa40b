//! Device drivers and wire codecs for the station's equipment (printers, cameras,
//! PLC I/O), and the vision module that encodes, renders, decodes and grades
//! GS1 DataMatrix symbols. Wire codecs and vision are pure functions; drivers do
//! the I/O.
//!
//! One module per protocol (`tij`, `zpl`, `dmcc`, `image_camera`, `plc`, and
//! `line_scanner` for fixed scanners that send one read per line), each with
//! its codec for both directions of the wire (the simulator uses the device side).

#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod backoff;
pub mod dmcc;
pub mod framing;
pub mod image_camera;
pub mod line_scanner;
pub mod link;
pub mod plc;
pub mod readout;
pub mod tij;
pub mod traits;
pub mod vision;
pub mod zpl;
