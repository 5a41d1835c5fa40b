//! End to end upload, as the station runs it: per-serial outbox rows of a stopped
//! batch (as the line writes them) are turned into EPCIS chunks by the chunker
//! (10,000 EPCs per event, 10 events per document), rendered, sent over loopback to
//! the simulated site server, parsed and stored in its SQLite ground truth
//! (`upload::service::upload_round` until idle).
//!
//! A one-shot run of 1,000,000 serials per format is printed first: the time of
//! chunking + sending, and the peak RSS of the process during it (the peak is reset
//! after the rows are written, so it measures the chunker, sender and in-process
//! site server, not the set-up). `UPLOAD_SENDER_BEFORE=1` also runs the earlier
//! pipeline (every chunk queued first, then sent, store page cache at the store's
//! default) for comparison. Criterion then measures 100,000 serials.

use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group};
use serialstation::config::parse_client_config;
use serialstation::gs1::{Gs1Date, Gtin};
use serialstation::store::{Actor, BatchId, NewBatch, Store};
use serialstation::upload::sender::{
    Backoff, CaptureProtocol, Sender, SiteTarget, chunk_payloads, queue_chunk,
};
use serialstation::upload::service::{UploaderOptions, upload_round};
use serialstation::upload::{
    ChunkLimits, DocumentFormat, EventKind, EventTemplate, EventTime, LotMasterData, Sgln,
};
use serialstation_simulator::site_server::{SiteServer, SiteServerConfig};

const GTIN: &str = "09506000134352";

/// The example client `acme` sending `format` to `base_url`, 10 events of 10,000
/// EPCs per document.
fn client_text(base_url: &str, format: DocumentFormat) -> String {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/clients/acme.toml");
    let text = std::fs::read_to_string(&file).expect("example config present");
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
    .replace(
        "max_events_per_document = 10000",
        "max_events_per_document = 10",
    )
    .replace(
        "max_document_bytes = 16777216",
        "max_document_bytes = 67108864",
    )
}

fn store_with_client(path: &Path, client: &str) -> (Store, BatchId) {
    let mut store = Store::open(path).expect("store opens");
    let config = parse_client_config("acme.toml", client)
        .config
        .expect("valid config");
    let actor = Actor::new("bench");
    store
        .load_client_config(&config, &actor)
        .expect("config loads");
    let batch = store
        .create_batch(
            &NewBatch {
                gtin: Gtin::parse(GTIN).expect("GTIN"),
                lot: "LOT-7".to_string(),
                expiry: "281231".to_string(),
                quantity: 1,
            },
            &actor,
        )
        .expect("batch");
    (store, batch)
}

/// Writes `count` per-serial `commissioned` rows for a stopped batch, in the form
/// the line writes them (one transaction here; the line writes them as it goes).
fn write_serial_rows(store: &Store, batch: BatchId, count: usize) {
    let conn = store.raw_connection();
    conn.execute_batch("BEGIN IMMEDIATE").expect("begin");
    {
        let mut insert = conn
            .prepare(
                "INSERT INTO outbox (client_id, kind, batch_id, payload, state, created_at, updated_at)
                 VALUES ('acme', 'commissioned', ?1, ?2, 'pending', ?3, ?3)",
            )
            .expect("insert");
        let now = serialstation::store::clock::now();
        for i in 0..count {
            let payload = format!(
                r#"{{"event":"commissioned","gtin":"{GTIN}","serial":"{i:012}","lot":"LOT-7","expiry":"281231","batch":{}}}"#,
                batch.0
            );
            insert
                .execute((batch.0, payload.as_str(), now.as_str()))
                .expect("row");
        }
        conn.execute(
            "UPDATE batches SET state = 'stopped' WHERE id = ?1",
            [batch.0],
        )
        .expect("stop");
    }
    conn.execute_batch("COMMIT").expect("commit");
}

