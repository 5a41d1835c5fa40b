//! A 1,000-case batch's hierarchy reaching the simulated site server: 12,000
//! commissioned packs in 1,000 cases of 12 on 250 pallets of 4 (the example
//! client's hierarchy), every container verified in the store; then the uploader
//! (`upload::service::upload_round` until idle) sends the SSCC commissioning
//! ObjectEvents and the AggregationEvents over loopback to the simulated site
//! server, which parses and stores them. One-shot, in both document formats:
//!
//! - the hierarchy alone (the packs' commissioning already delivered, as it is
//!   while a line runs), the issue's figure;
//! - the whole batch at once (packs, SSCCs and aggregation), for comparison.
//!
//! ```text
//! cargo bench --bench aggregation_upload
//! ```

use std::time::{Duration, Instant};

use serialstation::aggregation::{Level, Scanned};
use serialstation::config::parse_client_config;
use serialstation::gs1::{Gtin, Sscc};
use serialstation::pool::{Alphabet, GenerationPlan, SerialOrder};
use serialstation::store::line_records::{LineBatch, LineRecord, SerialOutcome};
use serialstation::store::{Actor, NewBatch, Store};
use serialstation::upload::DocumentFormat;
use serialstation::upload::sender::{Backoff, Sender, SiteTarget};
use serialstation::upload::service::upload_round;
use serialstation_simulator::site_server::{SiteServer, SiteServerConfig};

const GTIN: &str = "09506000134352";
const CASES: usize = 1_000;
const PER_CASE: usize = 12;
const PER_PALLET: usize = 4;

fn client_text(base_url: &str, format: DocumentFormat) -> String {
    let text = include_str!("../config/clients/acme.toml");
    let (format_name, protocol, path) = match format {
        DocumentFormat::Epcis2JsonLd => ("epcis2-jsonld", "epcis2-capture", "/capture"),
        DocumentFormat::Epcis12Xml => ("epcis1.2-xml", "epcis12", "/epcis12/capture"),
    };
    text.replace(
        "http://127.0.0.1:8080/capture",
        &format!("{base_url}{path}"),
    )
    .replace(
        "format = \"epcis2-jsonld\"",
        &format!("format = \"{format_name}\""),
    )
    .replace(
        "protocol = \"epcis2-capture\"",
        &format!("protocol = \"{protocol}\""),
    )
}

/// The example client, a pool, SSCCs and a batch whose `CASES × PER_CASE` packs
/// are commissioned (as the line records them).
fn commissioned_batch(store: &mut Store, text: &str) -> (LineBatch, Vec<String>) {
    let actor = Actor::new("bench");
    let config = parse_client_config("acme.toml", text)
        .config
        .expect("client parses");
    store.load_client_config(&config, &actor).expect("load");
    let gtin = Gtin::parse(GTIN).expect("gtin");
    let packs = CASES * PER_CASE;
    let plan = GenerationPlan {
        count: packs as u64,
        order: SerialOrder::Random,
        alphabet: Alphabet::Alphanumeric,
        length: 12,
    };
    store.generate_serials(&gtin, &plan, &actor).expect("pool");
    store
        .generate_ssccs(
            "acme",
            0,
            "9506000",
            (CASES + CASES / PER_PALLET) as u64,
            &actor,
        )
        .expect("ssccs");
    let batch = store
        .create_batch(
            &NewBatch {
                gtin: gtin.clone(),
                lot: "B1".to_string(),
                expiry: "301231".to_string(),
                quantity: packs as u64,
            },
            &actor,
        )
        .expect("batch");
    let line = LineBatch {
        batch,
        gtin: gtin.clone(),
        client_id: "acme".to_string(),
        lot: "B1".to_string(),
        expiry: "301231".to_string(),
    };
    let serials: Vec<String> = store
        .allocate_block(batch, &gtin, packs, &actor)
        .expect("allocate")
        .into_iter()
        .map(|s| s.serial)
        .collect();
    for (block, chunk) in serials.chunks(1_000).enumerate() {
        let mut records = Vec::new();
        for (i, serial) in chunk.iter().enumerate() {
            let n = (block * 1_000 + i + 1) as u64;
            let outcome = |outcome| LineRecord::Serial {
                serial: serial.clone(),
                outcome,
                detail: "bench".to_string(),
            };
            records.push(LineRecord::PrintQueued {
                message_id: n,
                serial: serial.clone(),
            });
            records.push(outcome(SerialOutcome::Encoded));
            records.push(LineRecord::ItemVerdict {
                seq: n as u32,
                good: true,
                reason: None,
                serial: Some(serial.clone()),
                grade: Some(4.0),
            });
            records.push(LineRecord::ItemFate {
                seq: n as u32,
                fate: "exited_good".to_string(),
                serial: Some(serial.clone()),
            });
            records.push(outcome(SerialOutcome::Commissioned));
        }
        store
            .apply_line_records(&line, &records, &actor)
            .expect("commissioned");
    }
    (line, serials)
}

