//! `serialstation audit`: verify the audit trail's hash chain and list its last rows.

use std::path::Path;
use std::process::ExitCode;

use crate::cli::pool::fail;
use crate::store::Store;

#[derive(clap::Subcommand, Debug)]
pub enum AuditCommand {
    /// Check the hash chain of the whole audit trail; exits 1 at the first broken row.
    Verify {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Start a new anchor file when the old one is known to be lost (recorded in
    /// the audit trail with the reason). Refused while an anchor file exists.
    Anchor {
        /// Required: start a new anchor file.
        #[arg(long)]
        new: bool,
        /// Why the old anchor file is gone.
        #[arg(long)]
        reason: String,
    },
    /// Show the last audit rows (oldest first).
    List {
        /// How many rows.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(cmd: AuditCommand, db: &Path) -> ExitCode {
    let mut store = match Store::open_existing(db) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    match cmd {
        AuditCommand::Verify { json } => {
            let v = match store.verify_audit() {
                Ok(v) => v,
                Err(e) => return fail(e),
            };
            if json {
                println!("{}", serde_json::json!(v));
            } else if let Some(broken) = &v.first_broken {
                eprintln!(
                    "error: the audit trail was tampered with at row {}: {} ({} rows before it are intact)",
                    broken.id, broken.reason, v.rows_checked
                );
            } else if let Some(problem) = v.anchor.as_ref().and_then(|a| a.problem.as_ref()) {
                eprintln!("error: the audit trail does not match its anchors: {problem}");
            } else {
                let anchors = v.anchor.as_ref().map_or(0, |a| a.anchors);
                println!(
                    "audit trail intact: {} rows, head hash {}; {anchors} anchors match",
                    v.rows_checked, v.head_hash
                );
            }
            if v.is_intact() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        AuditCommand::Anchor { new, reason } => {
            if !new {
                return fail("say --new to start a new anchor file");
            }
            match store.start_new_anchor(&crate::store::Actor::current_os_user(), &reason) {
                Ok((rows, head)) => {
                    println!(
                        "new anchor file started at row {rows} (head hash {head}); the reason is in the audit trail"
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => fail(e),
            }
        }
        AuditCommand::List { limit, json } => {
            let entries = match store.audit_tail(limit) {
                Ok(e) => e,
                Err(e) => return fail(e),
            };
            if json {
                println!("{}", serde_json::json!(entries));
                return ExitCode::SUCCESS;
            }
            for e in entries {
                println!("#{} {} {} {} {}", e.id, e.at, e.actor, e.action, e.subject);
                if let Some(before) = &e.before {
                    println!("    before: {before}");
                }
                if let Some(after) = &e.after {
                    println!("    after:  {after}");
                }
            }
            ExitCode::SUCCESS
        }
    }
}
