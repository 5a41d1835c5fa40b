//! Container events for the site server: the store's container rows (written by
//! `store::containers`, one per event) turned into EPCIS events, then packed into
//! outbox chunks in row order. Pure: rows in, chunk payloads out.
//!
//! | row kind | event |
//! |---|---|
//! | `sscc-commissioned` | ObjectEvent ADD / commissioning / active over the SSCC |
//! | `aggregation-add` | AggregationEvent ADD / packing / in_progress |
//! | `aggregation-delete` | AggregationEvent DELETE / unpacking / in_progress |
//! | `sscc-decommissioned` | ObjectEvent DELETE / decommissioning / inactive over the SSCC |
//!
//! The event time is the row's `at`; read point and business location are the
//! client's. An aggregation with more children than the client takes per event is
//! split into several events of the same parent. A chunk's document lists its
//! ObjectEvents before its AggregationEvents, so a chunk ends where an ObjectEvent
//! follows an AggregationEvent; it also ends at the client's event and byte limits
//! and where the batch changes. The site server therefore gets the events in row
//! order (see ARCHITECTURE.md, "Aggregation").

use serde::Deserialize;
use serialstation_gs1::{Gtin, Sscc};

use super::document::DocumentFormat;
use super::error::DocumentError;
use super::event_hash::{aggregation_event_hash_id, event_hash_id};
use super::model::{AggregationEvent, AggregationKind, EventKind, ObjectEvent, Sgln};
use super::sender::ChunkPayload;
use super::time::EventTime;
use super::{ChunkLimits, checks};
use crate::store::BatchId;

/// One event made from a container row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContainerEvent {
    /// An SSCC commissioned or decommissioned.
    Object(ObjectEvent),
    /// Children packed into or taken out of a container.
    Aggregation(AggregationEvent),
}

/// A container as a row names it.
#[derive(Deserialize)]
struct SsccRef {
    sscc: String,
    company_prefix_length: usize,
}

/// A child as a row names it: a pack (GTIN and serial) or an inner container.
#[derive(Deserialize)]
#[serde(untagged)]
enum ChildRef {
    Pack {
        gtin: String,
        serial: String,
        company_prefix_length: usize,
    },
    Container {
        sscc: String,
        company_prefix_length: usize,
    },
}

impl ChildRef {
    fn epc(&self) -> Result<String, String> {
        match self {
            ChildRef::Pack {
                gtin,
                serial,
                company_prefix_length,
            } => {
                let parsed = Gtin::parse(gtin).map_err(|e| format!("GTIN {gtin}: {e}"))?;
                serialstation_gs1::epc::sgtin_uri(&parsed, *company_prefix_length, serial)
                    .map_err(|e| format!("pack {gtin} {serial}: {e}"))
            }
            ChildRef::Container {
                sscc,
                company_prefix_length,
            } => sscc_epc(sscc, *company_prefix_length),
        }
    }
}

/// The payload of an `sscc-commissioned` or `sscc-decommissioned` row.
#[derive(Deserialize)]
struct SsccPayload {
    sscc: String,
    company_prefix_length: usize,
    at: String,
}

/// The payload of an `aggregation-add` or `aggregation-delete` row.
#[derive(Deserialize)]
struct AggregationPayload {
    parent: SsccRef,
    children: Vec<ChildRef>,
    at: String,
}

fn sscc_epc(sscc: &str, company_prefix_length: usize) -> Result<String, String> {
    let parsed = Sscc::parse(sscc).map_err(|e| format!("SSCC {sscc}: {e}"))?;
    serialstation_gs1::epc::sscc_uri(&parsed, company_prefix_length)
        .map_err(|e| format!("SSCC {sscc}: {e}"))
}

fn event_time(at: &str) -> Result<EventTime, String> {
    EventTime::parse_rfc3339(at).map_err(|e| format!("its time {at:?}: {e}"))
}

