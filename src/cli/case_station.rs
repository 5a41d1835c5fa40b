//! `serialstation case-station`: the case station of one batch on the case
//! packer's PLC, the case camera, the label printer and the label scanner
//! (`src/container_station/`).

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

use crate::container_station::case_run::{CaseStationOptions, run};
use crate::store::{Actor, BatchId};

/// Checks and labels every case the case packer closes: the PLC counts the good
/// packs leaving the reject gate into cases; at each closed case the camera's
/// one picture must show exactly the packs the tracking put in (nothing missing,
/// nothing extra, no code twice, every code readable); the case is then recorded
/// with an SSCC, its label printed over ZPL and read back, and only then
/// released. Anything else sends it to the rework lane with its packs loose.
/// Commands on stdin: `close` (close the case being filled below capacity, at
/// the batch's end, where the product allows it), `status`, `quit`.
#[derive(Args, Debug)]
#[command(
    after_help = "Example, against `serialstation-sim --case-cell packs.txt`:\n  serialstation case-station --batch 1 --plc 127.0.0.1:7401 --camera 127.0.0.1:7402 \\\n      --label-printer 127.0.0.1:7302 --label-scanner 127.0.0.1:7303"
)]
pub struct CaseStationArgs {
    /// The batch whose packs are cased.
    #[arg(long)]
    batch: i64,
    /// The case packer's PLC (Modbus/TCP, the case packer block), host:port.
    #[arg(long)]
    plc: String,
    /// The PLC's Modbus unit id.
    #[arg(long, default_value_t = 1)]
    unit_id: u8,
    /// The case camera (image camera protocol), host:port.
    #[arg(long)]
    camera: String,
    /// The packs' layout in the case as the camera sees it, ROWSxCOLS (default:
    /// the squarest that holds a full case, e.g. 3x4 for 12).
    #[arg(long, value_parser = super::case_image::layout_arg)]
    layout: Option<(u32, u32)>,
    /// The label printer (raw ZPL, port 9100 on most printers), host:port.
    #[arg(long)]
    label_printer: String,
    /// The scanner that reads each case label back, host:port.
    #[arg(long)]
    label_scanner: String,
    /// How long a printed label may take to be read back, milliseconds.
    #[arg(long, default_value_t = 3000)]
    label_timeout_ms: u64,
    /// Prints of one label before the case goes to rework, when the label
    /// scanner reads nothing or NOREAD. Above 1 only where a label that did not
    /// verify is taken off the case before the next print; a label that reads
    /// as another SSCC always sends the case to rework.
    #[arg(long, default_value_t = 1)]
    label_attempts: u32,
}

pub fn run_case_station(args: CaseStationArgs, db: &Path) -> ExitCode {
    let options = CaseStationOptions {
        db: db.to_path_buf(),
        batch: BatchId(args.batch),
        plc: args.plc,
        unit_id: args.unit_id,
        camera: args.camera,
        layout: args.layout,
        label_printer: args.label_printer,
        label_scanner: args.label_scanner,
        label_timeout: Duration::from_millis(args.label_timeout_ms.max(1)),
        label_attempts: args.label_attempts,
        operator: Actor::os_login_name(),
    };
    match run(&options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
