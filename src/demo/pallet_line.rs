//! The demo's pallet line: the batch's verified cases pass a simulated pallet cell
//! (stacker scanner, label printer, label scanner, with double reads and
//! unreadable labels) while the real `serialstation pallet-station` runs it as a
//! child process, as an operator would start it. When the last case has passed,
//! the demo types `close` for the partial pallet and `quit`. Then
//! [`judge_pallets`] compares what is physically on each pallet (the cell's
//! ground truth) with what the store recorded (invariant 6 at the pallet level).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serialstation_simulator::pallet_cell::{self, CellFaults, CellTruth, PalletCellConfig};

use super::invariants::InvariantCheck;
use super::station_process::{StationProcess, label_args, read_truth};
use crate::aggregation::{ContainerState, Level};
use crate::gs1::Sscc;
use crate::store::{BatchId, Store};

/// Longest the demo waits for the pallet station to finish.
const PALLET_TIMEOUT: Duration = Duration::from_secs(120);

/// What the pallet line did.
#[derive(Debug, Clone)]
pub struct PalletRun {
    pub cases: usize,
    pub truth: CellTruth,
    pub log: PathBuf,
    /// Label prints that did not verify and were printed again.
    pub reprints: usize,
}

/// Runs the batch's loose verified cases over the pallet station.
pub fn run(
    exe: &Path,
    db: &Path,
    workdir: &Path,
    batch: BatchId,
    seed: u64,
) -> Result<PalletRun, String> {
    let cases = Store::open_existing(db)
        .and_then(|store| store.loose_verified_containers(batch, Level::Case))
        .map_err(|e| e.to_string())?;
    let truth_path = workdir.join("pallet-cell-truth.json");
    let addrs = pallet_cell::start(PalletCellConfig {
        cases: cases.clone(),
        faults: CellFaults {
            case_no_read: 0.0,
            case_double_read: 0.1,
            label_no_read: 0.1,
            label_stale: 0.03,
        },
        seed,
        case_interval: Duration::from_millis(20),
        truth: truth_path.clone(),
        scanner_port: 0,
        printer_port: 0,
        label_scanner_port: 0,
    })?;
    let log = workdir.join("pallet-station.log");
    let mut args = vec![
        "pallet-station".to_string(),
        "--batch".to_string(),
        batch.0.to_string(),
        "--scanner".to_string(),
        addrs.scanner.to_string(),
    ];
    args.extend(label_args(addrs.printer, addrs.label_scanner));
    let mut station = StationProcess::start("the pallet station", exe, db, &args, &log)?;
    let until = Instant::now() + PALLET_TIMEOUT;
    station.wait_for("ready", until)?;
    // Every case has passed the scan point and had its answer.
    loop {
        let truth: CellTruth = read_truth(&truth_path, "pallet cell")?;
        let passed: usize =
            truth.pallets.iter().map(|p| p.cases.len()).sum::<usize>() + truth.diverted.len();
        if passed >= cases.len() {
            break;
        }
        if Instant::now() >= until {
            return Err(format!(
                "the pallet cell still has {} of {} cases after {PALLET_TIMEOUT:?} (log {})",
                cases.len() - passed,
                cases.len(),
                log.display()
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    // The last, partial pallet closes on the operator's word; then wait until no
    // pallet is open or being labelled.
    station.command("close")?;
    loop {
        station.command("status")?;
        let status = station.wait_for("pallet", until)?;
        if status.contains("no pallet open") {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let status = station.quit()?;
    if !status.success() {
        return Err(format!(
            "the pallet station ended with {status} (log {})",
            log.display()
        ));
    }
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    Ok(PalletRun {
        cases: cases.len(),
        truth: read_truth(&truth_path, "pallet cell")?,
        reprints: text.matches("printing it again").count(),
        log,
    })
}

/// Pallets judged from the cell's ground truth.
#[derive(Debug, Clone, Default)]
pub struct PalletJudgement {
    pub verified: usize,
    pub reworked: usize,
    pub problems: Vec<String>,
}

/// The station answered every read once, in step with the stacker; every
/// physical pallet's last label names a pallet of the store; a verified
/// one holds exactly the cases physically on it, and its label read back as its
/// own SSCC; any other is in rework. No case is on two pallets.
pub fn judge_pallets(store: &Store, truth: &CellTruth) -> Result<PalletJudgement, String> {
    let mut judged = PalletJudgement::default();
    for error in &truth.protocol_errors {
        judged
            .problems
            .push(format!("the stacker got an answer out of step: {error}"));
    }
    let mut seen = BTreeSet::new();
    for (index, pallet) in truth.pallets.iter().enumerate() {
        for case in &pallet.cases {
            if !seen.insert(case.clone()) {
                judged
                    .problems
                    .push(format!("case {case} is on two pallets"));
            }
        }
        let Some(label) = pallet.labels.last() else {
            judged.problems.push(format!(
                "physical pallet {} ({} cases) carries no label",
                index + 1,
                pallet.cases.len()
            ));
            continue;
        };
        let Ok(sscc) = Sscc::parse(label.printed.strip_prefix("00").unwrap_or(&label.printed))
        else {
            judged.problems.push(format!(
                "physical pallet {} carries a label that is not an SSCC: {}",
                index + 1,
                label.printed
            ));
            continue;
        };
        let tree = store.container_tree(&sscc).map_err(|e| e.to_string())?;
        match tree.container.state {
            ContainerState::Verified => {
                let recorded: BTreeSet<&str> = tree
                    .containers
                    .iter()
                    .map(|c| c.container.sscc.as_str())
                    .collect();
                let physical: BTreeSet<&str> = pallet.cases.iter().map(String::as_str).collect();
                if recorded != physical {
                    judged.problems.push(format!(
                        "pallet {sscc}: recorded {recorded:?}, physically {physical:?}"
                    ));
                }
                if label.read != format!("]C1{}", label.printed) {
                    judged.problems.push(format!(
                        "pallet {sscc} is verified but its last label read {}",
                        label.read
                    ));
                }
                judged.verified += 1;
            }
            ContainerState::Rework => judged.reworked += 1,
            other => judged.problems.push(format!(
                "pallet {sscc} left the cell {other}: neither verified nor in rework"
            )),
        }
    }
    Ok(judged)
}

/// The judgement as the demo's invariant line.
pub fn invariant(judged: &PalletJudgement, run: &PalletRun) -> InvariantCheck {
    InvariantCheck {
        number: 8,
        name: "every pallet holds exactly what its label's record says (pallet cell ground truth)",
        passed: judged.problems.is_empty(),
        detail: if judged.problems.is_empty() {
            format!(
                "{} pallets verified, {} reworked, {} of {} cases diverted, {} label reprints",
                judged.verified,
                judged.reworked,
                run.truth.diverted.len(),
                run.cases,
                run.reprints
            )
        } else {
            judged.problems.join("; ")
        },
    }
}
