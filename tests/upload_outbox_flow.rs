//! From the line's outbox rows to the site server: serials moved through the store
//! the way the station moves them (`Store::apply_line_records`), turned into EPCIS
//! chunks by the chunker and delivered by the sender to the simulated site server
//! (in-process, real loopback sockets, real SQLite on both sides). Every
//! commissioned EPC reaches the site server exactly once, used-up serials are
//! reported, nothing is lost while the site server is down, a lost answer never
//! makes a duplicate, a refusal parks until `upload retry`, credentials come from a
//! secrets file or the environment, and plain HTTP to another host is refused.

#[path = "store_support/mod.rs"]
mod store_support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serialstation::config::parse_client_config;
use serialstation::store::line_records::{LineBatch, LineRecord, SerialOutcome};
use serialstation::store::{Actor, NewBatch, Store};
use serialstation::upload::sender::{Backoff, Sender, SiteTarget};
use serialstation::upload::service::{RoundReport, sender_for_clients, upload_round};
use serialstation_simulator::site_server::{
    FaultTarget, SiteAuth, SiteFault, SiteServer, SiteServerConfig,
};
use store_support::{actor, gtin};

/// Guards against a hang only (a bug would otherwise block CI forever).
const HANG_GUARD: Duration = Duration::from_secs(120);

/// The example client `acme`, pointed at `url`, with `upload` lines replaced.
fn client_text(url: &str, replace: &[(&str, &str)]) -> String {
    let mut text = std::fs::read_to_string(store_support::example_config_path()).unwrap();
    text = text.replace("http://127.0.0.1:8080/capture", &format!("{url}/capture"));
    // Small events and documents, so that a few hundred serials make many chunks;
    // no flushing by age (the tests decide by batch state and event size alone).
    for (from, to) in [
        ("max_epcs_per_event = 10000", "max_epcs_per_event = 40"),
        (
            "max_events_per_document = 10000",
            "max_events_per_document = 3",
        ),
        ("flush_after_s = 5", "flush_after_s = 86400"),
    ]
    .iter()
    .chain(replace)
    {
        assert!(text.contains(from), "{from} not in the example config");
        text = text.replace(from, to);
    }
    text
}

