//! Helpers of the loopback tests: a simulator on free ports with its ground truth
//! in a temp dir, and minimal clients built from the devices codecs.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use serialstation_devices::framing::Decoded;
use serialstation_devices::plc::register_map::{self as map, LineStatus};
use serialstation_simulator::SimConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_modbus::client::{Context, Reader, Writer};
use tokio_modbus::prelude::*;

pub const WAIT: Duration = Duration::from_secs(20);

pub fn config(dir: &tempfile::TempDir) -> SimConfig {
    let mut c = SimConfig::loopback_any_port(dir.path().join("truth.sqlite"));
    c.line.rate_per_min = 3000.0;
    c
}

/// GS1 data of the test product with serial `SN<n>`, in encoder form.
pub fn gs1_data(n: u32) -> String {
    format!("010950600013435217271231101234\u{1d}21SN{n:05}")
}

/// A framed byte-stream client: sends bytes, decodes whatever comes back.
pub struct FrameClient<T, E> {
    pub stream: TcpStream,
    buf: Vec<u8>,
    decode: fn(&[u8]) -> Decoded<T, E>,
}

impl<T, E: std::fmt::Debug> FrameClient<T, E> {
    pub async fn connect(addr: SocketAddr, decode: fn(&[u8]) -> Decoded<T, E>) -> Self {
        let stream = TcpStream::connect(addr)
            .await
            .expect("connect to the simulator");
        FrameClient {
            stream,
            buf: Vec::new(),
            decode,
        }
    }

    pub async fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.expect("send");
    }

    /// The next decoded message (garbage is skipped, returned as Err).
    pub async fn next(&mut self) -> Option<Result<T, E>> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            match (self.decode)(&self.buf) {
                Decoded::Message { message, consumed } => {
                    self.buf.drain(..consumed);
                    return Some(Ok(message));
                }
                Decoded::Garbage { error, consumed } => {
                    self.buf.drain(..consumed.max(1));
                    return Some(Err(error));
                }
                Decoded::Ignored { consumed } => {
                    self.buf.drain(..consumed.max(1));
                    continue;
                }
                Decoded::Incomplete => {}
            }
            let mut chunk = [0u8; 65536];
            let n = match tokio::time::timeout_at(deadline, self.stream.read(&mut chunk)).await {
                Ok(Ok(n)) => n,
                _ => return None,
            };
            if n == 0 {
                return None;
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// The next message that decodes fine.
    pub async fn next_ok(&mut self) -> T {
        loop {
            match self.next().await {
                Some(Ok(m)) => return m,
                Some(Err(_)) => continue,
                None => panic!("connection closed or timed out"),
            }
        }
    }
}

pub async fn modbus(addr: SocketAddr) -> Context {
    tcp::connect_slave(addr, Slave(1))
        .await
        .expect("modbus connect")
}

pub async fn status(ctx: &mut Context) -> LineStatus {
    let regs = ctx
        .read_input_registers(0, map::STATUS_BLOCK_LEN)
        .await
        .expect("transport")
        .expect("no exception");
    LineStatus::decode(&regs).expect("status block decodes")
}

pub async fn command(ctx: &mut Context, cmd: map::PackMlCommand) {
    ctx.write_single_register(map::HR_COMMAND, cmd.to_u16())
        .await
        .expect("transport")
        .expect("no exception");
}

pub async fn write_verdict(ctx: &mut Context, seq: u32, verdict: map::VerdictCode) {
    let slot = map::VerdictSlot { seq, verdict };
    ctx.write_multiple_registers(map::verdict_slot_address(seq), &slot.encode())
        .await
        .expect("transport")
        .expect("no exception");
}

/// Waits until the PLC reports `state`.
pub async fn wait_state(ctx: &mut Context, state: map::PackMlState) -> LineStatus {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let s = status(ctx).await;
        if s.state == state {
            return s;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "line never reached {state:?}: {s:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
