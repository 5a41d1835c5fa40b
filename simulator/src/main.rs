//! `serialstation-sim`: runs a whole simulated line on loopback and prints where
//! each device listens, one machine-readable line per device, until Ctrl-C.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use serialstation_simulator::{SimConfig, Simulator};

/// Runs a simulated packaging line (printer, camera, PLC) on loopback.
#[derive(Debug, Parser)]
#[command(name = "serialstation-sim", version)]
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
}

fn main() -> ExitCode {
    let args = Args::parse();
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
    runtime.block_on(async move {
        let sim = match Simulator::start(config).await {
            Ok(sim) => sim,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        };
        for line in sim.address_lines() {
            println!("{line}");
        }
        println!("ready");
        wait_for_stop_signal().await;
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
async fn wait_for_stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(e) => {
                eprintln!("warning: cannot watch SIGTERM ({e}); stop with Ctrl-C");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
