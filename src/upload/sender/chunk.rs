//! What one outbox chunk stores, and how a batch's serials become chunks.
//!
//! A chunk stores its events (their serde form reads back exactly), its document
//! format and the document creation date, fixed when the chunk is created. Every
//! (re)send renders the same bytes and event IDs with
//! [`crate::upload::render_document`]; a chunk is never re-chunked.

use serialstation_gs1::Gtin;

use crate::store::batches::BatchId;
use crate::store::{OutboxId, Store, StoreResult};
use crate::upload::{
    ChunkLimits, DocumentError, DocumentFormat, EpcisDocument, EventChunker, EventTemplate,
    EventTime, ObjectEvent, render_document, sgtin_epcs,
};

/// The outbox `kind` of an EPCIS document chunk.
pub const OUTBOX_KIND_EPCIS: &str = "epcis-document";

/// The payload of an outbox chunk.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChunkPayload {
    pub format: DocumentFormat,
    pub creation_date: EventTime,
    pub events: Vec<ObjectEvent>,
}

impl ChunkPayload {
    /// The document, rendered exactly as on every previous attempt.
    pub fn render(&self) -> Result<EpcisDocument, DocumentError> {
        render_document(self.format, &self.creation_date, &self.events)
    }

    /// Reads a stored payload.
    pub fn from_stored(payload: &str) -> Result<ChunkPayload, String> {
        serde_json::from_str(payload).map_err(|e| {
            format!("the stored chunk cannot be read ({e}); it was written by an incompatible program version")
        })
    }

    /// The stored form.
    pub fn to_stored(&self) -> String {
        // Serialising plain data with string keys cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Queues one chunk for `client_id`.
pub fn queue_chunk(
    store: &mut Store,
    client_id: &str,
    batch: Option<BatchId>,
    chunk: &ChunkPayload,
) -> StoreResult<OutboxId> {
    store.enqueue_outbox(client_id, OUTBOX_KIND_EPCIS, batch, &chunk.to_stored())
}

/// Serials of one product → chunks within `limits` (EPCs per event, events and
/// bytes per document), lazily, in order.
#[allow(clippy::too_many_arguments)]
pub fn chunk_payloads<'a, S>(
    format: DocumentFormat,
    limits: ChunkLimits,
    creation_date: EventTime,
    template: EventTemplate,
    gtin: &'a Gtin,
    company_prefix_len: usize,
    serials: S,
) -> Result<impl Iterator<Item = Result<ChunkPayload, DocumentError>> + 'a, DocumentError>
where
    S: IntoIterator + 'a,
    S::Item: AsRef<str>,
{
    let epcs = sgtin_epcs(gtin, company_prefix_len, serials);
    let mut events = EventChunker::new(epcs, template, format, limits, &creation_date)?;
    let mut failed = false;
    let mut ready: std::collections::VecDeque<ChunkPayload> = Default::default();
    Ok(std::iter::from_fn(move || {
        if let Some(chunk) = ready.pop_front() {
            return Some(Ok(chunk));
        }
        if failed {
            return None;
        }
        let mut group = Vec::new();
        while group.len() < limits.max_events_per_document {
            match events.next() {
                Some(Ok(event)) => group.push(event),
                Some(Err(e)) => {
                    failed = true;
                    return Some(Err(e));
                }
                None => break,
            }
        }
        if group.is_empty() {
            return None;
        }
        match split_to_fit(format, creation_date, group, limits.max_document_bytes) {
            Ok(chunks) => {
                ready.extend(chunks);
                ready.pop_front().map(Ok)
            }
            Err(e) => {
                failed = true;
                Some(Err(e))
            }
        }
    }))
}

/// Halves a group of events until each part renders within `max_bytes`.
fn split_to_fit(
    format: DocumentFormat,
    creation_date: EventTime,
    events: Vec<ObjectEvent>,
    max_bytes: usize,
) -> Result<Vec<ChunkPayload>, DocumentError> {
    let chunk = ChunkPayload {
        format,
        creation_date,
        events,
    };
    let size = chunk.render()?.bytes.len();
    if size <= max_bytes {
        return Ok(vec![chunk]);
    }
    if chunk.events.len() == 1 {
        return Err(DocumentError::Limits(format!(
            "one event needs {size} bytes, more than the {max_bytes}-byte document limit; lower the EPCs per event"
        )));
    }
    let mut first = chunk.events;
    let second = first.split_off(first.len() / 2);
    let mut parts = split_to_fit(format, creation_date, first, max_bytes)?;
    parts.extend(split_to_fit(format, creation_date, second, max_bytes)?);
    Ok(parts)
}
