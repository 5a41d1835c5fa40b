//! Splitting a stream of serials into events and documents the site server accepts:
//! at most `max_epcs_per_event` EPCs per event, `max_events_per_document` events and
//! `max_document_bytes` bytes per document.
//!
//! Both stages are iterators: [`EventChunker`] turns EPC URIs into events,
//! [`DocumentPacker`] turns events into finished documents. Only one event's EPCs and
//! one document's bytes are held at a time, so a batch of a million serials never sits
//! in memory as one string.
//!
//! Chunk boundaries depend on the limits in force. A resend must therefore render the
//! *stored* events again ([`super::document::render_document`]), never re-chunk the
//! serials under limits that may have changed since.

use serialstation_gs1::Gtin;

use super::document::{DocumentFormat, EpcisDocument, EventSummary};
use super::error::DocumentError;
use super::event_hash::{event_hash_id, hash_id_of_pre_hash};
use super::model::{EventKind, ObjectEvent, Sgln};
use super::time::EventTime;

/// One finished document, or why the stream stopped.
pub type DocumentResult = Result<EpcisDocument, DocumentError>;

/// What the site server accepts per event and per document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChunkLimits {
    pub max_epcs_per_event: usize,
    pub max_events_per_document: usize,
    pub max_document_bytes: usize,
}

impl Default for ChunkLimits {
    /// 10,000 EPCs per event, 100 events and 16 MiB per document.
    fn default() -> Self {
        ChunkLimits {
            max_epcs_per_event: 10_000,
            max_events_per_document: 100,
            max_document_bytes: 16 * 1024 * 1024,
        }
    }
}

impl ChunkLimits {
    /// Refuses limits no document can meet.
    pub fn validate(&self) -> Result<(), DocumentError> {
        if self.max_epcs_per_event == 0 || self.max_events_per_document == 0 {
            return Err(DocumentError::Limits(
                "max EPCs per event and max events per document must be at least 1; correct the client's upload limits".into(),
            ));
        }
        if self.max_document_bytes < 4096 {
            return Err(DocumentError::Limits(format!(
                "a maximum document size of {} bytes cannot hold even one event; allow at least 4096 bytes",
                self.max_document_bytes
            )));
        }
        Ok(())
    }

    /// These limits tightened by what an EPCIS 2.0 server announces in `OPTIONS
    /// /capture` (`GS1-EPCIS-Capture-Limit`: events per capture,
    /// `GS1-EPCIS-Capture-File-Size-Limit`: bytes per capture).
    pub fn tightened_by_capture_limits(
        self,
        capture_limit: Option<u64>,
        file_size_limit: Option<u64>,
    ) -> ChunkLimits {
        let clamp = |configured: usize, announced: Option<u64>| match announced {
            Some(n) => configured.min(usize::try_from(n).unwrap_or(usize::MAX)),
            None => configured,
        };
        ChunkLimits {
            max_epcs_per_event: self.max_epcs_per_event,
            max_events_per_document: clamp(self.max_events_per_document, capture_limit),
            max_document_bytes: clamp(self.max_document_bytes, file_size_limit),
        }
    }
}

/// Everything an event needs except its EPCs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventTemplate {
    pub kind: EventKind,
    pub event_time: EventTime,
    pub read_point: Sgln,
    pub biz_location: Sgln,
}

impl EventTemplate {
    fn with_epcs(&self, epcs: Vec<String>) -> ObjectEvent {
        ObjectEvent {
            kind: self.kind.clone(),
            event_time: self.event_time,
            epcs,
            read_point: self.read_point.clone(),
            biz_location: self.biz_location.clone(),
        }
    }
}

/// SGTIN EPC URIs of `serials` of one product (company prefix length from the
/// product master), built lazily.
pub fn sgtin_epcs<'a, I>(
    gtin: &'a Gtin,
    company_prefix_len: usize,
    serials: I,
) -> impl Iterator<Item = Result<String, DocumentError>> + 'a
where
    I: IntoIterator + 'a,
    I::Item: AsRef<str>,
{
    serials.into_iter().map(move |serial| {
        serialstation_gs1::epc::sgtin_uri(gtin, company_prefix_len, serial.as_ref())
            .map_err(DocumentError::from)
    })
}

