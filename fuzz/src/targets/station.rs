//! The station's own readers of outside input: control-socket request lines (and
//! the answers the command line reads back), site-server and SerialBox answers,
//! the upload sender's reading of capture answers and limits, pool files, client
//! and line configuration files, and the EPCIS values configuration files carry.

use std::io::Cursor;

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serialstation::config::{StationConfig, parse_client_config};
use serialstation::control::protocol::{Request, Response};
use serialstation::pool::check_serial_text;
use serialstation::pool::request::answer::{serialbox_serials, site_server_serials};
use serialstation::pool::request::http::refusal_text;
use serialstation::pool::serial_file::{SerialFileReader, split_csv_record};
use serialstation::upload::sender::exchange::{
    classify_capture_job, classify_refusal, classify_status, limits_from_headers,
};
use serialstation::upload::{EventTime, Sgln, TimeZoneOffset};

use crate::Target;

pub(crate) fn targets() -> Vec<Target> {
    vec![
        Target {
            name: "control_request",
            what: "serde_json::from_str::<control::protocol::Request> on one trimmed line, as daemon::server reads the control socket, and ::<Response> as control::client reads the answer; a parsed request must serialize and parse back the same",
            seeds: control_seeds,
            run: run_control,
            max_len: 4096,
            slow: false,
        },
        Target {
            name: "site_answer",
            what: "pool::request::answer::site_server_serials and serialbox_serials (asking for 1000), pool::request::http::refusal_text, and upload::sender::exchange::classify_status, classify_capture_job and classify_refusal on an HTTP answer body",
            seeds: site_answer_seeds,
            run: run_site_answer,
            max_len: 16_384,
            slow: false,
        },
        Target {
            name: "site_capture_limits",
            what: "upload::sender::exchange::limits_from_headers on the two capture-limit headers of an OPTIONS answer (values split at the first newline)",
            seeds: capture_limit_seeds,
            run: run_capture_limits,
            max_len: 256,
            slow: false,
        },
        Target {
            name: "pool_file",
            what: "SerialFileReader::plain and ::csv (first byte: plain, or CSV with , ; or tab), read to the end, then pool::check_serial_text on every serial; split_csv_record on each line must read back from a fully quoted rewrite",
            seeds: pool_file_seeds,
            run: run_pool_file,
            max_len: 16_384,
            slow: false,
        },
        Target {
            name: "client_config",
            what: "config::parse_client_config (TOML client and product file, validated), every issue formatted; issue lines must lie in the file",
            seeds: client_config_seeds,
            run: run_client_config,
            max_len: 16_384,
            slow: true,
        },
        Target {
            name: "line_config",
            what: "config::line::StationConfig::parse (line.toml) and, when it is accepted, engine_config",
            seeds: line_config_seeds,
            run: run_line_config,
            max_len: 8192,
            slow: true,
        },
        Target {
            name: "epcis_values",
            what: "upload::Sgln::parse, TimeZoneOffset::parse and EventTime::parse_rfc3339 (read points, offsets and times from configuration and storage); a parsed time must read back from to_local_string and to_utc_string",
            seeds: epcis_value_seeds,
            run: run_epcis_values,
            max_len: 128,
            slow: false,
        },
    ]
}

fn to_seeds(items: &[&str]) -> Vec<Vec<u8>> {
    items.iter().map(|s| s.as_bytes().to_vec()).collect()
}

fn control_seeds() -> Vec<Vec<u8>> {
    let mut seeds = to_seeds(&[
        r#"{"command":"batch_start","gtin":"09506000134352","lot":"L1","expiry":"271231","quantity":100,"client":"acme","challenge":2}"#,
        r#"{"command":"batch_start","gtin":"09506000134352","lot":"L1","expiry":"271231","quantity":1,"client":null}"#,
        r#"{"command":"status"}"#,
        "{\"command\":\"batch_pause\"}\n",
        r#"{"command":"batch_resume","batch":3}"#,
        r#"{"command":"batch_stop","batch":3,"abandon_in_flight":true}"#,
        r#"{"command":"batch_close","batch":null,"reason":"count mismatch explained"}"#,
        r#"{"command":"item_decommission","serial":"SN1","gtin":null,"reason":"sample"}"#,
        r#"{"command":"shutdown"}"#,
        r#"{"command":"status","extra":1}"#,
        r#"{"ok":false,"message":"refused","batch":null,"status":null}"#,
    ]);
    for response in [
        Response::ok("batch 3 started").with_batch(3),
        Response::refused("no batch is running"),
    ] {
        if let Ok(text) = serde_json::to_vec(&response) {
            seeds.push(text);
        }
    }
    seeds
}

