//! What one outbox chunk stores, and how a batch's serials become chunks.
//!
//! A chunk stores its events (their serde form reads back exactly), its document
//! format and the document creation date, fixed when the chunk is created. Every
//! (re)send renders the same bytes and event IDs with
//! [`crate::upload::render_document_with_aggregations`]; a chunk is never re-chunked.
//! A chunk made from container rows may also hold AggregationEvents; its document
//! lists them after its ObjectEvents (see [`crate::upload::container_events`]).

use serialstation_gs1::Gtin;

use crate::store::batches::BatchId;
use crate::store::{OutboxId, Store, StoreResult};
use crate::upload::{
    AggregationEvent, ChunkLimits, DocumentError, DocumentFormat, EpcisDocument, EventChunker,
    EventTemplate, EventTime, ObjectEvent, render_document_with_aggregations, sgtin_epcs,
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
    /// AggregationEvents, written after `events` (absent from the stored form when
    /// empty, so chunks of serials are stored as before).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aggregation_events: Vec<AggregationEvent>,
}

impl ChunkPayload {
    /// The document, rendered exactly as on every previous attempt.
    pub fn render(&self) -> Result<EpcisDocument, DocumentError> {
        self.render_as(self.format)
    }

    /// The chunk's events as a document in `format` (an export in another format).
    pub fn render_as(&self, format: DocumentFormat) -> Result<EpcisDocument, DocumentError> {
        render_document_with_aggregations(
            format,
            &self.creation_date,
            &self.events,
            &self.aggregation_events,
        )
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
///
/// Streams: events are packed into a document as they come, sized from their EPCs
/// without rendering, so only one document's events are held at a time whatever the
/// number of serials. A document whose estimate comes within 5 % of the byte limit
/// is rendered to confirm its size (and split in halves if the estimate was short).
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
    let sizes = EventSizes::new(format, &template, &creation_date)?;
    let epcs = sgtin_epcs(gtin, company_prefix_len, serials);
    let mut events = EventChunker::new(epcs, template, format, limits, &creation_date)?;
    let mut failed = false;
    let mut carried: Option<(ObjectEvent, usize)> = None;
    let mut ready: std::collections::VecDeque<ChunkPayload> = Default::default();
    Ok(std::iter::from_fn(move || {
        if let Some(chunk) = ready.pop_front() {
            return Some(Ok(chunk));
        }
        if failed {
            return None;
        }
        let mut group = Vec::new();
        let mut size = sizes.document;
        loop {
            let (event, cost) = match carried.take() {
                Some(carried) => carried,
                None => match events.next() {
                    Some(Ok(event)) => {
                        let cost = sizes.event(format, &event);
                        (event, cost)
                    }
                    Some(Err(e)) => {
                        failed = true;
                        return Some(Err(e));
                    }
                    None => break,
                },
            };
            let separator = if group.is_empty() {
                0
            } else {
                format.event_separator().len()
            };
            if !group.is_empty()
                && (group.len() >= limits.max_events_per_document
                    || size + separator + cost > limits.max_document_bytes)
            {
                carried = Some((event, cost));
                break;
            }
            size += separator + cost;
            group.push(event);
        }
        if group.is_empty() {
            return None;
        }
        if size <= limits.max_document_bytes / 100 * 95 {
            // The estimate adds the writers' own sizes; well inside the limit, the
            // rendered document needs no check.
            return Some(Ok(ChunkPayload {
                format,
                creation_date,
                events: group,
                aggregation_events: Vec::new(),
            }));
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

/// Rendered sizes for one template, measured once: the document without events
/// and an event without EPCs; an event's size adds its EPC entries.
struct EventSizes {
    document: usize,
    empty_event: usize,
}

impl EventSizes {
    fn new(
        format: DocumentFormat,
        template: &EventTemplate,
        creation_date: &EventTime,
    ) -> Result<EventSizes, DocumentError> {
        let cbvmda = template.kind.lot_master_data().is_some();
        let mut head = Vec::new();
        format.write_document_start(&mut head, creation_date, cbvmda)?;
        let document = head.len() + format.document_end_len();
        let mut event = Vec::new();
        let empty = ObjectEvent {
            kind: template.kind.clone(),
            event_time: template.event_time,
            epcs: Vec::new(),
            read_point: template.read_point.clone(),
            biz_location: template.biz_location.clone(),
        };
        // Event IDs always have the same length; any hash stands in for the real one.
        format.write_event(
            &mut event,
            &empty,
            &crate::upload::event_hash::hash_id_of_pre_hash(""),
        )?;
        Ok(EventSizes {
            document,
            empty_event: event.len(),
        })
    }

    fn event(&self, format: DocumentFormat, event: &ObjectEvent) -> usize {
        self.empty_event
            + event
                .epcs
                .iter()
                .enumerate()
                .map(|(i, epc)| format.epc_entry_len(epc, i == 0))
                .sum::<usize>()
    }
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
        aggregation_events: Vec::new(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upload::{EventKind, LotMasterData, Sgln};
    use serialstation_gs1::Gs1Date;

    fn template(kind: EventKind) -> EventTemplate {
        EventTemplate {
            kind,
            event_time: EventTime::parse_rfc3339("2026-05-04T13:14:15.678+02:00").unwrap(),
            read_point: Sgln::parse("urn:epc:id:sgln:9506000.00001.0").unwrap(),
            biz_location: Sgln::parse("urn:epc:id:sgln:9506000.00001.L%2F1").unwrap(),
        }
    }

    /// The size estimate that lets most documents skip the check render is exact.
    #[test]
    fn estimated_sizes_equal_rendered_sizes() {
        let gtin = Gtin::parse("09506000134352").unwrap();
        let creation = EventTime::parse_rfc3339("2026-05-04T14:00:00.000Z").unwrap();
        let lot = LotMasterData::new("L<&>1", Gs1Date::from_ymd(2027, 6, 30).unwrap()).unwrap();
        let serials: Vec<String> = (0..57).map(|i| format!("S{i}/\"&<x")).collect();
        for format in [DocumentFormat::Epcis2JsonLd, DocumentFormat::Epcis12Xml] {
            for kind in [
                EventKind::Commissioning(lot.clone()),
                EventKind::Decommissioning,
            ] {
                let template = template(kind);
                let sizes = EventSizes::new(format, &template, &creation).unwrap();
                let limits = ChunkLimits {
                    max_epcs_per_event: 10,
                    max_events_per_document: 3,
                    max_document_bytes: 1 << 20,
                };
                let chunks: Vec<ChunkPayload> =
                    chunk_payloads(format, limits, creation, template, &gtin, 7, &serials)
                        .unwrap()
                        .map(Result::unwrap)
                        .collect();
                assert_eq!(chunks.len(), 2);
                for chunk in chunks {
                    let estimate = sizes.document
                        + chunk
                            .events
                            .iter()
                            .map(|e| sizes.event(format, e))
                            .sum::<usize>()
                        + format.event_separator().len() * (chunk.events.len() - 1);
                    assert_eq!(estimate, chunk.render().unwrap().bytes.len(), "{format:?}");
                }
            }
        }
    }

    #[test]
    fn documents_near_the_byte_limit_are_split_to_fit() {
        let gtin = Gtin::parse("09506000134352").unwrap();
        let creation = EventTime::parse_rfc3339("2026-05-04T14:00:00.000Z").unwrap();
        let serials: Vec<String> = (0..400).map(|i| format!("{i:012}")).collect();
        let limits = ChunkLimits {
            max_epcs_per_event: 50,
            max_events_per_document: 100,
            max_document_bytes: 8192,
        };
        let mut total = 0;
        for chunk in chunk_payloads(
            DocumentFormat::Epcis2JsonLd,
            limits,
            creation,
            template(EventKind::Decommissioning),
            &gtin,
            7,
            &serials,
        )
        .unwrap()
        {
            let chunk = chunk.unwrap();
            assert!(chunk.render().unwrap().bytes.len() <= 8192);
            total += chunk.events.iter().map(|e| e.epcs.len()).sum::<usize>();
        }
        assert_eq!(total, 400);
    }

    #[test]
    fn stored_chunks_keep_their_form_and_carry_aggregation_events_after_object_events() {
        use crate::upload::{AggregationEvent, AggregationKind};
        let gtin = Gtin::parse("09506000134352").unwrap();
        let creation = EventTime::parse_rfc3339("2026-05-04T14:00:00.000Z").unwrap();
        let limits = ChunkLimits::default();
        let serials = ["S1", "S2"];
        let chunk = chunk_payloads(
            DocumentFormat::Epcis2JsonLd,
            limits,
            creation,
            template(EventKind::Decommissioning),
            &gtin,
            7,
            serials,
        )
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
        // A chunk of serials is stored as before: no aggregation key.
        let stored = chunk.to_stored();
        assert!(!stored.contains("aggregation"), "{stored}");
        assert_eq!(ChunkPayload::from_stored(&stored).unwrap(), chunk);

        let mut mixed = chunk.clone();
        let template = template(EventKind::Decommissioning);
        mixed.aggregation_events.push(AggregationEvent {
            kind: AggregationKind::Packing,
            event_time: template.event_time,
            parent: "urn:epc:id:sscc:9506000.0000000017".into(),
            children: vec!["urn:epc:id:sgtin:9506000.013435.S9".into()],
            read_point: template.read_point.clone(),
            biz_location: template.biz_location.clone(),
        });
        let read = ChunkPayload::from_stored(&mixed.to_stored()).unwrap();
        assert_eq!(read, mixed);
        for format in [DocumentFormat::Epcis2JsonLd, DocumentFormat::Epcis12Xml] {
            let document = read.render_as(format).unwrap();
            assert_eq!(document, mixed.render_as(format).unwrap());
            assert_eq!(document.events.len(), 2);
            let text = String::from_utf8(document.bytes).unwrap();
            assert!(text.find("ObjectEvent").unwrap() < text.find("AggregationEvent").unwrap());
        }
        assert_eq!(
            mixed.render().unwrap(),
            mixed.render_as(DocumentFormat::Epcis2JsonLd).unwrap()
        );
    }
}
