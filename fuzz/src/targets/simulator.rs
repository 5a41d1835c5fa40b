//! The simulator's readers of outside input: the EPCIS documents its site server
//! is sent, its control-endpoint lines and its line configuration.

use serialstation_simulator::site_server::parse::{parse_json_document, parse_xml_document};
use serialstation_simulator::{ControlRequest, SimConfig};

use crate::Target;

pub(crate) fn targets() -> Vec<Target> {
    vec![
        Target {
            name: "site_server_capture",
            what: "simulator site_server::parse::parse_json_document and parse_xml_document (EPCIS 2.0 JSON-LD and 1.2/2.0 XML capture bodies)",
            seeds: capture_seeds,
            run: run_capture,
            max_len: 16_384,
            slow: false,
        },
        Target {
            name: "sim_control",
            what: "serde_json::from_str::<simulator::ControlRequest> on one line, as the simulator's control endpoint reads it",
            seeds: sim_control_seeds,
            run: run_sim_control,
            max_len: 1024,
            slow: false,
        },
        Target {
            name: "sim_line_config",
            what: "SimConfig::parse (simulator/line.toml) and, when it is accepted, the line geometry",
            seeds: sim_config_seeds,
            run: run_sim_config,
            max_len: 8192,
            slow: true,
        },
    ]
}

const JSON_DOCUMENT: &str = r#"{"@context":["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",{"cbvmda":"urn:epcglobal:cbv:mda:"}],"type":"EPCISDocument","schemaVersion":"2.0","creationDate":"2026-05-04T14:00:00.000+02:00","epcisBody":{"eventList":[{"type":"ObjectEvent","eventID":"ni:///sha-256;aa?ver=CBV2.0","eventTime":"2026-05-04T13:14:15.678+02:00","eventTimeZoneOffset":"+02:00","epcList":["urn:epc:id:sgtin:9506000.013435.SN0001","urn:epc:id:sgtin:9506000.013435.SN0002"],"action":"ADD","bizStep":"commissioning","disposition":"active","readPoint":{"id":"urn:epc:id:sgln:9506000.00001.0"},"bizLocation":{"id":"urn:epc:id:sgln:9506000.00001.0"},"ilmd":{"cbvmda:lotNumber":"L1","cbvmda:itemExpirationDate":"2027-12-31"}},{"type":"ObjectEvent","eventTime":"2026-05-04T13:14:16.000+02:00","epcList":["urn:epc:id:sgtin:9506000.013435.SN0003"],"action":"DELETE","bizStep":"https://ref.gs1.org/cbv/BizStep-decommissioning","disposition":"https://ref.gs1.org/cbv/Disp-inactive"}]}}"#;

const XML_DOCUMENT: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<epcis:EPCISDocument xmlns:epcis=\"urn:epcglobal:epcis:xsd:1\" xmlns:cbvmda=\"urn:epcglobal:cbv:mda\" schemaVersion=\"1.2\" creationDate=\"2026-05-04T14:00:00.000+02:00\">\n<EPCISBody>\n<EventList>\n<ObjectEvent><eventTime>2026-05-04T13:14:15.678+02:00</eventTime><eventTimeZoneOffset>+02:00</eventTimeZoneOffset><baseExtension><eventID>ni:///sha-256;aa?ver=CBV2.0</eventID></baseExtension><epcList><epc>urn:epc:id:sgtin:9506000.013435.A&amp;B</epc><epc>urn:epc:id:sgtin:9506000.013435.SN2</epc></epcList><action>ADD</action><bizStep>urn:epcglobal:cbv:bizstep:commissioning</bizStep><disposition>urn:epcglobal:cbv:disp:active</disposition><readPoint><id>urn:epc:id:sgln:9506000.00001.0</id></readPoint><bizLocation><id>urn:epc:id:sgln:9506000.00001.0</id></bizLocation><extension><ilmd><cbvmda:lotNumber>L&lt;1&gt;</cbvmda:lotNumber><cbvmda:itemExpirationDate>2027-12-31</cbvmda:itemExpirationDate></ilmd></extension></ObjectEvent>\n</EventList>\n</EPCISBody>\n</epcis:EPCISDocument>\n";

fn capture_seeds() -> Vec<Vec<u8>> {
    vec![
        JSON_DOCUMENT.as_bytes().to_vec(),
        XML_DOCUMENT.as_bytes().to_vec(),
        XML_DOCUMENT
            .replace("urn:epcglobal:epcis:xsd:1", "urn:epcglobal:epcis:xsd:2")
            .into_bytes(),
        b"<?xml version=\"1.0\"?>\n<epcis:EPCISDocument xmlns:epcis=\"urn:epcglobal:epcis:xsd:1\"><EPCISBody><EventList><AggregationEvent></AggregationEvent></EventList></EPCISBody></epcis:EPCISDocument>".to_vec(),
        br#"{"type":"EPCISDocument","epcisBody":{"eventList":[]}}"#.to_vec(),
    ]
}

fn sim_control_seeds() -> Vec<Vec<u8>> {
    [
        r#"{"cmd":"status"}"#,
        r#"{"cmd":"set_fault","fault":"camera_no_read","rate":0.1}"#,
        r#"{"cmd":"clear_fault","fault":"camera_no_read"}"#,
        r#"{"cmd":"clear_faults"}"#,
        r#"{"cmd":"command","command":"start"}"#,
        r#"{"cmd":"set_rate","items_per_min":300.0}"#,
        r#"{"cmd":"bin_door","open":true}"#,
        r#"{"cmd":"flush"}"#,
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect()
}

fn sim_config_seeds() -> Vec<Vec<u8>> {
    vec![
        include_bytes!("../../../simulator/line.toml").to_vec(),
        include_bytes!("../../../config/line.toml").to_vec(),
    ]
}

fn run_capture(data: &[u8]) {
    for events in [parse_json_document(data), parse_xml_document(data)]
        .into_iter()
        .flatten()
    {
        for event in &events {
            assert!(
                !event.action.is_empty(),
                "an event without an action was accepted"
            );
        }
    }
}

fn run_sim_control(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = serde_json::from_str::<ControlRequest>(&text);
}

fn run_sim_config(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    match SimConfig::parse(&text, "line.toml") {
        Ok(config) => {
            let _ = config.line.geometry();
            let _ = config.line.counts_per_second();
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
}
