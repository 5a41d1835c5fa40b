//! Every kind of document the upload builders produce, validated by tools nobody here
//! wrote: the official EPCIS 2.0 JSON schema (Python `jsonschema`), the official EPCIS
//! 1.2 XSD (`xmllint`), and the GS1 reference implementation of the CBV 2.0 event hash,
//! which must compute from each document exactly the eventIDs we put in it.
//! The validator setup itself is proven on official examples, good and bad.

#[path = "support/epcis/tools.rs"]
mod tools;

use std::path::{Path, PathBuf};

use serialstation::gs1::{Gs1Date, Gtin};
use serialstation::upload::{
    ChunkLimits, DocumentFormat, EpcisDocument, EventKind, EventTemplate, EventTime, LotMasterData,
    Sgln, documents_for_serials,
};

const GTIN: &str = "09506000134352";
const COMPANY_PREFIX_LEN: usize = 7;

/// Serials covering every CSET 82 character that needs escaping somewhere (EPC URI,
/// Digital Link, XML, JSON), plus plain ones.
fn serials() -> Vec<String> {
    let mut serials: Vec<String> = vec![
        "A!\"%&'()*+,".into(),
        "-./:;<=>?_z".into(),
        "SN'quote\"".into(),
        "x<y>&z".into(),
    ];
    serials.extend((0..41).map(|i| format!("SN{i:06}")));
    serials
}

fn kinds() -> Vec<(&'static str, EventKind)> {
    let expiry = Gs1Date::from_ymd(2028, 2, 29).unwrap();
    vec![
        (
            "commissioning",
            EventKind::Commissioning(LotMasterData::new("L&<>'\"1", expiry).unwrap()),
        ),
        (
            "plain-lot",
            EventKind::Commissioning(LotMasterData::new("ABC123", expiry).unwrap()),
        ),
        ("decommissioning", EventKind::Decommissioning),
        ("destroying", EventKind::Destroying),
    ]
}

/// Writes the documents of every event kind in `format` to `dir`; returns each file
/// with the document it holds.
fn write_documents(format: DocumentFormat, dir: &Path) -> Vec<(PathBuf, EpcisDocument)> {
    let gtin = Gtin::parse(GTIN).unwrap();
    let limits = ChunkLimits {
        max_epcs_per_event: 10,
        max_events_per_document: 2,
        max_document_bytes: 1 << 20,
    };
    let mut written = Vec::new();
    for (i, (name, kind)) in kinds().into_iter().enumerate() {
        let offset = ["+01:00", "-05:30", "+14:00", "Z"][i];
        let event_time =
            EventTime::parse_rfc3339(&format!("2026-03-0{}T08:15:30.25{}", i + 1, offset)).unwrap();
        let creation = EventTime::parse_rfc3339("2026-03-09T12:00:00.000+01:00").unwrap();
        let template = EventTemplate {
            kind,
            event_time,
            read_point: Sgln::parse("urn:epc:id:sgln:9506000.00001.0").unwrap(),
            biz_location: Sgln::parse("urn:epc:id:sgln:9506000.00001.L-1").unwrap(),
        };
        let documents = documents_for_serials(
            format,
            limits,
            creation,
            template,
            &gtin,
            COMPANY_PREFIX_LEN,
            serials(),
        )
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
        assert!(
            documents.len() >= 3,
            "expected several documents for {name}"
        );
        for (n, document) in documents.into_iter().enumerate() {
            let path = dir.join(format!("{name}-{n}.{}", format.file_extension()));
            std::fs::write(&path, &document.bytes).unwrap();
            written.push((path, document));
        }
    }
    written
}

fn assert_reference_hashes(python: &Path, documents: &[(PathBuf, EpcisDocument)]) {
    for (path, document) in documents {
        let ours: Vec<String> = document.events.iter().map(|e| e.event_id.clone()).collect();
        let reference = tools::reference_event_hashes(python, path);
        assert_eq!(
            reference,
            ours,
            "event hash IDs of {} differ from the GS1 reference implementation",
            path.display()
        );
    }
}

#[test]
fn epcis2_json_documents_pass_the_official_schema_and_the_reference_hash() {
    let Some(shared) = tools::shared_epcis() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let documents = write_documents(DocumentFormat::Epcis2JsonLd, dir.path());
    if let Some(python) = tools::json_schema_validator() {
        let files: Vec<PathBuf> = documents.iter().map(|(p, _)| p.clone()).collect();
        for (file, verdict) in tools::validate_json(&python, &shared, &files) {
            assert!(
                verdict.is_ok(),
                "{} fails the EPCIS 2.0 JSON schema: {:?}",
                file.display(),
                verdict
            );
        }
    }
    if let Some(python) = tools::event_hash_oracle() {
        assert_reference_hashes(&python, &documents);
    }
}

#[test]
fn epcis12_xml_documents_pass_the_official_xsd_and_the_reference_hash() {
    let Some(shared) = tools::shared_epcis() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let documents = write_documents(DocumentFormat::Epcis12Xml, dir.path());
    if let Some(xmllint) = tools::xmllint() {
        for (path, _) in &documents {
            if let Err(why) = tools::validate_xml12(&xmllint, &shared, path) {
                panic!("{} fails the EPCIS 1.2 XSD: {why}", path.display());
            }
        }
    }
    if let Some(python) = tools::event_hash_oracle() {
        assert_reference_hashes(&python, &documents);
    }
}

