//! End to end upload: commissioned serials queued as outbox chunks (10,000 EPCs per
//! event, 10 events per document), rendered, sent over loopback to the simulated site
//! server, parsed and stored in its SQLite ground truth. A one-shot run of 1,000,000
//! serials (time and peak RSS) is printed first; criterion then measures 100,000.

use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group};
use serialstation::config::parse_client_config;
use serialstation::gs1::{Gs1Date, Gtin};
use serialstation::store::{Actor, Store};
use serialstation::upload::sender::{
    Backoff, CaptureProtocol, Sender, SiteTarget, chunk_payloads, queue_chunk,
};
use serialstation::upload::{
    ChunkLimits, DocumentFormat, EventKind, EventTemplate, EventTime, LotMasterData, Sgln,
};
use serialstation_simulator::site_server::{SiteServer, SiteServerConfig};

fn store_with_client(dir: &std::path::Path) -> Store {
    let mut store = Store::open(dir.join("station.sqlite")).expect("store opens");
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/clients/acme.toml");
    let text = std::fs::read_to_string(&file).expect("example config present");
    let config = parse_client_config("acme.toml", &text)
        .config
        .expect("valid config");
    store
        .load_client_config(&config, &Actor::new("bench"))
        .expect("config loads");
    store
}

/// Queues and delivers `count` serials; returns the time taken.
fn upload(runtime: &tokio::runtime::Runtime, count: usize, format: DocumentFormat) -> Duration {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = store_with_client(dir.path());
    let gtin = Gtin::parse("09506000134352").expect("valid GTIN");
    let time = EventTime::parse_rfc3339("2026-05-04T13:14:15.678+02:00").expect("valid time");
    let template = EventTemplate {
        kind: EventKind::Commissioning(
            LotMasterData::new("LOT-7", Gs1Date::from_ymd(2027, 6, 30).expect("date"))
                .expect("lot"),
        ),
        event_time: time,
        read_point: Sgln::parse("urn:epc:id:sgln:9506000.00001.0").expect("SGLN"),
        biz_location: Sgln::parse("urn:epc:id:sgln:9506000.00001.0").expect("SGLN"),
    };
    let limits = ChunkLimits {
        max_epcs_per_event: 10_000,
        max_events_per_document: 10,
        max_document_bytes: 64 << 20,
    };
    runtime.block_on(async {
        let server = SiteServer::start(SiteServerConfig::new(dir.path().join("site.sqlite")))
            .await
            .expect("site server starts");
        let path = match format {
            DocumentFormat::Epcis2JsonLd => "/capture",
            DocumentFormat::Epcis12Xml => "/epcis12/capture",
        };
        let protocol = match format {
            DocumentFormat::Epcis2JsonLd => CaptureProtocol::Epcis2Capture,
            DocumentFormat::Epcis12Xml => CaptureProtocol::Epcis12,
        };
        let mut target = SiteTarget::new(
            "acme",
            &format!("{}{path}", server.base_url()),
            protocol,
            None,
            false,
        )
        .expect("target");
        target.poll_interval = Duration::from_millis(1);
        target.backoff = Backoff {
            initial: Duration::from_millis(1),
            max: Duration::from_millis(10),
        };
        let mut sender = Sender::new(vec![target]).expect("sender");
        let started = Instant::now();
        let serials = (0..count).map(|i| format!("{i:012}"));
        for chunk in
            chunk_payloads(format, limits, time, template, &gtin, 7, serials).expect("limits")
        {
            queue_chunk(&mut store, "acme", None, &chunk.expect("chunk")).expect("queued");
        }
        let report = sender.run_until_idle(&mut store).await.expect("sent");
        let elapsed = started.elapsed();
        assert_eq!(report.parked, 0);
        let stored = server.with_records(|r| r.epc_count().expect("count"));
        assert_eq!(stored, count as i64);
        server.stop().await;
        elapsed
    })
}

fn peak_rss_mib() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l.trim_start_matches("VmHWM:").trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn one_million_once() {
    let runtime = runtime();
    for format in [DocumentFormat::Epcis2JsonLd, DocumentFormat::Epcis12Xml] {
        let elapsed = upload(&runtime, 1_000_000, format);
        println!(
            "upload_sender one-shot: 1,000,000 serials as {format:?}: queued, sent and stored in {:.2} s ({:.0} EPCs/s); peak RSS so far {}",
            elapsed.as_secs_f64(),
            1_000_000.0 / elapsed.as_secs_f64(),
            peak_rss_mib()
        );
    }
}

fn bench_upload(c: &mut Criterion) {
    let runtime = runtime();
    let mut group = c.benchmark_group("upload_sender_100k_serials");
    group.sample_size(10);
    group.throughput(Throughput::Elements(100_000));
    group.bench_function("epcis2_capture", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| upload(&runtime, 100_000, DocumentFormat::Epcis2JsonLd))
                .sum()
        })
    });
    group.finish();
}

criterion_group!(benches, bench_upload);

fn main() {
    one_million_once();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
