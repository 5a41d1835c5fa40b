//! The running simulator: shared state and scan cycle ([`core`]), the connection
//! plumbing shared by the device servers ([`net`]), and [`Simulator::start`], which
//! binds every device on loopback and runs the line in real time.

pub mod core;
pub mod net;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;

use crate::camera::{dmcc_server::DmccConnection, image_server::ImageConnection, worker};
use crate::config::{CameraKind, PrinterKind, SimConfig};
use crate::control::Control;
use crate::ground_truth::{GroundTruth, GroundTruthError, GroundTruthWriter};
use crate::imaging::{CameraJob, Shot};
use crate::printer::{tij_server::TijConnection, zpl_server::ZplConnection};
use core::{LineCore, SharedCore, TickOutput, lock};
use net::{CAMERA_FAULTS, PRINTER_FAULTS, accept_loop};

/// Why the simulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("invalid configuration: [{section}] {field}: {message}")]
    Config {
        section: &'static str,
        field: &'static str,
        message: String,
    },
    #[error(
        "cannot listen on {address} for the {device}: {source}; pick another port (0 = any free port)"
    )]
    Bind {
        device: &'static str,
        address: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    GroundTruth(#[from] GroundTruthError),
    #[error("cannot start the camera worker thread: {0}")]
    Thread(std::io::Error),
}

/// Where each device listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Addresses {
    pub printer_kind: PrinterKind,
    pub printer: SocketAddr,
    pub camera_kind: CameraKind,
    pub camera: SocketAddr,
    pub plc: SocketAddr,
    pub plc_unit_id: u8,
    pub control: SocketAddr,
    pub ground_truth: PathBuf,
}

impl Addresses {
    /// One machine-readable line per device, e.g. `printer tij 127.0.0.1:40123`.
    pub fn lines(&self, images: bool) -> Vec<String> {
        let printer = match self.printer_kind {
            PrinterKind::Tij => "tij",
            PrinterKind::Zpl => "zpl",
        };
        let camera = match self.camera_kind {
            CameraKind::Smart => "smart",
            CameraKind::Image => "image",
        };
        vec![
            format!("printer {printer} {}", self.printer),
            format!("camera {camera} {}", self.camera),
            format!("plc modbus {} unit {}", self.plc, self.plc_unit_id),
            format!("control ndjson {}", self.control),
            format!("ground_truth sqlite {}", self.ground_truth.display()),
            format!(
                "imaging {}",
                if images {
                    "image"
                } else {
                    "none (throughput mode: no images are rendered or decoded)"
                }
            ),
        ]
    }
}

/// The simulator entry point.
pub struct Simulator;

/// A running simulated line.
pub struct RunningSimulator {
    addresses: Addresses,
    images: bool,
    core: SharedCore,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    jobs: Option<mpsc::Sender<CameraJob>>,
    worker: Option<std::thread::JoinHandle<()>>,
    writer: GroundTruthWriter,
}

async fn bind(device: &'static str, address: &str) -> Result<TcpListener, StartError> {
    TcpListener::bind(address)
        .await
        .map_err(|source| StartError::Bind {
            device,
            address: address.into(),
            source,
        })
}

fn local(
    listener: &TcpListener,
    device: &'static str,
    address: &str,
) -> Result<SocketAddr, StartError> {
    listener.local_addr().map_err(|source| StartError::Bind {
        device,
        address: address.into(),
        source,
    })
}

/// Capacity of the notification channels (PRC ids, camera results) per connection.
const PUSH_CAPACITY: usize = 65_536;

