//! The simulated line in-process, on virtual time: the shared line state of the
//! socket simulator ([`LineCore`]: line model, printer model, ground-truth recorder)
//! behind the devices crate's `Printer`, `Camera` and `LineIo` traits, with no
//! sockets and no threads, for the whole-station simulation
//! (`tests/station_simulation.rs`; ARCHITECTURE.md, "Crash safety and recovery").
//!
//! Each device request does what the socket servers do with the same request
//! (`printer/tij_server.rs`, `camera/dmcc_server.rs`, `plc/registers.rs`), minus the
//! wire, and draws the same connection faults (`runtime/net.rs`, `plc/server.rs`): a
//! disconnect drops the link until the driver reconnects, a slow reply holds back
//! what follows it, garbage shows as a protocol error. [`InProcessLine::pump`]
//! advances the line on the tokio clock (virtual under a paused test clock) and does
//! what the station's drivers do in the background: print completes and camera
//! results go out as events (the camera is a smart camera that renders no image, see
//! [`smart_camera_shot`]), and the PLC is polled for line-state changes and fates.
//!
//! The line outlives the station: a station that crashes loses its connection (what
//! it had not read is gone), the line keeps moving, and [`InProcessLine::connect`]
//! gives the restarted station fresh devices. Every device request first counts one
//! action on the shared [`CrashPoint`], so the simulation can crash the station
//! between any two of them.
//!
//! The in-process line serves a TIJ printer and a smart camera, without images.

mod camera;
mod crash;
mod host;
mod plc;
mod printer;

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serialstation_devices::traits::{
    Camera, DeviceError, DeviceEvent, DeviceEventKind, LineIo, Printer,
};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::config::{CameraKind, PrinterKind, SimConfig};
use crate::control::{Control, ControlRequest};
use crate::ground_truth::GroundTruthWriter;
use crate::runtime::core::{LineCore, SharedCore, TickOutput, lock};
use crate::runtime::net::{CAMERA_FAULTS, ConnectionFaults, PRINTER_FAULTS, draw_reply_fault};

pub use camera::{NO_READ_SEVERITY, defect_grade_tenths, smart_camera_shot};
pub use crash::{CrashPoint, SimulatedCrash};

use camera::InProcessCamera;
use host::{Dev, Host};
use plc::InProcessPlc;
use printer::InProcessPrinter;

/// Room for device events in the station's channel (as the real drivers have);
/// what does not fit waits in order, the line never waits for the station.
const EVENT_CAPACITY: usize = 4096;

/// The names the station gives its devices (events carry them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceNames {
    pub printer: String,
    pub camera: String,
    pub plc: String,
}

/// How the in-process line runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InProcessOptions {
    /// One scan cycle of the line model.
    pub tick: Duration,
    /// How often the PLC driver polls the status block and new fates (the station's
    /// real driver polls every 20 ms).
    pub plc_poll: Duration,
    /// How long a dropped link stays down before the driver is connected again.
    pub reconnect_after: Duration,
    /// An attendant at the line empties a full reject bin, clears a jam and closes
    /// the bin door this long after it happened (`None`: nobody does).
    pub attendant_after: Option<Duration>,
}

impl Default for InProcessOptions {
    fn default() -> Self {
        InProcessOptions {
            tick: Duration::from_millis(5),
            plc_poll: Duration::from_millis(20),
            reconnect_after: Duration::from_millis(100),
            attendant_after: Some(Duration::from_secs(2)),
        }
    }
}

/// Why the in-process line cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum InProcessError {
    #[error("invalid configuration: [{section}] {field}: {message}")]
    Config {
        section: &'static str,
        field: &'static str,
        message: String,
    },
    #[error("the in-process line cannot serve this configuration: {0}")]
    Unsupported(String),
}

/// The station's three devices on the in-process line, and the channel they report on.
pub struct InProcessDevices {
    pub printer: Box<dyn Printer>,
    pub camera: Box<dyn Camera>,
    pub plc: Box<dyn LineIo>,
    pub events: mpsc::Receiver<DeviceEvent>,
}

/// What the line and every device handle share.
pub(crate) struct Shared {
    core: SharedCore,
    host: Mutex<Host>,
    crash: CrashPoint,
    names: DeviceNames,
    options: InProcessOptions,
    /// Zero of the line's nanosecond clock (decision latencies in the ground truth).
    epoch: Instant,
}

