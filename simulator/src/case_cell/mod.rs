//! A simulated case cell on loopback, for the case station: the case packer's
//! PLC (Modbus/TCP, the case packer block of the register map), the case camera
//! (the image camera protocol: a software trigger tagged with the case number
//! answers with a picture of that case from above, every pack code in one
//! frame), a ZPL label printer that applies each label to the waiting case, and
//! a label scanner. The physics and faults are the pure [`model`]; this module
//! is the sockets, the conveyor's clock and the ground-truth file (JSON,
//! rewritten after every change).

pub mod model;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use serialstation_devices::framing::Decoded;
use serialstation_devices::image_camera::{GrayImage, ImageFrame};
use serialstation_devices::plc::case_packer::{
    CASE_CAPACITY_RANGE, CASE_COMMAND_LEN, CASE_STATUS_LEN, CASE_STATUS_START, CaseCommand,
    HR_CASE_CAPACITY, HR_CASE_COMMAND,
};
use serialstation_devices::plc::register_map::u32_from_words;
use serialstation_devices::vision::case_image::{CaseLayout, render_case};
use tokio_modbus::prelude::{ExceptionCode, Request, Response, SlaveRequest};

use crate::label_station::{self, LabelledCell, Shared, lock, write_truth};
pub use model::{CaseCell, CaseCellTruth, CaseExit, CaseFaults, PhysicalCase};

/// Pixels per place of the case layout in the camera's frame, and per module.
pub const PLACE_PX: u32 = 300;
pub const MODULE_PX: u32 = 5;

/// How to run a cell.
#[derive(Debug, Clone)]
pub struct CaseCellConfig {
    /// The good packs' codes (GS1 data in any read form), in gate order.
    pub packs: Vec<String>,
    /// Packs per full case until the host writes its own.
    pub capacity: usize,
    /// The case layout (rows, columns): rows × columns ≥ capacity.
    pub layout: (u32, u32),
    pub faults: CaseFaults,
    pub seed: u64,
    /// Time between two packs arriving from the reject gate.
    pub pack_interval: Duration,
    pub truth: PathBuf,
    /// Ports on 127.0.0.1 (0 = any free port).
    pub plc_port: u16,
    pub camera_port: u16,
    pub printer_port: u16,
    pub label_scanner_port: u16,
}

/// Where a running cell listens.
#[derive(Debug, Clone, Copy)]
pub struct CaseCellAddrs {
    pub plc: SocketAddr,
    pub camera: SocketAddr,
    pub printer: SocketAddr,
    pub label_scanner: SocketAddr,
}

/// Reads a packs file: one pack code per line (GS1 data in any read form);
/// blank lines and `#` comments are skipped.
pub fn read_packs(path: &Path) -> Result<Vec<String>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect())
}

struct Cell {
    model: CaseCell,
}

impl LabelledCell for Cell {
    fn label_printed(&mut self, printed: &str) -> String {
        self.model.label_printed(printed)
    }

    fn write_truth(&self, path: &Path) {
        write_truth(path, self.model.truth());
    }
}

