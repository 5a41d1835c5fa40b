//! A simulated pallet cell on loopback, for the pallet station: the stacker's
//! fixed scanner (one read per line; the host answers each read `ACCEPT` to stack
//! the case or anything else to divert it), a ZPL label printer that applies each
//! logistic label to the pallet being built, and a label scanner that reads each
//! label back. The physics and faults are the pure [`model`]; this module is the
//! sockets and the ground-truth file (JSON, rewritten after every change).

pub mod model;

use std::io::{BufRead, BufReader, ErrorKind, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::label_station::{self, LabelledCell, Shared, lock, write_truth};

pub use model::{CellFaults, CellTruth, PalletCell};

/// How to run a cell.
#[derive(Debug, Clone)]
pub struct PalletCellConfig {
    /// Cases to stack, SSCC digits, in arrival order.
    pub cases: Vec<String>,
    pub faults: CellFaults,
    pub seed: u64,
    /// Time between one case leaving the scan point and the next arriving.
    pub case_interval: Duration,
    /// Where the ground truth is written.
    pub truth: PathBuf,
    /// Ports on 127.0.0.1 (0 = any free port).
    pub scanner_port: u16,
    pub printer_port: u16,
    pub label_scanner_port: u16,
}

/// Where a running cell listens.
#[derive(Debug, Clone, Copy)]
pub struct PalletCellAddrs {
    pub scanner: SocketAddr,
    pub printer: SocketAddr,
    pub label_scanner: SocketAddr,
}

/// Reads a cases file: one SSCC per line (18 digits, or with AI 00 in front);
/// blank lines and `#` comments are skipped.
pub fn read_cases(path: &Path) -> Result<Vec<String>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut cases = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let digits = line.trim_start_matches("(00)").trim_start_matches("]C100");
        if digits.len() != 18 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!(
                "{}:{}: {line:?} is not an SSCC (18 digits)",
                path.display(),
                n + 1
            ));
        }
        cases.push(digits.to_string());
    }
    Ok(cases)
}

/// Starts the cell's three listeners and returns their addresses; the cell runs
/// on its own threads for the life of the process.
pub fn start(config: PalletCellConfig) -> Result<PalletCellAddrs, String> {
    let bind = |port: u16, what: &str| {
        TcpListener::bind(("127.0.0.1", port)).map_err(|e| format!("{what} port {port}: {e}"))
    };
    let scanner = bind(config.scanner_port, "stacker scanner")?;
    let printer = bind(config.printer_port, "label printer")?;
    let label_scanner = bind(config.label_scanner_port, "label scanner")?;
    let addr = |l: &TcpListener| l.local_addr().map_err(|e| e.to_string());
    let addrs = PalletCellAddrs {
        scanner: addr(&scanner)?,
        printer: addr(&printer)?,
        label_scanner: addr(&label_scanner)?,
    };
    let cell = Arc::new(Mutex::new(PalletCell::new(
        config.cases.clone(),
        config.faults,
        config.seed,
    )));
    let truth = config.truth.clone();
    write_truth(&truth, lock(&cell).truth());
    {
        let cell = Arc::clone(&cell);
        let truth = truth.clone();
        let interval = config.case_interval;
        thread::spawn(move || serve_stacker(&scanner, &cell, &truth, interval));
    }
    label_station::start(printer, label_scanner, cell, truth);
    Ok(addrs)
}

/// The stacker: one host at a time; reads go out, answers come in.
fn serve_stacker(
    listener: &TcpListener,
    cell: &Shared<PalletCell>,
    truth: &Path,
    interval: Duration,
) {
    for stream in listener.incoming().flatten() {
        let _ = stream.set_nodelay(true);
        let _ = stacker_session(stream, cell, truth, interval);
    }
}

fn stacker_session(
    stream: TcpStream,
    cell: &Shared<PalletCell>,
    truth: &Path,
    interval: Duration,
) -> std::io::Result<()> {
    let mut writer = stream.try_clone()?;
    stream.set_read_timeout(Some(interval.max(Duration::from_millis(5))))?;
    let mut reader = BufReader::new(stream);
    // A host that reconnects is asked again about the case still waiting.
    for read in lock(cell).unanswered_reads() {
        writer.write_all(format!("{read}\r\n").as_bytes())?;
    }
    let mut moved_on = Instant::now();
    let mut line = String::new();
    loop {
        let waiting = !lock(cell).unanswered_reads().is_empty();
        if !waiting && moved_on.elapsed() >= interval {
            let reads = lock(cell).next_case();
            if let Some(reads) = reads {
                write_truth(truth, lock(cell).truth());
                for read in reads {
                    writer.write_all(format!("{read}\r\n").as_bytes())?;
                }
            }
        }
        match reader.read_line(&mut line) {
            Ok(0) => return Ok(()),
            Ok(_) if !line.ends_with('\n') => return Ok(()), // cut off by the end
            Ok(_) => {
                let mut cell = lock(cell);
                cell.answer(line.trim());
                line.clear();
                if cell.unanswered_reads().is_empty() {
                    moved_on = Instant::now();
                }
                write_truth(truth, cell.truth());
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                // A partial line stays in `line` until its end comes.
            }
            Err(e) => return Err(e),
        }
    }
}

impl LabelledCell for PalletCell {
    fn label_printed(&mut self, printed: &str) -> String {
        PalletCell::label_printed(self, printed)
    }

    fn write_truth(&self, path: &Path) {
        write_truth(path, self.truth());
    }
}
