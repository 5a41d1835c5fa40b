//! The outbox sender against the simulated site server over real loopback sockets:
//! in-order delivery, EPCIS 2.0 capture with job polling, the EPCIS 1.2 endpoint,
//! every fault (5xx, no answer, garbage, connection dropped after the body was
//! stored, site server down), parking with the site server's own message, operator
//! retry, and never a duplicate in the site server's ground truth.

#[path = "store_support/mod.rs"]
mod store_support;

use std::time::Duration;

use serialstation::gs1::{Gs1Date, Gtin};
use serialstation::store::Store;
use serialstation::upload::sender::{
    Backoff, CaptureProtocol, CredentialScheme, CredentialSource, Credentials, Sender, SiteTarget,
    chunk_payloads, queue_chunk,
};
use serialstation::upload::{
    ChunkLimits, DocumentFormat, EventKind, EventTemplate, EventTime, LotMasterData, Sgln,
};
use serialstation_simulator::site_server::{
    FaultTarget, SiteAuth, SiteFault, SiteServer, SiteServerConfig,
};

const CLIENT: &str = "acme";

fn template() -> EventTemplate {
    EventTemplate {
        kind: EventKind::Commissioning(
            LotMasterData::new("LOT-7", Gs1Date::from_ymd(2027, 6, 30).unwrap()).unwrap(),
        ),
        event_time: EventTime::parse_rfc3339("2026-05-04T13:14:15.678+02:00").unwrap(),
        read_point: Sgln::parse("urn:epc:id:sgln:9506000.00001.0").unwrap(),
        biz_location: Sgln::parse("urn:epc:id:sgln:9506000.00001.0").unwrap(),
    }
}

/// Queues `count` serials as chunks of 2 events of 10 EPCs; returns the EPCs in order.
fn queue_serials(
    store: &mut Store,
    format: DocumentFormat,
    first: usize,
    count: usize,
) -> Vec<String> {
    let gtin = Gtin::parse(store_support::GTIN).unwrap();
    let serials: Vec<String> = (first..first + count).map(|i| format!("S{i}")).collect();
    let limits = ChunkLimits {
        max_epcs_per_event: 10,
        max_events_per_document: 2,
        max_document_bytes: 1 << 20,
    };
    let creation = EventTime::parse_rfc3339("2026-05-04T14:00:00.000+02:00").unwrap();
    for chunk in chunk_payloads(format, limits, creation, template(), &gtin, 7, &serials).unwrap() {
        queue_chunk(store, CLIENT, None, &chunk.unwrap()).unwrap();
    }
    serials
        .iter()
        .map(|s| format!("urn:epc:id:sgtin:9506000.013435.{s}"))
        .collect()
}

fn target(
    server_url: &str,
    protocol: CaptureProtocol,
    credentials: Option<Credentials>,
) -> SiteTarget {
    let path = match protocol {
        CaptureProtocol::Epcis2Capture => "/capture",
        CaptureProtocol::Epcis12 => "/epcis12/capture",
    };
    let mut target = SiteTarget::new(
        CLIENT,
        &format!("{server_url}{path}"),
        protocol,
        credentials,
        false,
    )
    .unwrap();
    target.request_timeout = Duration::from_millis(500);
    target.poll_interval = Duration::from_millis(5);
    target.backoff = Backoff {
        initial: Duration::from_millis(5),
        max: Duration::from_millis(40),
    };
    target
}

async fn start_server(
    dir: &std::path::Path,
    tweak: impl FnOnce(&mut SiteServerConfig),
) -> SiteServer {
    let mut config = SiteServerConfig::new(dir.join("site.sqlite"));
    tweak(&mut config);
    SiteServer::start(config).await.unwrap()
}

/// Guards against a hang only (a bug would otherwise block CI forever).
const HANG_GUARD: Duration = Duration::from_secs(120);

async fn run_until_idle(
    sender: &mut Sender,
    store: &mut Store,
) -> serialstation::upload::sender::PassReport {
    tokio::time::timeout(HANG_GUARD, sender.run_until_idle(store))
        .await
        .expect("sender hung")
        .unwrap()
}

