//! A label printer-applicator and its label scanner on loopback, shared by the
//! simulated pallet and case cells: every logistic label format (ZPL) that
//! reaches the printer is handed to the cell, which applies it and says what
//! the label scanner reads; the read goes out on the label scanner's
//! connection, one line each. Also the ground-truth file writer both cells use.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;

use serde::Serialize;
use serialstation_devices::framing::decode_all;
use serialstation_devices::zpl::LogisticLabelFormat;

pub type Shared<T> = Arc<Mutex<T>>;

pub fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A cell that takes labels.
pub trait LabelledCell: Send + 'static {
    /// A label carrying `printed` (its GS1-128 data) was printed: apply it and
    /// return what the label scanner sends.
    fn label_printed(&mut self, printed: &str) -> String;
    /// Rewrites the cell's ground truth at `path`.
    fn write_truth(&self, path: &Path);
}

/// Serves the printer on `printer` and the label scanner on `scanner`, each on
/// its own thread, for the life of the process.
pub fn start<C: LabelledCell>(
    printer: TcpListener,
    scanner: TcpListener,
    cell: Shared<C>,
    truth: PathBuf,
) {
    let label_reader: Shared<Option<TcpStream>> = Arc::new(Mutex::new(None));
    {
        let label_reader = Arc::clone(&label_reader);
        thread::spawn(move || {
            for stream in printer.incoming().flatten() {
                let cell = Arc::clone(&cell);
                let label_reader = Arc::clone(&label_reader);
                let truth = truth.clone();
                thread::spawn(move || printer_session(stream, &cell, &label_reader, &truth));
            }
        });
    }
    thread::spawn(move || {
        for stream in scanner.incoming().flatten() {
            let _ = stream.set_nodelay(true);
            *lock(&label_reader) = Some(stream);
        }
    });
}

fn printer_session<C: LabelledCell>(
    mut stream: TcpStream,
    cell: &Shared<C>,
    label_reader: &Shared<Option<TcpStream>>,
    truth: &Path,
) {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        buffer.extend_from_slice(&chunk[..n]);
        let (formats, consumed) = decode_all(&buffer, LogisticLabelFormat::decode);
        buffer.drain(..consumed);
        for format in formats {
            let Ok(format) = format else {
                continue; // a real printer prints nothing for a bad format
            };
            let linear = String::from_utf8_lossy(&format.linear).into_owned();
            let read = {
                let mut cell = lock(cell);
                let read = cell.label_printed(&linear);
                cell.write_truth(truth);
                read
            };
            let mut reader = lock(label_reader);
            if let Some(scanner) = reader.as_mut()
                && scanner.write_all(format!("{read}\r\n").as_bytes()).is_err()
            {
                *reader = None;
            }
        }
    }
}

/// Rewrites a ground truth as JSON (a temporary file renamed over it).
pub fn write_truth<T: Serialize>(path: &Path, truth: &T) {
    let Ok(json) = serde_json::to_vec_pretty(truth) else {
        return;
    };
    let temporary = path.with_extension("tmp");
    if std::fs::write(&temporary, json).is_ok() {
        let _ = std::fs::rename(&temporary, path);
    }
}
