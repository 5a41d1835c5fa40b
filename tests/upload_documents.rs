//! The upload document builders without any external tool: chunking within every
//! limit, every serial exactly once and in order, resends that reproduce the same
//! event IDs and bytes, the document shape, and errors (never silent skips) for input
//! that cannot be reported.

use serialstation::gs1::epc::parse_sgtin_uri;
use serialstation::gs1::{Gs1Date, Gtin};
use serialstation::upload::{
    ChunkLimits, DocumentError, DocumentFormat, DocumentPacker, EpcisDocument, EventChunker,
    EventKind, EventTemplate, EventTime, LotMasterData, ObjectEvent, Sgln, UsedUpReporting, checks,
    documents_for_serials, render_document, return_lists, sgtin_epcs,
};

const GTIN: &str = "09506000134352";
const COMPANY_PREFIX_LEN: usize = 7;

fn gtin() -> Gtin {
    Gtin::parse(GTIN).unwrap()
}

fn time(text: &str) -> EventTime {
    EventTime::parse_rfc3339(text).unwrap()
}

fn commissioning() -> EventKind {
    EventKind::Commissioning(
        LotMasterData::new("LOT-7", Gs1Date::from_ymd(2027, 6, 30).unwrap()).unwrap(),
    )
}

fn template(kind: EventKind) -> EventTemplate {
    EventTemplate {
        kind,
        event_time: time("2026-05-04T13:14:15.678+02:00"),
        read_point: Sgln::parse("urn:epc:id:sgln:9506000.00001.0").unwrap(),
        biz_location: Sgln::parse("urn:epc:id:sgln:9506000.00001.0").unwrap(),
    }
}

fn serials(count: usize) -> Vec<String> {
    // Varying lengths so that the byte limit, not only the EPC count, decides.
    (0..count)
        .map(|i| {
            if i % 7 == 0 {
                format!("LONG/SERIAL%{i:08}")
            } else {
                format!("S{i}")
            }
        })
        .collect()
}

fn build(
    format: DocumentFormat,
    limits: ChunkLimits,
    kind: EventKind,
    serials: &[String],
) -> Vec<EpcisDocument> {
    let gtin = gtin();
    documents_for_serials(
        format,
        limits,
        time("2026-05-04T14:00:00.000+02:00"),
        template(kind),
        &gtin,
        COMPANY_PREFIX_LEN,
        serials,
    )
    .unwrap()
    .collect::<Result<Vec<_>, _>>()
    .unwrap()
}

/// The EPC lists of every event of a document, read back from its bytes.
fn epc_lists(document: &EpcisDocument) -> Vec<Vec<String>> {
    let text = std::str::from_utf8(&document.bytes).unwrap();
    match document.format {
        DocumentFormat::Epcis2JsonLd => {
            let json: serde_json::Value = serde_json::from_str(text).unwrap();
            json["epcisBody"]["eventList"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| {
                    e["epcList"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|v| v.as_str().unwrap().to_string())
                        .collect()
                })
                .collect()
        }
        DocumentFormat::Epcis12Xml => text
            .split("<ObjectEvent>")
            .skip(1)
            .map(|event| {
                event
                    .split("<epc>")
                    .skip(1)
                    .map(|rest| {
                        rest.split("</epc>")
                            .next()
                            .unwrap()
                            .replace("&apos;", "'")
                            .replace("&amp;", "&")
                    })
                    .collect()
            })
            .collect(),
    }
}

