//! Keeps the byte examples in `devices/README.md` honest: every line of every
//! `wire` block is decoded with the named codec and re-encoded, and must come
//! back byte for byte.

use serialstation_devices::dmcc::{DmccMessage, DmccRequest};
use serialstation_devices::framing::Decoded;
use serialstation_devices::tij::{TijCommand, TijReply};
use serialstation_devices::zpl::{HostStatus, ZplCommand};

/// Turns the README notation (`<CR>`, `<LF>`, `<STX>`, `<ETX>`, `<GS>`) into bytes.
fn wire_bytes(notation: &str) -> Vec<u8> {
    let mut text = notation.to_string();
    for (name, byte) in [
        ("<CR>", "\r"),
        ("<LF>", "\n"),
        ("<STX>", "\x02"),
        ("<ETX>", "\x03"),
        ("<GS>", "\x1d"),
    ] {
        text = text.replace(name, byte);
    }
    text.into_bytes()
}

fn round_trip<T: std::fmt::Debug, E: std::fmt::Debug>(
    codec: &str,
    bytes: &[u8],
    decode: impl Fn(&[u8]) -> Decoded<T, E>,
    encode: impl Fn(&T) -> Vec<u8>,
) {
    match decode(bytes) {
        Decoded::Message { message, consumed } => {
            assert_eq!(
                consumed,
                bytes.len(),
                "{codec}: {:?} not wholly used",
                String::from_utf8_lossy(bytes)
            );
            assert_eq!(
                String::from_utf8_lossy(&encode(&message)),
                String::from_utf8_lossy(bytes),
                "{codec}: re-encoding {message:?} differs"
            );
        }
        other => panic!(
            "{codec}: {:?} did not decode: {other:?}",
            String::from_utf8_lossy(bytes)
        ),
    }
}

#[test]
fn every_readme_wire_example_round_trips() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .unwrap_or_else(|error| panic!("devices/README.md must be readable: {error}"));
    let mut in_block = false;
    let mut checked = 0;
    for line in readme.lines() {
        if line.starts_with("```") {
            in_block = line.trim() == "```wire";
            continue;
        }
        if !in_block {
            continue;
        }
        let (codec, notation) = line
            .split_once(": ")
            .unwrap_or_else(|| panic!("bad wire example line {line:?}"));
        let bytes = wire_bytes(notation);
        match codec {
            "tij-command" => round_trip(codec, &bytes, TijCommand::decode, TijCommand::encode),
            "tij-reply" => round_trip(codec, &bytes, TijReply::decode, TijReply::encode),
            "zpl-command" => round_trip(codec, &bytes, ZplCommand::decode, |c| {
                c.encode().unwrap_or_default()
            }),
            "zpl-status" => round_trip(codec, &bytes, HostStatus::decode, HostStatus::encode),
            "dmcc-request" => round_trip(codec, &bytes, DmccRequest::decode, DmccRequest::encode),
            "dmcc-message" => round_trip(codec, &bytes, DmccMessage::decode, DmccMessage::encode),
            other => panic!("unknown codec {other:?} in README wire example"),
        }
        checked += 1;
    }
    assert!(checked >= 30, "only {checked} README examples found");
}

#[test]
fn readme_verdict_example_matches_the_register_map() {
    use serialstation_devices::plc::register_map::{
        VerdictCode, VerdictSlot, verdict_slot_address,
    };
    assert_eq!(verdict_slot_address(70_000), 436);
    assert_eq!(
        VerdictSlot {
            seq: 70_000,
            verdict: VerdictCode::Good
        }
        .encode(),
        [0x0001, 0x1170, 1]
    );
}
