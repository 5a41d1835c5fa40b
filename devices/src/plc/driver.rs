//! `LineIo` driver for the station PLC over Modbus/TCP (tokio-modbus client).
//! One task owns the connection: it reconnects with capped backoff, wraps every
//! Modbus call in a timeout, polls the status block (a caller's read of the whole
//! block counts as the poll, so a station that polls costs one read, not two),
//! reports line-state and
//! alarm changes and every item's fate (from the fate ring, in seq order, also
//! after a reconnect) as events. Which fates to read and report is decided by the
//! pure [`FateCursor`](super::fate_cursor::FateCursor); this module only does the I/O.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, MissedTickBehavior, interval, sleep_until, timeout};
use tokio_modbus::ExceptionCode;
use tokio_modbus::client::Context;
use tokio_modbus::prelude::{Client, Reader, Slave, Writer};

use super::fate_cursor::{self, FateCursor};
use super::register_map::{
    self, FATE_RING_SLOTS, FateSlot, HR_COMMAND, HR_CONSECUTIVE_REJECT_LIMIT, LineStatus,
    PackMlCommand, SLOT_LEN, STATUS_BLOCK_LEN, VerdictCode, VerdictSlot,
};
use crate::backoff::Backoff;
use crate::link::LinkConfig;
use crate::traits::{DeviceError, DeviceEvent, DeviceEventKind, DeviceFuture, LineIo, LinkState};

/// Settings of the PLC driver.
#[derive(Debug, Clone)]
pub struct PlcConfig {
    pub link: LinkConfig,
    /// Modbus unit id (1 on the station PLC).
    pub unit_id: u8,
    /// How often the status block (and new fates) are read.
    pub poll_interval: Duration,
    /// First seq whose fate to report; `None` starts at the PLC's gate count
    /// when the driver first connects (no replay of history).
    pub fate_cursor: Option<u32>,
}

impl PlcConfig {
    pub fn new(link: LinkConfig) -> Self {
        PlcConfig {
            link,
            unit_id: 1,
            poll_interval: Duration::from_millis(50),
            fate_cursor: None,
        }
    }
}

#[derive(Debug, Clone)]
enum PlcOp {
    ReadInput { start: u16, count: u16 },
    ReadHolding { start: u16, count: u16 },
    Write { start: u16, values: Vec<u16> },
}

impl PlcOp {
    /// A read of the whole status block (what the driver's own poll reads).
    fn reads_status_block(&self) -> bool {
        matches!(self, PlcOp::ReadInput { start: 0, count } if *count == STATUS_BLOCK_LEN)
    }

    fn describe(&self) -> String {
        match self {
            PlcOp::ReadInput { start, count } => format!("read input registers {start}+{count}"),
            PlcOp::ReadHolding { start, count } => {
                format!("read holding registers {start}+{count}")
            }
            PlcOp::Write { start, values } => {
                format!("write holding registers {start}+{}", values.len())
            }
        }
    }
}

type PlcReply = Result<Vec<u16>, DeviceError>;
type PlcJob = (PlcOp, oneshot::Sender<PlcReply>);

/// The station PLC on Modbus/TCP.
#[derive(Clone)]
pub struct ModbusPlc {
    name: String,
    request_timeout: Duration,
    jobs: mpsc::Sender<PlcJob>,
}

impl ModbusPlc {
    /// Starts the driver; events (link, line status, fates, protocol errors) go to `events`.
    pub fn spawn(config: PlcConfig, events: mpsc::Sender<DeviceEvent>) -> Self {
        let (jobs_tx, jobs_rx) = mpsc::channel(64);
        let handle = ModbusPlc {
            name: config.link.name.clone(),
            request_timeout: config.link.request_timeout,
            jobs: jobs_tx,
        };
        tokio::spawn(PlcTask::new(config, jobs_rx, events).run());
        handle
    }

    async fn call(&self, op: PlcOp) -> PlcReply {
        let (reply_tx, reply_rx) = oneshot::channel();
        let stopped = || DeviceError::Stopped {
            device: self.name.clone(),
        };
        let what = op.describe();
        self.jobs
            .send((op, reply_tx))
            .await
            .map_err(|_| stopped())?;
        match timeout(self.request_timeout * 4 + Duration::from_secs(1), reply_rx).await {
            Ok(Ok(reply)) => reply,
            Ok(Err(_)) => Err(stopped()),
            Err(_) => Err(DeviceError::Timeout {
                device: self.name.clone(),
                request: what,
                after: self.request_timeout * 4,
            }),
        }
    }