/// Starts the cell's listeners and its conveyor; it runs on its own threads for
/// the life of the process.
pub fn start(config: CaseCellConfig) -> Result<CaseCellAddrs, String> {
    let (rows, cols) = config.layout;
    let places = (rows * cols) as usize;
    if rows == 0 || cols == 0 || places < config.capacity {
        return Err(format!(
            "a {rows}x{cols} case layout has {places} places: a case of {} needs more",
            config.capacity
        ));
    }
    let bind = |port: u16, what: &str| {
        TcpListener::bind(("127.0.0.1", port)).map_err(|e| format!("{what} port {port}: {e}"))
    };
    let plc = bind(config.plc_port, "case packer PLC")?;
    let camera = bind(config.camera_port, "case camera")?;
    let printer = bind(config.printer_port, "label printer")?;
    let label_scanner = bind(config.label_scanner_port, "label scanner")?;
    let addr = |l: &TcpListener| l.local_addr().map_err(|e| e.to_string());
    let addrs = CaseCellAddrs {
        plc: addr(&plc)?,
        camera: addr(&camera)?,
        printer: addr(&printer)?,
        label_scanner: addr(&label_scanner)?,
    };
    let cell = Arc::new(Mutex::new(Cell {
        model: CaseCell::new(
            config.packs.clone(),
            config.capacity,
            places,
            config.faults,
            config.seed,
        ),
    }));
    let truth = config.truth.clone();
    lock(&cell).write_truth(&truth);
    {
        let (cell, truth) = (Arc::clone(&cell), truth.clone());
        let interval = config.pack_interval;
        thread::spawn(move || {
            loop {
                thread::sleep(interval);
                let mut cell = lock(&cell);
                if cell.model.step() {
                    cell.write_truth(&truth);
                }
            }
        });
    }
    {
        let (cell, truth) = (Arc::clone(&cell), truth.clone());
        plc.set_nonblocking(true)
            .map_err(|e| format!("case packer PLC: {e}"))?;
        thread::spawn(move || serve_plc(plc, cell, truth));
    }
    {
        let cell = Arc::clone(&cell);
        let layout = config.layout;
        let seed = config.seed;
        thread::spawn(move || {
            for stream in camera.incoming().flatten() {
                let cell = Arc::clone(&cell);
                thread::spawn(move || camera_session(stream, &cell, layout, seed));
            }
        });
    }
    label_station::start(printer, label_scanner, cell, truth);
    Ok(addrs)
}

/// The case camera: each trigger tagged with a case number answers with a
/// picture of that case (0 × 0 when it is not the waiting case).
fn camera_session(mut stream: TcpStream, cell: &Shared<Cell>, layout: (u32, u32), seed: u64) {
    let _ = stream.set_nodelay(true);
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 1024];
    loop {
        let n = match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        buffer.extend_from_slice(&chunk[..n]);
        loop {
            match ImageFrame::decode(&buffer) {
                Decoded::Incomplete => break,
                Decoded::Message { message, consumed } => {
                    buffer.drain(..consumed);
                    let reply = match message {
                        ImageFrame::Trigger { seq } => {
                            let picture = lock(cell).model.picture(seq);
                            ImageFrame::Image(picture.map_or(
                                GrayImage {
                                    seq,
                                    width: 0,
                                    height: 0,
                                    pixels: Vec::new(),
                                },
                                |(places, smudged)| draw_case(seq, &places, &smudged, layout, seed),
                            ))
                        }
                        ImageFrame::Heartbeat { counter } => ImageFrame::Heartbeat { counter },
                        ImageFrame::Arm | ImageFrame::Disarm | ImageFrame::Image(_) => continue,
                    };
                    if stream.write_all(&reply.encode()).is_err() {
                        return;
                    }
                }
                Decoded::Garbage { consumed, .. } | Decoded::Ignored { consumed } => {
                    buffer.drain(..consumed);
                }
            }
        }
    }
}

/// Draws case `number` from above; a smudged place gets a blotch of dark and
/// light blocks over its code (contrast enough to look printed, no code left).
fn draw_case(
    number: u32,
    places: &[Option<String>],
    smudged: &[usize],
    (rows, cols): (u32, u32),
    seed: u64,
) -> GrayImage {
    let layout = CaseLayout {
        rows,
        cols,
        width: cols * PLACE_PX,
        height: rows * PLACE_PX,
    };
    let Ok(mut frame) = render_case(&layout, places, MODULE_PX, seed ^ u64::from(number)) else {
        // A code that cannot be drawn: the camera sends a blank frame.
        return GrayImage {
            seq: number,
            width: 0,
            height: 0,
            pixels: Vec::new(),
        };
    };
    for &place in smudged {
        let (x, y, w, h) = layout.cell_rect(place);
        let block = 12;
        for by in (y + h / 5..y + h * 4 / 5).step_by(block as usize) {
            for bx in (x + w / 5..x + w * 4 / 5).step_by(block as usize) {
                let dark = (bx / block + by / block + number).is_multiple_of(3);
                let value = if dark { 20 } else { 235 };
                for py in by..(by + block).min(y + h * 4 / 5) {
                    for px in bx..(bx + block).min(x + w * 4 / 5) {
                        frame.put_pixel(px, py, image::Luma([value]));
                    }
                }
            }
        }
    }
    GrayImage {
        seq: number,
        width: layout.width as u16,
        height: layout.height as u16,
        pixels: frame.into_raw(),
    }
}

