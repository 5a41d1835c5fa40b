//! Containers reach the site server as EPCIS events, in the order they happened. A
//! finished batch (its packs commissioned) gets a case of packs, labelled and
//! verified, on a pallet, built with the real CLI on a real store; the uploader
//! sends everything to the simulated site server (in-process, real loopback
//! sockets). The site server then has, for the case and for the pallet, the
//! children's commissioning before the container's SSCC commissioning before its
//! AggregationEvent ADD, and knows what each container holds. Every document sent
//! passes the official EPCIS 2.0 JSON schema or EPCIS 1.2 XSD, and the GS1 reference
//! implementation computes from it the event IDs we put in it (when those tools are
//! installed; a missing one is named and skipped, and fails under CI). A pack then
//! unpacked and decommissioned reaches the site server unpacked before it is
//! decommissioned. Once for EPCIS 2.0 JSON-LD capture, once for EPCIS 1.2 XML.

mod batch_record_support;
#[path = "support/epcis/tools.rs"]
mod tools;

use std::path::{Path, PathBuf};
use std::time::Duration;

use batch_record_support::{finished_batch, run};
use serialstation::config::parse_client_config;
use serialstation::gs1::{Gtin, Sscc};
use serialstation::store::decommission::DecommissionReason;
use serialstation::store::{Actor, BatchId, Store};
use serialstation::upload::EpcisDocument;
use serialstation::upload::sender::{Backoff, ChunkPayload, Sender, SiteTarget};
use serialstation::upload::service::{RoundReport, upload_round};
use serialstation_simulator::site_server::{SiteServer, SiteServerConfig, StoredEvent};

/// Guards against a hang only (a bug would otherwise block CI forever).
const HANG_GUARD: Duration = Duration::from_secs(120);
const COMPANY_PREFIX_LEN: usize = 7;
/// Packs in the case.
const CASE_PACKS: usize = 4;

#[derive(Clone, Copy, Debug)]
enum Wire {
    Epcis2Json,
    Epcis12Xml,
}

