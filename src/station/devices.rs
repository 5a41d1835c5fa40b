//! Connects the station's drivers (printer, camera, PLC) from the line configuration.
//! The runtime sets each device up when its link comes up (job selected and printing
//! on, camera armed), whichever implementation of the device traits it was given.

use std::time::Duration;

use serialstation_devices::dmcc::DmccCamera;
use serialstation_devices::image_camera::ImageCamera;
use serialstation_devices::link::LinkConfig;
use serialstation_devices::plc::{ModbusPlc, PlcConfig};
use serialstation_devices::tij::TijPrinter;
use serialstation_devices::traits::{Camera, DeviceEvent, LineIo, Printer};
use serialstation_devices::zpl::{LabelLayout, ZplPrinter};
use tokio::sync::mpsc;

use crate::config::line::{CameraKind, PrinterKind, StationConfig};

use super::events::{CAMERA_NAME, PLC_NAME, PRINTER_NAME};
use super::policy::poll_interval;

/// The printer job whose variable field takes the serialized data.
pub const PRINT_JOB: &str = "GS1-DM";

/// Room for device events; drivers wait when it is full (never lossy).
const EVENT_CAPACITY: usize = 4096;

/// The station's three devices: the real drivers ([`connect`]), or any other
/// implementation of the device traits handed to `Station::with_devices` (the
/// simulator's in-process devices in the whole-station simulation). Their events
/// must carry the names in `super::events` ([`PRINTER_NAME`], [`CAMERA_NAME`],
/// [`PLC_NAME`]).
pub struct StationDevices {
    pub printer: Box<dyn Printer>,
    pub camera: Box<dyn Camera>,
    pub plc: Box<dyn LineIo>,
}

/// Starts every driver (each reconnects by itself) and returns them with the one
/// channel all of them report on. Must run inside a tokio runtime.
pub fn connect(config: &StationConfig) -> (StationDevices, mpsc::Receiver<DeviceEvent>) {
    let (tx, rx) = mpsc::channel(EVENT_CAPACITY);
    let link = |name: &str, address: &str| {
        let mut link = LinkConfig::new(name, address);
        link.backoff_initial = Duration::from_millis(50);
        link.backoff_max = Duration::from_secs(1);
        link
    };
    let printer: Box<dyn Printer> = match config.printer.kind {
        PrinterKind::Tij => Box::new(TijPrinter::spawn(
            link(PRINTER_NAME, &config.printer.address),
            tx.clone(),
        )),
        PrinterKind::Zpl => Box::new(ZplPrinter::spawn(
            link(PRINTER_NAME, &config.printer.address),
            LabelLayout::default(),
            tx.clone(),
        )),
    };
    let camera: Box<dyn Camera> = match config.camera.kind {
        CameraKind::Smart => Box::new(DmccCamera::spawn(
            link(CAMERA_NAME, &config.camera.address),
            false,
            tx.clone(),
        )),
        CameraKind::Image => Box::new(ImageCamera::spawn(
            link(CAMERA_NAME, &config.camera.address),
            tx.clone(),
        )),
    };
    let mut plc_config = PlcConfig::new(link(PLC_NAME, &config.plc.address));
    plc_config.unit_id = config.plc.unit_id;
    // The driver's own poll (liveness) runs only when the station has not read the
    // status block for as long.
    plc_config.poll_interval = poll_interval(config.line.rate_per_min);
    let plc: Box<dyn LineIo> = Box::new(ModbusPlc::spawn(plc_config, tx));
    (
        StationDevices {
            printer,
            camera,
            plc,
        },
        rx,
    )
}
