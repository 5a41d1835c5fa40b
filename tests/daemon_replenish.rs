//! Automatic replenishment end to end: the real daemon runs a batch for a client
//! whose serials come from its site server (the simulated one, on loopback); when
//! the pool falls below the product's low-water mark while the batch runs, the
//! daemon requests more and imports them, and the batch completes with every
//! invariant holding and its events delivered to the same site server.

use std::path::Path;
use std::time::{Duration, Instant};

use serialstation::config::parse_client_config;
use serialstation::control::protocol::Request;
use serialstation::demo::daemon_process::{DaemonProcess, line_config_text};
use serialstation::demo::invariants::{check_invariants, check_upload};
use serialstation::gs1::Gtin;
use serialstation::report::BatchReport;
use serialstation::store::{Actor, BatchId, SerialState, Store};
use serialstation_simulator::site_server::{SiteServer, SiteServerConfig};
use serialstation_simulator::{GroundTruth, SimConfig, Simulator};

const GTIN: &str = "00312345678906";

/// The example nordpharma client, pointed at the test's site server, without auth.
fn client_file(base_url: &str) -> String {
    include_str!("../config/clients/nordpharma.toml")
        .replace("http://127.0.0.1:8081", base_url)
        .replace("auth = \"bearer\"", "auth = \"none\"")
        .replace("token_env = \"NORDPHARMA_EPCIS_TOKEN\"", "")
}

fn pool_total(db: &Path) -> u64 {
    let store = Store::open_existing(db).expect("store");
    let gtin = Gtin::parse(GTIN).expect("gtin");
    store
        .pool_status(Some(&gtin))
        .expect("pool")
        .first()
        .map_or(0, |p| p.total())
}

#[test]
fn the_daemon_tops_up_a_remote_pool_while_a_batch_runs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("station.sqlite");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let site = runtime
        .block_on(SiteServer::start(SiteServerConfig::new(
            dir.path().join("site.sqlite"),
        )))
        .expect("site server");
    let mut sim_config = SimConfig::loopback_any_port(dir.path().join("truth.sqlite"));
    sim_config.simulator.images = false;
    sim_config.line.rate_per_min = 1_200.0;
    let simulator = runtime
        .block_on(Simulator::start(sim_config))
        .expect("line");

    // The client's pool starts with a few serials from its site server, below the
    // product's low-water mark of 5,000.
    let actor = Actor::new("test");
    let mut store = Store::open(&db).expect("store");
    let report = parse_client_config("nordpharma.toml", &client_file(&site.base_url()));
    let config = report.config.expect("the client file parses");
    store.load_client_config(&config, &actor).expect("loaded");
    let client = store.client("nordpharma").expect("read").expect("client");
    let gtin = Gtin::parse(GTIN).expect("gtin");
    let first = runtime
        .block_on(serialstation::pool::request::request_serials(
            &mut store, &client, &gtin, 300, &actor,
        ))
        .expect("first serials");
    assert_eq!(first.imported, 300);
    drop(store);

    let addresses = simulator.addresses().clone();
    let line = dir.path().join("line.toml");
    std::fs::write(
        &line,
        line_config_text(
            include_str!("../config/line.toml"),
            &addresses.printer.to_string(),
            &addresses.camera.to_string(),
            &addresses.plc.to_string(),
            addresses.plc_unit_id,
            1_200.0,
        ),
    )
    .expect("line.toml");
    let daemon = DaemonProcess::start(
        Path::new(env!("CARGO_BIN_EXE_serialstation")),
        &db,
        &line,
        &dir.path().join("daemon.log"),
    )
    .expect("daemon starts");
    let log = || std::fs::read_to_string(dir.path().join("daemon.log")).unwrap_or_default();

    let started = daemon
        .expect_ok(&Request::BatchStart {
            gtin: GTIN.to_string(),
            lot: "N1".to_string(),
            expiry: "301231".to_string(),
            quantity: 120,
            client: Some("nordpharma".to_string()),
            challenge: 0,
        })
        .expect("batch starts");
    let batch = BatchId(started.batch.expect("batch number"));

    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let status = daemon.status().expect("status");
        let view = status.batch.expect("the batch");
        if view.is_stopped() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the batch did not finish\n{}",
            log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        pool_total(&db) > 300,
        "the pool was topped up from the site server\n{}",
        log()
    );
    daemon
        .expect_ok(&Request::BatchClose {
            batch: Some(batch.0),
            reason: None,
            signature: None,
        })
        .expect("closes balanced");

    // Everything reaches the site server.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let store = Store::open_existing(&db).expect("store");
        let waiting = store.outbox_undelivered(None).expect("outbox");
        if waiting == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{waiting} outbox rows not delivered\n{}",
            log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    daemon.shutdown().expect("the daemon stops");
    let truth = runtime
        .block_on(simulator.shutdown())
        .expect("ground truth");

    let store = Store::open_existing(&db).expect("store");
    let report = BatchReport::build(&store, batch).expect("report");
    assert_eq!(report.serials.commissioned, 120, "{}", report.to_text());
    let truth = GroundTruth::open(&truth).expect("ground truth");
    let mut checks = check_invariants(&truth, &store, &report).expect("judged");
    checks.push(
        site.with_records(|records| check_upload(records, &store))
            .expect("judged"),
    );
    for check in &checks {
        assert!(check.passed, "{}\n{}", check.line(), log());
    }
    let pool = store.pool_status(Some(&gtin)).expect("pool");
    assert!(
        pool[0].count(SerialState::Unallocated) >= 5_000 - 120,
        "{pool:?}"
    );
    runtime.block_on(site.stop());
}
