//! The uploader service: what the daemon runs next to the line. On its own store
//! connection, every poll interval it turns the per-serial and container outbox rows
//! that are due into EPCIS chunks ([`super::outbox_chunks`]) and lets the [`Sender`]
//! deliver them. Site server trouble never stops it (the sender backs off and retries
//! forever); client targets are rebuilt from the store's client master whenever a
//! client changes.
//!
//! [`upload_round`] is one round (for tests and `upload flush`);
//! [`run_uploader`] loops rounds until shutdown.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::config::Client;
use crate::store::Store;
use crate::upload::outbox_chunks::{ClientChunking, chunk_client};
use crate::upload::sender::{Sender, SiteTarget};

/// How the uploader runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploaderOptions {
    /// Time between two rounds when nothing is waiting out a backoff.
    pub poll_interval: Duration,
    /// Page cache ceiling of the uploader's store connection, in KiB: the uploader
    /// streams through each row once, so a small cache keeps its memory flat.
    pub page_cache_kib: u32,
}

impl Default for UploaderOptions {
    /// One round a second, an 8 MiB page cache.
    fn default() -> Self {
        UploaderOptions {
            poll_interval: Duration::from_secs(1),
            page_cache_kib: 8 * 1024,
        }
    }
}

/// What one round did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoundReport {
    /// Chunks queued from per-serial rows.
    pub chunks_queued: u64,
    /// Per-serial rows turned into chunks.
    pub serials_chunked: u64,
    /// Container rows (SSCC and aggregation events) turned into chunks.
    pub container_rows_chunked: u64,
    pub delivered: u64,
    pub parked: u64,
    pub retries: u64,
    /// Why some client's serials wait (no usable target, no read point, site server
    /// limits not known yet, ...), one line each.
    pub problems: Vec<String>,
}

/// A sender for every client whose upload target is usable, and one line for each
/// client whose target is not (missing secret, unreadable CA file, ...). `Err` only
/// when no HTTP client can be set up at all.
pub fn sender_for_clients(clients: &[Client]) -> Result<(Sender, Vec<String>), String> {
    let mut targets = Vec::new();
    let mut problems = Vec::new();
    for client in clients {
        match SiteTarget::from_client_config(&client.id, &client.upload) {
            // Building a sender with this target alone checks its CA file.
            Ok(target) => match Sender::new(vec![target.clone()]) {
                Ok(_) => targets.push(target),
                Err(e) => problems.push(e.to_string()),
            },
            Err(e) => problems.push(e.to_string()),
        }
    }
    let sender = Sender::new(targets).map_err(|e| e.to_string())?;
    Ok((sender, problems))
}

/// One round: chunks what is due for every client with a usable target (`force`:
/// every pending per-serial row; container rows go as soon as the rows before them
/// have), then one sender pass. `Err` only when the store
/// fails; site server and configuration trouble are in the report.
pub async fn upload_round(
    store: &mut Store,
    sender: &mut Sender,
    force: bool,
) -> Result<RoundReport, String> {
    let mut report = RoundReport::default();
    let clients = store.clients().map_err(|e| e.to_string())?;
    let waiting: BTreeSet<String> = store
        .clients_with_waiting_serials()
        .map_err(|e| e.to_string())?
        .into_iter()
        .collect();
    for client in clients.iter().filter(|c| waiting.contains(&c.id)) {
        if !sender.targets().iter().any(|t| t.client_id == client.id) {
            report.problems.push(format!(
                "client {}: serials wait: its upload target is not usable",
                client.id
            ));
            continue;
        }
        let announced = match sender.announced_limits(&client.id).await {
            Ok(limits) => limits,
            Err(why) => {
                report.problems.push(format!(
                    "client {}: serials wait until the site server's capture limits are known: {why}",
                    client.id
                ));
                continue;
            }
        };
        let settings = match ClientChunking::from_client(client, announced) {
            Ok(settings) => settings,
            Err(why) => {
                report
                    .problems
                    .push(format!("client {}: serials wait: {why}", client.id));
                continue;
            }
        };
        match chunk_client(store, &settings, force) {
            Ok(done) => {
                if done.chunks > 0 {
                    tracing::info!(
                        client = %client.id,
                        chunks = done.chunks,
                        serials = done.rows,
                        container_events = done.container_rows,
                        "serials queued as EPCIS chunks"
                    );
                }
                report.chunks_queued += done.chunks;
                report.serials_chunked += done.rows;
                report.container_rows_chunked += done.container_rows;
            }
            Err(why) => report
                .problems
                .push(format!("client {}: serials wait: {why}", client.id)),
        }
    }
    let pass = sender.pass(store).await.map_err(|e| e.to_string())?;
    report.delivered = pass.delivered;
    report.parked = pass.parked;
    report.retries = pass.retries;
    Ok(report)
}