fn quick_sender(store: &Store) -> Sender {
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

/// Chunks and delivers `count` serials; returns the time taken.
fn upload(runtime: &tokio::runtime::Runtime, count: usize, format: DocumentFormat) -> Duration {
    let dir = tempfile::tempdir().expect("temp dir");
    runtime.block_on(async {
        let server = SiteServer::start(SiteServerConfig::new(dir.path().join("site.sqlite")))
            .await
            .expect("site server starts");
        let db = dir.path().join("station.sqlite");
        let (store, batch) = store_with_client(&db, &client_text(&server.base_url(), format));
        store
            .set_page_cache_kib(UploaderOptions::default().page_cache_kib)
            .expect("cache");
        write_serial_rows(&store, batch, count);
        drop(store);
        reset_peak_rss();
        if std::env::var_os("UPLOAD_SENDER_PHASES").is_some() {
            println!("  rows written; RSS now {}", rss("VmRSS:"));
        }
        // The uploader's own connection, as the daemon opens it.
        let mut store = Store::open(&db).expect("store opens");
        store
            .set_page_cache_kib(UploaderOptions::default().page_cache_kib)
            .expect("cache");
        let mut sender = quick_sender(&store);
        let started = Instant::now();
        let cpu_started = cpu_seconds();
        if std::env::var_os("UPLOAD_SENDER_PHASES").is_some() {
            let client = store.clients().expect("clients").remove(0);
            let settings = serialstation::upload::outbox_chunks::ClientChunking::from_client(
                &client,
                Default::default(),
            )
            .expect("settings");
            let done = serialstation::upload::outbox_chunks::chunk_client(&mut store, &settings, false)
                .expect("chunked");
            println!(
                "  chunking {} serials into {} chunks: {:.2} s wall, {:.2} s CPU, RSS now {}, peak {}",
                done.rows,
                done.chunks,
                started.elapsed().as_secs_f64(),
                cpu_seconds() - cpu_started,
                rss("VmRSS:"),
                rss("VmHWM:")
            );
        }
        loop {
            let report = upload_round(&mut store, &mut sender, false)
                .await
                .expect("round");
            assert_eq!(report.parked, 0, "{report:?}");
            assert!(report.problems.is_empty(), "{report:?}");
            let idle = store
                .outbox_status()
                .expect("status")
                .iter()
                .all(|s| s.pending + s.in_flight == 0)
                && store.waiting_serials().expect("waiting").is_empty();
            if idle {
                break;
            }
            if let Some(due) = sender.next_due() {
                tokio::time::sleep_until(due.into()).await;
            }
        }
        let elapsed = started.elapsed();
        if std::env::var_os("UPLOAD_SENDER_PHASES").is_some() {
            println!(
                "  chunking and sending: {:.2} s wall, {:.2} s CPU (every thread, site server included)",
                elapsed.as_secs_f64(),
                cpu_seconds() - cpu_started
            );
        }
        let stored = server.with_records(|r| r.epc_count().expect("count"));
        assert_eq!(stored, count as i64);
        server.stop().await;
        elapsed
    })
}

/// The earlier pipeline: every chunk built and queued first, then sent.
fn upload_pre_chunked(
    runtime: &tokio::runtime::Runtime,
    count: usize,
    format: DocumentFormat,
) -> Duration {
    let dir = tempfile::tempdir().expect("temp dir");
    runtime.block_on(async {
        let server = SiteServer::start(SiteServerConfig::new(dir.path().join("site.sqlite")))
            .await
            .expect("site server starts");
        let db = dir.path().join("station.sqlite");
        let (mut store, _) = store_with_client(&db, &client_text(&server.base_url(), format));
        reset_peak_rss();
        let gtin = Gtin::parse(GTIN).expect("valid GTIN");
        let time = EventTime::parse_rfc3339("2026-05-04T13:14:15.678+02:00").expect("time");
        let template = EventTemplate {
            kind: EventKind::Commissioning(
                LotMasterData::new("LOT-7", Gs1Date::from_ymd(2028, 12, 31).expect("date"))
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
        let mut target = SiteTarget::new(
            "acme",
            &format!(
                "{}{}",
                server.base_url(),
                match format {
                    DocumentFormat::Epcis2JsonLd => "/capture",
                    DocumentFormat::Epcis12Xml => "/epcis12/capture",
                }
            ),
            match format {
                DocumentFormat::Epcis2JsonLd => CaptureProtocol::Epcis2Capture,
                DocumentFormat::Epcis12Xml => CaptureProtocol::Epcis12,
            },
            None,
            false,
        )
        .expect("target");
        target.poll_interval = Duration::from_millis(1);
        let mut sender = Sender::new(vec![target]).expect("sender");
        let started = Instant::now();
        let cpu_started = cpu_seconds();
        let serials = (0..count).map(|i| format!("{i:012}"));
        for chunk in
            chunk_payloads(format, limits, time, template, &gtin, 7, serials).expect("limits")
        {
            queue_chunk(&mut store, "acme", None, &chunk.expect("chunk")).expect("queued");
        }
        let report = sender.run_until_idle(&mut store).await.expect("sent");
        let elapsed = started.elapsed();
        println!(
            "  queueing and sending: {:.2} s CPU (every thread, site server included)",
            cpu_seconds() - cpu_started
        );
        assert_eq!(report.parked, 0);
        assert_eq!(
            server.with_records(|r| r.epc_count().expect("count")),
            count as i64
        );
        server.stop().await;
        elapsed
    })
}

/// CPU time (user + system) of the whole process so far, all threads (Linux).
fn cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|stat| {
            let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
            let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok());
            // utime and stime are fields 14 and 15 of the line, in 1/100 s.
            Some((ticks(11)? + ticks(12)?) / 100.0)
        })
        .unwrap_or(0.0)
}

/// Resets the kernel's peak RSS of this process to its current RSS.
fn reset_peak_rss() {
    // Linux only; elsewhere the peak covers the whole run.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn peak_rss() -> String {
    rss("VmHWM:")
}

/// A line of /proc/self/status (`VmRSS:` now, `VmHWM:` peak).
fn rss(field: &str) -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .map(|l| l.trim_start_matches(field).trim().to_string())
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
    // A tenth first: memory is flat when the peak does not grow with the count.
    let elapsed = upload(&runtime, 100_000, DocumentFormat::Epcis2JsonLd);
    println!(
        "upload_sender one-shot: 100,000 serials as Epcis2JsonLd: chunked, sent and stored in {:.2} s; peak RSS during it {}",
        elapsed.as_secs_f64(),
        peak_rss()
    );
    for format in [DocumentFormat::Epcis2JsonLd, DocumentFormat::Epcis12Xml] {
        let elapsed = upload(&runtime, 1_000_000, format);
        println!(
            "upload_sender one-shot: 1,000,000 serials as {format:?}: chunked, sent and stored in {:.2} s ({:.0} EPCs/s); peak RSS during it {}",
            elapsed.as_secs_f64(),
            1_000_000.0 / elapsed.as_secs_f64(),
            peak_rss()
        );
    }
    if std::env::var_os("UPLOAD_SENDER_BEFORE").is_some() {
        for format in [DocumentFormat::Epcis2JsonLd, DocumentFormat::Epcis12Xml] {
            let elapsed = upload_pre_chunked(&runtime, 1_000_000, format);
            println!(
                "upload_sender one-shot, earlier pipeline: 1,000,000 serials as {format:?}: queued, sent and stored in {:.2} s; peak RSS during it {}",
                elapsed.as_secs_f64(),
                peak_rss()
            );
        }
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
