//! Throughput of every wire codec (encode and decode), and loopback round trips
//! through the real drivers: a Modbus request against an in-bench tokio-modbus
//! server, a TIJ print-queue request, and a smart-camera command.

use std::future::Ready;
use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serialstation_devices::dmcc::{DmccCamera, DmccCommand, DmccMessage, DmccRequest, DmccStatus};
use serialstation_devices::framing::decode_all;
use serialstation_devices::image_camera::{GrayImage, ImageFrame};
use serialstation_devices::link::LinkConfig;
use serialstation_devices::plc::register_map::{
    AlarmBits, LineStatus, PackMlState, STATUS_BLOCK_LEN,
};
use serialstation_devices::plc::{ModbusPlc, PlcConfig};
use serialstation_devices::readout::{CameraReadout, Grade, ReadOutcome, SymbologyId};
use serialstation_devices::tij::{TijCommand, TijPrinter, TijReply};
use serialstation_devices::traits::{LineIo, Printer};
use serialstation_devices::zpl::{HostStatus, ZplCommand, ZplLabel};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_modbus::prelude::{ExceptionCode, Request, Response};

const GS1_DATA: &[u8] = b"01095060001343521727013110ABC123\x1d21SN0000001";

fn sample_status() -> LineStatus {
    LineStatus {
        heartbeat: 1,
        state: PackMlState::Execute,
        alarms: AlarmBits::default(),
        items_detected: 70_001,
        camera_trigger_count: 70_000,
        gate_count: 69_990,
        good_exit_count: 69_000,
        reject_fired_count: 990,
        reject_confirmed_count: 989,
        encoder_count: 123_456,
        line_speed_per_min: 600,
        consecutive_rejects: 0,
        fate_write_count: 69_990,
    }
}

fn codecs(c: &mut Criterion) {
    let mut group = c.benchmark_group("codec");

    let queue = TijCommand::QueueMessage {
        id: 123_456,
        data: GS1_DATA.to_vec(),
    };
    let queue_stream: Vec<u8> = (0..100).flat_map(|_| queue.encode()).collect();
    group.throughput(Throughput::Elements(1));
    group.bench_function("tij_encode_queue", |b| {
        b.iter(|| black_box(&queue).encode())
    });
    group.throughput(Throughput::Elements(100));
    group.bench_function("tij_decode_100_queue", |b| {
        b.iter(|| decode_all(black_box(&queue_stream), TijCommand::decode))
    });
    let prc_stream: Vec<u8> = (0..100)
        .flat_map(|id| TijReply::PrintComplete { id }.encode())
        .collect();
    group.bench_function("tij_decode_100_print_complete", |b| {
        b.iter(|| decode_all(black_box(&prc_stream), TijReply::decode))
    });

    let grade = Grade {
        tenths: 35,
        aperture_mils: 5,
        wavelength_nm: 660,
        angle_deg: 45,
    };
    let result = DmccMessage::Result {
        checksum: true,
        readout: CameraReadout {
            seq: 70_000,
            outcome: ReadOutcome::Read {
                symbology: SymbologyId::GS1_DATAMATRIX,
                data: GS1_DATA.to_vec(),
                grade,
            },
        },
    };
    let result_stream: Vec<u8> = (0..100).flat_map(|_| result.encode()).collect();
    group.throughput(Throughput::Elements(1));
    group.bench_function("dmcc_encode_result", |b| {
        b.iter(|| black_box(&result).encode())
    });
    group.throughput(Throughput::Elements(100));
    group.bench_function("dmcc_decode_100_results", |b| {
        b.iter(|| decode_all(black_box(&result_stream), DmccMessage::decode))
    });

    let label = ZplCommand::Label(ZplLabel {
        x: 50,
        y: 50,
        module_dots: 8,
        gs1: true,
        data: GS1_DATA.to_vec(),
    });
    let label_bytes = label.encode().unwrap_or_default();
    let status_bytes = HostStatus {
        formats_in_buffer: 12,
        ..HostStatus::default()
    }
    .encode();
    group.throughput(Throughput::Elements(1));
    group.bench_function("zpl_encode_label", |b| {
        b.iter(|| black_box(&label).encode())
    });
    group.bench_function("zpl_decode_label", |b| {
        b.iter(|| ZplCommand::decode(black_box(&label_bytes)))
    });
    group.bench_function("zpl_decode_host_status", |b| {
        b.iter(|| HostStatus::decode(black_box(&status_bytes)))
    });

    let frame = ImageFrame::Image(GrayImage {
        seq: 1,
        width: 640,
        height: 480,
        pixels: vec![128; 640 * 480],
    });
    let frame_bytes = frame.encode();
    group.throughput(Throughput::Bytes(frame_bytes.len() as u64));
    group.bench_function("image_encode_640x480", |b| {
        b.iter(|| black_box(&frame).encode())
    });
    group.bench_function("image_decode_640x480", |b| {
        b.iter(|| ImageFrame::decode(black_box(&frame_bytes)))
    });

    let registers = sample_status().encode();
    group.throughput(Throughput::Elements(1));
    group.bench_function("plc_decode_status_block", |b| {
        b.iter(|| LineStatus::decode(black_box(&registers)))
    });
    group.finish();
}

struct BenchPlc;

impl tokio_modbus::server::Service for BenchPlc {
    type Request = Request<'static>;
    type Response = Response;
    type Exception = ExceptionCode;
    type Future = Ready<Result<Response, ExceptionCode>>;

