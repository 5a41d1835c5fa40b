//! The station runtime: runs one batch on a real line. It feeds the engine with
//! what the drivers report (and with the PLC's polled counters), and executes the
//! engine's commands in order, making every persist durable in the store before
//! any later command leaves the process (consecutive persists are one group
//! commit). `StopLine` is the exception: it goes to the PLC at once.
//!
//! The station's own decisions around the engine (supervision, automatic resume,
//! stall stop, the reject limit at a batch's tail, the PackML start walk, the
//! printer's suspect latch) are made in the pure [`super::policy`]; this module
//! observes, asks the policy, and acts.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use serialstation_devices::plc::register_map::{LineStatus, PackMlCommand};
use serialstation_devices::traits::DeviceEvent;
use tokio::sync::mpsc;

use crate::config::line::{PrinterKind, StationConfig};
use crate::gs1::Gtin;
use crate::line::{
    BatchId as EngineBatchId, BatchRecovery, BatchStart, BatchState, BatchStatus, Command, Device,
    Engine, Event, MessageId, OperatorCommand, PlcAlarms, Reconciliation,
};
use crate::store::line_records::{LineBatch, LineRecord};
use crate::store::{Actor, BatchId, Durability, NewBatch, Store};

use super::devices::{PRINT_JOB, StationDevices, connect};
use super::events::{self, Translated};
use super::latency::LatencyBook;
use super::policy::{
    DEVICES_TIMEOUT, Deadline, LOOK_INTERVAL, MAX_LOOKS, Observation, POLL_INTERVAL, PrinterWatch,
    ResumeStep, StartStep, SupervisionOptions, Supervisor, TailRejectLimit, Watch,
    alarm_reset_command, durability_before, resume_step, start_step, tick_ms,
};
use super::product::product_spec;
use super::records::{reconciliation_of, to_record};

/// At most this many items are reported at the camera from one poll.
const MAX_ARRIVALS_PER_POLL: u32 = 256;

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
    /// in-flight items if it still cannot finish). `None`: the operator decides.
    pub stall_timeout: Option<Duration>,
}

impl BatchRequest {
    fn supervision(&self) -> SupervisionOptions {
        SupervisionOptions {
            auto_resume: self.auto_resume,
            stall_timeout: self.stall_timeout,
        }
    }
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
    printer_watch: PrinterWatch,
    poll: tokio::time::Interval,
    supervision: Supervisor,
    /// The PLC's consecutive-reject limit around the stretches where nothing is printed.
    reject_limit: TailRejectLimit,
    /// Readout stamps and decision latencies not yet stored.
    latency: LatencyBook,
}

/// What wakes the station: a driver report or the PLC poll.
#[derive(Debug)]
pub enum Wake {
    Device(DeviceEvent),
    Poll,
}

impl Station {
    /// Starts the drivers for `config` (inside a tokio runtime).
    pub fn connect(config: StationConfig, store: Store) -> Station {
        let (devices, events) = connect(&config);
        Station::with_devices(config, store, devices, events)
    }

