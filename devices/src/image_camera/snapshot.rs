//! One picture on demand, blocking: connect to an image camera, send a software
//! trigger tagged `seq`, and wait for the image with that tag (heartbeats and
//! other frames are skipped). The case station takes one picture per case, so a
//! connection per picture keeps no state to go stale.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use super::frame::{GrayImage, ImageFrame};
use crate::framing::Decoded;
use crate::line_scanner::connect_tcp;

/// Takes one picture tagged `seq` from the camera at `address` within `timeout`.
/// A 0 × 0 image (the camera could not acquire) is an error.
pub fn take_picture(address: &str, seq: u32, timeout: Duration) -> Result<GrayImage, String> {
    let deadline = Instant::now() + timeout;
    let fail = |e: String| format!("case camera {address}: {e}");
    let mut stream = connect_tcp(address, timeout).map_err(|e| format!("case camera {e}"))?;
    stream
        .write_all(&ImageFrame::Trigger { seq }.encode())
        .map_err(|e| fail(format!("the trigger was not sent ({e})")))?;
    let mut buffer = Vec::new();
    let mut chunk = vec![0u8; 256 * 1024];
    loop {
        loop {
            match ImageFrame::decode(&buffer) {
                Decoded::Incomplete => break,
                Decoded::Message { message, consumed } => {
                    buffer.drain(..consumed);
                    if let ImageFrame::Image(image) = message
                        && image.seq == seq
                    {
                        if image.width == 0 || image.height == 0 {
                            return Err(fail(format!(
                                "the camera could not take picture {seq} (an empty image)"
                            )));
                        }
                        return Ok(image);
                    }
                }
                Decoded::Garbage { consumed, .. } | Decoded::Ignored { consumed } => {
                    buffer.drain(..consumed);
                }
            }
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(fail(format!(
                "no picture {seq} within {} ms",
                timeout.as_millis()
            )));
        }
        stream
            .set_read_timeout(Some(left))
            .map_err(|e| fail(e.to_string()))?;
        match stream.read(&mut chunk) {
            Ok(0) => return Err(fail("the camera closed the connection".to_string())),
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(e) => return Err(fail(e.to_string())),
        }
    }
}
