//! Each simulated device over real loopback sockets, with clients built from the
//! devices codecs: PLC register map and exception codes, control endpoint and
//! run-time faults, the image camera, the ZPL printer, connection faults.

mod common;

use std::time::Duration;

use common::*;
use serialstation_devices::dmcc::{DmccCommand, DmccMessage, DmccRequest, DmccStatus};
use serialstation_devices::image_camera::ImageFrame;
use serialstation_devices::plc::register_map::{
    self as map, PackMlCommand, PackMlState, VerdictCode,
};
use serialstation_devices::readout::ReadOutcome;
use serialstation_devices::tij::{TijCommand, TijReply};
use serialstation_devices::zpl::{HostStatus, ZplCommand, ZplLabel};
use serialstation_simulator::Simulator;
use serialstation_simulator::config::{CameraKind, PrinterKind};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio_modbus::client::{Reader, Writer};
use tokio_modbus::prelude::ExceptionCode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plc_serves_the_register_map_with_exception_codes() {
    let dir = tempfile::tempdir().unwrap();
    let sim = Simulator::start(config(&dir)).await.unwrap();
    let mut plc = modbus(sim.addresses().plc).await;

    let s = status(&mut plc).await;
    assert_eq!(s.state, PackMlState::Idle);
    assert_eq!(s.items_detected, 0);
    // Limit: default from the config, writable within 1..=1000.
    assert_eq!(
        plc.read_holding_registers(map::HR_CONSECUTIVE_REJECT_LIMIT, 1)
            .await
            .unwrap()
            .unwrap(),
        vec![5]
    );
    plc.write_single_register(map::HR_CONSECUTIVE_REJECT_LIMIT, 7)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        plc.read_holding_registers(0, 3).await.unwrap().unwrap(),
        vec![0, 7, 0]
    );
    // Exception 01: functions not served.
    assert_eq!(
        plc.read_coils(0, 1).await.unwrap(),
        Err(ExceptionCode::IllegalFunction)
    );
    assert_eq!(
        plc.read_discrete_inputs(0, 1).await.unwrap(),
        Err(ExceptionCode::IllegalFunction)
    );
    assert_eq!(
        plc.write_single_coil(0, true).await.unwrap(),
        Err(ExceptionCode::IllegalFunction)
    );
    // Exception 02: outside the map, or a partial verdict slot.
    assert_eq!(
        plc.read_input_registers(0, map::STATUS_BLOCK_LEN + 1)
            .await
            .unwrap(),
        Err(ExceptionCode::IllegalDataAddress)
    );
    assert_eq!(
        plc.read_holding_registers(50, 1).await.unwrap(),
        Err(ExceptionCode::IllegalDataAddress)
    );
    assert_eq!(
        plc.write_single_register(map::VERDICT_RING_START, 1)
            .await
            .unwrap(),
        Err(ExceptionCode::IllegalDataAddress)
    );
    // Exception 03: bad values.
    assert_eq!(
        plc.write_single_register(map::HR_COMMAND, 10)
            .await
            .unwrap(),
        Err(ExceptionCode::IllegalDataValue)
    );
    assert_eq!(
        plc.write_single_register(map::HR_CONSECUTIVE_REJECT_LIMIT, 0)
            .await
            .unwrap(),
        Err(ExceptionCode::IllegalDataValue)
    );
    assert_eq!(
        plc.write_multiple_registers(map::verdict_slot_address(1), &[0, 2, 1])
            .await
            .unwrap(),
        Err(ExceptionCode::IllegalDataValue),
        "seq 2 does not belong in slot 1"
    );
    // A verdict reads back from its slot.
    write_verdict(&mut plc, 300, VerdictCode::Good).await;
    assert_eq!(
        plc.read_holding_registers(map::verdict_slot_address(300), 3)
            .await
            .unwrap()
            .unwrap(),
        vec![0, 300, 1]
    );

    // Run: items flow, the encoder moves, no verdicts -> rejects -> stop at the limit.
    command(&mut plc, PackMlCommand::Start).await;
    let stopped = wait_state(&mut plc, PackMlState::Aborted).await;
    assert_eq!(stopped.consecutive_rejects, 7);
    assert_eq!(stopped.reject_fired_count, 7);
    assert!(stopped.encoder_count > 0 && stopped.items_detected >= 7);
    // The fate ring holds every seq below the gate count (items still on their way
    // to the confirm sensor when the line stopped have none yet).
    assert!(
        stopped.gate_count >= 1 && stopped.gate_count <= 7,
        "{stopped:?}"
    );
    let fates = plc
        .read_input_registers(map::FATE_RING_START, 7 * 3)
        .await
        .unwrap()
        .unwrap();
    let slots = map::decode_fate_slots(&fates).unwrap();
    for (seq, slot) in slots.iter().enumerate().take(stopped.gate_count as usize) {
        assert_eq!(slot.seq, seq as u32);
        assert_eq!(slot.fate, map::FateCode::RejectedConfirmed);
    }
    assert_eq!(stopped.fate_write_count, stopped.reject_confirmed_count);
    // Start is refused while the alarm is latched; Clear, Reset, Start runs again.
    command(&mut plc, PackMlCommand::Start).await;
    assert_eq!(status(&mut plc).await.state, PackMlState::Aborted);
    command(&mut plc, PackMlCommand::Clear).await;
    command(&mut plc, PackMlCommand::Reset).await;
    let s = status(&mut plc).await;
    assert_eq!(s.state, PackMlState::Idle);
    assert!(s.alarms.is_empty());
    sim.shutdown().await.unwrap();
}

