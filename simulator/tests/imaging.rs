//! Prints rendered to real DataMatrix images, read and graded for real: a clean
//! print reads back exactly with a high grade, each defect kind lowers the grade
//! or prevents the read, and throughput mode says that it made no image.

use serialstation_devices::readout::ReadOutcome;
use serialstation_simulator::imaging::{CameraJob, DEFECT_KINDS, DefectChoice, PrintedItem, shoot};

fn job(defects: Vec<DefectChoice>) -> CameraJob {
    CameraJob {
        item_no: 1,
        seq: 42,
        print: Some(PrintedItem {
            data: b"010950600013435217271231101234\x1d21SN00042".to_vec(),
            gs1: true,
            defects,
        }),
        forced_no_read: false,
        delay_ms: 0,
    }
}

#[test]
fn clean_print_reads_back_with_a_good_grade() {
    let shot = shoot(&job(vec![]), true, 6);
    match &shot.readout.outcome {
        ReadOutcome::Read {
            symbology,
            data,
            grade,
        } => {
            assert!(symbology.is_gs1_datamatrix());
            assert_eq!(data, b"010950600013435217271231101234\x1d21SN00042");
            assert!(grade.tenths >= 30, "clean print grade {grade}");
        }
        ReadOutcome::NoRead => panic!("clean print not read"),
    }
    assert_eq!(shot.readout.seq, 42);
    assert!(shot.image.is_some() && shot.print_grade.is_some());
}

#[test]
fn every_defect_kind_at_full_severity_degrades_the_print() {
    // Geometric changes a reader copes with, and sensor noise, may keep the grade;
    // they must still read the right data.
    let tolerated = ["rotate", "skew", "noise"];
    let clean = match shoot(&job(vec![]), true, 6).readout.outcome {
        ReadOutcome::Read { grade, .. } => grade.tenths,
        ReadOutcome::NoRead => panic!("clean print not read"),
    };
    for kind in DEFECT_KINDS {
        let shot = shoot(
            &job(vec![DefectChoice {
                kind: kind.to_string(),
                severity: 1.0,
            }]),
            true,
            6,
        );
        let degraded = match shot.readout.outcome {
            ReadOutcome::NoRead => true,
            ReadOutcome::Read {
                grade, ref data, ..
            } => grade.tenths < clean || data != b"010950600013435217271231101234\x1d21SN00042",
        };
        println!("{kind}: {:?}", shot.print_grade.map(|g| g.to_string()));
        if tolerated.contains(kind) {
            assert!(
                matches!(&shot.readout.outcome, ReadOutcome::Read { data, .. } if data == b"010950600013435217271231101234\x1d21SN00042"),
                "{kind}: a tolerated defect must still read the right data"
            );
        } else {
            assert!(
                degraded,
                "{kind} at severity 1 neither lowered the grade nor stopped the read"
            );
        }
    }
}

#[test]
fn blank_item_and_forced_no_read() {
    let mut blank = job(vec![]);
    blank.print = None;
    assert_eq!(shoot(&blank, true, 4).readout.outcome, ReadOutcome::NoRead);
    let mut forced = job(vec![]);
    forced.forced_no_read = true;
    let shot = shoot(&forced, true, 4);
    assert_eq!(shot.readout.outcome, ReadOutcome::NoRead);
    assert_eq!(
        shot.image.map(|i| (i.width, i.height)),
        Some((0, 0)),
        "nothing acquired"
    );
}

#[test]
fn throughput_mode_makes_no_image() {
    let shot = shoot(&job(vec![]), false, 4);
    assert!(shot.image.is_none() && shot.print_grade.is_none());
    assert!(matches!(shot.readout.outcome, ReadOutcome::Read { .. }));
}
