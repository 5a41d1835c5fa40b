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
//!
//! Here: the [`Station`] itself, its wake-ups ([`Station::wait`], [`Station::handle`])
//! and what it shows; [`batch`] starts, takes over, supervises and closes batches;
//! [`io`] carries the engine's events and commands to and from the devices and the
//! store.

mod batch;
mod io;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use serialstation_devices::traits::DeviceEvent;
use tokio::sync::mpsc;

use crate::config::line::StationConfig;
use crate::gs1::Gtin;
use crate::line::{
    BatchState, BatchStatus, Device, Engine, Event, MessageId, OperatorCommand, PlcAlarms,
    Reconciliation,
};
use crate::store::line_records::LineBatch;
use crate::store::{Actor, BatchId, Store};

use super::devices::{StationDevices, connect};
use super::latency::LatencyBook;
use super::policy::{
    DEVICES_TIMEOUT, Deadline, PrinterWatch, SupervisionOptions, Supervisor, TailRejectLimit,
    poll_interval, tick_ms,
};

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
        let poll = new_poll(poll_interval(config.line.rate_per_min));
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
            poll,
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

    /// Waits for the next driver report or PLC poll (cancel-safe: nothing is lost if
    /// the future is dropped). When both are ready the poll goes first, always: the
    /// choice never depends on chance, so a simulated run replays exactly, and the
    /// poll (at most one per [`poll_interval`]) cannot starve the reports.
    pub async fn wait(&mut self) -> Result<Wake, StationError> {
        tokio::select! {
            biased;
            _ = self.poll.tick() => Ok(Wake::Poll),
            event = self.events.recv() => Ok(Wake::Device(event.ok_or(StationError::DriversGone)?)),
        }
    }

    /// Makes the next poll come at once (then every poll interval again).
    pub fn poll_at_once(&mut self) {
        self.poll.reset_immediately();
    }

    /// Handles what [`Station::wait`] returned, then the batch's supervision
    /// (holds counted, automatic resume and stall stop when the request asked for them).
    pub async fn handle(&mut self, wake: Wake) -> Result<(), StationError> {
        match wake {
            Wake::Device(event) => {
                // The engine judges a result's lateness by its clock: bring it to now.
                self.followups.push_back(Event::Tick {
                    now_ms: tick_ms(self.started, now()),
                });
                self.on_device_event(event).await;
                // Take what is already waiting too: one group commit for all of it.
                while let Ok(event) = self.events.try_recv() {
                    self.on_device_event(event).await;
                }
            }
            Wake::Poll => {
                // The tick first: items the poll reports at the camera are timed
                // from now, not from the previous poll.
                let now_ms = tick_ms(self.started, now());
                self.followups.push_back(Event::Tick { now_ms });
                self.poll_plc().await;
            }
        }
        self.drain_followups().await?;
        self.supervise().await
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
}

/// The station's clock: the tokio runtime's, so that under a paused test clock
/// (the whole-station simulation) the station lives on virtual time; on a normal
/// runtime it is the real monotonic clock.
fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

fn new_poll(every: std::time::Duration) -> tokio::time::Interval {
    let mut poll = tokio::time::interval(every);
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
