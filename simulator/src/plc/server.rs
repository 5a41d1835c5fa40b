//! The simulated PLC's Modbus/TCP server (tokio-modbus `tcp-server`): every request
//! goes through the register view; faults add exception 04, slow replies, dropped
//! connections and corrupted frames (the last two through a stream wrapper).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use serialstation_devices::plc::register_map::MapException;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_modbus::prelude::{ExceptionCode, Request, Response, SlaveRequest};
use tokio_modbus::server::tcp::Server;

use crate::faults::FaultKind;
use crate::runtime::core::{SharedCore, TickOutput, lock};
use crate::runtime::net::{GARBAGE, wait_true};

/// Per-connection switches the service flips and the stream wrapper obeys.
#[derive(Debug, Default)]
struct StreamFaults {
    disconnect: AtomicBool,
    garbage: AtomicBool,
}

/// A TCP stream that can drop the connection or corrupt the next frame on demand.
struct FaultyStream {
    inner: TcpStream,
    faults: Arc<StreamFaults>,
}

impl AsyncRead for FaultyStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.faults.disconnect.load(Ordering::Relaxed) {
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for FaultyStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.faults.disconnect.load(Ordering::Relaxed) {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "simulated PLC disconnect",
            )));
        }
        if self.faults.garbage.swap(false, Ordering::Relaxed) {
            // The frame is replaced by as many garbage bytes; the client sees a bad frame.
            let junk: Vec<u8> = GARBAGE.iter().cycle().take(buf.len()).copied().collect();
            return match Pin::new(&mut self.inner).poll_write(cx, &junk) {
                Poll::Ready(Ok(_)) => Poll::Ready(Ok(buf.len())),
                other => other,
            };
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Where a Modbus write's side effects (print/camera work) go.
pub type TickSink = Arc<dyn Fn(TickOutput) + Send + Sync>;

/// One connection's Modbus service.
struct PlcService {
    core: SharedCore,
    unit_id: u8,
    faults: Arc<StreamFaults>,
    sink: TickSink,
}

fn exception(e: MapException) -> ExceptionCode {
    match e {
        MapException::IllegalFunction => ExceptionCode::IllegalFunction,
        MapException::IllegalDataAddress => ExceptionCode::IllegalDataAddress,
        MapException::IllegalDataValue => ExceptionCode::IllegalDataValue,
    }
}

type ReplyFuture = Pin<Box<dyn Future<Output = Result<Response, ExceptionCode>> + Send>>;

impl PlcService {
    fn handle(
        &self,
        request: Request<'static>,
        received_ns: u64,
    ) -> Result<Response, ExceptionCode> {
        let mut core = lock(&self.core);
        let result = match request {
            Request::ReadInputRegisters(start, count) => {
                super::registers::read_input(&core, start, count).map(Response::ReadInputRegisters)
            }
            Request::ReadHoldingRegisters(start, count) => {
                super::registers::read_holding(&core, start, count)
                    .map(Response::ReadHoldingRegisters)
            }
            Request::WriteSingleRegister(address, value) => {
                super::registers::write_holding_at(&mut core, address, &[value], received_ns).map(
                    |out| {
                        (self.sink)(out);
                        Response::WriteSingleRegister(address, value)
                    },
                )
            }
            Request::WriteMultipleRegisters(address, values) => {
                let count = values.len() as u16;
                super::registers::write_holding_at(&mut core, address, &values, received_ns).map(
                    |out| {
                        (self.sink)(out);
                        Response::WriteMultipleRegisters(address, count)
                    },
                )
            }
            _ => Err(MapException::IllegalFunction),
        };
        result.map_err(exception)
    }
}

impl tokio_modbus::server::Service for PlcService {
    type Request = SlaveRequest<'static>;
    type Response = Response;
    type Exception = ExceptionCode;
    type Future = ReplyFuture;

    fn call(&self, req: Self::Request) -> Self::Future {
        let received_ns = crate::ground_truth::latency::now_ns();
        if req.slave != self.unit_id && req.slave != 0 && req.slave != 255 {
            return Box::pin(std::future::ready(Err(ExceptionCode::GatewayTargetDevice)));
        }
        let (fail, delay_ms) = {
            let mut core = lock(&self.core);
            let faults = &mut core.model.faults;
            let fail = faults.fires(FaultKind::ModbusException);
            let slow = faults.fires(FaultKind::PlcSlowReply);
            let delay_ms = if slow {
                faults.delay_ms(FaultKind::PlcSlowReply).max(1)
            } else {
                0
            };
            let disconnect = faults.fires(FaultKind::PlcDisconnect);
            let garbage = faults.fires(FaultKind::PlcGarbage);
            if disconnect {
                self.faults.disconnect.store(true, Ordering::Relaxed);
            }
            if garbage {
                self.faults.garbage.store(true, Ordering::Relaxed);
            }
            let names: Vec<&str> = [
                (fail, FaultKind::ModbusException),
                (slow, FaultKind::PlcSlowReply),
                (disconnect, FaultKind::PlcDisconnect),
                (garbage, FaultKind::PlcGarbage),
            ]
            .into_iter()
            .filter(|(on, _)| *on)
            .map(|(_, k)| k.name())
            .collect();
            if !names.is_empty() {
                core.note("connection_fault", names.join(","));
            }
            (fail, delay_ms)
        };
        let result = if fail {
            Err(ExceptionCode::ServerDeviceFailure)
        } else {
            self.handle(req.request, received_ns)
        };
        if delay_ms == 0 {
            return Box::pin(std::future::ready(result));
        }
        Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(delay_ms)).await;
            result
        })
    }
}

/// Serves Modbus/TCP on `listener` until shutdown.
pub async fn serve(
    listener: TcpListener,
    core: SharedCore,
    unit_id: u8,
    sink: TickSink,
    mut shutdown: watch::Receiver<bool>,
) {
    let server = Server::new(listener);
    let on_connected = move |stream: TcpStream, peer: std::net::SocketAddr| {
        let core = core.clone();
        let sink = sink.clone();
        async move {
            let _ = stream.set_nodelay(true);
            lock(&core).note("connection", format!("plc connected from {peer}"));
            let faults = Arc::new(StreamFaults::default());
            let service = PlcService {
                core,
                unit_id,
                faults: faults.clone(),
                sink,
            };
            Ok(Some((
                service,
                FaultyStream {
                    inner: stream,
                    faults,
                },
            )))
        }
    };
    let on_error = |e: io::Error| tracing::debug!("plc connection ended: {e}");
    tokio::select! {
        result = server.serve(&on_connected, on_error) => {
            if let Err(e) = result {
                tracing::error!("the simulated PLC stopped accepting connections: {e}");
            }
        }
        _ = wait_true(&mut shutdown) => {}
    }
}
