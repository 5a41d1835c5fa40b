//! `serialstation-sim`: runs a whole simulated line on loopback, a simulated site
//! server, or both, and prints where each one listens, one machine-readable line
//! each, until Ctrl-C.

#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use serialstation_simulator::site_server::{SiteAuth, SiteServer, SiteServerConfig, SiteTls};
use serialstation_simulator::{SimConfig, Simulator};

/// Runs a simulated packaging line (printer, camera, PLC) on loopback, and on
/// request a simulated EPCIS site server (`--site-port`), or the site server alone
/// (`--site-server-only`).
#[derive(Debug, Parser)]
#[command(
    name = "serialstation-sim",
    version,
    after_help = "Site server alone, over HTTPS with a bearer token:\n  serialstation-sim --site-server-only --site-port 8443 --site-token T \\\n      --tls-cert server.pem --tls-key server-key.pem\nIt prints `site_server https 127.0.0.1:8443` and `site_records sqlite FILE`, then `ready`."
)]
struct Args {
    /// Line configuration (TOML). Without it, the built-in default line, which
    /// matches config/line.toml.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Overrides the seed of the config.
    #[arg(long)]
    seed: Option<u64>,
    /// Overrides where the ground truth (SQLite) is written.
    #[arg(long)]
    ground_truth: Option<PathBuf>,
    /// Puts the line in Execute at start instead of waiting for a Start command.
    #[arg(long)]
    autostart: bool,
    /// Throughput mode: no images are rendered or decoded.
    #[arg(long)]
    no_images: bool,
    /// Runs the simulated site server only, no line (the line options are ignored).
    #[arg(long)]
    site_server_only: bool,
    /// Starts the simulated site server on 127.0.0.1 at this port (0 = any free port;
    /// the default with --site-server-only).
    #[arg(long)]
    site_port: Option<u16>,
    /// Bearer token the site server requires (without it, anyone may call it).
    #[arg(long, env = "SERIALSTATION_SIM_SITE_TOKEN", hide_env_values = true)]
    site_token: Option<String>,
    /// SQLite file where the site server keeps what it accepted (kept across runs).
    #[arg(long, default_value = "sim-site-server.sqlite")]
    site_db: PathBuf,
    /// Most events the site server accepts in one capture.
    #[arg(long, default_value_t = 500)]
    site_capture_limit: u64,
    /// Serve HTTPS with this PEM certificate chain (needs --tls-key).
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Runs a pallet cell alone (no line): the stacker's scanner, label printer
    /// and label scanner, stacking the cases of this file (one SSCC per line).
    #[arg(long, value_name = "CASES_FILE")]
    pallet_cell: Option<PathBuf>,
    /// The pallet cell's ground truth (JSON).
    #[arg(long, default_value = "pallet-cell-truth.json")]
    pallet_truth: PathBuf,
    /// The pallet cell's faults: case_no_read, case_double_read, label_no_read,
    /// label_stale, as name=rate (0.0 to 1.0), comma-separated.
    #[arg(long, default_value = "")]
    pallet_faults: String,
    /// Milliseconds between one case leaving the scan point and the next arriving.
    #[arg(long, default_value_t = 100)]
    case_interval_ms: u64,
    /// Ports of the pallet cell's stacker scanner, label printer and label scanner
    /// (0 = any free port).
    #[arg(long, default_value_t = 0)]
    pallet_scanner_port: u16,
    #[arg(long, default_value_t = 0)]
    label_printer_port: u16,
    #[arg(long, default_value_t = 0)]
    label_scanner_port: u16,
    /// Runs a case cell alone (no line): the case packer's PLC, the case camera,
    /// label printer and label scanner, packing the good packs of this file (one
    /// pack code per line, in the order they left the reject gate).
    #[arg(long, value_name = "PACKS_FILE")]
    case_cell: Option<PathBuf>,
    /// The case cell's ground truth (JSON).
    #[arg(long, default_value = "case-cell-truth.json")]
    case_truth: PathBuf,
    /// The case cell's faults: missing_pack, extra_pack, duplicate_code,
    /// unreadable_code, label_no_read, label_misprint, as name=rate (0.0 to
    /// 1.0), comma-separated.
    #[arg(long, default_value = "")]
    case_faults: String,
    /// Packs per case until the case station writes its own.
    #[arg(long, default_value_t = 12)]
    case_capacity: usize,
    /// The case layout seen by the case camera, ROWSxCOLS.
    #[arg(long, default_value = "3x4")]
    case_layout: String,
    /// Milliseconds between two packs arriving at the case packer.
    #[arg(long, default_value_t = 20)]
    pack_interval_ms: u64,
    /// Ports of the case packer's PLC and the case camera (0 = any free port).
    #[arg(long, default_value_t = 0)]
    case_plc_port: u16,
    #[arg(long, default_value_t = 0)]
    case_camera_port: u16,
}

