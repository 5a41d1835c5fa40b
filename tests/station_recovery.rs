//! Start-up recovery on the simulated line: a batch run by the real station runtime is
//! cut off at different instants (its future dropped, as if the process were killed),
//! the store is reopened, freshly connected drivers recover the batch, and then the
//! line runs another batch. The simulator's ground truth judges: no serial printed
//! twice, every good exit commissioned exactly once, every rejected item used up.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serialstation::config::line::{CameraKind, PrinterKind};
use serialstation::config::{StationConfig, parse_client_config};
use serialstation::demo::invariants::check_invariants;
use serialstation::gs1::Gtin;
use serialstation::pool::{Alphabet, GenerationPlan, SerialOrder};
use serialstation::report::BatchReport;
use serialstation::station::devices::connect;
use serialstation::station::recovery::{
    RecoveryError, RecoveryOptions, recover_batch, recover_batch_with, unfinished_batches,
};
use serialstation::station::{BatchRequest, Station};
use serialstation::store::line_records::{LineBatch, LineRecord, SerialOutcome};
use serialstation::store::{Actor, NewBatch, SerialState, Store};
use serialstation_simulator::faults::{FaultKind, FaultSpec};
use serialstation_simulator::{
    ControlRequest, GroundTruth, RunningSimulator, SimConfig, Simulator,
};
use tokio::sync::Notify;

const GTIN: &str = "09506000134352";

fn prepare_store(path: &Path) {
    let mut store = Store::open(path).expect("store opens");
    let actor = Actor::new("test");
    let report = parse_client_config("acme.toml", include_str!("../config/clients/acme.toml"));
    let config = report.config.expect("example client parses");
    store
        .load_client_config(&config, &actor)
        .expect("client loads");
    store
        .generate_serials(
            &Gtin::parse(GTIN).expect("gtin"),
            &GenerationPlan {
                count: 2_000,
                order: SerialOrder::Random,
                alphabet: Alphabet::Alphanumeric,
                length: 12,
            },
            &actor,
        )
        .expect("pool generated");
}

fn station_config(sim: &RunningSimulator, rate: f64) -> StationConfig {
    let mut config = StationConfig::parse(include_str!("../config/line.toml"), "line.toml")
        .expect("example line config");
    let addresses = sim.addresses();
    config.printer.kind = PrinterKind::Tij;
    config.printer.address = addresses.printer.to_string();
    config.camera.kind = CameraKind::Smart;
    config.camera.address = addresses.camera.to_string();
    config.plc.address = addresses.plc.to_string();
    config.line.rate_per_min = rate;
    config
}