fn site_answer_seeds() -> Vec<Vec<u8>> {
    to_seeds(&[
        r#"{"gtin":"09506000134352","serials":["100000001","100000002"]}"#,
        r#"{"gtin":"09506000134352","serials":[1]}"#,
        r#"{"numbers":"[395, 404]","fulfilled":true,"type":"sequential","encoding":"decimal","size_granted":10}"#,
        r#"{"numbers":"[123456789012, 798922375433]","fulfilled":true,"type":"random","encoding":"decimal","size_granted":2}"#,
        r#"{"numbers":["A1","B2"],"type":"list","encoding":"alphanumeric","size_granted":null}"#,
        r#"{"numbers":"[1, 18446744073709551615]","type":"sequential"}"#,
        r#"{"running":false,"success":false,"errors":[{"type":"epcisException:ResourceAlreadyExistsException","instance":"ni:///sha-256;aa?ver=CBV2.0"},{"type":"epcisException:ValidationException","title":"Bad","detail":"the EPC is not valid"}]}"#,
        r#"{"running":true,"success":null}"#,
        r#"{"running":false,"success":true}"#,
        r#"{"type":"about:blank","title":"Conflict","detail":"event exists","status":409}"#,
        r#"{"errors":[{"type":"ResourceAlreadyExistsException","instance":"ni:///sha-256;bb?ver=CBV2.0"}]}"#,
        "<html><body>502 Bad Gateway</body></html>",
        "",
    ])
}

fn capture_limit_seeds() -> Vec<Vec<u8>> {
    to_seeds(&["500\n1048576", " 10 \n0", "\n", "-1\n18446744073709551616"])
}

fn pool_file_seeds() -> Vec<Vec<u8>> {
    let with_mode = |mode: u8, text: &str| {
        let mut seed = vec![mode];
        seed.extend_from_slice(text.as_bytes());
        seed
    };
    vec![
        with_mode(0, "\u{feff}A1\r\nB2\n\nC3"),
        with_mode(0, "100000001\n100000002\n100000003\n"),
        with_mode(
            1,
            "gtin,serial,note\n09506000134352,\"A,1\",x\n09506000134352,\"B\"\"2\",\n09506000134352\n",
        ),
        with_mode(2, "serial;other\r\nS1;x\r\n\"S;2\";y\r\n"),
        with_mode(3, "serial\tgtin\nS1\t09506000134352\n"),
        with_mode(1, "no,such,column\n1,2,3\n"),
    ]
}

fn client_config_seeds() -> Vec<Vec<u8>> {
    vec![
        include_bytes!("../../../config/clients/acme.toml").to_vec(),
        include_bytes!("../../../config/clients/nordpharma.toml").to_vec(),
        b"[client]\nid = \"x\"\n\n[[product]]\ngtin = \"09506000134352\"\n".to_vec(),
    ]
}

fn line_config_seeds() -> Vec<Vec<u8>> {
    vec![
        include_bytes!("../../../config/line.toml").to_vec(),
        include_bytes!("../../../simulator/line.toml").to_vec(),
    ]
}

fn epcis_value_seeds() -> Vec<Vec<u8>> {
    to_seeds(&[
        "urn:epc:id:sgln:9506000.00001.0",
        "urn:epc:id:sgln:9506000.00001.LINE1",
        "+01:00",
        "-14:00",
        "Z",
        "2026-01-31T14:05:09.123+01:00",
        "2026-02-29T00:00:00Z",
        "0001-01-01T00:00:00.0-12:30",
        "9999-12-31T23:59:59.999+14:00",
    ])
}

fn run_control(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let line = text.trim();
    if let Ok(request) = serde_json::from_str::<Request>(line) {
        let written = serde_json::to_string(&request)
            .unwrap_or_else(|e| panic!("request {request:?} cannot be serialized: {e}"));
        assert_eq!(
            serde_json::from_str::<Request>(&written).ok().as_ref(),
            Some(&request),
            "request {line:?} serialized as {written:?} reads back differently"
        );
    }
    let _ = serde_json::from_str::<Response>(line);
}

const ASKED: u64 = 1000;
const STATUSES: [u16; 12] = [400, 401, 403, 404, 408, 409, 413, 422, 429, 500, 503, 200];