#[test]
fn chunks_respect_every_limit_and_keep_every_serial_once_in_order() {
    let serials = serials(2_345);
    let gtin = gtin();
    for format in [DocumentFormat::Epcis2JsonLd, DocumentFormat::Epcis12Xml] {
        let limits = ChunkLimits {
            max_epcs_per_event: 100,
            max_events_per_document: 3,
            max_document_bytes: 9_000,
        };
        let documents = build(format, limits, commissioning(), &serials);
        let mut all_epcs = Vec::new();
        let mut byte_limited_event = false;
        for document in &documents {
            assert!(
                document.bytes.len() <= limits.max_document_bytes,
                "{} bytes",
                document.bytes.len()
            );
            assert!(
                !document.events.is_empty()
                    && document.events.len() <= limits.max_events_per_document
            );
            let lists = epc_lists(document);
            assert_eq!(lists.len(), document.events.len());
            for (list, summary) in lists.iter().zip(&document.events) {
                assert!(!list.is_empty() && list.len() <= limits.max_epcs_per_event);
                assert_eq!(list.len(), summary.epc_count);
                byte_limited_event |= list.len() < limits.max_epcs_per_event;
            }
            all_epcs.extend(lists.into_iter().flatten());
        }
        assert!(
            byte_limited_event,
            "the byte limit should have cut some events short"
        );
        assert_eq!(all_epcs.len(), serials.len());
        for (epc, serial) in all_epcs.iter().zip(&serials) {
            let (read_gtin, read_serial, gcp_len) = parse_sgtin_uri(epc).unwrap();
            assert_eq!(
                (read_gtin, read_serial.as_str(), gcp_len),
                (gtin.clone(), serial.as_str(), COMPANY_PREFIX_LEN)
            );
        }
    }
}

#[test]
fn large_limits_give_one_event_per_ten_thousand_serials() {
    let serials: Vec<String> = (0..25_000).map(|i| format!("{i:012}")).collect();
    let limits = ChunkLimits {
        max_epcs_per_event: 10_000,
        max_events_per_document: 2,
        max_document_bytes: 64 << 20,
    };
    let documents = build(
        DocumentFormat::Epcis2JsonLd,
        limits,
        commissioning(),
        &serials,
    );
    let counts: Vec<Vec<usize>> = documents
        .iter()
        .map(|d| d.events.iter().map(|e| e.epc_count).collect())
        .collect();
    assert_eq!(counts, vec![vec![10_000, 10_000], vec![5_000]]);
}

#[test]
fn resend_reproduces_event_ids_and_bytes() {
    let serials = serials(777);
    let limits = ChunkLimits {
        max_epcs_per_event: 50,
        max_events_per_document: 4,
        max_document_bytes: 1 << 20,
    };
    for format in [DocumentFormat::Epcis2JsonLd, DocumentFormat::Epcis12Xml] {
        let first = build(format, limits, commissioning(), &serials);
        let second = build(format, limits, commissioning(), &serials);
        assert_eq!(first, second);

        // The outbox stores events and renders them again for a resend.
        let gtin = gtin();
        let creation = time("2026-05-04T14:00:00.000+02:00");
        let epcs = sgtin_epcs(&gtin, COMPANY_PREFIX_LEN, &serials);
        let events: Vec<ObjectEvent> =
            EventChunker::new(epcs, template(commissioning()), format, limits, &creation)
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
        let mut stored = events.iter();
        for document in &first {
            let slice: Vec<ObjectEvent> = stored
                .by_ref()
                .take(document.events.len())
                .cloned()
                .collect();
            let again = render_document(format, &creation, &slice).unwrap();
            assert_eq!(&again, document);
        }
        assert!(stored.next().is_none());
    }
}

#[test]
fn event_ids_change_with_content_and_are_unique_per_event() {
    let serials = serials(300);
    let limits = ChunkLimits {
        max_epcs_per_event: 100,
        max_events_per_document: 10,
        max_document_bytes: 1 << 20,
    };
    let mut ids = std::collections::HashSet::new();
    for kind in [
        commissioning(),
        EventKind::Decommissioning,
        EventKind::Destroying,
    ] {
        for format in [DocumentFormat::Epcis2JsonLd, DocumentFormat::Epcis12Xml] {
            for document in build(format, limits, kind.clone(), &serials) {
                for event in document.events {
                    assert!(
                        event.event_id.starts_with("ni:///sha-256;")
                            && event.event_id.ends_with("?ver=CBV2.0")
                    );
                    ids.insert((format, event.event_id));
                }
            }
        }
    }
    // 3 events per kind and format; only commissioning differs between the formats'
    // hash forms (the ilmd namespace), the rest are the same events in both formats.
    let distinct: std::collections::HashSet<&String> = ids.iter().map(|(_, id)| id).collect();
    assert_eq!(ids.len(), 18);
    assert_eq!(distinct.len(), 12);
}