/// Runs until `shutdown` turns true: on its own store connection of the daemon
/// (`Store::open_another(db)`: the daemon checked the pages when it opened the store),
/// every `poll_interval` chunks what is due, then lets the sender pass; logs with
/// tracing; never returns on a site server error (backoff forever); returns `Err`
/// only if the store cannot be opened. Client targets are read from the store's
/// client master at start and whenever a client changes.
pub async fn run_uploader(
    db: PathBuf,
    options: UploaderOptions,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) -> Result<(), String> {
    let mut store = Store::open_another(&db)
        .map_err(|e| format!("the uploader cannot open the store {}: {e}", db.display()))?;
    if let Err(e) = store.set_page_cache_kib(options.page_cache_kib) {
        tracing::warn!("uploader: {e}");
    }
    let mut clients: Option<Vec<Client>> = None;
    let mut sender: Option<Sender> = None;
    let mut shown: BTreeSet<String> = BTreeSet::new();
    let mut store_failures: u32 = 0;
    tracing::info!(store = %db.display(), "uploader started");
    while !*shutdown.borrow() {
        let mut wake = Instant::now() + options.poll_interval;
        match store.clients() {
            Ok(current) => {
                if clients.as_ref() != Some(&current) || sender.is_none() {
                    match sender_for_clients(&current) {
                        Ok((built, problems)) => {
                            tracing::info!(
                                targets = built.targets().len(),
                                "uploader: client upload targets loaded"
                            );
                            for problem in problems {
                                tracing::warn!("uploader: {problem}");
                            }
                            sender = Some(built);
                            clients = Some(current);
                            shown.clear();
                        }
                        Err(e) => tracing::error!("uploader: {e}"),
                    }
                }
            }
            Err(e) => tracing::error!("uploader: cannot read the clients: {e}"),
        }
        if let Some(sender) = sender.as_mut() {
            match upload_round(&mut store, sender, false).await {
                Ok(report) => {
                    store_failures = 0;
                    let now: BTreeSet<String> = report.problems.into_iter().collect();
                    for problem in now.difference(&shown) {
                        tracing::warn!("uploader: {problem}");
                    }
                    shown = now;
                    if let Some(due) = sender.next_due() {
                        wake = wake.min(due.max(Instant::now()));
                    }
                }
                Err(e) => {
                    store_failures = store_failures.saturating_add(1);
                    let backoff = crate::net::Backoff {
                        initial: options.poll_interval,
                        max: Duration::from_secs(60).max(options.poll_interval),
                    };
                    let delay = crate::net::jittered(&backoff, store_failures);
                    tracing::error!("uploader: the store failed ({e}); trying again in {delay:?}");
                    wake = Instant::now() + delay;
                }
            }
        }
        tokio::select! {
            _ = tokio::time::sleep_until(wake.into()) => {}
            changed = shutdown.changed() => {
                if changed.is_err() {
                    // Nobody is left to ask for a stop: stop now.
                    break;
                }
            }
        }
    }
    tracing::info!("uploader stopped");
    Ok(())
}