    /// Reads input registers (FC4).
    pub async fn read_input_registers(&self, start: u16, count: u16) -> PlcReply {
        self.call(PlcOp::ReadInput { start, count }).await
    }

    /// Reads holding registers (FC3).
    pub async fn read_holding_registers(&self, start: u16, count: u16) -> PlcReply {
        self.call(PlcOp::ReadHolding { start, count }).await
    }

    /// Writes holding registers (FC6 for one register, FC16 for more).
    pub async fn write_registers(&self, start: u16, values: &[u16]) -> Result<(), DeviceError> {
        self.call(PlcOp::Write {
            start,
            values: values.to_vec(),
        })
        .await
        .map(|_| ())
    }

    /// Reads the verdict slot that `seq` maps to (whatever seq it currently holds).
    pub async fn read_verdict_slot(&self, seq: u32) -> Result<VerdictSlot, DeviceError> {
        let regs = self
            .read_holding_registers(register_map::verdict_slot_address(seq), SLOT_LEN)
            .await?;
        VerdictSlot::decode(&regs).map_err(|error| DeviceError::Protocol {
            device: self.name.clone(),
            request: "read verdict slot".into(),
            detail: error.to_string(),
        })
    }
}

impl LineIo for ModbusPlc {
    fn name(&self) -> &str {
        &self.name
    }

    fn read_status(&self) -> DeviceFuture<'_, LineStatus> {
        Box::pin(async move {
            let regs = self.read_input_registers(0, STATUS_BLOCK_LEN).await?;
            LineStatus::decode(&regs).map_err(|error| DeviceError::Protocol {
                device: self.name.clone(),
                request: "read status block".into(),
                detail: error.to_string(),
            })
        })
    }

    fn write_verdict(&self, seq: u32, good: bool) -> DeviceFuture<'_, ()> {
        Box::pin(async move {
            let verdict = if good {
                VerdictCode::Good
            } else {
                VerdictCode::Reject
            };
            let slot = VerdictSlot { seq, verdict };
            self.write_registers(register_map::verdict_slot_address(seq), &slot.encode())
                .await
        })
    }

    fn command(&self, command: PackMlCommand) -> DeviceFuture<'_, ()> {
        Box::pin(async move { self.write_registers(HR_COMMAND, &[command.to_u16()]).await })
    }

    fn set_consecutive_reject_limit(&self, limit: u16) -> DeviceFuture<'_, ()> {
        Box::pin(async move {
            if !register_map::CONSECUTIVE_REJECT_LIMIT_RANGE.contains(&limit) {
                return Err(DeviceError::InvalidRequest {
                    device: self.name.clone(),
                    detail: format!("consecutive-reject limit {limit} is outside 1 to 1000"),
                });
            }
            self.write_registers(HR_CONSECUTIVE_REJECT_LIMIT, &[limit])
                .await
        })
    }

    fn read_fates(&self, first_seq: u32, count: u16) -> DeviceFuture<'_, Vec<FateSlot>> {
        Box::pin(async move {
            if count > FATE_RING_SLOTS {
                return Err(DeviceError::InvalidRequest {
                    device: self.name.clone(),
                    detail: format!(
                        "at most {FATE_RING_SLOTS} fates can be read at once, asked for {count}"
                    ),
                });
            }
            let mut found = Vec::new();
            for read in fate_cursor::read_plan(first_seq, u32::from(count)) {
                let regs = self
                    .read_input_registers(read.address(), read.register_count())
                    .await?;
                let decoded = register_map::decode_fate_slots(&regs).map_err(|error| {
                    DeviceError::Protocol {
                        device: self.name.clone(),
                        request: "read fate ring".into(),
                        detail: error.to_string(),
                    }
                })?;
                found.extend(read.held_fates(&decoded));
            }
            Ok(found)
        })
    }
}

enum Disconnect {
    Shutdown,
    Broken(String),
}

struct PlcTask {
    config: PlcConfig,
    jobs: mpsc::Receiver<PlcJob>,
    events: mpsc::Sender<DeviceEvent>,
    fates: FateCursor,
    last_reported: Option<(register_map::PackMlState, register_map::AlarmBits)>,
}

impl PlcTask {
    fn new(
        config: PlcConfig,
        jobs: mpsc::Receiver<PlcJob>,
        events: mpsc::Sender<DeviceEvent>,
    ) -> Self {
        let fates = FateCursor::new(config.fate_cursor);
        PlcTask {
            config,
            jobs,
            events,
            fates,
            last_reported: None,
        }
    }

