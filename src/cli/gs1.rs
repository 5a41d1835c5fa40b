//! `serialstation gs1`: check, convert and translate GS1 data from the command line.
//!
//! Contract (other tools call it): `gs1 check DATA [--json]` exits 0 when DATA is
//! valid, 1 when not (one plain line on stderr), 2 on usage errors (from clap). With
//! `--json` it prints one object with `valid`, `element_string`, `hri`, `ais`,
//! `digital_link` and `error` (keys that do not apply are omitted).

use std::process::ExitCode;

use serde::Serialize;
use serialstation_gs1::digital_link::CANONICAL_BASE;
use serialstation_gs1::{AiValue, ElementString, Gs1Error, Gtin, epc};

#[derive(clap::Subcommand, Debug)]
pub enum Gs1Command {
    /// Validate GS1 data in any read form: (01)... bracketed, ^01... FNC1 notation,
    /// ]d2... scan data (GS = 0x1D separators), or a GS1 Digital Link URI.
    Check {
        /// The data to check.
        data: String,
        /// Print one JSON object instead of plain text.
        #[arg(long)]
        json: bool,
    },
    /// Convert GS1 data to another form.
    Convert {
        /// The data to convert (any read form).
        data: String,
        /// Target form.
        #[arg(long, value_enum)]
        to: ConvertTarget,
        /// Digital Link domain (with --to dl).
        #[arg(long, default_value = CANONICAL_BASE)]
        base: String,
    },
    /// Print the EPC URIs (SGTIN, and LGTIN with --lot) of a GTIN and serial.
    Epc {
        /// GTIN-8, -12, -13 or -14.
        #[arg(long)]
        gtin: String,
        /// Length of the GS1 Company Prefix inside the GTIN (6 to 12).
        #[arg(long = "gcp-length")]
        gcp_length: usize,
        /// Serial number.
        #[arg(long)]
        serial: String,
        /// Lot number (also prints the LGTIN class URI).
        #[arg(long)]
        lot: Option<String>,
    },
}

/// Forms `gs1 convert` writes.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum ConvertTarget {
    /// Bracketed human-readable interpretation.
    Hri,
    /// FNC1 notation with ^.
    Fnc1,
    /// GS1 Digital Link URI.
    Dl,
    /// Scan data as a scanner transmits it (]d2, GS separators).
    Scan,
}

#[derive(Serialize, Default)]
struct CheckReport {
    valid: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    element_string: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ais: Option<Vec<AiValue>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    digital_link: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

pub fn run(cmd: Gs1Command) -> ExitCode {
    match cmd {
        Gs1Command::Check { data, json } => check(&data, json),
        Gs1Command::Convert { data, to, base } => convert(&data, to, &base),
        Gs1Command::Epc {
            gtin,
            gcp_length,
            serial,
            lot,
        } => epc_uris(&gtin, gcp_length, &serial, lot.as_deref()),
    }
}

fn print_json(report: &CheckReport) {
    match serde_json::to_string(report) {
        Ok(text) => println!("{text}"),
        Err(e) => eprintln!("cannot write the JSON report: {e}"),
    }
}

fn check(data: &str, json: bool) -> ExitCode {
    match ElementString::parse(data) {
        Ok(es) => {
            if json {
                print_json(&CheckReport {
                    valid: true,
                    element_string: Some(es.to_fnc1()),
                    hri: Some(es.to_hri()),
                    ais: Some(es.ais().to_vec()),
                    digital_link: es.to_digital_link(CANONICAL_BASE).ok(),
                    error: None,
                });
            } else {
                println!("valid: {}", es.to_hri());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            if json {
                print_json(&CheckReport {
                    valid: false,
                    error: Some(e.message.clone()),
                    ..CheckReport::default()
                });
            }
            eprintln!("{}", e.message);
            ExitCode::from(1)
        }
    }
}

fn convert(data: &str, to: ConvertTarget, base: &str) -> ExitCode {
    let result: Result<String, Gs1Error> = ElementString::parse(data).and_then(|es| match to {
        ConvertTarget::Hri => Ok(es.to_hri()),
        ConvertTarget::Fnc1 => Ok(es.to_fnc1()),
        ConvertTarget::Scan => Ok(es.to_scan_data()),
        ConvertTarget::Dl => es.to_digital_link(base),
    });
    match result {
        Ok(text) => {
            println!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{}", e.message);
            ExitCode::from(1)
        }
    }
}

fn epc_uris(gtin: &str, gcp_length: usize, serial: &str, lot: Option<&str>) -> ExitCode {
    let result = Gtin::parse(gtin).and_then(|g| {
        let mut lines = vec![epc::sgtin_uri(&g, gcp_length, serial)?];
        if let Some(lot) = lot {
            lines.push(epc::lgtin_uri(&g, gcp_length, lot)?);
        }
        Ok(lines)
    });
    match result {
        Ok(lines) => {
            for line in lines {
                println!("{line}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{}", e.message);
            ExitCode::from(1)
        }
    }
}
