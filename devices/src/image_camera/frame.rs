//! Wire codec of the image camera's framed protocol, used in both directions:
//! the camera sends grayscale images (one per trigger) and heartbeats, the host
//! sends arm, disarm, software trigger and heartbeat frames. Pure functions; the
//! byte layout is documented in `devices/README.md`.
//!
//! Frame (all integers big-endian): magic `SSIF` (4) | version 1 (1) | kind (1) |
//! reserved 0 (2) | seq (4) | width (2) | height (2) | payload length (4) | payload |
//! CRC-32/ISO-HDLC over header and payload (4). Only image frames carry a payload,
//! of exactly width × height bytes (8-bit gray, row-major, 0 = black).

use crc::{CRC_32_ISO_HDLC, Crc, Table};

use crate::framing::Decoded;

/// First four bytes of every frame.
pub const MAGIC: [u8; 4] = *b"SSIF";
/// Protocol version in byte 4.
pub const VERSION: u8 = 1;
/// Header length in bytes.
pub const HEADER_LEN: usize = 20;
/// CRC trailer length in bytes.
pub const CRC_LEN: usize = 4;
/// Largest image accepted (4096 × 4096 pixels); bounds every buffer.
pub const MAX_PIXELS: usize = 4096 * 4096;

/// Slice-by-16 tables: about 5x faster than the bytewise default on camera frames.
const CRC32: Crc<u32, Table<16>> = Crc::<u32, Table<16>>::new(&CRC_32_ISO_HDLC);

/// One 8-bit grayscale image, row-major.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrayImage {
    /// Trigger index: the seq of the item in the image.
    pub seq: u32,
    pub width: u16,
    pub height: u16,
    pub pixels: Vec<u8>,
}

/// Every frame of the protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageFrame {
    /// Kind 1, camera → host: the image taken for item `seq`. A 0 × 0 image means the
    /// camera was triggered but could not acquire (a no-read).
    Image(GrayImage),
    /// Kind 2, host → camera: take an image on every hardware trigger.
    Arm,
    /// Kind 3, host → camera: ignore hardware triggers.
    Disarm,
    /// Kind 4, host → camera: take one image now and tag it with `seq`.
    Trigger { seq: u32 },
    /// Kind 5, both ways: liveness; the receiver of a host heartbeat echoes it.
    Heartbeat { counter: u32 },
}

/// What is wrong with an image frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("{skipped} bytes before the next frame magic `SSIF` were skipped")]
    NoMagic { skipped: usize },
    #[error("image frame version {0} is not supported (expected {VERSION})")]
    Version(u8),
    #[error("image frame kind {0} is unknown")]
    Kind(u8),
    #[error("image frame payload length {length} does not match {width}x{height}")]
    Length {
        length: u32,
        width: u16,
        height: u16,
    },
    #[error("image of {width}x{height} exceeds the limit of {MAX_PIXELS} pixels")]
    TooLarge { width: u16, height: u16 },
    #[error("image frame CRC-32 mismatch (frame corrupted on the wire)")]
    Crc,
    #[error("image frame reserved bytes are not zero")]
    Reserved,
}

impl ImageFrame {
    fn kind(&self) -> u8 {
        match self {
            ImageFrame::Image(_) => 1,
            ImageFrame::Arm => 2,
            ImageFrame::Disarm => 3,
            ImageFrame::Trigger { .. } => 4,
            ImageFrame::Heartbeat { .. } => 5,
        }
    }