/// A simulated line in-process (cheap to clone; clones share the line).
#[derive(Clone)]
pub struct InProcessLine {
    shared: Arc<Shared>,
}

impl InProcessLine {
    /// Builds the line of `config` (TIJ printer, smart camera, no images); its rows go
    /// to `ground_truth`. Must be called inside a tokio runtime: the runtime's clock is
    /// the line's.
    pub fn new(
        config: &SimConfig,
        ground_truth: Option<GroundTruthWriter>,
        crash: CrashPoint,
        names: DeviceNames,
        options: InProcessOptions,
    ) -> Result<InProcessLine, InProcessError> {
        config
            .validate()
            .map_err(|(section, field, message)| InProcessError::Config {
                section,
                field,
                message,
            })?;
        if config.printer.kind != PrinterKind::Tij {
            return Err(InProcessError::Unsupported(
                "only a TIJ printer is simulated in-process: set [printer] kind = \"tij\"".into(),
            ));
        }
        if config.camera.kind != CameraKind::Smart {
            return Err(InProcessError::Unsupported(
                "only a smart camera is simulated in-process: set [camera] kind = \"smart\"".into(),
            ));
        }
        if config.simulator.images {
            return Err(InProcessError::Unsupported(
                "the in-process camera renders no images: set [simulator] images = false".into(),
            ));
        }
        let core: SharedCore = Arc::new(Mutex::new(LineCore::new(config, ground_truth)));
        lock(&core).note(
            "run",
            format!(
                "started in-process on the runtime's clock, seed {}",
                config.simulator.seed
            ),
        );
        Ok(InProcessLine {
            shared: Arc::new(Shared {
                core,
                host: Mutex::new(Host::new(names.clone())),
                crash,
                names,
                options,
                epoch: Instant::now(),
            }),
        })
    }

    /// The line's shared state (model, printer, ground-truth recorder).
    pub fn core(&self) -> SharedCore {
        self.shared.core.clone()
    }

    /// Faults and line conditions, as on the control endpoint.
    pub fn control(&self) -> Control {
        Control::new(self.shared.core.clone())
    }

    /// The crash point every device request counts on.
    pub fn crash_point(&self) -> &CrashPoint {
        &self.shared.crash
    }

    /// A station (re)starts: fresh drivers on a fresh channel. The last station's
    /// connection is gone with whatever it had not read; every link reports up.
    pub fn connect(&self) -> InProcessDevices {
        let (tx, rx) = mpsc::channel(EVENT_CAPACITY);
        self.shared.host().connect(tx, Instant::now());
        InProcessDevices {
            printer: Box::new(InProcessPrinter::new(self.shared.clone())),
            camera: Box::new(InProcessCamera::new(self.shared.clone())),
            plc: Box::new(InProcessPlc::new(self.shared.clone())),
            events: rx,
        }
    }

    /// Runs the line for ever: one scan cycle per [`InProcessOptions::tick`] of the
    /// runtime's clock, then what the devices and drivers do with it. Spawn it on the
    /// runtime the station runs on; it never panics and never waits for the station.
    pub async fn pump(self) {
        let shared = self.shared;
        let mut last = Instant::now();
        let mut attendant = Attendant::default();
        loop {
            tokio::time::sleep(shared.options.tick).await;
            let now = Instant::now();
            let dt = now.saturating_duration_since(last);
            last = now;
            shared.step(now, dt, &mut attendant);
        }
    }

    /// Writes every item still on the line to the ground truth (the run ends).
    pub fn finish(&self) {
        lock(&self.shared.core).finish();
    }
}

impl Shared {
    fn host(&self) -> MutexGuard<'_, Host> {
        self.host
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn name(&self, dev: Dev) -> &str {
        match dev {
            Dev::Printer => &self.names.printer,
            Dev::Camera => &self.names.camera,
            Dev::Plc => &self.names.plc,
        }
    }

    /// Nanoseconds on the line's clock.
    fn now_ns(&self) -> u64 {
        u64::try_from(
            Instant::now()
                .saturating_duration_since(self.epoch)
                .as_nanos(),
        )
        .unwrap_or(u64::MAX)
    }

    fn not_connected(&self, dev: Dev, reason: String) -> DeviceError {
        DeviceError::NotConnected {
            device: self.name(dev).to_string(),
            reason,
        }
    }

    /// Before a request: the device's link must be up.
    fn ready(&self, dev: Dev, what: &str) -> Result<(), DeviceError> {
        if self.host().is_down(dev) {
            return Err(self.not_connected(
                dev,
                format!("the connection dropped (simulated), {what} was not sent"),
            ));
        }
        Ok(())
    }