/// The events of one container row of `kind`, in order: one, or for an aggregation
/// with more than `max_children` children, one per part of at most that many.
pub fn row_events(
    kind: &str,
    payload: &str,
    read_point: &Sgln,
    biz_location: &Sgln,
    max_children: usize,
) -> Result<Vec<ContainerEvent>, String> {
    let unreadable = |e: serde_json::Error| format!("its {kind} payload cannot be read ({e})");
    match kind {
        "sscc-commissioned" | "sscc-decommissioned" => {
            let row: SsccPayload = serde_json::from_str(payload).map_err(unreadable)?;
            let event_kind = if kind == "sscc-commissioned" {
                EventKind::ContainerCommissioning
            } else {
                EventKind::ContainerDecommissioning
            };
            Ok(vec![ContainerEvent::Object(ObjectEvent {
                kind: event_kind,
                event_time: event_time(&row.at)?,
                epcs: vec![sscc_epc(&row.sscc, row.company_prefix_length)?],
                read_point: read_point.clone(),
                biz_location: biz_location.clone(),
            })])
        }
        "aggregation-add" | "aggregation-delete" => {
            let row: AggregationPayload = serde_json::from_str(payload).map_err(unreadable)?;
            let aggregation = if kind == "aggregation-add" {
                AggregationKind::Packing
            } else {
                AggregationKind::Unpacking
            };
            let parent = sscc_epc(&row.parent.sscc, row.parent.company_prefix_length)?;
            let children = row
                .children
                .iter()
                .map(ChildRef::epc)
                .collect::<Result<Vec<_>, _>>()?;
            if children.is_empty() {
                return Err(format!(
                    "it names no child of container {}",
                    row.parent.sscc
                ));
            }
            let time = event_time(&row.at)?;
            Ok(children
                .chunks(max_children.max(1))
                .map(|part| {
                    ContainerEvent::Aggregation(AggregationEvent {
                        kind: aggregation,
                        event_time: time,
                        parent: parent.clone(),
                        children: part.to_vec(),
                        read_point: read_point.clone(),
                        biz_location: biz_location.clone(),
                    })
                })
                .collect())
        }
        other => Err(format!("{other:?} is not a kind of container row")),
    }
}

/// Bytes `event` takes in a document of `format`, after checking it and computing
/// its event ID (so that a bad event stops chunking, not sending).
fn rendered_size(format: DocumentFormat, event: &ContainerEvent) -> Result<usize, DocumentError> {
    let mut bytes = Vec::with_capacity(512);
    match event {
        ContainerEvent::Object(event) => {
            checks::check_event(event)?;
            let id = event_hash_id(event, format.ilmd_namespace())?;
            format.write_event(&mut bytes, event, &id)?;
        }
        ContainerEvent::Aggregation(event) => {
            checks::check_aggregation_event(event)?;
            let id = aggregation_event_hash_id(event)?;
            format.write_aggregation_event(&mut bytes, event, &id)?;
        }
    }
    Ok(bytes.len())
}

/// The chunk being filled.
struct OpenChunk {
    batch: Option<BatchId>,
    events: Vec<ObjectEvent>,
    aggregation_events: Vec<AggregationEvent>,
    /// Rendered size of the document so far.
    bytes: usize,
}

impl OpenChunk {
    fn new(batch: Option<BatchId>, empty_document: usize) -> OpenChunk {
        OpenChunk {
            batch,
            events: Vec::new(),
            aggregation_events: Vec::new(),
            bytes: empty_document,
        }
    }

    fn len(&self) -> usize {
        self.events.len() + self.aggregation_events.len()
    }

    /// Whether `event` of `batch` (`size` bytes) may join this chunk: same batch,
    /// within the limits, and not an ObjectEvent after an AggregationEvent (the
    /// document writes ObjectEvents first, which would change the order).
    fn takes(
        &self,
        batch: Option<BatchId>,
        event: &ContainerEvent,
        size: usize,
        separator: usize,
        limits: &ChunkLimits,
    ) -> bool {
        let reorders =
            matches!(event, ContainerEvent::Object(_)) && !self.aggregation_events.is_empty();
        self.batch == batch
            && !reorders
            && self.len() < limits.max_events_per_document
            && self.bytes + separator + size <= limits.max_document_bytes
    }

