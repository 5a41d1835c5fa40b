//! The `serialstation` command line: parses arguments and hands each subcommand to
//! the module that owns it. Exit codes: 0 success, 1 the command's check failed or
//! it could not do its work, 2 usage errors.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub mod audit;
pub mod batch;
pub mod case_image;
pub mod case_station;
pub mod config;
pub mod console;
pub mod container;
pub mod daemon;
pub mod demo;
pub mod gs1;
pub mod item;
pub mod pallet_station;
pub mod password;
pub mod pool;
pub mod product;
pub mod progress;
pub mod store;
pub mod upload;
pub mod user;
pub mod vision;

#[derive(Parser, Debug)]
#[command(
    name = "serialstation",
    version,
    about = "Line-side serialization station controller"
)]
pub struct Cli {
    /// The station's SQLite store (created if missing).
    #[arg(
        long,
        global = true,
        env = "SERIALSTATION_DB",
        default_value = "serialstation.sqlite"
    )]
    pub db: std::path::PathBuf,

    /// The station daemon's control socket (default: the store's path with the
    /// extension `.sock`).
    #[arg(long, global = true, env = "SERIALSTATION_SOCKET")]
    pub socket: Option<std::path::PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Check and convert GS1 data (element strings, scan data, Digital Link).
    #[command(subcommand)]
    Gs1(gs1::Gs1Command),
    /// Serial number pools: import, generate, status.
    #[command(subcommand)]
    Pool(pool::PoolCommand),
    /// Client, product and line configuration files.
    #[command(subcommand)]
    Config(config::ConfigCommand),
    /// The product master.
    #[command(subcommand)]
    Product(product::ProductCommand),
    /// The audit trail: verify its hash chain, list its rows.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Users, roles and electronic signatures.
    #[command(subcommand)]
    User(user::UserCommand),
    /// The store itself: full integrity check, online backup.
    #[command(subcommand)]
    Store(store::StoreCommand),
    /// GS1 DataMatrix: encode, decode and grade.
    #[command(subcommand)]
    Vision(vision::VisionCommand),
    /// Reporting to the site servers: outbox status, retry parked chunks, export.
    #[command(subcommand)]
    Upload(upload::UploadCommand),
    /// Batches: start, pause, resume, stop, close, list, live status, report.
    #[command(subcommand)]
    Batch(batch::BatchCommand),
    /// Items: take a commissioned pack out (sample, damaged, destroyed).
    #[command(subcommand)]
    Item(item::ItemCommand),
    /// Aggregation: open, pack, unpack, replace, close, label, verify, rework, tree.
    #[command(subcommand)]
    Container(container::ContainerCommand),
    /// SSCC pools for containers: generate, status.
    #[command(subcommand)]
    Sscc(container::SsccCommand),
    /// The operator's full-screen console (over the daemon's socket).
    Console(console::ConsoleArgs),
    /// Run the line: the station daemon with its local control socket.
    Daemon(daemon::DaemonArgs),
    /// The main job: a demonstration session in a working directory it names.
    Demo(demo::DemoArgs),
    /// The pallet station: stack cases onto pallets, label and verify each pallet.
    CaseStation(case_station::CaseStationArgs),
    PalletStation(pallet_station::PalletStationArgs),
}

impl Cli {
    /// Parses a full argument list (program name first), as the demo does in-process.
    pub fn try_parse_from_args(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(args)
    }
}

/// Runs the command line and returns the process exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    dispatch(cli)
}

/// Runs one parsed command.
pub fn dispatch(cli: Cli) -> ExitCode {
    let socket = cli
        .socket
        .clone()
        .unwrap_or_else(|| crate::control::default_socket_path(&cli.db));
    match cli.command {
        Command::Gs1(cmd) => gs1::run(cmd),
        Command::Pool(cmd) => pool::run(cmd, &cli.db),
        Command::Config(cmd) => config::run(cmd, &cli.db),
        Command::Product(cmd) => product::run(cmd, &cli.db),
        Command::Audit(cmd) => audit::run(cmd, &cli.db),
        Command::Store(cmd) => store::run(cmd, &cli.db),
        Command::User(cmd) => user::run(cmd, &cli.db),
        Command::Vision(cmd) => vision::run(cmd),
        Command::Upload(cmd) => upload::run(cmd, &cli.db),
        Command::Batch(cmd) => batch::run(cmd, &cli.db, &socket),
        Command::Item(cmd) => item::run(cmd, &cli.db, &socket),
        Command::Container(cmd) => container::run(cmd, &cli.db),
        Command::Sscc(cmd) => container::run_sscc(cmd, &cli.db),
        Command::Console(args) => console::run(args, &cli.db, &socket),
        Command::Daemon(args) => daemon::run(args, &cli.db, &socket),
        Command::Demo(args) => demo::run(args),
        Command::CaseStation(args) => case_station::run_case_station(args, &cli.db),
        Command::PalletStation(args) => pallet_station::run_pallet_station(args, &cli.db),
    }
}