#[tokio::test]
async fn chunks_are_delivered_in_order_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let (_, mut store) = store_support::store_with_products(dir.path());
    let expected = queue_serials(&mut store, DocumentFormat::Epcis2JsonLd, 0, 95);
    let server = start_server(dir.path(), |c| c.polls_while_running = 2).await;
    let mut sender = Sender::new(vec![target(
        &server.base_url(),
        CaptureProtocol::Epcis2Capture,
        None,
    )])
    .unwrap();
    let report = run_until_idle(&mut sender, &mut store).await;
    assert_eq!(report.delivered, 5);
    assert_eq!(report.parked, 0);
    server.with_records(|r| {
        assert_eq!(r.commissioned_epcs().unwrap(), expected);
        assert_eq!(r.duplicates_refused().unwrap(), 0);
    });
    let status = store.outbox_status().unwrap();
    assert_eq!(status[0].sent, 5);
    assert_eq!(
        status[0].pending + status[0].in_flight + status[0].parked,
        0
    );
    server.stop().await;
}

#[tokio::test]
async fn every_fault_is_survived_without_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let (_, mut store) = store_support::store_with_products(dir.path());
    let expected = queue_serials(&mut store, DocumentFormat::Epcis2JsonLd, 0, 200);
    let server = start_server(dir.path(), |_| {}).await;
    server.inject(FaultTarget::Capture, SiteFault::ServerError(503), 2);
    server.inject(FaultTarget::Capture, SiteFault::Garbage, 1);
    server.inject(FaultTarget::Capture, SiteFault::NoAnswer, 1);
    // Stored, but the sender never hears of it: its resend must not duplicate.
    server.inject(FaultTarget::Capture, SiteFault::DropAfterBody, 2);
    server.inject(FaultTarget::CaptureJob, SiteFault::DropAfterBody, 1);
    server.inject(FaultTarget::CaptureJob, SiteFault::ServerError(500), 1);
    server.inject(FaultTarget::CaptureJob, SiteFault::Garbage, 1);
    server.inject(
        FaultTarget::Capture,
        SiteFault::Slow(Duration::from_millis(20)),
        1,
    );
    let mut sender = Sender::new(vec![target(
        &server.base_url(),
        CaptureProtocol::Epcis2Capture,
        None,
    )])
    .unwrap();
    let report = run_until_idle(&mut sender, &mut store).await;
    assert_eq!(report.delivered, 10);
    assert_eq!(report.parked, 0);
    assert!(report.retries >= 9, "{report:?}");
    server.with_records(|r| {
        assert_eq!(
            r.commissioned_epcs().unwrap(),
            expected,
            "every EPC exactly once, in order"
        );
        assert_eq!(
            r.duplicates_refused().unwrap(),
            4,
            "two dropped captures of 2 events were resent"
        );
    });
    server.stop().await;
}

#[tokio::test]
async fn epcis12_endpoint_with_dropped_answers() {
    let dir = tempfile::tempdir().unwrap();
    let (_, mut store) = store_support::store_with_products(dir.path());
    let expected = queue_serials(&mut store, DocumentFormat::Epcis12Xml, 0, 60);
    let server = start_server(dir.path(), |_| {}).await;
    server.inject(FaultTarget::Epcis12Capture, SiteFault::DropAfterBody, 1);
    server.inject(FaultTarget::Epcis12Capture, SiteFault::ServerError(502), 1);
    let mut sender = Sender::new(vec![target(
        &server.base_url(),
        CaptureProtocol::Epcis12,
        None,
    )])
    .unwrap();
    let report = run_until_idle(&mut sender, &mut store).await;
    assert_eq!(report.delivered, 3);
    server.with_records(|r| {
        assert_eq!(r.commissioned_epcs().unwrap(), expected);
        assert_eq!(r.duplicates_refused().unwrap(), 2);
    });
    server.stop().await;
}

