//! A blocking Modbus/TCP link to the case packer's block ([`super::case_packer`]),
//! for the case station, which handles one case at a time: every call either
//! completes within its timeout or fails with a message naming the PLC, and the
//! next call reconnects. The Modbus work runs on a private current-thread tokio
//! runtime owned by the link.

use std::time::Duration;

use tokio::runtime::Runtime;
use tokio_modbus::client::Context;
use tokio_modbus::prelude::{Reader, Slave, Writer};

use super::case_packer::{
    CASE_STATUS_LEN, CASE_STATUS_START, CaseCommand, CasePackerStatus, HR_CASE_CAPACITY,
    HR_CASE_COMMAND,
};
use crate::line_scanner::resolve;

/// How long one request (or a connect) may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);

pub struct CasePackerLink {
    address: String,
    unit_id: u8,
    runtime: Runtime,
    context: Option<Context>,
}

impl CasePackerLink {
    pub fn new(address: &str, unit_id: u8) -> Result<CasePackerLink, String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("case packer PLC {address}: cannot start its I/O: {e}"))?;
        Ok(CasePackerLink {
            address: address.to_string(),
            unit_id,
            runtime,
            context: None,
        })
    }

    pub fn address(&self) -> &str {
        &self.address
    }

    /// Reads the case packer's block in one request.
    pub fn status(&mut self) -> Result<CasePackerStatus, String> {
        let regs = self.call("reading the case packer block", |ctx| {
            Box::pin(ctx.read_input_registers(CASE_STATUS_START, CASE_STATUS_LEN))
        })?;
        CasePackerStatus::decode(&regs)
            .map_err(|e| format!("case packer PLC {}: {e}", self.address))
    }

    /// Writes `command` for `case` in one FC16 write.
    pub fn command(&mut self, command: CaseCommand, case: u32) -> Result<(), String> {
        let block = command.encode(case);
        self.call("writing a case command", move |ctx| {
            Box::pin(async move { ctx.write_multiple_registers(HR_CASE_COMMAND, &block).await })
        })
    }

    /// Writes the packs per full case.
    pub fn set_capacity(&mut self, packs: u16) -> Result<(), String> {
        self.call("writing the case capacity", move |ctx| {
            Box::pin(ctx.write_single_register(HR_CASE_CAPACITY, packs))
        })
    }

    fn call<T>(
        &mut self,
        what: &str,
        request: impl FnOnce(&mut Context) -> ModbusFuture<'_, T>,
    ) -> Result<T, String> {
        let address = self.address.clone();
        let fail = |e: String| format!("case packer PLC {address}: {what}: {e}");
        if self.context.is_none() {
            let socket = resolve(&self.address).map_err(fail)?;
            let slave = Slave(self.unit_id);
            let connected = self.runtime.block_on(async {
                tokio::time::timeout(
                    REQUEST_TIMEOUT,
                    tokio_modbus::client::tcp::connect_slave(socket, slave),
                )
                .await
            });
            match connected {
                Ok(Ok(context)) => self.context = Some(context),
                Ok(Err(e)) => return Err(fail(format!("cannot connect ({e})"))),
                Err(_) => return Err(fail("no connection within 2 s".to_string())),
            }
        }
        let Some(context) = self.context.as_mut() else {
            return Err(fail("not connected".to_string()));
        };
        let future = request(context);
        let answer = self
            .runtime
            .block_on(async { tokio::time::timeout(REQUEST_TIMEOUT, future).await });
        match answer {
            Ok(Ok(Ok(value))) => Ok(value),
            Ok(Ok(Err(exception))) => Err(fail(format!("the PLC answered exception {exception}"))),
            Ok(Err(e)) => {
                self.context = None;
                Err(fail(e.to_string()))
            }
            Err(_) => {
                self.context = None;
                Err(fail("no answer within 2 s".to_string()))
            }
        }
    }
}

type ModbusFuture<'a, T> =
    std::pin::Pin<Box<dyn std::future::Future<Output = tokio_modbus::Result<T>> + 'a>>;
