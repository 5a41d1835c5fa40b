//! The simulated site server over real loopback sockets: the EPCIS 2.0 capture
//! interface, the 1.2 endpoint, duplicates refused and stored once, limits,
//! authentication, serial requests, faults, and the SQLite ground truth.

use std::time::Duration;

use serialstation_simulator::site_server::{
    FaultTarget, SiteAuth, SiteFault, SiteServer, SiteServerConfig,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

/// One HTTP/1.1 request on a fresh connection; `None` when the connection closed
/// without an answer.
async fn request(
    server: &SiteServer,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Option<Reply> {
    let mut stream = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw).await;
    if raw.is_empty() {
        return None;
    }
    let text = String::from_utf8(raw).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(": "))
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    Some(Reply {
        status,
        headers,
        body: body.to_string(),
    })
}

fn json_document(events: &[(&str, &str, &[&str])]) -> Vec<u8> {
    let events: Vec<serde_json::Value> = events
        .iter()
        .map(|(id, biz_step, epcs)| {
            serde_json::json!({
                "type": "ObjectEvent",
                "eventID": id,
                "eventTime": "2026-05-04T13:14:15.678+02:00",
                "eventTimeZoneOffset": "+02:00",
                "epcList": epcs,
                "action": if *biz_step == "commissioning" { "ADD" } else { "DELETE" },
                "bizStep": biz_step,
                "disposition": if *biz_step == "commissioning" { "active" } else { "inactive" },
                "readPoint": {"id": "urn:epc:id:sgln:9506000.00001.0"},
                "bizLocation": {"id": "urn:epc:id:sgln:9506000.00001.0"},
            })
        })
        .collect();
    serde_json::json!({
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-05-04T14:00:00.000+02:00",
        "epcisBody": {"eventList": events},
    })
    .to_string()
    .into_bytes()
}

fn xml_document(event_id: &str, epcs: &[&str]) -> Vec<u8> {
    let epcs: String = epcs.iter().map(|e| format!("<epc>{e}</epc>")).collect();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<epcis:EPCISDocument xmlns:epcis=\"urn:epcglobal:epcis:xsd:1\" schemaVersion=\"1.2\" creationDate=\"2026-05-04T14:00:00.000+02:00\">\n<EPCISBody>\n<EventList>\n<ObjectEvent><eventTime>2026-05-04T13:14:15.678+02:00</eventTime><eventTimeZoneOffset>+02:00</eventTimeZoneOffset><baseExtension><eventID>{event_id}</eventID></baseExtension><epcList>{epcs}</epcList><action>ADD</action><bizStep>urn:epcglobal:cbv:bizstep:commissioning</bizStep><disposition>urn:epcglobal:cbv:disp:active</disposition><readPoint><id>urn:epc:id:sgln:9506000.00001.0</id></readPoint><bizLocation><id>urn:epc:id:sgln:9506000.00001.0</id></bizLocation></ObjectEvent>\n</EventList>\n</EPCISBody>\n</epcis:EPCISDocument>\n"
    )
    .into_bytes()
}

const JSON: (&str, &str) = ("Content-Type", "application/ld+json");
const XML: (&str, &str) = ("Content-Type", "application/xml");

async fn start(dir: &tempfile::TempDir, tweak: impl FnOnce(&mut SiteServerConfig)) -> SiteServer {
    let mut config = SiteServerConfig::new(dir.path().join("site.sqlite"));
    tweak(&mut config);
    SiteServer::start(config).await.unwrap()
}

#[tokio::test]
async fn capture_is_accepted_polled_and_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(&dir, |c| c.polls_while_running = 1).await;
    let doc = json_document(&[
        (
            "ni:///sha-256;aa?ver=CBV2.0",
            "commissioning",
            &[
                "urn:epc:id:sgtin:9506000.013435.1",
                "urn:epc:id:sgtin:9506000.013435.2",
            ],
        ),
        (
            "ni:///sha-256;bb?ver=CBV2.0",
            "decommissioning",
            &["urn:epc:id:sgtin:9506000.013435.3"],
        ),
    ]);
    let reply = request(&server, "POST", "/capture", &[JSON], &doc)
        .await
        .unwrap();
    assert_eq!(reply.status, 202, "{}", reply.body);
    let location = reply.header("Location").unwrap().to_string();
    assert!(location.starts_with("/capture/"));

    let job = request(&server, "GET", &location, &[], b"").await.unwrap();
    assert_eq!(job.status, 200);
    assert_eq!(job.json()["running"], true);
    let job = request(&server, "GET", &location, &[], b"")
        .await
        .unwrap()
        .json();
    assert_eq!(job["running"], false);
    assert_eq!(job["success"], true);
    assert_eq!(job["captureErrorBehaviour"], "rollback");
    assert_eq!(job["errors"], serde_json::json!([]));
    assert!(job["createdAt"].is_string() && job["finishedAt"].is_string());
    assert_eq!(
        format!("/capture/{}", job["captureID"].as_str().unwrap()),
        location
    );

    server.with_records(|r| {
        assert_eq!(r.events().unwrap().len(), 2);
        assert_eq!(
            r.commissioned_epcs().unwrap(),
            vec![
                "urn:epc:id:sgtin:9506000.013435.1",
                "urn:epc:id:sgtin:9506000.013435.2"
            ]
        );
        assert_eq!(
            r.decommissioned_epcs().unwrap(),
            vec!["urn:epc:id:sgtin:9506000.013435.3"]
        );
        assert!(r.destroyed_epcs().unwrap().is_empty());
    });
    let unknown = request(&server, "GET", "/capture/nope", &[], b"")
        .await
        .unwrap();
    assert_eq!(unknown.status, 404);
    server.stop().await;
}

