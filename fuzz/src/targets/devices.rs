//! Device wire codecs, mostly in the direction the station receives (what a
//! printer, camera or PLC sends it), and also the device side the simulator runs:
//! TIJ printer frames, the smart camera's DMCC lines (base64 data included), ZPL host
//! status and label formats, image-camera frames and the images themselves, PLC
//! register blocks, line framing and camera readout text.

use serialstation_devices::dmcc::codec::{
    DmccCommand, DmccMessage, DmccRequest, DmccStatus, MAX_LINE as DMCC_MAX_LINE,
};
use serialstation_devices::framing::{Decoded, decode_all, next_line};
use serialstation_devices::image_camera::analysis::analyse;
use serialstation_devices::image_camera::frame::{GrayImage, ImageFrame};
use serialstation_devices::plc::register_map::{
    AlarmBits, FATE_RING_START, FateCode, FateSlot, HR_COMMAND, LineStatus, PackMlCommand,
    PackMlState, STATUS_BLOCK_LEN, VerdictCode, VerdictSlot, check_holding_read,
    check_holding_write, check_input_read, decode_fate_slots, verdict_slot_address,
};
use serialstation_devices::readout::{CameraReadout, Grade, ReadOutcome, SymbologyId};
use serialstation_devices::tij::codec::{
    MAX_LINE as TIJ_MAX_LINE, TijCommand, TijErrorCode, TijErrorLevel, TijFault, TijReply,
    TijState, TijStatus,
};
use serialstation_devices::vision::{EncodeOptions, RenderOptions, encode_text};
use serialstation_devices::zpl::host_status::HostStatus;
use serialstation_devices::zpl::label::{MAX_FORMAT, ZplCommand, ZplLabel};

use super::{drain, expect_round_trip};
use crate::Target;

/// ASCII GS, the FNC1 separator inside GS1 data.
const GS: u8 = 0x1D;

pub(crate) fn targets() -> Vec<Target> {
    vec![
        Target {
            name: "tij_reply",
            what: "TijReply::decode over a byte stream (what a TIJ printer sends), and framing::decode_all; every decoded reply must re-encode and decode to itself",
            seeds: tij_reply_seeds,
            run: run_tij_reply,
            max_len: 8192,
            slow: false,
        },
        Target {
            name: "tij_command",
            what: "TijCommand::decode over a byte stream (what the simulated printer reads); every decoded command must re-encode and decode to itself",
            seeds: tij_command_seeds,
            run: run_tij_command,
            max_len: 8192,
            slow: false,
        },
        Target {
            name: "dmcc_message",
            what: "DmccMessage::decode over a byte stream (smart camera responses and pushed READ/NOREAD results); every decoded message must re-encode and decode to itself",
            seeds: dmcc_message_seeds,
            run: run_dmcc_message,
            max_len: 8192,
            slow: false,
        },
        Target {
            name: "dmcc_request",
            what: "DmccRequest::decode over a byte stream (what the simulated camera reads); every decoded request must re-encode and decode to itself",
            seeds: dmcc_request_seeds,
            run: run_dmcc_request,
            max_len: 8192,
            slow: false,
        },
        Target {
            name: "zpl_host_status",
            what: "HostStatus::decode over a byte stream (the label printer's ~HS answer); every decoded status must re-encode and decode to itself",
            seeds: host_status_seeds,
            run: run_host_status,
            max_len: 2048,
            slow: false,
        },
        Target {
            name: "zpl_command",
            what: "ZplCommand::decode over a byte stream (label formats and ~ commands the simulated printer reads); a decoded label that re-encodes must decode again",
            seeds: zpl_command_seeds,
            run: run_zpl_command,
            max_len: 20_000,
            slow: false,
        },
        Target {
            name: "image_frame",
            what: "ImageFrame::decode over a byte stream (image camera frames: header, payload, CRC); every decoded frame must re-encode and decode to itself",
            seeds: image_frame_seeds,
            run: run_image_frame,
            max_len: 8192,
            slow: false,
        },
        Target {
            name: "image_analysis",
            what: "image_camera::analysis::analyse (DataMatrix locate, decode and ISO/IEC 15415 grade) on a camera image: 2 bytes of width (big-endian), then pixels",
            seeds: image_analysis_seeds,
            run: run_image_analysis,
            max_len: 16_384,
            slow: true,
        },
        Target {
            name: "plc_registers",
            what: "register_map: LineStatus::decode, VerdictSlot/FateSlot::decode, decode_fate_slots, check_holding_write, check_input_read, check_holding_read, PackMlState/PackMlCommand/VerdictCode/FateCode::from_u16 on big-endian u16 words; decoded blocks must encode to the same words",
            seeds: plc_seeds,
            run: run_plc,
            max_len: 512,
            slow: false,
        },
        Target {
            name: "framing_next_line",
            what: "framing::next_line (first byte: terminator CR or CR LF and the line bound), checking what each outcome promises",
            seeds: framing_seeds,
            run: run_next_line,
            max_len: 1024,
            slow: false,
        },
        Target {
            name: "readout_text",
            what: "SymbologyId::parse, Grade::parse_value, Grade::parse_formal (camera readout fields); a parsed grade must write and read back the same",
            seeds: readout_seeds,
            run: run_readout,
            max_len: 64,
            slow: false,
        },
    ]
}

