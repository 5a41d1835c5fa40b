//! A fixed scanner that sends one read per line over TCP, as a keyboard-wedge
//! scanner types it (`]C100395060000000000017\r\n`, or its no-read string). The
//! link connects as a client, hands every line to the caller's channel, and
//! reconnects with the capped backoff when the connection drops. Lines written
//! back (a stacker gate's `ACCEPT` / `REJECT`) go on the connection the read
//! came on, or nowhere. Lines end in LF (CR LF or LF). Blocking
//! I/O on one thread per link: a station has a handful of these.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use crate::backoff::Backoff;

/// Longest line a scanner may send; longer is garbage and the link reconnects.
pub const MAX_LINE: usize = 1024;

/// What a link reports. Each connection has its own number, so that an answer
/// is never written on a later connection than the read it answers came on
/// (the device asks again there).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScannerEvent {
    /// One read, without its line end (an empty line is an empty read), with
    /// its connection and when its line end arrived.
    Read {
        line: String,
        connection: u64,
        at: Instant,
    },
    /// The link is up (again), as connection number `connection`.
    Connected { connection: u64 },
    /// The link dropped; it is being re-established.
    Disconnected(String),
}

/// The current connection: its number and its write half.
type Writer = Option<(u64, TcpStream)>;

/// One scanner connection, kept up by its thread until dropped.
pub struct LineScanner {
    writer: Arc<Mutex<Writer>>,
    stop: Arc<AtomicBool>,
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
        };
        let address = address.to_string();
        thread::spawn(move || run(&address, &writer, &stop, &events, wrap));
        link
    }

    /// Writes one line back to the device on connection `connection`. False when
    /// that connection is gone (the device then asks again on its next one) or
    /// the write failed (the connection is then shut, and re-established).
    /// True means the bytes were handed to the kernel, not that the device read
    /// them.
    pub fn send_line(&self, connection: u64, line: &str) -> bool {
        let mut guard = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let Some((current, stream)) = guard.as_mut() else {
            return false;
        };
        if *current != connection {
            return false;
        }
        let sent = stream
            .write_all(format!("{line}\r\n").as_bytes())
            .and_then(|()| stream.flush());
        if sent.is_err() {
            let _ = stream.shutdown(std::net::Shutdown::Both);
            *guard = None;
        }
        sent.is_ok()
    }
}

impl Drop for LineScanner {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some((_, stream)) = self
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
    writer: &Mutex<Writer>,
    stop: &AtomicBool,
    events: &Sender<T>,
    wrap: fn(ScannerEvent) -> T,
) {
    let backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(2));
    let mut failures = 0u32;
    let mut connection = 0u64;
    while !stop.load(Ordering::SeqCst) {
        let stream = match connect_tcp(address, Duration::from_secs(2)) {
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
                failures = failures.saturating_add(1);
                thread::sleep(backoff.delay(failures));
                continue;
            }
        };
        connection += 1;
        *writer.lock().unwrap_or_else(PoisonError::into_inner) = Some((connection, stream));
        if events
            .send(wrap(ScannerEvent::Connected { connection }))
            .is_err()
        {
            return;
        }
        let why = read_lines(reader, connection, stop, events, wrap);
        *writer.lock().unwrap_or_else(PoisonError::into_inner) = None;
        if stop.load(Ordering::SeqCst)
            || events.send(wrap(ScannerEvent::Disconnected(why))).is_err()
        {
            return;
        }
        thread::sleep(backoff.delay(1));
    }
}

/// Connects to `address` (host:port) within `timeout`, no Nagle delay; the
/// error names the address. Also for other line devices (a label printer).
pub fn connect_tcp(address: &str, timeout: Duration) -> Result<TcpStream, String> {
    let target = resolve(address)?;
    let stream =
        TcpStream::connect_timeout(&target, timeout).map_err(|e| format!("{address}: {e}"))?;
    let _ = stream.set_nodelay(true);
    Ok(stream)
}

/// The first socket address of `address` (host:port); the error names it.
pub fn resolve(address: &str) -> Result<std::net::SocketAddr, String> {
    address
        .to_socket_addrs()
        .map_err(|e| format!("{address}: {e}"))?
        .next()
        .ok_or_else(|| format!("{address}: no address"))
}

/// Reads lines until the connection ends; returns why it ended.
fn read_lines<T>(
    stream: TcpStream,
    connection: u64,
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
            Ok(_) if line.last() != Some(&b'\n') => {
                // A line cut off by the end of the connection is not a read.
                return "the scanner closed the connection in the middle of a line".to_string();
            }
            Ok(_) => {
                if stop.load(Ordering::SeqCst) {
                    return "stopped".to_string();
                }
                let text = String::from_utf8_lossy(&line);
                let text = text.trim_end_matches(['\r', '\n']);
                let read = ScannerEvent::Read {
                    line: text.to_string(),
                    connection,
                    at: Instant::now(),
                };
                if events.send(wrap(read)).is_err() {
                    return "stopped".to_string();
                }
            }
            Err(e) => return e.to_string(),
        }
    }
}