    /// After the device handled a request: the connection faults of its reply.
    async fn reply_faults(
        &self,
        dev: Dev,
        kinds: ConnectionFaults,
        what: &str,
    ) -> Result<(), DeviceError> {
        let fault = draw_reply_fault(&self.core, kinds);
        self.reply_lost_or_late(dev, fault.disconnect, fault.delay_ms, what)
            .await?;
        if fault.garbage {
            self.host().emit(
                dev,
                DeviceEventKind::ProtocolError(format!(
                    "garbage before the reply to {what} dropped (simulated)"
                )),
            );
        }
        Ok(())
    }

    /// A reply lost with its connection (the request was carried out), or held back.
    async fn reply_lost_or_late(
        &self,
        dev: Dev,
        lost: bool,
        delay_ms: u64,
        what: &str,
    ) -> Result<(), DeviceError> {
        let now = Instant::now();
        if lost {
            self.host().drop_link(
                dev,
                &format!("the connection dropped during {what} (simulated)"),
                now,
                self.options.reconnect_after,
            );
            return Err(self.not_connected(
                dev,
                format!("the connection dropped before the reply to {what} (simulated)"),
            ));
        }
        if delay_ms > 0 {
            let delay = Duration::from_millis(delay_ms);
            self.host().stall(dev, now + delay);
            tokio::time::sleep(delay).await;
        }
        self.deliver_ahead_of_reply(dev).await;
        Ok(())
    }

    /// One connection keeps its order: what the device pushed before a reply (print
    /// completes, camera results) reaches the station before the reply does, after any
    /// slow reply still holding the connection.
    async fn deliver_ahead_of_reply(&self, dev: Dev) {
        loop {
            let busy = self.host().busy_until(dev);
            match busy {
                Some(until) if until > Instant::now() => tokio::time::sleep_until(until).await,
                _ => break,
            }
        }
        let sent = self.host().advance(Instant::now());
        self.camera_results_sent(sent);
    }

    /// The camera results just handed to the station, for the ground truth's
    /// decision latencies.
    fn camera_results_sent(&self, seqs: Vec<u32>) {
        if seqs.is_empty() {
            return;
        }
        let at_ns = self.now_ns();
        let mut core = lock(&self.core);
        for seq in seqs {
            core.camera_result_sent(seq, at_ns);
        }
    }

    /// A pushed notification (print complete, camera result) on the device's
    /// connection, with the connection faults drawn for it, as the socket servers do.
    fn push_with_faults(
        &self,
        dev: Dev,
        kinds: ConnectionFaults,
        now: Instant,
        kind: DeviceEventKind,
    ) {
        if !self.host().can_push(dev) {
            // Nobody to send it to: no station, or its link is down.
            return;
        }
        let fault = draw_reply_fault(&self.core, kinds);
        let mut host = self.host();
        if fault.disconnect {
            host.drop_link(
                dev,
                "the connection dropped (simulated)",
                now,
                self.options.reconnect_after,
            );
            return;
        }
        if fault.delay_ms > 0 {
            host.stall(dev, now + Duration::from_millis(fault.delay_ms));
        }
        if fault.garbage {
            host.push(
                dev,
                now,
                DeviceEventKind::ProtocolError(
                    "garbage before a notification dropped (simulated)".into(),
                ),
            );
        }
        host.push(dev, now, kind);
    }

    /// What a scan cycle or a PLC write produced: print completes go out, camera jobs
    /// are read and graded (recorded in the ground truth) and wait out their latency.
    fn absorb(&self, out: TickOutput, now: Instant) {
        for message_id in out.printed_ids {
            self.push_with_faults(
                Dev::Printer,
                PRINTER_FAULTS,
                now,
                DeviceEventKind::PrintComplete { message_id },
            );
        }
        for job in out.camera_jobs {
            let shot = smart_camera_shot(&job);
            lock(&self.core).record_camera(
                shot.item_no,
                crate::camera::worker::report_of(&shot),
                shot.print_grade.map(|g| g.to_string()),
            );
            let due = now + Duration::from_millis(shot.delay_ms);
            self.host().schedule_camera(due, shot.readout);
        }
    }

