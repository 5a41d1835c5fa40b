//! The outbox sender: delivers a client's outbox chunks to its site server, oldest
//! first, exactly once.
//!
//! - [`chunk`]: what an outbox chunk stores (format, creation date, the events) and
//!   how a batch's serials become chunks;
//! - [`target`]: where and how to send for one client (URL, protocol, credentials from
//!   a secrets file or the environment, plain HTTP only to loopback unless allowed);
//! - [`exchange`]: one delivery attempt over HTTP (EPCIS 2.0 capture + job polling,
//!   or the synchronous EPCIS 1.2 endpoint) and what its answer means;
//! - [`run`]: the loop over clients with backoff, and the store updates.
//!
//! The HTTP client, secret loading and the backoff with jitter are shared with
//! serial requests, in [`crate::net`].
//!
//! No duplicates: event IDs are the deterministic event hash, the capture ID is
//! persisted before polling, an unknown outcome is resolved by polling that capture,
//! and a refusal because every event of the chunk already exists counts as delivered.

pub mod chunk;
pub mod exchange;
pub mod run;
pub mod target;

pub use crate::net::Backoff;
pub use chunk::{ChunkPayload, OUTBOX_KIND_EPCIS, chunk_payloads, queue_chunk};
pub use exchange::Attempt;
pub use run::{PassReport, Sender};
pub use target::{
    CaptureProtocol, CredentialScheme, CredentialSource, Credentials, DEFAULT_BACKOFF, SenderError,
    SiteTarget,
};
