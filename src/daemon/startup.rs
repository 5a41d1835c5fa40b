//! Start-up: the batch a previous run left unfinished is settled in the store
//! (`crate::station::recovery`) once the printer and the PLC answer, then handed to
//! the engine held, for the operator to resume. Also starts the uploader.

use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::watch;
// The runtime's clock (virtual under the simulation's paused clock), like the station's.
use tokio::time::Instant;

use crate::station::recovery::{RecoveryOptions, recover_batch_acknowledged, unfinished_batches};
use crate::station::runtime::device_list;
use crate::station::{Station, StationError};
use crate::store::line_records::LineBatch;
use crate::store::{Actor, Store, StoreError};

/// Least time between two recovery attempts.
const RETRY_EVERY: Duration = Duration::from_secs(1);

/// Batches found unfinished at start-up, not yet taken over.
#[derive(Debug)]
pub struct PendingRecovery {
    batches: Vec<(LineBatch, String)>,
    last_attempt: Option<Instant>,
    last_problem: Option<String>,
}

impl PendingRecovery {
    /// The unfinished batches of the store, if any.
    pub fn find(store: &Store) -> Result<Option<PendingRecovery>, StoreError> {
        let batches = unfinished_batches(store)?;
        Ok((!batches.is_empty()).then_some(PendingRecovery {
            batches,
            last_attempt: None,
            last_problem: None,
        }))
    }

    /// One line for the status and the log.
    pub fn describe(&self) -> String {
        let names: Vec<String> = self
            .batches
            .iter()
            .map(|(line, state)| format!("batch {} ({state})", line.batch.0))
            .collect();
        let mut text = format!(
            "recovering {} left unfinished by the previous run",
            names.join(", ")
        );
        if let Some(problem) = &self.last_problem {
            text.push_str(": ");
            text.push_str(problem);
        }
        text
    }

    /// Whether [`PendingRecovery::attempt`] would try now (every device online, and no
    /// failed attempt within the last second) rather than return at once.
    pub fn is_due(&self, station: &Station) -> bool {
        station.offline_devices().is_empty()
            && self
                .last_attempt
                .is_none_or(|at| at.elapsed() >= RETRY_EVERY)
    }

    /// Tries to recover as soon as every device is online; after an attempt that
    /// failed, again a second later at the soonest. `Ok(true)` once every batch is
    /// settled and the newest is back in the engine.
    pub async fn attempt(&mut self, station: &mut Station) -> Result<bool, StationError> {
        let offline = station.offline_devices();
        if !offline.is_empty() {
            // Waiting for the devices is not an attempt: recovery starts at the first
            // poll that finds them all connected, not up to a second later.
            self.last_problem = Some(format!(
                "waiting for the {} to come online",
                device_list(&offline)
            ));
            return Ok(false);
        }
        if !self.is_due(station) {
            return Ok(false);
        }
        self.last_attempt = Some(Instant::now());
        let actor = Actor::new("recovery");
        let acknowledged = station.earlier_run_acks();
        while let Some((line, state)) = self.batches.first().cloned() {
            // The batch taken over gets its items in flight with it, so the restart
            // does not wait for the belt; an older batch is settled completely.
            let options = RecoveryOptions {
                attempts: 2,
                retry_delay: Duration::from_millis(100),
                hand_over_in_flight: self.batches.len() == 1,
                ..RecoveryOptions::default()
            };
            let (store, devices) = station.store_and_devices();
            let report = match recover_batch_acknowledged(
                store,
                &line,
                devices.printer.as_ref(),
                devices.plc.as_ref(),
                &actor,
                options,
                &acknowledged,
            )
            .await
            {
                Ok(report) => report,
                Err(e) => {
                    tracing::warn!("{e}");
                    self.last_problem = Some(e.to_string());
                    return Ok(false);
                }
            };
            tracing::warn!("{}", report.summary());
            tracing::warn!("{}", report.cost_line());
            for alert in &report.alerts {
                tracing::warn!(batch = line.batch.0, "{alert}");
            }
            for note in &report.notes {
                tracing::info!(batch = line.batch.0, "{note}");
            }
            if self.batches.len() > 1 {
                // An older batch: settled, left for `batch report`; the newest runs on.
                self.batches.remove(0);
                tracing::warn!(
                    batch = line.batch.0,
                    "an older unfinished batch was settled; only the newest is taken over"
                );
                continue;
            }
            let stopping = matches!(state.as_str(), "stopping" | "stopped" | "challenge_failed");
            match station
                .take_over(line.clone(), stopping, report.in_flight, &actor)
                .await
            {
                Ok(()) => {
                    self.batches.remove(0);
                }
                Err(StationError::Devices(e)) => {
                    // A device dropped during the take-over, before the engine took
                    // the batch: recovery runs again (it is repeatable) once it is back.
                    tracing::warn!("{e}");
                    self.last_problem = Some(e);
                    return Ok(false);
                }
                Err(e) => return Err(e),
            }
            tracing::warn!(
                batch = line.batch.0,
                "batch taken over, paused: check the line, then `serialstation batch resume`"
            );
        }
        Ok(true)
    }
}

/// Starts the uploader on its own thread (its own store connection and runtime, so
/// a slow site server never delays the line): it sends the outbox to the clients'
/// site servers until `stop`.
pub fn spawn_uploader(
    db: PathBuf,
    stop: watch::Receiver<bool>,
) -> Result<std::thread::JoinHandle<()>, String> {
    std::thread::Builder::new()
        .name("uploader".to_string())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(e) => {
                    tracing::error!("the uploader cannot start its runtime: {e}");
                    return;
                }
            };
            let options = crate::upload::service::UploaderOptions::default();
            if let Err(e) =
                runtime.block_on(crate::upload::service::run_uploader(db, options, stop))
            {
                tracing::error!("the uploader stopped: {e}");
            }
        })
        .map_err(|e| format!("cannot start the uploader thread: {e}"))
}