// ----- seeds -----

fn concat(parts: &[Vec<u8>]) -> Vec<u8> {
    parts.iter().flatten().copied().collect()
}

fn with_all(mut seeds: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    let all = concat(&seeds);
    seeds.push(all);
    seeds
}

fn tij_replies() -> Vec<TijReply> {
    vec![
        TijReply::Ack,
        TijReply::Queued { id: 42 },
        TijReply::Error {
            code: TijErrorCode::BufferFull,
            text: "buffer full".to_string(),
        },
        TijReply::Error {
            code: TijErrorCode::Other(77),
            text: "caf\u{e9} |\\".to_string(),
        },
        TijReply::BufferCount { count: 7 },
        TijReply::Cleared {
            never_printed: vec![40, 41, 42],
        },
        TijReply::Status(TijStatus {
            state: TijState::Running,
            error_level: TijErrorLevel::None,
            job: "GS1DM".to_string(),
            batch_count: 10,
            total_count: 12_345,
        }),
        TijReply::Faults(vec![TijFault::InkLow, TijFault::Other(99)]),
        TijReply::PrintComplete { id: 42 },
        TijReply::StateChanged {
            state: TijState::Offline,
            error_level: TijErrorLevel::Fault,
        },
    ]
}

fn tij_reply_seeds() -> Vec<Vec<u8>> {
    let mut seeds = with_all(tij_replies().iter().map(TijReply::encode).collect());
    seeds.push(b"\r\nXYZ|1|\rPRC|abc|\rPRC|5|\r".to_vec());
    seeds.push(b"ERR|\rSCB\rFLT|0|\rSTS|3|0||0|0\r".to_vec());
    seeds
}

fn tij_command_seeds() -> Vec<Vec<u8>> {
    let commands = [
        TijCommand::SelectJob {
            job: "GS1DM".to_string(),
        },
        TijCommand::QueueMessage {
            id: 42,
            data: b"0109506000134352\x1d21AB|\\".to_vec(),
        },
        TijCommand::GetBufferCount,
        TijCommand::ClearBuffer,
        TijCommand::GetStatus,
        TijCommand::GetFaults,
        TijCommand::SetRunning(true),
        TijCommand::SetRunning(false),
    ];
    with_all(commands.iter().map(TijCommand::encode).collect())
}

fn readout(seq: u32) -> CameraReadout {
    CameraReadout {
        seq,
        outcome: ReadOutcome::Read {
            symbology: SymbologyId::GS1_DATAMATRIX,
            data: b"0109506000134352\x1d21SN1".to_vec(),
            grade: Grade {
                tenths: 35,
                aperture_mils: 8,
                wavelength_nm: 660,
                angle_deg: 45,
            },
        },
    }
}

fn dmcc_message_seeds() -> Vec<Vec<u8>> {
    let messages = [
        DmccMessage::Result {
            checksum: false,
            readout: readout(7),
        },
        DmccMessage::Result {
            checksum: true,
            readout: readout(8),
        },
        DmccMessage::Result {
            checksum: false,
            readout: CameraReadout {
                seq: 9,
                outcome: ReadOutcome::NoRead,
            },
        },
        DmccMessage::Response {
            checksum: false,
            command_id: Some(3),
            status: DmccStatus::Ok,
            body: "DataMan 370".to_string(),
        },
        DmccMessage::Response {
            checksum: true,
            command_id: None,
            status: DmccStatus::InvalidCommand,
            body: String::new(),
        },
    ];
    let mut seeds = with_all(messages.iter().map(DmccMessage::encode).collect());
    seeds.push(b"||[1]READ,1,]d2,A,3.5,3.5/8/660/45,MDEwOTUwNjAwMDEzNDM1Mh0yMVNOMQ\r\n".to_vec());
    seeds
}

