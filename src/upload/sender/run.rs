//! The sending loop: per client, the oldest unsent chunk first; delivered chunks are
//! marked sent, refused ones parked (holding back that client's later chunks), and
//! failures retried with capped exponential backoff, forever.

use std::collections::HashMap;
use std::time::Instant;

use super::chunk::{ChunkPayload, OUTBOX_KIND_EPCIS};
use super::exchange::{self, Attempt, CaptureIdChange};
use super::target::{CaptureProtocol, SenderError, SiteTarget};
use crate::net;
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
    /// One HTTP client per target, same index (targets without their own CA share one).
    http: Vec<reqwest::Client>,
    targets: Vec<SiteTarget>,
    backoff: HashMap<String, ClientBackoff>,
    /// Capture limits each EPCIS 2.0 site server announced (asked once per sender).
    announced: HashMap<String, exchange::AnnouncedLimits>,
}

impl Sender {
    /// HTTP clients (`net::http_client`; each request sets its own timeout): one
    /// shared by every target that trusts the system's roots alone, one per target
    /// whose `ca_file` adds the roots of its site server's CA.
    pub fn new(targets: Vec<SiteTarget>) -> Result<Sender, SenderError> {
        let shared =
            net::http_client(None, Vec::new()).map_err(|e| SenderError::Http(e.to_string()))?;
        let mut http = Vec::with_capacity(targets.len());
        for target in &targets {
            http.push(match &target.ca_file {
                None => shared.clone(),
                Some(path) => {
                    let roots = net::load_ca_file(path).map_err(|message| SenderError::Target {
                        client: target.client_id.clone(),
                        message,
                    })?;
                    net::http_client(None, roots).map_err(|e| SenderError::Target {
                        client: target.client_id.clone(),
                        message: format!(
                            "cannot set up HTTPS with the CA file {}: {e}",
                            path.display()
                        ),
                    })?
                }
            });
        }
        Ok(Sender {
            http,
            targets,
            backoff: HashMap::new(),
            announced: HashMap::new(),
        })
    }

    /// The targets, in the order they are served.
    pub fn targets(&self) -> &[SiteTarget] {
        &self.targets
    }

    /// The capture limits `client`'s site server announces (`OPTIONS /capture`),
    /// asked once and remembered; none for an EPCIS 1.2 endpoint. `Err` while the
    /// site server cannot be asked (documents must not be cut before it is known).
    pub async fn announced_limits(
        &mut self,
        client: &str,
    ) -> Result<exchange::AnnouncedLimits, String> {
        if let Some(limits) = self.announced.get(client) {
            return Ok(*limits);
        }
        let Some(index) = self.targets.iter().position(|t| t.client_id == client) else {
            return Err(format!("client {client} has no upload target"));
        };
        let limits = match self.targets[index].protocol {
            CaptureProtocol::Epcis12 => exchange::AnnouncedLimits::default(),
            CaptureProtocol::Epcis2Capture => {
                exchange::announced_limits(&self.http[index], &self.targets[index]).await?
            }
        };
        self.announced.insert(client.to_string(), limits);
        Ok(limits)
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
                        let delay = net::jittered(&self.targets[index].backoff, failures);
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
            &self.http[index],
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

/// Why a connection failed, in words an operator can act on: a TLS failure names
/// what rustls refused (an untrusted or wrong certificate) and what to do.
pub(super) fn connect_failure(e: &reqwest::Error) -> String {
    match net::tls_error(e) {
        Some(rustls::Error::InvalidCertificate(why)) => format!(
            "the site server's TLS certificate is not accepted ({}); if the site server uses its own CA, set ca_file to that CA's PEM certificate",
            net::certificate_problem(why)
        ),
        Some(other) => format!("TLS handshake with the site server failed: {other}"),
        None => "cannot connect".to_string(),
    }
}
