//! `serialstation upload`: the outbox as the operator sees it — per-client status,
//! retrying parked chunks, and exporting a batch's EPCIS documents to files.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::cli::pool::fail;
use crate::store::{BatchId, OutboxId, Store};
use crate::upload::DocumentFormat;
use crate::upload::sender::{ChunkPayload, OUTBOX_KIND_EPCIS};

#[derive(clap::Subcommand, Debug)]
pub enum UploadCommand {
    /// Per client: chunks pending, in flight, parked, sent, the last error, and the
    /// age of the oldest chunk not yet sent.
    Status {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Send parked chunks again (after the cause was fixed): one chunk, or all.
    Retry {
        /// The chunk number shown by `upload status` (all parked chunks if omitted).
        chunk: Option<i64>,
    },
    /// Write a batch's EPCIS documents to files, one per chunk.
    Export {
        /// Batch number.
        #[arg(long)]
        batch: i64,
        /// Document format.
        #[arg(long, value_parser = ["epcis2-json", "epcis12-xml"])]
        format: String,
        /// Directory to write into (created if missing).
        #[arg(short = 'o', long = "out")]
        out: PathBuf,
    },
}

pub fn run(cmd: UploadCommand, db: &Path) -> ExitCode {
    let mut store = match Store::open_existing(db) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    match cmd {
        UploadCommand::Status { json } => status(&store, json),
        UploadCommand::Retry { chunk } => match store.retry_parked_outbox(chunk.map(OutboxId)) {
            Ok(0) => {
                eprintln!(
                    "error: {}",
                    match chunk {
                        Some(id) =>
                            format!("chunk {id} is not parked; see `serialstation upload status`"),
                        None => "no chunk is parked".to_string(),
                    }
                );
                ExitCode::from(1)
            }
            Ok(n) => {
                println!("{n} parked chunk(s) will be sent again by the uploader");
                ExitCode::SUCCESS
            }
            Err(e) => fail(e),
        },
        UploadCommand::Export { batch, format, out } => {
            export(&store, BatchId(batch), &format, &out)
        }
    }
}

fn status(store: &Store, json: bool) -> ExitCode {
    let rows = match store.outbox_status() {
        Ok(rows) => rows,
        Err(e) => return fail(e),
    };
    if json {
        println!("{}", serde_json::json!(rows));
        return ExitCode::SUCCESS;
    }
    if rows.is_empty() {
        println!("the outbox is empty: nothing has been queued for any site server");
    }
    for row in rows {
        println!(
            "{}: {} pending, {} in flight, {} parked, {} sent",
            row.client_id, row.pending, row.in_flight, row.parked, row.sent
        );
        if let Some(oldest) = &row.oldest_unsent_created_at {
            println!("    oldest unsent chunk queued at {oldest}");
        }
        if let Some(error) = &row.last_error {
            println!("    last error: {error}");
        }
        if row.parked > 0 {
            println!(
                "    parked chunks hold back this client's later chunks; fix the cause, then run `serialstation upload retry`"
            );
        }
    }
    ExitCode::SUCCESS
}

fn export(store: &Store, batch: BatchId, format: &str, out: &Path) -> ExitCode {
    let format = match format {
        "epcis12-xml" => DocumentFormat::Epcis12Xml,
        _ => DocumentFormat::Epcis2JsonLd,
    };
    let entries = match store.outbox_entries_of_batch(batch, OUTBOX_KIND_EPCIS) {
        Ok(entries) => entries,
        Err(e) => return fail(e),
    };
    if entries.is_empty() {
        eprintln!(
            "error: batch {} has no EPCIS chunks in the outbox; check the batch number",
            batch.0
        );
        return ExitCode::from(1);
    }
    if let Err(e) = std::fs::create_dir_all(out) {
        eprintln!("error: cannot create {}: {e}", out.display());
        return ExitCode::from(1);
    }
    for entry in &entries {
        let chunk = match ChunkPayload::from_stored(&entry.payload) {
            Ok(chunk) => chunk,
            Err(message) => {
                eprintln!("error: chunk {}: {message}", entry.id.0);
                return ExitCode::from(1);
            }
        };
        let document =
            match crate::upload::render_document(format, &chunk.creation_date, &chunk.events) {
                Ok(document) => document,
                Err(e) => {
                    eprintln!("error: chunk {}: {e}", entry.id.0);
                    return ExitCode::from(1);
                }
            };
        let path = out.join(format!(
            "batch-{}-chunk-{}.{}",
            batch.0,
            entry.id.0,
            format.file_extension()
        ));
        if let Err(e) = std::fs::write(&path, &document.bytes) {
            eprintln!("error: cannot write {}: {e}", path.display());
            return ExitCode::from(1);
        }
        println!(
            "{} ({} events, {} EPCs)",
            path.display(),
            document.events.len(),
            document.epc_count()
        );
    }
    ExitCode::SUCCESS
}