/// `--case-cell`: runs the cell until the process is stopped.
fn run_case_cell(args: &Args, packs: &std::path::Path) -> ExitCode {
    use serialstation_simulator::case_cell::{self, CaseCellConfig, CaseFaults};
    let layout = args
        .case_layout
        .split_once(['x', 'X'])
        .and_then(|(r, c)| Some((r.trim().parse().ok()?, c.trim().parse().ok()?)));
    let Some(layout) = layout else {
        eprintln!(
            "error: --case-layout {:?}: write ROWSxCOLS, e.g. 3x4",
            args.case_layout
        );
        return ExitCode::from(2);
    };
    let faults = match CaseFaults::parse(&args.case_faults) {
        Ok(faults) => faults,
        Err(e) => {
            eprintln!("error: --case-faults: {e}");
            return ExitCode::from(2);
        }
    };
    let packs = match case_cell::read_packs(packs) {
        Ok(packs) => packs,
        Err(e) => {
            eprintln!("error: --case-cell: {e}");
            return ExitCode::from(2);
        }
    };
    let config = CaseCellConfig {
        packs,
        capacity: args.case_capacity,
        layout,
        faults,
        seed: args.seed.unwrap_or(1),
        pack_interval: std::time::Duration::from_millis(args.pack_interval_ms),
        truth: args.case_truth.clone(),
        plc_port: args.case_plc_port,
        camera_port: args.case_camera_port,
        printer_port: args.label_printer_port,
        label_scanner_port: args.label_scanner_port,
    };
    match case_cell::start(config) {
        Ok(addrs) => {
            println!("case_plc modbus {}", addrs.plc);
            println!("case_camera tcp {}", addrs.camera);
            println!("label_printer tcp {}", addrs.printer);
            println!("label_scanner tcp {}", addrs.label_scanner);
            println!("case_truth json {}", args.case_truth.display());
            println!("ready");
            loop {
                std::thread::park();
            }
        }
        Err(e) => {
            eprintln!("error: case cell: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `--pallet-cell`: runs the cell until the process is stopped.
fn run_pallet_cell(args: &Args, cases: &std::path::Path) -> ExitCode {
    use serialstation_simulator::pallet_cell::{self, CellFaults, PalletCellConfig};
    let faults = match CellFaults::parse(&args.pallet_faults) {
        Ok(faults) => faults,
        Err(e) => {
            eprintln!("error: --pallet-faults: {e}");
            return ExitCode::from(2);
        }
    };
    let cases = match pallet_cell::read_cases(cases) {
        Ok(cases) => cases,
        Err(e) => {
            eprintln!("error: --pallet-cell: {e}");
            return ExitCode::from(2);
        }
    };
    let config = PalletCellConfig {
        cases,
        faults,
        seed: args.seed.unwrap_or(1),
        case_interval: std::time::Duration::from_millis(args.case_interval_ms),
        truth: args.pallet_truth.clone(),
        scanner_port: args.pallet_scanner_port,
        printer_port: args.label_printer_port,
        label_scanner_port: args.label_scanner_port,
    };
    match pallet_cell::start(config) {
        Ok(addrs) => {
            println!("pallet_scanner tcp {}", addrs.scanner);
            println!("label_printer tcp {}", addrs.printer);
            println!("label_scanner tcp {}", addrs.label_scanner);
            println!("pallet_truth json {}", args.pallet_truth.display());
            println!("ready");
            loop {
                std::thread::park();
            }
        }
        Err(e) => {
            eprintln!("error: pallet cell: {e}");
            ExitCode::FAILURE
        }
    }
}

impl Args {
    /// The site server to start, if any.
    fn site_server(&self) -> Option<SiteServerConfig> {
        if !self.site_server_only && self.site_port.is_none() {
            return None;
        }
        let mut config = SiteServerConfig::new(self.site_db.clone());
        config.bind = SocketAddr::from(([127, 0, 0, 1], self.site_port.unwrap_or(0)));
        config.capture_limit = self.site_capture_limit;
        if let Some(token) = &self.site_token {
            config.auth = SiteAuth::Bearer(token.clone());
        }
        if let (Some(cert), Some(key)) = (&self.tls_cert, &self.tls_key) {
            config.tls = Some(SiteTls {
                cert: cert.clone(),
                key: key.clone(),
            });
        }
        Some(config)
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(cases) = &args.pallet_cell {
        return run_pallet_cell(&args, cases);
    }
    if let Some(packs) = &args.case_cell {
        return run_case_cell(&args, packs);
    }
    if (args.tls_cert.is_some() || args.site_token.is_some())
        && !args.site_server_only
        && args.site_port.is_none()
    {
        eprintln!(
            "error: --tls-cert, --tls-key and --site-token are for the site server: add --site-port P or --site-server-only"
        );
        return ExitCode::from(2);
    }
    if args.site_capture_limit == 0 {
        eprintln!("error: --site-capture-limit must be at least 1");
        return ExitCode::from(2);
    }
    let site_config = args.site_server();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SERIALSTATION_SIM_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let mut config = match &args.config {
        Some(path) => match SimConfig::load(path) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        },
        None => SimConfig::default_line(),
    };
    if let Some(seed) = args.seed {
        config.simulator.seed = seed;
    }
    if let Some(path) = args.ground_truth {
        config.simulator.ground_truth = path;
    }
    if args.autostart {
        config.simulator.autostart = true;
    }
    if args.no_images {
        config.simulator.images = false;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let line_wanted = !args.site_server_only;
    runtime.block_on(async move {
        let site = match site_config {
            Some(site_config) => {
                let records = site_config.database.clone();
                match SiteServer::start(site_config).await {
                    Ok(site) => {
                        println!("site_server {} {}", site.scheme(), site.addr());
                        println!("site_records sqlite {}", records.display());
                        Some(site)
                    }
                    Err(e) => {
                        eprintln!("error: site server: {e}");
                        return ExitCode::from(2);
                    }
                }
            }
            None => None,
        };
        let sim = if line_wanted {
            match Simulator::start(config).await {
                Ok(sim) => {
                    for line in sim.address_lines() {
                        println!("{line}");
                    }
                    Some(sim)
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(2);
                }
            }
        } else {
            None
        };
        // Watch for the stop signals before saying `ready`, so that a signal sent as
        // soon as `ready` is read is never lost (or taken with its default action).
        let stop = StopSignals::register();
        println!("ready");
        stop.wait().await;
        if let Some(site) = site {
            site.stop().await;
        }
        let Some(sim) = sim else {
            eprintln!("stopped");
            return ExitCode::SUCCESS;
        };
        match sim.shutdown().await {
            Ok(path) => {
                eprintln!("stopped; ground truth in {}", path.display());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        }
    })
}

/// Ctrl-C (SIGINT) or SIGTERM: both stop the line cleanly and commit the ground truth.
struct StopSignals {
    #[cfg(unix)]
    watched: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl StopSignals {
    /// Registers the handlers now.
    fn register() -> StopSignals {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let watched = match (
                signal(SignalKind::interrupt()),
                signal(SignalKind::terminate()),
            ) {
                (Ok(int), Ok(term)) => Some((int, term)),
                (Err(e), _) | (_, Err(e)) => {
                    eprintln!("warning: cannot watch SIGINT/SIGTERM ({e}); stop with Ctrl-C");
                    None
                }
            };
            StopSignals { watched }
        }
        #[cfg(not(unix))]
        StopSignals {}
    }

    /// Waits for one of them.
    async fn wait(self) {
        #[cfg(unix)]
        {
            match self.watched {
                Some((mut int, mut term)) => {
                    tokio::select! {
                        _ = int.recv() => {}
                        _ = term.recv() => {}
                    }
                }
                None => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
