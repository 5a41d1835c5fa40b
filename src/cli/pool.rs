//! `serialstation pool`: import serial files, generate serials, request serials from
//! the client's site server, show pool status.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::gs1::Gtin;
use crate::pool::{Alphabet, GenerationPlan, SerialFileReader, SerialOrder};
use crate::store::{Actor, ImportOutcome, PoolStatus, SerialState, Store};

/// How many problem lines `pool import` prints before "and N more".
const SHOWN_PROBLEMS: usize = 20;

#[derive(clap::Subcommand, Debug)]
pub enum PoolCommand {
    /// Import serials from a file into a GTIN's pool: all of them, or none if any line is wrong.
    Import {
        /// The GTIN whose pool receives the serials (must be in the product master).
        #[arg(long)]
        gtin: String,
        /// Read the file as CSV with a header row and take serials from this column.
        /// Without it the file holds one serial per line.
        #[arg(long)]
        column: Option<String>,
        /// CSV field separator (with --column).
        #[arg(long, default_value = ",", requires = "column")]
        delimiter: char,
        /// The serial file.
        file: PathBuf,
    },
    /// Generate new serials into a GTIN's pool.
    Generate {
        #[arg(long)]
        gtin: String,
        /// How many serials to add.
        #[arg(long)]
        count: u64,
        /// Random serials from a secure random generator (required for EU FMD markets).
        #[arg(long)]
        random: bool,
        /// Characters per serial (1 to 20).
        #[arg(long, default_value_t = 12)]
        length: u8,
        #[arg(long, value_enum, default_value_t = AlphabetArg::Numeric)]
        alphabet: AlphabetArg,
    },
    /// Request serials from the serial source of the GTIN's client (site server or
    /// SerialBox) and import them: each answer all or nothing.
    Request {
        #[arg(long)]
        gtin: String,
        /// How many serials to request.
        #[arg(long)]
        count: u64,
        /// Print the outcome as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Count serials per state for each GTIN and warn when a pool runs low.
    Status {
        /// Only this GTIN.
        #[arg(long)]
        gtin: Option<String>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum AlphabetArg {
    /// Digits 0-9.
    Numeric,
    /// Digits and upper-case letters A-Z.
    Alphanumeric,
}

pub fn run(cmd: PoolCommand, db: &Path) -> ExitCode {
    match cmd {
        PoolCommand::Import {
            gtin,
            column,
            delimiter,
            file,
        } => import(db, &gtin, column.as_deref(), delimiter, &file),
        PoolCommand::Generate {
            gtin,
            count,
            random,
            length,
            alphabet,
        } => {
            let alphabet = match alphabet {
                AlphabetArg::Numeric => Alphabet::Numeric,
                AlphabetArg::Alphanumeric => Alphabet::Alphanumeric,
            };
            let order = if random {
                SerialOrder::Random
            } else {
                SerialOrder::Sequential
            };
            generate(
                db,
                &gtin,
                &GenerationPlan {
                    count,
                    order,
                    alphabet,
                    length,
                },
            )
        }
        PoolCommand::Request { gtin, count, json } => request(db, &gtin, count, json),
        PoolCommand::Status { gtin, json } => status(db, gtin.as_deref(), json),
    }
}

fn request(db: &Path, gtin: &str, count: u64, json: bool) -> ExitCode {
    let gtin = match parse_gtin(gtin) {
        Ok(g) => g,
        Err(e) => return fail(e),
    };
    if count == 0 {
        return fail("--count 0: ask for at least 1 serial");
    }
    let mut store = match Store::open_existing(db) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let product = match store.product(&gtin) {
        Ok(Some(p)) => p,
        Ok(None) => {
            return fail(format!(
                "GTIN {gtin} is not in the product master: load its client configuration first (serialstation config load FILE)"
            ));
        }
        Err(e) => return fail(e),
    };
    let client = match store.client(&product.client_id) {
        Ok(Some(c)) => c,
        Ok(None) => {
            return fail(format!(
                "client {} of GTIN {gtin} is missing from the store: load its configuration again",
                product.client_id
            ));
        }
        Err(e) => return fail(e),
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return fail(format!("cannot start the network runtime: {e}")),
    };
    let actor = Actor::current_os_user();
    let result = runtime.block_on(crate::pool::request::request_serials(
        &mut store, &client, &gtin, count, &actor,
    ));
    match result {
        Ok(outcome) => {
            if json {
                println!("{}", serde_json::json!(outcome));
            } else {
                println!(
                    "imported {} serials from {} into the pool of GTIN {gtin} ({} request(s))",
                    outcome.imported, outcome.source, outcome.requests
                );
                if !outcome.fulfilled {
                    println!(
                        "  WARNING: asked for {} but the server granted only {}: its pool is running out",
                        outcome.requested, outcome.imported
                    );
                }
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}

pub(crate) fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(1)
}

pub(crate) fn parse_gtin(text: &str) -> Result<Gtin, String> {
    Gtin::parse(text).map_err(|e| format!("--gtin {text}: {e}"))
}

fn import(db: &Path, gtin: &str, column: Option<&str>, delimiter: char, file: &Path) -> ExitCode {
    let gtin = match parse_gtin(gtin) {
        Ok(g) => g,
        Err(e) => return fail(e),
    };
    let mut store = match Store::open(db) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    import_file(
        &mut store,
        &ImportFile {
            file,
            column,
            delimiter,
        },
        |store, lines, shown| store.import_serials(&gtin, lines, shown, &Actor::current_os_user()),
        |count, shown| {
            format!("imported {count} serials from {shown} into the pool of GTIN {gtin}")
        },
    )
}

/// A file to import: one entry per line, or CSV with a header and a named column.
pub(crate) struct ImportFile<'a> {
    pub file: &'a Path,
    pub column: Option<&'a str>,
    pub delimiter: char,
}

/// Reads `source` line by line (bounded, Ctrl-C ends it) into `import`, which
/// imports all or nothing, and reports the outcome: `imported(count, file)` on
/// success, else every problem by line (the first [`SHOWN_PROBLEMS`]).
pub(crate) fn import_file(
    store: &mut Store,
    source: &ImportFile<'_>,
    import: impl FnOnce(
        &mut Store,
        &mut dyn Iterator<Item = Result<crate::store::SerialLine, crate::store::LineProblem>>,
        &str,
    ) -> crate::store::StoreResult<ImportOutcome>,
    imported: impl FnOnce(u64, &str) -> String,
) -> ExitCode {
    let delimiter = match u8::try_from(source.delimiter) {
        Ok(d) if d.is_ascii() && d != b'"' && d != b'\n' => d,
        _ => {
            return fail(format!(
                "--delimiter {:?} cannot separate CSV fields: use a single ASCII character such as , or ;",
                source.delimiter
            ));
        }
    };
    let shown = source.file.display().to_string();
    let input = match File::open(source.file) {
        Ok(f) => BufReader::with_capacity(1 << 16, f),
        Err(e) => return fail(format!("cannot open {shown}: {e}")),
    };
    let lines: Box<dyn Iterator<Item = _>> = match source.column {
        None => Box::new(SerialFileReader::plain(input)),
        Some(column) => match SerialFileReader::csv(input, column, delimiter) {
            Ok(reader) => Box::new(reader),
            Err(e) => return fail(format!("{shown}: {e}")),
        },
    };
    let interrupt = super::progress::Interrupt::watch();
    let mut progress = super::progress::Progress::new("reading lines:", 0);
    let mut lines = BoundedLines {
        lines,
        read: 0,
        ended: false,
        interrupt,
        progress: &mut progress,
    };
    let outcome = import(store, &mut lines, &shown);
    progress.finish();
    match outcome {
        Ok(ImportOutcome::Imported { count }) => {
            println!("{}", imported(count, &shown));
            ExitCode::SUCCESS
        }
        Ok(ImportOutcome::Rejected { problems, total }) => {
            eprintln!(
                "error: nothing was imported: {shown} has {total} problem(s); fix them and import the file again:"
            );
            for p in problems.iter().take(SHOWN_PROBLEMS) {
                if p.line == 0 {
                    eprintln!("  {}", p.reason);
                } else {
                    eprintln!("  line {}: {}", p.line, p.reason);
                }
            }
            let shown_count = problems.len().min(SHOWN_PROBLEMS) as u64;
            if total > shown_count {
                eprintln!("  and {} more", total - shown_count);
            }
            ExitCode::from(1)
        }
        Err(e) => fail(e),
    }
}

/// The lines of a pool file, read at most [`crate::limits::MAX_IMPORT_LINES`] and
/// until Ctrl-C: either ends the file with a problem line, so the import (all or
/// nothing) imports nothing and says why.
struct BoundedLines<'a, I> {
    lines: I,
    read: u64,
    ended: bool,
    interrupt: super::progress::Interrupt,
    progress: &'a mut super::progress::Progress,
}

impl<I> Iterator for BoundedLines<'_, I>
where
    I: Iterator<Item = Result<crate::store::SerialLine, crate::store::LineProblem>>,
{
    type Item = Result<crate::store::SerialLine, crate::store::LineProblem>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.ended {
            return None;
        }
        let stop = |reason: String| Some(Err(crate::store::LineProblem { line: 0, reason }));
        if self.read.is_multiple_of(10_000) {
            self.progress.update(self.read);
            if self.interrupt.requested() {
                self.ended = true;
                return stop(format!(
                    "stopped by the operator after {} lines",
                    crate::limits::thousands(self.read)
                ));
            }
        }
        let item = self.lines.next()?;
        self.read += 1;
        if self.read > crate::limits::MAX_IMPORT_LINES {
            self.ended = true;
            return stop(format!(
                "the file has more than {} lines, the most one import takes: split it into several files",
                crate::limits::thousands(crate::limits::MAX_IMPORT_LINES)
            ));
        }
        Some(item)
    }
}

fn generate(db: &Path, gtin: &str, plan: &GenerationPlan) -> ExitCode {
    let gtin = match parse_gtin(gtin) {
        Ok(g) => g,
        Err(e) => return fail(e),
    };
    let mut store = match Store::open(db) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let interrupt = super::progress::Interrupt::watch();
    let mut progress = super::progress::Progress::new("generating", plan.count);
    let generated =
        store.generate_serials_watched(&gtin, plan, &Actor::current_os_user(), &mut |done| {
            progress.update(done);
            !interrupt.requested()
        });
    progress.finish();
    match generated {
        Ok(outcome) => {
            let kind = if plan.order == SerialOrder::Random {
                "random"
            } else {
                "sequential"
            };
            println!(
                "generated {} {kind} {} serials of length {} into the pool of GTIN {gtin}; \
                 guessing a valid serial: 1 in {}",
                outcome.count,
                plan.alphabet.name(),
                plan.length,
                outcome.one_in
            );
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}

fn status_json(s: &PoolStatus) -> serde_json::Value {
    let counts: serde_json::Map<String, serde_json::Value> = SerialState::ALL
        .iter()
        .map(|st| (st.name().to_string(), s.count(*st).into()))
        .collect();
    serde_json::json!({
        "gtin": s.gtin,
        "product": s.product_name,
        "counts": counts,
        "total": s.total(),
        "low_water_mark": s.low_water_mark,
        "low": s.is_low(),
    })
}

fn status(db: &Path, gtin: Option<&str>, json: bool) -> ExitCode {
    let gtin = match gtin.map(parse_gtin).transpose() {
        Ok(g) => g,
        Err(e) => return fail(e),
    };
    let store = match Store::open_existing(db) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let statuses = match store.pool_status(gtin.as_ref()) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    if json {
        println!(
            "{}",
            serde_json::Value::Array(statuses.iter().map(status_json).collect())
        );
        return ExitCode::SUCCESS;
    }
    if statuses.is_empty() {
        println!(
            "no products yet: load a client configuration first (serialstation config load FILE)"
        );
    }
    for s in &statuses {
        println!("{}  {}", s.gtin, s.product_name);
        let shown: Vec<String> = SerialState::ALL
            .iter()
            .filter(|st| **st == SerialState::Unallocated || s.count(**st) > 0)
            .map(|st| format!("{} {}", st.name(), s.count(*st)))
            .collect();
        println!("  {}  (total {})", shown.join(", "), s.total());
        if s.is_low() {
            println!(
                "  WARNING: only {} unallocated serials left, below the low-water mark of {}: \
                 import, generate or request more (serialstation pool import|generate|request --gtin {})",
                s.count(SerialState::Unallocated),
                s.low_water_mark,
                s.gtin
            );
        }
    }
    ExitCode::SUCCESS
}
