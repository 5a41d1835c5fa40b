//! The station runtime: runs one batch on a real line. It feeds the engine with
//! what the drivers report (and with the PLC's polled counters), and executes the
//! engine's commands in order, making every persist durable in the store before
//! any later command leaves the process (consecutive persists are one group
//! commit). `StopLine` is the exception: it goes to the PLC at once.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use serialstation_devices::plc::register_map::{LineStatus, PackMlCommand, PackMlState};
use serialstation_devices::traits::DeviceEvent;
use tokio::sync::mpsc;

use crate::gs1::Gtin;
use crate::line::{
    BatchId as EngineBatchId, BatchStart, BatchState, BatchStatus, Command, Device, Engine, Event,
    HoldReason, MessageId, OperatorCommand, PlcAlarms, Reconciliation,
};
use crate::store::line_records::{LineBatch, LineRecord};
use crate::store::{Actor, BatchId, NewBatch, SerialState, Store};

use super::config::{PrinterKind, StationConfig};
use super::devices::{PRINT_JOB, StationDevices, connect};
use super::events::{self, Translated};
use super::product::product_spec;
use super::records::to_record;

/// How often the PLC's counters are read.
const POLL_INTERVAL: Duration = Duration::from_millis(20);
/// Longest wait for every device to come online at batch start.
const DEVICES_TIMEOUT: Duration = Duration::from_secs(20);
/// At most this many items are reported at the camera from one poll.
const MAX_ARRIVALS_PER_POLL: u32 = 256;
/// Least time between two automatic resume attempts.
const RESUME_RETRY: Duration = Duration::from_millis(500);

