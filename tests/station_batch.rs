//! The station runtime on the simulated line: real drivers on real loopback sockets,
//! a real SQLite store, the simulator's ground truth as the judge. Covers both
//! printer protocols and both camera kinds, and devices that disconnect mid-batch.

use std::path::Path;
use std::time::Duration;

use serialstation::config::line::{CameraKind, PrinterKind};
use serialstation::config::{StationConfig, parse_client_config};
use serialstation::demo::invariants::check_invariants;
use serialstation::gs1::Gtin;
use serialstation::pool::{Alphabet, GenerationPlan, SerialOrder};
use serialstation::report::BatchReport;
use serialstation::station::{BatchRequest, Station};
use serialstation::store::{Actor, Store};
use serialstation_simulator::config::{CameraKind as SimCamera, PrinterKind as SimPrinter};
use serialstation_simulator::faults::{FaultKind, FaultSpec};
use serialstation_simulator::{ControlRequest, GroundTruth, SimConfig, Simulator};

const GTIN: &str = "09506000134352";

fn store_with_pool(dir: &Path) -> Store {
    let mut store = Store::open(dir.join("station.sqlite")).expect("store opens");
    let actor = Actor::new("test");
    let report = parse_client_config("acme.toml", include_str!("../config/clients/acme.toml"));
    let config = report.config.expect("example client parses");
    store
        .load_client_config(&config, &actor)
        .expect("client loads");
    let gtin = Gtin::parse(GTIN).expect("gtin");
    store
        .generate_serials(
            &gtin,
            &GenerationPlan {
                count: 2_000,
                order: SerialOrder::Random,
                alphabet: Alphabet::Alphanumeric,
                length: 12,
            },
            &actor,
        )
        .expect("pool generated");
    store
}

fn station_config(
    sim: &serialstation_simulator::RunningSimulator,
    printer: PrinterKind,
    camera: CameraKind,
    rate: f64,
) -> StationConfig {
    let mut config = StationConfig::parse(include_str!("../config/line.toml"), "line.toml")
        .expect("example line config");
    let addresses = sim.addresses();
    config.printer.kind = printer;
    config.printer.address = addresses.printer.to_string();
    config.camera.kind = camera;
    config.camera.address = addresses.camera.to_string();
    config.plc.address = addresses.plc.to_string();
    config.line.rate_per_min = rate;
    config
}

fn request(quantity: u32) -> BatchRequest {
    BatchRequest {
        gtin: Gtin::parse(GTIN).expect("gtin"),
        lot: "ST1".to_string(),
        expiry: "301231".to_string(),
        quantity,
        actor: Actor::new("test"),
        auto_resume: true,
        stall_timeout: Some(Duration::from_secs(30)),
    }
}

fn assert_invariants(
    truth_path: &Path,
    store: &Store,
    batch: serialstation::store::BatchId,
    quantity: u64,
) {
    let report = BatchReport::build(store, batch).expect("report");
    assert_eq!(
        report.serials.commissioned,
        quantity,
        "{}",
        report.to_text()
    );
    let truth = GroundTruth::open(truth_path).expect("ground truth");
    for check in check_invariants(&truth, store, &report).expect("invariants checked") {
        assert!(check.passed, "{}\n{}", check.line(), report.to_text());
    }
}

#[test]
fn a_label_printer_and_an_image_camera_run_a_batch_that_balances() {
    let dir = tempfile::tempdir().expect("temp dir");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let mut sim_config = SimConfig::loopback_any_port(dir.path().join("truth.sqlite"));
        sim_config.printer.kind = SimPrinter::Zpl;
        sim_config.camera.kind = SimCamera::Image;
        sim_config.line.rate_per_min = 600.0;
        let sim = Simulator::start(sim_config)
            .await
            .expect("simulator starts");
        let config = station_config(&sim, PrinterKind::Zpl, CameraKind::Image, 600.0);
        let mut station = Station::connect(config, store_with_pool(dir.path()));
        let outcome = station
            .run_batch(&request(40), |_| {})
            .await
            .expect("batch runs");
        let truth = sim.shutdown().await.expect("ground truth");
        let store = station.into_store();
        assert!(outcome.counts.balances(), "{:?}", outcome.counts);
        assert_invariants(&truth, &store, outcome.batch, 40);

        // Every verdict written to the PLC after a camera readout was timed, and the
        // batch record draws the histogram from what the station stored.
        let bins = store
            .batch_decision_latency(outcome.batch)
            .expect("latency reads");
        let timed: u64 = bins.iter().map(|b| b.items).sum();
        let report = BatchReport::build(&store, outcome.batch).expect("report");
        let verdicts = report.items.good + report.items.rejects_by_reason.values().sum::<u64>();
        assert!(
            (40..=verdicts).contains(&timed),
            "{timed} items timed, {verdicts} verdicts: {bins:?}"
        );
        assert!(
            bins.iter()
                .all(|b| b.max_us >= u64::from(b.lower_ms) * 1000)
        );
        let record = serialstation::report::record::BatchRecord::build(&store, outcome.batch)
            .expect("record");
        assert!(record.latency.recorded, "{:?}", record.latency);
        assert_eq!(
            record.latency.histogram.iter().map(|(_, n)| n).sum::<u64>(),
            timed
        );
    });
}

#[test]
fn the_printer_and_the_camera_disconnecting_mid_batch_lose_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let mut sim_config = SimConfig::loopback_any_port(dir.path().join("truth.sqlite"));
        sim_config.line.rate_per_min = 1_200.0;
        let sim = Simulator::start(sim_config)
            .await
            .expect("simulator starts");
        let control = sim.control();
        let config = station_config(&sim, PrinterKind::Tij, CameraKind::Smart, 1_200.0);
        let mut station = Station::connect(config, store_with_pool(dir.path()));
        let mut phase = 0;
        let outcome = station
            .run_batch(&request(150), |status| {
                let done = status.counts.commissioned;
                if phase == 0 && done >= 30 {
                    phase = 1;
                    for fault in [FaultKind::PrinterDisconnect, FaultKind::CameraDisconnect] {
                        control.apply(ControlRequest::SetFault {
                            fault,
                            spec: FaultSpec {
                                rate: 0.05,
                                ..FaultSpec::default()
                            },
                        });
                    }
                } else if phase == 1 && done >= 60 {
                    phase = 2;
                    control.apply(ControlRequest::ClearFaults);
                }
            })
            .await
            .expect("batch runs");
        let truth = sim.shutdown().await.expect("ground truth");
        let store = station.into_store();
        assert!(outcome.holds >= 1, "a device went away: the batch was held");
        assert_invariants(&truth, &store, outcome.batch, 150);
    });
}
