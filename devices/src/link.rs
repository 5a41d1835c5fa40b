//! Connection machinery shared by every TCP driver: link settings and the session
//! task that owns one device connection: it connects, reconnects with capped
//! exponential backoff (`backoff.rs`), sends one request at a time with a
//! timeout, decodes the byte stream with the protocol's codec, routes replies to
//! the waiting request and everything else to the event channel, and reports link
//! changes. A request timeout or a closed socket drops the connection (so a late
//! reply can never be matched to the next request).

use std::fmt::Display;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, sleep_until, timeout};

use crate::backoff::Backoff;
use crate::framing::Decoded;
use crate::traits::{DeviceError, DeviceEvent, DeviceEventKind, LinkState};

/// How to reach a device and how patient to be with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkConfig {
    /// Device name used in events and errors (e.g. "printer-1").
    pub name: String,
    /// `host:port`.
    pub address: String,
    pub connect_timeout: Duration,
    /// Longest wait for the reply to one request.
    pub request_timeout: Duration,
    /// First reconnect delay; doubled after every failed attempt up to `backoff_max`.
    pub backoff_initial: Duration,
    pub backoff_max: Duration,
    /// Send the protocol's keep-alive request after this long without traffic.
    pub keepalive_interval: Duration,
}

impl LinkConfig {
    /// Defaults for a device on the line network.
    pub fn new(name: impl Into<String>, address: impl Into<String>) -> Self {
        LinkConfig {
            name: name.into(),
            address: address.into(),
            connect_timeout: Duration::from_secs(3),
            request_timeout: Duration::from_secs(2),
            backoff_initial: Duration::from_millis(100),
            backoff_max: Duration::from_secs(10),
            keepalive_interval: Duration::from_secs(2),
        }
    }
}

/// What the session does with one decoded inbound message: answer the request
/// in flight with it, and/or report events.
pub struct Routed<R> {
    pub reply: Option<R>,
    pub events: Vec<DeviceEventKind>,
}

impl<R> Routed<R> {
    /// It answers the request in flight.
    pub fn reply(message: R) -> Self {
        Routed {
            reply: Some(message),
            events: Vec::new(),
        }
    }
    /// It is a notification: report it.
    pub fn event(kind: DeviceEventKind) -> Self {
        Routed {
            reply: None,
            events: vec![kind],
        }
    }
    /// Nothing to do.
    pub fn nothing() -> Self {
        Routed {
            reply: None,
            events: Vec::new(),
        }
    }
}

/// A protocol as the session task needs it. Implemented per device kind.
pub trait StreamProtocol: Send + Sync + 'static {
    type Request: Send + 'static;
    type Inbound: Send + 'static;
    type DecodeError: Display + Send;

    /// Largest amount of undecoded bytes to hold; more is dropped as garbage.
    const MAX_BUFFER: usize;

    /// Short name of the request for messages.
    fn describe(&self, request: &Self::Request) -> String;
    /// Wire bytes of a request.
    fn encode(&mut self, request: &Self::Request) -> Result<Vec<u8>, String>;
    /// True when the device answers this request.
    fn expects_reply(&self, request: &Self::Request) -> bool;
    /// One decoding step over the receive buffer.
    fn decode(&self, buf: &[u8]) -> Decoded<Self::Inbound, Self::DecodeError>;
    /// Classifies one decoded message; `awaiting_reply` is true while a request waits.
    fn route(&mut self, message: Self::Inbound, awaiting_reply: bool) -> Routed<Self::Inbound>;
    /// Request to send after `keepalive_interval` of silence (None: no keep-alive).
    fn keepalive(&mut self) -> Option<Self::Request>;
    /// Called when a connection is up, before any request: bytes to send first.
    fn on_connect(&mut self) -> Vec<u8> {
        Vec::new()
    }
}

type Reply<P> = Result<Option<<P as StreamProtocol>::Inbound>, DeviceError>;
type Job<P> = (<P as StreamProtocol>::Request, oneshot::Sender<Reply<P>>);

/// Handle to a running session: cheap to clone, sends requests to the task.
pub struct SessionHandle<P: StreamProtocol> {
    name: String,
    request_timeout: Duration,
    jobs: mpsc::Sender<Job<P>>,
}

impl<P: StreamProtocol> Clone for SessionHandle<P> {
    fn clone(&self) -> Self {
        SessionHandle {
            name: self.name.clone(),
            request_timeout: self.request_timeout,
            jobs: self.jobs.clone(),
        }
    }
}

