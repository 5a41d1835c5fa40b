//! The fuzz targets, one file per area: GS1 data, device wire codecs, the
//! station's own parsers (control socket, site-server answers, pool files,
//! configuration), and the simulator's.

use std::fmt::Debug;

use serialstation_devices::framing::Decoded;

use crate::show_bytes;

pub mod devices;
pub mod gs1;
pub mod simulator;
pub mod station;

/// Decodes `buf` as a byte stream the way the device links do (one message after
/// the other, dropping what each step consumed) and returns the messages. Checks
/// that every step consumes at least one byte and no more than it was given.
pub(crate) fn drain<T, E>(buf: &[u8], step: fn(&[u8]) -> Decoded<T, E>) -> Vec<T> {
    let mut messages = Vec::new();
    let mut offset = 0;
    while offset < buf.len() {
        let rest = &buf[offset..];
        let consumed = match step(rest) {
            Decoded::Incomplete => break,
            Decoded::Ignored { consumed } | Decoded::Garbage { consumed, .. } => consumed,
            Decoded::Message { message, consumed } => {
                messages.push(message);
                consumed
            }
        };
        // Every step makes progress within the buffer (no endless loop in a link).
        assert!(
            (1..=rest.len()).contains(&consumed),
            "a decoding step consumed {consumed} bytes of a {}-byte buffer",
            rest.len()
        );
        offset += consumed;
    }
    messages
}

/// `encoded` (the encoding of `message`) must decode to `message`, using all of it.
pub(crate) fn expect_round_trip<T, E>(
    message: &T,
    encoded: &[u8],
    decode: fn(&[u8]) -> Decoded<T, E>,
) where
    T: PartialEq + Debug,
    E: Debug,
{
    match decode(encoded) {
        Decoded::Message {
            message: again,
            consumed,
        } => {
            assert_eq!(
                &again,
                message,
                "re-encoded as {} it decodes to something else",
                show_bytes(encoded, 300)
            );
            assert_eq!(
                consumed,
                encoded.len(),
                "re-encoded as {} it decodes from only part of the bytes",
                show_bytes(encoded, 300)
            );
        }
        other => panic!(
            "{message:?} re-encoded as {} does not decode: {other:?}",
            show_bytes(encoded, 300)
        ),
    }
}
