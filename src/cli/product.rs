//! `serialstation product`: the product master as loaded into the store.

use std::path::Path;
use std::process::ExitCode;

use crate::cli::pool::fail;
use crate::config::text::{escape_unsafe, escape_unsafe_json};
use crate::store::Store;

#[derive(clap::Subcommand, Debug)]
pub enum ProductCommand {
    /// List products with client, GTIN, code template and minimum grade.
    List {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(cmd: ProductCommand, db: &Path) -> ExitCode {
    match cmd {
        ProductCommand::List { json } => list(db, json),
    }
}

fn list(db: &Path, json: bool) -> ExitCode {
    let products = match Store::open_existing(db).and_then(|s| s.products()) {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    if json {
        // Names from older stores may hold control characters: escape them (the
        // JSON value is the same).
        match serde_json::to_string(&products) {
            Ok(text) => println!("{}", escape_unsafe_json(&text)),
            Err(e) => return fail(format!("cannot print the product list: {e}")),
        }
        return ExitCode::SUCCESS;
    }
    if products.is_empty() {
        println!(
            "no products yet: load a client configuration first (serialstation config load FILE)"
        );
        return ExitCode::SUCCESS;
    }
    println!(
        "{:<12} {:<14} {:<24} {:>9}  NAME",
        "CLIENT", "GTIN", "TEMPLATE", "MIN GRADE"
    );
    for p in products {
        let template: Vec<String> = p.code_template.iter().map(|t| t.ai()).collect();
        // Stores written before names were checked may hold control characters
        // (e.g. "\u{1b}[2J" clears the screen): show them escaped, never raw.
        println!(
            "{:<12} {:<14} {:<24} {:>9.1}  {}",
            escape_unsafe(&p.client_id),
            p.gtin,
            template.join(","),
            p.min_grade,
            escape_unsafe(&p.name)
        );
    }
    ExitCode::SUCCESS
}