    fn push(&mut self, event: ContainerEvent, size: usize, separator: usize) {
        if self.len() > 0 {
            self.bytes += separator;
        }
        self.bytes += size;
        match event {
            ContainerEvent::Object(event) => self.events.push(event),
            ContainerEvent::Aggregation(event) => self.aggregation_events.push(event),
        }
    }

    fn finish(
        self,
        format: DocumentFormat,
        creation_date: EventTime,
    ) -> (Option<BatchId>, ChunkPayload) {
        (
            self.batch,
            ChunkPayload {
                format,
                creation_date,
                events: self.events,
                aggregation_events: self.aggregation_events,
            },
        )
    }
}

/// Packs the events of container rows (each with its batch, in row order) into chunks
/// within `limits`, keeping their order on the wire (see the module doc).
pub fn pack_chunks(
    format: DocumentFormat,
    limits: ChunkLimits,
    creation_date: EventTime,
    rows: Vec<(Option<BatchId>, Vec<ContainerEvent>)>,
) -> Result<Vec<(Option<BatchId>, ChunkPayload)>, DocumentError> {
    limits.validate()?;
    let mut head = Vec::new();
    // Container events carry no lot master data: no `cbvmda` declaration.
    format.write_document_start(&mut head, &creation_date, false)?;
    let empty_document = head.len() + format.document_end_len();
    let separator = format.event_separator().len();
    let mut chunks = Vec::new();
    let mut open: Option<OpenChunk> = None;
    for (batch, events) in rows {
        for event in events {
            let size = rendered_size(format, &event)?;
            if empty_document + size > limits.max_document_bytes {
                return Err(DocumentError::Limits(format!(
                    "one container event needs {} bytes, more than the {}-byte document limit; lower the EPCs per event",
                    empty_document + size,
                    limits.max_document_bytes
                )));
            }
            let mut chunk = match open.take() {
                Some(chunk) if chunk.takes(batch, &event, size, separator, &limits) => chunk,
                Some(full) => {
                    chunks.push(full.finish(format, creation_date));
                    OpenChunk::new(batch, empty_document)
                }
                None => OpenChunk::new(batch, empty_document),
            };
            chunk.push(event, size, separator);
            open = Some(chunk);
        }
    }
    if let Some(chunk) = open {
        chunks.push(chunk.finish(format, creation_date));
    }
    Ok(chunks)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CASE: &str = "095060000000000176";
    const PALLET: &str = "095060000000000244";

    fn sgln(uri: &str) -> Sgln {
        Sgln::parse(uri).unwrap()
    }

    fn events(kind: &str, payload: serde_json::Value, max_children: usize) -> Vec<ContainerEvent> {
        row_events(
            kind,
            &payload.to_string(),
            &sgln("urn:epc:id:sgln:9506000.00001.0"),
            &sgln("urn:epc:id:sgln:9506000.00001.0"),
            max_children,
        )
        .unwrap()
    }

    fn commissioned(sscc: &str) -> Vec<ContainerEvent> {
        events(
            "sscc-commissioned",
            serde_json::json!({"event": "sscc-commissioned", "sscc": sscc, "company_prefix_length": 7,
                               "level": "case", "batch": 1, "at": "2026-05-04T12:00:00.000Z"}),
            100,
        )
    }

    fn packed(parent: &str, serials: &[&str], max_children: usize) -> Vec<ContainerEvent> {
        let children: Vec<serde_json::Value> = serials
            .iter()
            .map(|s| serde_json::json!({"gtin": "09506000134352", "serial": s, "company_prefix_length": 7}))
            .collect();
        events(
            "aggregation-add",
            serde_json::json!({"event": "aggregation-add",
                               "parent": {"sscc": parent, "company_prefix_length": 7},
                               "level": "case", "children": children, "batch": 1,
                               "at": "2026-05-04T12:00:00.000Z"}),
            max_children,
        )
    }

    fn creation() -> EventTime {
        EventTime::parse_rfc3339("2026-05-04T14:00:00.000Z").unwrap()
    }

    #[test]
    fn each_row_kind_becomes_its_event() {
        let made = commissioned(CASE);
        let [ContainerEvent::Object(event)] = made.as_slice() else {
            panic!("an SSCC commissioning is one ObjectEvent: {made:?}");
        };
        assert_eq!(event.kind, EventKind::ContainerCommissioning);
        assert_eq!(event.epcs, ["urn:epc:id:sscc:9506000.0000000017"]);
        assert_eq!(event.event_time.to_utc_string(), "2026-05-04T12:00:00.000Z");

        let made = packed(CASE, &["A1", "A/2"], 100);
        let [ContainerEvent::Aggregation(event)] = made.as_slice() else {
            panic!("a packing is one AggregationEvent: {made:?}");
        };
        assert_eq!(event.kind, AggregationKind::Packing);
        assert_eq!(event.parent, "urn:epc:id:sscc:9506000.0000000017");
        assert_eq!(
            event.children,
            [
                "urn:epc:id:sgtin:9506000.013435.A1",
                "urn:epc:id:sgtin:9506000.013435.A%2F2"
            ]
        );

        let unpacked = events(
            "aggregation-delete",
            serde_json::json!({"event": "aggregation-delete",
                               "parent": {"sscc": PALLET, "company_prefix_length": 7},
                               "children": [{"sscc": CASE, "company_prefix_length": 7}],
                               "batch": 1, "at": "2026-05-04T12:00:01.000Z"}),
            100,
        );
        let [ContainerEvent::Aggregation(event)] = unpacked.as_slice() else {
            panic!("an unpacking is one AggregationEvent: {unpacked:?}");
        };
        assert_eq!(event.kind, AggregationKind::Unpacking);
        assert_eq!(event.children, ["urn:epc:id:sscc:9506000.0000000017"]);

        let decommissioned = events(
            "sscc-decommissioned",
            serde_json::json!({"event": "sscc-decommissioned", "sscc": CASE, "company_prefix_length": 7,
                               "reason": "torn label", "batch": 1, "at": "2026-05-04T12:00:02.000Z"}),
            100,
        );
        let [ContainerEvent::Object(event)] = decommissioned.as_slice() else {
            panic!("an SSCC decommissioning is one ObjectEvent: {decommissioned:?}");
        };
        assert_eq!(event.kind, EventKind::ContainerDecommissioning);
    }

    #[test]
    fn unreadable_rows_are_refused_with_the_reason() {
        let place = sgln("urn:epc:id:sgln:9506000.00001.0");
        let refuse =
            |kind: &str, payload: &str| row_events(kind, payload, &place, &place, 10).unwrap_err();
        assert!(refuse("sscc-commissioned", "{}").contains("cannot be read"));
        assert!(refuse("pallet-wrapped", "{}").contains("not a kind of container row"));
        let bad_check = r#"{"sscc": "095060000000000177", "company_prefix_length": 7, "at": "2026-05-04T12:00:00.000Z"}"#;
        assert!(refuse("sscc-commissioned", bad_check).contains("095060000000000177"));
        let short_prefix = r#"{"sscc": "095060000000000176", "company_prefix_length": 4, "at": "2026-05-04T12:00:00.000Z"}"#;
        assert!(refuse("sscc-commissioned", short_prefix).contains("6 to 12"));
        let no_children = format!(
            r#"{{"parent": {{"sscc": "{CASE}", "company_prefix_length": 7}}, "children": [], "at": "2026-05-04T12:00:00.000Z"}}"#
        );
        assert!(refuse("aggregation-add", &no_children).contains("no child"));
    }

    #[test]
    fn a_large_aggregation_is_split_at_the_epc_limit() {
        let serials: Vec<String> = (0..7).map(|i| format!("S{i}")).collect();
        let serials: Vec<&str> = serials.iter().map(String::as_str).collect();
        let parts = packed(CASE, &serials, 3);
        let sizes: Vec<usize> = parts
            .iter()
            .map(|e| match e {
                ContainerEvent::Aggregation(e) => e.children.len(),
                ContainerEvent::Object(_) => 0,
            })
            .collect();
        assert_eq!(sizes, [3, 3, 1]);
    }

    #[test]
    fn chunks_keep_row_order_and_the_limits() {
        let limits = ChunkLimits {
            max_epcs_per_event: 100,
            max_events_per_document: 3,
            max_document_bytes: 1 << 20,
        };
        // Case: commissioned then packed; pallet: commissioned then packed; a later
        // batch's case.
        let rows = vec![
            (Some(BatchId(1)), commissioned(CASE)),
            (Some(BatchId(1)), packed(CASE, &["A1", "A2"], 100)),
            (Some(BatchId(1)), commissioned(PALLET)),
            (Some(BatchId(1)), packed(PALLET, &["B1"], 100)),
            (Some(BatchId(2)), packed(PALLET, &["C1"], 100)),
        ];
        for format in [DocumentFormat::Epcis2JsonLd, DocumentFormat::Epcis12Xml] {
            let chunks = pack_chunks(format, limits, creation(), rows.clone()).unwrap();
            let shape: Vec<(Option<BatchId>, usize, usize)> = chunks
                .iter()
                .map(|(b, c)| (*b, c.events.len(), c.aggregation_events.len()))
                .collect();
            // An ObjectEvent after an AggregationEvent starts a new chunk; so does a
            // new batch.
            assert_eq!(
                shape,
                [
                    (Some(BatchId(1)), 1, 1),
                    (Some(BatchId(1)), 1, 1),
                    (Some(BatchId(2)), 0, 1)
                ]
            );
            for (_, chunk) in &chunks {
                let document = chunk.render().unwrap();
                let text = String::from_utf8(document.bytes).unwrap();
                if let (Some(object), Some(aggregation)) =
                    (text.find("ObjectEvent"), text.find("AggregationEvent"))
                {
                    assert!(object < aggregation, "{text}");
                }
            }
        }
        // Aggregations of one batch share chunks up to the event limit.
        let many: Vec<(Option<BatchId>, Vec<ContainerEvent>)> = (0..7)
            .map(|i| {
                let serial = format!("P{i}");
                (Some(BatchId(1)), packed(CASE, &[serial.as_str()], 100))
            })
            .collect();
        let chunks = pack_chunks(DocumentFormat::Epcis2JsonLd, limits, creation(), many).unwrap();
        assert_eq!(
            chunks
                .iter()
                .map(|(_, c)| c.aggregation_events.len())
                .collect::<Vec<_>>(),
            [3, 3, 1]
        );
    }

    #[test]
    fn chunks_respect_the_byte_limit_exactly() {
        let serials: Vec<String> = (0..40).map(|i| format!("SERIAL{i:06}")).collect();
        let rows: Vec<(Option<BatchId>, Vec<ContainerEvent>)> = serials
            .chunks(4)
            .map(|part| {
                let part: Vec<&str> = part.iter().map(String::as_str).collect();
                (Some(BatchId(1)), packed(CASE, &part, 100))
            })
            .collect();
        for format in [DocumentFormat::Epcis2JsonLd, DocumentFormat::Epcis12Xml] {
            let limits = ChunkLimits {
                max_epcs_per_event: 100,
                max_events_per_document: 100,
                max_document_bytes: 4096,
            };
            let chunks = pack_chunks(format, limits, creation(), rows.clone()).unwrap();
            assert!(chunks.len() > 1, "{format:?}");
            let mut total = 0;
            for (_, chunk) in &chunks {
                let document = chunk.render().unwrap();
                assert!(document.bytes.len() <= 4096, "{format:?}");
                total += chunk.aggregation_events.len();
            }
            assert_eq!(total, 10);
            // Each chunk but the last is full: the next event would not have fitted.
            let first = chunks[0].1.render().unwrap().bytes.len();
            let next = ChunkPayload {
                format,
                creation_date: creation(),
                events: Vec::new(),
                aggregation_events: vec![chunks[1].1.aggregation_events[0].clone()],
            };
            let one = next.render().unwrap().bytes.len();
            let empty = {
                let mut head = Vec::new();
                format
                    .write_document_start(&mut head, &creation(), false)
                    .unwrap();
                head.len() + format.document_end_len()
            };
            assert!(
                first + format.event_separator().len() + (one - empty) > 4096,
                "{format:?}"
            );
        }
    }
}
