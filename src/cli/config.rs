//! `serialstation config`: check client configuration files and load them into the store.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::cli::pool::fail;
use crate::config::text::escape_unsafe;
use crate::config::{AcrossFiles, ConfigReport, check_client_file};
use crate::store::products::Change;
use crate::store::{Actor, Store};

#[derive(clap::Subcommand, Debug)]
pub enum ConfigCommand {
    /// Check client files (or every *.toml in a folder); problems are listed with file, line and field.
    Check {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Check client files and, if all are valid, write their clients and products to the store.
    Load {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Read your password from standard input to sign (stations with enrolled
        /// users: QA or an administrator signs every configuration change).
        #[arg(long)]
        password_stdin: bool,
    },
}

pub fn run(cmd: ConfigCommand, db: &Path) -> ExitCode {
    match cmd {
        ConfigCommand::Check { files } => match check_all(&files) {
            Ok(_) => ExitCode::SUCCESS,
            Err(code) => code,
        },
        ConfigCommand::Load {
            files,
            password_stdin,
        } => load(db, &files, password_stdin),
    }
}

/// The files named, with folders expanded to their `*.toml` files (sorted).
fn expand(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let entries = std::fs::read_dir(path)
                .map_err(|e| format!("cannot list {}: {e}", path.display()))?;
            let mut found: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .collect();
            if found.is_empty() {
                return Err(format!("{} holds no .toml files", path.display()));
            }
            found.sort();
            files.extend(found);
        } else {
            files.push(path.clone());
        }
    }
    Ok(files)
}

/// Checks every file, and the files against each other (a client or a GTIN defined
/// in two files must be defined identically), prints every issue, and returns the
/// reports if none has errors.
fn check_all(paths: &[PathBuf]) -> Result<Vec<ConfigReport>, ExitCode> {
    let files = expand(paths).map_err(fail)?;
    let mut reports = Vec::new();
    let mut errors = 0usize;
    let mut across = AcrossFiles::new();
    for file in &files {
        let mut report = check_client_file(file);
        across.check(&file.display().to_string(), &mut report);
        for issue in &report.issues {
            eprintln!("{issue}");
        }
        let file_errors = report.errors().count();
        errors += file_errors;
        match &report.config {
            Some(c) if file_errors == 0 => {
                println!(
                    "{}: OK (client {}, {} product(s))",
                    escape_unsafe(&file.display().to_string()),
                    c.client.id,
                    c.products.len()
                )
            }
            _ => eprintln!(
                "{}: {file_errors} error(s)",
                escape_unsafe(&file.display().to_string())
            ),
        }
        reports.push(report);
    }
    if errors > 0 {
        return Err(ExitCode::from(1));
    }
    Ok(reports)
}

fn load(db: &Path, paths: &[PathBuf], password_stdin: bool) -> ExitCode {
    let reports = match check_all(paths) {
        Ok(r) => r,
        Err(code) => {
            eprintln!("nothing was loaded: fix the errors above first");
            return code;
        }
    };
    let mut store = match Store::open(db) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let subject = reports
        .iter()
        .filter_map(|r| r.config.as_ref())
        .map(|c| format!("client {}", c.client.id))
        .collect::<Vec<_>>()
        .join(", ");
    let actor = match crate::cli::user::sign_if_enrolled(
        &mut store,
        crate::cli::password::PasswordSource::from_flag(password_stdin),
        crate::access::Action::ChangeConfiguration,
        "config.load",
        &subject,
    ) {
        Ok(Some(signed)) => Actor::new(signed.signer),
        Ok(None) => Actor::current_os_user(),
        Err(e) => return fail(format!("{e}; nothing was loaded")),
    };
    let configs: Vec<_> = reports.iter().filter_map(|r| r.config.as_ref()).collect();
    let mut progress = crate::cli::progress::Progress::new("loading files", configs.len() as u64);
    for (done, config) in configs.into_iter().enumerate() {
        progress.update(done as u64);
        match store.load_client_config(config, &actor) {
            Ok(report) => {
                progress.println(&format!(
                    "client {}: {}",
                    report.client_id,
                    describe(report.client)
                ));
                for (gtin, change) in report.products {
                    progress.println(&format!("  product {gtin}: {}", describe(change)));
                }
            }
            Err(e) => {
                progress.finish();
                return fail(e);
            }
        }
    }
    progress.finish();
    ExitCode::SUCCESS
}

fn describe(change: Change) -> &'static str {
    match change {
        Change::Added => "added",
        Change::Updated => "updated",
        Change::Unchanged => "unchanged",
    }
}