    fn name(&self) -> &str {
        &self.config.link.name
    }

    async fn emit(&self, kind: DeviceEventKind) {
        let _ = self
            .events
            .send(DeviceEvent {
                device: self.name().to_string(),
                kind,
            })
            .await;
    }

    async fn connect(&self) -> Result<Context, String> {
        let address = &self.config.link.address;
        let resolve = timeout(
            self.config.link.connect_timeout,
            tokio::net::lookup_host(address.as_str()),
        )
        .await;
        let socket: SocketAddr = match resolve {
            Ok(Ok(mut found)) => found
                .next()
                .ok_or_else(|| format!("{address} resolves to no address"))?,
            Ok(Err(error)) => return Err(format!("cannot resolve {address}: {error}")),
            Err(_) => return Err(format!("resolving {address} timed out")),
        };
        let slave = Slave(self.config.unit_id);
        match timeout(
            self.config.link.connect_timeout,
            tokio_modbus::client::tcp::connect_slave(socket, slave),
        )
        .await
        {
            Ok(Ok(context)) => Ok(context),
            Ok(Err(error)) => Err(format!("cannot connect to {address}: {error}")),
            Err(_) => Err(format!(
                "no connection to {address} within {:?}",
                self.config.link.connect_timeout
            )),
        }
    }

    async fn run(mut self) {
        let mut failures: u32 = 0;
        let backoff = Backoff::new(
            self.config.link.backoff_initial,
            self.config.link.backoff_max,
        );
        let mut down_reported = false;
        loop {
            let reason = match self.connect().await {
                Ok(mut context) => {
                    failures = 0;
                    down_reported = false;
                    self.last_reported = None;
                    self.emit(DeviceEventKind::Link(LinkState::Up)).await;
                    let end = self.serve(&mut context).await;
                    let _ = timeout(Duration::from_millis(200), context.disconnect()).await;
                    match end {
                        Disconnect::Shutdown => return,
                        Disconnect::Broken(reason) => reason,
                    }
                }
                Err(reason) => reason,
            };
            if !down_reported {
                down_reported = true;
                self.emit(DeviceEventKind::Link(LinkState::Down {
                    reason: reason.clone(),
                }))
                .await;
            }
            failures = failures.saturating_add(1);
            let until = Instant::now() + backoff.delay(failures);
            loop {
                tokio::select! {
                    job = self.jobs.recv() => match job {
                        Some((_, reply)) => {
                            let _ = reply.send(Err(DeviceError::NotConnected { device: self.name().to_string(), reason: reason.clone() }));
                        }
                        None => return,
                    },
                    _ = sleep_until(until) => break,
                }
            }
        }
    }

