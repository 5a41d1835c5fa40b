//! The decision-latency ground truth over real sockets: a minimal controller reads
//! the smart camera's results and writes a verdict to the PLC for each; the ground
//! truth then holds, per seq that got a verdict, the time from the camera sending
//! the result to the PLC receiving the verdict write.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::*;
use serialstation_devices::dmcc::DmccMessage;
use serialstation_devices::plc::register_map::{PackMlCommand, VerdictCode};
use serialstation_devices::tij::{TijCommand, TijReply};
use serialstation_simulator::{GroundTruth, Simulator};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_verdict_has_its_latency_from_the_camera_result() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(&dir);
    cfg.simulator.images = false;
    cfg.line.rate_per_min = 600.0;
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
    for id in 1..=8u32 {
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
    printer.send(&TijCommand::SetRunning(true).encode()).await;
    assert_eq!(printer.next_ok().await, TijReply::Ack);
    let mut camera = FrameClient::connect(addrs.camera, DmccMessage::decode).await;
    let mut plc = modbus(addrs.plc).await;
    command(&mut plc, PackMlCommand::Start).await;

    // A verdict for the first 6 results; the next 2 results get none.
    let mut answered = BTreeSet::new();
    let mut results = 0;
    while results < 8 {
        let DmccMessage::Result { readout, .. } = camera.next_ok().await else {
            continue;
        };
        results += 1;
        if results <= 6 {
            write_verdict(&mut plc, readout.seq, VerdictCode::Good).await;
            // A second write for the same seq does not count twice.
            write_verdict(&mut plc, readout.seq, VerdictCode::Good).await;
            answered.insert(readout.seq);
        }
    }
    let path = sim.shutdown().await.unwrap();
    let truth = GroundTruth::open(&path).unwrap();
    let latencies = truth.decision_latencies().unwrap();
    let seqs: BTreeSet<u32> = latencies.iter().map(|(seq, _)| *seq).collect();
    assert_eq!(seqs, answered, "{latencies:?}");
    assert_eq!(latencies.len(), answered.len(), "one latency per seq");
    for (seq, latency) in &latencies {
        assert!(
            *latency > Duration::ZERO,
            "seq {seq}: the verdict came after the result"
        );
    }
}