#[tokio::test]
async fn identical_event_captured_twice_is_refused_and_stored_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(&dir, |_| {}).await;
    let doc = json_document(&[(
        "ni:///e1",
        "commissioning",
        &["urn:epc:id:sgtin:9506000.013435.1"],
    )]);
    let first = request(&server, "POST", "/capture", &[JSON], &doc)
        .await
        .unwrap();
    assert_eq!(first.status, 202);
    let second = request(&server, "POST", "/capture", &[JSON], &doc)
        .await
        .unwrap();
    assert_eq!(second.status, 202);
    let job = request(&server, "GET", second.header("Location").unwrap(), &[], b"")
        .await
        .unwrap()
        .json();
    assert_eq!(job["success"], false);
    assert_eq!(
        job["errors"][0]["type"],
        "epcisException:ResourceAlreadyExistsException"
    );
    assert_eq!(job["errors"][0]["instance"], "ni:///e1");

    // The same event through the 1.2 endpoint: 409.
    let xml = xml_document("ni:///x1", &["urn:epc:id:sgtin:9506000.013435.9"]);
    assert_eq!(
        request(&server, "POST", "/epcis12/capture", &[XML], &xml)
            .await
            .unwrap()
            .status,
        201
    );
    let again = request(&server, "POST", "/epcis12/capture", &[XML], &xml)
        .await
        .unwrap();
    assert_eq!(again.status, 409, "{}", again.body);

    // Same event ID, different content: refused, not a duplicate.
    let conflicting = json_document(&[(
        "ni:///e1",
        "commissioning",
        &["urn:epc:id:sgtin:9506000.013435.2"],
    )]);
    let reply = request(&server, "POST", "/capture", &[JSON], &conflicting)
        .await
        .unwrap();
    let job = request(&server, "GET", reply.header("Location").unwrap(), &[], b"")
        .await
        .unwrap()
        .json();
    assert_eq!(
        job["errors"][0]["type"],
        "epcisException:ValidationException"
    );

    server.with_records(|r| {
        assert_eq!(r.events().unwrap().len(), 2);
        assert_eq!(r.commissioned_epcs().unwrap().len(), 2);
        assert_eq!(r.duplicates_refused().unwrap(), 2);
    });
    server.stop().await;
}

#[tokio::test]
async fn limits_are_announced_and_enforced() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(&dir, |c| {
        c.capture_limit = 1;
        c.file_size_limit = 2000;
    })
    .await;
    let options = request(&server, "OPTIONS", "/capture", &[], b"")
        .await
        .unwrap();
    assert_eq!(options.status, 204);
    assert_eq!(options.header("GS1-EPCIS-Capture-Limit"), Some("1"));
    assert_eq!(
        options.header("GS1-EPCIS-Capture-File-Size-Limit"),
        Some("2000")
    );

    let two_events = json_document(&[
        (
            "ni:///a",
            "commissioning",
            &["urn:epc:id:sgtin:9506000.013435.1"],
        ),
        (
            "ni:///b",
            "commissioning",
            &["urn:epc:id:sgtin:9506000.013435.2"],
        ),
    ]);
    assert_eq!(
        request(&server, "POST", "/capture", &[JSON], &two_events)
            .await
            .unwrap()
            .status,
        413
    );
    let many: Vec<String> = (0..100)
        .map(|i| format!("urn:epc:id:sgtin:9506000.013435.{i}"))
        .collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let large = json_document(&[("ni:///c", "commissioning", &many)]);
    assert!(large.len() > 2000);
    assert_eq!(
        request(&server, "POST", "/capture", &[JSON], &large)
            .await
            .unwrap()
            .status,
        413
    );
    server.with_records(|r| assert!(r.events().unwrap().is_empty()));
    server.stop().await;
}