/// Why the station could not run (or finish) a batch.
#[derive(Debug, thiserror::Error)]
pub enum StationError {
    #[error("{0}")]
    Refused(String),
    #[error("the store failed, the line was stopped: {0}")]
    Store(#[from] crate::store::StoreError),
    #[error("{0}")]
    Devices(String),
    #[error("the device event channel closed: every driver has stopped")]
    DriversGone,
}

/// What the operator asks for.
#[derive(Debug, Clone)]
pub struct BatchRequest {
    pub gtin: Gtin,
    pub lot: String,
    pub expiry: String,
    pub quantity: u32,
    pub actor: Actor,
    /// Resume by itself after a hold once every device is back and PLC alarms are
    /// cleared (an unattended demo or test; a real line waits for the operator).
    pub auto_resume: bool,
    /// Stop the batch when nothing is commissioned for this long (then abandon
    /// in-flight items if it still cannot finish).
    pub stall_timeout: Duration,
}

/// How a batch ended.
#[derive(Debug, Clone)]
pub struct BatchOutcome {
    pub batch: BatchId,
    pub status: BatchStatus,
    /// The store's counts at close.
    pub counts: Reconciliation,
    /// Every alarm raised, in order.
    pub alarms: Vec<String>,
    pub holds: u64,
    pub elapsed: Duration,
}

/// One station: the engine, the store and the drivers.
pub struct Station {
    store: Store,
    engine: Engine,
    devices: StationDevices,
    events: mpsc::Receiver<DeviceEvent>,
    config: StationConfig,
    started: Instant,
    line: Option<LineBatch>,
    actor: Actor,
    followups: VecDeque<Event>,
    camera_cursor: Option<u32>,
    plc_alarms: PlcAlarms,
    alarms: Vec<String>,
    notes: Vec<String>,
    printer_suspect: bool,
}

impl Station {
    /// Starts the drivers for `config` (inside a tokio runtime).
    pub fn connect(config: StationConfig, store: Store) -> Station {
        let (devices, events) = connect(&config);
        Station {
            store,
            engine: Engine::new(config.engine_config()),
            devices,
            events,
            config,
            started: Instant::now(),
            line: None,
            actor: Actor::new("station"),
            followups: VecDeque::new(),
            camera_cursor: None,
            plc_alarms: PlcAlarms::default(),
            alarms: Vec::new(),
            notes: Vec::new(),
            printer_suspect: false,
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Gives the store back (after a batch).
    pub fn into_store(self) -> Store {
        self.store
    }

    /// Messages from the devices that were not alarms (garbage dropped, faults).
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// Runs one batch to its end: start, produce `quantity` commissioned items, stop
    /// (the printer's buffer cleared, never-printed serials returned with its proof),
    /// and close with the store's counts. `progress` is called after every poll.
    pub async fn run_batch(
        &mut self,
        request: &BatchRequest,
        mut progress: impl FnMut(&BatchStatus),
    ) -> Result<BatchOutcome, StationError> {
        self.actor = request.actor.clone();
        let product = self
            .store
            .product(&request.gtin)?
            .ok_or_else(|| {
                StationError::Refused(format!(
                    "GTIN {} is not in the product master: load its client file with `serialstation config load`",
                    request.gtin
                ))
            })?;
        let spec = product_spec(&product).map_err(StationError::Refused)?;
        let pool_available = self
            .store
            .pool_status(Some(&request.gtin))?
            .first()
            .map_or(0, |pool| pool.count(SerialState::Unallocated));
        self.wait_for_devices().await?;
        let batch = self.store.create_batch(
            &NewBatch {
                gtin: request.gtin.clone(),
                lot: request.lot.clone(),
                expiry: request.expiry.clone(),
                quantity: u64::from(request.quantity),
            },
            &request.actor,
        )?;
        self.line = Some(LineBatch {
            batch,
            gtin: request.gtin.clone(),
            client_id: product.client_id.clone(),
            lot: request.lot.clone(),
            expiry: request.expiry.clone(),
        });
        if let Err(e) = self
            .devices
            .plc
            .set_consecutive_reject_limit(self.config.plc.consecutive_reject_limit)
            .await
        {
            self.note(format!(
                "could not set the PLC's consecutive-reject limit: {e}"
            ));
        }
        let status = self.read_plc().await?;
        self.camera_cursor = Some(status.camera_trigger_count);
        let start = BatchStart {
            batch: EngineBatchId(batch.0 as u64),
            product: spec,
            lot: request.lot.clone(),
            expiry: request.expiry.clone(),
            quantity: request.quantity,
            pool_available,
            today: crate::gs1::date::today_utc(),
            first_message_id: MessageId(self.store.next_message_id()?),
            challenge_items: 0,
        };
        let mut out = Vec::new();
        self.engine
            .handle(
                Event::Operator(OperatorCommand::Start(Box::new(start))),
                &mut out,
            )
            .map_err(|e| StationError::Refused(e.message))?;
        self.execute(out).await?;

        let begun = Instant::now();
        let outcome = self.drive(request, &mut progress).await;
        if let Err(error) = &outcome {
            self.stop_line(&format!("station error: {error}")).await;
        }
        let holds = outcome?;
        self.close(batch, holds, begun.elapsed()).await
    }

    /// The event loop of one batch, until it is stopped. Returns the number of holds.
    async fn drive(
        &mut self,
        request: &BatchRequest,
        progress: &mut impl FnMut(&BatchStatus),
    ) -> Result<u64, StationError> {
        let mut poll = tokio::time::interval(POLL_INTERVAL);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut holds = 0u64;
        let mut was_held = false;
        let mut last_resume_try = Instant::now();
        let mut last_progress = (Instant::now(), 0u64);
        let mut stop_requested = false;
        loop {
            tokio::select! {
                event = self.events.recv() => {
                    let event = event.ok_or(StationError::DriversGone)?;
                    self.on_device_event(event).await?;
                    // Drain what is already waiting before the next poll.
                    while let Ok(event) = self.events.try_recv() {
                        self.on_device_event(event).await?;
                    }
                }
                _ = poll.tick() => {
                    self.poll_plc().await?;
                    let now_ms = self.started.elapsed().as_millis() as u64;
                    self.feed(Event::Tick { now_ms }).await?;
                }
            }
            let Some(status) = self.engine.status() else {
                return Err(StationError::Refused(
                    "the batch disappeared from the engine".into(),
                ));
            };
            progress(&status);
            if matches!(
                status.state,
                BatchState::Stopped | BatchState::ChallengeFailed
            ) {
                return Ok(holds);
            }
            if status.counts.commissioned != last_progress.1 {
                last_progress = (Instant::now(), status.counts.commissioned);
            }
            let held = status.hold.is_some();
            if held && !was_held {
                holds += 1;
            }
            was_held = held;
            if held
                && request.auto_resume
                && last_resume_try.elapsed() >= RESUME_RETRY
                && status.hold != Some(HoldReason::SerialsExhausted)
            {
                last_resume_try = Instant::now();
                self.try_resume().await?;
            }
            if last_progress.0.elapsed() >= request.stall_timeout {
                let abandon = stop_requested;
                self.note(format!(
                    "nothing commissioned for {:?}: {}",
                    request.stall_timeout,
                    if abandon {
                        "abandoning items in flight"
                    } else {
                        "stopping the batch"
                    }
                ));
                let mut out = Vec::new();
                let command = OperatorCommand::Stop {
                    abandon_in_flight: abandon,
                };
                match self.engine.handle(Event::Operator(command), &mut out) {
                    Ok(()) => self.execute(out).await?,
                    Err(e) => self.note(e.message),
                }
                stop_requested = true;
                last_progress.0 = Instant::now();
            }
        }
    }

    /// Clears PLC alarms at the line and resumes, as an unattended operator would.
    async fn try_resume(&mut self) -> Result<(), StationError> {
        if !Device::ALL.iter().all(|d| self.engine.device_online(*d)) {
            return Ok(());
        }
        if self.plc_alarms.any() {
            if let Ok(status) = self.devices.plc.read_status().await {
                let command = match status.state {
                    PackMlState::Aborted => Some(PackMlCommand::Clear),
                    PackMlState::Stopped | PackMlState::Complete => Some(PackMlCommand::Reset),
                    _ => Some(PackMlCommand::Reset),
                };
                if let Some(command) = command
                    && let Err(e) = self.devices.plc.command(command).await
                {
                    self.note(format!("could not reset the PLC: {e}"));
                }
            }
            return Ok(());
        }
        let mut out = Vec::new();
        match self
            .engine
            .handle(Event::Operator(OperatorCommand::Resume), &mut out)
        {
            Ok(()) => self.execute(out).await,
            Err(e) => {
                self.note(e.message);
                Ok(())
            }
        }
    }

    async fn close(
        &mut self,
        batch: BatchId,
        holds: u64,
        elapsed: Duration,
    ) -> Result<BatchOutcome, StationError> {
        let status = self
            .engine
            .status()
            .ok_or_else(|| StationError::Refused("no batch to close".into()))?;
        let stored = self.store.batch_serial_counts(batch)?;
        let counts = Reconciliation {
            allocated: stored.allocated,
            commissioned: stored.commissioned,
            scrapped: stored.scrapped,
            sampled: stored.sampled,
            invalidated: stored.invalidated,
            returned: stored.returned,
        };
        let mut out = Vec::new();
        let close = OperatorCommand::Close {
            reason: None,
            store_counts: Some(counts),
        };
        if let Err(e) = self.engine.handle(Event::Operator(close), &mut out) {
            return Err(StationError::Refused(format!(
                "batch {} cannot be closed: {} (store: {}, {} still outstanding)",
                batch.0,
                e.message,
                counts.describe(),
                stored.outstanding
            )));
        }
        self.execute(out).await?;
        self.line = None;
        Ok(BatchOutcome {
            batch,
            status,
            counts,
            alarms: self.alarms.clone(),
            holds,
            elapsed,
        })
    }

    async fn wait_for_devices(&mut self) -> Result<(), StationError> {
        let deadline = Instant::now() + DEVICES_TIMEOUT;
        while !Device::ALL.iter().all(|d| self.engine.device_online(*d)) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                let offline: Vec<&str> = Device::ALL
                    .iter()
                    .filter(|d| !self.engine.device_online(**d))
                    .map(|d| d.as_str())
                    .collect();
                return Err(StationError::Devices(format!(
                    "the {} did not come online within {DEVICES_TIMEOUT:?}: check the addresses in the line configuration and that the devices are powered",
                    offline.join(", ")
                )));
            }
            match tokio::time::timeout(left, self.events.recv()).await {
                Ok(Some(event)) => self.on_device_event(event).await?,
                Ok(None) => return Err(StationError::DriversGone),
                Err(_) => {}
            }
        }
        Ok(())
    }