/// Byte size of a document holding exactly one event with no EPCs, for `template`.
fn single_event_overhead(
    format: DocumentFormat,
    template: &EventTemplate,
    creation: &EventTime,
) -> Result<usize, DocumentError> {
    let mut buf = Vec::new();
    let cbvmda = template.kind.lot_master_data().is_some();
    format.write_document_start(&mut buf, creation, cbvmda)?;
    // Event IDs always have the same length; any hash stands in for the real one.
    format.write_event(
        &mut buf,
        &template.with_epcs(Vec::new()),
        &hash_id_of_pre_hash(""),
    )?;
    format.write_document_end(&mut buf);
    Ok(buf.len())
}

/// Groups EPC URIs into events of at most `max_epcs_per_event` EPCs, each small
/// enough to travel alone in a document of `max_document_bytes`.
pub struct EventChunker<I> {
    epcs: I,
    template: EventTemplate,
    format: DocumentFormat,
    max_epcs: usize,
    byte_budget: usize,
    pending: Option<String>,
    failed: bool,
}

impl<I> EventChunker<I>
where
    I: Iterator<Item = Result<String, DocumentError>>,
{
    /// `creation_date` is only used to size the document head.
    pub fn new(
        epcs: I,
        template: EventTemplate,
        format: DocumentFormat,
        limits: ChunkLimits,
        creation_date: &EventTime,
    ) -> Result<Self, DocumentError> {
        limits.validate()?;
        let overhead = single_event_overhead(format, &template, creation_date)?;
        let byte_budget = limits.max_document_bytes.checked_sub(overhead).filter(|b| *b > 0).ok_or_else(|| {
            DocumentError::Limits(format!(
                "a document of at most {} bytes cannot hold one event ({overhead} bytes without any EPC); raise the size limit",
                limits.max_document_bytes
            ))
        })?;
        Ok(EventChunker {
            epcs,
            template,
            format,
            max_epcs: limits.max_epcs_per_event,
            byte_budget,
            pending: None,
            failed: false,
        })
    }
}

impl<I> Iterator for EventChunker<I>
where
    I: Iterator<Item = Result<String, DocumentError>>,
{
    type Item = Result<ObjectEvent, DocumentError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let mut epcs: Vec<String> = Vec::new();
        let mut used = 0usize;
        loop {
            let epc = match self.pending.take() {
                Some(epc) => epc,
                None => match self.epcs.next() {
                    Some(Ok(epc)) => epc,
                    Some(Err(e)) => {
                        self.failed = true;
                        return Some(Err(e));
                    }
                    None => break,
                },
            };
            let cost = self.format.epc_entry_len(&epc, epcs.is_empty());
            if epcs.is_empty() && cost > self.byte_budget {
                self.failed = true;
                return Some(Err(DocumentError::Limits(format!(
                    "EPC {epc} alone does not fit in a document of the configured size; raise the size limit"
                ))));
            }
            if epcs.len() == self.max_epcs || used + cost > self.byte_budget {
                self.pending = Some(epc);
                break;
            }
            used += cost;
            epcs.push(epc);
        }
        if epcs.is_empty() {
            None
        } else {
            Some(Ok(self.template.with_epcs(epcs)))
        }
    }
}

/// An event already checked, hashed and written, waiting for its document.
struct RenderedEvent {
    event: ObjectEvent,
    bytes: Vec<u8>,
    event_id: String,
}

/// Packs events into finished documents of at most `max_events_per_document` events
/// and `max_document_bytes` bytes.
pub struct DocumentPacker<E> {
    events: E,
    format: DocumentFormat,
    limits: ChunkLimits,
    creation_date: EventTime,
    carried: Option<RenderedEvent>,
    failed: bool,
}