#[tokio::test]
async fn refused_chunks_park_with_the_site_servers_message_until_retried() {
    let dir = tempfile::tempdir().unwrap();
    let (_, mut store) = store_support::store_with_products(dir.path());
    let expected = queue_serials(&mut store, DocumentFormat::Epcis2JsonLd, 0, 40);
    let server = start_server(dir.path(), |c| {
        c.auth = SiteAuth::Bearer("right-token".into())
    })
    .await;
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "wrong-token\n").unwrap();
    let load = || {
        Credentials::load(
            CLIENT,
            CredentialScheme::Bearer,
            &CredentialSource::File(token_file.clone()),
        )
        .unwrap()
    };
    let mut sender = Sender::new(vec![target(
        &server.base_url(),
        CaptureProtocol::Epcis2Capture,
        Some(load()),
    )])
    .unwrap();
    let report = run_until_idle(&mut sender, &mut store).await;
    assert_eq!((report.delivered, report.parked), (0, 1));
    let status = store.outbox_status().unwrap();
    assert_eq!(status[0].parked, 1);
    assert_eq!(
        status[0].pending, 1,
        "the later chunk waits behind the parked one"
    );
    let message = status[0].last_error.clone().unwrap();
    assert!(
        message.contains("401") && message.contains("credentials"),
        "{message}"
    );
    assert!(!message.contains("wrong-token"));
    server.with_records(|r| assert!(r.events().unwrap().is_empty()));

    std::fs::write(&token_file, "right-token").unwrap();
    assert_eq!(store.retry_parked_outbox(None).unwrap(), 1);
    let mut sender = Sender::new(vec![target(
        &server.base_url(),
        CaptureProtocol::Epcis2Capture,
        Some(load()),
    )])
    .unwrap();
    let report = run_until_idle(&mut sender, &mut store).await;
    assert_eq!(report.delivered, 2);
    server.with_records(|r| assert_eq!(r.commissioned_epcs().unwrap(), expected));
    server.stop().await;
}

#[tokio::test]
async fn a_site_server_that_is_down_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (_, mut store) = store_support::store_with_products(dir.path());
    let expected = queue_serials(&mut store, DocumentFormat::Epcis2JsonLd, 0, 30);
    let server = start_server(dir.path(), |_| {}).await;
    let addr = server.addr();
    server.stop().await;
    let mut sender = Sender::new(vec![target(
        &format!("http://{addr}"),
        CaptureProtocol::Epcis2Capture,
        None,
    )])
    .unwrap();
    for _ in 0..3 {
        sender.pass(&mut store).await.unwrap();
        if let Some(due) = sender.next_due() {
            tokio::time::sleep_until(due.into()).await;
        }
    }
    let status = store.outbox_status().unwrap();
    assert_eq!(status[0].sent, 0);
    assert!(
        status[0]
            .last_error
            .as_deref()
            .unwrap_or("")
            .contains("cannot connect"),
        "{status:?}"
    );
    let server = start_server(dir.path(), |c| c.bind = addr).await;
    let report = run_until_idle(&mut sender, &mut store).await;
    assert_eq!(report.delivered, 2);
    server.with_records(|r| assert_eq!(r.commissioned_epcs().unwrap(), expected));
    server.stop().await;
}

#[tokio::test]
async fn a_restarted_sender_polls_the_persisted_capture_instead_of_resending() {
    let dir = tempfile::tempdir().unwrap();
    let (db, mut store) = store_support::store_with_products(dir.path());
    let expected = queue_serials(&mut store, DocumentFormat::Epcis2JsonLd, 0, 20);
    let server = start_server(dir.path(), |_| {}).await;
    // The capture is accepted (202), then the job cannot be read: outcome unknown.
    server.inject(FaultTarget::CaptureJob, SiteFault::ServerError(503), 1);
    let mut sender = Sender::new(vec![target(
        &server.base_url(),
        CaptureProtocol::Epcis2Capture,
        None,
    )])
    .unwrap();
    let report = sender.pass(&mut store).await.unwrap();
    assert_eq!((report.delivered, report.retries), (0, 1));
    let status = store.outbox_status().unwrap();
    assert_eq!(status[0].in_flight, 1, "{status:?}");
    drop(sender);
    drop(store);

    // The station restarts: a new store handle and a new sender.
    let mut store = Store::open(&db).unwrap();
    let mut sender = Sender::new(vec![target(
        &server.base_url(),
        CaptureProtocol::Epcis2Capture,
        None,
    )])
    .unwrap();
    let report = run_until_idle(&mut sender, &mut store).await;
    assert_eq!(report.delivered, 1);
    server.with_records(|r| {
        assert_eq!(r.commissioned_epcs().unwrap(), expected);
        assert_eq!(r.duplicates_refused().unwrap(), 0, "polled, never resent");
    });
    server.stop().await;
}