fn run_site_answer(data: &[u8]) {
    let body = String::from_utf8_lossy(data);
    if let Ok(serials) = site_server_serials(&body, "09506000134352", ASKED) {
        let count = serials.len() as u64;
        assert!(
            (1..=ASKED).contains(&count),
            "{count} serials accepted for {ASKED} asked"
        );
    }
    if let Ok(serials) = serialbox_serials(&body, ASKED) {
        let count = serials.len() as u64;
        assert!(
            (1..=ASKED).contains(&count),
            "{count} SerialBox numbers accepted for {ASKED} asked"
        );
    }
    let _ = refusal_text(&body);
    if let Ok(status) = StatusCode::from_u16(STATUSES[body.len() % STATUSES.len()]) {
        let _ = classify_status(status, &body);
    }
    if let Ok(job) = serde_json::from_str::<serde_json::Value>(&body) {
        let event_ids = [
            "ni:///sha-256;aa?ver=CBV2.0".to_string(),
            "ni:///sha-256;bb?ver=CBV2.0".to_string(),
        ];
        let _ = classify_capture_job(&job, &event_ids);
        let problems = job
            .get("errors")
            .and_then(|e| e.as_array())
            .cloned()
            .unwrap_or_default();
        let _ = classify_refusal(&problems, &event_ids, "409 Conflict");
    }
}

fn run_capture_limits(data: &[u8]) {
    let (events, bytes) = match data.iter().position(|&b| b == b'\n') {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &data[data.len()..]),
    };
    let mut headers = HeaderMap::new();
    for (name, value) in [
        ("gs1-epcis-capture-limit", events),
        ("gs1-epcis-capture-file-size-limit", bytes),
    ] {
        if let Ok(value) = HeaderValue::from_bytes(value) {
            headers.insert(HeaderName::from_static(name), value);
        }
    }
    let limits = limits_from_headers(&headers);
    assert_ne!(limits.events_per_capture, Some(0));
    assert_ne!(limits.bytes_per_capture, Some(0));
}

fn run_pool_file(data: &[u8]) {
    let Some((&mode, file)) = data.split_first() else {
        return;
    };
    let delimiter = match mode % 4 {
        0 => None,
        1 => Some(b','),
        2 => Some(b';'),
        _ => Some(b'\t'),
    };
    let items: Vec<_> = match delimiter {
        None => SerialFileReader::plain(Cursor::new(file)).collect(),
        Some(delimiter) => match SerialFileReader::csv(Cursor::new(file), "serial", delimiter) {
            Ok(reader) => reader.collect(),
            Err(e) => {
                let _ = e.to_string();
                return;
            }
        },
    };
    let mut previous = 0;
    for item in &items {
        let line = match item {
            Ok(serial) => {
                let _ = check_serial_text(&serial.serial);
                serial.line
            }
            Err(problem) => problem.line,
        };
        assert!(line > previous, "line numbers go from {previous} to {line}");
        previous = line;
    }
    if let (Some(delimiter), Ok(text)) = (delimiter, std::str::from_utf8(file)) {
        for line in text.lines().take(64) {
            csv_round_trip(line, delimiter);
        }
    }
}

/// A record split into fields reads back the same from a fully quoted rewrite.
fn csv_round_trip(line: &str, delimiter: u8) {
    let Ok(fields) = split_csv_record(line, delimiter) else {
        return;
    };
    let quoted: Vec<String> = fields
        .iter()
        .map(|f| format!("\"{}\"", f.replace('"', "\"\"")))
        .collect();
    let separator = char::from(delimiter).to_string();
    let rewritten = quoted.join(separator.as_str());
    assert_eq!(
        split_csv_record(&rewritten, delimiter).ok().as_ref(),
        Some(&fields),
        "record {line:?} rewritten as {rewritten:?} reads back differently"
    );
}

fn run_client_config(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let report = parse_client_config("fuzz.toml", &text);
    let lines = text.matches('\n').count() + 1;
    for issue in &report.issues {
        let _ = issue.to_string();
        assert!(
            issue.line <= lines,
            "issue on line {} of a {lines}-line file: {issue}",
            issue.line
        );
    }
}

fn run_line_config(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    match StationConfig::parse(&text, "line.toml") {
        Ok(config) => {
            let _ = config.engine_config();
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
}

fn run_epcis_values(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = Sgln::parse(&text);
    let _ = TimeZoneOffset::parse(&text);
    if let Ok(time) = EventTime::parse_rfc3339(&text) {
        let local = time.to_local_string();
        assert_eq!(
            EventTime::parse_rfc3339(&local).ok(),
            Some(time),
            "time {text:?} written as {local:?} reads back differently"
        );
        let utc = time.to_utc_string();
        assert_eq!(
            EventTime::parse_rfc3339(&utc).ok().map(|t| t.unix_millis()),
            Some(time.unix_millis()),
            "time {text:?} written in UTC as {utc:?} is another instant"
        );
    }
}