    fn call(&self, request: Self::Request) -> Self::Future {
        std::future::ready(match request {
            Request::ReadInputRegisters(0, count) if count == STATUS_BLOCK_LEN => Ok(
                Response::ReadInputRegisters(sample_status().encode().to_vec()),
            ),
            Request::ReadInputRegisters(_, count) => {
                Ok(Response::ReadInputRegisters(vec![0; usize::from(count)]))
            }
            Request::WriteMultipleRegisters(address, values) => Ok(
                Response::WriteMultipleRegisters(address, values.len() as u16),
            ),
            _ => Err(ExceptionCode::IllegalFunction),
        })
    }
}

fn quiet_link(name: &str, address: std::net::SocketAddr) -> LinkConfig {
    LinkConfig {
        keepalive_interval: Duration::from_secs(3600),
        ..LinkConfig::new(name, address.to_string())
    }
}

fn round_trips(c: &mut Criterion) {
    let Ok(runtime) = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    else {
        eprintln!("skipped: cannot build a tokio runtime");
        return;
    };
    let mut group = c.benchmark_group("loopback_round_trip");

    // Modbus: tokio-modbus server, our PLC driver (status-block read and verdict write).
    let plc = runtime.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.ok()?;
        let address = listener.local_addr().ok()?;
        let server = tokio_modbus::server::tcp::Server::new(listener);
        tokio::spawn(async move {
            let on_connected = |stream, peer| async move {
                tokio_modbus::server::tcp::accept_tcp_connection(stream, peer, |_| {
                    Ok(Some(BenchPlc))
                })
            };
            let _ = server.serve(&on_connected, |_| {}).await;
        });
        let (events_tx, mut events) = mpsc::channel(1024);
        tokio::spawn(async move { while events.recv().await.is_some() {} });
        let mut config = PlcConfig::new(quiet_link("plc", address));
        config.poll_interval = Duration::from_secs(3600);
        let plc = ModbusPlc::spawn(config, events_tx);
        for _ in 0..100 {
            if plc.read_status().await.is_ok() {
                return Some(plc);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        None
    });
    if let Some(plc) = plc {
        group.bench_function("modbus_read_status_block", |b| {
            b.iter(|| runtime.block_on(plc.read_status()))
        });
        let mut seq = 0u32;
        group.bench_function("modbus_write_verdict", |b| {
            b.iter(|| {
                seq = seq.wrapping_add(1);
                runtime.block_on(plc.write_verdict(seq, true))
            })
        });
    }

    // TIJ: a printer peer that acknowledges every queued message.
    let printer = runtime.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.ok()?;
        let address = listener.local_addr().ok()?;
        tokio::spawn(async move {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let mut inbox = Vec::new();
            let mut chunk = [0u8; 4096];
            loop {
                let n = match stream.read(&mut chunk).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                inbox.extend_from_slice(&chunk[..n]);
                let (commands, consumed) = decode_all(&inbox, TijCommand::decode);
                inbox.drain(..consumed);
                let mut out = Vec::new();
                for command in commands {
                    let reply = match command {
                        Ok(TijCommand::QueueMessage { id, .. }) => TijReply::Queued { id },
                        _ => TijReply::Ack,
                    };
                    out.extend(reply.encode());
                }
                if stream.write_all(&out).await.is_err() {
                    return;
                }
            }
        });
        let (events_tx, mut events) = mpsc::channel(1024);
        tokio::spawn(async move { while events.recv().await.is_some() {} });
        let printer = TijPrinter::spawn(quiet_link("tij", address), events_tx);
        for _ in 0..100 {
            if printer.queue_message(0, GS1_DATA).await.is_ok() {
                return Some(printer);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        None
    });
    if let Some(printer) = printer {
        let mut id = 0u32;
        group.bench_function("tij_queue_message", |b| {
            b.iter(|| {
                id = id.wrapping_add(1);
                runtime.block_on(printer.queue_message(id, GS1_DATA))
            })
        });
    }

    // Smart camera: a command round trip with checksums.
    let camera = runtime.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.ok()?;
        let address = listener.local_addr().ok()?;
        tokio::spawn(async move {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let mut inbox = Vec::new();
            let mut chunk = [0u8; 4096];
            loop {
                let n = match stream.read(&mut chunk).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                inbox.extend_from_slice(&chunk[..n]);
                let (requests, consumed) = decode_all(&inbox, DmccRequest::decode);
                inbox.drain(..consumed);
                let mut out = Vec::new();
                for request in requests.into_iter().flatten() {
                    let body = "SS-SMARTCAM-1".to_string();
                    out.extend(
                        DmccMessage::Response {
                            checksum: request.checksum,
                            command_id: request.command_id,
                            status: DmccStatus::Ok,
                            body,
                        }
                        .encode(),
                    );
                }
                if stream.write_all(&out).await.is_err() {
                    return;
                }
            }
        });
        let (events_tx, mut events) = mpsc::channel(1024);
        tokio::spawn(async move { while events.recv().await.is_some() {} });
        let camera = DmccCamera::spawn(quiet_link("cam", address), true, events_tx);
        for _ in 0..100 {
            if camera.device_type().await.is_ok() {
                return Some(camera);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        None
    });
    if let Some(camera) = camera {
        group.bench_function("dmcc_command", |b| {
            b.iter(|| runtime.block_on(camera.command(DmccCommand::GetDeviceType)))
        });
    }
    group.finish();
}

criterion_group!(benches, codecs, round_trips);
criterion_main!(benches);