fn ok(db: &Path, args: &[&str]) -> String {
    let out = run(db, args);
    assert!(
        out.status.success(),
        "serialstation {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Opens a container of `level` holding `holds` and returns its SSCC.
fn open(db: &Path, level: &str, holds: &str, capacity: usize) -> String {
    let capacity = capacity.to_string();
    let out = ok(
        db,
        &[
            "container",
            "open",
            "--batch",
            "1",
            "--level",
            level,
            "--holds",
            holds,
            "--capacity",
            &capacity,
            "--json",
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&out).expect("open prints json");
    v["sscc"].as_str().expect("sscc").to_string()
}

/// Closes, labels and verifies a full container: its SSCC is commissioned and its
/// children aggregated (outbox rows).
fn finish(db: &Path, sscc: &str) {
    ok(db, &["container", "close", sscc]);
    ok(db, &["container", "label", sscc]);
    ok(db, &["container", "verify", sscc, "--read", sscc]);
}

/// The serials of batch 1 that are commissioned, oldest first.
fn commissioned(db: &Path) -> Vec<String> {
    let store = Store::open(db).expect("store opens");
    let mut stmt = store
        .raw_connection()
        .prepare("SELECT serial FROM serials WHERE batch_id = 1 AND state = 7 ORDER BY id")
        .expect("query");
    stmt.query_map([], |r| r.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows")
}

fn sgtin(serial: &str) -> String {
    format!("urn:epc:id:sgtin:9506000.013435.{serial}")
}

fn sscc_uri(sscc: &str) -> String {
    serialstation::gs1::epc::sscc_uri(&Sscc::parse(sscc).expect("sscc"), COMPANY_PREFIX_LEN)
        .expect("sscc uri")
}

/// Points the example client at the site server in the wire format of the test.
fn point_client_at(db: &Path, server: &SiteServer, wire: Wire) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config/clients/acme.toml");
    let mut text = std::fs::read_to_string(&path).expect("example client");
    let base = server.base_url();
    let replacements: Vec<(&str, String)> = match wire {
        Wire::Epcis2Json => vec![(
            "url = \"http://127.0.0.1:8080/capture\"",
            format!("url = \"{base}/capture\""),
        )],
        Wire::Epcis12Xml => vec![
            (
                "url = \"http://127.0.0.1:8080/capture\"",
                format!("url = \"{base}/epcis12/capture\""),
            ),
            (
                "format = \"epcis2-jsonld\"",
                "format = \"epcis1.2-xml\"".to_string(),
            ),
            (
                "protocol = \"epcis2-capture\"",
                "protocol = \"epcis12\"".to_string(),
            ),
        ],
    };
    for (from, to) in replacements {
        assert!(text.contains(from), "{from} not in the example client");
        text = text.replace(from, &to);
    }
    let report = parse_client_config("acme.toml", &text);
    let config = report
        .config
        .unwrap_or_else(|| panic!("client invalid: {:?}", report.issues));
    let mut store = Store::open(db).expect("store opens");
    store
        .load_client_config(&config, &Actor::new("test-operator"))
        .expect("client loads");
}

/// A sender for the store's clients, with short waits so that the test runs fast.
fn quick_sender(store: &Store) -> Sender {
    let targets = store
        .clients()
        .expect("clients")
        .iter()
        .map(|c| {
            let mut target = SiteTarget::from_client_config(&c.id, &c.upload).expect("target");
            target.request_timeout = Duration::from_millis(2000);
            target.poll_interval = Duration::from_millis(5);
            target.backoff = Backoff {
                initial: Duration::from_millis(5),
                max: Duration::from_millis(40),
            };
            target
        })
        .collect();
    Sender::new(targets).expect("sender")
}

/// Rounds until no row waits and no chunk is pending; fails on a parked chunk.
async fn rounds_until_idle(store: &mut Store, sender: &mut Sender) -> RoundReport {
    let work = async {
        let mut total = RoundReport::default();
        loop {
            let report = upload_round(store, sender, false).await.expect("round");
            assert!(report.problems.is_empty(), "{:?}", report.problems);
            assert_eq!(report.parked, 0, "{report:?}");
            total.chunks_queued += report.chunks_queued;
            total.serials_chunked += report.serials_chunked;
            total.container_rows_chunked += report.container_rows_chunked;
            total.delivered += report.delivered;
            let waiting: u64 = store
                .waiting_serials()
                .expect("waiting")
                .iter()
                .map(|w| w.rows)
                .sum();
            let unsent: u64 = store
                .outbox_status()
                .expect("status")
                .iter()
                .map(|s| s.pending + s.in_flight + s.parked)
                .sum();
            if waiting == 0 && unsent == 0 {
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

/// Position in `events` (as the site server stored them) of the first event that
/// `matches`; `what` names it when there is none.
fn position(
    events: &[(StoredEvent, Vec<String>)],
    what: &str,
    matches: impl Fn(&StoredEvent, &[String]) -> bool,
) -> usize {
    events
        .iter()
        .position(|(event, epcs)| matches(event, epcs))
        .unwrap_or_else(|| panic!("the site server never got {what}"))
}

fn commissioning_of(events: &[(StoredEvent, Vec<String>)], epc: &str) -> usize {
    position(events, &format!("the commissioning of {epc}"), |e, epcs| {
        e.event_type == "ObjectEvent"
            && e.biz_step == "commissioning"
            && e.action == "ADD"
            && epcs.iter().any(|x| x == epc)
    })
}

fn packing_into(events: &[(StoredEvent, Vec<String>)], parent: &str) -> usize {
    position(events, &format!("the packing of {parent}"), |e, _| {
        e.event_type == "AggregationEvent"
            && e.action == "ADD"
            && e.biz_step == "packing"
            && e.parent_id.as_deref() == Some(parent)
    })
}

fn unpacking_from(events: &[(StoredEvent, Vec<String>)], parent: &str, epc: &str) -> usize {
    position(
        events,
        &format!("the unpacking of {epc} from {parent}"),
        |e, epcs| {
            e.event_type == "AggregationEvent"
                && e.action == "DELETE"
                && e.biz_step == "unpacking"
                && e.parent_id.as_deref() == Some(parent)
                && epcs.iter().any(|x| x == epc)
        },
    )
}

fn decommissioning_of(events: &[(StoredEvent, Vec<String>)], epc: &str) -> usize {
    position(
        events,
        &format!("the decommissioning of {epc}"),
        |e, epcs| {
            e.event_type == "ObjectEvent"
                && e.biz_step == "decommissioning"
                && e.action == "DELETE"
                && epcs.iter().any(|x| x == epc)
        },
    )
}

/// Every event the site server holds, in the order it stored them, with its EPCs.
fn stored_events(server: &SiteServer) -> Vec<(StoredEvent, Vec<String>)> {
    server.with_records(|r| {
        assert_eq!(r.duplicates_refused().expect("duplicates"), 0);
        r.events()
            .expect("events")
            .into_iter()
            .map(|e| {
                let epcs = r.event_epcs(&e.event_id).expect("epcs");
                (e, epcs)
            })
            .collect()
    })
}

/// Writes each document to `dir` and checks it with the official schema of its
/// format and the GS1 reference event hash, where the tools are present.
fn validate(dir: &Path, wire: Wire, documents: &[EpcisDocument]) {
    let Some(shared) = tools::shared_epcis() else {
        return;
    };
    let mut files = Vec::new();
    for (n, document) in documents.iter().enumerate() {
        let path = dir.join(format!("sent-{n}.{}", document.format.file_extension()));
        std::fs::write(&path, &document.bytes).expect("document written");
        files.push(path);
    }
    match wire {
        Wire::Epcis2Json => {
            if let Some(python) = tools::json_schema_validator() {
                for (file, verdict) in tools::validate_json(&python, &shared, &files) {
                    assert!(
                        verdict.is_ok(),
                        "{} fails the EPCIS 2.0 JSON schema: {verdict:?}",
                        file.display()
                    );
                }
            }
        }
        Wire::Epcis12Xml => {
            if let Some(xmllint) = tools::xmllint() {
                for file in &files {
                    if let Err(why) = tools::validate_xml12(&xmllint, &shared, file) {
                        panic!("{} fails the EPCIS 1.2 XSD: {why}", file.display());
                    }
                }
            }
        }
    }
    if let Some(python) = tools::event_hash_oracle() {
        // The documents of serials alone are covered by `upload_schemas.rs`.
        for (file, document) in files.iter().zip(documents) {
            if !String::from_utf8_lossy(&document.bytes).contains("urn:epc:id:sscc:") {
                continue;
            }
            let ours: Vec<String> = document.events.iter().map(|e| e.event_id.clone()).collect();
            assert_eq!(
                tools::reference_event_hashes(&python, file),
                ours,
                "event IDs of {} differ from the GS1 reference implementation",
                file.display()
            );
        }
    }
}

async fn containers_reach_the_site_server_in_order(wire: Wire) {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = finished_batch(dir.path());
    let packs = commissioned(&db);
    assert!(packs.len() >= CASE_PACKS, "{packs:?}");
    let packs = &packs[..CASE_PACKS];

    // A case of packs on a pallet, as an operator builds them.
    ok(
        &db,
        &[
            "sscc",
            "generate",
            "--client",
            "acme",
            "--company-prefix",
            "9506000",
            "--count",
            "2",
        ],
    );
    let case = open(&db, "case", "pack", CASE_PACKS);
    let mut pack = vec!["container", "pack", case.as_str()];
    let scans: Vec<String> = packs
        .iter()
        .map(|s| format!("(01)09506000134352(21){s}"))
        .collect();
    pack.extend(scans.iter().map(String::as_str));
    ok(&db, &pack);
    finish(&db, &case);
    let pallet = open(&db, "pallet", "case", 1);
    ok(&db, &["container", "pack", &pallet, &format!("(00){case}")]);
    finish(&db, &pallet);

    let server = SiteServer::start(SiteServerConfig::new(dir.path().join("site.sqlite")))
        .await
        .expect("site server starts");
    point_client_at(&db, &server, wire);
    let mut store = Store::open(&db).expect("store opens");
    let mut sender = quick_sender(&store);
    let report = rounds_until_idle(&mut store, &mut sender).await;
    assert_eq!(
        report.container_rows_chunked, 4,
        "two SSCC commissionings and two packings: {report:?}"
    );

    let (case_uri, pallet_uri) = (sscc_uri(&case), sscc_uri(&pallet));
    let pack_uris: Vec<String> = packs.iter().map(|s| sgtin(s)).collect();
    server.with_records(|r| {
        assert_eq!(r.children_of(&case_uri).expect("children"), pack_uris);
        assert_eq!(
            r.children_of(&pallet_uri).expect("children"),
            std::slice::from_ref(&case_uri)
        );
    });
    let stored = stored_events(&server);

    // The case: its packs, then its SSCC, then its packing.
    let packs_commissioned = pack_uris
        .iter()
        .map(|p| commissioning_of(&stored, p))
        .max()
        .expect("packs");
    let case_commissioned = commissioning_of(&stored, &case_uri);
    let case_packed = packing_into(&stored, &case_uri);
    assert!(
        packs_commissioned < case_commissioned && case_commissioned < case_packed,
        "case: packs at {packs_commissioned}, SSCC at {case_commissioned}, packing at {case_packed}"
    );
    // The pallet: its case (commissioned, then packed), then its SSCC, then its packing.
    let pallet_commissioned = commissioning_of(&stored, &pallet_uri);
    let pallet_packed = packing_into(&stored, &pallet_uri);
    assert!(
        case_packed < pallet_commissioned && pallet_commissioned < pallet_packed,
        "pallet: case at {case_commissioned}/{case_packed}, SSCC at {pallet_commissioned}, \
         packing at {pallet_packed}"
    );
    assert_eq!(stored[case_packed].0.disposition, "in_progress");

    // A damaged pack is taken out of the case and decommissioned: the site server
    // learns it left the case before it learns it is decommissioned.
    ok(&db, &["container", "unpack", &case, &scans[0]]);
    let gtin = Gtin::parse("09506000134352").expect("gtin");
    store
        .decommission_serial(
            &gtin,
            &packs[0],
            &DecommissionReason::Other("damaged".to_string()),
            &Actor::new("test-operator"),
        )
        .expect("decommissioned");
    let report = rounds_until_idle(&mut store, &mut sender).await;
    assert_eq!(report.container_rows_chunked, 1, "{report:?}");
    let stored = stored_events(&server);
    let unpacked = unpacking_from(&stored, &case_uri, &pack_uris[0]);
    let decommissioned = decommissioning_of(&stored, &pack_uris[0]);
    assert!(
        pallet_packed < unpacked && unpacked < decommissioned,
        "unpacked at {unpacked}, decommissioned at {decommissioned}"
    );
    server.with_records(|r| {
        assert_eq!(
            r.children_of(&case_uri).expect("children"),
            pack_uris[1..].to_vec()
        );
    });

    // What was sent is what the chunks render: every event once, schema-valid, with
    // the reference implementation's event IDs.
    let documents: Vec<EpcisDocument> = store
        .outbox_entries_of_batch(BatchId(1), "epcis-document")
        .expect("chunks")
        .iter()
        .map(|entry| {
            ChunkPayload::from_stored(&entry.payload)
                .expect("stored chunk")
                .render()
                .expect("chunk renders")
        })
        .collect();
    let mut sent: Vec<String> = documents
        .iter()
        .flat_map(|d| d.events.iter().map(|e| e.event_id.clone()))
        .collect();
    let mut received: Vec<String> = stored.iter().map(|(e, _)| e.event_id.clone()).collect();
    sent.sort();
    received.sort();
    assert_eq!(
        sent, received,
        "the site server has exactly the events sent"
    );
    validate(dir.path(), wire, &documents);
    server.stop().await;
}

#[tokio::test]
async fn containers_reach_an_epcis_2_site_server_in_order_as_valid_json_ld() {
    containers_reach_the_site_server_in_order(Wire::Epcis2Json).await;
}

#[tokio::test]
async fn containers_reach_an_epcis_1_2_site_server_in_order_as_valid_xml() {
    containers_reach_the_site_server_in_order(Wire::Epcis12Xml).await;
}