impl<E> DocumentPacker<E>
where
    E: Iterator<Item = Result<ObjectEvent, DocumentError>>,
{
    pub fn new(
        events: E,
        format: DocumentFormat,
        limits: ChunkLimits,
        creation_date: EventTime,
    ) -> Result<Self, DocumentError> {
        limits.validate()?;
        Ok(DocumentPacker {
            events,
            format,
            limits,
            creation_date,
            carried: None,
            failed: false,
        })
    }

    fn next_rendered_event(&mut self) -> Option<Result<RenderedEvent, DocumentError>> {
        if let Some(carried) = self.carried.take() {
            return Some(Ok(carried));
        }
        let event = match self.events.next()? {
            Ok(event) => event,
            Err(e) => return Some(Err(e)),
        };
        let rendered = (|| {
            super::checks::check_event(&event)?;
            let event_id = event_hash_id(&event, self.format.ilmd_namespace())?;
            let mut bytes = Vec::with_capacity(256 + event.epcs.len() * 64);
            self.format.write_event(&mut bytes, &event, &event_id)?;
            Ok((bytes, event_id))
        })();
        Some(rendered.map(|(bytes, event_id)| RenderedEvent {
            event,
            bytes,
            event_id,
        }))
    }
}

impl<E> Iterator for DocumentPacker<E>
where
    E: Iterator<Item = Result<ObjectEvent, DocumentError>>,
{
    type Item = Result<EpcisDocument, DocumentError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let format = self.format;
        let mut bytes: Vec<u8> = Vec::new();
        let mut summaries: Vec<EventSummary> = Vec::new();
        let mut cbvmda_declared = false;
        loop {
            let RenderedEvent {
                event,
                bytes: event_bytes,
                event_id,
            } = match self.next_rendered_event() {
                Some(Ok(rendered)) => rendered,
                Some(Err(e)) => {
                    self.failed = true;
                    return Some(Err(e));
                }
                None => break,
            };
            let needs_cbvmda = event.kind.lot_master_data().is_some();
            if summaries.is_empty() {
                bytes.clear();
                if let Err(e) =
                    format.write_document_start(&mut bytes, &self.creation_date, needs_cbvmda)
                {
                    self.failed = true;
                    return Some(Err(e));
                }
                cbvmda_declared = needs_cbvmda;
            }
            let separator = if summaries.is_empty() {
                0
            } else {
                format.event_separator().len()
            };
            let total = bytes.len() + separator + event_bytes.len() + format.document_end_len();
            let fits = total <= self.limits.max_document_bytes
                && summaries.len() < self.limits.max_events_per_document
                && (cbvmda_declared || !needs_cbvmda);
            if !fits {
                if summaries.is_empty() {
                    self.failed = true;
                    return Some(Err(DocumentError::Limits(format!(
                        "one event of {} EPCs needs {total} bytes, more than the {}-byte document limit; lower the EPCs per event",
                        event.epcs.len(),
                        self.limits.max_document_bytes
                    ))));
                }
                self.carried = Some(RenderedEvent {
                    event,
                    bytes: event_bytes,
                    event_id,
                });
                break;
            }
            if separator > 0 {
                bytes.extend_from_slice(format.event_separator());
            }
            bytes.extend_from_slice(&event_bytes);
            summaries.push(EventSummary {
                event_id,
                epc_count: event.epcs.len(),
            });
        }
        if summaries.is_empty() {
            return None;
        }
        format.write_document_end(&mut bytes);
        Some(Ok(EpcisDocument {
            format,
            bytes,
            events: summaries,
        }))
    }
}

/// The whole pipeline for one batch: serials of one product → EPC URIs → events →
/// documents, lazily.
#[allow(clippy::too_many_arguments)]
pub fn documents_for_serials<'a, S>(
    format: DocumentFormat,
    limits: ChunkLimits,
    creation_date: EventTime,
    template: EventTemplate,
    gtin: &'a Gtin,
    company_prefix_len: usize,
    serials: S,
) -> Result<impl Iterator<Item = DocumentResult> + 'a, DocumentError>
where
    S: IntoIterator + 'a,
    S::Item: AsRef<str>,
{
    let epcs = sgtin_epcs(gtin, company_prefix_len, serials);
    let events = EventChunker::new(epcs, template, format, limits, &creation_date)?;
    DocumentPacker::new(events, format, limits, creation_date)
}