#[test]
fn json_validator_setup_accepts_official_examples_and_rejects_broken_ones() {
    let Some(shared) = tools::shared_epcis() else {
        return;
    };
    let Some(python) = tools::json_schema_validator() else {
        return;
    };
    let good = [
        shared.join("JSON/Example_9.6.1-ObjectEvent.jsonld"),
        shared.join("JSON/WithFullCombinationOfFields/object_event_all_possible_fields.jsonld"),
    ];
    let invalid_dir = shared.join("thirdparty-openepcis/2.0/EPCIS/JSON/Capture/Invalid");
    let bad = [
        invalid_dir.join("ObjectEvent_with_invalid_action.json"),
        invalid_dir.join("ObjectEvent_without_action_and_eventTime.json"),
        invalid_dir.join("EPCISDocument_without_context.json"),
    ];
    // The gotcha STANDARDS.md records: a CBV URN as bizStep fails the 2.0 JSON schema.
    let dir = tempfile::tempdir().unwrap();
    let urn_bizstep = dir.path().join("urn-bizstep.jsonld");
    let text = std::fs::read_to_string(&good[0]).unwrap();
    let text = text.replacen(
        "\"bizStep\": \"shipping\"",
        "\"bizStep\": \"urn:epcglobal:cbv:bizstep:shipping\"",
        1,
    );
    assert!(
        text.contains("urn:epcglobal:cbv:bizstep:shipping"),
        "example changed; adjust the negative case"
    );
    std::fs::write(&urn_bizstep, text).unwrap();

    let mut files: Vec<PathBuf> = good.to_vec();
    files.extend(bad.iter().cloned());
    files.push(urn_bizstep);
    let verdicts = tools::validate_json(&python, &shared, &files);
    for (file, verdict) in &verdicts[..good.len()] {
        assert!(
            verdict.is_ok(),
            "official example {} should be valid: {verdict:?}",
            file.display()
        );
    }
    for (file, verdict) in &verdicts[good.len()..] {
        assert!(
            verdict.is_err(),
            "{} should be refused by the schema",
            file.display()
        );
    }
}

#[test]
fn xml_validator_setup_accepts_official_examples_and_rejects_broken_ones() {
    let Some(shared) = tools::shared_epcis() else {
        return;
    };
    let Some(xmllint) = tools::xmllint() else {
        return;
    };
    let good = [
        shared.join("XSL/1.2/XML/ObjectEvent.xml"),
        shared.join("thirdparty-openepcis/1.2/EPCIS/XML/Capture/Documents/GS1_US_Pharma_Example_2_2_1_1.xml"),
    ];
    for file in &good {
        if let Err(why) = tools::validate_xml12(&xmllint, &shared, file) {
            panic!("official example {} should be valid: {why}", file.display());
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let documents = write_documents(DocumentFormat::Epcis12Xml, dir.path());
    let text = String::from_utf8(documents[0].1.bytes.clone()).unwrap();
    let broken = [
        (
            "invalid action",
            text.replacen("<action>ADD</action>", "<action>CREATE</action>", 1),
        ),
        (
            "eventID outside baseExtension",
            text.replacen("<baseExtension><eventID>", "<eventID>", 1)
                .replacen("</eventID></baseExtension>", "</eventID>", 1),
        ),
        (
            "ilmd not inside extension",
            text.replacen("<extension><ilmd>", "<ilmd>", 1).replacen(
                "</ilmd></extension>",
                "</ilmd>",
                1,
            ),
        ),
    ];
    for (what, broken_text) in broken {
        assert_ne!(
            broken_text, text,
            "{what}: the document changed shape; adjust the negative case"
        );
        let path = dir.path().join("broken.xml");
        std::fs::write(&path, broken_text).unwrap();
        assert!(
            tools::validate_xml12(&xmllint, &shared, &path).is_err(),
            "{what} should be refused by the XSD"
        );
    }
}

/// The official examples of identical events under `XML/WithEventHashID/` prove that the
/// oracle normalises what it should (EPC order, quantity order, namespace prefixes).
/// Files 2 (another eventTimeZoneOffset), 6 (an explicit xsi:type) and 7 (JSON-LD)
/// hash differently in the reference implementation although the examples call them
/// identical; this test records that, so a change of the oracle is noticed.
#[test]
fn event_hash_oracle_agrees_on_the_official_identical_events() {
    let Some(shared) = tools::shared_epcis() else {
        return;
    };
    let Some(python) = tools::event_hash_oracle() else {
        return;
    };
    let dir = shared.join("XML/WithEventHashID");
    let hash = |n: u32, ext: &str| {
        let hashes = tools::reference_event_hashes(
            &python,
            &dir.join(format!("event_with_identical_hash_id_{n}.{ext}")),
        );
        assert_eq!(hashes.len(), 1);
        hashes[0].clone()
    };
    let base = hash(1, "xml");
    for n in [3, 4, 5] {
        assert_eq!(
            hash(n, "xml"),
            base,
            "example {n} should hash like example 1"
        );
    }
    assert_ne!(hash(2, "xml"), base);
    assert_ne!(hash(6, "xml"), base);
    assert_ne!(hash(7, "json"), base);
}
