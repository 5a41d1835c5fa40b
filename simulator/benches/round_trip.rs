//! Loopback round trip of each protocol against the running simulator: a Modbus
//! status-block read, queueing one print on the TIJ printer, and a camera trigger
//! to its pushed result (DMCC).

use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use serialstation_devices::dmcc::{DmccCommand, DmccMessage, DmccRequest};
use serialstation_devices::framing::Decoded;
use serialstation_devices::plc::register_map::STATUS_BLOCK_LEN;
use serialstation_devices::tij::{TijCommand, TijReply};
use serialstation_simulator::{SimConfig, Simulator};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_modbus::client::Reader;
use tokio_modbus::prelude::*;

struct Client<T, E> {
    stream: TcpStream,
    buf: Vec<u8>,
    decode: fn(&[u8]) -> Decoded<T, E>,
}

impl<T, E> Client<T, E> {
    async fn next(&mut self) -> Option<T> {
        loop {
            match (self.decode)(&self.buf) {
                Decoded::Message { message, consumed } => {
                    self.buf.drain(..consumed);
                    return Some(message);
                }
                Decoded::Garbage { consumed, .. } | Decoded::Ignored { consumed } => {
                    self.buf.drain(..consumed.max(1));
                    continue;
                }
                Decoded::Incomplete => {}
            }
            let mut chunk = [0u8; 8192];
            let n = self.stream.read(&mut chunk).await.ok()?;
            if n == 0 {
                return None;
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}

fn round_trips(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cfg = SimConfig::loopback_any_port(dir.path().join("rt.sqlite"));
    cfg.simulator.images = false;
    let sim = rt
        .block_on(Simulator::start(cfg))
        .expect("simulator starts");
    let addrs = sim.addresses().clone();

    let mut group = c.benchmark_group("loopback_round_trip");
    group.measurement_time(Duration::from_secs(3));

    let mut plc = rt
        .block_on(tcp::connect_slave(addrs.plc, Slave(1)))
        .expect("modbus");
    group.bench_function("modbus_read_status_block", |b| {
        b.iter(|| {
            rt.block_on(plc.read_input_registers(0, STATUS_BLOCK_LEN))
                .expect("transport")
                .expect("no exception")
        })
    });

    let mut printer = Client {
        stream: rt
            .block_on(TcpStream::connect(addrs.printer))
            .expect("printer"),
        buf: Vec::new(),
        decode: TijReply::decode,
    };
    let mut next_id = 1u32;
    group.bench_function("tij_queue_print", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    if next_id.is_multiple_of(90) {
                        let _ = printer
                            .stream
                            .write_all(&TijCommand::ClearBuffer.encode())
                            .await;
                        printer.next().await;
                    }
                    let frame = TijCommand::QueueMessage {
                        id: next_id,
                        data: b"010950600013435217271231101234\x1d21SN1".to_vec(),
                    }
                    .encode();
                    next_id += 1;
                    let t0 = Instant::now();
                    let _ = printer.stream.write_all(&frame).await;
                    printer.next().await;
                    total += t0.elapsed();
                }
                total
            })
        })
    });

    let mut camera = Client {
        stream: rt
            .block_on(TcpStream::connect(addrs.camera))
            .expect("camera"),
        buf: Vec::new(),
        decode: DmccMessage::decode,
    };
    let trigger = DmccRequest {
        checksum: false,
        command_id: None,
        command: DmccCommand::TriggerOn,
    }
    .encode();
    group.bench_function("camera_trigger_to_result", |b| {
        b.iter(|| {
            rt.block_on(async {
                let _ = camera.stream.write_all(&trigger).await;
                loop {
                    if let Some(DmccMessage::Result { .. }) = camera.next().await {
                        break;
                    }
                }
            })
        })
    });
    group.finish();
    let _ = rt.block_on(sim.shutdown());
}

criterion_group!(benches, round_trips);
criterion_main!(benches);
