//! `serialstation demo`: the main job. By default one real batch on the simulated
//! line (`crate::demo`). With `--scripted`, a session an operator can follow
//! on an embedded SQLite store in a working directory it names. Each step is the
//! command an operator would type, run in-process, so the demo shows the real
//! commands and their real output: load the example clients, generate a serial
//! pool, reserve a serial for a sample code, check the code, print it as a GS1
//! DataMatrix, decode and grade it, show the pool and verify the audit trail.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::config::model::TemplateAi;
use crate::gs1::{ElementString, Gs1Date};
use crate::store::{Actor, NewBatch, SerialState, Store};

/// The example client files, embedded so the demo runs from any directory.
const EXAMPLE_CLIENTS: &[(&str, &str)] = &[
    ("acme.toml", include_str!("../../config/clients/acme.toml")),
    (
        "nordpharma.toml",
        include_str!("../../config/clients/nordpharma.toml"),
    ),
];

/// The product the demo works with (from `acme.toml`).
const DEMO_GTIN: &str = "09506000134352";

/// Marks a folder as the demo's own, so a later run may reset it.
const MARKER: &str = ".serialstation-demo";

#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    /// Working directory for the demo's store, configuration and images. It is
    /// created, or reset if an earlier demo made it.
    #[arg(long, default_value = "serialstation-demo")]
    pub workdir: PathBuf,
    /// Serials to generate into the pool of the scripted session.
    #[arg(long, default_value_t = 100_000)]
    pub pool_size: u64,
    /// Instead of a batch on the simulated line, walk through the station's
    /// commands one by one (configuration, pool, GS1 check, DataMatrix print and
    /// grade, audit trail).
    #[arg(long)]
    pub scripted: bool,
    /// Items to commission in the line demo.
    #[arg(long, default_value_t = 1_000)]
    pub items: u32,
    /// Line speed of the line demo, items per minute.
    #[arg(long = "rate", default_value_t = 1_200.0)]
    pub rate_per_min: f64,
    /// Faults injected into the simulated line.
    #[arg(long, value_enum, default_value = "default")]
    pub faults: crate::demo::FaultLevel,
    /// Line demo without rendering and decoding images (throughput mode).
    #[arg(long)]
    pub no_images: bool,
    /// Seed of the simulated line.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

pub fn run(args: DemoArgs) -> ExitCode {
    if let Err(e) = crate::limits::check_count(
        "--items",
        u64::from(args.items),
        crate::limits::MAX_DEMO_ITEMS,
        "a demo batch is for watching the line; use `serialstation daemon` for long runs",
    ) {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    if !(args.rate_per_min.is_finite() && args.rate_per_min > 0.0 && args.rate_per_min <= 600_000.0)
    {
        eprintln!(
            "error: --rate {}: give items per minute, more than 0 and at most 600,000",
            args.rate_per_min
        );
        return ExitCode::from(2);
    }
    if !args.scripted {
        return run_line_demo(&args);
    }
    match run_demo(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("demo failed: {message}");
            ExitCode::from(1)
        }
    }
}

/// The line demo (`crate::demo::run_line_demo`) with these arguments; exit 1 if it
/// could not run or any invariant failed.
fn run_line_demo(args: &DemoArgs) -> ExitCode {
    let options = crate::demo::LineDemoOptions {
        workdir: args.workdir.clone(),
        items: args.items,
        rate_per_min: args.rate_per_min,
        faults: args.faults,
        images: !args.no_images,
        seed: args.seed,
        progress: true,
        daemon_exe: None,
    };
    match crate::demo::run_line_demo(&options) {
        Ok(outcome) if outcome.passed() => {
            println!("\nline demo passed: every invariant holds");
            ExitCode::SUCCESS
        }
        Ok(_) => {
            println!("\nline demo FAILED: an invariant does not hold (see above)");
            ExitCode::from(1)
        }
        Err(message) => {
            eprintln!("line demo failed: {message}");
            ExitCode::from(1)
        }
    }
}

fn run_demo(args: &DemoArgs) -> Result<(), String> {
    let workdir = prepare_workdir(&args.workdir)?;
    let db = workdir.join("serialstation.sqlite");
    let config_dir = workdir.join("config");
    println!(
        "serialstation demo: working directory {}",
        workdir.display()
    );
    println!("store: {} (SQLite)\n", db.display());

    let db_arg = db.display().to_string();
    let config_arg = config_dir.display().to_string();
    let step = |argv: &[&str]| run_step(&db_arg, argv);

    step(&["config", "check", &config_arg])?;
    step(&["config", "load", &config_arg])?;
    step(&["product", "list"])?;
    let count = args.pool_size.to_string();
    step(&[
        "pool",
        "generate",
        "--gtin",
        DEMO_GTIN,
        "--count",
        &count,
        "--random",
        "--length",
        "12",
        "--alphabet",
        "alphanumeric",
    ])?;

    let code = reserve_sample_code(&db)?;
    let hri = code.to_hri();
    let png = workdir.join("sample-code.png").display().to_string();
    step(&["gs1", "check", &hri])?;
    // What an operator sees when a code is wrong: a check digit off by one.
    let bad = hri.replacen("(01)09506000134352", "(01)09506000134353", 1);
    run_step_expecting_failure(&db_arg, &["gs1", "check", &bad])?;
    step(&["gs1", "convert", &hri, "--to", "dl"])?;
    step(&["vision", "encode", &hri, "-o", &png])?;
    step(&["vision", "decode", &png])?;
    step(&["pool", "status"])?;
    step(&["audit", "verify"])?;

    println!("demo complete: every step succeeded. Look around with:");
    println!("  serialstation --db {db_arg} audit list");
    println!("  serialstation --db {db_arg} pool status --json");
    Ok(())
}