impl<P: StreamProtocol> SessionHandle<P> {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Sends `request`; returns the device's reply (None for requests without one).
    pub async fn request(&self, request: P::Request) -> Reply<P> {
        let (reply_tx, reply_rx) = oneshot::channel();
        let stopped = || DeviceError::Stopped {
            device: self.name.clone(),
        };
        self.jobs
            .send((request, reply_tx))
            .await
            .map_err(|_| stopped())?;
        // The task enforces the request timeout; this outer bound only covers a
        // wedged task (queueing behind other requests is included).
        match timeout(self.request_timeout * 4 + Duration::from_secs(1), reply_rx).await {
            Ok(Ok(reply)) => reply,
            Ok(Err(_)) => Err(stopped()),
            Err(_) => Err(DeviceError::Timeout {
                device: self.name.clone(),
                request: "request (queued)".into(),
                after: self.request_timeout * 4,
            }),
        }
    }
}

/// Starts the session task for `protocol`; events go to `events`. The task ends
/// when every handle is dropped.
pub fn spawn_session<P: StreamProtocol>(
    config: LinkConfig,
    protocol: P,
    events: mpsc::Sender<DeviceEvent>,
) -> SessionHandle<P> {
    let (jobs_tx, jobs_rx) = mpsc::channel(64);
    let handle = SessionHandle {
        name: config.name.clone(),
        request_timeout: config.request_timeout,
        jobs: jobs_tx,
    };
    tokio::spawn(run_session(config, protocol, jobs_rx, events));
    handle
}

struct Session<P: StreamProtocol> {
    config: LinkConfig,
    protocol: P,
    jobs: mpsc::Receiver<Job<P>>,
    events: mpsc::Sender<DeviceEvent>,
}

enum ConnectionEnd {
    /// Every handle is gone: stop.
    Shutdown,
    /// The link broke for this reason: reconnect.
    Broken(String),
}

impl<P: StreamProtocol> Session<P> {
    async fn emit(&self, kind: DeviceEventKind) {
        // A dropped receiver means nobody listens any more; the driver keeps working.
        let _ = self
            .events
            .send(DeviceEvent {
                device: self.config.name.clone(),
                kind,
            })
            .await;
    }

    fn not_connected(&self, reason: &str) -> DeviceError {
        DeviceError::NotConnected {
            device: self.config.name.clone(),
            reason: reason.to_string(),
        }
    }

    /// Waits `delay`, failing any request that arrives meanwhile. False when every handle is gone.
    async fn wait_disconnected(&mut self, delay: Duration, reason: &str) -> bool {
        let until = Instant::now() + delay;
        loop {
            tokio::select! {
                job = self.jobs.recv() => match job {
                    Some((_, reply)) => { let _ = reply.send(Err(self.not_connected(reason))); }
                    None => return false,
                },
                _ = sleep_until(until) => return true,
            }
        }
    }

