//! One EPCIS document from a list of events, in the client's format: the event IDs
//! (hash IDs in the form that matches the format), the bytes, and the content type.
//! A document holds its ObjectEvents first, then its AggregationEvents.
//!
//! This is the unit the outbox sends and, for a resend, renders again from the stored
//! events: the same events always give the same event IDs.

use super::error::DocumentError;
use super::event_hash::{IlmdNamespace, aggregation_event_hash_id, event_hash_id};
use super::model::{AggregationEvent, ObjectEvent};
use super::time::EventTime;
use super::{json_ld, xml12};

/// The two document formats a client's site server may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DocumentFormat {
    /// EPCIS 2.0 JSON-LD (`application/ld+json`), the default for EPCIS 2.0 capture.
    #[serde(rename = "epcis2-json")]
    Epcis2JsonLd,
    /// EPCIS 1.2 XML (`application/xml`), for site servers that only speak 1.2.
    #[serde(rename = "epcis12-xml")]
    Epcis12Xml,
}

impl DocumentFormat {
    /// HTTP `Content-Type` of a document in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            DocumentFormat::Epcis2JsonLd => "application/ld+json",
            DocumentFormat::Epcis12Xml => "application/xml",
        }
    }
    /// File extension for exported documents.
    pub fn file_extension(self) -> &'static str {
        match self {
            DocumentFormat::Epcis2JsonLd => "jsonld",
            DocumentFormat::Epcis12Xml => "xml",
        }
    }
    /// How this format names the `cbvmda` namespace, and therefore which form of the
    /// event hash its documents carry (see [`super::event_hash`]).
    pub fn ilmd_namespace(self) -> IlmdNamespace {
        match self {
            DocumentFormat::Epcis2JsonLd => IlmdNamespace::JsonLd,
            DocumentFormat::Epcis12Xml => IlmdNamespace::Xml,
        }
    }

    pub(crate) fn write_document_start(
        self,
        out: &mut Vec<u8>,
        creation: &EventTime,
        cbvmda: bool,
    ) -> Result<(), DocumentError> {
        match self {
            DocumentFormat::Epcis2JsonLd => json_ld::write_document_start(out, creation, cbvmda),
            DocumentFormat::Epcis12Xml => xml12::write_document_start(out, creation, cbvmda),
        }
    }
    pub(crate) fn write_event(
        self,
        out: &mut Vec<u8>,
        event: &ObjectEvent,
        event_id: &str,
    ) -> Result<(), DocumentError> {
        match self {
            DocumentFormat::Epcis2JsonLd => json_ld::write_event(out, event, event_id),
            DocumentFormat::Epcis12Xml => xml12::write_event(out, event, event_id),
        }
    }
    pub(crate) fn write_aggregation_event(
        self,
        out: &mut Vec<u8>,
        event: &AggregationEvent,
        event_id: &str,
    ) -> Result<(), DocumentError> {
        match self {
            DocumentFormat::Epcis2JsonLd => json_ld::write_aggregation_event(out, event, event_id),
            DocumentFormat::Epcis12Xml => xml12::write_aggregation_event(out, event, event_id),
        }
    }
    pub(crate) fn event_separator(self) -> &'static [u8] {
        match self {
            DocumentFormat::Epcis2JsonLd => json_ld::EVENT_SEPARATOR,
            DocumentFormat::Epcis12Xml => xml12::EVENT_SEPARATOR,
        }
    }
    pub(crate) fn write_document_end(self, out: &mut Vec<u8>) {
        match self {
            DocumentFormat::Epcis2JsonLd => json_ld::write_document_end(out),
            DocumentFormat::Epcis12Xml => xml12::write_document_end(out),
        }
    }
    pub(crate) fn document_end_len(self) -> usize {
        match self {
            DocumentFormat::Epcis2JsonLd => json_ld::document_end_len(),
            DocumentFormat::Epcis12Xml => xml12::document_end_len(),
        }
    }
    pub(crate) fn epc_entry_len(self, epc: &str, is_first: bool) -> usize {
        match self {
            DocumentFormat::Epcis2JsonLd => json_ld::epc_entry_len(epc, is_first),
            DocumentFormat::Epcis12Xml => xml12::epc_entry_len(epc, is_first),
        }
    }
}

/// What one event of a document is, for the outbox and the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventSummary {
    pub event_id: String,
    pub epc_count: usize,
}

/// A finished EPCIS document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpcisDocument {
    pub format: DocumentFormat,
    pub bytes: Vec<u8>,
    pub events: Vec<EventSummary>,
}

impl EpcisDocument {
    /// Number of EPCs over all events.
    pub fn epc_count(&self) -> usize {
        self.events.iter().map(|e| e.epc_count).sum()
    }
}