fn dmcc_request_seeds() -> Vec<Vec<u8>> {
    let requests = [
        DmccRequest {
            checksum: false,
            command_id: None,
            command: DmccCommand::TriggerOn,
        },
        DmccRequest {
            checksum: true,
            command_id: Some(7),
            command: DmccCommand::SetTriggerEnabled(true),
        },
        DmccRequest {
            checksum: false,
            command_id: Some(1),
            command: DmccCommand::GetDeviceType,
        },
        DmccRequest {
            checksum: false,
            command_id: None,
            command: DmccCommand::SetResultChecksum(false),
        },
        DmccRequest {
            checksum: false,
            command_id: None,
            command: DmccCommand::Unknown("GET FOO.BAR".to_string()),
        },
    ];
    with_all(requests.iter().map(DmccRequest::encode).collect())
}

fn host_status_seeds() -> Vec<Vec<u8>> {
    let faulted = HostStatus {
        paper_out: true,
        head_up: true,
        ribbon_out: true,
        labels_remaining: 999_999_999,
        graphics_stored: 65_535,
        ..HostStatus::default()
    };
    let mut seeds = with_all(vec![HostStatus::default().encode(), faulted.encode()]);
    seeds.push(
        b"\x02030,0,1,1245,003,0,0,0,000,0,0,0\x03\r\n\x02001,0,0,0,0,0,0,0,00000012,1,000\x03\r\n\x021234,0\x03\r\n"
            .to_vec(),
    );
    seeds
}

fn zpl_command_seeds() -> Vec<Vec<u8>> {
    let label = ZplLabel {
        x: 50,
        y: 50,
        module_dots: 8,
        gs1: true,
        data: b"0109506000134352\x1d21SN_1".to_vec(),
    };
    let commands = [
        ZplCommand::Label(label),
        ZplCommand::HostStatus,
        ZplCommand::Pause,
        ZplCommand::Resume,
        ZplCommand::CancelAll,
    ];
    let mut seeds = with_all(commands.iter().filter_map(|c| c.encode().ok()).collect());
    seeds.push(b"^XA^FO50,50^BXN,8,200,,,,_^FD_10109506000134352_121SN1^FS^XZ".to_vec());
    seeds.push(b"  ^XA^CI28^FO0,0^BXN,4,200,,,,#^FD#1ABC##^FS^PQ1^XZ\n~HS~JA".to_vec());
    seeds
}

fn image_frames() -> Vec<ImageFrame> {
    vec![
        ImageFrame::Image(GrayImage {
            seq: 1,
            width: 4,
            height: 3,
            pixels: (0..12u8).map(|i| i * 20).collect(),
        }),
        ImageFrame::Image(GrayImage {
            seq: 2,
            width: 0,
            height: 0,
            pixels: Vec::new(),
        }),
        ImageFrame::Arm,
        ImageFrame::Disarm,
        ImageFrame::Trigger { seq: 9 },
        ImageFrame::Heartbeat { counter: 5 },
    ]
}

fn image_frame_seeds() -> Vec<Vec<u8>> {
    let mut seeds = with_all(image_frames().iter().map(ImageFrame::encode).collect());
    seeds.push(b"xxSSIFSSI".to_vec());
    seeds
}

/// A camera image as the image_analysis target reads it: width, then pixels.
fn image_input(width: u32, pixels: &[u8]) -> Vec<u8> {
    let width = u16::try_from(width).unwrap_or(u16::MAX);
    let mut out = width.to_be_bytes().to_vec();
    out.extend_from_slice(pixels);
    out
}

fn image_analysis_seeds() -> Vec<Vec<u8>> {
    let mut seeds = Vec::new();
    for (data, module_px) in [
        ("(01)09506000134352(17)271231(10)ABC123(21)SN0001", 2),
        ("(01)09506000134352(21)X1", 3),
    ] {
        let options = EncodeOptions {
            render: RenderOptions {
                module_px,
                ..RenderOptions::default()
            },
            ..EncodeOptions::default()
        };
        if let Ok(symbol) = encode_text(data, &options) {
            seeds.push(image_input(symbol.image.width(), symbol.image.as_raw()));
        }
    }
    seeds.push(image_input(16, &[255; 256]));
    seeds.push(image_input(0, &[]));
    seeds
}