#[test]
fn json_document_has_the_epcis_2_shape() {
    let documents = build(
        DocumentFormat::Epcis2JsonLd,
        ChunkLimits::default(),
        commissioning(),
        &["A&B".to_string(), "SN2".to_string()],
    );
    assert_eq!(documents.len(), 1);
    let json: serde_json::Value = serde_json::from_slice(&documents[0].bytes).unwrap();
    assert_eq!(
        json["@context"][0],
        "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
    );
    assert_eq!(json["@context"][1]["cbvmda"], "urn:epcglobal:cbv:mda:");
    assert_eq!(json["type"], "EPCISDocument");
    assert_eq!(json["schemaVersion"], "2.0");
    assert_eq!(json["creationDate"], "2026-05-04T14:00:00.000+02:00");
    let event = &json["epcisBody"]["eventList"][0];
    assert_eq!(event["type"], "ObjectEvent");
    assert_eq!(event["eventID"], documents[0].events[0].event_id.as_str());
    assert_eq!(event["eventTime"], "2026-05-04T13:14:15.678+02:00");
    assert_eq!(event["eventTimeZoneOffset"], "+02:00");
    assert_eq!(event["epcList"][0], "urn:epc:id:sgtin:9506000.013435.A%26B");
    assert_eq!(event["action"], "ADD");
    assert_eq!(event["bizStep"], "commissioning");
    assert_eq!(event["disposition"], "active");
    assert_eq!(event["readPoint"]["id"], "urn:epc:id:sgln:9506000.00001.0");
    assert_eq!(event["ilmd"]["cbvmda:lotNumber"], "LOT-7");
    assert_eq!(event["ilmd"]["cbvmda:itemExpirationDate"], "2027-06-30");

    let decommissioning = build(
        DocumentFormat::Epcis2JsonLd,
        ChunkLimits::default(),
        EventKind::Decommissioning,
        &["S".into()],
    );
    let json: serde_json::Value = serde_json::from_slice(&decommissioning[0].bytes).unwrap();
    assert_eq!(
        json["@context"].as_array().unwrap().len(),
        1,
        "no cbvmda prefix without ilmd"
    );
    let event = &json["epcisBody"]["eventList"][0];
    assert_eq!(
        (
            event["action"].as_str(),
            event["bizStep"].as_str(),
            event["disposition"].as_str()
        ),
        (Some("DELETE"), Some("decommissioning"), Some("inactive"))
    );
    assert!(event.get("ilmd").is_none());
}

#[test]
fn xml_document_has_the_epcis_1_2_shape() {
    let documents = build(
        DocumentFormat::Epcis12Xml,
        ChunkLimits::default(),
        EventKind::Destroying,
        &["S1".to_string()],
    );
    let text = std::str::from_utf8(&documents[0].bytes).unwrap();
    assert!(text.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<epcis:EPCISDocument xmlns:epcis=\"urn:epcglobal:epcis:xsd:1\" schemaVersion=\"1.2\""));
    for part in [
        "<action>DELETE</action>",
        "<bizStep>urn:epcglobal:cbv:bizstep:destroying</bizStep>",
        "<disposition>urn:epcglobal:cbv:disp:destroyed</disposition>",
        &format!(
            "<baseExtension><eventID>{}</eventID></baseExtension>",
            documents[0].events[0].event_id
        ),
    ] {
        assert!(text.contains(part), "missing {part} in {text}");
    }
    assert!(!text.contains("cbvmda"));
}

#[test]
fn bad_serials_stop_the_stream_with_an_error() {
    let gtin = gtin();
    let serials = vec![
        "GOOD1".to_string(),
        "BAD SERIAL".to_string(),
        "GOOD2".to_string(),
    ];
    let results: Vec<Result<EpcisDocument, DocumentError>> = documents_for_serials(
        DocumentFormat::Epcis2JsonLd,
        ChunkLimits::default(),
        time("2026-05-04T14:00:00Z"),
        template(commissioning()),
        &gtin,
        COMPANY_PREFIX_LEN,
        &serials,
    )
    .unwrap()
    .collect();
    assert_eq!(results.len(), 1, "one error, then nothing: {results:?}");
    assert!(results[0].is_err());
}

