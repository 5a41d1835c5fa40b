//! What every simulated device connection shares: the connection-level faults
//! (disconnect, slow reply, garbage bytes) drawn per reply from the seeded fault
//! table, and the loop that reads frames, answers them and pushes notifications.

use std::future::Future;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{broadcast, watch};

use crate::faults::FaultKind;
use crate::runtime::core::{SharedCore, lock};

/// Bytes a device sends when the garbage fault fires (control bytes, high bytes,
/// protocol separators), followed by the line ends of both text protocols.
pub const GARBAGE: &[u8] = b"\x00\xFF\xFE#\x1B|\\garbage\x07\x7F\r\n";

/// The fault kinds of one device's connection.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionFaults {
    pub disconnect: FaultKind,
    pub slow_reply: FaultKind,
    pub garbage: FaultKind,
}

pub const PRINTER_FAULTS: ConnectionFaults = ConnectionFaults {
    disconnect: FaultKind::PrinterDisconnect,
    slow_reply: FaultKind::PrinterSlowReply,
    garbage: FaultKind::PrinterGarbage,
};

pub const CAMERA_FAULTS: ConnectionFaults = ConnectionFaults {
    disconnect: FaultKind::CameraDisconnect,
    slow_reply: FaultKind::CameraSlowReply,
    garbage: FaultKind::CameraGarbage,
};

/// What happens to one reply.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReplyFault {
    pub disconnect: bool,
    pub delay_ms: u64,
    pub garbage: bool,
}

/// Draws the connection faults for one reply.
pub fn draw_reply_fault(core: &SharedCore, kinds: ConnectionFaults) -> ReplyFault {
    let mut core = lock(core);
    let faults = &mut core.model.faults;
    let disconnect = faults.fires(kinds.disconnect);
    let slow = faults.fires(kinds.slow_reply);
    let delay_ms = if slow {
        faults.delay_ms(kinds.slow_reply).max(1)
    } else {
        0
    };
    let garbage = faults.fires(kinds.garbage);
    let fault = ReplyFault {
        disconnect,
        delay_ms,
        garbage,
    };
    if disconnect || slow || garbage {
        let what: Vec<&str> = [
            (disconnect, kinds.disconnect),
            (slow, kinds.slow_reply),
            (garbage, kinds.garbage),
        ]
        .into_iter()
        .filter(|(on, _)| *on)
        .map(|(_, k)| k.name())
        .collect();
        core.note("connection_fault", what.join(","));
    }
    fault
}

/// How a device protocol plugs into [`serve_connection`].
pub trait DeviceProtocol: Send + 'static {
    /// A pushed notification (print complete, camera result).
    type Push: Clone + Send + Sync + 'static;
    /// Decodes every complete frame in `buf`, answers it; returns the reply bytes and
    /// how many bytes of `buf` were used.
    fn on_bytes(&mut self, core: &SharedCore, buf: &[u8]) -> (Vec<Vec<u8>>, usize);
    /// Bytes for one pushed notification on this connection (`None` = not for it).
    fn on_push(&mut self, core: &SharedCore, push: &Self::Push) -> Option<Vec<u8>>;
    /// Called right before the bytes of `push` are written (at `at_ns` on the
    /// simulator's monotonic clock); nothing by default.
    fn sending_push(&mut self, _core: &SharedCore, _push: &Self::Push, _at_ns: u64) {}
    /// Bytes to send right after connecting (e.g. a greeting); none by default.
    fn greeting(&mut self) -> Vec<u8> {
        Vec::new()
    }
}

/// Largest number of unparsed bytes kept for one connection.
const MAX_PENDING: usize = 64 * 1024;

/// Serves one connection until the peer closes, a disconnect fault fires, or shutdown.
pub async fn serve_connection<P: DeviceProtocol>(
    mut stream: TcpStream,
    core: SharedCore,
    mut protocol: P,
    kinds: ConnectionFaults,
    mut pushes: broadcast::Receiver<P::Push>,
    mut shutdown: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let greeting = protocol.greeting();
    if !greeting.is_empty() && stream.write_all(&greeting).await.is_err() {
        return;
    }
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    let mut chunk = vec![0u8; 8192];
    loop {
        tokio::select! {
            read = stream.read(&mut chunk) => {
                let n = match read {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                buf.extend_from_slice(&chunk[..n]);
                let (replies, used) = protocol.on_bytes(&core, &buf);
                buf.drain(..used.min(buf.len()));
                if buf.len() > MAX_PENDING {
                    buf.clear();
                }
                for reply in replies {
                    if !send(&mut stream, &core, kinds, &reply, || {}).await {
                        return;
                    }
                }
            }
            push = pushes.recv() => {
                match push {
                    Ok(push) => {
                        // Pushed messages suffer the same connection faults as replies.
                        if let Some(bytes) = protocol.on_push(&core, &push)
                            && !send(&mut stream, &core, kinds, &bytes, || {
                                protocol.sending_push(&core, &push, crate::ground_truth::latency::now_ns())
                            })
                            .await
                        {
                            return;
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        lock(&core).note("connection", format!("host too slow: {missed} notifications could not be sent; connection closed"));
                        return;
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
            _ = wait_true(&mut shutdown) => return,
        }
    }
}

/// Sends one reply with its faults; `about_to_write` runs right before the reply's
/// bytes are written. False = the connection is closed.
async fn send(
    stream: &mut TcpStream,
    core: &SharedCore,
    kinds: ConnectionFaults,
    reply: &[u8],
    about_to_write: impl FnOnce(),
) -> bool {
    let fault = draw_reply_fault(core, kinds);
    if fault.disconnect {
        let _ = stream.shutdown().await;
        return false;
    }
    if fault.delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(fault.delay_ms)).await;
    }
    if fault.garbage && stream.write_all(GARBAGE).await.is_err() {
        return false;
    }
    about_to_write();
    stream.write_all(reply).await.is_ok()
}

/// Resolves when the watch value becomes true (or the sender is gone).
pub async fn wait_true(rx: &mut watch::Receiver<bool>) {
    loop {
        if *rx.borrow_and_update() {
            return;
        }
        if rx.changed().await.is_err() {
            return;
        }
    }
}

/// Accepts connections on `listener` and serves each with a fresh protocol value.
pub async fn accept_loop<P, F, Fut>(
    listener: tokio::net::TcpListener,
    core: SharedCore,
    kinds: ConnectionFaults,
    pushes: broadcast::Sender<P::Push>,
    shutdown: watch::Receiver<bool>,
    make: F,
) where
    P: DeviceProtocol,
    F: Fn() -> Fut,
    Fut: Future<Output = P>,
{
    let mut stop = shutdown.clone();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                match accepted {
                    Ok((stream, peer)) => {
                        lock(&core).note("connection", format!("{} connected from {peer}", kinds.disconnect.name().trim_end_matches("_disconnect")));
                        let protocol = make().await;
                        tokio::spawn(serve_connection(stream, core.clone(), protocol, kinds, pushes.subscribe(), shutdown.clone()));
                    }
                    Err(e) => {
                        tracing::warn!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
            _ = wait_true(&mut stop) => return,
        }
    }
}
