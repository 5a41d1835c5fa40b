//! The sending loop: per client, the oldest unsent chunk first; delivered chunks are
//! marked sent, refused ones parked (holding back that client's later chunks), and
//! failures retried with capped exponential backoff, forever.

use std::collections::HashMap;
use std::time::Instant;

use super::chunk::{ChunkPayload, OUTBOX_KIND_EPCIS};
use super::exchange::{self, Attempt, CaptureIdChange};
use super::target::{SenderError, SiteTarget};
use crate::store::{OutboxEntry, Store};

/// What one pass over the clients did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PassReport {
    pub delivered: u64,
    pub parked: u64,
    pub retries: u64,
    /// Clients whose queue is empty or held by a parked chunk after the pass.
    pub idle_clients: u64,
}

#[derive(Debug, Default, Clone, Copy)]
struct ClientBackoff {
    failures: u32,
    not_before: Option<Instant>,
}

/// Sends the outbox of every configured client.
pub struct Sender {
    http: reqwest::Client,
    targets: Vec<SiteTarget>,
    backoff: HashMap<String, ClientBackoff>,
}

impl Sender {
    /// One HTTP client (rustls with the `ring` provider, no proxy) for all targets.
    pub fn new(targets: Vec<SiteTarget>) -> Result<Sender, SenderError> {
        // Fails only when a provider is already installed, which is just as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .tls_backend_rustls()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| SenderError::Http(e.to_string()))?;
        Ok(Sender {
            http,
            targets,
            backoff: HashMap::new(),
        })
    }

    /// Delivers chunks for every client not waiting out a backoff, until each queue
    /// is empty, parked, or has failed once in this pass.
    pub async fn pass(&mut self, store: &mut Store) -> Result<PassReport, SenderError> {
        let mut report = PassReport::default();
        for index in 0..self.targets.len() {
            let client = self.targets[index].client_id.clone();
            let state = self.backoff.get(&client).copied().unwrap_or_default();
            if state.not_before.is_some_and(|t| Instant::now() < t) {
                continue;
            }
            loop {
                let Some(entry) = store.outbox_head(&client, OUTBOX_KIND_EPCIS)? else {
                    report.idle_clients += 1;
                    break;
                };
                if entry.state == "failed" {
                    report.idle_clients += 1;
                    break;
                }
                match self.send_one(store, index, &entry).await? {
                    Attempt::Delivered => {
                        store.mark_outbox_sent(entry.id)?;
                        self.backoff.remove(&client);
                        report.delivered += 1;
                    }
                    Attempt::Park(message) => {
                        tracing::warn!(client = %client, chunk = entry.id.0, "upload parked: {message}");
                        store.park_outbox(entry.id, &message)?;
                        self.backoff.remove(&client);
                        report.parked += 1;
                        report.idle_clients += 1;
                        break;
                    }
                    Attempt::Retry(reason) => {
                        tracing::info!(client = %client, chunk = entry.id.0, "upload will be retried: {reason}");
                        store.record_outbox_failure(entry.id, &reason)?;
                        let failures = state.failures.saturating_add(1);
                        let delay = self.targets[index].backoff.delay(failures);
                        self.backoff.insert(
                            client.clone(),
                            ClientBackoff {
                                failures,
                                not_before: Some(Instant::now() + delay),
                            },
                        );
                        report.retries += 1;
                        break;
                    }
                }
            }
        }
        Ok(report)
    }

    async fn send_one(
        &self,
        store: &mut Store,
        index: usize,
        entry: &OutboxEntry,
    ) -> Result<Attempt, SenderError> {
        let chunk = match ChunkPayload::from_stored(&entry.payload) {
            Ok(chunk) => chunk,
            Err(message) => return Ok(Attempt::Park(message)),
        };
        let mut persist = |change: CaptureIdChange| {
            let id = match &change {
                CaptureIdChange::Set(id) => Some(id.as_str()),
                CaptureIdChange::Cleared => None,
                CaptureIdChange::Unchanged => return Ok(()),
            };
            store
                .set_outbox_capture_id(entry.id, id)
                .map_err(|e| format!("cannot record the capture ID: {e}"))
        };
        Ok(exchange::attempt(
            &self.http,
            &self.targets[index],
            &chunk,
            entry.capture_id.clone(),
            &mut persist,
        )
        .await)
    }

    /// The earliest moment a client in backoff may be tried again.
    pub fn next_due(&self) -> Option<Instant> {
        self.backoff.values().filter_map(|b| b.not_before).min()
    }

    /// Passes until every client's queue is empty or parked (a site server that is
    /// down keeps this running: retries go on forever, with backoff).
    pub async fn run_until_idle(&mut self, store: &mut Store) -> Result<PassReport, SenderError> {
        let mut total = PassReport::default();
        loop {
            let report = self.pass(store).await?;
            total.delivered += report.delivered;
            total.parked += report.parked;
            total.retries += report.retries;
            if report.idle_clients as usize == self.targets.len() && self.backoff.is_empty() {
                total.idle_clients = report.idle_clients;
                return Ok(total);
            }
            if let Some(due) = self.next_due() {
                tokio::time::sleep_until(due.into()).await;
            }
        }
    }

    /// Runs until `stop` becomes true: passes, then sleeps until a backoff ends or
    /// `idle_poll` passes (new chunks are picked up then).
    pub async fn run(
        &mut self,
        store: &mut Store,
        idle_poll: std::time::Duration,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) -> Result<(), SenderError> {
        while !*stop.borrow() {
            self.pass(store).await?;
            let wake = self
                .next_due()
                .map(|due| due.min(Instant::now() + idle_poll))
                .unwrap_or(Instant::now() + idle_poll);
            tokio::select! {
                _ = tokio::time::sleep_until(wake.into()) => {}
                _ = stop.changed() => {}
            }
        }
        Ok(())
    }
}