    async fn run_connection(&mut self, mut stream: TcpStream) -> ConnectionEnd {
        let _ = stream.set_nodelay(true);
        let greeting = self.protocol.on_connect();
        if !greeting.is_empty()
            && let Err(error) = stream.write_all(&greeting).await
        {
            return ConnectionEnd::Broken(format!("write failed: {error}"));
        }
        let mut buf: Vec<u8> = Vec::with_capacity(4096);
        let mut chunk = vec![0u8; 64 * 1024];
        let mut pending: Option<(String, oneshot::Sender<Reply<P>>, Instant)> = None;
        let mut last_traffic = Instant::now();
        loop {
            let deadline = pending.as_ref().map(|(_, _, at)| *at);
            let keepalive_at = last_traffic + self.config.keepalive_interval;
            tokio::select! {
                job = self.jobs.recv(), if pending.is_none() => {
                    let Some((request, reply)) = job else { return ConnectionEnd::Shutdown };
                    let what = self.protocol.describe(&request);
                    let bytes = match self.protocol.encode(&request) {
                        Ok(bytes) => bytes,
                        Err(detail) => {
                            let _ = reply.send(Err(DeviceError::InvalidRequest { device: self.config.name.clone(), detail }));
                            continue;
                        }
                    };
                    match timeout(self.config.request_timeout, stream.write_all(&bytes)).await {
                        Ok(Ok(())) => {}
                        Ok(Err(error)) => {
                            let reason = format!("write failed: {error}");
                            let _ = reply.send(Err(self.not_connected(&reason)));
                            return ConnectionEnd::Broken(reason);
                        }
                        Err(_) => {
                            let _ = reply.send(Err(DeviceError::Timeout { device: self.config.name.clone(), request: what.clone(), after: self.config.request_timeout }));
                            return ConnectionEnd::Broken(format!("{what}: write timed out"));
                        }
                    }
                    last_traffic = Instant::now();
                    if self.protocol.expects_reply(&request) {
                        pending = Some((what, reply, Instant::now() + self.config.request_timeout));
                    } else {
                        let _ = reply.send(Ok(None));
                    }
                }
                read = stream.read(&mut chunk) => {
                    let n = match read {
                        Ok(0) => return self.fail_pending(pending, "connection closed by the device"),
                        Ok(n) => n,
                        Err(error) => return self.fail_pending(pending, &format!("read failed: {error}")),
                    };
                    last_traffic = Instant::now();
                    buf.extend_from_slice(&chunk[..n]);
                    let mut offset = 0;
                    while offset < buf.len() {
                        match self.protocol.decode(&buf[offset..]) {
                            Decoded::Incomplete => break,
                            Decoded::Ignored { consumed } => offset += consumed.max(1),
                            Decoded::Garbage { error, consumed } => {
                                offset += consumed.max(1);
                                let detail = error.to_string();
                                drop(error);
                                self.emit(DeviceEventKind::ProtocolError(detail)).await;
                            }
                            Decoded::Message { message, consumed } => {
                                offset += consumed.max(1);
                                let routed = self.protocol.route(message, pending.is_some());
                                for kind in routed.events {
                                    self.emit(kind).await;
                                }
                                if let Some(message) = routed.reply {
                                    match pending.take() {
                                        Some((_, reply, _)) => { let _ = reply.send(Ok(Some(message))); }
                                        None => self.emit(DeviceEventKind::ProtocolError("unexpected reply with no request in flight; dropped".into())).await,
                                    }
                                }
                            }
                        }
                    }
                    buf.drain(..offset.min(buf.len()));
                    if buf.len() > P::MAX_BUFFER {
                        let dropped = buf.len();
                        buf.clear();
                        self.emit(DeviceEventKind::ProtocolError(format!("{dropped} undecodable bytes dropped (buffer bound {})", P::MAX_BUFFER))).await;
                    }
                }
                _ = sleep_until(deadline.unwrap_or(keepalive_at)), if deadline.is_some() => {
                    if let Some((what, reply, _)) = pending.take() {
                        let _ = reply.send(Err(DeviceError::Timeout { device: self.config.name.clone(), request: what.clone(), after: self.config.request_timeout }));
                        return ConnectionEnd::Broken(format!("no reply to {what} within {:?}", self.config.request_timeout));
                    }
                }
                _ = sleep_until(keepalive_at), if pending.is_none() => {
                    last_traffic = Instant::now();
                    if let Some(request) = self.protocol.keepalive() {
                        let what = self.protocol.describe(&request);
                        let Ok(bytes) = self.protocol.encode(&request) else { continue };
                        if let Err(error) = stream.write_all(&bytes).await {
                            return ConnectionEnd::Broken(format!("keep-alive write failed: {error}"));
                        }
                        if self.protocol.expects_reply(&request) {
                            let (reply, _ignored) = oneshot::channel();
                            pending = Some((what, reply, Instant::now() + self.config.request_timeout));
                        }
                    }
                }
            }
        }
    }

    fn fail_pending(
        &self,
        pending: Option<(String, oneshot::Sender<Reply<P>>, Instant)>,
        reason: &str,
    ) -> ConnectionEnd {
        if let Some((_, reply, _)) = pending {
            let _ = reply.send(Err(self.not_connected(reason)));
        }
        ConnectionEnd::Broken(reason.to_string())
    }
}

async fn run_session<P: StreamProtocol>(
    config: LinkConfig,
    protocol: P,
    jobs: mpsc::Receiver<Job<P>>,
    events: mpsc::Sender<DeviceEvent>,
) {
    let backoff = Backoff::new(config.backoff_initial, config.backoff_max);
    // Failed connections in a row: they set the wait before the next attempt.
    let mut failures: u32 = 0;
    let mut session = Session {
        config,
        protocol,
        jobs,
        events,
    };
    let mut last_reported: Option<LinkState> = None;
    loop {
        let attempt = timeout(
            session.config.connect_timeout,
            TcpStream::connect(&session.config.address),
        )
        .await;
        let reason = match attempt {
            Ok(Ok(stream)) => {
                failures = 0;
                last_reported = Some(LinkState::Up);
                session.emit(DeviceEventKind::Link(LinkState::Up)).await;
                match session.run_connection(stream).await {
                    ConnectionEnd::Shutdown => return,
                    ConnectionEnd::Broken(reason) => reason,
                }
            }
            Ok(Err(error)) => format!("cannot connect to {}: {error}", session.config.address),
            Err(_) => format!(
                "no connection to {} within {:?}",
                session.config.address, session.config.connect_timeout
            ),
        };
        let down = LinkState::Down {
            reason: reason.clone(),
        };
        if !matches!(last_reported, Some(LinkState::Down { .. })) {
            last_reported = Some(down.clone());
            session.emit(DeviceEventKind::Link(down)).await;
        }
        failures = failures.saturating_add(1);
        if !session
            .wait_disconnected(backoff.delay(failures), &reason)
            .await
        {
            return;
        }
    }
}