/// The case packer's Modbus/TCP server, on a private tokio runtime.
fn serve_plc(listener: TcpListener, cell: Shared<Cell>, truth: PathBuf) {
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return;
    };
    runtime.block_on(async move {
        let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
            return;
        };
        let server = tokio_modbus::server::tcp::Server::new(listener);
        let on_connected = move |stream: tokio::net::TcpStream, _peer: SocketAddr| {
            let service = CasePackerService {
                cell: Arc::clone(&cell),
                truth: truth.clone(),
            };
            async move {
                let _ = stream.set_nodelay(true);
                Ok(Some((service, stream)))
            }
        };
        let on_error = |e: std::io::Error| tracing::debug!("case packer connection ended: {e}");
        if let Err(e) = server.serve(&on_connected, on_error).await {
            tracing::error!("the simulated case packer stopped accepting connections: {e}");
        }
    });
}

struct CasePackerService {
    cell: Shared<Cell>,
    truth: PathBuf,
}

impl CasePackerService {
    fn handle(&self, request: Request<'static>) -> Result<Response, ExceptionCode> {
        let mut cell = lock(&self.cell);
        let end = CASE_STATUS_START + CASE_STATUS_LEN;
        match request {
            Request::ReadInputRegisters(start, count)
                if start >= CASE_STATUS_START && start + count <= end && count > 0 =>
            {
                let block = cell.model.status().encode();
                let from = usize::from(start - CASE_STATUS_START);
                Ok(Response::ReadInputRegisters(
                    block[from..from + usize::from(count)].to_vec(),
                ))
            }
            Request::WriteMultipleRegisters(HR_CASE_COMMAND, values)
                if values.len() == usize::from(CASE_COMMAND_LEN) =>
            {
                let command = CaseCommand::from_u16(values[0])
                    .map_err(|_| ExceptionCode::IllegalDataValue)?;
                cell.model
                    .command(command, u32_from_words(values[1], values[2]));
                cell.write_truth(&self.truth);
                Ok(Response::WriteMultipleRegisters(
                    HR_CASE_COMMAND,
                    CASE_COMMAND_LEN,
                ))
            }
            Request::WriteSingleRegister(HR_CASE_CAPACITY, value) => {
                if !CASE_CAPACITY_RANGE.contains(&value) {
                    return Err(ExceptionCode::IllegalDataValue);
                }
                cell.model.set_capacity(usize::from(value));
                Ok(Response::WriteSingleRegister(HR_CASE_CAPACITY, value))
            }
            Request::ReadInputRegisters(..)
            | Request::ReadHoldingRegisters(..)
            | Request::WriteSingleRegister(..)
            | Request::WriteMultipleRegisters(..) => Err(ExceptionCode::IllegalDataAddress),
            _ => Err(ExceptionCode::IllegalFunction),
        }
    }
}

impl tokio_modbus::server::Service for CasePackerService {
    type Request = SlaveRequest<'static>;
    type Response = Response;
    type Exception = ExceptionCode;
    type Future = std::future::Ready<Result<Response, ExceptionCode>>;

    fn call(&self, req: Self::Request) -> Self::Future {
        std::future::ready(self.handle(req.request))
    }
}
