//! The in-process smart camera: arming and software triggers as the DMCC server
//! answers them (`camera/dmcc_server.rs`), and what it reads from a print without
//! rendering an image ([`smart_camera_shot`]).

use std::sync::Arc;

use serialstation_devices::readout::{CameraReadout, ReadOutcome};
use serialstation_devices::traits::{Camera, DeviceEventKind, DeviceFuture};
use tokio::time::Instant;

use crate::imaging::{CameraJob, Shot, shoot};
use crate::runtime::core::lock;
use crate::runtime::net::CAMERA_FAULTS;

use super::Shared;
use super::host::Dev;

/// A print whose worst defect is at least this severe is not read at all.
pub const NO_READ_SEVERITY: f64 = 0.85;

/// The grade (in tenths, 0..=40) of a print whose worst defect has `severity`
/// (0..=1): 4.0 for a flawless print, falling evenly to 0.0 at full severity
/// (0.5 gives 2.0, a C).
pub fn defect_grade_tenths(severity: f64) -> u8 {
    let severity = if severity.is_nan() {
        1.0
    } else {
        severity.clamp(0.0, 1.0)
    };
    ((1.0 - severity) * 40.0).round() as u8
}

/// What the smart camera reports for one job without an image: the socket camera's
/// throughput mode ([`shoot`] without images: the printed data as printed, grade
/// 4.0, a no-read for a blank item or a forced no-read), except that a print with
/// defects is graded from its worst defect's severity ([`defect_grade_tenths`]),
/// and not read at all from [`NO_READ_SEVERITY`] on. The print's own grade then goes
/// to the ground truth too. Pure and deterministic.
pub fn smart_camera_shot(job: &CameraJob) -> Shot {
    let mut shot = shoot(job, false, 0);
    let worst = job
        .print
        .iter()
        .flat_map(|print| print.defects.iter())
        .map(|defect| defect.severity)
        .fold(None, |worst: Option<f64>, s| {
            Some(worst.map_or(s, |w| w.max(s)))
        });
    let Some(severity) = worst else {
        return shot;
    };
    let tenths = if severity >= NO_READ_SEVERITY {
        0
    } else {
        defect_grade_tenths(severity)
    };
    let mut print_grade = None;
    if let ReadOutcome::Read { grade, .. } = &mut shot.readout.outcome {
        grade.tenths = tenths;
        print_grade = Some(*grade);
    }
    if severity >= NO_READ_SEVERITY {
        shot.readout.outcome = ReadOutcome::NoRead;
    }
    shot.print_grade = print_grade;
    shot
}

/// The smart camera's handle for the station.
pub(super) struct InProcessCamera {
    shared: Arc<Shared>,
}

impl InProcessCamera {
    pub(super) fn new(shared: Arc<Shared>) -> InProcessCamera {
        InProcessCamera { shared }
    }
}

impl Camera for InProcessCamera {
    fn name(&self) -> &str {
        &self.shared.names.camera
    }

    fn set_armed(&self, armed: bool) -> DeviceFuture<'_, ()> {
        self.shared.crash.hit();
        Box::pin(async move {
            let what = format!("SetTriggerEnabled({armed})");
            self.shared.ready(Dev::Camera, &what)?;
            lock(&self.shared.core).camera_armed = armed;
            self.shared
                .reply_faults(Dev::Camera, CAMERA_FAULTS, &what)
                .await
        })
    }

    fn trigger(&self, _seq: u32) -> DeviceFuture<'_, ()> {
        self.shared.crash.hit();
        Box::pin(async move {
            let what = "TriggerOn";
            self.shared.ready(Dev::Camera, what)?;
            // Nothing tracked is under the camera on a software trigger: the reply is
            // the acknowledgement, and a no-read for the next trigger index follows it.
            let seq = lock(&self.shared.core).model.plc.camera_trigger_count;
            self.shared
                .reply_faults(Dev::Camera, CAMERA_FAULTS, what)
                .await?;
            self.shared.host().push(
                Dev::Camera,
                Instant::now(),
                DeviceEventKind::CameraResult(CameraReadout {
                    seq,
                    outcome: ReadOutcome::NoRead,
                }),
            );
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imaging::{DefectChoice, PrintedItem};

    fn job(defects: &[f64], forced_no_read: bool) -> CameraJob {
        CameraJob {
            item_no: 4,
            seq: 3,
            print: Some(PrintedItem {
                data: b"0109506000134352\x1d21ABC".to_vec(),
                gs1: true,
                defects: defects
                    .iter()
                    .map(|s| DefectChoice {
                        kind: "fade".into(),
                        severity: *s,
                    })
                    .collect(),
            }),
            forced_no_read,
            delay_ms: 0,
        }
    }

    fn grade(shot: &Shot) -> Option<u8> {
        match &shot.readout.outcome {
            ReadOutcome::Read { grade, .. } => Some(grade.tenths),
            ReadOutcome::NoRead => None,
        }
    }

    #[test]
    fn the_grade_falls_evenly_with_the_severity() {
        assert_eq!(defect_grade_tenths(0.0), 40);
        assert_eq!(defect_grade_tenths(0.5), 20);
        assert_eq!(defect_grade_tenths(0.7), 12);
        assert_eq!(defect_grade_tenths(1.0), 0);
        assert_eq!(defect_grade_tenths(-3.0), 40);
        assert_eq!(defect_grade_tenths(f64::NAN), 0);
    }

    #[test]
    fn a_clean_print_reads_as_in_throughput_mode() {
        let shot = smart_camera_shot(&job(&[], false));
        assert_eq!(grade(&shot), Some(40));
        assert_eq!(shot.print_grade, None);
        assert_eq!(shot.readout.seq, 3);
    }

    #[test]
    fn the_worst_defect_sets_the_grade_and_a_severe_one_is_not_read() {
        let shot = smart_camera_shot(&job(&[0.2, 0.7], false));
        assert_eq!(grade(&shot), Some(12));
        assert_eq!(shot.print_grade.map(|g| g.tenths), Some(12));
        let shot = smart_camera_shot(&job(&[NO_READ_SEVERITY], false));
        assert_eq!(grade(&shot), None);
        assert_eq!(shot.print_grade.map(|g| g.tenths), Some(0));
    }

    #[test]
    fn a_forced_no_read_and_a_blank_item_stay_no_reads() {
        assert_eq!(grade(&smart_camera_shot(&job(&[0.3], true))), None);
        let blank = CameraJob {
            print: None,
            ..job(&[], false)
        };
        assert_eq!(grade(&smart_camera_shot(&blank)), None);
    }
}