    async fn serve(&mut self, context: &mut Context) -> Disconnect {
        let mut poll = interval(self.config.poll_interval);
        poll.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                job = self.jobs.recv() => {
                    let Some((op, reply)) = job else { return Disconnect::Shutdown };
                    match self.execute(context, &op).await {
                        Ok(result) => {
                            // A caller's read of the status block serves as this
                            // poll too: one Modbus read instead of two while the
                            // station polls, and the timer waits a full interval.
                            let status = match &result {
                                Ok(regs) if op.reads_status_block() => Some(regs.clone()),
                                _ => None,
                            };
                            let _ = reply.send(result);
                            if let Some(regs) = status {
                                poll.reset();
                                if let Err(reason) = self.on_status_block(context, &regs).await {
                                    return Disconnect::Broken(reason);
                                }
                            }
                        }
                        Err(broken) => {
                            let _ = reply.send(Err(broken.1));
                            return Disconnect::Broken(broken.0);
                        }
                    }
                }
                _ = poll.tick() => {
                    if let Err(reason) = self.poll(context).await {
                        return Disconnect::Broken(reason);
                    }
                }
            }
        }
    }

    /// Runs one Modbus call. Outer error = the link is broken (reason, error for the caller).
    async fn execute(
        &self,
        context: &mut Context,
        op: &PlcOp,
    ) -> Result<PlcReply, (String, DeviceError)> {
        let limit = self.config.link.request_timeout;
        let call = async {
            match op {
                PlcOp::ReadInput { start, count } => {
                    context.read_input_registers(*start, *count).await
                }
                PlcOp::ReadHolding { start, count } => {
                    context.read_holding_registers(*start, *count).await
                }
                PlcOp::Write { start, values } if values.len() == 1 => context
                    .write_single_register(*start, values[0])
                    .await
                    .map(|r| r.map(|()| Vec::new())),
                PlcOp::Write { start, values } => context
                    .write_multiple_registers(*start, values)
                    .await
                    .map(|r| r.map(|()| Vec::new())),
            }
        };
        let device = self.name().to_string();
        match timeout(limit, call).await {
            Ok(Ok(Ok(registers))) => Ok(Ok(registers)),
            Ok(Ok(Err(exception))) => Ok(Err(DeviceError::Refused {
                device,
                request: op.describe(),
                detail: describe_exception(exception),
            })),
            Ok(Err(error)) => {
                let reason = format!("{}: {error}", op.describe());
                Err((reason.clone(), DeviceError::NotConnected { device, reason }))
            }
            Err(_) => Err((
                format!("no reply to {} within {limit:?}", op.describe()),
                DeviceError::Timeout {
                    device,
                    request: op.describe(),
                    after: limit,
                },
            )),
        }
    }

    /// Reads the status block and new fates; reports changes. Err = the link is broken.
    async fn poll(&mut self, context: &mut Context) -> Result<(), String> {
        let regs = match self
            .execute(
                context,
                &PlcOp::ReadInput {
                    start: 0,
                    count: STATUS_BLOCK_LEN,
                },
            )
            .await
        {
            Ok(Ok(regs)) => regs,
            Ok(Err(refused)) => {
                self.emit(DeviceEventKind::ProtocolError(refused.to_string()))
                    .await;
                return Ok(());
            }
            Err((reason, _)) => return Err(reason),
        };
        self.on_status_block(context, &regs).await
    }

    /// Reports a change of line state or alarms in a status block just read, and
    /// reads the fates it announces. Err = the link is broken.
    async fn on_status_block(&mut self, context: &mut Context, regs: &[u16]) -> Result<(), String> {
        let status = match LineStatus::decode(regs) {
            Ok(status) => status,
            Err(error) => {
                self.emit(DeviceEventKind::ProtocolError(format!(
                    "status block: {error}"
                )))
                .await;
                return Ok(());
            }
        };
        if self.last_reported != Some((status.state, status.alarms)) {
            self.last_reported = Some((status.state, status.alarms));
            self.emit(DeviceEventKind::LineStatus(status)).await;
        }
        self.poll_fates(context, status.gate_count).await
    }

    /// Reports the fates of every seq from the cursor up to `gate_count` (all final).
    async fn poll_fates(&mut self, context: &mut Context, gate_count: u32) -> Result<(), String> {
        let plan = self.fates.on_gate_count(gate_count);
        if let Some(notice) = plan.notice {
            self.emit(notice).await;
        }
        for read in plan.reads {
            let op = PlcOp::ReadInput {
                start: read.address(),
                count: read.register_count(),
            };
            let regs = match self.execute(context, &op).await {
                Ok(Ok(regs)) => regs,
                Ok(Err(refused)) => {
                    self.emit(DeviceEventKind::ProtocolError(refused.to_string()))
                        .await;
                    return Ok(());
                }
                Err((reason, _)) => return Err(reason),
            };
            let decoded = match register_map::decode_fate_slots(&regs) {
                Ok(decoded) => decoded,
                Err(error) => {
                    self.emit(DeviceEventKind::ProtocolError(format!(
                        "fate ring: {error}"
                    )))
                    .await;
                    return Ok(());
                }
            };
            let accepted = self.fates.accept(read, &decoded);
            for event in accepted.events {
                self.emit(event).await;
            }
            if !accepted.complete {
                return Ok(());
            }
        }
        Ok(())
    }
}

fn describe_exception(exception: ExceptionCode) -> String {
    let (code, meaning) = match exception {
        ExceptionCode::IllegalFunction => {
            (1, "illegal function: the PLC does not serve this request")
        }
        ExceptionCode::IllegalDataAddress => {
            (2, "illegal data address: check the register map version")
        }
        ExceptionCode::IllegalDataValue => (3, "illegal data value: the PLC refused the value"),
        ExceptionCode::ServerDeviceFailure => (4, "server device failure"),
        ExceptionCode::ServerDeviceBusy => (6, "server device busy: retry"),
        _ => (0, "other exception"),
    };
    format!("Modbus exception {code:02} ({meaning}; {exception:?})")
}