    /// One step of the pump at `now`, `dt` after the last.
    fn step(&self, now: Instant, dt: Duration, attendant: &mut Attendant) {
        if let Some(after) = self.options.attendant_after {
            attendant.look(&self.core, now, after);
        }
        let out = lock(&self.core).tick(dt);
        self.absorb(out, now);
        let due = self.host().take_due_camera(now);
        for readout in due {
            self.push_with_faults(
                Dev::Camera,
                CAMERA_FAULTS,
                now,
                DeviceEventKind::CameraResult(readout),
            );
        }
        let sent = self.host().advance(now);
        self.camera_results_sent(sent);
        plc::poll(self, now);
    }
}

/// The person at the line: fixes what only hands can fix (a full reject bin, a jam,
/// an open bin door) a while after it happened. The station then clears the PLC's
/// latched alarms itself.
#[derive(Debug, Default)]
struct Attendant {
    /// When each condition was first seen: bin full, jam, door open.
    seen: [Option<Instant>; 3],
}

impl Attendant {
    fn look(&mut self, core: &SharedCore, now: Instant, after: Duration) {
        let inputs = {
            let core = lock(core);
            let plc = &core.model.plc;
            [plc.bin_full_input, plc.jam_input, plc.bin_door_open_input]
        };
        for (i, on) in inputs.into_iter().enumerate() {
            if !on {
                self.seen[i] = None;
                continue;
            }
            let since = *self.seen[i].get_or_insert(now);
            if now.saturating_duration_since(since) < after {
                continue;
            }
            let fix = match i {
                0 => ControlRequest::EmptyBin,
                1 => ControlRequest::ClearJam,
                _ => ControlRequest::BinDoor { open: false },
            };
            Control::new(core.clone()).apply(fix);
            self.seen[i] = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serialstation_devices::plc::register_map::{PackMlCommand, PackMlState};
    use serialstation_devices::traits::LinkState;

    fn names() -> DeviceNames {
        DeviceNames {
            printer: "printer".into(),
            camera: "camera".into(),
            plc: "plc".into(),
        }
    }

    fn config() -> SimConfig {
        let mut config = SimConfig::default_line();
        config.simulator.images = false;
        config
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap()
    }

    #[test]
    fn only_what_it_simulates_is_accepted() {
        runtime().block_on(async {
            let mut images = config();
            images.simulator.images = true;
            assert!(matches!(
                InProcessLine::new(
                    &images,
                    None,
                    CrashPoint::new(),
                    names(),
                    Default::default()
                ),
                Err(InProcessError::Unsupported(_))
            ));
            let mut zpl = config();
            zpl.printer.kind = PrinterKind::Zpl;
            assert!(
                InProcessLine::new(&zpl, None, CrashPoint::new(), names(), Default::default())
                    .is_err()
            );
        });
    }

    #[test]
    fn devices_do_what_the_socket_servers_do_and_every_request_counts() {
        runtime().block_on(async {
            let crash = CrashPoint::new();
            let line =
                InProcessLine::new(&config(), None, crash.clone(), names(), Default::default())
                    .unwrap();
            let mut devices = line.connect();
            let mut ups = Vec::new();
            while let Ok(event) = devices.events.try_recv() {
                assert_eq!(event.kind, DeviceEventKind::Link(LinkState::Up));
                ups.push(event.device);
            }
            assert_eq!(ups, ["printer", "camera", "plc"]);

            devices.printer.select_job("GS1-DM").await.unwrap();
            devices
                .printer
                .queue_message(7, b"0109506000134352")
                .await
                .unwrap();
            devices
                .printer
                .queue_message(8, b"0109506000134352")
                .await
                .unwrap();
            assert_eq!(devices.printer.buffer_level().await.unwrap(), 2);
            assert_eq!(devices.printer.clear_buffer().await.unwrap(), [7, 8]);
            assert!(
                devices.printer.set_running(true).await.is_ok(),
                "a job is selected"
            );

            let status = devices.plc.read_status().await.unwrap();
            assert_eq!(status.state, PackMlState::Idle);
            devices.plc.command(PackMlCommand::Start).await.unwrap();
            assert_eq!(
                devices.plc.read_status().await.unwrap().state,
                PackMlState::Execute
            );
            assert!(devices.plc.set_consecutive_reject_limit(0).await.is_err());
            devices.plc.write_verdict(3, true).await.unwrap();
            assert!(devices.plc.read_fates(0, 300).await.is_err());
            assert!(devices.plc.read_fates(0, 10).await.unwrap().is_empty());
            devices.camera.set_armed(true).await.unwrap();
            assert_eq!(crash.actions(), 14);
        });
    }
}
