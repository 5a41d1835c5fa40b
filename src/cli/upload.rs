//! `serialstation upload`: the outbox as the operator sees it — per-client status
//! (chunks and the serials still waiting to be chunked), retrying parked chunks,
//! flushing (one uploader round by hand), and exporting a batch's EPCIS documents
//! to files.

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
    /// Run one uploader round now: turn the serials that are due into EPCIS chunks
    /// and try to deliver every client's chunks once.
    Flush {
        /// Chunk every waiting serial now, even if its event is not full yet.
        #[arg(long)]
        force: bool,
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
        UploadCommand::Flush { force } => flush(&mut store, force),
        UploadCommand::Export { batch, format, out } => {
            export(&store, BatchId(batch), &format, &out)
        }
    }
}

fn flush(store: &mut Store, force: bool) -> ExitCode {
    let clients = match store.clients() {
        Ok(clients) => clients,
        Err(e) => return fail(e),
    };
    let (mut sender, target_problems) = match crate::upload::service::sender_for_clients(&clients) {
        Ok(built) => built,
        Err(e) => return fail(e),
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return fail(format!("cannot start the network runtime: {e}")),
    };
    let report = match runtime.block_on(crate::upload::service::upload_round(
        store,
        &mut sender,
        force,
    )) {
        Ok(report) => report,
        Err(e) => return fail(e),
    };
    println!(
        "{} serial(s) queued in {} chunk(s); {} chunk(s) delivered, {} parked, {} to retry",
        report.serials_chunked,
        report.chunks_queued,
        report.delivered,
        report.parked,
        report.retries
    );
    let mut problems = target_problems;
    problems.extend(report.problems);
    for problem in &problems {
        eprintln!("warning: {problem}");
    }
    if report.parked > 0 || report.retries > 0 || !problems.is_empty() {
        eprintln!("see `serialstation upload status` for what is left and why");
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}

/// One client's line of `upload status`: its chunks and its waiting serials.
#[derive(Debug, serde::Serialize)]
struct StatusRow {
    #[serde(flatten)]
    chunks: crate::store::ClientOutboxStatus,
    /// Per-serial rows not yet turned into chunks.
    waiting_serials: u64,
    oldest_waiting_created_at: Option<String>,
}

fn status(store: &Store, json: bool) -> ExitCode {
    let (chunks, waiting) = match (store.outbox_status(), store.waiting_serials()) {
        (Ok(chunks), Ok(waiting)) => (chunks, waiting),
        (Err(e), _) | (_, Err(e)) => return fail(e),
    };
    let mut rows: Vec<StatusRow> = chunks
        .into_iter()
        .map(|chunks| StatusRow {
            chunks,
            waiting_serials: 0,
            oldest_waiting_created_at: None,
        })
        .collect();
    for w in waiting {
        let index = match rows.iter().position(|r| r.chunks.client_id == w.client_id) {
            Some(index) => index,
            None => {
                rows.push(StatusRow {
                    chunks: crate::store::ClientOutboxStatus {
                        client_id: w.client_id.clone(),
                        pending: 0,
                        in_flight: 0,
                        parked: 0,
                        sent: 0,
                        last_error: None,
                        oldest_unsent_created_at: None,
                    },
                    waiting_serials: 0,
                    oldest_waiting_created_at: None,
                });
                rows.len() - 1
            }
        };
        rows[index].waiting_serials = w.rows;
        rows[index].oldest_waiting_created_at = w.oldest_created_at;
    }
    rows.sort_by(|a, b| a.chunks.client_id.cmp(&b.chunks.client_id));
    if json {
        println!("{}", serde_json::json!(rows));
        return ExitCode::SUCCESS;
    }
    if rows.is_empty() {
        println!("the outbox is empty: nothing has been queued for any site server");
    }
    for StatusRow {
        chunks: row,
        waiting_serials,
        oldest_waiting_created_at,
    } in rows
    {
        println!(
            "{}: {} pending, {} in flight, {} parked, {} sent; {} serial(s) waiting to be chunked",
            row.client_id, row.pending, row.in_flight, row.parked, row.sent, waiting_serials
        );
        if let Some(oldest) = &oldest_waiting_created_at {
            println!("    oldest waiting serial recorded at {oldest}");
        }
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
    let mut progress =
        crate::cli::progress::Progress::new("exporting chunks", entries.len() as u64);
    for (done, entry) in entries.iter().enumerate() {
        progress.update(done as u64);
        let chunk = match ChunkPayload::from_stored(&entry.payload) {
            Ok(chunk) => chunk,
            Err(message) => {
                eprintln!("error: chunk {}: {message}", entry.id.0);
                return ExitCode::from(1);
            }
        };
        let document = match chunk.render_as(format) {
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
        progress.println(&format!(
            "{} ({} events, {} EPCs)",
            path.display(),
            document.events.len(),
            document.epc_count()
        ));
    }
    progress.finish();
    ExitCode::SUCCESS
}
