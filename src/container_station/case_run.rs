//! The case station's I/O: the case packer's PLC (Modbus/TCP, the case packer
//! block), the case camera (one picture per case, image camera protocol), the
//! label printer (ZPL over raw TCP), the label scanner (one read per line) and
//! the operator's terminal (`close`, `status`, `quit`). The loop polls the PLC
//! and hands each waiting case to the decisions in `case.rs`.

use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, TryRecvError};
use std::time::{Duration, Instant};

use serialstation_devices::image_camera::snapshot::take_picture;
use serialstation_devices::line_scanner::{LineScanner, ScannerEvent};
use serialstation_devices::plc::case_packer::{CASE_CAPACITY_RANGE, CaseCommand};
use serialstation_devices::plc::case_packer_link::CasePackerLink;

use super::case::{CaseCellIo, CaseExit, CaseSettings, CaseStation, Handled};
use super::devices::{LabelPrinter, StationLevel, say_line, spawn_operator, station_level};
use crate::aggregation::Level;
use crate::aggregation::case_check::{PlaceRead, read_frame};
use crate::store::{Actor, BatchId, Store};

/// What `serialstation case-station` was asked to do.
#[derive(Debug, Clone)]
pub struct CaseStationOptions {
    pub db: PathBuf,
    pub batch: BatchId,
    /// The case packer's PLC (Modbus/TCP), host:port, and its unit id.
    pub plc: String,
    pub unit_id: u8,
    /// The case camera (image camera protocol), host:port.
    pub camera: String,
    /// The packs' layout in the case as the camera sees it (rows, columns);
    /// `None`: the squarest layout that holds a full case.
    pub layout: Option<(u32, u32)>,
    pub label_printer: String,
    pub label_scanner: String,
    pub label_timeout: Duration,
    pub label_attempts: u32,
    pub operator: String,
}

/// How often the PLC is asked whether a case waits.
const POLL: Duration = Duration::from_millis(50);
/// How long the camera may take to deliver a picture.
const PICTURE_TIMEOUT: Duration = Duration::from_secs(5);
/// Pause after a step that failed (a device or the store), before trying again.
const RETRY_PAUSE: Duration = Duration::from_secs(1);

enum Input {
    Operator(String),
    OperatorGone,
}

/// The real cell.
struct Cell {
    plc: CasePackerLink,
    camera: String,
    layout: (u32, u32),
    printer: LabelPrinter,
    labels: Receiver<ScannerEvent>,
    label_timeout: Duration,
    _label_scanner: LineScanner,
}

impl CaseCellIo for Cell {
    fn picture(&mut self, number: u32) -> Result<Vec<PlaceRead>, String> {
        let image = take_picture(&self.camera, number, PICTURE_TIMEOUT)?;
        let frame = image::GrayImage::from_raw(
            u32::from(image.width),
            u32::from(image.height),
            image.pixels,
        )
        .ok_or_else(|| format!("case camera {}: a picture of the wrong size", self.camera))?;
        read_frame(&frame, self.layout)
            .map_err(|e| format!("case camera {}: picture of case {number}: {e}", self.camera))
    }

    fn print_label(&mut self, zpl: &[u8]) -> Result<(), String> {
        self.printer.send(zpl)
    }

    fn forget_label_reads(&mut self) {
        while self.labels.try_recv().is_ok() {}
    }

    fn next_label_read(&mut self) -> Option<String> {
        let deadline = Instant::now() + self.label_timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.labels.recv_timeout(left) {
                Ok(ScannerEvent::Read { line, .. }) => return Some(line),
                Ok(ScannerEvent::Disconnected(why)) => {
                    self.say(&format!("label scanner not connected ({why})"));
                }
                Ok(ScannerEvent::Connected { .. }) => {}
                Err(_) => return None,
            }
        }
    }

    fn send_case(&mut self, number: u32, exit: CaseExit) -> Result<(), String> {
        let command = match exit {
            CaseExit::Release => CaseCommand::Release,
            CaseExit::Rework => CaseCommand::Rework,
        };
        self.plc.command(command, number)
    }

    fn say(&mut self, line: &str) {
        say_line(line);
    }
}

/// The batch's case settings from its product's hierarchy.
fn settings(store: &Store, options: &CaseStationOptions) -> Result<CaseSettings, String> {
    let StationLevel {
        batch,
        gtin,
        product,
        level,
    } = station_level(store, options.batch, Level::Case)?;
    if product.child_level(Level::Case) != Some(Level::Pack) {
        return Err(format!(
            "cases of {gtin} hold bundles in its client file: the case station packs packs straight from the line"
        ));
    }
    if !(1..=u64::from(*CASE_CAPACITY_RANGE.end())).contains(&level.capacity) {
        return Err(format!(
            "cases of {gtin} hold {} packs: the case packer counts 1 to {} per case",
            level.capacity,
            CASE_CAPACITY_RANGE.end()
        ));
    }
    if options.label_attempts == 0 {
        return Err("--label-attempts must be at least 1".to_string());
    }
    Ok(CaseSettings {
        batch: options.batch,
        gtin,
        lot: batch.lot,
        capacity: level.capacity,
        partial_allowed: level.partial_at_batch_end,
        label_attempts: options.label_attempts,
        printer_name: format!("zpl {}", options.label_printer),
    })
}

/// The squarest layout of at least `capacity` places (rows ≤ columns).
pub fn default_layout(capacity: u64) -> (u32, u32) {
    let capacity = capacity.max(1) as u32;
    let mut rows = (f64::from(capacity)).sqrt().floor() as u32;
    while rows > 1 && !capacity.is_multiple_of(rows) {
        rows -= 1;
    }
    let rows = rows.max(1);
    (rows, capacity.div_ceil(rows))
}

