//! `serialstation container ...` and `serialstation sscc ...`: aggregation from a
//! terminal with a handheld scanner (rework and manual packing), and the SSCC pools
//! containers draw from. Every command opens the store itself; every change is one
//! transaction with its audit row (`src/store/containers.rs`).
//!
//! A scan is whatever the scanner sends: scan data with a symbology identifier, a
//! GS-separated element string, bracketed HRI, a Digital Link, or an SSCC keyed in
//! as 18 digits.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::aggregation::{Level, Scanned, read_scan};
use crate::cli::pool::fail;
use crate::config::{Product, SsccSettings};
use crate::gs1::{Gtin, Sscc};
use crate::store::containers::{Container, ContainerTree};
use crate::store::{Actor, BatchId, Store, StoreError};

#[derive(clap::Subcommand, Debug)]
pub enum ContainerCommand {
    /// Open a container (bundle, case or pallet) for a batch with the client's next SSCC.
    Open {
        /// The batch number (`batch list`).
        #[arg(long)]
        batch: i64,
        /// bundle | case | pallet
        #[arg(long)]
        level: String,
        /// How many children it holds when full (default: the capacity of this
        /// level in the product's `[[product.aggregation]]`).
        #[arg(long)]
        capacity: Option<u64>,
        /// The level it holds (default: the level below it in the product's
        /// hierarchy; without one, packs for a bundle or case, cases for a pallet).
        #[arg(long)]
        holds: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Put children into a container: scan the container, then each child.
    Pack {
        /// The container's SSCC (a scan of its label, or 18 digits).
        parent: String,
        /// Scans of the children (packs or containers).
        #[arg(required = true)]
        children: Vec<String>,
    },
    /// Take children out of a container.
    Unpack {
        parent: String,
        #[arg(required = true)]
        children: Vec<String>,
    },
    /// Swap one child for another in one step (a damaged pack for a good one).
    Replace {
        parent: String,
        /// The child taken out.
        old: String,
        /// The child put in.
        new: String,
    },
    /// Close a container: its contents are final until it is labelled.
    Close {
        sscc: String,
        /// Allow a container below capacity (the end of a batch).
        #[arg(long)]
        partial: bool,
    },
    /// Print a closed container's logistic label (SSCC as GS1-128, and a GS1
    /// DataMatrix with the AIs of the product's label layout) and record it.
    /// Without --print or --zpl, only records a label printed elsewhere.
    Label {
        sscc: String,
        /// The printer that printed it (recorded; --print names it itself).
        #[arg(long, default_value = "manual")]
        printer: String,
        /// Send the label to this ZPL printer (host:port, raw TCP).
        #[arg(long, value_name = "HOST:PORT")]
        print: Option<String>,
        /// Write the label's ZPL to this file (`-` for standard output).
        #[arg(long, value_name = "FILE")]
        zpl: Option<PathBuf>,
    },
    /// Check the label read back: it must be the container's own SSCC.
    Verify {
        sscc: String,
        /// What the scanner read from the label.
        #[arg(long)]
        read: String,
    },
    /// Send a container to rework: its children become loose, its SSCC is never reused.
    Rework {
        sscc: String,
        #[arg(long)]
        reason: String,
    },
    /// Show the tree under a container.
    Tree {
        sscc: String,
        #[arg(long)]
        json: bool,
    },
    /// Check a case camera's frame against the packs in a container: every pack
    /// read, nothing else (nothing missing, extra, of another batch, or twice).
    /// Exit 1 with every problem named by place and pack.
    CheckImage {
        sscc: String,
        /// PNG image of the case from above.
        image: PathBuf,
        /// The packs' places as ROWSxCOLS, e.g. 6x8.
        #[arg(long, value_parser = super::case_image::layout_arg)]
        layout: (u32, u32),
        #[arg(long)]
        json: bool,
    },
    /// Find the container that holds a pack or a container.
    Find { scan: String },
    /// A batch's containers and its reconciliation at every level.
    List {
        #[arg(long)]
        batch: i64,
        #[arg(long)]
        json: bool,
    },
    /// Interactive scanning: scan a container, then its children, one per line;
    /// each scan is checked and recorded at once. An empty line or `done` ends the
    /// container; end of input ends the session.
    Scan,
}

#[derive(clap::Subcommand, Debug)]
pub enum SsccCommand {
    /// Generate SSCCs for a client from its GS1 Company Prefix.
    Generate {
        #[arg(long)]
        client: String,
        /// The GS1 Company Prefix (4 to 12 digits; default: the client's
        /// `[client.sscc]` company_prefix).
        #[arg(long)]
        company_prefix: Option<String>,
        /// The extension digit (0 to 9; default: the client's extension_digit, else 0).
        #[arg(long)]
        extension: Option<u8>,
        #[arg(long)]
        count: u64,
        #[arg(long)]
        json: bool,
    },
    /// Import SSCCs issued elsewhere into a client's pool: all of them, or none if
    /// any line is wrong. One SSCC per line (18 digits, `(00)...`, or an EPC URI
    /// `urn:epc:id:sscc:...`), or CSV with --column.
    Import {
        #[arg(long)]
        client: String,
        /// The GS1 Company Prefix the SSCCs were issued under (default: the client's
        /// `[client.sscc]` company_prefix).
        #[arg(long)]
        company_prefix: Option<String>,
        /// Read the file as CSV with a header row and take SSCCs from this column.
        #[arg(long)]
        column: Option<String>,
        /// CSV field separator (with --column).
        #[arg(long, default_value = ",", requires = "column")]
        delimiter: char,
        /// The SSCC file.
        file: PathBuf,
    },
    /// Request SSCCs from the client's serial source (the site server, or the
    /// SerialBox pool named by `[client.sscc] serialbox_pool`) and import them.
    Request {
        #[arg(long)]
        client: String,
        #[arg(long)]
        count: u64,
        #[arg(long)]
        json: bool,
    },
    /// A client's SSCCs by state.
    Status {
        #[arg(long)]
        client: String,
        #[arg(long)]
        json: bool,
    },
}

fn scan_arg(text: &str) -> Result<Scanned, String> {
    read_scan(text).map_err(|e| format!("scan {text:?}: {e}"))
}

fn sscc_arg(text: &str) -> Result<Sscc, String> {
    match read_scan(text) {
        Ok(Scanned::Container(sscc)) => Ok(sscc),
        Ok(other) => Err(format!(
            "{other} is not a container: scan the container's SSCC label first"
        )),
        Err(e) => Err(format!("container {text:?}: {e}")),
    }
}

fn open_store(db: &Path) -> Result<Store, ExitCode> {
    Store::open(db).map_err(fail)
}

fn summary(c: &Container) -> String {
    format!(
        "{} {} ({}): {} of {} {}s, batch {} lot {}, {} label(s)",
        c.level, c.sscc, c.state, c.count, c.capacity, c.child_level, c.batch.0, c.lot, c.labels
    )
}

fn done(result: Result<Container, crate::store::StoreError>) -> ExitCode {
    match result {
        Ok(c) => {
            println!("{}", summary(&c));
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}

pub fn run(cmd: ContainerCommand, db: &Path) -> ExitCode {
    let actor = Actor::current_os_user();
    let mut store = match open_store(db) {
        Ok(s) => s,
        Err(code) => return code,
    };
    macro_rules! arg {
        ($e:expr) => {
            match $e {
                Ok(v) => v,
                Err(e) => return fail(e),
            }
        };
    }
    match cmd {
        ContainerCommand::Open {
            batch,
            level,
            capacity,
            holds,
            json,
        } => {
            let level = arg!(Level::parse(&level));
            if !level.is_container() {
                return fail("a pack is not a container: open a bundle, case or pallet");
            }
            let holds = arg!(holds.as_deref().map(Level::parse).transpose());
            let product = arg!(batch_product(&store, BatchId(batch)));
            let (holds, capacity) = arg!(container_plan(
                BatchId(batch),
                product.as_ref(),
                level,
                holds,
                capacity
            ));
            match store.open_container(BatchId(batch), level, holds, capacity, &actor) {
                Ok(c) if json => {
                    println!("{}", serde_json::json!(c));
                    ExitCode::SUCCESS
                }
                other => done(other),
            }
        }
        ContainerCommand::Pack { parent, children } => {
            let parent = arg!(sscc_arg(&parent));
            let children: Vec<Scanned> = arg!(
                children
                    .iter()
                    .map(|c| scan_arg(c))
                    .collect::<Result<_, _>>()
            );
            done(store.pack(&parent, &children, &actor))
        }
        ContainerCommand::Unpack { parent, children } => {
            let parent = arg!(sscc_arg(&parent));
            let children: Vec<Scanned> = arg!(
                children
                    .iter()
                    .map(|c| scan_arg(c))
                    .collect::<Result<_, _>>()
            );
            done(store.unpack(&parent, &children, &actor))
        }
        ContainerCommand::Replace { parent, old, new } => {
            let parent = arg!(sscc_arg(&parent));
            let (old, new) = (arg!(scan_arg(&old)), arg!(scan_arg(&new)));
            done(store.replace_child(&parent, &old, &new, &actor))
        }
        ContainerCommand::Close { sscc, partial } => {
            let sscc = arg!(sscc_arg(&sscc));
            if partial {
                arg!(partial_allowed(&store, &sscc));
            }
            done(store.close_container(&sscc, partial, &actor))
        }
        ContainerCommand::Label {
            sscc,
            printer,
            print,
            zpl,
        } => {
            let sscc = arg!(sscc_arg(&sscc));
            print_label(
                &mut store,
                &sscc,
                &printer,
                print.as_deref(),
                zpl.as_deref(),
                &actor,
            )
        }
        ContainerCommand::Verify { sscc, read } => {
            let sscc = arg!(sscc_arg(&sscc));
            done(store.container_label_verified(&sscc, &read, &actor))
        }
        ContainerCommand::Rework { sscc, reason } => {
            let sscc = arg!(sscc_arg(&sscc));
            done(store.rework_container(&sscc, &reason, &actor))
        }
        ContainerCommand::Tree { sscc, json } => {
            let sscc = arg!(sscc_arg(&sscc));
            let tree = arg!(store.container_tree(&sscc));
            if json {
                println!("{}", serde_json::json!(tree));
            } else {
                print!("{}", render_tree(&tree));
            }
            ExitCode::SUCCESS
        }
        ContainerCommand::CheckImage {
            sscc,
            image,
            layout,
            json,
        } => {
            let sscc = arg!(sscc_arg(&sscc));
            check_image(&store, &sscc, &image, layout, json)
        }
        ContainerCommand::Find { scan } => {
            let child = arg!(scan_arg(&scan));
            match store.container_holding(&child) {
                Ok(Some(c)) => {
                    println!("{child} is in {}", summary(&c));
                    ExitCode::SUCCESS
                }
                Ok(None) => {
                    println!("{child} is in no container");
                    ExitCode::SUCCESS
                }
                Err(e) => fail(e),
            }
        }
        ContainerCommand::List { batch, json } => list(&store, BatchId(batch), json),
        ContainerCommand::Scan => scan_session(&mut store, &actor),
    }
}

/// `container label`: the label is made first (a label that cannot be made is
/// refused with nothing recorded), recorded as printed, then written and sent.
fn print_label(
    store: &mut Store,
    sscc: &Sscc,
    printer: &str,
    print: Option<&str>,
    zpl: Option<&Path>,
    actor: &Actor,
) -> ExitCode {
    if print.is_none() && zpl.is_none() {
        return done(store.container_label_printed(sscc, printer, actor));
    }
    let bytes = match crate::container_station::container_label(store, sscc)
        .and_then(|(_, format)| format.encode().map_err(|e| e.to_string()))
    {
        Ok(bytes) => bytes,
        Err(e) => return fail(e),
    };
    let printer = print.map_or_else(|| printer.to_string(), |address| format!("zpl {address}"));
    let container = match store.container_label_printed(sscc, &printer, actor) {
        Ok(container) => container,
        Err(e) => return fail(e),
    };
    if let Some(path) = zpl {
        let written = if path == Path::new("-") {
            use std::io::Write as _;
            let mut out = std::io::stdout().lock();
            out.write_all(&bytes).and_then(|()| out.write_all(b"\n"))
        } else {
            std::fs::write(path, &bytes)
        };
        if let Err(e) = written {
            return fail(format!(
                "the label of {sscc} is recorded as printed but its ZPL could not be written to {}: {e}; \
                 run `container label {sscc} --zpl FILE` again (a reprint)",
                path.display()
            ));
        }
    }
    if let Some(address) = print {
        let sent = std::net::TcpStream::connect(address).and_then(|mut stream| {
            use std::io::Write as _;
            stream.write_all(&bytes).and_then(|()| stream.flush())
        });
        if let Err(e) = sent {
            return fail(format!(
                "the label of {sscc} is recorded as printed but the printer {address} did not take it ({e}); \
                 check the printer and run `container label {sscc} --print {address}` again (a reprint)"
            ));
        }
    }
    if zpl == Some(Path::new("-")) {
        eprintln!("{}", summary(&container));
    } else {
        println!("{}", summary(&container));
    }
    ExitCode::SUCCESS
}

/// `container check-image`: the frame's places against the container's packs.
fn check_image(
    store: &Store,
    sscc: &Sscc,
    image: &Path,
    layout: (u32, u32),
    json: bool,
) -> ExitCode {
    let tree = match store.container_tree(sscc) {
        Ok(tree) => tree,
        Err(e) => return fail(e),
    };
    if tree.container.child_level != Level::Pack {
        return fail(format!(
            "{} holds {}s: the case camera reads packs; check a container that holds packs",
            tree.container.sscc, tree.container.child_level
        ));
    }
    let gtin = match Gtin::parse(&tree.container.gtin) {
        Ok(g) => g,
        Err(e) => return fail(format!("container {}: GTIN: {e}", tree.container.sscc)),
    };
    let places = match super::case_image::read_places(image, layout) {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    let outcome = crate::aggregation::case_check::check_case(
        &tree.packs,
        &gtin,
        &tree.container.lot,
        &places,
    );
    if json {
        println!(
            "{}",
            serde_json::json!({
                "sscc": tree.container.sscc,
                "good": outcome.is_good(),
                "packs_in_container": tree.packs.len(),
                "packs_read": outcome.read.len(),
                "places": places.iter().map(super::case_image::describe_place).collect::<Vec<_>>(),
                "problems": outcome.problems.iter().map(|p| p.to_string()).collect::<Vec<_>>(),
            })
        );
    } else {
        for (i, place) in places.iter().enumerate() {
            println!(
                "place {:>2}: {}",
                i + 1,
                super::case_image::describe_place(place)
            );
        }
        if outcome.is_good() {
            println!(
                "{}: the image shows exactly its {} packs",
                tree.container.sscc,
                tree.packs.len()
            );
        }
    }
    if outcome.is_good() {
        return ExitCode::SUCCESS;
    }
    eprintln!(
        "error: {} does not match its image ({} problem(s)); rework the case (`container rework`) or find the packs:",
        tree.container.sscc,
        outcome.problems.len()
    );
    for problem in &outcome.problems {
        eprintln!("  {problem}");
    }
    ExitCode::from(1)
}

/// Refuses `--partial` when the product's hierarchy says containers of this level
/// never close below capacity (`partial_at_batch_end = false`).
fn partial_allowed(store: &Store, sscc: &Sscc) -> Result<(), String> {
    let container = store.container(sscc).map_err(|e| e.to_string())?;
    let gtin = Gtin::parse(&container.gtin).map_err(|e| e.message)?;
    let product = store.product(&gtin).map_err(|e| e.to_string())?;
    match product
        .as_ref()
        .and_then(|p| p.aggregation_level(container.level))
    {
        Some(level) if !level.partial_at_batch_end => Err(format!(
            "the client file says a {} of GTIN {} never closes below capacity \
             (partial_at_batch_end = false): pack the rest, or rework {} to release its packs",
            container.level, container.gtin, container.sscc
        )),
        _ => Ok(()),
    }
}

pub fn run_sscc(cmd: SsccCommand, db: &Path) -> ExitCode {
    let actor = Actor::current_os_user();
    let mut store = match open_store(db) {
        Ok(s) => s,
        Err(code) => return code,
    };
    match cmd {
        SsccCommand::Generate {
            client,
            company_prefix,
            extension,
            count,
            json,
        } => {
            let found = match store.client(&client) {
                Ok(found) => found,
                Err(e) => return fail(e),
            };
            if found.is_none() && company_prefix.is_none() {
                return fail(format!(
                    "client {client:?} is not in this store: load its file with `config load` first"
                ));
            }
            let settings = found.and_then(|c| c.sscc);
            let (company_prefix, extension) =
                match sscc_settings(&client, settings.as_ref(), company_prefix, extension) {
                    Ok(v) => v,
                    Err(e) => return fail(e),
                };
            let request = Generate {
                client: &client,
                company_prefix: &company_prefix,
                extension,
                count,
                json,
            };
            generate(&mut store, &request, &actor)
        }
        SsccCommand::Import {
            client,
            company_prefix,
            column,
            delimiter,
            file,
        } => import_ssccs(
            &mut store,
            &client,
            company_prefix,
            &super::pool::ImportFile {
                file: &file,
                column: column.as_deref(),
                delimiter,
            },
        ),
        SsccCommand::Request {
            client,
            count,
            json,
        } => request_ssccs(&mut store, &client, count, json, &actor),
        SsccCommand::Status { client, json } => match store.sscc_pool_status(&client) {
            Ok(s) if json => {
                println!("{}", serde_json::json!(s));
                ExitCode::SUCCESS
            }
            Ok(s) => {
                println!(
                    "client {}: {} available, {} allocated, {} printed, {} commissioned, {} invalidated, {} decommissioned",
                    s.client_id,
                    s.available,
                    s.allocated,
                    s.printed,
                    s.commissioned,
                    s.invalidated,
                    s.decommissioned
                );
                ExitCode::SUCCESS
            }
            Err(e) => fail(e),
        },
    }
}

/// `sscc import`: the client's prefix unless another is given, then the file.
fn import_ssccs(
    store: &mut Store,
    client: &str,
    company_prefix: Option<String>,
    file: &super::pool::ImportFile<'_>,
) -> ExitCode {
    let company_prefix = match company_prefix {
        Some(p) => p,
        None => match store.client(client) {
            Ok(Some(c)) => match c.sscc {
                Some(s) => s.company_prefix,
                None => {
                    return fail(format!(
                        "client {client} has no GS1 Company Prefix in this store: add a [client.sscc] table with company_prefix = \"...\" to its client file and `config load` it, or give --company-prefix"
                    ));
                }
            },
            Ok(None) => {
                return fail(format!(
                    "client {client:?} is not in this store: load its file with `config load` first"
                ));
            }
            Err(e) => return fail(e),
        },
    };
    let actor = Actor::current_os_user();
    super::pool::import_file(
        store,
        file,
        |store, lines, shown| store.import_ssccs(client, &company_prefix, lines, shown, &actor),
        |count, shown| {
            format!(
                "imported {count} SSCCs from {shown} into the pool of client {client} (company prefix {company_prefix})"
            )
        },
    )
}

/// `sscc request`: asks the client's serial source and imports each answer.
fn request_ssccs(
    store: &mut Store,
    client: &str,
    count: u64,
    json: bool,
    actor: &Actor,
) -> ExitCode {
    let found = match store.client(client) {
        Ok(Some(c)) => c,
        Ok(None) => {
            return fail(format!(
                "client {client:?} is not in this store: load its file with `config load` first"
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
    match runtime.block_on(crate::pool::request::sscc::request_ssccs(
        store, &found, count, actor,
    )) {
        Ok(outcome) if json => {
            println!("{}", serde_json::json!(outcome));
            ExitCode::SUCCESS
        }
        Ok(outcome) => {
            println!(
                "imported {} SSCCs from {} into the pool of client {client} ({} request(s))",
                outcome.imported, outcome.source, outcome.requests
            );
            if !outcome.fulfilled {
                println!(
                    "  WARNING: asked for {} but the server granted only {}: its pool is running out",
                    outcome.requested, outcome.imported
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}

/// The product of `batch`, for its packaging hierarchy; `None` when the batch is
/// not in the store (opening the container then says so).
fn batch_product(store: &Store, batch: BatchId) -> Result<Option<Product>, StoreError> {
    let Some(record) = store.batch(batch)? else {
        return Ok(None);
    };
    let gtin = Gtin::parse(&record.gtin).map_err(|e| {
        StoreError::Corrupt(format!("batch {}: GTIN {}: {e}", batch.0, record.gtin))
    })?;
    store.product(&gtin)
}

/// What a new container of `level` holds and how many: as given on the command
/// line, else as the batch's product hierarchy says (`product`, `None` when the
/// batch is unknown). Without either, the level below is packs for a bundle or case
/// and cases for a pallet, and the capacity must be given. Pure.
fn container_plan(
    batch: BatchId,
    product: Option<&Product>,
    level: Level,
    holds: Option<Level>,
    capacity: Option<u64>,
) -> Result<(Level, u64), String> {
    let planned = product.and_then(|p| p.aggregation_level(level));
    let holds = match holds
        .or_else(|| product.and_then(|p| p.child_level(level)))
        .or(level.default_child())
    {
        Some(child) => child,
        None => return Err("a pack is not a container: open a bundle, case or pallet".to_string()),
    };
    if let Some(capacity) = capacity.or(planned.map(|l| l.capacity)) {
        return Ok((holds, capacity));
    }
    Err(match product {
        None => format!(
            "batch {} is not in this store: `batch list` shows the batches",
            batch.0
        ),
        Some(p) if p.aggregation.is_empty() => format!(
            "product {} of batch {} has no packaging hierarchy: add [[product.aggregation]] levels (level = \"{level}\", capacity = ...) to its client file and `config load` it, or give --capacity",
            p.gtin, batch.0
        ),
        Some(p) => format!(
            "the packaging hierarchy of product {} has no {level} level (it has {}): add one to its client file and `config load` it, or give --capacity",
            p.gtin,
            p.aggregation
                .iter()
                .map(|l| l.level.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    })
}

/// The GS1 Company Prefix and extension digit to generate SSCCs with: as given on
/// the command line, else the client's `[client.sscc]` (`settings`); the extension
/// digit is 0 when neither says. Pure.
fn sscc_settings(
    client: &str,
    settings: Option<&SsccSettings>,
    company_prefix: Option<String>,
    extension: Option<u8>,
) -> Result<(String, u8), String> {
    let company_prefix = company_prefix
        .or_else(|| settings.map(|s| s.company_prefix.clone()))
        .ok_or_else(|| {
            format!(
                "client {client} has no GS1 Company Prefix in this store: add a [client.sscc] table with company_prefix = \"...\" to its client file and `config load` it, or give --company-prefix"
            )
        })?;
    let extension = extension
        .or(settings.map(|s| s.extension_digit))
        .unwrap_or(0);
    Ok((company_prefix, extension))
}

/// What `sscc generate` was asked for, settled.
struct Generate<'a> {
    client: &'a str,
    company_prefix: &'a str,
    extension: u8,
    count: u64,
    json: bool,
}

fn generate(store: &mut Store, request: &Generate<'_>, actor: &Actor) -> ExitCode {
    match store.generate_ssccs(
        request.client,
        request.extension,
        request.company_prefix,
        request.count,
        actor,
    ) {
        Ok(g) if request.json => {
            println!("{}", serde_json::json!(g));
            ExitCode::SUCCESS
        }
        Ok(g) => {
            println!(
                "generated {} SSCCs for client {}: {} … {}",
                g.count, g.client_id, g.first, g.last
            );
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}

/// The tree as indented text: each container with its state and count, packs by
/// serial.
pub fn render_tree(tree: &ContainerTree) -> String {
    let mut out = String::new();
    write_tree(tree, 0, &mut out);
    out
}

fn write_tree(tree: &ContainerTree, depth: usize, out: &mut String) {
    use std::fmt::Write as _;
    let indent = "  ".repeat(depth);
    let c = &tree.container;
    let _ = writeln!(
        out,
        "{indent}{} (00){} [{}] {} of {} {}s, GTIN {} lot {}, {} pack(s) in all",
        c.level,
        c.sscc,
        c.state,
        c.count,
        c.capacity,
        c.child_level,
        c.gtin,
        c.lot,
        tree.pack_total()
    );
    for inner in &tree.containers {
        write_tree(inner, depth + 1, out);
    }
    for serial in &tree.packs {
        let _ = writeln!(out, "{indent}  pack (01){}(21){serial}", c.gtin);
    }
}

fn list(store: &Store, batch: BatchId, json: bool) -> ExitCode {
    let containers = match store.batch_containers(batch) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let reconciliation = match store.aggregation_reconciliation(batch) {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    if json {
        println!(
            "{}",
            serde_json::json!({"containers": containers, "reconciliation": reconciliation})
        );
        return ExitCode::SUCCESS;
    }
    for c in &containers {
        println!("{}", summary(c));
    }
    let r = &reconciliation;
    println!(
        "packs: {} commissioned = {} aggregated + {} loose{}",
        r.commissioned_packs,
        r.packs_aggregated,
        r.packs_loose,
        if r.packs_balance() {
            ""
        } else {
            "  DOES NOT BALANCE"
        }
    );
    for level in &r.levels {
        println!(
            "{}s: {} verified ({} children), {} labelled, {} closed, {} open, {} reworked",
            level.level,
            level.verified,
            level.children_in_verified,
            level.labelled,
            level.closed,
            level.open,
            level.rework
        );
    }
    println!(
        "SSCCs: {} allocated = {} used + {} invalidated + {} in progress{}",
        r.ssccs_allocated,
        r.ssccs_used,
        r.ssccs_invalidated,
        r.ssccs_in_progress,
        if r.ssccs_balance() {
            ""
        } else {
            "  DOES NOT BALANCE"
        }
    );
    ExitCode::SUCCESS
}

/// The handheld session: the first scan names the container, every following scan
/// a child packed into it at once; an empty line or `done` ends the container.
fn scan_session(store: &mut Store, actor: &Actor) -> ExitCode {
    let stdin = std::io::stdin();
    let mut parent: Option<Sscc> = None;
    let mut refused = 0u64;
    println!("scan a container's label (end of input quits)");
    for line in stdin.lock().lines() {
        let line = match line {
            Ok(l) => l,
            Err(e) => return fail(format!("reading the scanner: {e}")),
        };
        let text = line.trim_matches(|c: char| c == '\r' || c == ' ');
        if text.is_empty() || text.eq_ignore_ascii_case("done") {
            if let Some(p) = parent.take() {
                match store.container(&p) {
                    Ok(c) => println!("done with {}", summary(&c)),
                    Err(e) => eprintln!("error: {e}"),
                }
            }
            println!("scan a container's label");
            continue;
        }
        match &parent {
            None => match sscc_arg(text).and_then(|s| {
                store
                    .container(&s)
                    .map(|c| (s, c))
                    .map_err(|e| e.to_string())
            }) {
                Ok((sscc, c)) => {
                    println!("{}: scan its children", summary(&c));
                    parent = Some(sscc);
                }
                Err(e) => {
                    refused += 1;
                    eprintln!("refused: {e}");
                }
            },
            Some(p) => match scan_arg(text)
                .and_then(|child| store.pack(p, &[child], actor).map_err(|e| e.to_string()))
            {
                Ok(c) => println!("ok: {} of {}", c.count, c.capacity),
                Err(e) => {
                    refused += 1;
                    eprintln!("refused: {e}");
                }
            },
        }
    }
    if refused > 0 {
        println!("{refused} scan(s) refused: nothing of them was recorded");
    }
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{AggregationLevel, LabelLayout};

    fn product(levels: &[(Level, u64)]) -> Product {
        Product {
            gtin: Gtin::parse("09506000134352").unwrap(),
            client_id: "acme".into(),
            name: "p".into(),
            company_prefix_length: 7,
            markets: vec!["DE".into()],
            code_template: Vec::new(),
            nhrn: Default::default(),
            min_grade: 1.5,
            low_water_mark: 0,
            consecutive_reject_limit: 3,
            aggregation: levels
                .iter()
                .map(|&(level, capacity)| AggregationLevel {
                    level,
                    capacity,
                    partial_at_batch_end: true,
                    label: LabelLayout::default(),
                })
                .collect(),
        }
    }

    #[test]
    fn a_container_takes_what_the_command_line_gives_else_the_hierarchy() {
        let b = BatchId(7);
        let p = product(&[(Level::Bundle, 10), (Level::Case, 6), (Level::Pallet, 40)]);
        assert_eq!(
            container_plan(b, Some(&p), Level::Case, None, None),
            Ok((Level::Bundle, 6))
        );
        assert_eq!(
            container_plan(b, Some(&p), Level::Pallet, None, None),
            Ok((Level::Case, 40))
        );
        // The command line wins, each part on its own.
        assert_eq!(
            container_plan(b, Some(&p), Level::Case, Some(Level::Pack), None),
            Ok((Level::Pack, 6))
        );
        assert_eq!(
            container_plan(b, Some(&p), Level::Case, None, Some(3)),
            Ok((Level::Bundle, 3))
        );
        // No hierarchy: the usual child level, and the capacity must be given.
        let plain = product(&[]);
        assert_eq!(
            container_plan(b, Some(&plain), Level::Pallet, None, Some(2)),
            Ok((Level::Case, 2))
        );
        let e = container_plan(b, Some(&plain), Level::Case, None, None).unwrap_err();
        assert!(
            e.contains("has no packaging hierarchy")
                && e.contains("[[product.aggregation]]")
                && e.contains("--capacity"),
            "{e}"
        );
        let cases = product(&[(Level::Case, 12)]);
        let e = container_plan(b, Some(&cases), Level::Pallet, None, None).unwrap_err();
        assert!(e.contains("has no pallet level (it has case)"), "{e}");
        assert_eq!(
            container_plan(b, Some(&cases), Level::Pallet, None, Some(4)),
            Ok((Level::Case, 4))
        );
        let e = container_plan(b, None, Level::Case, None, None).unwrap_err();
        assert!(e.starts_with("batch 7 is not in this store"), "{e}");
        assert_eq!(
            container_plan(b, None, Level::Case, None, Some(12)),
            Ok((Level::Pack, 12))
        );
    }

    #[test]
    fn ssccs_take_the_client_prefix_unless_one_is_given() {
        let own = SsccSettings {
            company_prefix: "9506000".into(),
            extension_digit: 3,
            serialbox_pool: None,
        };
        assert_eq!(
            sscc_settings("acme", Some(&own), None, None),
            Ok(("9506000".to_string(), 3))
        );
        assert_eq!(
            sscc_settings("acme", Some(&own), Some("0614141".into()), Some(0)),
            Ok(("0614141".to_string(), 0))
        );
        assert_eq!(
            sscc_settings("acme", None, Some("0614141".into()), None),
            Ok(("0614141".to_string(), 0))
        );
        let e = sscc_settings("acme", None, None, Some(1)).unwrap_err();
        assert!(
            e.contains("client acme has no GS1 Company Prefix")
                && e.contains("[client.sscc]")
                && e.contains("--company-prefix"),
            "{e}"
        );
    }
}
