//! `serialstation pallet-station`: the pallet station of one batch on the line's
//! stacker scanner, label printer and label scanner (`src/container_station/`).

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

use crate::container_station::{PalletStationOptions, run};
use crate::store::{Actor, BatchId};

/// Stacks a batch's cases onto pallets as the stacker's fixed scanner reads them
/// (one read per line over TCP; the station answers ACCEPT to stack a case, REJECT
/// to divert it), closes each pallet at capacity, prints its label over ZPL and
/// verifies it with the label scanner. Commands on stdin: `close` (the pallet as
/// it is, where the product allows a partial pallet), `status`, `quit`.
#[derive(Args, Debug)]
#[command(
    after_help = "Example, against `serialstation-sim --pallet-cell cases.txt`:\n  serialstation pallet-station --batch 1 --scanner 127.0.0.1:7301 \\\n      --label-printer 127.0.0.1:7302 --label-scanner 127.0.0.1:7303"
)]
pub struct PalletStationArgs {
    /// The batch whose cases are stacked.
    #[arg(long)]
    batch: i64,
    /// The stacker's fixed scanner, host:port.
    #[arg(long)]
    scanner: String,
    /// The label printer (raw ZPL, port 9100 on most printers), host:port.
    #[arg(long)]
    label_printer: String,
    /// The scanner that reads each pallet label back, host:port.
    #[arg(long)]
    label_scanner: String,
    /// How long a printed label may take to be read back, milliseconds.
    #[arg(long, default_value_t = 5000)]
    label_timeout_ms: u64,
    /// Prints of one label before the pallet goes to rework.
    #[arg(long, default_value_t = 3)]
    label_attempts: u32,
}

pub fn run_pallet_station(args: PalletStationArgs, db: &Path) -> ExitCode {
    let options = PalletStationOptions {
        db: db.to_path_buf(),
        batch: BatchId(args.batch),
        scanner: args.scanner,
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
