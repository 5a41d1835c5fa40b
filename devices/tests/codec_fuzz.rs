//! Property tests of every wire codec: arbitrary bytes never panic, every
//! decoding step makes progress within the buffer (so no infinite loop) and the
//! output is bounded; arbitrary valid messages round-trip, also when the stream
//! arrives in arbitrary pieces.

use proptest::prelude::*;
use serialstation_devices::dmcc::{DmccMessage, DmccRequest};
use serialstation_devices::framing::{Decoded, decode_all};
use serialstation_devices::image_camera::{GrayImage, ImageFrame};
use serialstation_devices::readout::{CameraReadout, Grade, ReadOutcome, SymbologyId};
use serialstation_devices::tij::{TijCommand, TijReply};
use serialstation_devices::zpl::{HostStatus, ZplCommand, ZplLabel};

/// Runs `step` over `bytes` like a driver does and checks progress and bounds.
fn check_stream<T, E>(bytes: &[u8], step: impl Fn(&[u8]) -> Decoded<T, E>) -> usize {
    let mut offset = 0;
    let mut outputs = 0;
    while offset < bytes.len() {
        match step(&bytes[offset..]) {
            Decoded::Incomplete => break,
            Decoded::Message { consumed, .. }
            | Decoded::Garbage { consumed, .. }
            | Decoded::Ignored { consumed } => {
                assert!(consumed >= 1, "a step consumed nothing");
                assert!(
                    consumed <= bytes.len() - offset,
                    "a step consumed past the buffer"
                );
                offset += consumed;
                outputs += 1;
            }
        }
    }
    assert!(outputs <= bytes.len());
    outputs
}

fn feed_in_pieces<T: Clone, E>(
    bytes: &[u8],
    cuts: &[usize],
    step: impl Fn(&[u8]) -> Decoded<T, E>,
) -> Vec<T> {
    let mut buffer = Vec::new();
    let mut messages = Vec::new();
    let mut start = 0;
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    cuts.push(bytes.len());
    cuts.sort_unstable();
    for cut in cuts {
        buffer.extend_from_slice(&bytes[start..cut.max(start)]);
        start = cut.max(start);
        let (decoded, consumed) = decode_all(&buffer, &step);
        messages.extend(decoded.into_iter().filter_map(Result::ok));
        buffer.drain(..consumed);
    }
    messages
}

fn gs1_like_data() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(prop_oneof![Just(0x1Du8), 0x21u8..0x7F], 0..120)
}

fn grade() -> impl Strategy<Value = Grade> {
    (0u8..=40, 0u8..100, 0u16..2000, 0u8..=90).prop_map(
        |(tenths, aperture_mils, wavelength_nm, angle_deg)| Grade {
            tenths,
            aperture_mils,
            wavelength_nm,
            angle_deg,
        },
    )
}

