//! Fault profiles for the engine simulation, on the simulator's own fault catalogue
//! (`serialstation_simulator::faults`): none, a plausible bad day, and everything
//! going wrong often. Rates are per opportunity: per item for the print, camera and
//! gate faults, per one-millisecond step for a device link dropping.

use std::collections::BTreeMap;

use serialstation_simulator::faults::{FaultKind, FaultSpec};

/// The faults of one run.
pub type Faults = BTreeMap<FaultKind, FaultSpec>;

fn rate(rate: f64) -> FaultSpec {
    FaultSpec {
        rate,
        ..FaultSpec::default()
    }
}

/// A print defect that leaves the code readable at grade 1.2 (below the
/// simulation's minimum of 1.5, so a grade reject).
fn defect(rate: f64) -> FaultSpec {
    FaultSpec {
        rate,
        severity: Some(0.7),
        ..FaultSpec::default()
    }
}

/// A camera result delayed by up to 60 ms: mostly past the decision point.
fn late(rate: f64) -> FaultSpec {
    FaultSpec {
        rate,
        max_ms: Some(60),
        ..FaultSpec::default()
    }
}

fn profile(rates: Rates) -> Faults {
    let mut faults = Faults::new();
    faults.insert(FaultKind::SkippedPrint, rate(rates.skipped_print));
    faults.insert(FaultKind::DoublePrint, rate(rates.double_print));
    faults.insert(FaultKind::WrongData, rate(rates.wrong_data));
    faults.insert(FaultKind::PrintDefect, defect(rates.defect));
    faults.insert(FaultKind::CameraNoRead, rate(rates.camera_no_read));
    faults.insert(FaultKind::CameraLatency, late(rates.camera_late));
    faults.insert(FaultKind::GateNoFire, rate(rates.gate_no_fire));
    faults.insert(FaultKind::ConfirmMiss, rate(rates.confirm_miss));
    for kind in [
        FaultKind::PrinterDisconnect,
        FaultKind::CameraDisconnect,
        FaultKind::PlcDisconnect,
    ] {
        faults.insert(kind, rate(rates.disconnect_per_step));
    }
    faults
}

struct Rates {
    skipped_print: f64,
    double_print: f64,
    wrong_data: f64,
    defect: f64,
    camera_no_read: f64,
    camera_late: f64,
    gate_no_fire: f64,
    confirm_miss: f64,
    disconnect_per_step: f64,
}

/// No faults at all.
pub fn none() -> Faults {
    Faults::new()
}

/// A plausible bad day on a real line.
pub fn default_faults() -> Faults {
    profile(Rates {
        skipped_print: 0.002,
        double_print: 0.001,
        wrong_data: 0.001,
        defect: 0.003,
        camera_no_read: 0.0035,
        camera_late: 0.002,
        gate_no_fire: 0.0002,
        confirm_miss: 0.0002,
        disconnect_per_step: 0.000007,
    })
}

/// Everything goes wrong often.
pub fn harsh() -> Faults {
    profile(Rates {
        skipped_print: 0.02,
        double_print: 0.01,
        wrong_data: 0.01,
        defect: 0.03,
        camera_no_read: 0.035,
        camera_late: 0.02,
        gate_no_fire: 0.002,
        confirm_miss: 0.002,
        disconnect_per_step: 0.00007,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_profile_is_a_valid_fault_table() {
        for faults in [none(), default_faults(), harsh()] {
            for (kind, spec) in &faults {
                assert_eq!(spec.validate(), Ok(()), "{}", kind.name());
            }
        }
        assert!(none().is_empty());
    }

    #[test]
    fn harsh_is_worse_than_the_default_for_every_fault() {
        let default = default_faults();
        let harsh = harsh();
        assert_eq!(
            default.keys().collect::<Vec<_>>(),
            harsh.keys().collect::<Vec<_>>()
        );
        for (kind, spec) in &default {
            assert!(spec.rate > 0.0, "{}", kind.name());
            assert!(harsh[kind].rate > spec.rate, "{}", kind.name());
        }
    }

    #[test]
    fn a_defect_is_a_grade_reject_and_not_a_no_read() {
        let severity = default_faults()[&FaultKind::PrintDefect].severity;
        let severity = severity.unwrap_or(0.5);
        let tenths = serialstation_simulator::inprocess::defect_grade_tenths(severity);
        assert!(severity < serialstation_simulator::inprocess::NO_READ_SEVERITY);
        assert!(tenths < 15, "grade {tenths} tenths passes a 1.5 minimum");
    }
}
