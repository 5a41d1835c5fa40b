//! `serialstation product`: the product master as loaded into the store.

use std::path::Path;
use std::process::ExitCode;

use crate::cli::pool::fail;
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
        match serde_json::to_string(&products) {
            Ok(text) => println!("{text}"),
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
        println!(
            "{:<12} {:<14} {:<24} {:>9.1}  {}",
            p.client_id,
            p.gtin,
            template.join(","),
            p.min_grade,
            p.name
        );
    }
    ExitCode::SUCCESS
}
