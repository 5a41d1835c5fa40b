//! The in-process PLC: every request goes through the simulated PLC's register view
//! (`plc/registers.rs`) with the faults the Modbus server draws (`plc/server.rs`), and
//! its reply is read the way the Modbus driver reads it (`devices/src/plc/driver.rs`).
//! [`poll`] is the driver's own background poll: line-state and alarm changes, and
//! every fate from its cursor up to the gate count ([`FateCursor`]).
//!
//! [`FateCursor`]: serialstation_devices::plc::fate_cursor::FateCursor

use std::sync::Arc;

use serialstation_devices::plc::fate_cursor;
use serialstation_devices::plc::register_map::{
    self, CONSECUTIVE_REJECT_LIMIT_RANGE, FATE_RING_SLOTS, FateSlot, HR_COMMAND,
    HR_CONSECUTIVE_REJECT_LIMIT, LineStatus, MapException, PackMlCommand, VerdictCode, VerdictSlot,
};
use serialstation_devices::traits::{DeviceError, DeviceEventKind, DeviceFuture, LineIo};
use tokio::time::Instant;

use crate::faults::FaultKind;
use crate::plc::registers;
use crate::runtime::core::{LineCore, TickOutput, lock};

use super::Shared;
use super::host::Dev;

/// The PLC's handle for the station.
pub(super) struct InProcessPlc {
    shared: Arc<Shared>,
}

/// A Modbus exception as the driver words it.
fn describe_exception(exception: MapException) -> String {
    match exception {
        MapException::IllegalFunction => {
            "Modbus exception 01 (illegal function: the PLC does not serve this request)".into()
        }
        MapException::IllegalDataAddress => {
            "Modbus exception 02 (illegal data address: check the register map version)".into()
        }
        MapException::IllegalDataValue => {
            "Modbus exception 03 (illegal data value: the PLC refused the value)".into()
        }
    }
}

impl InProcessPlc {
    pub(super) fn new(shared: Arc<Shared>) -> InProcessPlc {
        InProcessPlc { shared }
    }

    fn device(&self) -> String {
        self.shared.names.plc.clone()
    }

    /// One Modbus request: the faults drawn as the Modbus server draws them (an
    /// exception instead of an answer; a slow reply; a dropped connection or a
    /// corrupted frame, either of which loses the reply of a request the PLC carried
    /// out), then `apply` on the line at the instant the request arrived.
    async fn request<T: Send>(
        &self,
        what: &str,
        apply: impl FnOnce(&mut LineCore, u64) -> Result<(T, TickOutput), MapException> + Send,
    ) -> Result<T, DeviceError> {
        self.shared.ready(Dev::Plc, what)?;
        let received_ns = self.shared.now_ns();
        let (fail, delay_ms, lost) = {
            let mut core = lock(&self.shared.core);
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
            let names: Vec<&str> = [
                (fail, FaultKind::ModbusException),
                (slow, FaultKind::PlcSlowReply),
                (disconnect, FaultKind::PlcDisconnect),
                (garbage, FaultKind::PlcGarbage),
            ]
            .into_iter()
            .filter(|(on, _)| *on)
            .map(|(_, kind)| kind.name())
            .collect();
            if !names.is_empty() {
                core.note("connection_fault", names.join(","));
            }
            (fail, delay_ms, disconnect || garbage)
        };
        let result = if fail {
            Err(DeviceError::Refused {
                device: self.device(),
                request: what.to_string(),
                detail: "Modbus exception 04 (server device failure)".into(),
            })
        } else {
            let applied = {
                let mut core = lock(&self.shared.core);
                apply(&mut core, received_ns)
            };
            match applied {
                Ok((value, out)) => {
                    self.shared.absorb(out, Instant::now());
                    Ok(value)
                }
                Err(exception) => Err(DeviceError::Refused {
                    device: self.device(),
                    request: what.to_string(),
                    detail: describe_exception(exception),
                }),
            }
        };
        self.shared
            .reply_lost_or_late(Dev::Plc, lost, delay_ms, what)
            .await?;
        result
    }

    /// Writes holding registers (FC6/FC16).
    async fn write(&self, what: &str, start: u16, values: Vec<u16>) -> Result<(), DeviceError> {
        self.request(what, move |core, received_ns| {
            let out = registers::write_holding_at(core, start, &values, received_ns)?;
            Ok(((), out))
        })
        .await
    }
}