fn words_to_bytes(words: &[u16]) -> Vec<u8> {
    words.iter().flat_map(|w| w.to_be_bytes()).collect()
}

fn plc_seeds() -> Vec<Vec<u8>> {
    let status = LineStatus {
        heartbeat: 7,
        state: PackMlState::Execute,
        alarms: AlarmBits(AlarmBits::BIN_FULL),
        items_detected: 100_000,
        camera_trigger_count: 99_999,
        gate_count: 99_998,
        good_exit_count: 99_990,
        reject_fired_count: 8,
        reject_confirmed_count: 8,
        encoder_count: 4_000_000_000,
        line_speed_per_min: 300,
        consecutive_rejects: 1,
        fate_write_count: 99_990,
    };
    let verdict = VerdictSlot {
        seq: 5,
        verdict: VerdictCode::Good,
    };
    let mut verdict_write = vec![verdict_slot_address(5)];
    verdict_write.extend_from_slice(&verdict.encode());
    let fates = [
        FateSlot {
            seq: 3,
            fate: FateCode::ExitedGood,
        },
        FateSlot {
            seq: 4,
            fate: FateCode::RejectedConfirmed,
        },
    ];
    let fate_words: Vec<u16> = fates.iter().flat_map(|f| f.encode()).collect();
    vec![
        words_to_bytes(&status.encode()),
        words_to_bytes(&verdict_write),
        words_to_bytes(&[HR_COMMAND, PackMlCommand::Start.to_u16(), 5, 1]),
        words_to_bytes(&fate_words),
        words_to_bytes(&[FATE_RING_START, 30]),
    ]
}

fn framing_seeds() -> Vec<Vec<u8>> {
    vec![
        b"\x10AB\rC".to_vec(),
        b"\x11x\r\ny\r\n".to_vec(),
        b"\x100123456789\rX".to_vec(),
        b"\x00\r".to_vec(),
    ]
}

fn readout_seeds() -> Vec<Vec<u8>> {
    vec![
        b"]d2".to_vec(),
        b"]d1".to_vec(),
        b"3.5/08/660/45".to_vec(),
        b"4.0/255/9999/90".to_vec(),
        b"0.0/1/0/0".to_vec(),
        b"3.5".to_vec(),
    ]
}

// ----- runs -----

fn run_tij_reply(data: &[u8]) {
    for reply in drain(data, TijReply::decode) {
        let encoded = reply.encode();
        if encoded.len() <= TIJ_MAX_LINE + 1 {
            expect_round_trip(&reply, &encoded, TijReply::decode);
        }
    }
    let (_, consumed) = decode_all(data, TijReply::decode);
    assert!(consumed <= data.len());
}

fn run_tij_command(data: &[u8]) {
    for command in drain(data, TijCommand::decode) {
        let encoded = command.encode();
        if encoded.len() <= TIJ_MAX_LINE + 1 {
            expect_round_trip(&command, &encoded, TijCommand::decode);
        }
    }
}

fn run_dmcc_message(data: &[u8]) {
    for message in drain(data, DmccMessage::decode) {
        let encoded = message.encode();
        // A frame written with an explicit checksum flag can be one byte longer than
        // the one read, which may cross the line bound: not a finding.
        if encoded.len() <= DMCC_MAX_LINE + 2 {
            expect_round_trip(&message, &encoded, DmccMessage::decode);
        }
    }
}

fn run_dmcc_request(data: &[u8]) {
    for request in drain(data, DmccRequest::decode) {
        let encoded = request.encode();
        if encoded.len() <= DMCC_MAX_LINE + 2 {
            expect_round_trip(&request, &encoded, DmccRequest::decode);
        }
    }
}

fn run_host_status(data: &[u8]) {
    for status in drain(data, HostStatus::decode) {
        let _ = status.faults();
        expect_round_trip(&status, &status.encode(), HostStatus::decode);
    }
}

/// A label without GS1 mode whose data starts with GS is written with a leading
/// `_1`, which reads back as GS1 mode: the one form that does not round-trip.
fn zpl_ambiguous(command: &ZplCommand) -> bool {
    matches!(command, ZplCommand::Label(label) if !label.gs1 && label.data.first() == Some(&GS))
}

fn run_zpl_command(data: &[u8]) {
    for command in drain(data, ZplCommand::decode) {
        let Ok(encoded) = command.encode() else {
            continue;
        };
        if encoded.len() > MAX_FORMAT || zpl_ambiguous(&command) {
            continue;
        }
        expect_round_trip(&command, &encoded, ZplCommand::decode);
    }
}

