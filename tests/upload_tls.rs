//! The outbox sender over HTTPS to the simulated site server on loopback: a CA and
//! a server certificate are made in the test; with the CA in the target's `ca_file`
//! every chunk is accepted; without it the sender reports a certificate error, the
//! chunks stay pending (not parked) and nothing is lost once the CA is given.

#[path = "store_support/mod.rs"]
mod store_support;

#[path = "../simulator/tests/tls_certs/mod.rs"]
mod tls_certs;

use std::path::Path;
use std::time::Duration;

use serialstation::gs1::{Gs1Date, Gtin};
use serialstation::store::Store;
use serialstation::upload::sender::{
    Backoff, CaptureProtocol, Sender, SiteTarget, chunk_payloads, queue_chunk,
};
use serialstation::upload::{
    ChunkLimits, DocumentFormat, EventKind, EventTemplate, EventTime, LotMasterData, Sgln,
};
use serialstation_simulator::site_server::{SiteServer, SiteServerConfig, SiteTls};

const CLIENT: &str = "acme";

/// Guards against a hang only (a bug would otherwise block CI forever).
const HANG_GUARD: Duration = Duration::from_secs(120);

fn template() -> EventTemplate {
    EventTemplate {
        kind: EventKind::Commissioning(
            LotMasterData::new("LOT-TLS", Gs1Date::from_ymd(2027, 6, 30).unwrap()).unwrap(),
        ),
        event_time: EventTime::parse_rfc3339("2026-05-04T13:14:15.678+02:00").unwrap(),
        read_point: Sgln::parse("urn:epc:id:sgln:9506000.00001.0").unwrap(),
        biz_location: Sgln::parse("urn:epc:id:sgln:9506000.00001.0").unwrap(),
    }
}

/// Queues `count` serials as chunks of 2 events of 10 EPCs; returns the EPCs in order.
fn queue_serials(store: &mut Store, count: usize) -> Vec<String> {
    let gtin = Gtin::parse(store_support::GTIN).unwrap();
    let serials: Vec<String> = (0..count).map(|i| format!("TLS{i}")).collect();
    let limits = ChunkLimits {
        max_epcs_per_event: 10,
        max_events_per_document: 2,
        max_document_bytes: 1 << 20,
    };
    let creation = EventTime::parse_rfc3339("2026-05-04T14:00:00.000+02:00").unwrap();
    for chunk in chunk_payloads(
        DocumentFormat::Epcis2JsonLd,
        limits,
        creation,
        template(),
        &gtin,
        7,
        &serials,
    )
    .unwrap()
    {
        queue_chunk(store, CLIENT, None, &chunk.unwrap()).unwrap();
    }
    serials
        .iter()
        .map(|s| format!("urn:epc:id:sgtin:9506000.013435.{s}"))
        .collect()
}

async fn start_https_server(dir: &Path, pki: &tls_certs::TestPki) -> SiteServer {
    let mut config = SiteServerConfig::new(dir.join("site.sqlite"));
    config.tls = Some(SiteTls {
        cert: pki.server_cert.clone(),
        key: pki.server_key.clone(),
    });
    let server = SiteServer::start(config).await.unwrap();
    assert!(server.base_url().starts_with("https://127.0.0.1:"));
    server
}

fn target(base_url: &str, ca_file: Option<&Path>) -> SiteTarget {
    let mut target = SiteTarget::new(
        CLIENT,
        &format!("{base_url}/capture"),
        CaptureProtocol::Epcis2Capture,
        None,
        false,
    )
    .unwrap();
    target.request_timeout = Duration::from_secs(10);
    target.poll_interval = Duration::from_millis(5);
    target.backoff = Backoff {
        initial: Duration::from_millis(5),
        max: Duration::from_millis(40),
    };
    target.ca_file = ca_file.map(Path::to_path_buf);
    target
}

#[tokio::test]
async fn chunks_are_accepted_over_https_with_the_ca_file() {
    let dir = tempfile::tempdir().unwrap();
    let pki = tls_certs::make_pki(dir.path());
    let (_, mut store) = store_support::store_with_products(dir.path());
    let expected = queue_serials(&mut store, 45);
    let server = start_https_server(dir.path(), &pki).await;
    // By IP address and by name: the certificate holds both.
    let by_name = server.base_url().replace("127.0.0.1", "localhost");
    for base in [server.base_url(), by_name] {
        let mut sender = Sender::new(vec![target(&base, Some(&pki.ca_cert))]).unwrap();
        tokio::time::timeout(HANG_GUARD, sender.run_until_idle(&mut store))
            .await
            .expect("sender hung")
            .unwrap();
    }
    server.with_records(|r| {
        assert_eq!(r.commissioned_epcs().unwrap(), expected);
        assert_eq!(r.duplicates_refused().unwrap(), 0);
    });
    let status = store.outbox_status().unwrap();
    assert_eq!(status[0].sent, 3);
    assert_eq!(status[0].pending + status[0].parked, 0);
    server.stop().await;
}

#[tokio::test]
async fn an_untrusted_certificate_is_a_clear_error_and_nothing_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let pki = tls_certs::make_pki(dir.path());
    let (_, mut store) = store_support::store_with_products(dir.path());
    let expected = queue_serials(&mut store, 45);
    let server = start_https_server(dir.path(), &pki).await;

    // Without the CA: the system's roots do not know the test CA.
    let mut untrusting = Sender::new(vec![target(&server.base_url(), None)]).unwrap();
    let report = tokio::time::timeout(HANG_GUARD, untrusting.pass(&mut store))
        .await
        .expect("sender hung")
        .unwrap();
    assert_eq!(report.delivered, 0);
    assert_eq!(report.parked, 0);
    assert_eq!(report.retries, 1);
    let status = store.outbox_status().unwrap();
    assert_eq!(status[0].pending, 3, "{status:?}");
    assert_eq!(status[0].parked, 0, "{status:?}");
    let error = status[0].last_error.clone().unwrap_or_default();
    assert!(
        error.contains("TLS certificate is not accepted") && error.contains("ca_file"),
        "the error should say the certificate is not trusted and what to do: {error}"
    );
    server.with_records(|r| assert!(r.commissioned_epcs().unwrap().is_empty()));

    // With the CA: everything arrives, once.
    let mut trusting = Sender::new(vec![target(&server.base_url(), Some(&pki.ca_cert))]).unwrap();
    tokio::time::timeout(HANG_GUARD, trusting.run_until_idle(&mut store))
        .await
        .expect("sender hung")
        .unwrap();
    server.with_records(|r| {
        assert_eq!(r.commissioned_epcs().unwrap(), expected);
        assert_eq!(r.duplicates_refused().unwrap(), 0);
    });
    assert_eq!(store.outbox_status().unwrap()[0].sent, 3);
    server.stop().await;
}

#[tokio::test]
async fn a_wrong_ca_file_is_refused_at_set_up() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-ca.pem");
    let Err(error) = Sender::new(vec![target("https://127.0.0.1:1", Some(&missing))]) else {
        panic!("a missing CA file must be refused");
    };
    let text = error.to_string();
    assert!(
        text.contains("no-such-ca.pem") && text.contains("ca_file"),
        "{text}"
    );

    let not_pem = dir.path().join("ca.txt");
    std::fs::write(&not_pem, "not a certificate\n").unwrap();
    let Err(error) = Sender::new(vec![target("https://127.0.0.1:1", Some(&not_pem))]) else {
        panic!("a CA file without certificates must be refused");
    };
    assert!(error.to_string().contains("BEGIN CERTIFICATE"), "{error}");
}