/// A store with the client loaded and `serials` imported into the pool of GTIN.
fn store_with_client(dir: &Path, client: &str, serials: usize) -> (PathBuf, Store) {
    let path = dir.join("station.sqlite");
    let mut store = Store::open(&path).unwrap();
    let report = parse_client_config("acme.toml", client);
    let config = report
        .config
        .unwrap_or_else(|| panic!("client invalid: {:?}", report.issues));
    store.load_client_config(&config, &actor()).unwrap();
    let names: Vec<String> = (0..serials).map(|i| format!("S{i:05}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    store_support::import(&mut store, &refs);
    (path, store)
}

/// A running batch of `n` allocated serials.
fn start_batch(store: &mut Store, lot: &str, n: usize) -> (LineBatch, Vec<String>) {
    let batch = store
        .create_batch(
            &NewBatch {
                gtin: gtin(),
                lot: lot.to_string(),
                expiry: "281231".to_string(),
                quantity: n as u64,
            },
            &actor(),
        )
        .unwrap();
    let serials = store
        .allocate_block(batch, &gtin(), n, &actor())
        .unwrap()
        .into_iter()
        .map(|s| s.serial)
        .collect();
    let line = LineBatch {
        batch,
        gtin: gtin(),
        client_id: "acme".to_string(),
        lot: lot.to_string(),
        expiry: "281231".to_string(),
    };
    set_state(store, &line, "running");
    (line, serials)
}

fn set_state(store: &mut Store, line: &LineBatch, state: &str) {
    store
        .apply_line_records(
            line,
            &[LineRecord::BatchState {
                state: state.to_string(),
                reason: None,
            }],
            &Actor::new("station"),
        )
        .unwrap();
}

/// What the line does with one serial.
#[derive(Clone, Copy)]
enum Fate {
    Good,
    Scrapped,
    Invalidated,
}

/// Records `serials` as the station does: printed (Encoded), then good or scrapped;
/// invalidated ones were never proven printed. One group commit of 16 at a time.
fn produce(store: &mut Store, line: &LineBatch, serials: &[String], fate: Fate) {
    for group in serials.chunks(16) {
        let mut records = Vec::new();
        for serial in group {
            let record = |outcome| LineRecord::Serial {
                serial: serial.clone(),
                outcome,
                detail: "test".to_string(),
            };
            match fate {
                Fate::Good => {
                    records.push(record(SerialOutcome::Encoded));
                    records.push(record(SerialOutcome::Commissioned));
                }
                Fate::Scrapped => {
                    records.push(record(SerialOutcome::Encoded));
                    records.push(record(SerialOutcome::Scrapped));
                }
                Fate::Invalidated => records.push(record(SerialOutcome::Invalidated)),
            }
        }
        store
            .apply_line_records(line, &records, &Actor::new("station"))
            .unwrap();
    }
}

fn epcs(serials: &[String]) -> Vec<String> {
    serials
        .iter()
        .map(|s| format!("urn:epc:id:sgtin:9506000.013435.{s}"))
        .collect()
}

/// A sender for the store's clients, with short waits so that tests run fast.
fn quick_sender(store: &Store) -> Sender {
    let targets = store
        .clients()
        .unwrap()
        .iter()
        .map(|c| {
            let mut target = SiteTarget::from_client_config(&c.id, &c.upload).unwrap();
            target.request_timeout = Duration::from_millis(500);
            target.poll_interval = Duration::from_millis(5);
            target.backoff = Backoff {
                initial: Duration::from_millis(5),
                max: Duration::from_millis(40),
            };
            target
        })
        .collect();
    Sender::new(targets).unwrap()
}

fn waiting(store: &Store) -> u64 {
    store
        .waiting_serials()
        .unwrap()
        .iter()
        .map(|w| w.rows)
        .sum()
}

fn unsent_chunks(store: &Store) -> u64 {
    store
        .outbox_status()
        .unwrap()
        .iter()
        .map(|s| s.pending + s.in_flight + s.parked)
        .sum()
}

/// Rounds until no serial waits and no chunk is pending (or one is parked).
async fn rounds_until_idle(store: &mut Store, sender: &mut Sender, force: bool) -> RoundReport {
    let work = async {
        let mut total = RoundReport::default();
        loop {
            let report = upload_round(store, sender, force).await.unwrap();
            total.chunks_queued += report.chunks_queued;
            total.serials_chunked += report.serials_chunked;
            total.delivered += report.delivered;
            total.parked += report.parked;
            total.retries += report.retries;
            total.problems = report.problems;
            let parked: u64 = store
                .outbox_status()
                .unwrap()
                .iter()
                .map(|s| s.parked)
                .sum();
            if parked > 0 || (waiting(store) == 0 && unsent_chunks(store) == 0) {
                return total;
            }
            if let Some(due) = sender.next_due() {
                tokio::time::sleep_until(due.into()).await;
            }
        }
    };
    tokio::time::timeout(HANG_GUARD, work)
        .await
        .expect("upload rounds hung")
}

async fn start_server(dir: &Path, tweak: impl FnOnce(&mut SiteServerConfig)) -> SiteServer {
    let mut config = SiteServerConfig::new(dir.join("site.sqlite"));
    tweak(&mut config);
    SiteServer::start(config).await.unwrap()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[tokio::test]
async fn commissioned_and_used_up_serials_reach_the_site_server_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_server(dir.path(), |c| c.capture_limit = 2).await;
    let (_, mut store) = store_with_client(dir.path(), &client_text(&server.base_url(), &[]), 400);
    let (line, serials) = start_batch(&mut store, "LOT-A", 300);
    let (good, rest) = serials.split_at(230);
    let (scrapped, invalidated) = rest.split_at(50);
    produce(&mut store, &line, &good[..100], Fate::Good);
    produce(&mut store, &line, &scrapped[..10], Fate::Scrapped);
    let mut sender = quick_sender(&store);

    // While the batch runs, only whole events (40 EPCs) are chunked.
    let report = upload_round(&mut store, &mut sender, false).await.unwrap();
    assert_eq!(report.serials_chunked, 80, "{report:?}");
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(waiting(&store), 30, "20 commissioned and 10 scrapped wait");

    produce(&mut store, &line, &good[100..], Fate::Good);
    produce(&mut store, &line, &scrapped[10..], Fate::Scrapped);
    produce(&mut store, &line, invalidated, Fate::Invalidated);
    // The batch stops: everything left is chunked, whatever the event size.
    set_state(&mut store, &line, "stopped");
    let report = rounds_until_idle(&mut store, &mut sender, false).await;
    assert_eq!(report.parked, 0, "{report:?}");
    assert_eq!(waiting(&store), 0);

    let entries = store
        .outbox_entries_of_batch(line.batch, "epcis-document")
        .unwrap();
    for entry in &entries {
        let chunk =
            serialstation::upload::sender::ChunkPayload::from_stored(&entry.payload).unwrap();
        assert!(
            chunk.events.len() <= 2,
            "the site server's capture limit wins"
        );
        assert!(chunk.events.iter().all(|e| e.epcs.len() <= 40));
    }
    server.with_records(|r| {
        assert_eq!(sorted(r.commissioned_epcs().unwrap()), sorted(epcs(good)));
        let used_up: Vec<String> = scrapped.iter().chain(invalidated).cloned().collect();
        assert_eq!(
            sorted(r.decommissioned_epcs().unwrap()),
            sorted(epcs(&used_up))
        );
        assert_eq!(r.duplicates_refused().unwrap(), 0);
    });
    // Chunks are queued in the order their serials were recorded.
    let first_kinds: Vec<bool> = entries
        .iter()
        .map(|e| e.payload.contains("commissioning"))
        .collect();
    assert!(
        first_kinds[0],
        "the first chunk holds the first commissioned serials"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_site_server_down_for_a_while_loses_nothing_and_lost_answers_make_no_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_server(dir.path(), |_| {}).await;
    let addr = server.addr();
    let (_, mut store) = store_with_client(dir.path(), &client_text(&server.base_url(), &[]), 400);
    let (line, serials) = start_batch(&mut store, "LOT-B", 360);
    let mut sender = quick_sender(&store);

    // Stored, but the answer is lost (capture and job poll); then 5xx twice.
    server.inject(FaultTarget::Capture, SiteFault::DropAfterBody, 1);
    server.inject(FaultTarget::CaptureJob, SiteFault::DropAfterBody, 1);
    server.inject(FaultTarget::Capture, SiteFault::ServerError(503), 2);
    produce(&mut store, &line, &serials[..120], Fate::Good);
    let report = rounds_until_idle(&mut store, &mut sender, false).await;
    assert!(report.retries >= 3, "{report:?}");

    // The site server goes away; the line goes on; the serials wait as chunks.
    server.stop().await;
    produce(&mut store, &line, &serials[120..240], Fate::Good);
    for _ in 0..3 {
        let report = upload_round(&mut store, &mut sender, false).await.unwrap();
        assert_eq!(report.delivered, 0);
        if let Some(due) = sender.next_due() {
            tokio::time::sleep_until(due.into()).await;
        }
    }
    assert_eq!(waiting(&store), 0, "chunked while the site server is down");
    let status = store.outbox_status().unwrap();
    assert!(unsent_chunks(&store) > 0);
    assert!(
        status[0]
            .last_error
            .as_deref()
            .unwrap_or("")
            .contains("connect"),
        "{status:?}"
    );

    // Back on the same address: everything goes through, once.
    produce(&mut store, &line, &serials[240..], Fate::Good);
    set_state(&mut store, &line, "closed");
    let server = start_server(dir.path(), |c| c.bind = addr).await;
    let report = rounds_until_idle(&mut store, &mut sender, false).await;
    assert_eq!(report.parked, 0);
    server.with_records(|r| {
        assert_eq!(
            sorted(r.commissioned_epcs().unwrap()),
            sorted(epcs(&serials))
        );
        assert!(
            r.duplicates_refused().unwrap() > 0,
            "the dropped capture was resent"
        );
    });
    server.stop().await;
}

#[tokio::test]
async fn a_refusal_parks_until_upload_retry_and_bearer_comes_from_a_secrets_file() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_server(dir.path(), |c| {
        c.auth = SiteAuth::Bearer("right-token".into())
    })
    .await;
    let secret = dir.path().join("epcis.token");
    std::fs::write(&secret, "wrong-token\n").unwrap();
    let client = client_text(
        &server.base_url(),
        &[(
            "auth = \"none\"",
            &format!("auth = \"bearer\"\nsecrets_file = \"{}\"", secret.display()),
        )],
    );
    let (db, mut store) = store_with_client(dir.path(), &client, 200);
    let (line, serials) = start_batch(&mut store, "LOT-C", 100);
    produce(&mut store, &line, &serials, Fate::Good);
    set_state(&mut store, &line, "stopped");
    let mut sender = quick_sender(&store);
    let report = rounds_until_idle(&mut store, &mut sender, false).await;
    assert_eq!((report.delivered, report.parked), (0, 1), "{report:?}");
    let status = store.outbox_status().unwrap();
    let message = status[0].last_error.clone().unwrap_or_default();
    assert!(message.contains("401"), "{message}");
    assert!(!message.contains("wrong-token"));

    // The operator fixes the secret and retries the parked chunk.
    std::fs::write(&secret, "right-token").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_serialstation"))
        .arg("--db")
        .arg(&db)
        .args(["upload", "retry"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut sender = quick_sender(&store);
    let report = rounds_until_idle(&mut store, &mut sender, false).await;
    assert_eq!(report.parked, 0);
    server.with_records(|r| {
        assert_eq!(
            sorted(r.commissioned_epcs().unwrap()),
            sorted(epcs(&serials))
        )
    });
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_flush_sends_with_basic_credentials_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_server(dir.path(), |c| {
        c.auth = SiteAuth::Basic {
            user: "station".into(),
            password: "pa55word".into(),
        }
    })
    .await;
    let client = client_text(
        &server.base_url(),
        &[(
            "auth = \"none\"",
            "auth = \"basic\"\ntoken_env = \"SERIALSTATION_TEST_UPLOAD_BASIC\"",
        )],
    );
    let (db, mut store) = store_with_client(dir.path(), &client, 100);
    let (line, serials) = start_batch(&mut store, "LOT-D", 50);
    produce(&mut store, &line, &serials, Fate::Good);
    drop(store);
    let run = |args: &'static [&'static str]| {
        let db = db.clone();
        tokio::task::spawn_blocking(move || {
            Command::new(env!("CARGO_BIN_EXE_serialstation"))
                .arg("--db")
                .arg(&db)
                .args(args)
                .env("SERIALSTATION_TEST_UPLOAD_BASIC", "station:pa55word")
                .output()
                .unwrap()
        })
    };
    let out = run(&["upload", "status"]).await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("50 serial(s) waiting to be chunked"),
        "{stdout}"
    );

    // The batch still runs and no event is full: only --force chunks them now.
    let out = run(&["upload", "flush"]).await.unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("40 serial(s) queued"));
    let out = run(&["upload", "flush", "--force"]).await.unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(&["upload", "status", "--json"]).await.unwrap();
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status[0]["waiting_serials"], 0, "{status}");
    assert_eq!(status[0]["sent"], 2, "{status}");
    server.with_records(|r| {
        assert_eq!(
            sorted(r.commissioned_epcs().unwrap()),
            sorted(epcs(&serials))
        )
    });
    server.stop().await;
}

