//! The fault profiles of the line demo: none, default (what a good line sees on a
//! bad day) and harsh (disconnects of every device, slow and garbled replies).

use std::collections::BTreeMap;

use serialstation_simulator::faults::{FaultKind, FaultSpec};

/// How much goes wrong on the simulated line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FaultLevel {
    None,
    Default,
    Harsh,
}

impl std::fmt::Display for FaultLevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FaultLevel::None => "none",
            FaultLevel::Default => "default",
            FaultLevel::Harsh => "harsh",
        })
    }
}

fn rate(rate: f64) -> FaultSpec {
    FaultSpec {
        rate,
        ..FaultSpec::default()
    }
}

fn delayed(rate: f64, max_ms: u64) -> FaultSpec {
    FaultSpec {
        rate,
        max_ms: Some(max_ms),
        ..FaultSpec::default()
    }
}

/// The simulator faults of a level.
pub fn profile(level: FaultLevel) -> BTreeMap<FaultKind, FaultSpec> {
    let mut faults = BTreeMap::new();
    if level == FaultLevel::None {
        return faults;
    }
    faults.insert(FaultKind::PrintDefect, rate(0.02));
    faults.insert(FaultKind::CameraNoRead, rate(0.01));
    faults.insert(FaultKind::WrongData, rate(0.005));
    faults.insert(FaultKind::CameraLatency, delayed(0.02, 40));
    faults.insert(FaultKind::SkippedPrint, rate(0.003));
    if level == FaultLevel::Harsh {
        faults.insert(FaultKind::PrintDefect, rate(0.05));
        faults.insert(FaultKind::CameraNoRead, rate(0.02));
        faults.insert(FaultKind::ConfirmMiss, rate(0.005));
        faults.insert(FaultKind::PrinterDisconnect, rate(0.0005));
        faults.insert(FaultKind::CameraDisconnect, rate(0.0005));
        faults.insert(FaultKind::PlcDisconnect, rate(0.0002));
        faults.insert(FaultKind::PrinterSlowReply, delayed(0.01, 100));
        faults.insert(FaultKind::PlcSlowReply, delayed(0.005, 50));
        faults.insert(FaultKind::PrinterGarbage, rate(0.001));
        faults.insert(FaultKind::CameraGarbage, rate(0.001));
    }
    faults
}
