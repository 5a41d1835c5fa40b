//! `serialstation batch`: the operator's batch commands. `start`, `pause`, `resume`,
//! `stop`, `close` and `status` talk to the station daemon over its control socket;
//! `list` and `report` read the store directly, so they work without the daemon.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use crate::cli::password::SignArgs;
use crate::cli::pool::fail;
use crate::control::protocol::{BatchView, Request, Response, StatusReport};
use crate::control::{ControlError, call};
use crate::report::BatchReport;
use crate::report::record::BatchRecord;
use crate::store::{BatchId, Store};

#[derive(clap::Subcommand, Debug)]
pub enum BatchCommand {
    /// Start a batch on the line (the daemon must be running).
    Start {
        /// The product's GTIN (14 digits).
        #[arg(long = "product", alias = "gtin")]
        product: String,
        /// The lot (batch) number printed in AI (10).
        #[arg(long)]
        lot: String,
        /// Expiry date: YYYY-MM-DD or GS1 YYMMDD.
        #[arg(long)]
        expiry: String,
        /// Packs to commission.
        #[arg(long)]
        quantity: u32,
        /// The client the product belongs to (checked).
        #[arg(long)]
        client: Option<String>,
        /// Challenge test: feed this many known-bad items first; production starts
        /// only if every one is rejected and its reject confirmed.
        #[arg(long, default_value_t = 0)]
        challenge: u32,
    },
    /// Pause the running batch: the line stops, nothing is lost.
    Pause { batch: Option<i64> },
    /// Resume a paused (or held) batch. After a consecutive-reject stop, a
    /// supervisor signs (--sign).
    Resume {
        batch: Option<i64>,
        #[command(flatten)]
        sign: SignArgs,
    },
    /// Stop the batch: no more prints; the items on the belt finish.
    Stop {
        batch: Option<i64>,
        /// Count items whose fate is still unknown as rejected (a device that cannot
        /// come back).
        #[arg(long)]
        abandon_in_flight: bool,
    },
    /// Close a stopped batch (its reconciliation must balance, or give --reason).
    Close {
        batch: Option<i64>,
        /// Why a batch that does not balance is closed anyway (recorded; signed with
        /// --sign by a supervisor or QA where users are enrolled).
        #[arg(long)]
        reason: Option<String>,
        #[command(flatten)]
        sign: SignArgs,
    },
    /// QA's release of a closed batch on its record (signed: "approved").
    Release {
        batch: i64,
        /// A remark recorded with the release.
        #[arg(long)]
        comment: Option<String>,
        #[command(flatten)]
        sign: SignArgs,
    },
    /// Acknowledge an alarm of the active batch (its number in `batch status`), or
    /// all of them.
    Ack {
        /// The alarm's number; without it, every alarm.
        alarm: Option<u64>,
    },
    /// Who you are to the station: user and role.
    Whoami,
    /// The batches in the store, newest first.
    List {
        /// How many.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
    /// Live status of the line and the active batch.
    Status {
        /// Keep showing it (progress bar, rate, ETA) until the batch stops.
        #[arg(long)]
        watch: bool,
        #[arg(long)]
        json: bool,
    },
    /// The reconciliation report of a batch: allocated = commissioned + scrapped +
    /// sampled + invalidated + returned, rejects by reason, grade distribution.
    Report {
        /// The batch number.
        batch: i64,
        /// Print JSON instead of text.
        #[arg(long, conflicts_with = "html")]
        json: bool,
        /// Write the electronic batch record as one self-contained HTML file (charts,
        /// signatures, item-level reconciliation, audit rows) to --output.
        #[arg(long, requires = "output")]
        html: bool,
        /// The file the HTML record is written to (replaced if it exists).
        #[arg(short = 'o', long = "output", value_name = "FILE", requires = "html")]
        output: Option<PathBuf>,
    },
}

pub fn run(cmd: BatchCommand, db: &Path, socket: &Path) -> ExitCode {
    match cmd {
        BatchCommand::Start {
            product,
            lot,
            expiry,
            quantity,
            client,
            challenge,
        } => {
            let expiry = match gs1_expiry(&expiry) {
                Ok(expiry) => expiry,
                Err(message) => {
                    eprintln!("error: {message}");
                    return ExitCode::from(2);
                }
            };
            // Refused as the daemon would refuse it (exit 1), before anything is sent.
            if let Err(message) =
                crate::limits::check_batch_start(u64::from(quantity), u64::from(challenge))
            {
                eprintln!("error: {message}");
                return ExitCode::from(1);
            }
            answer(
                socket,
                db,
                &Request::BatchStart {
                    gtin: product,
                    lot,
                    expiry,
                    quantity,
                    client,
                    challenge,
                },
            )
        }
        BatchCommand::Pause { batch } => answer(socket, db, &Request::BatchPause { batch }),
        BatchCommand::Resume { batch, sign } => match sign.signature() {
            Ok(signature) => answer(socket, db, &Request::BatchResume { batch, signature }),
            Err(e) => crate::cli::pool::fail(e),
        },
        BatchCommand::Release {
            batch,
            comment,
            sign,
        } => match sign.signature() {
            Ok(signature) => answer(
                socket,
                db,
                &Request::BatchRelease {
                    batch,
                    comment,
                    signature,
                },
            ),
            Err(e) => crate::cli::pool::fail(e),
        },
        BatchCommand::Ack { alarm } => answer(socket, db, &Request::AlarmAck { id: alarm }),
        BatchCommand::Whoami => answer(socket, db, &Request::Whoami),
        BatchCommand::Stop {
            batch,
            abandon_in_flight,
        } => answer(
            socket,
            db,
            &Request::BatchStop {
                batch,
                abandon_in_flight,
            },
        ),
        BatchCommand::Close {
            batch,
            reason,
            sign,
        } => match sign.signature() {
            Ok(signature) => answer(
                socket,
                db,
                &Request::BatchClose {
                    batch,
                    reason,
                    signature,
                },
            ),
            Err(e) => crate::cli::pool::fail(e),
        },
        BatchCommand::Status { watch, json } => status(socket, db, watch, json),
        BatchCommand::List { limit, json } => list(db, limit, json),
        BatchCommand::Report {
            batch,
            json,
            html,
            output,
        } => match (html, output) {
            (true, Some(output)) => html_record(db, batch, &output),
            (true, None) => {
                eprintln!("error: --html needs -o FILE: the record is written to a file");
                ExitCode::from(2)
            }
            (false, Some(_)) => {
                eprintln!("error: -o/--output is for --html; without it the report is printed");
                ExitCode::from(2)
            }
            (false, None) => report(db, batch, json),
        },
    }
}

/// Sends one request and prints the daemon's one-line answer; exit 1 if refused.
pub fn answer(socket: &Path, db: &Path, request: &Request) -> ExitCode {
    match call(socket, db, request) {
        Ok(response) if response.ok => {
            println!("{}", response.message);
            ExitCode::SUCCESS
        }
        Ok(response) => {
            eprintln!("error: {}", response.message);
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

/// `YYYY-MM-DD` or `YYMMDD` → GS1 `YYMMDD` (the daemon checks the date itself).
pub fn gs1_expiry(text: &str) -> Result<String, String> {
    let text = text.trim();
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if text.len() == 6 && digits(text) {
        return Ok(text.to_string());
    }
    let parts: Vec<&str> = text.split('-').collect();
    if let [year, month, day] = parts.as_slice()
        && year.len() == 4
        && month.len() == 2
        && day.len() == 2
        && digits(year)
        && digits(month)
        && digits(day)
    {
        return Ok(format!("{}{month}{day}", &year[2..]));
    }
    Err(format!(
        "expiry {text:?} is not a date: give YYYY-MM-DD (e.g. 2028-12-31) or GS1 YYMMDD (281231)"
    ))
}

fn fetch_status(socket: &Path, db: &Path) -> Result<StatusReport, String> {
    let response: Response =
        call(socket, db, &Request::Status).map_err(|e: ControlError| e.to_string())?;
    if !response.ok {
        return Err(response.message);
    }
    response
        .status
        .ok_or_else(|| "the daemon answered without a status".to_string())
}

fn status(socket: &Path, db: &Path, watch: bool, json: bool) -> ExitCode {
    let terminal = std::io::stdout().is_terminal();
    let mut drawn_lines = 0usize;
    loop {
        let report = match fetch_status(socket, db) {
            Ok(report) => report,
            Err(message) => {
                eprintln!("error: {message}");
                return ExitCode::from(1);
            }
        };
        let text = if json {
            serde_json::to_string(&report).unwrap_or_default() + "\n"
        } else {
            render_status(&report)
        };
        let mut out = std::io::stdout().lock();
        if watch && terminal && drawn_lines > 0 {
            // Move up over the previous drawing and clear it.
            let _ = write!(out, "\x1b[{drawn_lines}F\x1b[J");
        }
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
        drawn_lines = text.lines().count();
        let finished =
            report.batch.as_ref().is_none_or(BatchView::is_stopped) && report.recovering.is_none();
        if !watch || finished {
            return ExitCode::SUCCESS;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The status as the operator sees it.
pub fn render_status(report: &StatusReport) -> String {
    let mut text = String::new();
    if let Some(recovering) = &report.recovering {
        text.push_str(&format!("RECOVERING: {recovering}\n"));
    }
    match &report.batch {
        None => text.push_str("no active batch: start one with `serialstation batch start`\n"),
        Some(b) => {
            let share = if b.quantity == 0 {
                0.0
            } else {
                b.commissioned as f64 / b.quantity as f64
            };
            let width = 30usize;
            let filled = ((share * width as f64).round() as usize).min(width);
            text.push_str(&format!(
                "batch {}  GTIN {}  lot {}  expiry {}  client {}  {}{}\n",
                b.id,
                b.gtin,
                b.lot,
                b.expiry,
                b.client,
                b.state.to_uppercase(),
                b.hold
                    .as_ref()
                    .map_or(String::new(), |h| format!(" (held: {h})"))
            ));
            text.push_str(&format!(
                "[{}{}] {}/{} commissioned ({:.1} %)\n",
                "#".repeat(filled),
                ".".repeat(width - filled),
                b.commissioned,
                b.quantity,
                share * 100.0
            ));
            let reasons: Vec<String> = b
                .rejects_by_reason
                .iter()
                .map(|(reason, n)| format!("{reason} {n}"))
                .collect();
            text.push_str(&format!(
                "good {}  rejects {}{}  rate {:.0} items/min  ETA {}\n",
                b.good_verdicts,
                b.rejects,
                if reasons.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", reasons.join(", "))
                },
                b.rate_per_min,
                b.eta_s.map_or("-".to_string(), format_eta)
            ));
            text.push_str(&format!(
                "serials: allocated {}, scrapped {}, returned {}, invalidated {}, sampled {}; printer queue {}, items in flight {}, holds {}\n",
                b.allocated, b.scrapped, b.returned, b.invalidated, b.sampled, b.printer_queue, b.items_in_flight, b.holds
            ));
        }
    }
    let devices: Vec<String> = report
        .devices
        .iter()
        .map(|d| format!("{} {}", d.name, if d.online { "online" } else { "OFFLINE" }))
        .collect();
    text.push_str(&format!(
        "devices: {}; PLC alarms: {}\n",
        devices.join(", "),
        if report.plc_alarms.is_empty() {
            "none"
        } else {
            report.plc_alarms.as_str()
        }
    ));
    for alarm in &report.alarms {
        text.push_str(&format!("alarm: {alarm}\n"));
    }
    text
}

fn format_eta(seconds: f64) -> String {
    let total = seconds.max(0.0).round() as u64;
    format!(
        "{}:{:02}:{:02}",
        total / 3600,
        (total / 60) % 60,
        total % 60
    )
}

fn list(db: &Path, limit: usize, json: bool) -> ExitCode {
    let store = match Store::open_existing(db) {
        Ok(store) => store,
        Err(e) => return fail(e),
    };
    let batches = match store.list_batches(limit) {
        Ok(batches) => batches,
        Err(e) => return fail(e),
    };
    let mut rows = Vec::new();
    for batch in &batches {
        let counts = match store.batch_serial_counts(batch.id) {
            Ok(counts) => counts,
            Err(e) => return fail(e),
        };
        let state = match store.batch_line_state(batch.id) {
            Ok(state) => state.unwrap_or_else(|| batch.state.as_str().to_string()),
            Err(e) => return fail(e),
        };
        rows.push((batch, state, counts));
    }
    if json {
        let value: Vec<serde_json::Value> = rows
            .iter()
            .map(|(batch, state, counts)| {
                serde_json::json!({
                    "batch": batch.id.0, "gtin": batch.gtin, "lot": batch.lot,
                    "expiry": batch.expiry, "quantity": batch.quantity, "state": state,
                    "created_at": batch.created_at, "closed_at": batch.closed_at,
                    "commissioned": counts.commissioned,
                })
            })
            .collect();
        println!("{}", serde_json::Value::Array(value));
        return ExitCode::SUCCESS;
    }
    if rows.is_empty() {
        println!("no batches yet: start one with `serialstation batch start`");
        return ExitCode::SUCCESS;
    }
    println!(
        "{:>6}  {:<14}  {:<20}  {:<6}  {:>9}  {:>12}  {:<10}  created",
        "batch", "GTIN", "lot", "expiry", "quantity", "commissioned", "state"
    );
    for (batch, state, counts) in rows {
        println!(
            "{:>6}  {:<14}  {:<20}  {:<6}  {:>9}  {:>12}  {:<10}  {}",
            batch.id.0,
            batch.gtin,
            batch.lot,
            batch.expiry,
            batch.quantity,
            counts.commissioned,
            state,
            batch.created_at
        );
    }
    ExitCode::SUCCESS
}

fn report(db: &Path, batch: i64, json: bool) -> ExitCode {
    let store = match Store::open_existing(db) {
        Ok(store) => store,
        Err(e) => return fail(e),
    };
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

/// `batch report N --html -o FILE`: builds the electronic batch record and writes it
/// to `FILE.partial`, synced, then renamed to `FILE`, so that `FILE` is never half
/// written. Exit 1 on errors, and (as the text report) when the batch does not
/// balance; the record is written either way.
fn html_record(db: &Path, batch: i64, output: &Path) -> ExitCode {
    let store = match Store::open_existing(db) {
        Ok(store) => store,
        Err(e) => return fail(e),
    };
    let record = match BatchRecord::build(&store, BatchId(batch)) {
        Ok(record) => record,
        Err(e) => return fail(e),
    };
    drop(store);
    let html = crate::report::html::render(&record);
    if let Err(message) = write_replacing(output, html.as_bytes()) {
        return fail(message);
    }
    println!("batch record written to {}", output.display());
    let mut ok = true;
    if !record.report.balanced {
        eprintln!("warning: batch {batch} does not balance: see the record's reconciliation");
        ok = false;
    }
    if !record.reconciliation.adds_up() {
        eprintln!(
            "warning: some of batch {batch}'s item-level checks do not add up: see the record's checks"
        );
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// Writes `bytes` to `path` through `path.partial` and a rename.
fn write_replacing(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    let written = write_synced(&partial, bytes).and_then(|()| std::fs::rename(&partial, path));
    written.map_err(|e| {
        let _ = std::fs::remove_file(&partial);
        format!(
            "cannot write the batch record to {} ({e}): check the directory exists and is writable",
            path.display()
        )
    })
}

fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = std::fs::File::create(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_is_taken_as_iso_or_gs1() {
        assert_eq!(gs1_expiry("2028-12-31").unwrap(), "281231");
        assert_eq!(gs1_expiry("281231").unwrap(), "281231");
        assert!(gs1_expiry("31/12/2028").is_err());
        assert!(gs1_expiry("2028-1-31").is_err());
    }
}