fn request(lot: &str, quantity: u32) -> BatchRequest {
    BatchRequest {
        gtin: Gtin::parse(GTIN).expect("gtin"),
        lot: lot.to_string(),
        expiry: "301231".to_string(),
        quantity,
        actor: Actor::new("test"),
        auto_resume: true,
        stall_timeout: Some(Duration::from_secs(30)),
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// Outbox events of one batch, by serial.
fn outbox_by_serial(store: &Store, batch: i64) -> BTreeMap<String, Vec<String>> {
    let conn = store.raw_connection();
    let mut stmt = conn
        .prepare("SELECT kind, payload FROM outbox WHERE batch_id = ?1")
        .expect("outbox query");
    let rows = stmt
        .query_map([batch], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })
        .expect("outbox rows");
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for row in rows {
        let (kind, payload) = row.expect("outbox row");
        let value: serde_json::Value = serde_json::from_str(&payload).expect("payload is JSON");
        let serial = value["serial"].as_str().expect("serial").to_string();
        out.entry(serial).or_default().push(kind);
    }
    out
}

fn returned_serials(store: &Store, batch: i64) -> Vec<String> {
    let conn = store.raw_connection();
    let mut stmt = conn
        .prepare(
            "SELECT s.serial FROM serial_returns r JOIN serials s ON s.id = r.serial_id WHERE r.batch_id = ?1",
        )
        .expect("returns query");
    stmt.query_map([batch], |r| r.get::<_, String>(0))
        .expect("returns")
        .map(|r| r.expect("return row"))
        .collect()
}

/// Prints what the ground truth and the store say about every printed item, for a
/// failing check.
fn explain(truth: &GroundTruth, store: &Store, recovery: &str) {
    eprintln!("recovery: {recovery}");
    let conn = store.raw_connection();
    for item in truth.items().expect("ground truth items") {
        let Some(serial) = item.serial() else {
            continue;
        };
        let state: Option<i64> = conn
            .query_row(
                "SELECT state FROM serials WHERE serial = ?1",
                [serial],
                |r| r.get(0),
            )
            .ok();
        let mut stmt = conn
            .prepare(
                "SELECT batch_id, seq, verdict, reason, fate FROM items WHERE serial_text = ?1",
            )
            .expect("items query");
        let rows: Vec<String> = stmt
            .query_map([serial], |r| {
                Ok(format!(
                    "batch {} seq {} verdict {:?} reason {:?} fate {:?}",
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, Option<String>>(4)?
                ))
            })
            .expect("items")
            .map(|r| r.expect("item row"))
            .collect();
        eprintln!(
            "seq {} serial {serial}: verdict held {:?}, exit {:?}; store state {state:?}, items {rows:?}",
            item.seq, item.verdict_held, item.exit
        );
    }
}

/// Runs a batch and drops it once `kill_at` items are commissioned plus `extra`.
async fn run_and_kill(config: &StationConfig, db: &Path, kill_at: u64, extra: Duration) {
    let store = Store::open(db).expect("store opens");
    let mut station = Station::connect(config.clone(), store);
    let notify = Arc::new(Notify::new());
    let signal = notify.clone();
    let mut fired = false;
    let batch_request = request("CRASH1", 80);
    let run = station.run_batch(&batch_request, move |status| {
        if !fired && status.counts.commissioned >= kill_at {
            fired = true;
            signal.notify_one();
        }
    });
    tokio::select! {
        outcome = run => panic!("the batch ended before it was cut off: {outcome:?}"),
        _ = async {
            notify.notified().await;
            tokio::time::sleep(extra).await;
        } => {}
    }
    // The process is gone: drivers, engine and the store connection with it.
    drop(station);
}

/// Which faults the simulated line injects.
#[derive(Debug, Clone, Copy)]
enum Faults {
    None,
    /// No-reads and skipped prints.
    Rejects,
    /// Wrong data and print defects (a doubled print would break invariant 1 by
    /// itself: the simulated printer repeats a message on its own).
    BadPrints,
}

/// Kill mid-batch, recover, run the line again, judge by the ground truth.
fn crash_recover_and_continue(kill_at: u64, extra: Duration, faults: Faults) {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("station.sqlite");
    prepare_store(&db);
    runtime().block_on(async {
        let mut sim_config = SimConfig::loopback_any_port(dir.path().join("truth.sqlite"));
        sim_config.line.rate_per_min = 1_200.0;
        let sim = Simulator::start(sim_config)
            .await
            .expect("simulator starts");
        let faults = match faults {
            Faults::None => Vec::new(),
            Faults::Rejects => vec![
                (FaultKind::CameraNoRead, 0.05),
                (FaultKind::SkippedPrint, 0.03),
            ],
            Faults::BadPrints => vec![(FaultKind::WrongData, 0.04), (FaultKind::PrintDefect, 0.05)],
        };
        for (fault, rate) in faults {
            sim.control().apply(ControlRequest::SetFault {
                fault,
                spec: FaultSpec {
                    rate,
                    ..FaultSpec::default()
                },
            });
        }
        let config = station_config(&sim, 1_200.0);

        run_and_kill(&config, &db, kill_at, extra).await;

        // Restart: the store as the killed process left it.
        let mut store = Store::open(&db).expect("store reopens");
        let unfinished = unfinished_batches(&store).expect("unfinished batches");
        assert_eq!(unfinished.len(), 1, "{unfinished:?}");
        let (line, state) = unfinished.into_iter().next().expect("one batch");
        assert_ne!(state, "closed");
        let before = store.batch_serial_counts(line.batch).expect("counts");

        let (devices, mut events) = connect(&config);
        let drain = tokio::spawn(async move { while events.recv().await.is_some() {} });
        let actor = Actor::new("recovery");
        let started = std::time::Instant::now();
        let report = recover_batch(
            &mut store,
            &line,
            devices.printer.as_ref(),
            devices.plc.as_ref(),
            &actor,
        )
        .await
        .expect("the batch recovers");
        eprintln!("{} (in {:?})", report.summary(), started.elapsed());
        let counts = report.counts;
        let recovery_summary = format!(
            "{}\nalerts: {:?}\nnotes: {:?}",
            report.summary(),
            report.alerts,
            report.notes
        );
        assert_eq!(counts.outstanding, 0, "{}", report.summary());
        assert!(report.reconciliation().balances(), "{}", report.summary());
        assert_eq!(counts.allocated, before.allocated, "{}", report.summary());
        let t = report.tally;
        assert_eq!(
            t.returned + t.invalidated + t.commissioned + t.scrapped,
            before.outstanding,
            "every outstanding serial settled once: {}",
            report.summary()
        );

        // Running recovery again changes nothing in the store.
        let again = recover_batch(
            &mut store,
            &line,
            devices.printer.as_ref(),
            devices.plc.as_ref(),
            &actor,
        )
        .await
        .expect("a recovered batch recovers again");
        assert_eq!(again.counts, counts);
        assert_eq!(
            again.tally.returned
                + again.tally.invalidated
                + again.tally.commissioned
                + again.tally.scrapped,
            0
        );
        drop(devices);
        let _ = drain.await;

        // No serial in two terminal states; a returned serial was never reported.
        let outbox = outbox_by_serial(&store, line.batch.0);
        for (serial, kinds) in &outbox {
            assert_eq!(kinds.len(), 1, "{serial}: {kinds:?}");
        }
        for serial in returned_serials(&store, line.batch.0) {
            assert!(
                !outbox.contains_key(&serial),
                "{serial} returned and reported"
            );
        }
        drop(store);

        // The line runs again (returned serials go out first) and the batch closes.
        let store = Store::open(&db).expect("store reopens");
        let mut station = Station::connect(config.clone(), store);
        let outcome = station
            .run_batch(&request("AFTER1", 20), |_| {})
            .await
            .expect("the next batch runs");
        let store = station.into_store();
        let truth_path = sim.shutdown().await.expect("ground truth");
        let truth = GroundTruth::open(&truth_path).expect("ground truth opens");
        let report = BatchReport::build(&store, outcome.batch).expect("report");
        for check in check_invariants(&truth, &store, &report).expect("invariants checked") {
            if !check.passed {
                explain(&truth, &store, &recovery_summary);
            }
            assert!(check.passed, "{}\n{}", check.line(), report.to_text());
        }
    });
}

#[test]
fn killed_right_after_the_start_the_batch_recovers_and_the_line_goes_on() {
    crash_recover_and_continue(0, Duration::ZERO, Faults::None);
}

#[test]
fn killed_mid_batch_the_batch_recovers_and_the_line_goes_on() {
    crash_recover_and_continue(7, Duration::from_millis(35), Faults::None);
    crash_recover_and_continue(3, Duration::from_millis(110), Faults::None);
}

#[test]
fn killed_mid_batch_with_rejects_the_batch_recovers_and_the_line_goes_on() {
    crash_recover_and_continue(15, Duration::from_millis(170), Faults::Rejects);
    crash_recover_and_continue(9, Duration::from_millis(5), Faults::Rejects);
}

#[test]
fn killed_mid_batch_with_bad_prints_the_batch_recovers_and_the_line_goes_on() {
    crash_recover_and_continue(12, Duration::from_millis(60), Faults::BadPrints);
}

/// A batch with allocated serials, some queued to the printer, as a killed station
/// leaves it when it dies between allocating and printing.
fn batch_with_queued_serials(store: &mut Store) -> (LineBatch, Vec<String>, u64) {
    let actor = Actor::new("test");
    let gtin = Gtin::parse(GTIN).expect("gtin");
    let batch = store
        .create_batch(
            &NewBatch {
                gtin: gtin.clone(),
                lot: "Q1".to_string(),
                expiry: "301231".to_string(),
                quantity: 10,
            },
            &actor,
        )
        .expect("batch");
    let line = store
        .line_batch(batch)
        .expect("line batch read")
        .expect("line batch exists");
    let serials: Vec<String> = store
        .allocate_block(batch, &gtin, 6, &actor)
        .expect("allocated")
        .into_iter()
        .map(|s| s.serial)
        .collect();
    let first_id = store.next_message_id().expect("message id");
    let mut records = vec![LineRecord::BatchState {
        state: "running".to_string(),
        reason: None,
    }];
    for (i, serial) in serials.iter().take(4).enumerate() {
        records.push(LineRecord::PrintQueued {
            message_id: first_id + i as u64,
            serial: serial.clone(),
        });
    }
    records.push(LineRecord::Serial {
        serial: serials[0].clone(),
        outcome: SerialOutcome::Encoded,
        detail: "printed".to_string(),
    });
    store
        .apply_line_records(&line, &records, &actor)
        .expect("records");
    (line, serials, first_id)
}

#[test]
fn an_unreachable_printer_or_plc_changes_nothing_and_recovery_succeeds_when_they_are_back() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("station.sqlite");
    prepare_store(&db);
    let mut store = Store::open(&db).expect("store opens");
    let (line, serials, first_id) = batch_with_queued_serials(&mut store);
    let unfinished = unfinished_batches(&store).expect("unfinished");
    assert_eq!(unfinished, vec![(line.clone(), "running".to_string())]);
    let before = store.batch_serial_counts(line.batch).expect("counts");
    assert_eq!(before.outstanding, 6);
    runtime().block_on(async {
        let sim = Simulator::start(SimConfig::loopback_any_port(
            dir.path().join("truth.sqlite"),
        ))
        .await
        .expect("simulator starts");
        let real = station_config(&sim, 600.0);
        // A port with nothing listening.
        let dead = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("bind")
            .local_addr()
            .expect("addr")
            .to_string();
        let quick = RecoveryOptions {
            attempts: 3,
            retry_delay: Duration::from_millis(20),
            ..RecoveryOptions::default()
        };
        let actor = Actor::new("recovery");

        let mut no_printer = real.clone();
        no_printer.printer.address = dead.clone();
        let (devices, _events) = connect(&no_printer);
        let err = recover_batch_with(
            &mut store,
            &line,
            devices.printer.as_ref(),
            devices.plc.as_ref(),
            &actor,
            quick,
        )
        .await
        .expect_err("the printer is away");
        assert!(
            matches!(err, RecoveryError::PrinterUnreachable { .. }),
            "{err}"
        );
        assert!(err.to_string().contains("printer"), "{err}");
        drop(devices);
        assert_eq!(
            store.batch_serial_counts(line.batch).expect("counts"),
            before
        );

        let mut no_plc = real.clone();
        no_plc.plc.address = dead;
        let (devices, _events) = connect(&no_plc);
        let err = recover_batch_with(
            &mut store,
            &line,
            devices.printer.as_ref(),
            devices.plc.as_ref(),
            &actor,
            quick,
        )
        .await
        .expect_err("the PLC is away");
        assert!(matches!(err, RecoveryError::PlcUnreachable { .. }), "{err}");
        drop(devices);
        assert_eq!(
            store.batch_serial_counts(line.batch).expect("counts"),
            before
        );

        let (devices, _events) = connect(&real);
        // Two of the queued serials really are in the printer's buffer (it is not
        // printing): its buffer clear proves them never printed.
        for (offset, serial) in [(1u64, &serials[1]), (2, &serials[2])] {
            let id = u32::try_from(first_id + offset).expect("small id");
            let data = format!("\u{1d}0109506000134352\u{1d}21{serial}");
            let mut attempts = 0;
            while let Err(e) = devices.printer.queue_message(id, data.as_bytes()).await {
                attempts += 1;
                assert!(
                    attempts < 100,
                    "the simulated printer never took a message: {e}"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        let report = recover_batch(
            &mut store,
            &line,
            devices.printer.as_ref(),
            devices.plc.as_ref(),
            &actor,
        )
        .await
        .expect("recovers");
        // Two never queued and two proven unprinted: back to the pool. One queued but
        // not in the printer's buffer (it may have printed): invalidated. One printed,
        // never verified: scrapped.
        assert_eq!(report.tally.returned, 4, "{}", report.summary());
        assert_eq!(report.tally.invalidated, 1, "{}", report.summary());
        assert_eq!(report.tally.scrapped, 1, "{}", report.summary());
        assert_eq!(report.counts.outstanding, 0);
        assert_eq!(report.counts.returned, 4);
        assert!(
            report.summary().contains("returned 4"),
            "{}",
            report.summary()
        );
        drop(devices);
        sim.shutdown().await.expect("simulator stops");
    });
    let states: Vec<SerialState> = serials
        .iter()
        .map(|serial| {
            let code: i64 = store
                .raw_connection()
                .query_row(
                    "SELECT state FROM serials WHERE serial = ?1",
                    [serial],
                    |r| r.get(0),
                )
                .expect("serial state");
            SerialState::from_code(code).expect("state")
        })
        .collect();
    assert_eq!(
        states,
        [
            SerialState::LabelScrapped,
            SerialState::Unallocated,
            SerialState::Unallocated,
            SerialState::SnInvalid,
            SerialState::Unallocated,
            SerialState::Unallocated,
        ]
    );
}

/// The whole start-up path: kill, recover with the restarted station's own drivers,
/// hand the batch to the engine (it comes back held), resume it as the operator
/// would, let it finish and close it. The recovered batch itself must then pass
/// every invariant, closed and balanced.
#[test]
fn a_recovered_batch_is_taken_over_resumed_and_closed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("station.sqlite");
    prepare_store(&db);
    runtime().block_on(async {
        let mut sim_config = SimConfig::loopback_any_port(dir.path().join("truth.sqlite"));
        sim_config.line.rate_per_min = 1_200.0;
        let sim = Simulator::start(sim_config)
            .await
            .expect("simulator starts");
        let config = station_config(&sim, 1_200.0);
        run_and_kill(&config, &db, 10, Duration::from_millis(80)).await;

        let store = Store::open(&db).expect("store reopens");
        let (line, state) = unfinished_batches(&store)
            .expect("unfinished batches")
            .into_iter()
            .next()
            .expect("the killed batch is unfinished");
        let mut station = Station::connect(config.clone(), store);
        station.wait_for_devices().await.expect("devices online");
        let actor = Actor::new("recovery");
        let (store, devices) = station.store_and_devices();
        let report = recover_batch(
            store,
            &line,
            devices.printer.as_ref(),
            devices.plc.as_ref(),
            &actor,
        )
        .await
        .expect("the batch recovers");
        eprintln!("{}", report.summary());
        station
            .take_over(line.clone(), state == "stopping", report.in_flight, &actor)
            .await
            .expect("the engine takes the batch over");
        let status = station.batch_status().expect("an active batch");
        assert!(status.hold.is_some(), "a recovered batch comes back held");

        // The operator resumes (again after any hold) until the batch stops.
        let mut last_resume: Option<std::time::Instant> = None;
        loop {
            let status = station.batch_status().expect("an active batch");
            if status.state == serialstation::line::BatchState::Stopped {
                break;
            }
            if status.hold.is_some()
                && last_resume.is_none_or(|at| at.elapsed() >= Duration::from_millis(300))
            {
                last_resume = Some(std::time::Instant::now());
                let _ = station
                    .operator(serialstation::line::OperatorCommand::Resume, &actor)
                    .await;
            }
            let wake = station.wait().await.expect("drivers running");
            station.handle(wake).await.expect("the station runs");
        }
        let outcome = station
            .close_batch(line.batch, None)
            .await
            .expect("the recovered batch closes");
        assert_eq!(outcome.counts.commissioned, 80);
        let store = station.into_store();
        let truth_path = sim.shutdown().await.expect("ground truth");
        let truth = GroundTruth::open(&truth_path).expect("ground truth opens");
        let report = BatchReport::build(&store, line.batch).expect("report");
        for check in check_invariants(&truth, &store, &report).expect("invariants checked") {
            if !check.passed {
                explain(&truth, &store, &report.to_text());
            }
            assert!(check.passed, "{}\n{}", check.line(), report.to_text());
        }
    });
}
