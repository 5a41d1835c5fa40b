//! The engine's I/O: the drivers' reports and the PLC's polled counters turned into
//! engine events, and the engine's commands carried out in order, every persist
//! made durable in the store (one group commit per wake-up) before any later
//! command leaves the process; `StopLine` goes to the PLC at once. ARCHITECTURE.md,
//! §3 "One item through the code" follows one item through it.

use serialstation_devices::plc::register_map::{LineStatus, PackMlCommand};
use serialstation_devices::traits::DeviceEvent;

use crate::config::line::PrinterKind;
use crate::line::{Command, Device, Event, MessageId};
use crate::store::Durability;
use crate::store::line_records::LineRecord;

use crate::station::devices::PRINT_JOB;
use crate::station::events::{self, Translated};
use crate::station::policy::{LOOK_INTERVAL, MAX_LOOKS, StartStep, durability_before, start_step};
use crate::station::records::to_record;

use super::{MAX_ARRIVALS_PER_POLL, Station, StationError, now, off_the_runtime};

impl Station {
    pub(super) async fn read_plc(&mut self) -> Result<LineStatus, StationError> {
        self.devices
            .plc
            .read_status()
            .await
            .map_err(|e| StationError::Devices(e.to_string()))
    }

    /// Takes in one driver report: device set-up on link up, and the engine event it
    /// means queued (for [`Station::drain_followups`]).
    pub(super) async fn on_device_event(&mut self, event: DeviceEvent) {
        match events::translate(event) {
            Translated::Engine(event) => {
                match &event {
                    Event::CameraResult { seq, .. } | Event::CameraNoRead { seq } => {
                        self.latency.readout(seq.0, now());
                    }
                    Event::DeviceUp(Device::Printer) => {
                        self.printer_watch.back();
                        self.set_up_printer().await;
                    }
                    Event::DeviceUp(Device::Camera) => {
                        if let Err(e) = self.devices.camera.set_armed(true).await {
                            self.note(format!("could not arm the camera: {e}"));
                        }
                    }
                    Event::PlcAlarms(alarms) => self.plc_alarms = *alarms,
                    _ => {}
                }
                self.followups.push_back(event);
            }
            Translated::Note(text) => self.note(text),
            Translated::Nothing => {}
        }
    }

    async fn set_up_printer(&mut self) {
        if let Err(e) = self.devices.printer.select_job(PRINT_JOB).await {
            self.note(format!("could not select the printer job {PRINT_JOB}: {e}"));
        }
        if let Err(e) = self.devices.printer.set_running(true).await {
            self.note(format!("could not start the printer: {e}"));
        }
    }

    /// Reads the PLC's counters: the encoder, items newly at the camera, alarms (the
    /// engine events are queued for [`Station::drain_followups`]).
    pub(super) async fn poll_plc(&mut self) {
        if self.printer_watch.wants_probe() && self.devices.printer.status().await.is_ok() {
            self.printer_watch.back();
            self.set_up_printer().await;
            self.followups.push_back(Event::DeviceUp(Device::Printer));
        }
        if self.config.printer.kind == PrinterKind::Zpl
            && self.printer_watch.may_poll_buffer()
            && let Err(e) = self.devices.printer.buffer_level().await
        {
            // A label printer confirms prints only through its polled buffer level.
            self.note(format!("polling the label printer failed: {e}"));
        }
        let Ok(status) = self.devices.plc.read_status().await else {
            return;
        };
        self.followups
            .push_back(Event::PlcCounters(events::counters(&status)));
        if let Some(cursor) = self.camera_cursor.as_mut() {
            let arrivals = events::camera_arrivals(cursor, &status, MAX_ARRIVALS_PER_POLL);
            self.followups.extend(arrivals);
        }
        let alarms = events::alarms(&status);
        if alarms != self.plc_alarms {
            self.plc_alarms = alarms;
            self.followups.push_back(Event::PlcAlarms(alarms));
        }
    }

    /// Hands every queued event to the engine, then executes all it asked for (one
    /// group commit), until executing produces no more events (serials allocated,
    /// buffer cleared, ...).
    pub(super) async fn drain_followups(&mut self) -> Result<(), StationError> {
        while !self.followups.is_empty() {
            let mut out = Vec::new();
            while let Some(event) = self.followups.pop_front() {
                if let Err(e) = self.engine.handle(event, &mut out) {
                    self.note(e.message);
                }
            }
            self.execute(out).await?;
        }
        Ok(())
    }

    /// Applies commands: `StopLine` goes out at once (a safety action never waits
    /// for the disk); then every persist is committed in one transaction; then the
    /// other commands act, in order. So no action leaves the process before the
    /// record it depends on, and one disk sync covers everything the engine asked for.
    pub(super) async fn execute(&mut self, commands: Vec<Command>) -> Result<(), StationError> {
        let mut pending: Vec<LineRecord> = Vec::new();
        let mut actions = Vec::new();
        for command in commands {
            match command {
                Command::StopLine { reason } => self.stop_line(&reason).await,
                Command::Persist(transition) => {
                    pending.push(to_record(&transition, self.devices.printer.name()));
                }
                other => actions.push(other),
            }
        }
        self.commit(&mut pending, durability_before(&actions))?;
        for action in actions {
            self.act(action).await;
        }
        Ok(())
    }