#[tokio::test]
async fn plain_http_to_another_host_is_refused_and_the_serials_wait() {
    let dir = tempfile::tempdir().unwrap();
    let client = client_text("http://127.0.0.1:9", &[]);
    let (_, mut store) = store_with_client(dir.path(), &client, 20);
    // Written past the configuration check (e.g. by an older version).
    let mut config = parse_client_config("acme.toml", &client).config.unwrap();
    config.client.upload.url = "http://l3.example.com/capture".to_string();
    store.load_client_config(&config, &actor()).unwrap();
    let (line, serials) = start_batch(&mut store, "LOT-E", 10);
    produce(&mut store, &line, &serials, Fate::Good);

    let clients = store.clients().unwrap();
    let (mut sender, problems) = sender_for_clients(&clients).unwrap();
    assert!(
        problems
            .iter()
            .any(|p| p.contains("plain HTTP") && p.contains("https")),
        "{problems:?}"
    );
    let report = upload_round(&mut store, &mut sender, true).await.unwrap();
    assert_eq!(report.serials_chunked, 0);
    assert!(
        report.problems.iter().any(|p| p.contains("acme")),
        "{report:?}"
    );
    assert_eq!(waiting(&store), 10, "nothing is lost: the serials wait");
    let kinds: BTreeSet<String> = store
        .pending_outbox(100)
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(kinds, BTreeSet::from(["commissioned".to_string()]));
}
