//! The pallet station's I/O: the stacker's scanner and the label scanner (one
//! read per line over TCP, `devices::line_scanner`), the label printer (ZPL over
//! raw TCP), the operator's terminal (one command per line: `close`, `status`,
//! `quit`), and the label read's deadline. Everything arrives on one channel and
//! is handed to the decisions in `pallet.rs`, one at a time.

use std::path::PathBuf;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use serialstation_devices::line_scanner::{LineScanner, ScannerEvent};

use super::devices::{LabelPrinter, StationLevel, say_line, spawn_operator, station_level};

use super::pallet::{CaseRead, CellIo, PalletSettings, PalletStation};
use crate::aggregation::Level;
use crate::store::{Actor, BatchId, Store};

/// What `serialstation pallet-station` was asked to do.
#[derive(Debug, Clone)]
pub struct PalletStationOptions {
    pub db: PathBuf,
    pub batch: BatchId,
    /// The stacker's scanner, host:port.
    pub scanner: String,
    /// The label printer (raw ZPL), host:port.
    pub label_printer: String,
    /// The label scanner, host:port.
    pub label_scanner: String,
    pub label_timeout: Duration,
    pub label_attempts: u32,
    pub operator: String,
}

/// How long the stacker must be connected and quiet before a due label prints
/// (it repeats an unanswered read at once when it connects).
const STACKER_SETTLE: Duration = Duration::from_millis(1000);

enum Input {
    Case(ScannerEvent),
    Label(ScannerEvent),
    Operator(String),
    OperatorGone,
}

/// The real cell: answers to the stacker's scanner link, ZPL to the printer,
/// lines to stdout.
struct Cell {
    stacker: LineScanner,
    printer: LabelPrinter,
}

impl CellIo for Cell {
    fn answer_case(&mut self, connection: u64, stack: bool) -> bool {
        self.stacker
            .send_line(connection, if stack { "ACCEPT" } else { "REJECT" })
    }

    fn print_label(&mut self, zpl: &[u8]) -> Result<(), String> {
        self.printer.send(zpl)
    }

    fn say(&mut self, line: &str) {
        say_line(line);
    }
}

/// The batch's pallet settings from its product's hierarchy.
fn settings(store: &Store, options: &PalletStationOptions) -> Result<PalletSettings, String> {
    let StationLevel {
        gtin,
        product,
        level,
        ..
    } = station_level(store, options.batch, Level::Pallet)?;
    let child_level = product
        .child_level(Level::Pallet)
        .ok_or_else(|| format!("the product {gtin} has no level below the pallet"))?;
    if options.label_attempts == 0 {
        return Err("--label-attempts must be at least 1".to_string());
    }
    Ok(PalletSettings {
        batch: options.batch,
        capacity: level.capacity,
        child_level,
        partial_allowed: level.partial_at_batch_end,
        label_attempts: options.label_attempts,
        printer_name: format!("zpl {}", options.label_printer),
    })
}

