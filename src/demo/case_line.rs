//! The demo's case line: the closed batch's good packs, in the order they left
//! the reject gate, pass a simulated case cell (the case packer's PLC, the case
//! camera, label printer and label scanner) while the real
//! `serialstation case-station` runs it as a child process, as an operator would
//! start it. When every pack has been counted into a case, the demo types
//! `close` for the partial case and `quit`. Then [`judge_cases`] compares what is
//! physically in each case (the cell's ground truth) with what the store
//! recorded. Cases the station sends to rework leave their packs loose.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serialstation_simulator::case_cell::{
    self, CaseCellConfig, CaseCellTruth, CaseExit, CaseFaults,
};

use super::case_judge::{CaseJudgement, judge_cases};
use super::faults::FaultLevel;
use super::invariants::InvariantCheck;
use super::station_process::{StationProcess, label_args, read_truth};
use crate::aggregation::Level;
use crate::gs1::Gtin;
use crate::store::{BatchId, Store};

/// Longest the demo waits for the case station to finish.
const CASE_TIMEOUT: Duration = Duration::from_secs(180);

/// What the case line did.
#[derive(Debug, Clone)]
pub struct CaseRun {
    pub packs: usize,
    pub truth: CaseCellTruth,
    pub log: PathBuf,
}

impl CaseRun {
    /// One line for the demo's aggregation summary.
    pub fn describe(&self) -> String {
        let reworked: Vec<_> = self
            .truth
            .cases
            .iter()
            .filter(|c| c.exit == Some(CaseExit::Rework))
            .collect();
        let loose: usize = reworked.iter().map(|c| c.counted.len()).sum();
        let reprints: usize = self
            .truth
            .cases
            .iter()
            .map(|c| c.labels.len().saturating_sub(1))
            .sum();
        format!(
            "case station: {} packs in {} cases, {} to rework ({loose} packs loose), {reprints} label reprints (log {})",
            self.packs,
            self.truth.cases.len(),
            reworked.len(),
            self.log.display()
        )
    }
}

/// Whether the product's cases hold packs straight from the line, the case
/// station's job (a product with bundles is packed by hand).
pub fn has_case_station(db: &Path, gtin: &Gtin) -> bool {
    Store::open_existing(db)
        .ok()
        .and_then(|store| store.product(gtin).ok().flatten())
        .is_some_and(|product| {
            product.aggregation_level(Level::Case).is_some()
                && product.child_level(Level::Case) == Some(Level::Pack)
        })
}

/// What goes wrong in the case cell at each of the demo's fault levels: labels
/// now and then (a label that does not verify sends its case to rework); at the
/// harsh level also packs lost, codes smudged and strangers in the case.
fn faults(level: FaultLevel) -> CaseFaults {
    match level {
        FaultLevel::None => CaseFaults::default(),
        FaultLevel::Default => CaseFaults {
            label_no_read: 0.03,
            label_misprint: 0.01,
            ..CaseFaults::default()
        },
        FaultLevel::Harsh => CaseFaults {
            missing_pack: 0.05,
            extra_pack: 0.03,
            duplicate_code: 0.03,
            unreadable_code: 0.05,
            label_no_read: 0.08,
            label_misprint: 0.03,
        },
    }
}

/// Runs the batch's good packs over the case station.
pub fn run(
    exe: &Path,
    db: &Path,
    workdir: &Path,
    batch: BatchId,
    level: FaultLevel,
    seed: u64,
) -> Result<CaseRun, String> {
    let store = Store::open_existing(db).map_err(|e| e.to_string())?;
    let stored = store
        .batch(batch)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("batch {} is not in the store", batch.0))?;
    let product = Gtin::parse(&stored.gtin)
        .map_err(|e| e.message)
        .and_then(|gtin| store.product(&gtin).map_err(|e| e.to_string()))?
        .ok_or_else(|| format!("GTIN {} is not in the product master", stored.gtin))?;
    let capacity = product
        .aggregation_level(Level::Case)
        .map_or(12, |l| l.capacity) as usize;
    let packs: Vec<String> = store
        .good_exit_serials(batch, 0, u64::MAX >> 1)
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|serial| {
            format!(
                "(01){}(21){serial}(10){}(17){}",
                stored.gtin, stored.lot, stored.expiry
            )
        })
        .collect();
    drop(store);
    let layout = crate::container_station::case_run::default_layout(capacity as u64);
    let truth_path = workdir.join("case-cell-truth.json");
    let addrs = case_cell::start(CaseCellConfig {
        packs: packs.clone(),
        capacity,
        layout,
        faults: faults(level),
        seed,
        pack_interval: Duration::from_millis(5),
        truth: truth_path.clone(),
        plc_port: 0,
        camera_port: 0,
        printer_port: 0,
        label_scanner_port: 0,
    })?;
    let log = workdir.join("case-station.log");
    let mut args = vec![
        "case-station".to_string(),
        "--batch".to_string(),
        batch.0.to_string(),
        "--plc".to_string(),
        addrs.plc.to_string(),
        "--camera".to_string(),
        addrs.camera.to_string(),
        "--layout".to_string(),
        format!("{}x{}", layout.0, layout.1),
    ];
    args.extend(label_args(addrs.printer, addrs.label_scanner));
    let mut station = StationProcess::start("the case station", exe, db, &args, &log)?;
    let until = Instant::now() + CASE_TIMEOUT;
    station.wait_for("ready", until)?;
    // Every pack counted into a case and every closed case gone; the last,
    // partial case closes on the operator's word.
    let mut closed = false;
    loop {
        let truth: CaseCellTruth = read_truth(&truth_path, "case cell")?;
        let waiting = truth.cases.iter().any(|c| c.exit.is_none());
        if truth.to_arrive == 0 && !waiting {
            if truth.filling.is_empty() {
                break;
            }
            if !closed {
                station.command("close")?;
                closed = true;
            }
        }
        if Instant::now() >= until {
            return Err(format!(
                "the case cell still has packs after {CASE_TIMEOUT:?} (log {})",
                log.display()
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let status = station.quit()?;
    if !status.success() {
        return Err(format!(
            "the case station ended with {status} (log {})",
            log.display()
        ));
    }
    Ok(CaseRun {
        packs: packs.len(),
        truth: read_truth(&truth_path, "case cell")?,
        log,
    })
}

/// The judgement as the demo's invariant line.
pub fn invariant(judged: &CaseJudgement, run: &CaseRun) -> InvariantCheck {
    InvariantCheck {
        number: 8,
        name: "every case holds exactly what its label's record says (case cell ground truth)",
        passed: judged.problems.is_empty(),
        detail: if judged.problems.is_empty() {
            format!(
                "{} cases released with a verified label, {} to rework with their packs loose, {} label reprints; {} packs",
                judged.released, judged.reworked, judged.reprints, run.packs
            )
        } else {
            judged.problems.join("; ")
        },
    }
}

/// Judges the run against the store.
pub fn judge(store: &Store, batch: BatchId, run: &CaseRun) -> Result<InvariantCheck, String> {
    let judged = judge_cases(store, batch, &run.truth)?;
    Ok(invariant(&judged, run))
}
