//! Devices that go away or talk garbage while the real station daemon runs a batch
//! (`daemon --auto-resume`, the simulated line in-process): the line stops safely
//! (the batch is held, the device shows OFFLINE), comes back by itself once the
//! device does, the batch reaches its quantity and closes, and the five invariants
//! hold from the simulator's ground truth.

mod daemon_support;

use std::time::Duration;

use daemon_support::{Line, LineOptions, batch_of, offline};
use serialstation_simulator::faults::{FaultKind, FaultSpec};

const QUANTITY: u64 = 150;
const WAIT: Duration = Duration::from_secs(180);

fn line(seed: u64) -> Line {
    let mut line = Line::new(LineOptions {
        rate_per_min: 2_400.0,
        pool: 1_000,
        seed,
        auto_resume: true,
        ..LineOptions::default()
    });
    line.start_daemon();
    line
}

/// Runs the batch to its end after the fault, closes it and judges.
fn finish(mut line: Line, batch: i64) {
    let done = line.wait_until("the batch to reach its quantity and stop", WAIT, |s| {
        s.batch
            .as_ref()
            .is_some_and(|b| b.id == batch && b.state == "stopped")
    });
    let view = batch_of(&done);
    assert_eq!(view.commissioned, QUANTITY, "{done:?}");
    assert!(done.devices.iter().all(|d| d.online), "{done:?}");
    println!("alarms: {:?}", done.alarms);
    let closed = line.cli(&["batch", "close"]);
    assert!(closed.ok().contains("closed"), "{closed:?}");
    line.judge(batch, Some(QUANTITY));
}

/// `fault` fires on every reply of `device` from item 30 on until the daemon has
/// seen the device go (offline or the batch held); then the device behaves again.
fn device_disconnects_mid_batch(fault: FaultKind, device: &str, seed: u64) {
    let mut line = line(seed);
    let batch = line.start_batch("DEV1", QUANTITY as u32);
    let before = line.wait_until("the batch to commission items", WAIT, |s| {
        s.batch.as_ref().is_some_and(|b| b.commissioned >= 30)
    });
    let holds_before = batch_of(&before).holds;
    line.set_fault(
        fault,
        FaultSpec {
            rate: 1.0,
            ..FaultSpec::default()
        },
    );
    let gone = line.wait_until(&format!("the {device} to go offline"), WAIT, |s| {
        offline(s, device)
    });
    line.clear_faults();
    println!(
        "the {device} went away:\n{}",
        serialstation::cli::batch::render_status(&gone)
    );
    let text = serialstation::cli::batch::render_status(&gone);
    assert!(text.contains("OFFLINE"), "{text}");
    let held = line.wait_until("the batch to be held for it", WAIT, |s| {
        s.batch.as_ref().is_some_and(|b| b.holds > holds_before)
    });
    assert!(batch_of(&held).id == batch);
    line.wait_until(&format!("the {device} to come back"), WAIT, |s| {
        !offline(s, device)
    });
    finish(line, batch);
}

#[test]
fn the_printer_disconnecting_mid_batch_holds_the_line_until_it_is_back() {
    device_disconnects_mid_batch(FaultKind::PrinterDisconnect, "printer", 31);
}

#[test]
fn the_camera_disconnecting_mid_batch_holds_the_line_until_it_is_back() {
    device_disconnects_mid_batch(FaultKind::CameraDisconnect, "camera", 32);
}

#[test]
fn the_plc_disconnecting_mid_batch_holds_the_line_until_it_is_back() {
    device_disconnects_mid_batch(FaultKind::PlcDisconnect, "PLC", 33);
}

#[test]
fn garbage_from_every_device_loses_nothing() {
    let mut line = line(34);
    let batch = line.start_batch("GARB1", QUANTITY as u32);
    let before = line.wait_until("the batch to commission items", WAIT, |s| {
        s.batch.as_ref().is_some_and(|b| b.commissioned >= 20)
    });
    let holds_before = batch_of(&before).holds;
    for fault in [
        FaultKind::PrinterGarbage,
        FaultKind::CameraGarbage,
        FaultKind::PlcGarbage,
    ] {
        line.set_fault(
            fault,
            FaultSpec {
                rate: 0.05,
                ..FaultSpec::default()
            },
        );
    }
    let burst = line.wait_until("garbage to bite or 40 more items", WAIT, |s| {
        s.batch
            .as_ref()
            .is_some_and(|b| b.holds > holds_before || b.commissioned >= 60)
            || s.devices.iter().any(|d| !d.online)
    });
    line.clear_faults();
    println!(
        "after the garbage:\n{}",
        serialstation::cli::batch::render_status(&burst)
    );
    finish(line, batch);
}