    fn commit(
        &mut self,
        pending: &mut Vec<LineRecord>,
        durability: Durability,
    ) -> Result<(), StationError> {
        if pending.is_empty() {
            return Ok(());
        }
        let bins = self.latency.take_unstored();
        if !bins.is_empty() {
            pending.push(LineRecord::DecisionLatency {
                bins: bins
                    .into_iter()
                    .map(|(lower, bin)| (lower, bin.items, bin.max_us))
                    .collect(),
            });
        }
        let line = self.line.as_ref().ok_or_else(|| {
            StationError::Refused("the engine asked to record a state change with no batch".into())
        })?;
        let store = &mut self.store;
        let actor = &self.actor;
        off_the_runtime(|| store.apply_line_records_with(line, pending, actor, durability))?;
        pending.clear();
        Ok(())
    }

    async fn act(&mut self, command: Command) {
        match command {
            Command::Persist(_) | Command::StopLine { .. } => {}
            Command::RequestSerials { count, .. } => {
                let event = match self.allocate(count) {
                    Ok(serials) if serials.is_empty() => Event::SerialAllocationFailed {
                        reason: "the pool has no unallocated serials left".to_string(),
                    },
                    Ok(serials) => Event::SerialsAllocated { serials },
                    Err(e) => Event::SerialAllocationFailed {
                        reason: e.to_string(),
                    },
                };
                self.followups.push_back(event);
            }
            Command::QueuePrint {
                message_id,
                encoder_data,
                ..
            } => {
                let result = match u32::try_from(message_id.0) {
                    Ok(id) => self
                        .devices
                        .printer
                        .queue_message(id, encoder_data.as_bytes())
                        .await
                        .map_err(|e| e.to_string()),
                    Err(_) => Err(format!(
                        "message id {message_id} does not fit the printer's u32 ids"
                    )),
                };
                if let Err(e) = result {
                    self.printer_failed(format!("queueing message {message_id} failed: {e}"));
                }
            }
            Command::ClearPrinterBuffer => match self.devices.printer.clear_buffer().await {
                Ok(ids) => self.followups.push_back(Event::PrinterBufferCleared {
                    never_printed: ids.into_iter().map(|id| MessageId(u64::from(id))).collect(),
                }),
                Err(e) => self.printer_failed(format!("clearing the printer buffer failed: {e}")),
            },
            Command::WriteVerdict { seq, verdict } => {
                let good = verdict == crate::line::Verdict::Good;
                match self.devices.plc.write_verdict(seq.0, good).await {
                    Ok(()) => {
                        self.latency.verdict_written(seq.0, now());
                    }
                    Err(e) => self.note(format!(
                        "writing the verdict of item {seq} failed ({e}): the PLC rejects it"
                    )),
                }
            }
            Command::StartLine => self.start_line().await,
            Command::RaiseAlarm(alarm) => {
                tracing::warn!(kind = ?alarm.kind, "{}", alarm.message);
                self.alarms.push(alarm.message);
            }
        }
    }

    fn allocate(&mut self, count: u32) -> Result<Vec<String>, crate::store::StoreError> {
        let Some(line) = self.line.as_ref() else {
            return Ok(Vec::new());
        };
        let store = &mut self.store;
        let actor = &self.actor;
        let serials = off_the_runtime(|| {
            store.allocate_block(line.batch, &line.gtin, count as usize, actor)
        })?;
        Ok(serials.into_iter().map(|s| s.serial).collect())
    }

    /// A printer request failed: the engine treats the printer as gone (the line
    /// holds, its buffer is cleared and accounted for when it answers again).
    fn printer_failed(&mut self, message: String) {
        self.note(message);
        if self.printer_watch.request_failed() {
            self.followups.push_back(Event::DeviceDown(Device::Printer));
        }
    }

    /// Stops the conveyor now (a PLC Hold), whatever the engine thinks.
    pub async fn stop_line(&mut self, reason: &str) {
        tracing::info!("stopping the line: {reason}");
        if let Err(e) = self.devices.plc.command(PackMlCommand::Hold).await {
            self.note(format!(
                "could not stop the line ({e}): the PLC's own watchdog must stop the belt"
            ));
        }
    }

    /// Brings the PLC to Execute from wherever it is (clearing latched alarms),
    /// one command per look ([`start_step`]).
    async fn start_line(&mut self) {
        for _ in 0..MAX_LOOKS {
            let status = match self.devices.plc.read_status().await {
                Ok(status) => status,
                Err(e) => {
                    self.note(format!("could not start the line: {e}"));
                    return;
                }
            };
            match start_step(status.state) {
                StartStep::Running => return,
                StartStep::Send(command) => {
                    if let Err(e) = self.devices.plc.command(command).await {
                        self.note(format!("the PLC refused the command {command}: {e}"));
                    }
                }
                StartStep::Wait => {}
            }
            tokio::time::sleep(LOOK_INTERVAL).await;
        }
        self.note("the PLC did not reach Execute: check its alarms at the line".to_string());
    }

    pub(super) fn note(&mut self, text: String) {
        tracing::info!("{text}");
        self.notes.push(text);
    }
}