/// Runs the case station until the operator types `quit` (a closed terminal
/// does not stop it).
pub fn run(options: &CaseStationOptions) -> Result<(), String> {
    let store = Store::open_existing(&options.db).map_err(|e| e.to_string())?;
    let settings = settings(&store, options)?;
    let layout = options
        .layout
        .unwrap_or_else(|| default_layout(settings.capacity));
    if u64::from(layout.0 * layout.1) < settings.capacity {
        return Err(format!(
            "a {}x{} layout has {} places: a case of {} packs needs more (--layout)",
            layout.0,
            layout.1,
            layout.0 * layout.1,
            settings.capacity
        ));
    }
    let (label_sender, labels) = mpsc::channel();
    let label_scanner = LineScanner::spawn(&options.label_scanner, label_sender, |e| e);
    let (sender, inputs) = mpsc::channel();
    spawn_operator(sender, Input::Operator, Input::OperatorGone);
    let cell = Cell {
        plc: CasePackerLink::new(&options.plc, options.unit_id)?,
        camera: options.camera.clone(),
        layout,
        printer: LabelPrinter::new(&options.label_printer),
        labels,
        label_timeout: options.label_timeout,
        _label_scanner: label_scanner,
    };
    let actor = Actor::new(&options.operator);
    let mut station = CaseStation::new(store, settings.clone(), actor, cell);
    station.io().say(&format!(
        "case station for batch {}: cases of {} packs ({}x{} as the camera sees them); case packer PLC {}, case camera {}, label printer {}, label scanner {}",
        settings.batch.0,
        settings.capacity,
        layout.0,
        layout.1,
        options.plc,
        options.camera,
        options.label_printer,
        options.label_scanner
    ));
    let capacity = settings.capacity as u16;
    while let Err(e) = station.io().plc.set_capacity(capacity) {
        station.io().say(&format!("error: {e}; trying again"));
        std::thread::sleep(RETRY_PAUSE);
    }
    station.io().say("ready");

    let mut last_note = String::new();
    let mut plc_up = true;
    loop {
        loop {
            match inputs.try_recv() {
                Ok(Input::Operator(command)) => {
                    if operator_command(&mut station, command.trim()) {
                        return Ok(());
                    }
                }
                Ok(Input::OperatorGone) => station.io().say(
                    "the terminal closed: the station runs on; stop it with Ctrl-C or SIGTERM",
                ),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
            }
        }
        let status = match station.io().plc.status() {
            Ok(status) => {
                if !plc_up {
                    // The PLC may have restarted and lost the capacity.
                    if let Err(e) = station.io().plc.set_capacity(capacity) {
                        station.io().say(&format!("error: {e}; retrying"));
                        std::thread::sleep(RETRY_PAUSE);
                        continue;
                    }
                    station.io().say("case packer PLC connected");
                    plc_up = true;
                }
                status
            }
            Err(e) => {
                if plc_up {
                    station
                        .io()
                        .say(&format!("error: {e}; retrying until it answers"));
                    plc_up = false;
                }
                std::thread::sleep(RETRY_PAUSE);
                continue;
            }
        };
        let Some(case) = status.waiting else {
            std::thread::sleep(POLL);
            continue;
        };
        match station.handle(case) {
            Ok(Handled::NotYet(note)) => {
                if note != last_note {
                    station.io().say(&note);
                    last_note = note;
                }
                std::thread::sleep(RETRY_PAUSE);
            }
            Ok(Handled::Released(_) | Handled::Reworked(_)) => {}
            Err(e) => {
                station.io().say(&format!(
                    "error: case {}: {e}; the case waits, trying again",
                    case.number
                ));
                std::thread::sleep(RETRY_PAUSE);
            }
        }
    }
}

/// One operator command; true to stop.
fn operator_command(station: &mut CaseStation<Cell>, command: &str) -> bool {
    match command {
        "close" => {
            if !station.settings().partial_allowed {
                station.io().say(
                    "the client file says a case of this product never closes below capacity (partial_at_batch_end = false): the last packs stay loose",
                );
                return false;
            }
            let result = station.io().plc.command(CaseCommand::CloseNow, 0);
            let line = match result {
                Ok(()) => "the case being filled closes now (partial)".to_string(),
                Err(e) => format!("error: {e}"),
            };
            station.io().say(&line);
        }
        "status" => {
            let line = match station.io().plc.status() {
                Ok(status) => format!(
                    "{} packs in the case being filled; case waiting: {}; {} cases released, {} to rework",
                    status.filling,
                    status.waiting.map_or("none".to_string(), |w| format!(
                        "{} ({} packs)",
                        w.number, w.packs
                    )),
                    status.released,
                    status.reworked
                ),
                Err(e) => format!("error: {e}"),
            };
            station.io().say(&line);
        }
        "quit" | "exit" => return true,
        "" => {}
        other => station.io().say(&format!(
            "unknown command {other:?}: type close, status or quit"
        )),
    }
    false
}

#[cfg(test)]
mod tests {
    use super::default_layout;

    #[test]
    fn the_default_layout_holds_a_full_case() {
        assert_eq!(default_layout(12), (3, 4));
        assert_eq!(default_layout(48), (6, 8));
        assert_eq!(default_layout(4), (2, 2));
        assert_eq!(default_layout(7), (1, 7));
        assert_eq!(default_layout(1), (1, 1));
    }
}