    /// A station on devices started elsewhere: `events` is the one channel all of
    /// them report on (link changes included; the engine counts every device offline
    /// until its link reports up). The real drivers come from [`Station::connect`];
    /// the whole-station simulation hands in-process simulated devices. Must be
    /// called inside a tokio runtime; the station's clock is the runtime's
    /// (virtual under a paused test clock).
    pub fn with_devices(
        config: StationConfig,
        store: Store,
        devices: StationDevices,
        events: mpsc::Receiver<DeviceEvent>,
    ) -> Station {
        let reject_limit = TailRejectLimit::new(config.plc.consecutive_reject_limit);
        let mut engine = Engine::new(config.engine_config());
        // Print reports for ids below this came from a previous run's buffer: they are
        // matched for recovery, not alarmed (ARCHITECTURE.md §6).
        match store.next_message_id() {
            Ok(next) => engine.set_first_message_id_of_run(MessageId(next)),
            Err(e) => tracing::warn!(
                "the last printer message id could not be read ({e}): print reports of the previous run will be alarmed"
            ),
        }
        Station {
            store,
            engine,
            devices,
            events,
            config,
            started: now(),
            line: None,
            actor: Actor::new("station"),
            followups: VecDeque::new(),
            camera_cursor: None,
            plc_alarms: PlcAlarms::default(),
            alarms: Vec::new(),
            notes: Vec::new(),
            printer_watch: PrinterWatch::default(),
            poll: new_poll(),
            supervision: Supervisor::new(SupervisionOptions::default(), now()),
            reject_limit,
            latency: LatencyBook::default(),
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Ids of print reports for the previous run's messages that came before any
    /// batch was taken over (start-up recovery counts them and settles their serials
    /// as printed).
    pub fn earlier_run_acks(&self) -> Vec<u64> {
        self.engine
            .earlier_run_acks()
            .into_iter()
            .map(|id| id.0)
            .collect()
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
    /// and close with the store's counts. `progress` is called after every wake-up.
    pub async fn run_batch(
        &mut self,
        request: &BatchRequest,
        mut progress: impl FnMut(&BatchStatus),
    ) -> Result<BatchOutcome, StationError> {
        self.wait_for_devices().await?;
        let batch = self.start_batch(request).await?;
        let outcome = self.run_until_stopped(&mut progress).await;
        if let Err(error) = &outcome {
            self.stop_line(&format!("station error: {error}")).await;
        }
        outcome?;
        self.close_batch(batch, None).await
    }

    async fn run_until_stopped(
        &mut self,
        progress: &mut impl FnMut(&BatchStatus),
    ) -> Result<(), StationError> {
        loop {
            let wake = self.wait().await?;
            self.handle(wake).await?;
            let status = self.batch_status().ok_or_else(|| {
                StationError::Refused("the batch disappeared from the engine".into())
            })?;
            progress(&status);
            if matches!(
                status.state,
                BatchState::Stopped | BatchState::ChallengeFailed
            ) {
                return Ok(());
            }
        }
    }

    /// Starts a batch: checks the product and the pool, records the batch, hands it
    /// to the engine (which checks the rest: devices online, expiry, lot, quantity).
    pub async fn start_batch(&mut self, request: &BatchRequest) -> Result<BatchId, StationError> {
        self.start_batch_with_challenge(request, 0).await
    }

    /// [`Station::start_batch`] with a challenge test: `challenge_items` known-bad
    /// items are fed first, and production starts only if every one is rejected and
    /// its reject confirmed.
    pub async fn start_batch_with_challenge(
        &mut self,
        request: &BatchRequest,
        challenge_items: u32,
    ) -> Result<BatchId, StationError> {
        if let Some(status) = self.engine.status() {
            return Err(StationError::Refused(format!(
                "batch {} is still {}: stop and close it (`serialstation batch stop`, then `batch close`) before starting another",
                status.batch,
                status.state.as_str()
            )));
        }
        let product = self
            .store
            .product(&request.gtin)?
            .ok_or_else(|| {
                StationError::Refused(format!(
                    "GTIN {} is not in the product master: load its client file with `serialstation config load`, or check the GTIN (`serialstation product list`)",
                    request.gtin
                ))
            })?;
        let spec = product_spec(&product).map_err(StationError::Refused)?;
        let pool_available = self.pool_available(&request.gtin)?;
        let offline = self.engine.offline_devices();
        if !offline.is_empty() {
            return Err(StationError::Devices(format!(
                "the {} is offline: check its power, cable and the address in the line configuration, then start the batch again",
                device_list(&offline)
            )));
        }
        // The engine checks everything about the batch before the store records it.
        let probe = BatchStart {
            batch: EngineBatchId(0),
            product: spec.clone(),
            lot: request.lot.clone(),
            expiry: request.expiry.clone(),
            quantity: request.quantity,
            pool_available,
            today: crate::gs1::date::today_utc(),
            first_message_id: MessageId(1),
            challenge_items,
        };
        crate::line::check_batch_start(&probe, &[])
            .map_err(|e| StationError::Refused(e.message))?;
        let batch = self.store.create_batch(
            &NewBatch {
                gtin: request.gtin.clone(),
                lot: request.lot.clone(),
                expiry: request.expiry.clone(),
                quantity: u64::from(request.quantity),
            },
            &request.actor,
        )?;
        self.actor = request.actor.clone();
        self.latency.clear();
        self.line = Some(LineBatch {
            batch,
            gtin: request.gtin.clone(),
            client_id: product.client_id.clone(),
            lot: request.lot.clone(),
            expiry: request.expiry.clone(),
        });
        self.ready_line().await?;
        let start = BatchStart {
            batch: EngineBatchId(batch.0 as u64),
            first_message_id: MessageId(self.store.next_message_id()?),
            ..probe
        };
        let out = self.hand_to_engine(OperatorCommand::Start(Box::new(start)))?;
        self.supervision = Supervisor::new(request.supervision(), now());
        self.alarms.clear();
        self.execute(out).await?;
        Ok(batch)
    }

    /// Takes over a batch that the store's start-up recovery has settled: the engine
    /// gets it back held (paused) until the operator resumes it.
    pub async fn take_over(
        &mut self,
        line: LineBatch,
        stopping: bool,
        actor: &Actor,
    ) -> Result<(), StationError> {
        let record = self.store.batch(line.batch)?.ok_or_else(|| {
            StationError::Refused(format!("there is no batch {} to take over", line.batch.0))
        })?;
        let product = self.store.product(&line.gtin)?.ok_or_else(|| {
            StationError::Refused(format!(
                "batch {} is for GTIN {}, which is no longer in the product master: load its client file again",
                line.batch.0, line.gtin
            ))
        })?;
        let spec = product_spec(&product).map_err(StationError::Refused)?;
        let stored = self.store.batch_serial_counts(line.batch)?;
        let pool_available = self.pool_available(&line.gtin)?;
        self.ready_line().await?;
        let recovery = BatchRecovery {
            start: BatchStart {
                batch: EngineBatchId(line.batch.0 as u64),
                product: spec,
                lot: line.lot.clone(),
                expiry: line.expiry.clone(),
                quantity: u32::try_from(record.quantity).unwrap_or(u32::MAX),
                pool_available,
                today: crate::gs1::date::today_utc(),
                first_message_id: MessageId(self.store.next_message_id()?),
                challenge_items: 0,
            },
            counts: reconciliation_of(&stored),
            stopping,
        };
        self.actor = actor.clone();
        self.latency.clear();
        self.line = Some(line.clone());
        let out = self.hand_to_engine(OperatorCommand::Recover(Box::new(recovery)))?;
        self.supervision = Supervisor::new(SupervisionOptions::default(), now());
        self.execute(out).await
    }

    /// Unallocated serials in the pool of `gtin`.
    fn pool_available(&self, gtin: &Gtin) -> Result<u64, StationError> {
        Ok(self.store.pool_unallocated(gtin)?)
    }

    /// Readies the line for a batch being started or taken over: the items already
    /// between the print head and the camera are blank, so the PLC's reject limit
    /// is raised until the first good item leaves (see [`TailRejectLimit`]); items
    /// the camera triggers on from now are the batch's.
    async fn ready_line(&mut self) -> Result<(), StationError> {
        let limit = self.reject_limit.at_start();
        if let Err(e) = self.devices.plc.set_consecutive_reject_limit(limit).await {
            self.note(format!(
                "could not set the PLC's consecutive-reject limit: {e}"
            ));
        }
        let status = self.read_plc().await?;
        self.camera_cursor = Some(status.camera_trigger_count);
        Ok(())
    }

    /// Hands a batch start or take-over to the engine; if the engine refuses it,
    /// the station lets go of the batch too.
    fn hand_to_engine(&mut self, command: OperatorCommand) -> Result<Vec<Command>, StationError> {
        let mut out = Vec::new();
        if let Err(e) = self.engine.handle(Event::Operator(command), &mut out) {
            self.line = None;
            self.camera_cursor = None;
            return Err(StationError::Refused(e.message));
        }
        Ok(out)
    }

    /// Pause, resume or stop the active batch for `actor`.
    pub async fn operator(
        &mut self,
        command: OperatorCommand,
        actor: &Actor,
    ) -> Result<(), StationError> {
        self.actor = actor.clone();
        if matches!(command, OperatorCommand::Resume) && self.plc_alarms.any() {
            // Latched PLC alarms are cleared by a reset once their cause is gone.
            self.reset_plc_alarms().await;
            self.poll_plc().await;
            self.drain_followups().await?;
        }
        let mut out = Vec::new();
        self.engine
            .handle(Event::Operator(command), &mut out)
            .map_err(|e| StationError::Refused(e.message))?;
        self.execute(out).await?;
        self.drain_followups().await
    }

    /// Waits for the next driver report or PLC poll (cancel-safe: nothing is lost if
    /// the future is dropped). When both are ready the poll goes first, always: the
    /// choice never depends on chance, so a simulated run replays exactly, and the
    /// poll (at most one per [`POLL_INTERVAL`]) cannot starve the reports.
    pub async fn wait(&mut self) -> Result<Wake, StationError> {
        tokio::select! {
            biased;
            _ = self.poll.tick() => Ok(Wake::Poll),
            event = self.events.recv() => Ok(Wake::Device(event.ok_or(StationError::DriversGone)?)),
        }
    }

    /// Handles what [`Station::wait`] returned, then the batch's supervision
    /// (holds counted, automatic resume and stall stop when the request asked for them).
    pub async fn handle(&mut self, wake: Wake) -> Result<(), StationError> {
        match wake {
            Wake::Device(event) => {
                self.on_device_event(event).await;
                // Take what is already waiting too: one group commit for all of it.
                while let Ok(event) = self.events.try_recv() {
                    self.on_device_event(event).await;
                }
            }
            Wake::Poll => {
                self.poll_plc().await;
                let now_ms = tick_ms(self.started, now());
                self.followups.push_back(Event::Tick { now_ms });
            }
        }
        self.drain_followups().await?;
        self.supervise().await
    }

    /// Observe → decide → act, once per wake-up: the PLC's reject limit follows
    /// the batch's tail; the supervisor counts holds, and for an unattended batch
    /// tries a resume and stops a stalled batch.
    async fn supervise(&mut self) -> Result<(), StationError> {
        let Some(status) = self.engine.status() else {
            return Ok(());
        };
        self.follow_tail(status.no_more_prints, status.stats.exited_good)
            .await;
        match self.supervision.observe(Observation::of(&status), now()) {
            Watch::Over => return Ok(()),
            Watch::Continue => {}
            Watch::TryResume => self.try_resume().await?,
        }
        if let Some(stop) = self.supervision.stall_check(now()) {
            self.note(stop.describe());
            self.command_by_itself(stop.command()).await?;
        }
        Ok(())
    }

    /// Raises the PLC's consecutive-reject limit while nothing is printed and sets
    /// it back once a good item leaves afterwards (see [`TailRejectLimit`]).
    async fn follow_tail(&mut self, no_prints: bool, good_exits: u64) {
        let Some(limit) = self.reject_limit.decide(no_prints, good_exits).limit() else {
            return;
        };
        match self.devices.plc.set_consecutive_reject_limit(limit).await {
            Ok(()) => self.reject_limit.applied(limit, good_exits),
            Err(e) => self.note(format!(
                "could not set the PLC's consecutive-reject limit to {limit}: {e}"
            )),
        }
    }

    /// Clears PLC alarms at the line and resumes, as an unattended operator would.
    async fn try_resume(&mut self) -> Result<(), StationError> {
        let devices_offline = !self.engine.offline_devices().is_empty();
        match resume_step(devices_offline, self.plc_alarms.any()) {
            ResumeStep::WaitForDevices => Ok(()),
            ResumeStep::ResetPlcAlarms => {
                self.reset_plc_alarms().await;
                Ok(())
            }
            ResumeStep::Resume => self.command_by_itself(OperatorCommand::Resume).await,
        }
    }

    /// Gives the engine a command the station decided by itself (no operator
    /// asked): a refusal is noted, not an error.
    async fn command_by_itself(&mut self, command: OperatorCommand) -> Result<(), StationError> {
        let mut out = Vec::new();
        match self.engine.handle(Event::Operator(command), &mut out) {
            Ok(()) => self.execute(out).await?,
            Err(e) => self.note(e.message),
        }
        self.drain_followups().await
    }

    /// Asks the PLC to reset its latched alarms (they clear once their cause is gone).
    async fn reset_plc_alarms(&mut self) {
        if let Ok(status) = self.devices.plc.read_status().await {
            let command = alarm_reset_command(status.state);
            if let Err(e) = self.devices.plc.command(command).await {
                self.note(format!("could not reset the PLC: {e}"));
            }
        }
    }

    /// Closes the stopped batch with the store's counts; a batch that does not balance
    /// needs `reason`, which is recorded.
    pub async fn close_batch(
        &mut self,
        batch: BatchId,
        reason: Option<String>,
    ) -> Result<BatchOutcome, StationError> {
        let status = self.engine.status().ok_or_else(|| {
            StationError::Refused(
                "no batch is active: `serialstation batch list` shows the batches".into(),
            )
        })?;
        if status.batch.0 != batch.0 as u64 {
            return Err(StationError::Refused(format!(
                "batch {} is not the active batch (the active batch is {})",
                batch.0, status.batch
            )));
        }
        let stored = self.store.batch_serial_counts(batch)?;
        let counts = reconciliation_of(&stored);
        let mut out = Vec::new();
        let close = OperatorCommand::Close {
            reason,
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
        self.camera_cursor = None;
        let outcome = BatchOutcome {
            batch,
            status,
            counts,
            alarms: self.alarms.clone(),
            holds: self.supervision.holds(),
            elapsed: self.supervision.elapsed(now()),
        };
        self.supervision = Supervisor::new(SupervisionOptions::default(), now());
        Ok(outcome)
    }

    /// The engine's snapshot of the active batch.
    pub fn batch_status(&self) -> Option<BatchStatus> {
        self.engine.status()
    }

    /// The active batch as the store knows it.
    pub fn active_batch(&self) -> Option<&LineBatch> {
        self.line.as_ref()
    }

    /// Whether the device's link is up, as the engine knows it.
    pub fn device_online(&self, device: Device) -> bool {
        self.engine.device_online(device)
    }

    /// The devices whose link is down, as the engine knows it.
    pub fn offline_devices(&self) -> Vec<Device> {
        self.engine.offline_devices()
    }

    /// The PLC's latched alarms, as last polled.
    pub fn plc_alarms(&self) -> PlcAlarms {
        self.plc_alarms
    }

    /// Alarms raised during the active (or last) batch, in order.
    pub fn alarms(&self) -> &[String] {
        &self.alarms
    }

    /// Holds of the active batch so far.
    pub fn holds(&self) -> u64 {
        self.supervision.holds()
    }

    /// The drivers (for start-up recovery, which talks to the printer and the PLC).
    pub fn devices(&self) -> &StationDevices {
        &self.devices
    }

    /// The store, for writes outside the engine (start-up recovery, decommissioning).
    pub fn store_mut(&mut self) -> &mut Store {
        &mut self.store
    }

    /// The store and the drivers together (start-up recovery uses both).
    pub fn store_and_devices(&mut self) -> (&mut Store, &StationDevices) {
        (&mut self.store, &self.devices)
    }

    /// Tells the engine that an operator took a commissioned serial of the active
    /// batch out as a sample (the store has already recorded it).
    pub fn note_sampled(&mut self, serial: &str) -> Result<(), StationError> {
        let mut out = Vec::new();
        self.engine
            .handle(
                Event::Operator(OperatorCommand::Sampled {
                    serial: serial.to_string(),
                }),
                &mut out,
            )
            .map_err(|e| StationError::Refused(e.message))?;
        Ok(())
    }

    /// Waits until every device is online (batch start needs them).
    pub async fn wait_for_devices(&mut self) -> Result<(), StationError> {
        let deadline = Deadline::after(now(), DEVICES_TIMEOUT);
        loop {
            let offline = self.engine.offline_devices();
            if offline.is_empty() {
                break;
            }
            let Some(left) = deadline.left(now()) else {
                return Err(StationError::Devices(format!(
                    "the {} did not come online within {:?}: check the addresses in the line configuration and that the devices are powered",
                    device_list(&offline),
                    deadline.wait()
                )));
            };
            match tokio::time::timeout(left, self.events.recv()).await {
                Ok(Some(event)) => {
                    self.on_device_event(event).await;
                    self.drain_followups().await?;
                }
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

    /// Takes in one driver report: device set-up on link up, and the engine event it
    /// means queued (for [`Station::drain_followups`]).
    async fn on_device_event(&mut self, event: DeviceEvent) {
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
    async fn poll_plc(&mut self) {
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
    async fn drain_followups(&mut self) -> Result<(), StationError> {
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
    async fn execute(&mut self, commands: Vec<Command>) -> Result<(), StationError> {
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

    fn note(&mut self, text: String) {
        tracing::info!("{text}");
        self.notes.push(text);
    }
}

/// The station's clock: the tokio runtime's, so that under a paused test clock
/// (the whole-station simulation) the station lives on virtual time; on a normal
/// runtime it is the real monotonic clock.
fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

fn new_poll() -> tokio::time::Interval {
    let mut poll = tokio::time::interval(POLL_INTERVAL);
    poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    poll
}

/// Runs a blocking store call so that the drivers' tasks keep running on the other
/// workers meanwhile (on a multi-thread runtime; elsewhere it just runs it). The
/// station loop itself waits for it: persistence comes before action.
fn off_the_runtime<T>(call: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(call)
        }
        _ => call(),
    }
}

/// `printer, camera` for messages.
pub fn device_list(devices: &[Device]) -> String {
    devices
        .iter()
        .map(|d| d.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
