//! The two camera drivers against minimal camera peers on real loopback
//! sockets (written with the crate's own codecs): the smart camera's pushed
//! results, command ids, checksums and garbage; the image camera's frames
//! decoded and graded for real by the vision module, no-reads and corrupted
//! frames.

mod support;

use serialstation_devices::dmcc::{DmccCamera, DmccCommand, DmccMessage, DmccRequest, DmccStatus};
use serialstation_devices::framing::decode_all;
use serialstation_devices::image_camera::{GrayImage, ImageCamera, ImageFrame};
use serialstation_devices::readout::{CameraReadout, Grade, ReadOutcome, SymbologyId};
use serialstation_devices::traits::{Camera, DeviceError, DeviceEventKind};
use serialstation_devices::vision::{EncodeOptions, encode_text};
use support::{loopback_link, wait_for, wait_up};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

fn camera_result(kind: &DeviceEventKind) -> Option<CameraReadout> {
    match kind {
        DeviceEventKind::CameraResult(readout) => Some(readout.clone()),
        _ => None,
    }
}

/// A smart camera: answers commands (echoing ids), pushes a result per trigger,
/// and sends whatever raw bytes the test asks for.
async fn start_smart_camera() -> (std::net::SocketAddr, mpsc::Sender<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let (raw_tx, mut raw) = mpsc::channel::<Vec<u8>>(16);
    tokio::spawn(async move {
        let Ok((mut stream, _)) = listener.accept().await else {
            return;
        };
        let mut inbox = Vec::new();
        let mut chunk = [0u8; 4096];
        let mut next_index = 100u32;
        loop {
            tokio::select! {
                read = stream.read(&mut chunk) => {
                    let n = match read { Ok(0) | Err(_) => return, Ok(n) => n };
                    inbox.extend_from_slice(&chunk[..n]);
                    let (requests, consumed) = decode_all(&inbox, DmccRequest::decode);
                    inbox.drain(..consumed);
                    for request in requests {
                        let mut out = Vec::new();
                        match request {
                            Ok(DmccRequest { checksum, command_id, command }) => {
                                let (status, body) = match command {
                                    DmccCommand::GetDeviceType => (DmccStatus::Ok, "SS-SMARTCAM-1".to_string()),
                                    DmccCommand::Unknown(_) => (DmccStatus::InvalidCommand, String::new()),
                                    _ => (DmccStatus::Ok, String::new()),
                                };
                                out.extend(DmccMessage::Response { checksum, command_id, status, body }.encode());
                                if command == DmccCommand::TriggerOn {
                                    let readout = CameraReadout { seq: next_index, outcome: ReadOutcome::NoRead };
                                    next_index += 1;
                                    out.extend(DmccMessage::Result { checksum, readout }.encode());
                                }
                            }
                            Err(error) => out.extend(
                                DmccMessage::Response { checksum: false, command_id: None, status: DmccStatus::ChecksumIncorrect, body: error.to_string() }.encode(),
                            ),
                        }
                        if stream.write_all(&out).await.is_err() { return; }
                    }
                }
                bytes = raw.recv() => match bytes {
                    Some(bytes) => if stream.write_all(&bytes).await.is_err() { return },
                    None => return,
                },
            }
        }
    });
    (address, raw_tx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smart_camera_results_commands_and_garbage() {
    let (address, raw) = start_smart_camera().await;
    let (events_tx, mut events) = mpsc::channel(64);
    let camera = DmccCamera::spawn(loopback_link("smartcam", address), true, events_tx);
    wait_up(&mut events).await;
    assert_eq!(
        camera.device_type().await.expect("device type"),
        "SS-SMARTCAM-1"
    );
    camera.set_armed(true).await.expect("arm");
    let refused = camera
        .command(DmccCommand::Unknown("MAKE COFFEE".into()))
        .await;
    assert!(
        matches!(&refused, Err(DeviceError::Refused { detail, .. }) if detail.contains("101")),
        "{refused:?}"
    );

    camera.trigger(0).await.expect("software trigger");
    let readout = wait_for(&mut events, camera_result).await;
    assert_eq!(
        readout,
        CameraReadout {
            seq: 100,
            outcome: ReadOutcome::NoRead
        }
    );

    // A pushed read, GS kept through base64; then garbage, a stale response, and another read.
    let grade = Grade {
        tenths: 35,
        aperture_mils: 5,
        wavelength_nm: 660,
        angle_deg: 45,
    };
    let read = CameraReadout {
        seq: 4242,
        outcome: ReadOutcome::Read {
            symbology: SymbologyId::GS1_DATAMATRIX,
            data: b"0109506000134352\x1d21SN1".to_vec(),
            grade,
        },
    };
    let mut bytes = DmccMessage::Result {
        checksum: true,
        readout: read.clone(),
    }
    .encode();
    bytes.extend(b"||0[1]READ,what\r\n\xff\xff\r\n");
    bytes.extend(
        DmccMessage::Response {
            checksum: false,
            command_id: Some(999),
            status: DmccStatus::Ok,
            body: String::new(),
        }
        .encode(),
    );
    let mut corrupted = DmccMessage::Result {
        checksum: true,
        readout: CameraReadout {
            seq: 1,
            outcome: ReadOutcome::NoRead,
        },
    }
    .encode();
    corrupted[8] = b'7';
    bytes.extend(corrupted);
    bytes.extend(
        DmccMessage::Result {
            checksum: false,
            readout: CameraReadout {
                seq: 4243,
                outcome: ReadOutcome::NoRead,
            },
        }
        .encode(),
    );
    raw.send(bytes).await.expect("camera alive");
    assert_eq!(wait_for(&mut events, camera_result).await, read);
    let mut errors = Vec::new();
    let next = wait_for(&mut events, |kind| match kind {
        DeviceEventKind::ProtocolError(detail) => {
            errors.push(detail.clone());
            None
        }
        other => camera_result(other),
    })
    .await;
    assert_eq!(
        next.seq, 4243,
        "the corrupted result (seq 1) must not get through"
    );
    assert_eq!(errors.len(), 4, "{errors:?}");
    assert!(errors.iter().any(|e| e.contains("checksum")), "{errors:?}");
    assert!(
        errors.iter().any(|e| e.contains("command id Some(999)")),
        "{errors:?}"
    );
    assert_eq!(
        camera.device_type().await.expect("still talking"),
        "SS-SMARTCAM-1"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn image_camera_frames_are_decoded_and_graded() {
    let symbol = encode_text(
        "(01)09506000134352(17)270131(10)ABC123(21)SN0000001",
        &EncodeOptions::default(),
    )
    .expect("encode a GS1 DataMatrix");
    let (width, height) = (symbol.image.width() as u16, symbol.image.height() as u16);
    let image = GrayImage {
        seq: 77,
        width,
        height,
        pixels: symbol.image.into_raw(),
    };

    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let (arm_tx, mut armed) = mpsc::channel(4);
    tokio::spawn(async move {
        let Ok((mut stream, _)) = listener.accept().await else {
            return;
        };
        let mut inbox = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let n = match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            inbox.extend_from_slice(&chunk[..n]);
            let (frames, consumed) = decode_all(&inbox, ImageFrame::decode);
            inbox.drain(..consumed);
            for frame in frames.into_iter().flatten() {
                if frame == ImageFrame::Arm {
                    let mut out = b"noise".to_vec();
                    let mut corrupt = ImageFrame::Image(image.clone()).encode();
                    corrupt[30] ^= 0x55;
                    out.extend(corrupt);
                    out.extend(ImageFrame::Image(image.clone()).encode());
                    out.extend(
                        ImageFrame::Image(GrayImage {
                            seq: 78,
                            width: 0,
                            height: 0,
                            pixels: vec![],
                        })
                        .encode(),
                    );
                    out.extend(
                        ImageFrame::Image(GrayImage {
                            seq: 79,
                            width: 64,
                            height: 64,
                            pixels: vec![255; 64 * 64],
                        })
                        .encode(),
                    );
                    let _ = arm_tx.send(()).await;
                    if stream.write_all(&out).await.is_err() {
                        return;
                    }
                }
            }
        }
    });

    let (events_tx, mut events) = mpsc::channel(64);
    let camera = ImageCamera::spawn(loopback_link("imagecam", address), events_tx);
    wait_up(&mut events).await;
    camera.set_armed(true).await.expect("arm");
    armed.recv().await.expect("camera armed");
    let mut errors = Vec::new();
    let mut readouts = Vec::new();
    while readouts.len() < 3 {
        readouts.push(
            wait_for(&mut events, |kind| match kind {
                DeviceEventKind::ProtocolError(detail) => {
                    errors.push(detail.clone());
                    None
                }
                other => camera_result(other),
            })
            .await,
        );
    }
    readouts.sort_by_key(|readout| readout.seq);
    match &readouts[0] {
        CameraReadout {
            seq: 77,
            outcome:
                ReadOutcome::Read {
                    symbology,
                    data,
                    grade,
                },
        } => {
            assert_eq!(*symbology, SymbologyId::GS1_DATAMATRIX);
            assert_eq!(
                data.as_slice(),
                b"01095060001343521727013110ABC123\x1d21SN0000001"
            );
            assert!(grade.tenths <= 40);
        }
        other => panic!("expected a read of seq 77, got {other:?}"),
    }
    assert_eq!(
        readouts[1],
        CameraReadout {
            seq: 78,
            outcome: ReadOutcome::NoRead
        }
    );
    assert_eq!(
        readouts[2],
        CameraReadout {
            seq: 79,
            outcome: ReadOutcome::NoRead
        }
    );
    assert_eq!(errors.len(), 2, "noise and the corrupted frame: {errors:?}");
    assert!(errors.iter().any(|e| e.contains("CRC")), "{errors:?}");
}