fn run_image_frame(data: &[u8]) {
    for frame in drain(data, ImageFrame::decode) {
        expect_round_trip(&frame, &frame.encode(), ImageFrame::decode);
    }
}

fn run_image_analysis(data: &[u8]) {
    let (width, pixels) = match data {
        [high, low, rest @ ..] => (u16::from_be_bytes([*high, *low]), rest),
        _ => (0, &[] as &[u8]),
    };
    let height = if width == 0 {
        0
    } else {
        pixels.len() / usize::from(width)
    };
    let height = u16::try_from(height).unwrap_or(u16::MAX);
    let count = usize::from(width) * usize::from(height);
    let image = GrayImage {
        seq: 1,
        width,
        height,
        pixels: pixels[..count].to_vec(),
    };
    let readout = analyse(&image);
    assert_eq!(readout.seq, image.seq);
}

fn run_plc(data: &[u8]) {
    let words: Vec<u16> = data
        .chunks(2)
        .map(|pair| match pair {
            [high, low] => u16::from_be_bytes([*high, *low]),
            [single] => u16::from(*single),
            _ => 0,
        })
        .collect();
    let block = &words[..words.len().min(usize::from(STATUS_BLOCK_LEN))];
    if let Ok(status) = LineStatus::decode(block) {
        assert_eq!(
            status.encode().as_slice(),
            block,
            "the status block decodes to {status:?}, which encodes differently"
        );
    }
    let slot = &words[..words.len().min(3)];
    if let Ok(verdict) = VerdictSlot::decode(slot) {
        assert_eq!(verdict.encode().as_slice(), slot);
    }
    if let Ok(fate) = FateSlot::decode(slot) {
        assert_eq!(fate.encode().as_slice(), slot);
    }
    let _ = decode_fate_slots(&words);
    if let Some((&start, values)) = words.split_first() {
        let _ = check_holding_write(start, values);
        let count = values.first().copied().unwrap_or(0);
        let _ = check_input_read(start, count);
        let _ = check_holding_read(start, count);
    }
    for &word in words.iter().take(64) {
        if let Ok(state) = PackMlState::from_u16(word) {
            assert_eq!(state.to_u16(), word);
        }
        if let Ok(command) = PackMlCommand::from_u16(word) {
            assert_eq!(command.to_u16(), word);
        }
        let _ = VerdictCode::from_u16(word);
        let _ = FateCode::from_u16(word);
        let _ = AlarmBits(word).names();
    }
}

fn run_next_line(data: &[u8]) {
    let Some((&control, buf)) = data.split_first() else {
        return;
    };
    let terminator: &[u8] = if control & 1 == 0 { b"\r" } else { b"\r\n" };
    let max_line = usize::from(control >> 1);
    match next_line(buf, terminator, max_line) {
        Decoded::Incomplete => assert!(
            buf.len() < max_line + terminator.len(),
            "Incomplete for {} bytes with a {max_line}-byte line bound",
            buf.len()
        ),
        Decoded::Message { message, consumed } => {
            assert!(message.len() <= max_line, "a line longer than the bound");
            assert_eq!(consumed, message.len() + terminator.len());
            assert!(consumed <= buf.len());
            assert_eq!(&buf[message.len()..consumed], terminator);
            assert!(
                !message.windows(terminator.len()).any(|w| w == terminator),
                "the line holds its terminator"
            );
        }
        Decoded::Garbage { consumed, .. } => {
            assert!(
                (1..=buf.len()).contains(&consumed),
                "garbage of {consumed} bytes"
            );
        }
        Decoded::Ignored { consumed } => {
            assert!(consumed <= buf.len(), "ignored {consumed} bytes");
        }
    }
}

fn run_readout(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Some(id) = SymbologyId::parse(&text) {
        assert_eq!(id.as_str(), text, "symbology identifier {text:?}");
        let _ = id.is_gs1_datamatrix();
    }
    if let Some(tenths) = Grade::parse_value(&text) {
        assert!(tenths <= Grade::MAX_TENTHS);
    }
    if let Some(grade) = Grade::parse_formal(&text) {
        let _ = grade.to_string();
        assert_eq!(
            Grade::parse_formal(&grade.formal()),
            Some(grade),
            "grade {text:?} written as {:?}",
            grade.formal()
        );
        assert_eq!(Grade::parse_value(&grade.value_text()), Some(grade.tenths));
    }
}