#[test]
fn limits_that_cannot_be_met_are_refused() {
    let gtin = gtin();
    let serials = serials(10);
    for limits in [
        ChunkLimits {
            max_epcs_per_event: 0,
            ..ChunkLimits::default()
        },
        ChunkLimits {
            max_events_per_document: 0,
            ..ChunkLimits::default()
        },
        ChunkLimits {
            max_document_bytes: 100,
            ..ChunkLimits::default()
        },
    ] {
        let result = documents_for_serials(
            DocumentFormat::Epcis12Xml,
            limits,
            time("2026-05-04T14:00:00Z"),
            template(commissioning()),
            &gtin,
            COMPANY_PREFIX_LEN,
            &serials,
        );
        assert!(result.is_err(), "{limits:?}");
    }
    let tightened = ChunkLimits::default().tightened_by_capture_limits(Some(5), Some(1_000_000));
    assert_eq!(
        (
            tightened.max_events_per_document,
            tightened.max_document_bytes
        ),
        (5, 1_000_000)
    );
    assert_eq!(
        ChunkLimits::default().tightened_by_capture_limits(None, None),
        ChunkLimits::default()
    );
}

#[test]
fn checks_refuse_events_that_cannot_be_reported() {
    let base = ObjectEvent {
        kind: commissioning(),
        event_time: time("2026-05-04T13:14:15.678+02:00"),
        epcs: vec!["urn:epc:id:sgtin:9506000.013435.S1".into()],
        read_point: Sgln::parse("urn:epc:id:sgln:9506000.00001.0").unwrap(),
        biz_location: Sgln::parse("urn:epc:id:sgln:9506000.00001.0").unwrap(),
    };
    assert!(checks::check_event(&base).is_ok());
    let with_epcs = |epcs: &[&str]| ObjectEvent {
        epcs: epcs.iter().map(|s| s.to_string()).collect(),
        ..base.clone()
    };
    for (why, event) in [
        ("empty", with_epcs(&[])),
        (
            "duplicate",
            with_epcs(&[
                "urn:epc:id:sgtin:9506000.013435.S1",
                "urn:epc:id:sgtin:9506000.013435.S1",
            ]),
        ),
        ("sscc", with_epcs(&["urn:epc:id:sscc:9506000.0123456789"])),
        (
            "bad escape",
            with_epcs(&["urn:epc:id:sgtin:9506000.013435.S%G1"]),
        ),
    ] {
        assert!(checks::check_event(&event).is_err(), "{why}");
        assert!(
            render_document(DocumentFormat::Epcis2JsonLd, &base.event_time, &[event]).is_err(),
            "{why}"
        );
    }
    assert!(render_document(DocumentFormat::Epcis12Xml, &base.event_time, &[]).is_err());
    assert!(Sgln::parse("urn:epc:id:sgln:9506000.0001.0").is_err());
    assert!(Sgln::parse("urn:epc:id:sgtin:9506000.00001.0").is_err());
    assert!(LotMasterData::new("", Gs1Date::from_ymd(2027, 6, 30).unwrap()).is_err());
}

#[test]
fn used_up_serials_go_out_as_the_client_chose() {
    assert_eq!(
        UsedUpReporting::Decommission.event_kind(),
        Some(EventKind::Decommissioning)
    );
    assert_eq!(
        UsedUpReporting::Destroy.event_kind(),
        Some(EventKind::Destroying)
    );
    assert_eq!(UsedUpReporting::ReturnCall.event_kind(), None);
    let gtin = gtin();
    let serials = serials(25);
    let lists: Vec<_> = return_lists(&gtin, &serials, 10)
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    assert_eq!(
        lists.iter().map(|l| l.serials.len()).collect::<Vec<_>>(),
        vec![10, 10, 5]
    );
    assert_eq!(
        lists
            .iter()
            .flat_map(|l| l.serials.clone())
            .collect::<Vec<_>>(),
        serials
    );
    assert!(lists.iter().all(|l| l.gtin == gtin));
    assert!(return_lists(&gtin, &serials, 0).is_err());
    let bad: Vec<_> = return_lists(&gtin, ["ok", "not ok"], 10).unwrap().collect();
    assert!(bad.len() == 1 && bad[0].is_err());
}

