//! What the case and pallet stations' I/O shares: the label printer (ZPL over
//! raw TCP), the operator's terminal (one command per line on stdin, one line
//! out per message), and reading a batch's level from its product's hierarchy.

use std::io::{BufRead, Write};
use std::net::TcpStream;
use std::sync::mpsc::Sender;
use std::thread;
use std::time::Duration;

use serialstation_devices::line_scanner::connect_tcp;

use crate::aggregation::Level;
use crate::config::{AggregationLevel, Product};
use crate::gs1::Gtin;
use crate::store::{Batch, BatchId, Store};

/// One line to the operator's terminal, flushed at once.
pub fn say_line(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// What a station reads at start-up: the batch, its GTIN and product, and the
/// product's `level` (with what the client file says of it).
pub struct StationLevel {
    pub batch: Batch,
    pub gtin: Gtin,
    pub product: Product,
    pub level: AggregationLevel,
}

/// Reads `batch` and its product's `level`. Each refusal says what to do.
pub fn station_level(store: &Store, batch: BatchId, level: Level) -> Result<StationLevel, String> {
    let found = store
        .batch(batch)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| {
            format!(
                "batch {} is not in this store: `batch list` shows the batches",
                batch.0
            )
        })?;
    let gtin = Gtin::parse(&found.gtin).map_err(|e| e.message)?;
    let product = store
        .product(&gtin)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("GTIN {gtin} is not in the product master"))?;
    let settings = product.aggregation_level(level).cloned().ok_or_else(|| {
        format!(
            "the product {gtin} has no {level} level in its client file ([[product.aggregation]] level = \"{level}\")"
        )
    })?;
    Ok(StationLevel {
        batch: found,
        gtin,
        product,
        level: settings,
    })
}

/// A ZPL printer on raw TCP: one connection, re-opened when it fails.
pub struct LabelPrinter {
    address: String,
    stream: Option<TcpStream>,
}

impl LabelPrinter {
    pub fn new(address: &str) -> LabelPrinter {
        LabelPrinter {
            address: address.to_string(),
            stream: None,
        }
    }

    pub fn send(&mut self, zpl: &[u8]) -> Result<(), String> {
        for _ in 0..2 {
            if self.stream.is_none() {
                self.stream = Some(connect_printer(&self.address)?);
            }
            if let Some(stream) = self.stream.as_mut()
                && stream.write_all(zpl).and_then(|()| stream.flush()).is_ok()
            {
                return Ok(());
            }
            self.stream = None;
        }
        Err(format!(
            "label printer {}: the connection failed twice",
            self.address
        ))
    }
}

/// How long connecting to the printer or handing it a label may take: the
/// station answers nothing else meanwhile.
const PRINTER_IO_TIMEOUT: Duration = Duration::from_secs(2);

fn connect_printer(address: &str) -> Result<TcpStream, String> {
    let stream =
        connect_tcp(address, PRINTER_IO_TIMEOUT).map_err(|e| format!("label printer {e}"))?;
    stream
        .set_write_timeout(Some(PRINTER_IO_TIMEOUT))
        .map_err(|e| format!("label printer {address}: {e}"))?;
    Ok(stream)
}

/// The operator's terminal: each line on stdin becomes `line(text)`; the end of
/// stdin sends `gone` once.
pub fn spawn_operator<T: Send + 'static>(sender: Sender<T>, line: fn(String) -> T, gone: T) {
    thread::spawn(move || {
        let stdin = std::io::stdin();
        for text in stdin.lock().lines() {
            let Ok(text) = text else { break };
            if sender.send(line(text)).is_err() {
                return;
            }
        }
        let _ = sender.send(gone);
    });
}
