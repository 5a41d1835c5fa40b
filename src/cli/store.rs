//! `serialstation store`: the full integrity check and online backups of the store.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::cli::pool::fail;
use crate::store::Store;
use crate::store::integrity::{self, StoreCheck};

#[derive(clap::Subcommand, Debug)]
pub enum StoreCommand {
    /// Check every page, index and foreign key, the audit chain and its anchors;
    /// exits 1 if anything is wrong. Read-only: safe beside a running daemon.
    Check {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Copy the store to FILE while the daemon runs (SQLite's backup API: one
    /// consistent instant), with its own anchor file beside it.
    Backup {
        /// The new backup file (must not exist).
        file: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(cmd: StoreCommand, db: &Path) -> ExitCode {
    match cmd {
        StoreCommand::Check { json } => check(db, json),
        StoreCommand::Backup { file, json } => backup(db, &file, json),
    }
}

fn check(db: &Path, json: bool) -> ExitCode {
    let report = match integrity::full_check(db) {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    if json {
        println!(
            "{}",
            serde_json::json!({ "sound": report.is_sound(), "check": report })
        );
    } else {
        print!("{}", check_text(&report));
    }
    if report.is_sound() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// The check as the operator reads it: one line per part, every problem named.
fn check_text(report: &StoreCheck) -> String {
    let mut lines = vec![format!(
        "store {} (schema version {})",
        report.path, report.schema_version
    )];
    fn part(lines: &mut Vec<String>, name: &str, problems: &[String]) {
        if problems.is_empty() {
            lines.push(format!("  {name}: ok"));
        } else {
            lines.push(format!("  {name}: {} problem(s)", problems.len()));
            lines.extend(problems.iter().map(|p| format!("    {p}")));
        }
    }
    part(&mut lines, "pages and indexes", &report.page_problems);
    part(&mut lines, "foreign keys", &report.foreign_key_problems);
    match &report.audit {
        Some(a) => {
            let chain: Vec<String> = a
                .first_broken
                .iter()
                .map(|b| format!("row {}: {}", b.id, b.reason))
                .collect();
            part(&mut lines, "audit chain", &chain);
            let anchors: Vec<String> = a.anchor.iter().filter_map(|x| x.problem.clone()).collect();
            part(&mut lines, "audit anchors", &anchors);
            lines.push(format!(
                "  audit trail: {} rows, head hash {}",
                a.rows_checked, a.head_hash
            ));
        }
        None => lines.push("  audit trail: not checked".to_string()),
    }
    if !report.other_problems.is_empty() {
        part(&mut lines, "other", &report.other_problems);
    }
    lines.push(if report.is_sound() {
        "store is sound".to_string()
    } else {
        "store is NOT sound: stop the daemon and restore the last backup (README: \
         \"Restoring a store\")"
            .to_string()
    });
    lines.join("\n") + "\n"
}

fn backup(db: &Path, file: &Path, json: bool) -> ExitCode {
    let store = match Store::open_existing(db) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    match store.backup_to(file) {
        Ok(outcome) if json => {
            println!("{}", serde_json::json!(outcome));
            ExitCode::SUCCESS
        }
        Ok(outcome) => {
            println!(
                "backed up {} to {} ({} bytes; audit trail {} rows, head hash {}); its anchor file is {}",
                db.display(),
                outcome.path.display(),
                outcome.bytes,
                outcome.audit_rows,
                outcome.audit_head,
                outcome.anchor_path.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}