/// Renders `events` as one document created at `creation_date`.
pub fn render_document(
    format: DocumentFormat,
    creation_date: &EventTime,
    events: &[ObjectEvent],
) -> Result<EpcisDocument, DocumentError> {
    render_document_with_aggregations(format, creation_date, events, &[])
}

/// Renders `events` and then `aggregations` as one document created at
/// `creation_date` (for ObjectEvents alone it is [`render_document`], byte for byte).
pub fn render_document_with_aggregations(
    format: DocumentFormat,
    creation_date: &EventTime,
    events: &[ObjectEvent],
    aggregations: &[AggregationEvent],
) -> Result<EpcisDocument, DocumentError> {
    if events.is_empty() && aggregations.is_empty() {
        return Err(DocumentError::Event(
            "an EPCIS document needs at least one event; nothing to report".into(),
        ));
    }
    let cbvmda = events.iter().any(|e| e.kind.lot_master_data().is_some());
    let mut bytes = Vec::new();
    format.write_document_start(&mut bytes, creation_date, cbvmda)?;
    let mut summaries = Vec::with_capacity(events.len() + aggregations.len());
    for event in events {
        super::checks::check_event(event)?;
        let event_id = event_hash_id(event, format.ilmd_namespace())?;
        if !summaries.is_empty() {
            bytes.extend_from_slice(format.event_separator());
        }
        format.write_event(&mut bytes, event, &event_id)?;
        summaries.push(EventSummary {
            event_id,
            epc_count: event.epcs.len(),
        });
    }
    for event in aggregations {
        super::checks::check_aggregation_event(event)?;
        let event_id = aggregation_event_hash_id(event)?;
        if !summaries.is_empty() {
            bytes.extend_from_slice(format.event_separator());
        }
        format.write_aggregation_event(&mut bytes, event, &event_id)?;
        summaries.push(EventSummary {
            event_id,
            epc_count: event.children.len(),
        });
    }
    format.write_document_end(&mut bytes);
    Ok(EpcisDocument {
        format,
        bytes,
        events: summaries,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upload::model::{AggregationKind, EventKind, Sgln};

    const ADD_ID: &str =
        "ni:///sha-256;a26fdb123d612b69bbdf4a64665b5028b6c0e81d3c4bb7a9dfd35261db71aa79?ver=CBV2.0";
    const COMMISSIONING_ID: &str =
        "ni:///sha-256;521f37e779cf079a09d45d23082c731481f76268a9e1f03eb9e29279081020d8?ver=CBV2.0";

    fn time(text: &str) -> EventTime {
        EventTime::parse_rfc3339(text).unwrap()
    }

    fn commissioned_case() -> ObjectEvent {
        ObjectEvent {
            kind: EventKind::ContainerCommissioning,
            event_time: time("2026-05-04T14:00:00.000+02:00"),
            epcs: vec!["urn:epc:id:sscc:9506000.0000000017".into()],
            read_point: Sgln::parse("urn:epc:id:sgln:9506000.00001.0").unwrap(),
            biz_location: Sgln::parse("urn:epc:id:sgln:9506000.00001.7").unwrap(),
        }
    }

    fn packed_case(kind: AggregationKind) -> AggregationEvent {
        AggregationEvent {
            kind,
            event_time: time("2026-05-04T14:00:00.000+02:00"),
            parent: "urn:epc:id:sscc:9506000.0000000017".into(),
            children: vec![
                "urn:epc:id:sgtin:9506000.013435.R0002".into(),
                "urn:epc:id:sgtin:9506000.013435.R0001".into(),
                "urn:epc:id:sscc:9506000.0000000024".into(),
            ],
            read_point: Sgln::parse("urn:epc:id:sgln:9506000.00001.0").unwrap(),
            biz_location: Sgln::parse("urn:epc:id:sgln:9506000.00001.7").unwrap(),
        }
    }

    #[test]
    fn an_aggregation_event_is_written_as_epcis_2_json_ld() {
        let creation = time("2026-05-04T14:00:00.000Z");
        let document = render_document_with_aggregations(
            DocumentFormat::Epcis2JsonLd,
            &creation,
            &[commissioned_case()],
            &[packed_case(AggregationKind::Packing)],
        )
        .unwrap();
        let text = String::from_utf8(document.bytes.clone()).unwrap();
        let expected_event = format!(
            "{{\"type\":\"AggregationEvent\",\"eventID\":\"{ADD_ID}\",\
             \"eventTime\":\"2026-05-04T14:00:00.000+02:00\",\"eventTimeZoneOffset\":\"+02:00\",\
             \"parentID\":\"urn:epc:id:sscc:9506000.0000000017\",\
             \"childEPCs\":[\"urn:epc:id:sgtin:9506000.013435.R0002\",\
             \"urn:epc:id:sgtin:9506000.013435.R0001\",\"urn:epc:id:sscc:9506000.0000000024\"],\
             \"action\":\"ADD\",\"bizStep\":\"packing\",\"disposition\":\"in_progress\",\
             \"readPoint\":{{\"id\":\"urn:epc:id:sgln:9506000.00001.0\"}},\
             \"bizLocation\":{{\"id\":\"urn:epc:id:sgln:9506000.00001.7\"}}}}"
        );
        assert!(text.contains(&expected_event), "{text}");
        assert!(
            !text.contains("cbvmda"),
            "no lot master data, no cbvmda: {text}"
        );
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        let events = json["epcisBody"]["eventList"].as_array().unwrap();
        assert_eq!(events.len(), 2);
        assert_eq!(events[0]["type"], "ObjectEvent");
        assert_eq!(events[0]["eventID"], COMMISSIONING_ID);
        assert!(events[0].get("ilmd").is_none());
        assert_eq!(events[1]["type"], "AggregationEvent");
        let ids: Vec<&str> = document
            .events
            .iter()
            .map(|e| e.event_id.as_str())
            .collect();
        assert_eq!(ids, [COMMISSIONING_ID, ADD_ID]);
        assert_eq!(document.epc_count(), 4);
    }

    #[test]
    fn an_aggregation_event_is_written_in_the_order_of_the_epcis_1_2_xsd() {
        let creation = time("2026-05-04T14:00:00.000Z");
        let document = render_document_with_aggregations(
            DocumentFormat::Epcis12Xml,
            &creation,
            &[commissioned_case()],
            &[packed_case(AggregationKind::Unpacking)],
        )
        .unwrap();
        let text = String::from_utf8(document.bytes).unwrap();
        let delete_id = &document.events[1].event_id;
        let expected_event = format!(
            "<AggregationEvent><eventTime>2026-05-04T14:00:00.000+02:00</eventTime>\
             <eventTimeZoneOffset>+02:00</eventTimeZoneOffset>\
             <baseExtension><eventID>{delete_id}</eventID></baseExtension>\
             <parentID>urn:epc:id:sscc:9506000.0000000017</parentID>\
             <childEPCs><epc>urn:epc:id:sgtin:9506000.013435.R0002</epc>\
             <epc>urn:epc:id:sgtin:9506000.013435.R0001</epc>\
             <epc>urn:epc:id:sscc:9506000.0000000024</epc></childEPCs>\
             <action>DELETE</action><bizStep>urn:epcglobal:cbv:bizstep:unpacking</bizStep>\
             <disposition>urn:epcglobal:cbv:disp:in_progress</disposition>\
             <readPoint><id>urn:epc:id:sgln:9506000.00001.0</id></readPoint>\
             <bizLocation><id>urn:epc:id:sgln:9506000.00001.7</id></bizLocation></AggregationEvent>"
        );
        assert!(text.contains(&expected_event), "{text}");
        assert_eq!(
            delete_id,
            "ni:///sha-256;78dce1901fd87e391b343e174b6bc4a77baff3241080be18659e3844b43cb562?ver=CBV2.0"
        );
        // The ObjectEvent comes first, and its ID is the same as in JSON-LD (no ilmd).
        assert!(text.find("<ObjectEvent>").unwrap() < text.find("<AggregationEvent>").unwrap());
        assert_eq!(document.events[0].event_id, COMMISSIONING_ID);
        assert!(!text.contains("xmlns:cbvmda"));
    }

    #[test]
    fn object_events_alone_render_as_before_and_bad_aggregations_are_refused() {
        let creation = time("2026-05-04T14:00:00.000Z");
        for format in [DocumentFormat::Epcis2JsonLd, DocumentFormat::Epcis12Xml] {
            assert_eq!(
                render_document(format, &creation, &[commissioned_case()]).unwrap(),
                render_document_with_aggregations(format, &creation, &[commissioned_case()], &[])
                    .unwrap()
            );
            let alone = render_document_with_aggregations(
                format,
                &creation,
                &[],
                &[packed_case(AggregationKind::Packing)],
            )
            .unwrap();
            assert_eq!(alone.events.len(), 1);
            let mut bad = packed_case(AggregationKind::Packing);
            bad.children.push(bad.parent.clone());
            assert!(render_document_with_aggregations(format, &creation, &[], &[bad]).is_err());
            let mut bad = packed_case(AggregationKind::Packing);
            bad.children.clear();
            assert!(render_document_with_aggregations(format, &creation, &[], &[bad]).is_err());
            assert!(render_document_with_aggregations(format, &creation, &[], &[]).is_err());
        }
    }
}
