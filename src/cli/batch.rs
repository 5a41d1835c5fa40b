//! `serialstation batch`: batch commands that read the store directly. Today:
//! `batch report BATCH [--json]`, the reconciliation report of one batch.

use std::path::Path;
use std::process::ExitCode;

use crate::cli::pool::fail;
use crate::report::BatchReport;
use crate::store::{BatchId, Store};

#[derive(clap::Subcommand, Debug)]
pub enum BatchCommand {
    /// The reconciliation report of a batch: allocated = commissioned + scrapped +
    /// sampled + invalidated + returned, rejects by reason, grade distribution.
    Report {
        /// The batch number.
        batch: i64,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(cmd: BatchCommand, db: &Path) -> ExitCode {
    let store = match Store::open_existing(db) {
        Ok(store) => store,
        Err(e) => return fail(e),
    };
    match cmd {
        BatchCommand::Report { batch, json } => {
            let report = match BatchReport::build(&store, BatchId(batch)) {
                Ok(report) => report,
                Err(e) => return fail(e),
            };
            if json {
                println!("{}", report.to_json());
            } else {
                print!("{}", report.to_text());
            }
            if report.balanced {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
    }
}