#[test]
fn packer_keeps_lot_documents_apart_from_others() {
    // A document only declares cbvmda when it starts with a commissioning event; events
    // of different kinds arriving in one stream are split rather than written wrongly.
    let creation = time("2026-05-04T14:00:00Z");
    let make = |kind: EventKind, serial: &str| ObjectEvent {
        kind,
        event_time: creation,
        epcs: vec![format!("urn:epc:id:sgtin:9506000.013435.{serial}")],
        read_point: Sgln::parse("urn:epc:id:sgln:9506000.00001.0").unwrap(),
        biz_location: Sgln::parse("urn:epc:id:sgln:9506000.00001.0").unwrap(),
    };
    let events = vec![
        Ok(make(EventKind::Decommissioning, "A")),
        Ok(make(commissioning(), "B")),
        Ok(make(commissioning(), "C")),
    ];
    let documents: Vec<EpcisDocument> = DocumentPacker::new(
        events.into_iter(),
        DocumentFormat::Epcis12Xml,
        ChunkLimits::default(),
        creation,
    )
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap();
    assert_eq!(
        documents.iter().map(|d| d.events.len()).collect::<Vec<_>>(),
        vec![1, 2]
    );
}

#[test]
fn stored_events_read_back_to_the_same_event_and_event_id() {
    let gtin = gtin();
    let creation = time("2026-05-04T14:00:00.000+02:00");
    let serials = serials(30);
    for kind in [
        commissioning(),
        EventKind::Decommissioning,
        EventKind::Destroying,
    ] {
        let epcs = sgtin_epcs(&gtin, COMPANY_PREFIX_LEN, &serials);
        let limits = ChunkLimits {
            max_epcs_per_event: 12,
            ..ChunkLimits::default()
        };
        let chunker = EventChunker::new(
            epcs,
            template(kind),
            DocumentFormat::Epcis2JsonLd,
            limits,
            &creation,
        );
        for event in chunker.unwrap() {
            let event = event.unwrap();
            let stored = serde_json::to_string(&event).unwrap();
            let read: ObjectEvent = serde_json::from_str(&stored).unwrap();
            assert_eq!(read, event, "{stored}");
            for format in [DocumentFormat::Epcis2JsonLd, DocumentFormat::Epcis12Xml] {
                assert_eq!(
                    render_document(format, &creation, std::slice::from_ref(&read)).unwrap(),
                    render_document(format, &creation, std::slice::from_ref(&event)).unwrap()
                );
            }
        }
    }
    let stored = r#"{"kind":{"kind":"commissioning","lot_number":"L1","item_expiration_date":"2027-02-30"},
        "event_time":"2026-05-04T13:14:15.678+02:00","epcs":["urn:epc:id:sgtin:9506000.013435.S1"],
        "read_point":"urn:epc:id:sgln:9506000.00001.0","biz_location":"urn:epc:id:sgln:9506000.00001.0"}"#;
    assert!(
        serde_json::from_str::<ObjectEvent>(stored).is_err(),
        "30 February must not read back"
    );
}

#[test]
fn streams_serials_from_an_iterator_without_collecting_them() {
    let gtin = gtin();
    let count = 200_000;
    let limits = ChunkLimits {
        max_epcs_per_event: 10_000,
        max_events_per_document: 4,
        max_document_bytes: 4 << 20,
    };
    let serials = (0..count).map(|i| format!("{i:012}"));
    let mut documents = 0;
    let mut epcs = 0;
    let mut largest = 0;
    for document in documents_for_serials(
        DocumentFormat::Epcis12Xml,
        limits,
        time("2026-05-04T14:00:00Z"),
        template(commissioning()),
        &gtin,
        COMPANY_PREFIX_LEN,
        serials,
    )
    .unwrap()
    {
        let document = document.unwrap();
        documents += 1;
        epcs += document.epc_count();
        largest = largest.max(document.bytes.len());
    }
    assert_eq!(epcs, count);
    assert_eq!(documents, 5);
    assert!(largest <= limits.max_document_bytes);
}