fn readout() -> impl Strategy<Value = CameraReadout> {
    (
        any::<u32>(),
        proptest::option::of((
            any::<bool>(),
            proptest::collection::vec(any::<u8>(), 0..200),
            grade(),
        )),
    )
        .prop_map(|(seq, read)| CameraReadout {
            seq,
            outcome: match read {
                None => ReadOutcome::NoRead,
                Some((gs1, data, grade)) => ReadOutcome::Read {
                    symbology: if gs1 {
                        SymbologyId::GS1_DATAMATRIX
                    } else {
                        SymbologyId::DATAMATRIX
                    },
                    data,
                    grade,
                },
            },
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_hang_or_panic(bytes in proptest::collection::vec(any::<u8>(), 0..3000)) {
        check_stream(&bytes, TijCommand::decode);
        check_stream(&bytes, TijReply::decode);
        check_stream(&bytes, DmccRequest::decode);
        check_stream(&bytes, DmccMessage::decode);
        check_stream(&bytes, ImageFrame::decode);
        check_stream(&bytes, ZplCommand::decode);
        check_stream(&bytes, HostStatus::decode);
    }

    #[test]
    fn protocol_shaped_noise_never_hangs_or_panics(
        pieces in proptest::collection::vec(prop_oneof![
            Just(&b"|"[..]), Just(&b"\r"[..]), Just(&b"\r\n"[..]), Just(&b"\\x1D"[..]), Just(&b"SLI"[..]),
            Just(&b"PRC|"[..]), Just(&b"||"[..]), Just(&b"[1]"[..]), Just(&b"READ,"[..]), Just(&b"^XA"[..]),
            Just(&b"^BXN,8,200,,,,_"[..]), Just(&b"^FD_1"[..]), Just(&b"^FS^XZ"[..]), Just(&b"\x02"[..]),
            Just(&b"\x03\r\n"[..]), Just(&b"SSIF\x01\x01"[..]), Just(&b"12"[..]), Just(&b","[..]), Just(&b"~HS"[..]),
        ], 0..200)
    ) {
        let bytes: Vec<u8> = pieces.concat();
        check_stream(&bytes, TijCommand::decode);
        check_stream(&bytes, TijReply::decode);
        check_stream(&bytes, DmccRequest::decode);
        check_stream(&bytes, DmccMessage::decode);
        check_stream(&bytes, ImageFrame::decode);
        check_stream(&bytes, ZplCommand::decode);
        check_stream(&bytes, HostStatus::decode);
    }

    #[test]
    fn tij_queue_round_trips_in_pieces(
        messages in proptest::collection::vec((any::<u32>(), proptest::collection::vec(any::<u8>(), 0..256)), 1..20),
        cuts in proptest::collection::vec(any::<usize>(), 0..10),
    ) {
        let commands: Vec<TijCommand> = messages.into_iter().map(|(id, data)| TijCommand::QueueMessage { id, data }).collect();
        let wire: Vec<u8> = commands.iter().flat_map(TijCommand::encode).collect();
        prop_assert_eq!(feed_in_pieces(&wire, &cuts, TijCommand::decode), commands);
    }

    #[test]
    fn tij_clear_and_prints_round_trip(ids in proptest::collection::vec(any::<u32>(), 0..60)) {
        let replies = vec![TijReply::Cleared { never_printed: ids.clone() }, TijReply::PrintComplete { id: ids.first().copied().unwrap_or(0) }];
        let wire: Vec<u8> = replies.iter().flat_map(TijReply::encode).collect();
        let (decoded, consumed) = decode_all(&wire, TijReply::decode);
        prop_assert_eq!(consumed, wire.len());
        prop_assert_eq!(decoded, replies.into_iter().map(Ok).collect::<Vec<_>>());
    }

    #[test]
    fn dmcc_results_round_trip_in_pieces(
        readouts in proptest::collection::vec((readout(), any::<bool>()), 1..10),
        cuts in proptest::collection::vec(any::<usize>(), 0..10),
    ) {
        let messages: Vec<DmccMessage> = readouts.into_iter().map(|(readout, checksum)| DmccMessage::Result { checksum, readout }).collect();
        let wire: Vec<u8> = messages.iter().flat_map(DmccMessage::encode).collect();
        prop_assert_eq!(feed_in_pieces(&wire, &cuts, DmccMessage::decode), messages);
    }

    #[test]
    fn image_frames_round_trip_in_pieces(
        frames in proptest::collection::vec((any::<u32>(), 0u16..20, 0u16..20, any::<u8>()), 1..6),
        cuts in proptest::collection::vec(any::<usize>(), 0..10),
    ) {
        let frames: Vec<ImageFrame> = frames.into_iter().map(|(seq, width, height, shade)| ImageFrame::Image(GrayImage {
            seq, width, height, pixels: vec![shade; usize::from(width) * usize::from(height)],
        })).collect();
        let wire: Vec<u8> = frames.iter().flat_map(ImageFrame::encode).collect();
        prop_assert_eq!(feed_in_pieces(&wire, &cuts, ImageFrame::decode), frames);
    }

    #[test]
    fn image_frame_bit_flips_are_detected(seq in any::<u32>(), bit in 0usize..(24 + 16) * 8) {
        let frame = ImageFrame::Image(GrayImage { seq, width: 4, height: 4, pixels: (0..16).collect() });
        let mut bytes = frame.encode();
        bytes[bit / 8] ^= 1 << (bit % 8);
        let (decoded, _) = decode_all(&bytes, ImageFrame::decode);
        prop_assert!(!decoded.contains(&Ok(frame)));
    }

    #[test]
    fn zpl_labels_round_trip(data in gs1_like_data(), x in 0u16..2000, y in 0u16..2000, module in 1u8..=100) {
        let data: Vec<u8> = data.into_iter().filter(|b| *b != b'^' && *b != b'~').collect();
        let label = ZplLabel { x, y, module_dots: module, gs1: true, data };
        let bytes = ZplCommand::Label(label.clone()).encode().map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(ZplCommand::decode(&bytes), Decoded::Message { message: ZplCommand::Label(label), consumed: bytes.len() });
    }

    #[test]
    fn zpl_host_status_round_trips(paper in any::<bool>(), paused in any::<bool>(), formats in 0u16..1000, head in any::<bool>(), ribbon in any::<bool>(), remaining in 0u32..100_000_000) {
        let status = HostStatus { paper_out: paper, paused, formats_in_buffer: formats, head_up: head, ribbon_out: ribbon, labels_remaining: remaining, ..HostStatus::default() };
        let bytes = status.encode();
        prop_assert_eq!(HostStatus::decode(&bytes), Decoded::Message { message: status, consumed: bytes.len() });
    }
}