/// Runs the pallet station until the operator types `quit` (a closed terminal does not stop it).
pub fn run(options: &PalletStationOptions) -> Result<(), String> {
    let store = Store::open_existing(&options.db).map_err(|e| e.to_string())?;
    let settings = settings(&store, options)?;
    let (sender, inputs) = mpsc::channel();
    let stacker = LineScanner::spawn(&options.scanner, sender.clone(), Input::Case);
    let _label_scanner = LineScanner::spawn(&options.label_scanner, sender.clone(), Input::Label);
    spawn_operator(sender, Input::Operator, Input::OperatorGone);
    let cell = Cell {
        stacker,
        printer: LabelPrinter::new(&options.label_printer),
    };
    let actor = Actor::new(&options.operator);
    let mut station = PalletStation::new(store, settings.clone(), actor, cell);
    station.io().say(&format!(
        "pallet station for batch {}: pallets of {} {}s; stacker scanner {}, label printer {}, label scanner {}",
        settings.batch.0,
        settings.capacity,
        settings.child_level,
        options.scanner,
        options.label_printer,
        options.label_scanner
    ));
    station.resume()?;
    station.io().say("ready");

    // The label print being awaited (pallet, attempt) and its deadline.
    let mut deadline: Option<((String, u32), Instant)> = None;
    // Since when the stacker has been connected and quiet (None: not connected).
    let mut stacker_quiet_since: Option<Instant> = None;
    // Whether each scanner link is up, to tell the operator only of changes.
    let (mut stacker_up, mut label_up) = (None, None);
    loop {
        if station.label_due().is_some()
            && stacker_quiet_since.is_some_and(|at| at.elapsed() >= STACKER_SETTLE)
        {
            let result = station.settle();
            report(&mut station, result);
            if station.label_due().is_some() {
                // Not printed (the printer or the store): try again later.
                stacker_quiet_since = Some(Instant::now());
            }
        }
        // A new label print starts its own deadline.
        let awaited = station
            .awaiting_label()
            .map(|(pallet, attempt)| (pallet.to_string(), attempt));
        deadline = match (awaited, deadline) {
            (None, _) => None,
            (Some(print), Some((seen, at))) if seen == print => Some((seen, at)),
            (Some(print), _) => Some((print, Instant::now() + options.label_timeout)),
        };
        if deadline
            .as_ref()
            .is_some_and(|(_, at)| Instant::now() >= *at)
        {
            deadline = None;
            let result = station.on_label_timeout();
            report(&mut station, result);
            continue;
        }
        let mut wait = deadline.as_ref().map_or(Duration::from_secs(1), |(_, at)| {
            at.saturating_duration_since(Instant::now())
        });
        if station.label_due().is_some() {
            wait = wait.min(Duration::from_millis(100));
        }
        let input = match inputs.recv_timeout(wait) {
            Ok(input) => input,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => return Ok(()),
        };
        match input {
            Input::Case(ScannerEvent::Read {
                line,
                connection,
                at,
            }) => {
                stacker_quiet_since = Some(Instant::now());
                let result = station.on_case_read(CaseRead {
                    line,
                    connection,
                    at,
                });
                report(&mut station, result);
            }
            Input::Label(ScannerEvent::Read { line, .. }) => {
                let result = station.on_label_read(&line);
                report(&mut station, result);
            }
            Input::Case(event) => {
                stacker_quiet_since = match event {
                    ScannerEvent::Disconnected(_) => None,
                    _ => Some(Instant::now()),
                };
                if let ScannerEvent::Connected { connection } = event {
                    station.stacker_connected(connection);
                }
                link_note(&mut station, "stacker scanner", &event, &mut stacker_up);
            }
            Input::Label(event) => link_note(&mut station, "label scanner", &event, &mut label_up),
            Input::Operator(command) => match command.trim() {
                "close" => {
                    let result = station.operator_close();
                    report(&mut station, result);
                }
                "status" => {
                    let status = station.status();
                    station.io().say(&status);
                }
                "quit" | "exit" => return Ok(()),
                "" => {}
                other => station.io().say(&format!(
                    "unknown command {other:?}: type close, status or quit"
                )),
            },
            Input::OperatorGone => station
                .io()
                .say("the terminal closed: the station runs on; stop it with Ctrl-C or SIGTERM"),
        }
    }
}

/// A step the station could not finish is told to the operator; the station
/// goes on (its state is in the store, and the next event retries).
fn report<Io: CellIo>(station: &mut PalletStation<Io>, result: Result<(), String>) {
    if let Err(e) = result {
        station.io().say(&format!("error: {e}"));
    }
}

/// Tells the operator when a scanner link comes up or goes down (not every
/// reconnection attempt).
fn link_note<Io: CellIo>(
    station: &mut PalletStation<Io>,
    what: &str,
    event: &ScannerEvent,
    up: &mut Option<bool>,
) {
    match event {
        ScannerEvent::Connected { .. } => {
            *up = Some(true);
            station.io().say(&format!("{what} connected"));
        }
        ScannerEvent::Disconnected(why) => {
            if *up != Some(false) {
                station.io().say(&format!(
                    "{what} not connected ({why}); retrying until it is"
                ));
            }
            *up = Some(false);
        }
        ScannerEvent::Read { .. } => {}
    }
}