#[tokio::test]
async fn nonsense_and_unsupported_documents_get_a_clear_400() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(&dir, |_| {}).await;
    let reply = request(&server, "POST", "/capture", &[JSON], b"{not json")
        .await
        .unwrap();
    assert_eq!(reply.status, 400);
    assert!(reply.json()["title"].as_str().unwrap().contains("JSON-LD"));
    let aggregation = b"<?xml version=\"1.0\"?>\n<epcis:EPCISDocument xmlns:epcis=\"urn:epcglobal:epcis:xsd:1\"><EPCISBody><EventList><AggregationEvent></AggregationEvent></EventList></EPCISBody></epcis:EPCISDocument>";
    let reply = request(&server, "POST", "/epcis12/capture", &[XML], aggregation)
        .await
        .unwrap();
    assert_eq!(reply.status, 400);
    assert!(reply.body.contains("only ObjectEvent"), "{}", reply.body);
    let reply = request(
        &server,
        "POST",
        "/capture",
        &[("Content-Type", "text/plain")],
        b"x",
    )
    .await
    .unwrap();
    assert_eq!(reply.status, 415);
    server.stop().await;
}

#[tokio::test]
async fn credentials_are_required() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(&dir, |c| c.auth = SiteAuth::Bearer("s3cret".into())).await;
    let doc = json_document(&[(
        "ni:///a",
        "commissioning",
        &["urn:epc:id:sgtin:9506000.013435.1"],
    )]);
    assert_eq!(
        request(&server, "POST", "/capture", &[JSON], &doc)
            .await
            .unwrap()
            .status,
        401
    );
    let wrong = [JSON, ("Authorization", "Bearer nope")];
    assert_eq!(
        request(&server, "POST", "/capture", &wrong, &doc)
            .await
            .unwrap()
            .status,
        401
    );
    let right = [JSON, ("Authorization", "Bearer s3cret")];
    assert_eq!(
        request(&server, "POST", "/capture", &right, &doc)
            .await
            .unwrap()
            .status,
        202
    );
    server.stop().await;

    let dir = tempfile::tempdir().unwrap();
    let server = start(&dir, |c| {
        c.auth = SiteAuth::Basic {
            user: "user".into(),
            password: "pass".into(),
        }
    })
    .await;
    let basic = [JSON, ("Authorization", "Basic dXNlcjpwYXNz")];
    assert_eq!(
        request(&server, "POST", "/capture", &basic, &doc)
            .await
            .unwrap()
            .status,
        202
    );
    server.stop().await;
}

#[tokio::test]
async fn serial_numbers_are_unique_forever() {
    let dir = tempfile::tempdir().unwrap();
    let body = br#"{"gtin":"09506000134352","count":3}"#;
    let server = start(&dir, |_| {}).await;
    let first = request(
        &server,
        "POST",
        "/serials/request",
        &[("Content-Type", "application/json")],
        body,
    )
    .await
    .unwrap()
    .json();
    server.stop().await;
    let server = start(&dir, |_| {}).await;
    let second = request(
        &server,
        "POST",
        "/serials/request",
        &[("Content-Type", "application/json")],
        body,
    )
    .await
    .unwrap()
    .json();
    let mut all: Vec<String> = first["serials"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second["serials"].as_array().unwrap())
        .map(|s| s.as_str().unwrap().to_string())
        .collect();
    assert_eq!(all.len(), 6);
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 6, "serials issued twice");
    let bad = request(
        &server,
        "POST",
        "/serials/request",
        &[],
        br#"{"gtin":"1","count":3}"#,
    )
    .await
    .unwrap();
    assert_eq!(bad.status, 400);
    server.stop().await;
}

#[tokio::test]
async fn faults_play_on_demand() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(&dir, |_| {}).await;
    let doc = json_document(&[(
        "ni:///f",
        "commissioning",
        &["urn:epc:id:sgtin:9506000.013435.1"],
    )]);

    server.inject(FaultTarget::Capture, SiteFault::ServerError(503), 1);
    assert_eq!(
        request(&server, "POST", "/capture", &[JSON], &doc)
            .await
            .unwrap()
            .status,
        503
    );
    server.with_records(|r| assert!(r.events().unwrap().is_empty()));

    server.inject(FaultTarget::Capture, SiteFault::Garbage, 1);
    let garbage = request(&server, "POST", "/capture", &[JSON], &doc)
        .await
        .unwrap();
    assert_eq!(garbage.status, 200);
    assert!(garbage.header("Location").is_none());

    // Dropped after the body was read: nothing comes back, but the event is stored.
    server.inject(FaultTarget::Capture, SiteFault::DropAfterBody, 1);
    assert!(
        request(&server, "POST", "/capture", &[JSON], &doc)
            .await
            .is_none()
    );
    server.with_records(|r| assert_eq!(r.events().unwrap().len(), 1));

    server.inject(
        FaultTarget::CaptureJob,
        SiteFault::Slow(Duration::from_millis(50)),
        1,
    );
    assert_eq!(
        request(&server, "GET", "/capture/x", &[], b"")
            .await
            .unwrap()
            .status,
        404
    );

    // No answer at all: the client gives up; nothing is stored.
    server.inject(FaultTarget::Any, SiteFault::NoAnswer, 1);
    let silent = tokio::time::timeout(
        Duration::from_millis(300),
        request(&server, "POST", "/capture", &[JSON], &doc),
    )
    .await;
    assert!(silent.is_err(), "expected no answer");
    server.with_records(|r| assert_eq!(r.events().unwrap().len(), 1));
    server.stop().await;
}