impl Simulator {
    /// Validates `config`, binds every device and starts the line. Must be called
    /// inside a tokio runtime.
    pub async fn start(config: SimConfig) -> Result<RunningSimulator, StartError> {
        config
            .validate()
            .map_err(|(section, field, message)| StartError::Config {
                section,
                field,
                message,
            })?;
        let config_text = toml::to_string(&config).unwrap_or_default();
        let writer = GroundTruthWriter::create(
            &config.simulator.ground_truth,
            &[
                ("seed", config.simulator.seed.to_string()),
                (
                    "imaging",
                    if config.simulator.images {
                        "image".into()
                    } else {
                        "none".into()
                    },
                ),
                ("config", config_text),
            ],
        )?;
        let core: SharedCore = Arc::new(Mutex::new(LineCore::new(&config, Some(writer.clone()))));

        let printer_listener = bind("printer", &config.printer.address).await?;
        let camera_listener = bind("camera", &config.camera.address).await?;
        let plc_listener = bind("plc", &config.plc.address).await?;
        let control_listener = bind("control endpoint", &config.simulator.control).await?;
        let addresses = Addresses {
            printer_kind: config.printer.kind,
            printer: local(&printer_listener, "printer", &config.printer.address)?,
            camera_kind: config.camera.kind,
            camera: local(&camera_listener, "camera", &config.camera.address)?,
            plc: local(&plc_listener, "plc", &config.plc.address)?,
            plc_unit_id: config.plc.unit_id,
            control: local(
                &control_listener,
                "control endpoint",
                &config.simulator.control,
            )?,
            ground_truth: config.simulator.ground_truth.clone(),
        };

        let (shutdown, shutdown_rx) = watch::channel(false);
        let (prc_tx, _) = broadcast::channel::<u32>(PUSH_CAPACITY);
        let (shot_tx, _) = broadcast::channel::<Arc<Shot>>(PUSH_CAPACITY);
        let (job_tx, job_rx) = mpsc::channel::<CameraJob>();
        let (delivery_tx, mut delivery_rx) = tokio::sync::mpsc::unbounded_channel::<Shot>();
        let worker = worker::spawn(
            core.clone(),
            job_rx,
            delivery_tx,
            config.simulator.images,
            config.printer.module_px,
        )
        .map_err(StartError::Thread)?;

        let sink: Arc<dyn Fn(TickOutput) + Send + Sync> = {
            let prc_tx = prc_tx.clone();
            let job_tx = Mutex::new(job_tx.clone());
            Arc::new(move |out: TickOutput| {
                for id in out.printed_ids {
                    let _ = prc_tx.send(id);
                }
                let jobs = job_tx.lock().unwrap_or_else(|p| p.into_inner());
                for job in out.camera_jobs {
                    let _ = jobs.send(job);
                }
            })
        };

        let mut tasks = Vec::new();
        // The scan cycle, in real time.
        {
            let core = core.clone();
            let sink = sink.clone();
            let tick = Duration::from_millis(config.simulator.tick_ms);
            let mut stop = shutdown_rx.clone();
            tasks.push(tokio::spawn(async move {
                let mut interval = tokio::time::interval(tick);
                interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                let mut last = tokio::time::Instant::now();
                loop {
                    tokio::select! {
                        _ = interval.tick() => {}
                        _ = net::wait_true(&mut stop) => return,
                    }
                    let now = tokio::time::Instant::now();
                    let dt = now - last;
                    last = now;
                    let out = lock(&core).tick(dt);
                    sink(out);
                }
            }));
        }
        // Camera results go out after their latency.
        {
            let shot_tx = shot_tx.clone();
            tasks.push(tokio::spawn(async move {
                while let Some(shot) = delivery_rx.recv().await {
                    let shot = Arc::new(shot);
                    if shot.delay_ms == 0 {
                        let _ = shot_tx.send(shot);
                    } else {
                        let shot_tx = shot_tx.clone();
                        tokio::spawn(async move {
                            tokio::time::sleep(Duration::from_millis(shot.delay_ms)).await;
                            let _ = shot_tx.send(shot);
                        });
                    }
                }
            }));
        }
        // Devices.
        let printer_task = match config.printer.kind {
            PrinterKind::Tij => tokio::spawn(accept_loop(
                printer_listener,
                core.clone(),
                PRINTER_FAULTS,
                prc_tx.clone(),
                shutdown_rx.clone(),
                || async { TijConnection },
            )),
            PrinterKind::Zpl => tokio::spawn(accept_loop(
                printer_listener,
                core.clone(),
                PRINTER_FAULTS,
                prc_tx.clone(),
                shutdown_rx.clone(),
                || async { ZplConnection },
            )),
        };
        tasks.push(printer_task);
        let camera_task = match config.camera.kind {
            CameraKind::Smart => tokio::spawn(accept_loop(
                camera_listener,
                core.clone(),
                CAMERA_FAULTS,
                shot_tx.clone(),
                shutdown_rx.clone(),
                || async { DmccConnection },
            )),
            CameraKind::Image => tokio::spawn(accept_loop(
                camera_listener,
                core.clone(),
                CAMERA_FAULTS,
                shot_tx.clone(),
                shutdown_rx.clone(),
                || async { ImageConnection },
            )),
        };
        tasks.push(camera_task);
        tasks.push(tokio::spawn(crate::plc::server::serve(
            plc_listener,
            core.clone(),
            config.plc.unit_id,
            sink.clone(),
            shutdown_rx.clone(),
        )));
        tasks.push(tokio::spawn(crate::control::serve(
            control_listener,
            Control::new(core.clone()),
            shutdown_rx.clone(),
        )));

        lock(&core).note(
            "run",
            format!(
                "started: {}",
                addresses.lines(config.simulator.images).join("; ")
            ),
        );
        Ok(RunningSimulator {
            addresses,
            images: config.simulator.images,
            core,
            shutdown,
            tasks,
            jobs: Some(job_tx),
            worker: Some(worker),
            writer,
        })
    }
}

impl RunningSimulator {
    pub fn addresses(&self) -> &Addresses {
        &self.addresses
    }

    /// The machine-readable address lines the binary prints.
    pub fn address_lines(&self) -> Vec<String> {
        self.addresses.lines(self.images)
    }

    /// The fault and line control handle (same commands as the control endpoint).
    pub fn control(&self) -> Control {
        Control::new(self.core.clone())
    }

    /// Commits what is logged so far and opens the ground truth for reading. Items
    /// still on the line are not in it until [`RunningSimulator::shutdown`].
    pub fn ground_truth(&self) -> Result<GroundTruth, GroundTruthError> {
        self.writer.flush()?;
        GroundTruth::open(&self.addresses.ground_truth)
    }

    /// Stops every device, logs the items still on the line, and commits the
    /// ground truth. Returns its path.
    pub async fn shutdown(mut self) -> Result<PathBuf, GroundTruthError> {
        let _ = self.shutdown.send(true);
        for task in self.tasks.drain(..) {
            task.abort();
            let _ = task.await;
        }
        self.jobs.take();
        if let Some(worker) = self.worker.take() {
            let _ = tokio::task::spawn_blocking(move || worker.join()).await;
        }
        lock(&self.core).finish();
        let writer = self.writer.clone();
        tokio::task::spawn_blocking(move || writer.flush())
            .await
            .map_err(|_| GroundTruthError::WriterGone)??;
        Ok(self.addresses.ground_truth.clone())
    }
}
