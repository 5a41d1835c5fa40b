//! `serialstation item decommission SERIAL --reason R`: takes a commissioned pack
//! out through the daemon (so a running batch counts it), recorded with its reason
//! and reported to the site server.

use std::path::Path;
use std::process::ExitCode;

use crate::cli::batch::answer;
use crate::cli::password::SignArgs;
use crate::control::protocol::Request;

#[derive(clap::Subcommand, Debug)]
pub enum ItemCommand {
    /// Decommission a commissioned pack: `sample` (QA sample), `damaged`,
    /// `destroyed`, or another one-word reason.
    Decommission {
        /// The serial number, as printed after (21).
        serial: String,
        /// sample | damaged | destroyed | another word
        #[arg(long)]
        reason: String,
        /// The GTIN, when the serial exists for more than one product.
        #[arg(long)]
        gtin: Option<String>,
        #[command(flatten)]
        sign: SignArgs,
    },
}

pub fn run(cmd: ItemCommand, db: &Path, socket: &Path) -> ExitCode {
    match cmd {
        ItemCommand::Decommission {
            serial,
            reason,
            gtin,
            sign,
        } => match sign.signature() {
            Ok(signature) => answer(
                socket,
                db,
                &Request::ItemDecommission {
                    serial,
                    gtin,
                    reason,
                    signature,
                },
            ),
            Err(e) => crate::cli::pool::fail(e),
        },
    }
}