impl LineIo for InProcessPlc {
    fn name(&self) -> &str {
        &self.shared.names.plc
    }

    fn read_status(&self) -> DeviceFuture<'_, LineStatus> {
        self.shared.crash.hit();
        Box::pin(async move {
            self.request("read status block", |core, _| {
                Ok((registers::status(core), TickOutput::default()))
            })
            .await
        })
    }

    fn write_verdict(&self, seq: u32, good: bool) -> DeviceFuture<'_, ()> {
        self.shared.crash.hit();
        Box::pin(async move {
            let verdict = if good {
                VerdictCode::Good
            } else {
                VerdictCode::Reject
            };
            let slot = VerdictSlot { seq, verdict };
            self.write(
                "write verdict slot",
                register_map::verdict_slot_address(seq),
                slot.encode().to_vec(),
            )
            .await
        })
    }

    fn command(&self, command: PackMlCommand) -> DeviceFuture<'_, ()> {
        self.shared.crash.hit();
        Box::pin(async move {
            self.write("write command", HR_COMMAND, vec![command.to_u16()])
                .await
        })
    }

    fn set_consecutive_reject_limit(&self, limit: u16) -> DeviceFuture<'_, ()> {
        self.shared.crash.hit();
        Box::pin(async move {
            if !CONSECUTIVE_REJECT_LIMIT_RANGE.contains(&limit) {
                return Err(DeviceError::InvalidRequest {
                    device: self.device(),
                    detail: format!("consecutive-reject limit {limit} is outside 1 to 1000"),
                });
            }
            self.write(
                "write consecutive-reject limit",
                HR_CONSECUTIVE_REJECT_LIMIT,
                vec![limit],
            )
            .await
        })
    }

    fn read_fates(&self, first_seq: u32, count: u16) -> DeviceFuture<'_, Vec<FateSlot>> {
        self.shared.crash.hit();
        Box::pin(async move {
            if count > FATE_RING_SLOTS {
                return Err(DeviceError::InvalidRequest {
                    device: self.device(),
                    detail: format!(
                        "at most {FATE_RING_SLOTS} fates can be read at once, asked for {count}"
                    ),
                });
            }
            let mut found = Vec::new();
            for read in fate_cursor::read_plan(first_seq, u32::from(count)) {
                let regs = self
                    .request("read fate ring", move |core, _| {
                        let regs =
                            registers::read_input(core, read.address(), read.register_count())?;
                        Ok((regs, TickOutput::default()))
                    })
                    .await?;
                let decoded = register_map::decode_fate_slots(&regs).map_err(|error| {
                    DeviceError::Protocol {
                        device: self.device(),
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

/// The PLC driver's background poll, when it is due: reports a changed line state or
/// alarm set, then every fate from its cursor up to the gate count, in seq order.
pub(super) fn poll(shared: &Shared, now: Instant) {
    let due = {
        let host = shared.host();
        host.connected()
            && !host.is_down(Dev::Plc)
            && host.next_plc_poll.is_some_and(|at| at <= now)
    };
    if !due {
        return;
    }
    let core = lock(&shared.core);
    let mut host = shared.host();
    host.next_plc_poll = Some(now + shared.options.plc_poll);
    let status = registers::status(&core);
    if host.plc_reported != Some((status.state, status.alarms)) {
        host.plc_reported = Some((status.state, status.alarms));
        host.emit(Dev::Plc, DeviceEventKind::LineStatus(status));
    }
    let plan = host.fates.on_gate_count(status.gate_count);
    if let Some(notice) = plan.notice {
        host.emit(Dev::Plc, notice);
    }
    for read in plan.reads {
        let regs = match registers::read_input(&core, read.address(), read.register_count()) {
            Ok(regs) => regs,
            Err(exception) => {
                host.emit(
                    Dev::Plc,
                    DeviceEventKind::ProtocolError(format!(
                        "fate ring: {}",
                        describe_exception(exception)
                    )),
                );
                return;
            }
        };
        let decoded = match register_map::decode_fate_slots(&regs) {
            Ok(decoded) => decoded,
            Err(error) => {
                host.emit(
                    Dev::Plc,
                    DeviceEventKind::ProtocolError(format!("fate ring: {error}")),
                );
                return;
            }
        };
        let accepted = host.fates.accept(read, &decoded);
        for event in accepted.events {
            host.emit(Dev::Plc, event);
        }
        if !accepted.complete {
            return;
        }
    }
}
