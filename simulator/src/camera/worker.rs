//! The camera worker thread: takes camera jobs in trigger order, renders, decodes
//! and grades each (the CPU-heavy part, kept off the async runtime), records the
//! result in the ground truth and hands it to the camera server for delivery after
//! its latency.

use std::sync::mpsc;
use std::thread;

use serialstation_devices::readout::ReadOutcome;
use tokio::sync::mpsc::UnboundedSender;

use crate::ground_truth::CameraReport;
use crate::imaging::{CameraJob, Shot, shoot};
use crate::runtime::core::{SharedCore, lock};

/// Starts the worker; it ends when the job sender is dropped.
pub fn spawn(
    core: SharedCore,
    jobs: mpsc::Receiver<CameraJob>,
    shots: UnboundedSender<Shot>,
    images: bool,
    module_px: u32,
) -> std::io::Result<thread::JoinHandle<()>> {
    thread::Builder::new()
        .name("camera-worker".into())
        .spawn(move || {
            while let Ok(job) = jobs.recv() {
                let shot = shoot(&job, images, module_px);
                lock(&core).record_camera(
                    shot.item_no,
                    report_of(&shot),
                    shot.print_grade.map(|g| g.to_string()),
                );
                if shots.send(shot).is_err() {
                    return;
                }
            }
        })
}

/// The ground-truth form of what the camera reports.
pub fn report_of(shot: &Shot) -> CameraReport {
    match &shot.readout.outcome {
        ReadOutcome::Read {
            symbology,
            data,
            grade,
        } => CameraReport {
            data: Some(format!("{symbology}{}", String::from_utf8_lossy(data))),
            grade: Some(grade.to_string()),
        },
        ReadOutcome::NoRead => CameraReport {
            data: None,
            grade: None,
        },
    }
}