async fn control_call(
    stream: &mut BufReader<tokio::net::TcpStream>,
    json: &str,
) -> serde_json::Value {
    stream
        .get_mut()
        .write_all(format!("{json}\n").as_bytes())
        .await
        .unwrap();
    let mut line = String::new();
    tokio::time::timeout(WAIT, stream.read_line(&mut line))
        .await
        .unwrap()
        .unwrap();
    serde_json::from_str(&line).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_change_at_run_time_through_the_control_endpoint() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(&dir);
    cfg.simulator.images = false;
    cfg.plc.consecutive_reject_limit = 1000;
    let sim = Simulator::start(cfg).await.unwrap();
    let addrs = sim.addresses().clone();
    let mut control = BufReader::new(tokio::net::TcpStream::connect(addrs.control).await.unwrap());
    let reply = control_call(&mut control, r#"{"cmd":"status"}"#).await;
    assert_eq!(reply["ok"], true);
    assert_eq!(reply["status"]["state"], "idle");
    let reply = control_call(&mut control, r#"{"cmd":"no_such_thing"}"#).await;
    assert_eq!(reply["ok"], false);
    assert!(reply["error"].as_str().unwrap().contains("bad command"));
    let reply = control_call(
        &mut control,
        r#"{"cmd":"set_fault","fault":"camera_no_read","rate":2.0}"#,
    )
    .await;
    assert_eq!(reply["ok"], false, "rate out of range is refused");

    let mut printer = FrameClient::connect(addrs.printer, TijReply::decode).await;
    printer
        .send(&TijCommand::SelectJob { job: "J".into() }.encode())
        .await;
    printer.next_ok().await;
    for id in 1..=100u32 {
        printer
            .send(
                &TijCommand::QueueMessage {
                    id,
                    data: gs1_data(id).into_bytes(),
                }
                .encode(),
            )
            .await;
        printer.next_ok().await;
    }
    printer.send(&TijCommand::SetRunning(true).encode()).await;
    let mut camera = FrameClient::connect(addrs.camera, DmccMessage::decode).await;
    let reply = control_call(&mut control, r#"{"cmd":"command","command":"start"}"#).await;
    assert_eq!(reply["ok"], true);

    let mut next_read = async || loop {
        if let DmccMessage::Result { readout, .. } = camera.next_ok().await {
            return readout;
        }
    };
    let first = next_read().await;
    assert!(matches!(first.outcome, ReadOutcome::Read { .. }));
    let reply = control_call(
        &mut control,
        r#"{"cmd":"set_fault","fault":"camera_no_read","rate":1.0}"#,
    )
    .await;
    assert_eq!(reply["ok"], true);
    // Results already on their way may still be reads; then only no-reads come.
    let mut saw_no_read = false;
    for _ in 0..10 {
        let r = next_read().await;
        if r.outcome == ReadOutcome::NoRead {
            saw_no_read = true;
        } else {
            assert!(!saw_no_read, "a read after the no-read fault took effect");
        }
    }
    assert!(saw_no_read);
    let reply = control_call(&mut control, r#"{"cmd":"faults"}"#).await;
    assert_eq!(reply["faults"]["camera_no_read"]["rate"], 1.0);
    control_call(&mut control, r#"{"cmd":"clear_faults"}"#).await;
    let mut saw_read = false;
    for _ in 0..10 {
        if matches!(next_read().await.outcome, ReadOutcome::Read { .. }) {
            saw_read = true;
            break;
        }
    }
    assert!(saw_read, "reads come back once the fault is cleared");

    // A jam stops the line; the PLC shows it.
    control_call(&mut control, r#"{"cmd":"jam"}"#).await;
    let mut plc = modbus(addrs.plc).await;
    let s = status(&mut plc).await;
    assert_eq!(s.state, PackMlState::Aborted);
    assert!(s.alarms.contains(map::AlarmBits::JAM));
    let flushed = control_call(&mut control, r#"{"cmd":"flush"}"#).await;
    assert_eq!(flushed["ok"], true);
    let truth = sim.ground_truth().unwrap();
    let no_reads = truth
        .items()
        .unwrap()
        .into_iter()
        .filter(|i| {
            i.faults
                .contains(&serialstation_simulator::faults::FaultKind::CameraNoRead)
        })
        .count();
    assert!(no_reads >= 1);
    assert!(
        truth
            .line_events()
            .unwrap()
            .iter()
            .any(|n| n.detail.contains("Jam"))
    );
    sim.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zpl_printer_and_image_camera() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(&dir);
    cfg.printer.kind = PrinterKind::Zpl;
    cfg.camera.kind = CameraKind::Image;
    cfg.plc.consecutive_reject_limit = 1000;
    let sim = Simulator::start(cfg).await.unwrap();
    let addrs = sim.addresses().clone();
    let mut printer = FrameClient::connect(addrs.printer, HostStatus::decode).await;
    // Three GS1 labels and one plain DataMatrix label (a controller bug the camera must show).
    for n in 1..=4u32 {
        let label = ZplLabel {
            x: 50,
            y: 50,
            module_dots: 8,
            gs1: n != 4,
            data: gs1_data(n).into_bytes(),
        };
        printer
            .send(&ZplCommand::Label(label).encode().unwrap())
            .await;
    }
    printer.send(b"~HS").await;
    let hs = printer.next_ok().await;
    assert_eq!(hs.formats_in_buffer, 4);
    assert!(!hs.paused);

    let mut camera = FrameClient::connect(addrs.camera, ImageFrame::decode).await;
    camera
        .send(&ImageFrame::Heartbeat { counter: 9 }.encode())
        .await;
    assert_eq!(camera.next_ok().await, ImageFrame::Heartbeat { counter: 9 });
    let mut plc = modbus(addrs.plc).await;
    command(&mut plc, PackMlCommand::Start).await;
    let mut decoded = Vec::new();
    while decoded.len() < 5 {
        if let ImageFrame::Image(img) = camera.next_ok().await {
            let text = if img.width == 0 {
                None
            } else {
                serialstation_devices::vision::decode_luma(
                    &img.pixels,
                    img.width as usize,
                    img.height as usize,
                )
                .ok()
                .map(|s| format!("{}{}", s.symbology_identifier, s.text))
            };
            decoded.push((img.seq, text));
        }
    }
    assert_eq!(decoded[0], (0, Some(format!("]d2{}", gs1_data(1)))));
    assert_eq!(decoded[1], (1, Some(format!("]d2{}", gs1_data(2)))));
    assert_eq!(decoded[2], (2, Some(format!("]d2{}", gs1_data(3)))));
    assert_eq!(
        decoded[3],
        (3, Some(format!("]d1{}", gs1_data(4)))),
        "plain DataMatrix label"
    );
    assert_eq!(decoded[4], (4, None), "no label left: blank item");
    printer.send(b"~HS").await;
    assert_eq!(printer.next_ok().await.formats_in_buffer, 0);
    sim.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_faults_disconnect_delay_and_garbage() {
    let dir = tempfile::tempdir().unwrap();
    let sim = Simulator::start(config(&dir)).await.unwrap();
    let addrs = sim.addresses().clone();
    let control = sim.control();
    use serialstation_simulator::ControlRequest;
    use serialstation_simulator::faults::{FaultKind, FaultSpec};
    let set = |fault, rate: f64, max_ms| {
        control.apply(ControlRequest::SetFault {
            fault,
            spec: FaultSpec {
                rate,
                max_ms,
                ..Default::default()
            },
        })
    };

    // Garbage before the reply: the codec reports garbage, then the real reply.
    set(FaultKind::PrinterGarbage, 1.0, None);
    let mut printer = FrameClient::connect(addrs.printer, TijReply::decode).await;
    printer.send(&TijCommand::GetBufferCount.encode()).await;
    assert!(
        matches!(printer.next().await, Some(Err(_))),
        "garbage first"
    );
    let mut reply = None;
    while reply.is_none() {
        match printer.next().await {
            Some(Ok(r)) => reply = Some(r),
            Some(Err(_)) => {}
            None => panic!("closed"),
        }
    }
    assert_eq!(reply, Some(TijReply::BufferCount { count: 0 }));
    control.apply(ControlRequest::ClearFaults);

    // Disconnect: the printer closes the socket instead of answering.
    set(FaultKind::PrinterDisconnect, 1.0, None);
    printer.send(&TijCommand::GetStatus.encode()).await;
    assert!(printer.next().await.is_none(), "connection closed");
    control.apply(ControlRequest::ClearFaults);

    // Slow replies from the camera, in ratio to an undelayed reply of the same run.
    let mut camera = FrameClient::connect(addrs.camera, DmccMessage::decode).await;
    let ask = DmccRequest {
        checksum: false,
        command_id: Some(3),
        command: DmccCommand::GetDeviceType,
    }
    .encode();
    let t0 = tokio::time::Instant::now();
    camera.send(&ask).await;
    camera.next_ok().await;
    let fast = t0.elapsed();
    set(FaultKind::CameraSlowReply, 1.0, Some(200));
    let mut slow = Duration::ZERO;
    for _ in 0..5 {
        let t0 = tokio::time::Instant::now();
        camera.send(&ask).await;
        camera.next_ok().await;
        slow = slow.max(t0.elapsed());
    }
    assert!(slow > fast, "slow replies are slower: {slow:?} vs {fast:?}");
    control.apply(ControlRequest::ClearFaults);

    // Unknown command and bad checksum get the DMCC status codes.
    camera.send(b"||0:4>MAKE COFFEE\r\n").await;
    assert!(matches!(
        camera.next_ok().await,
        DmccMessage::Response {
            status: DmccStatus::InvalidCommand,
            ..
        }
    ));
    camera.send(b"||1:5>GET DEVICE.TYPE00\r\n").await;
    assert!(matches!(
        camera.next_ok().await,
        DmccMessage::Response {
            status: DmccStatus::ChecksumIncorrect,
            ..
        }
    ));

    // Modbus exception 04 and a dropped PLC connection.
    set(FaultKind::ModbusException, 1.0, None);
    let mut plc = modbus(addrs.plc).await;
    assert_eq!(
        plc.read_input_registers(0, 1).await.unwrap(),
        Err(ExceptionCode::ServerDeviceFailure)
    );
    control.apply(ControlRequest::ClearFaults);
    set(FaultKind::PlcDisconnect, 1.0, None);
    assert!(
        plc.read_input_registers(0, 1).await.is_err(),
        "transport error: the PLC dropped the connection"
    );
    control.apply(ControlRequest::ClearFaults);
    let mut plc = modbus(addrs.plc).await;
    assert!(
        plc.read_input_registers(0, 1).await.unwrap().is_ok(),
        "a new connection works"
    );
    set(FaultKind::PlcGarbage, 1.0, None);
    let garbled =
        tokio::time::timeout(Duration::from_secs(2), plc.read_input_registers(0, 1)).await;
    assert!(
        !matches!(garbled, Ok(Ok(Ok(_)))),
        "a corrupted frame is never a good reply"
    );
    sim.shutdown().await.unwrap();
}