    async fn read_plc(&mut self) -> Result<LineStatus, StationError> {
        self.devices
            .plc
            .read_status()
            .await
            .map_err(|e| StationError::Devices(e.to_string()))
    }

    async fn on_device_event(&mut self, event: DeviceEvent) -> Result<(), StationError> {
        match events::translate(event) {
            Translated::Engine(event) => {
                match &event {
                    Event::DeviceUp(Device::Printer) => {
                        self.printer_suspect = false;
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
                self.feed(event).await
            }
            Translated::Note(text) => {
                self.note(text);
                Ok(())
            }
            Translated::Nothing => Ok(()),
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

    /// Reads the PLC's counters: the encoder, items newly at the camera, alarms.
    async fn poll_plc(&mut self) -> Result<(), StationError> {
        if self.printer_suspect && self.devices.printer.status().await.is_ok() {
            self.printer_suspect = false;
            self.set_up_printer().await;
            self.feed(Event::DeviceUp(Device::Printer)).await?;
        }
        if self.config.printer.kind == PrinterKind::Zpl
            && !self.printer_suspect
            && let Err(e) = self.devices.printer.buffer_level().await
        {
            // A label printer confirms prints only through its polled buffer level.
            self.note(format!("polling the label printer failed: {e}"));
        }
        let Ok(status) = self.devices.plc.read_status().await else {
            return Ok(());
        };
        self.feed(Event::PlcCounters(events::counters(&status)))
            .await?;
        if let Some(cursor) = self.camera_cursor.as_mut() {
            let arrivals = events::camera_arrivals(cursor, &status, MAX_ARRIVALS_PER_POLL);
            for arrival in arrivals {
                self.feed(arrival).await?;
            }
        }
        let alarms = events::alarms(&status);
        if alarms != self.plc_alarms {
            self.plc_alarms = alarms;
            self.feed(Event::PlcAlarms(alarms)).await?;
        }
        Ok(())
    }

    /// Hands one event to the engine and executes what it asks, then any follow-up
    /// events the execution produced (serials allocated, buffer cleared, ...).
    async fn feed(&mut self, event: Event) -> Result<(), StationError> {
        self.followups.push_back(event);
        while let Some(event) = self.followups.pop_front() {
            let mut out = Vec::new();
            if let Err(e) = self.engine.handle(event, &mut out) {
                self.note(e.message);
            }
            self.execute(out).await?;
        }
        Ok(())
    }

    /// Applies commands in order: persists are collected and committed together
    /// before the next command that acts; `StopLine` goes out at once.
    async fn execute(&mut self, commands: Vec<Command>) -> Result<(), StationError> {
        let mut pending: Vec<LineRecord> = Vec::new();
        for command in commands {
            match command {
                Command::Persist(transition) => {
                    pending.push(to_record(&transition, self.devices.printer.name()));
                }
                Command::StopLine { reason } => self.stop_line(&reason).await,
                other => {
                    self.commit(&mut pending)?;
                    self.act(other).await;
                }
            }
        }
        self.commit(&mut pending)
    }

    fn commit(&mut self, pending: &mut Vec<LineRecord>) -> Result<(), StationError> {
        if pending.is_empty() {
            return Ok(());
        }
        let line = self.line.as_ref().ok_or_else(|| {
            StationError::Refused("the engine asked to record a state change with no batch".into())
        })?;
        self.store.apply_line_records(line, pending, &self.actor)?;
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
                if let Err(e) = self.devices.plc.write_verdict(seq.0, good).await {
                    self.note(format!(
                        "writing the verdict of item {seq} failed ({e}): the PLC rejects it"
                    ));
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
        let serials =
            self.store
                .allocate_block(line.batch, &line.gtin, count as usize, &self.actor)?;
        Ok(serials.into_iter().map(|s| s.serial).collect())
    }

    /// A printer request failed: the engine treats the printer as gone (the line
    /// holds, its buffer is cleared and accounted for when it answers again).
    fn printer_failed(&mut self, message: String) {
        self.note(message);
        if !self.printer_suspect {
            self.printer_suspect = true;
            self.followups.push_back(Event::DeviceDown(Device::Printer));
        }
    }

    async fn stop_line(&mut self, reason: &str) {
        tracing::info!("stopping the line: {reason}");
        if let Err(e) = self.devices.plc.command(PackMlCommand::Hold).await {
            self.note(format!(
                "could not stop the line ({e}): the PLC's own watchdog must stop the belt"
            ));
        }
    }

    /// Brings the PLC to Execute from wherever it is (clearing latched alarms).
    async fn start_line(&mut self) {
        for _ in 0..100 {
            let status = match self.devices.plc.read_status().await {
                Ok(status) => status,
                Err(e) => {
                    self.note(format!("could not start the line: {e}"));
                    return;
                }
            };
            let command = match status.state {
                PackMlState::Execute => return,
                PackMlState::Aborted => Some(PackMlCommand::Clear),
                PackMlState::Stopped | PackMlState::Complete => Some(PackMlCommand::Reset),
                PackMlState::Idle => Some(PackMlCommand::Start),
                PackMlState::Held => Some(PackMlCommand::Unhold),
                PackMlState::Suspended => Some(PackMlCommand::Unsuspend),
                _ => None,
            };
            if let Some(command) = command
                && let Err(e) = self.devices.plc.command(command).await
            {
                self.note(format!("the PLC refused {command:?}: {e}"));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.note("the PLC did not reach Execute: check its alarms at the line".to_string());
    }

    fn note(&mut self, text: String) {
        tracing::info!("{text}");
        self.notes.push(text);
    }
}
