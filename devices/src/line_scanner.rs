//! A fixed scanner that sends one read per line over TCP, as a keyboard-wedge
//! scanner types it (`]C100395060000000000017\r\n`, or its no-read string). The
//! link connects as a client, hands every line to the caller's channel, and
//! reconnects with the capped backoff when the connection drops. Lines written
//! back (a stacker gate's `ACCEPT` / `REJECT`) go on the same connection. Blocking
//! I/O on one thread per link: a station has a handful of these.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::Duration;

use crate::backoff::Backoff;

/// Longest line a scanner may send; longer is garbage and the link reconnects.
pub const MAX_LINE: usize = 1024;

/// What a link reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScannerEvent {
    /// One read, without its line end.
    Read(String),
    /// The link is up (again).
    Connected,
    /// The link dropped; it is being re-established.
    Disconnected(String),
}

/// One scanner connection, kept up by its thread until dropped.
pub struct LineScanner {
    writer: Arc<Mutex<Option<TcpStream>>>,
    stop: Arc<AtomicBool>,
    address: String,
}

impl LineScanner {
    /// Connects to `address` (host:port) and sends each event as `wrap(event)`
    /// to `events` until the link is dropped or the receiver is gone.
    pub fn spawn<T: Send + 'static>(
        address: &str,
        events: Sender<T>,
        wrap: fn(ScannerEvent) -> T,
    ) -> LineScanner {
        let writer = Arc::new(Mutex::new(None));
        let stop = Arc::new(AtomicBool::new(false));
        let link = LineScanner {
            writer: Arc::clone(&writer),
            stop: Arc::clone(&stop),
            address: address.to_string(),
        };
        let address = address.to_string();
        thread::spawn(move || run(&address, &writer, &stop, &events, wrap));
        link
    }

    /// Writes one line back to the device. False when the link is down (the
    /// device then decides as it does without an answer).
    pub fn send_line(&self, line: &str) -> bool {
        let mut guard = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(stream) = guard.as_mut() else {
            return false;
        };
        let sent = stream
            .write_all(format!("{line}\r\n").as_bytes())
            .and_then(|()| stream.flush());
        if sent.is_err() {
            *guard = None;
        }
        sent.is_ok()
    }

    pub fn address(&self) -> &str {
        &self.address
    }
}

impl Drop for LineScanner {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(stream) = self
            .writer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
    }
}

fn run<T>(
    address: &str,
    writer: &Mutex<Option<TcpStream>>,
    stop: &AtomicBool,
    events: &Sender<T>,
    wrap: fn(ScannerEvent) -> T,
) {
    let backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(2));
    let mut failures = 0u32;
    while !stop.load(Ordering::SeqCst) {
        let stream = match connect(address) {
            Ok(stream) => stream,
            Err(e) => {
                if events.send(wrap(ScannerEvent::Disconnected(e))).is_err() {
                    return;
                }
                failures = failures.saturating_add(1);
                thread::sleep(backoff.delay(failures));
                continue;
            }
        };
        failures = 0;
        let reader = match stream.try_clone() {
            Ok(reader) => reader,
            Err(e) => {
                let _ = events.send(wrap(ScannerEvent::Disconnected(e.to_string())));
                continue;
            }
        };
        *writer.lock().unwrap_or_else(PoisonError::into_inner) = Some(stream);
        if events.send(wrap(ScannerEvent::Connected)).is_err() {
            return;
        }
        let why = read_lines(reader, stop, events, wrap);
        *writer.lock().unwrap_or_else(PoisonError::into_inner) = None;
        if stop.load(Ordering::SeqCst)
            || events.send(wrap(ScannerEvent::Disconnected(why))).is_err()
        {
            return;
        }
        thread::sleep(backoff.delay(1));
    }
}

fn connect(address: &str) -> Result<TcpStream, String> {
    let target = address
        .to_socket_addrs()
        .map_err(|e| format!("{address}: {e}"))?
        .next()
        .ok_or_else(|| format!("{address}: no address"))?;
    let stream = TcpStream::connect_timeout(&target, Duration::from_secs(2))
        .map_err(|e| format!("{address}: {e}"))?;
    let _ = stream.set_nodelay(true);
    Ok(stream)
}

/// Reads lines until the connection ends; returns why it ended.
fn read_lines<T>(
    stream: TcpStream,
    stop: &AtomicBool,
    events: &Sender<T>,
    wrap: fn(ScannerEvent) -> T,
) -> String {
    let mut reader = BufReader::new(stream);
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader
            .by_ref()
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut line)
        {
            Ok(0) => return "the scanner closed the connection".to_string(),
            Ok(_) if line.len() > MAX_LINE => {
                return format!("the scanner sent a line longer than {MAX_LINE} bytes");
            }
            Ok(_) => {
                if stop.load(Ordering::SeqCst) {
                    return "stopped".to_string();
                }
                let text = String::from_utf8_lossy(&line);
                let text = text.trim_end_matches(['\r', '\n']);
                if text.is_empty() {
                    continue;
                }
                if events
                    .send(wrap(ScannerEvent::Read(text.to_string())))
                    .is_err()
                {
                    return "stopped".to_string();
                }
            }
            Err(e) => return e.to_string(),
        }
    }
}
