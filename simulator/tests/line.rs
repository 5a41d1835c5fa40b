//! The whole simulated line over real loopback sockets: a minimal controller built
//! from the devices codecs queues prints on the TIJ printer, reads the smart
//! camera, writes verdicts to the PLC over Modbus, and the ground truth shows
//! exactly what physically happened.

mod common;

use std::collections::BTreeSet;

use common::*;
use serialstation_devices::dmcc::{DmccCommand, DmccMessage, DmccRequest};
use serialstation_devices::plc::register_map::{
    AlarmBits, PackMlCommand, PackMlState, VerdictCode,
};
use serialstation_devices::readout::ReadOutcome;
use serialstation_devices::tij::{TijCommand, TijReply};
use serialstation_simulator::{PhysicalExit, Simulator};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn controller_loop_over_real_sockets() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(&dir);
    cfg.line.rate_per_min = 1200.0; // 250 ms from camera to gate
    let sim = Simulator::start(cfg).await.unwrap();
    let addrs = sim.addresses().clone();

    let mut printer = FrameClient::connect(addrs.printer, TijReply::decode).await;
    printer
        .send(
            &TijCommand::SelectJob {
                job: "GS1-DM".into(),
            }
            .encode(),
        )
        .await;
    assert_eq!(printer.next_ok().await, TijReply::Ack);
    for id in 1..=20u32 {
        printer
            .send(
                &TijCommand::QueueMessage {
                    id,
                    data: gs1_data(id).into_bytes(),
                }
                .encode(),
            )
            .await;
        assert_eq!(printer.next_ok().await, TijReply::Queued { id });
    }
    printer
        .send(
            &TijCommand::QueueMessage {
                id: 5,
                data: b"X".to_vec(),
            }
            .encode(),
        )
        .await;
    assert!(
        matches!(printer.next_ok().await, TijReply::Error { .. }),
        "duplicate id refused"
    );
    printer.send(&TijCommand::SetRunning(true).encode()).await;
    assert_eq!(printer.next_ok().await, TijReply::Ack);

    let mut camera = FrameClient::connect(addrs.camera, DmccMessage::decode).await;
    camera
        .send(
            &DmccRequest {
                checksum: false,
                command_id: Some(1),
                command: DmccCommand::GetDeviceType,
            }
            .encode(),
        )
        .await;
    match camera.next_ok().await {
        DmccMessage::Response {
            command_id: Some(1),
            body,
            ..
        } => assert_eq!(body, "SS-SMARTCAM-1"),
        other => panic!("{other:?}"),
    }

    let mut plc = modbus(addrs.plc).await;
    assert_eq!(status(&mut plc).await.state, PackMlState::Idle);
    command(&mut plc, PackMlCommand::Start).await;
    assert_eq!(status(&mut plc).await.state, PackMlState::Execute);

    // Controller: GOOD for odd serials that read back exactly; nothing for the rest.
    let mut good_serials = BTreeSet::new();
    let mut reads = 0;
    while reads < 20 {
        let DmccMessage::Result { readout, .. } = camera.next_ok().await else {
            continue;
        };
        if let ReadOutcome::Read {
            data, symbology, ..
        } = &readout.outcome
        {
            assert!(symbology.is_gs1_datamatrix());
            reads += 1;
            let text = String::from_utf8(data.clone()).unwrap();
            let n: u32 = text.rsplit("SN").next().unwrap().parse().unwrap();
            assert_eq!(text, gs1_data(n), "the camera decoded the real image");
            if n % 2 == 1 {
                write_verdict(&mut plc, readout.seq, VerdictCode::Good).await;
                good_serials.insert(format!("SN{n:05}"));
            }
        }
    }
    // The buffer is empty now: blank items are rejected until 5 in a row stop the line.
    let stopped = wait_state(&mut plc, PackMlState::Aborted).await;
    assert!(
        stopped.alarms.contains(AlarmBits::CONSECUTIVE_REJECTS),
        "{stopped:?}"
    );

    // Every print was acknowledged, in order.
    let mut prc = Vec::new();
    while prc.len() < 20 {
        if let TijReply::PrintComplete { id } = printer.next_ok().await {
            prc.push(id);
        }
    }
    assert_eq!(prc, (1..=20).collect::<Vec<_>>());
    printer.send(&TijCommand::ClearBuffer.encode()).await;
    assert_eq!(
        printer.next_ok().await,
        TijReply::Cleared {
            never_printed: vec![]
        }
    );

    let path = sim.shutdown().await.unwrap();
    let truth = serialstation_simulator::GroundTruth::open(&path).unwrap();
    // Every item released carried a GOOD written for it; a GOOD that reached the PLC
    // after its item passed the gate (a loaded machine) rejected the item instead.
    let exited: BTreeSet<String> = truth.serials_exited_good().unwrap().into_iter().collect();
    assert!(
        exited.is_subset(&good_serials),
        "{exited:?} vs {good_serials:?}"
    );
    for item in truth.items().unwrap() {
        if let Some(serial) = item.serial()
            && good_serials.contains(serial)
            && !exited.contains(serial)
        {
            assert!(
                item.late_verdicts > 0 && item.exit == PhysicalExit::RejectBin,
                "{item:?}"
            );
        }
    }
    assert!(!exited.is_empty());
    assert!(truth.serials_printed_more_than_once().unwrap().is_empty());
    assert!(truth.good_exits_without_good_verdict().unwrap().is_empty());
    let items = truth.items().unwrap();
    for item in &items {
        if item.exit == PhysicalExit::RejectBin {
            assert_eq!(item.reject_seen_by_sensor, Some(true));
        }
        if let Some(p) = &item.print {
            assert!(p.grade.is_some(), "a rendered print has a grade");
            assert_eq!(item.imaging, "image");
        }
    }
    assert_eq!(truth.serials_rejected().unwrap().len() + exited.len(), 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn printer_faults_show_in_the_ground_truth() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(&dir);
    cfg.simulator.images = false;
    cfg.plc.consecutive_reject_limit = 1000;
    use serialstation_simulator::faults::{FaultKind, FaultSpec};
    let at = |n: u64| FaultSpec {
        at_items: vec![n],
        ..Default::default()
    };
    cfg.faults.insert(FaultKind::DoublePrint, at(2));
    cfg.faults.insert(FaultKind::WrongData, at(5));
    cfg.faults.insert(FaultKind::SkippedPrint, at(7));
    let sim = Simulator::start(cfg).await.unwrap();
    let mut printer = FrameClient::connect(sim.addresses().printer, TijReply::decode).await;
    printer
        .send(&TijCommand::SelectJob { job: "J".into() }.encode())
        .await;
    printer.next_ok().await;
    for id in 1..=10u32 {
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
    let mut plc = modbus(sim.addresses().plc).await;
    command(&mut plc, PackMlCommand::Start).await;
    let mut prc = Vec::new();
    while prc.len() < 10 {
        if let TijReply::PrintComplete { id } = printer.next_ok().await {
            prc.push(id);
        }
    }
    assert_eq!(
        prc,
        (1..=10).collect::<Vec<_>>(),
        "the silent repeat sends no PRC"
    );
    let path = sim.shutdown().await.unwrap();
    let truth = serialstation_simulator::GroundTruth::open(&path).unwrap();
    // The double print, and the wrong data that turned SN00004 into SN00005.
    assert_eq!(
        truth.serials_printed_more_than_once().unwrap(),
        vec![("SN00002".to_string(), 2), ("SN00005".to_string(), 2)]
    );
    let items = truth.items().unwrap();
    let serial = |n: u64| {
        items
            .iter()
            .find(|i| i.item_no == n)
            .and_then(|i| i.serial().map(str::to_string))
    };
    assert_eq!(serial(1).as_deref(), Some("SN00001"));
    assert_eq!(serial(2).as_deref(), Some("SN00002"));
    assert_eq!(serial(3).as_deref(), Some("SN00002"), "double print");
    assert_eq!(serial(4).as_deref(), Some("SN00003"));
    assert_eq!(
        serial(5).as_deref(),
        Some("SN00005"),
        "wrong data: SN00004 printed as SN00005"
    );
    assert_eq!(serial(7), None, "skipped print");
    assert_eq!(serial(8).as_deref(), Some("SN00006"));
    let item7 = items.iter().find(|i| i.item_no == 7).unwrap();
    assert!(item7.faults.contains(&FaultKind::SkippedPrint));
    assert!(items.iter().all(|i| i.imaging == "none"));
    // No verdicts were written: nothing left through the good exit.
    assert!(truth.serials_exited_good().unwrap().is_empty());
}