    /// Bytes on the wire. An image whose pixel count differs from width × height
    /// is encoded as-is (and rejected by the receiver): the encoder never panics.
    pub fn encode(&self) -> Vec<u8> {
        let (seq, width, height, payload): (u32, u16, u16, &[u8]) = match self {
            ImageFrame::Image(image) => (image.seq, image.width, image.height, &image.pixels),
            ImageFrame::Arm | ImageFrame::Disarm => (0, 0, 0, &[]),
            ImageFrame::Trigger { seq } => (*seq, 0, 0, &[]),
            ImageFrame::Heartbeat { counter } => (*counter, 0, 0, &[]),
        };
        let mut out = Vec::with_capacity(HEADER_LEN + payload.len() + CRC_LEN);
        out.extend_from_slice(&MAGIC);
        out.push(VERSION);
        out.push(self.kind());
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&seq.to_be_bytes());
        out.extend_from_slice(&width.to_be_bytes());
        out.extend_from_slice(&height.to_be_bytes());
        out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
        out.extend_from_slice(payload);
        let crc = CRC32.checksum(&out);
        out.extend_from_slice(&crc.to_be_bytes());
        out
    }

    /// Decodes one frame from the front of `buf`. On any error the bad frame's
    /// first byte and everything up to the next magic is dropped (resync).
    pub fn decode(buf: &[u8]) -> Decoded<ImageFrame, FrameError> {
        if !buf.starts_with(&MAGIC) {
            let partial_magic_at_end = (1..MAGIC.len())
                .rev()
                .find(|n| buf.len() >= *n && buf.ends_with(&MAGIC[..*n]))
                .unwrap_or(0);
            if buf.len() < MAGIC.len() && MAGIC.starts_with(buf) {
                return Decoded::Incomplete;
            }
            let skipped = find_magic(buf, 0).unwrap_or(buf.len() - partial_magic_at_end);
            return Decoded::Garbage {
                error: FrameError::NoMagic { skipped },
                consumed: skipped.max(1),
            };
        }
        if buf.len() < HEADER_LEN {
            return Decoded::Incomplete;
        }
        let header = &buf[..HEADER_LEN];
        let drop_bad = |error| Decoded::Garbage {
            error,
            consumed: find_magic(buf, 1).unwrap_or(buf.len()),
        };
        let be16 = |at: usize| u16::from_be_bytes([header[at], header[at + 1]]);
        let be32 = |at: usize| {
            u32::from_be_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]])
        };
        let (version, kind) = (header[4], header[5]);
        if version != VERSION {
            return drop_bad(FrameError::Version(version));
        }
        if header[6] != 0 || header[7] != 0 {
            return drop_bad(FrameError::Reserved);
        }
        let (seq, width, height, length) = (be32(8), be16(12), be16(14), be32(16));
        let pixels = usize::from(width) * usize::from(height);
        if pixels > MAX_PIXELS {
            return drop_bad(FrameError::TooLarge { width, height });
        }
        let expected = if kind == 1 { pixels } else { 0 };
        if usize::try_from(length).ok() != Some(expected) {
            return drop_bad(FrameError::Length {
                length,
                width,
                height,
            });
        }
        let total = HEADER_LEN + expected + CRC_LEN;
        if buf.len() < total {
            return Decoded::Incomplete;
        }
        let body_end = HEADER_LEN + expected;
        let crc = u32::from_be_bytes([
            buf[body_end],
            buf[body_end + 1],
            buf[body_end + 2],
            buf[body_end + 3],
        ]);
        if CRC32.checksum(&buf[..body_end]) != crc {
            return drop_bad(FrameError::Crc);
        }
        let frame = match kind {
            1 => ImageFrame::Image(GrayImage {
                seq,
                width,
                height,
                pixels: buf[HEADER_LEN..body_end].to_vec(),
            }),
            2 => ImageFrame::Arm,
            3 => ImageFrame::Disarm,
            4 => ImageFrame::Trigger { seq },
            5 => ImageFrame::Heartbeat { counter: seq },
            other => return drop_bad(FrameError::Kind(other)),
        };
        Decoded::Message {
            message: frame,
            consumed: total,
        }
    }
}

fn find_magic(buf: &[u8], from: usize) -> Option<usize> {
    buf.get(from..)?
        .windows(MAGIC.len())
        .position(|window| window == MAGIC)
        .map(|at| at + from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framing::decode_all;

    #[test]
    fn crc_is_crc32_iso_hdlc() {
        assert_eq!(CRC32.checksum(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn heartbeat_is_byte_exact() {
        let bytes = ImageFrame::Heartbeat { counter: 1 }.encode();
        assert_eq!(
            &bytes[..HEADER_LEN],
            b"SSIF\x01\x05\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00"
        );
        assert_eq!(bytes.len(), HEADER_LEN + CRC_LEN);
        assert_eq!(
            ImageFrame::decode(&bytes),
            Decoded::Message {
                message: ImageFrame::Heartbeat { counter: 1 },
                consumed: 24
            }
        );
    }

    #[test]
    fn image_round_trip_and_resync() {
        let image = ImageFrame::Image(GrayImage {
            seq: 9,
            width: 3,
            height: 2,
            pixels: vec![0, 255, 128, 1, 2, 3],
        });
        let mut corrupt = image.encode();
        corrupt[HEADER_LEN] ^= 0xFF;
        let mut wire = b"junk".to_vec();
        wire.extend(corrupt);
        wire.extend(image.encode());
        wire.extend(ImageFrame::Trigger { seq: 4 }.encode());
        let (decoded, consumed) = decode_all(&wire, ImageFrame::decode);
        assert_eq!(consumed, wire.len());
        assert_eq!(
            decoded,
            vec![
                Err(FrameError::NoMagic { skipped: 4 }),
                Err(FrameError::Crc),
                Ok(image),
                Ok(ImageFrame::Trigger { seq: 4 })
            ]
        );
    }

    #[test]
    fn partial_frames_wait() {
        let bytes = ImageFrame::Arm.encode();
        for cut in 0..bytes.len() {
            assert_eq!(
                ImageFrame::decode(&bytes[..cut]),
                Decoded::Incomplete,
                "cut at {cut}"
            );
        }
    }
}