/// Packs every pack into cases and every case onto pallets, each verified.
fn aggregate(store: &mut Store, line: &LineBatch, serials: &[String]) {
    let actor = Actor::new("bench");
    let gtin = Gtin::parse(GTIN).expect("gtin");
    let verified =
        |store: &mut Store, level: Level, holds: Level, capacity: usize, children: Vec<Scanned>| {
            let container = store
                .open_container(line.batch, level, holds, capacity as u64, &actor)
                .expect("open");
            let sscc = Sscc::parse(&container.sscc).expect("sscc");
            store.pack(&sscc, &children, &actor).expect("pack");
            store.close_container(&sscc, false, &actor).expect("close");
            store
                .container_label_printed(&sscc, "bench", &actor)
                .expect("label");
            store
                .container_label_verified(&sscc, &container.sscc, &actor)
                .expect("verify");
            sscc
        };
    let mut cases = Vec::with_capacity(CASES);
    for chunk in serials.chunks(PER_CASE) {
        let packs = chunk
            .iter()
            .map(|serial| Scanned::Pack {
                gtin: gtin.clone(),
                serial: serial.clone(),
            })
            .collect();
        cases.push(verified(store, Level::Case, Level::Pack, PER_CASE, packs));
    }
    for chunk in cases.chunks(PER_PALLET) {
        let children = chunk.iter().cloned().map(Scanned::Container).collect();
        verified(store, Level::Pallet, Level::Case, PER_PALLET, children);
    }
}

fn sender(store: &Store) -> Sender {
    let targets = store
        .clients()
        .expect("clients")
        .iter()
        .map(|c| {
            let mut target = SiteTarget::from_client_config(&c.id, &c.upload).expect("target");
            target.poll_interval = Duration::from_millis(1);
            target.backoff = Backoff {
                initial: Duration::from_millis(1),
                max: Duration::from_millis(10),
            };
            target
        })
        .collect();
    Sender::new(targets).expect("sender")
}

/// Upload rounds until the outbox is idle; the time it took.
async fn deliver(store: &mut Store) -> Duration {
    let mut sender = sender(store);
    let started = Instant::now();
    loop {
        let report = upload_round(store, &mut sender, false)
            .await
            .expect("upload round");
        assert_eq!(report.parked, 0, "{report:?}");
        assert!(report.problems.is_empty(), "{report:?}");
        let idle = store
            .outbox_status()
            .expect("status")
            .iter()
            .all(|s| s.pending + s.in_flight == 0)
            && store.waiting_serials().expect("waiting").is_empty();
        if idle {
            return started.elapsed();
        }
        if let Some(due) = sender.next_due() {
            tokio::time::sleep_until(due.into()).await;
        }
    }
}

/// Runs one upload of a 1,000-case batch in `format`; `hierarchy_only`: the packs'
/// commissioning is delivered first, untimed. Returns the time and what the site
/// server then holds (AggregationEvents, SSCC ObjectEvents' EPCs).
fn run(
    runtime: &tokio::runtime::Runtime,
    format: DocumentFormat,
    hierarchy_only: bool,
) -> (Duration, usize, usize) {
    let dir = tempfile::tempdir().expect("temp dir");
    runtime.block_on(async {
        let server = SiteServer::start(SiteServerConfig::new(dir.path().join("site.sqlite")))
            .await
            .expect("site server starts");
        let mut store = Store::open(dir.path().join("station.sqlite")).expect("store");
        let (line, serials) =
            commissioned_batch(&mut store, &client_text(&server.base_url(), format));
        if hierarchy_only {
            deliver(&mut store).await;
        }
        aggregate(&mut store, &line, &serials);
        let took = deliver(&mut store).await;
        let events = server.with_records(|r| r.events().expect("events"));
        let aggregations = events
            .iter()
            .filter(|e| e.event_type == "AggregationEvent")
            .count();
        let sscc_epcs = events
            .iter()
            .filter(|e| e.event_type == "ObjectEvent" && e.biz_step.contains("commissioning"))
            .map(|e| e.epc_count as usize)
            .sum::<usize>()
            - CASES * PER_CASE;
        server.stop().await;
        (took, aggregations, sscc_epcs)
    })
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        println!("aggregation_upload: benchmark");
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let pallets = CASES / PER_PALLET;
    println!(
        "{CASES} cases of {PER_CASE} packs on {pallets} pallets of {PER_PALLET}, to the simulated site server over loopback"
    );
    for format in [DocumentFormat::Epcis2JsonLd, DocumentFormat::Epcis12Xml] {
        for hierarchy_only in [true, false] {
            let (took, aggregations, sscc_epcs) = run(&runtime, format, hierarchy_only);
            assert_eq!(
                aggregations,
                CASES + pallets,
                "one AggregationEvent per container"
            );
            assert_eq!(sscc_epcs, CASES + pallets, "every SSCC commissioned");
            println!(
                "{format:?}, {}: {:.0} ms ({aggregations} AggregationEvents, {sscc_epcs} SSCCs commissioned)",
                if hierarchy_only {
                    "the hierarchy (packs delivered before)"
                } else {
                    "the whole batch (12,000 packs, SSCCs, hierarchy)"
                },
                took.as_secs_f64() * 1e3
            );
        }
    }
}
