//! The simulated site server (the client's Level 3 system) on loopback: the EPCIS 2.0
//! capture interface (`POST /capture` → 202 + `Location`, `GET /capture/{id}`,
//! `OPTIONS /capture` with its limits, 413 above them), a synchronous EPCIS 1.2 XML
//! capture endpoint (`POST /epcis12/capture` → 201 / 400 / 409), a serial-number
//! request endpoints (`POST /serials/request`, `POST /serials/sscc/request`), bearer or basic authentication, plain
//! HTTP or HTTPS, faults on demand, and everything it accepted (ObjectEvents and
//! AggregationEvents) kept in SQLite as ground truth.
//!
//! - [`parse`]: captured documents → events (pure);
//! - [`records`]: the SQLite ground truth and its reader API (including what each
//!   container holds, [`SiteRecords::children_of`]);
//! - [`faults`]: the fault plan;
//! - [`http`]: routing and answers;
//! - [`tls`]: the HTTPS certificate and key.
//!
//! Start one with [`SiteServer::start`]; it runs until [`SiteServer::stop`] (or drop).

pub mod faults;
pub mod http;
pub mod parse;
pub mod records;
pub mod tls;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

pub use faults::{FaultTarget, SiteFault};
pub use records::{CaptureJobRecord, CaptureProblem, RecordsError, SiteRecords, StoredEvent};
pub use tls::{SiteTls, TlsSetupError};

/// Who may call the site server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SiteAuth {
    /// Anyone.
    Open,
    /// `Authorization: Bearer <token>`.
    Bearer(String),
    /// `Authorization: Basic <base64(user:password)>`.
    Basic { user: String, password: String },
}

/// How to run a simulated site server.
#[derive(Debug, Clone)]
pub struct SiteServerConfig {
    /// The ground-truth SQLite file (created if missing; kept across restarts).
    pub database: PathBuf,
    /// Where to listen (port 0 picks a free port).
    pub bind: SocketAddr,
    pub auth: SiteAuth,
    /// `GS1-EPCIS-Capture-Limit`: most events in one capture.
    pub capture_limit: u64,
    /// `GS1-EPCIS-Capture-File-Size-Limit`: most bytes in one capture.
    pub file_size_limit: u64,
    /// How many `GET /capture/{id}` answers say `running: true` before the job shows
    /// its result (to exercise polling).
    pub polls_while_running: u32,
    /// Serve HTTPS with this certificate and key instead of plain HTTP.
    pub tls: Option<SiteTls>,
}

impl SiteServerConfig {
    /// Loopback, any free port, no authentication, 500 events and 64 MiB per capture.
    pub fn new(database: PathBuf) -> SiteServerConfig {
        SiteServerConfig {
            database,
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            auth: SiteAuth::Open,
            capture_limit: 500,
            file_size_limit: 64 * 1024 * 1024,
            polls_while_running: 0,
            tls: None,
        }
    }
}

/// Why the site server could not start.
#[derive(Debug, thiserror::Error)]
pub enum SiteServerError {
    #[error("cannot listen on {addr}: {source}; choose a free port")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Records(#[from] RecordsError),
    #[error(transparent)]
    Tls(#[from] TlsSetupError),
}

/// State shared by every connection.
pub(crate) struct Shared {
    pub(crate) config: SiteServerConfig,
    pub(crate) records: Mutex<SiteRecords>,
    pub(crate) faults: Mutex<faults::FaultPlan>,
    pub(crate) job_polls: Mutex<std::collections::HashMap<String, u32>>,
    pub(crate) capture_prefix: String,
    pub(crate) next_capture: std::sync::atomic::AtomicU64,
    pub(crate) stopping: tokio::sync::watch::Receiver<bool>,
}

/// A running simulated site server.
pub struct SiteServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: tokio::sync::watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl SiteServer {
    /// Opens the database, binds, and serves on the current tokio runtime.
    pub async fn start(config: SiteServerConfig) -> Result<SiteServer, SiteServerError> {
        let acceptor = match &config.tls {
            Some(tls) => Some(tokio_rustls::TlsAcceptor::from(tls::server_config(tls)?)),
            None => None,
        };
        let records = SiteRecords::open(&config.database)?;
        let listener = tokio::net::TcpListener::bind(config.bind)
            .await
            .map_err(|source| SiteServerError::Bind {
                addr: config.bind,
                source,
            })?;
        let addr = listener
            .local_addr()
            .map_err(|source| SiteServerError::Bind {
                addr: config.bind,
                source,
            })?;
        let (stop, stopping) = tokio::sync::watch::channel(false);
        let started = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_micros())
            .unwrap_or(0);
        let shared = Arc::new(Shared {
            config,
            records: Mutex::new(records),
            faults: Mutex::new(faults::FaultPlan::default()),
            job_polls: Mutex::new(Default::default()),
            capture_prefix: format!("{started:x}"),
            next_capture: std::sync::atomic::AtomicU64::new(1),
            stopping,
        });
        let task = tokio::spawn(http::serve(listener, acceptor, shared.clone()));
        Ok(SiteServer {
            addr,
            shared,
            stop,
            task: Some(task),
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>`, or `https://…` when it serves TLS.
    pub fn base_url(&self) -> String {
        format!("{}://{}", self.scheme(), self.addr)
    }

    /// `https` when it serves TLS, `http` otherwise.
    pub fn scheme(&self) -> &'static str {
        if self.shared.config.tls.is_some() {
            "https"
        } else {
            "http"
        }
    }

    /// Plays `fault` on the next `times` requests of kind `target`.
    pub fn inject(&self, target: FaultTarget, fault: SiteFault, times: u32) {
        lock(&self.shared.faults).add(target, fault, times);
    }

    /// Removes every pending fault.
    pub fn clear_faults(&self) {
        lock(&self.shared.faults).clear();
    }

    /// Reads the ground truth.
    pub fn with_records<T>(&self, read: impl FnOnce(&SiteRecords) -> T) -> T {
        read(&lock(&self.shared.records))
    }

    /// Stops listening, ends every connection, and waits for the server task.
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for SiteServer {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// Locks a mutex even if a panicking thread poisoned it (the data is still consistent:
/// every write to it is a single assignment or a committed SQLite transaction).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