/// Runs one `serialstation` command in-process, echoing it like a shell would;
/// it must succeed.
fn run_step(db: &str, argv: &[&str]) -> Result<(), String> {
    if run_command(db, argv)? {
        Ok(())
    } else {
        Err(format!("step `serialstation {}` failed", shell_words(argv)))
    }
}

/// Runs a command that must be refused (to show what an operator sees).
fn run_step_expecting_failure(db: &str, argv: &[&str]) -> Result<(), String> {
    if run_command(db, argv)? {
        Err(format!(
            "step `serialstation {}` should have been refused",
            shell_words(argv)
        ))
    } else {
        println!("(refused, as it should be)\n");
        Ok(())
    }
}

/// Runs one command in-process; true when it exited 0.
fn run_command(db: &str, argv: &[&str]) -> Result<bool, String> {
    println!("$ serialstation {}", shell_words(argv));
    let mut full = vec!["serialstation", "--db", db];
    full.extend_from_slice(argv);
    let cli = super::Cli::try_parse_from_args(&full).map_err(|e| e.to_string())?;
    let code = super::dispatch(cli);
    println!();
    Ok(code == ExitCode::SUCCESS)
}

/// The arguments as a shell command line an operator can paste.
fn shell_words(argv: &[&str]) -> String {
    argv.iter()
        .map(|a| {
            if !a.is_empty()
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./=:".contains(c))
            {
                (*a).to_string()
            } else {
                format!("'{}'", a.replace('\'', "'\\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Creates the working directory with the example configuration; an earlier
/// demo's directory (it carries the marker file) is reset, anything else is left
/// alone and refused.
fn prepare_workdir(dir: &Path) -> Result<PathBuf, String> {
    if dir.exists() {
        if !dir.join(MARKER).exists() {
            return Err(format!(
                "{} exists and was not made by the demo; name another with --workdir",
                dir.display()
            ));
        }
        std::fs::remove_dir_all(dir).map_err(|e| format!("cannot reset {}: {e}", dir.display()))?;
    }
    let config_dir = dir.join("config");
    std::fs::create_dir_all(&config_dir)
        .map_err(|e| format!("cannot create {}: {e}", config_dir.display()))?;
    std::fs::write(
        dir.join(MARKER),
        "made by `serialstation demo`; reset by its next run\n",
    )
    .map_err(|e| format!("cannot write in {}: {e}", dir.display()))?;
    for (name, text) in EXAMPLE_CLIENTS {
        let path = config_dir.join(name);
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    std::fs::canonicalize(dir).map_err(|e| format!("cannot resolve {}: {e}", dir.display()))
}

/// Opens a sample batch, reserves one serial for it (write-ahead, as the line
/// does), and builds the product's code for it. The sample serial is then
/// invalidated: it is printed on paper, never on a pack, so it must never be
/// used again.
fn reserve_sample_code(db: &Path) -> Result<ElementString, String> {
    let mut store = Store::open(db).map_err(|e| e.to_string())?;
    let actor = Actor::current_os_user();
    let gtin = crate::gs1::Gtin::parse(DEMO_GTIN).map_err(|e| e.to_string())?;
    let product = store
        .product(&gtin)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("product {DEMO_GTIN} is not in the store"))?;
    let expiry = expiry_two_years_ahead();
    let lot = "DEMO-SAMPLE".to_string();
    let batch = store
        .create_batch(
            &NewBatch {
                gtin: gtin.clone(),
                lot: lot.clone(),
                expiry: expiry.clone(),
                quantity: 1,
            },
            &actor,
        )
        .map_err(|e| e.to_string())?;
    let serials = store
        .allocate_block(batch, &gtin, 1, &actor)
        .map_err(|e| e.to_string())?;
    let sample = serials.first().ok_or("the pool is empty")?;
    println!(
        "reserved serial {} for a sample code (batch {}, lot {lot}, expiry {expiry})",
        sample.serial, batch.0
    );
    let mut pairs = Vec::new();
    for field in &product.code_template {
        let value = match field {
            TemplateAi::Gtin => gtin.as_str().to_string(),
            TemplateAi::Expiry => expiry.clone(),
            TemplateAi::ProductionDate => continue,
            TemplateAi::Lot => lot.clone(),
            TemplateAi::Serial => sample.serial.clone(),
            TemplateAi::Nhrn(_) => product.nhrn.get(&field.ai()).cloned().ok_or_else(|| {
                format!("product {DEMO_GTIN} has no value for AI ({})", field.ai())
            })?,
        };
        pairs.push((field.ai(), value));
    }
    let code = ElementString::from_pairs(pairs).map_err(|e| e.to_string())?;
    store
        .transition_serials(
            &[sample.id],
            SerialState::SnInvalid,
            "sample code printed on paper",
            &actor,
        )
        .map_err(|e| e.to_string())?;
    println!("code: {}\n", code.to_hri());
    Ok(code)
}

/// The last day of the month two years from now, as YYMMDD.
fn expiry_two_years_ahead() -> String {
    let now = crate::store::clock::format_unix_ms(crate::store::clock::now_unix_ms());
    let year: i32 = now.get(0..4).and_then(|y| y.parse().ok()).unwrap_or(2026) + 2;
    let month: u8 = now.get(5..7).and_then(|m| m.parse().ok()).unwrap_or(12);
    let date = Gs1Date {
        year,
        month,
        day: crate::gs1::date::days_in_month(year, month),
        day_was_zero: false,
    };
    date.to_yymmdd()
}
