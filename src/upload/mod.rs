//! EPCIS documents for the site server: the events the station reports
//! (commissioning, and decommissioning / destroying or a plain return list for
//! used-up serials; containers' SSCCs commissioned and decommissioned, and their
//! packing and unpacking as AggregationEvents), their deterministic event IDs (the
//! CBV 2.0 event hash), and their rendering as EPCIS 2.0 JSON-LD or EPCIS 1.2 XML,
//! chunked to the limits the site server accepts.
//!
//! The documents are pure: events in, bytes out, no I/O. The outbox
//! and sender build on them: they store the events of a chunk (EPCs, event time, kind,
//! place) and render them again with [`render_document`] for every resend, which
//! yields the same event IDs byte for byte.
//!
//! - [`model`]: Object- and AggregationEvents, CBV vocabulary, SGLN locations, lot
//!   master data.
//! - [`time`]: event times with offsets, millisecond precision.
//! - [`event_hash`]: the canonical pre-hash string and `ni:///sha-256;…?ver=CBV2.0`.
//! - [`json_ld`], [`xml12`]: the two writers.
//! - [`document`]: one document from a list of events.
//! - [`chunking`]: serials → events → documents within the site server's limits.
//! - [`container_events`]: the store's container rows → events → chunks, in order.
//! - [`used_up`]: how each client learns of used-up serials.
//! - [`checks`]: schema-independent checks run on every event.
//! - [`sender`]: delivers outbox chunks to each client's site server;
//!   [`outbox_chunks`]: turns the line's per-serial outbox rows into chunks;
//!   [`service`]: the uploader the daemon runs (chunk, then send, forever).

pub mod checks;
pub mod chunking;
pub mod container_events;
pub mod document;
pub mod error;
pub mod event_hash;
pub mod json_ld;
pub mod model;
pub mod outbox_chunks;
pub mod sender;
pub mod service;
pub mod time;
pub mod used_up;
pub mod xml12;

pub use chunking::{
    ChunkLimits, DocumentPacker, EventChunker, EventTemplate, documents_for_serials, sgtin_epcs,
};
pub use document::{
    DocumentFormat, EpcisDocument, EventSummary, render_document, render_document_with_aggregations,
};
pub use error::DocumentError;
pub use event_hash::{
    IlmdNamespace, aggregation_event_hash_id, aggregation_pre_hash_string, event_hash_id,
    pre_hash_string,
};
pub use model::{
    Action, AggregationEvent, AggregationKind, BizStep, Disposition, EpcScheme, EventKind,
    LotMasterData, ObjectEvent, Sgln,
};
pub use time::{EventTime, TimeZoneOffset};
pub use used_up::{ReturnList, UsedUpReporting, return_lists};
