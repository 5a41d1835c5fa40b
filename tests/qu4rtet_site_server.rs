//! A real site server: QU4RTET (SerialBox, quartet-capture, quartet-epcis) set up by
//! `tests/qu4rtet/run.sh` in a virtualenv on loopback. Serials come from a sequential
//! and a randomized SerialBox pool through the real binary (`pool request`), a
//! commissioning EPCIS 1.2 document built by the station is captured by QU4RTET's
//! EPCIS rule, and QU4RTET's own database must then hold exactly those EPCs. Then a
//! real batch: the station daemon runs the simulated line for a client whose serials
//! come from SerialBox (topped up automatically while the batch runs) and whose events
//! go to QU4RTET; every commissioned serial must be captured there, exactly once.
//!
//! Then aggregation: packs of a finished batch go into cases on a pallet through the
//! real CLI, the uploader sends the commissioning, SSCC and AggregationEvents to
//! QU4RTET, and QU4RTET's database must hold exactly the station's parent → children
//! hierarchy.
//!
//! Skips (printing why) when python3 with venv and pip, or PyPI, is not available;
//! under `CI` that is a failure instead.

mod batch_record_support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serialstation::gs1::Gtin;
use serialstation::store::{Actor, NewBatch, Store};
use serialstation::upload::sender::{
    CaptureProtocol, CredentialScheme, CredentialSource, Credentials, PassReport, Sender,
    SiteTarget, chunk_payloads, queue_chunk,
};
use serialstation::upload::{
    ChunkLimits, DocumentFormat, EventKind, EventTemplate, EventTime, LotMasterData, Sgln,
    sgtin_epcs,
};

const CLIENT: &str = "qu4rtet-client";
const SEQUENTIAL_GTIN: &str = "09506000134352";
const RANDOM_GTIN: &str = "00312345678906";

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/qu4rtet/run.sh")
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_serialstation"))
}

/// Skips (returns false) without the tools, or fails under CI.
fn tools_available() -> bool {
    let venv_ok = Command::new("python3")
        .args(["-c", "import venv, ensurepip"])
        .status()
        .is_ok_and(|s| s.success());
    let installed = venv_ok
        && Command::new("bash")
            .arg(script())
            .arg("install")
            .status()
            .is_ok_and(|s| s.success());
    if installed {
        return true;
    }
    let reason = if venv_ok {
        "the QU4RTET virtualenv could not be installed (is PyPI reachable?)"
    } else {
        "python3 with venv and pip is not available"
    };
    assert!(std::env::var_os("CI").is_none(), "{reason}");
    println!("skipped: {reason}");
    false
}

/// The running QU4RTET of one test; stopped on drop, even when the test fails.
struct Qu4rtet {
    dir: PathBuf,
    env: BTreeMap<String, String>,
}

impl Qu4rtet {
    fn start(dir: &Path) -> Qu4rtet {
        let out = Command::new("bash")
            .arg(script())
            .arg("start")
            .arg(dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "run.sh start failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let text = std::fs::read_to_string(dir.join("env")).unwrap();
        let env = text
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Qu4rtet {
            dir: dir.to_path_buf(),
            env,
        }
    }

    fn var(&self, name: &str) -> &str {
        self.env
            .get(name)
            .map(String::as_str)
            .unwrap_or_else(|| panic!("{name} missing from run.sh's env file"))
    }

    /// Every aggregated EPC in QU4RTET's EPCIS store, with its parent.
    fn parents(&self) -> BTreeMap<String, String> {
        let out = Command::new("bash")
            .arg(script())
            .arg("tree")
            .arg(&self.dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.split_once(' '))
            .map(|(child, parent)| (child.to_string(), parent.to_string()))
            .collect()
    }

    /// Every EPC QU4RTET's EPCIS store holds.
    fn captured_epcs(&self) -> BTreeSet<String> {
        let out = Command::new("bash")
            .arg(script())
            .arg("epcs")
            .arg(&self.dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect()
    }
}

impl Drop for Qu4rtet {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(script())
            .arg("stop")
            .arg(&self.dir)
            .status();
    }
}

fn client_file(q: &Qu4rtet, token_env: &str) -> String {
    format!(
        r#"
[client]
id = "{CLIENT}"
name = "QU4RTET client"
serial_source = {{ kind = "serialbox", url = "{url}", token_env = "{token_env}", replenish_count = 60, pools = {{ "{SEQUENTIAL_GTIN}" = "{seq}", "{RANDOM_GTIN}" = "{rnd}" }} }}
[client.upload]
format = "epcis1.2-xml"
url = "{url}/capture/quartet-capture/?rule=EPCIS&run-immediately=true"

[[product]]
gtin = "{SEQUENTIAL_GTIN}"
name = "Examplamol 500 mg"
company_prefix_length = 7
markets = ["US"]
code_template = ["01", "21", "10", "17"]
min_grade = 1.5
low_water_mark = 10
consecutive_reject_limit = 3

[[product]]
gtin = "{RANDOM_GTIN}"
name = "Nordicain 10 mg/ml"
company_prefix_length = 7
markets = ["US"]
code_template = ["01", "21", "10", "17"]
min_grade = 1.5
low_water_mark = 10
consecutive_reject_limit = 3
"#,
        url = q.var("QU4RTET_URL"),
        seq = q.var("QU4RTET_SEQUENTIAL_POOL"),
        rnd = q.var("QU4RTET_RANDOM_POOL"),
    )
}

/// The client file of the line batch: serials from SerialBox, events to QU4RTET's
/// capture rule, the token read from `token_file`.
fn line_client_file(q: &Qu4rtet, token_file: &Path) -> String {
    client_file(q, "QU4RTET_TEST_TOKEN")
        .replace(
            "format = \"epcis1.2-xml\"",
            &format!(
                "format = \"epcis1.2-xml\"\nauth = \"token\"\nsecrets_file = \"{}\"\nread_point = \"urn:epc:id:sgln:9506000.00001.0\"\nbiz_location = \"urn:epc:id:sgln:9506000.00001.0\"\nflush_after_s = 1",
                token_file.display()
            ),
        )
        .replace("id = \"qu4rtet-client\"", "id = \"qu4rtet-line\"")
}

/// A batch of `quantity` items of `gtin` on the simulated line, run by the real
/// daemon on `db`; returns the serials it commissioned once the outbox is delivered.
fn line_batch(db: &Path, dir: &Path, gtin: &str, quantity: u32) -> Vec<String> {
    use serialstation::control::protocol::Request;
    use serialstation::demo::daemon_process::{DaemonProcess, line_config_text};
    use serialstation_simulator::{SimConfig, Simulator};
    use std::time::{Duration, Instant};

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut sim = SimConfig::loopback_any_port(dir.join("truth.sqlite"));
    sim.simulator.images = false;
    sim.line.rate_per_min = 1_200.0;
    let simulator = runtime.block_on(Simulator::start(sim)).unwrap();
    let a = simulator.addresses().clone();
    let line = dir.join("line.toml");
    std::fs::write(
        &line,
        line_config_text(
            include_str!("../config/line.toml"),
            &a.printer.to_string(),
            &a.camera.to_string(),
            &a.plc.to_string(),
            a.plc_unit_id,
            1_200.0,
        ),
    )
    .unwrap();
    let log = dir.join("daemon.log");
    let show = || std::fs::read_to_string(&log).unwrap_or_default();
    let daemon = DaemonProcess::start(
        Path::new(env!("CARGO_BIN_EXE_serialstation")),
        db,
        &line,
        &log,
    )
    .unwrap();
    let started = daemon
        .expect_ok(&Request::BatchStart {
            gtin: gtin.to_string(),
            lot: "Q4LINE".to_string(),
            expiry: "291231".to_string(),
            quantity,
            client: None,
            challenge: 0,
        })
        .unwrap_or_else(|e| panic!("{e}\n{}", show()));
    let batch = started.batch.unwrap();
    let deadline = Instant::now() + Duration::from_secs(180);
    while !daemon.status().unwrap().batch.unwrap().is_stopped() {
        assert!(
            Instant::now() < deadline,
            "the batch did not finish\n{}",
            show()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    daemon
        .expect_ok(&Request::BatchClose {
            batch: Some(batch),
            reason: None,
            signature: None,
        })
        .unwrap_or_else(|e| panic!("{e}\n{}", show()));
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let store = Store::open_existing(db).unwrap();
        let waiting = store.outbox_undelivered(Some("qu4rtet-line")).unwrap();
        if waiting == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{waiting} outbox rows not delivered to QU4RTET\n{}",
            show()
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    daemon.shutdown().unwrap();
    runtime.block_on(simulator.shutdown()).unwrap();
    let store = Store::open_existing(db).unwrap();
    let mut stmt = store
        .raw_connection()
        .prepare(
            "SELECT s.serial FROM serials s WHERE s.batch_id = ?1 AND s.state = 7 ORDER BY s.serial",
        )
        .unwrap();
    stmt.query_map([batch], |r| r.get::<_, String>(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
}

fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{cmd:?}:\n{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Reports `count` serials of `gtin`'s pool as commissioned to the client's site
/// server: reserves them for a batch, builds the commissioning EPCIS 1.2 chunks with
/// the upload module, queues them in the outbox and runs one sender pass against
/// `capture_url` with token authentication. Returns the serials and the pass.
///
/// This stands in for a full line batch (print, verify, commission through the
/// station and its outbox) until that is driven through the daemon here.
async fn report_commissioned(
    store: &mut Store,
    gtin: &Gtin,
    count: usize,
    capture_url: &str,
    token_file: &Path,
) -> (Vec<String>, PassReport) {
    let actor = Actor::new("qu4rtet-test");
    let batch = store
        .create_batch(
            &NewBatch {
                gtin: gtin.clone(),
                lot: "Q4-LOT-1".to_string(),
                expiry: "271231".to_string(),
                quantity: count as u64,
            },
            &actor,
        )
        .unwrap();
    let serials: Vec<String> = store
        .allocate_block(batch, gtin, count, &actor)
        .unwrap()
        .into_iter()
        .map(|a| a.serial)
        .collect();
    assert_eq!(serials.len(), count);
    let template = EventTemplate {
        kind: EventKind::Commissioning(
            LotMasterData::new(
                "Q4-LOT-1",
                serialstation::gs1::Gs1Date::from_ymd(2027, 12, 31).unwrap(),
            )
            .unwrap(),
        ),
        event_time: EventTime::parse_rfc3339("2026-05-04T13:14:15.678+02:00").unwrap(),
        read_point: Sgln::parse("urn:epc:id:sgln:9506000.00001.0").unwrap(),
        biz_location: Sgln::parse("urn:epc:id:sgln:9506000.00001.0").unwrap(),
    };
    let limits = ChunkLimits {
        max_epcs_per_event: 20,
        max_events_per_document: 2,
        max_document_bytes: 1 << 20,
    };
    let creation = EventTime::parse_rfc3339("2026-05-04T14:00:00.000+02:00").unwrap();
    let chunks = chunk_payloads(
        DocumentFormat::Epcis12Xml,
        limits,
        creation,
        template,
        gtin,
        7,
        &serials,
    )
    .unwrap();
    for chunk in chunks {
        queue_chunk(store, CLIENT, Some(batch), &chunk.unwrap()).unwrap();
    }
    let credentials = Credentials::load(
        CLIENT,
        CredentialScheme::Token,
        &CredentialSource::File(token_file.to_path_buf()),
    )
    .unwrap();
    let target = SiteTarget::new(
        CLIENT,
        capture_url,
        CaptureProtocol::Epcis12,
        Some(credentials),
        false,
    )
    .unwrap();
    let mut sender = Sender::new(vec![target]).unwrap();
    // One pass: QU4RTET answers a refused document with 5xx, which the sender
    // would retry for ever; the assertions below want to see it instead.
    let pass = sender.pass(store).await.unwrap();
    (serials, pass)
}

#[test]
fn serials_from_serialbox_and_commissioning_captured_by_qu4rtet() {
    if !tools_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let q = Qu4rtet::start(&dir.path().join("qu4rtet"));
    let token = q.var("QU4RTET_TOKEN").to_string();
    let config = dir.path().join("client.toml");
    std::fs::write(&config, client_file(&q, "QU4RTET_TEST_TOKEN")).unwrap();
    let db = dir.path().join("station.sqlite");
    run_ok(
        bin()
            .arg("--db")
            .arg(&db)
            .args(["config", "load"])
            .arg(&config),
    );

    // Serials from SerialBox through the real binary: a sequential pool (answers
    // [first, last]) in two requests of 60, and a randomized one (every number).
    let out = run_ok(
        bin()
            .arg("--db")
            .arg(&db)
            .args([
                "pool",
                "request",
                "--gtin",
                SEQUENTIAL_GTIN,
                "--count",
                "100",
            ])
            .env("QU4RTET_TEST_TOKEN", &token),
    );
    assert!(out.contains("imported 100 serials"), "{out}");
    assert!(out.contains("(2 request(s))"), "{out}");
    assert!(!out.contains(&token));
    let out = run_ok(
        bin()
            .arg("--db")
            .arg(&db)
            .args([
                "pool",
                "request",
                "--gtin",
                RANDOM_GTIN,
                "--count",
                "25",
                "--json",
            ])
            .env("QU4RTET_TEST_TOKEN", &token),
    );
    let outcome: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(outcome["imported"], 25, "{out}");

    let mut store = Store::open_existing(&db).unwrap();
    let sequential = Gtin::parse(SEQUENTIAL_GTIN).unwrap();
    let status = store.pool_status(Some(&sequential)).unwrap();
    assert_eq!(status[0].total(), 100);
    // The sequential pool starts at 100000000001 (tests/qu4rtet/setup_site.py).
    assert!(
        store
            .find_serial(&sequential, "100000000001")
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .find_serial(&sequential, "100000000100")
            .unwrap()
            .is_some()
    );

    // Commissioning of 30 of them, as EPCIS 1.2 XML through the outbox sender.
    let token_file = dir.path().join("qu4rtet.token");
    std::fs::write(&token_file, &token).unwrap();
    let capture_url = format!(
        "{}/capture/quartet-capture/?rule=EPCIS&run-immediately=true",
        q.var("QU4RTET_URL")
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (serials, pass) = rt.block_on(report_commissioned(
        &mut store,
        &sequential,
        30,
        &capture_url,
        &token_file,
    ));
    assert_eq!(
        (pass.delivered, pass.parked, pass.retries),
        (1, 0, 0),
        "{pass:?}"
    );
    let expected: BTreeSet<String> = sgtin_epcs(&sequential, 7, &serials)
        .map(|e| e.unwrap())
        .collect();
    assert_eq!(q.captured_epcs(), expected);

    drop(store);

    // A real batch through the daemon for a client served by QU4RTET: serials from
    // SerialBox (50 to start: the batch's first allocation takes them all, the pool
    // falls below its low-water mark and the daemon tops it up from SerialBox while
    // the batch runs), events captured by QU4RTET.
    let line_db = dir.path().join("line-station.sqlite");
    let line_config = dir.path().join("line-client.toml");
    std::fs::write(&line_config, line_client_file(&q, &token_file)).unwrap();
    run_ok(
        bin()
            .arg("--db")
            .arg(&line_db)
            .args(["config", "load"])
            .arg(&line_config),
    );
    run_ok(
        bin()
            .arg("--db")
            .arg(&line_db)
            .args([
                "pool",
                "request",
                "--gtin",
                SEQUENTIAL_GTIN,
                "--count",
                "50",
            ])
            .env("QU4RTET_TEST_TOKEN", &token),
    );
    let line_dir = dir.path().join("line");
    std::fs::create_dir_all(&line_dir).unwrap();
    // The daemon reads the SerialBox token from the environment it inherits.
    // SAFETY: set before any thread of this test reads the environment.
    unsafe { std::env::set_var("QU4RTET_TEST_TOKEN", &token) };
    let commissioned = line_batch(&line_db, &line_dir, SEQUENTIAL_GTIN, 40);
    assert_eq!(commissioned.len(), 40);
    let line_epcs: BTreeSet<String> = sgtin_epcs(&sequential, 7, &commissioned)
        .map(|e| e.unwrap())
        .collect();
    let captured = q.captured_epcs();
    assert!(
        line_epcs.is_subset(&captured),
        "QU4RTET is missing {:?}",
        line_epcs.difference(&captured).collect::<Vec<_>>()
    );
    assert_eq!(captured.len(), expected.len() + line_epcs.len());
}

/// The station's CLI on `db`; fails the test unless it succeeds.
fn station(db: &Path, args: &[&str]) -> String {
    run_ok(bin().arg("--db").arg(db).args(args))
}

/// Opens a container with the product's hierarchy and returns its SSCC.
fn open_container(db: &Path, level: &str) -> String {
    let out = station(
        db,
        &[
            "container",
            "open",
            "--batch",
            "1",
            "--level",
            level,
            "--json",
        ],
    );
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    v["sscc"].as_str().unwrap().to_string()
}

fn close_label_verify(db: &Path, sscc: &str, partial: bool) {
    let mut close = vec!["container", "close", sscc];
    if partial {
        close.push("--partial");
    }
    station(db, &close);
    station(db, &["container", "label", sscc, "--printer", "zpl"]);
    station(
        db,
        &[
            "container",
            "verify",
            sscc,
            "--read",
            &format!("]C100{sscc}"),
        ],
    );
}

#[test]
fn qu4rtet_holds_exactly_the_stations_case_and_pallet_hierarchy() {
    use serialstation::config::parse_client_config;
    use serialstation::upload::sender::{Backoff, SiteTarget};
    use serialstation::upload::service::upload_round;
    use std::time::Duration;

    if !tools_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let q = Qu4rtet::start(&dir.path().join("qu4rtet"));
    let token_file = dir.path().join("qu4rtet.token");
    std::fs::write(&token_file, q.var("QU4RTET_TOKEN")).unwrap();

    // A finished batch of the example client (25 packs commissioned), whose events
    // now go to QU4RTET's capture rule as EPCIS 1.2 XML.
    let db = batch_record_support::finished_batch(dir.path());
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/clients/acme.toml");
    let mut text = std::fs::read_to_string(example).unwrap();
    for (from, to) in [
        (
            "format = \"epcis2-jsonld\"",
            "format = \"epcis1.2-xml\"".to_string(),
        ),
        (
            "protocol = \"epcis2-capture\"",
            "protocol = \"epcis12\"".to_string(),
        ),
        (
            "url = \"http://127.0.0.1:8080/capture\"",
            format!(
                "url = \"{}/capture/quartet-capture/?rule=EPCIS&run-immediately=true\"",
                q.var("QU4RTET_URL")
            ),
        ),
        // Serials stay local; the SSCCs come from SerialBox's reference pool.
        (
            "serial_source = { kind = \"local\" }",
            format!(
                "serial_source = {{ kind = \"serialbox\", url = \"{}\", pool = \"{}\", token_file = \"{}\", replenish_count = 6 }}",
                q.var("QU4RTET_URL"),
                q.var("QU4RTET_SEQUENTIAL_POOL"),
                token_file.display()
            ),
        ),
        (
            "extension_digit = 0",
            format!(
                "extension_digit = 0\nserialbox_pool = \"{}\"",
                q.var("QU4RTET_SSCC_POOL")
            ),
        ),
        (
            "auth = \"none\"",
            format!(
                "auth = \"token\"\nsecrets_file = \"{}\"",
                token_file.display()
            ),
        ),
    ] {
        assert!(text.contains(from), "{from} is not in the example client");
        text = text.replace(from, &to);
    }
    let config = parse_client_config("acme.toml", &text).config.unwrap();
    let mut store = Store::open(&db).unwrap();
    store
        .load_client_config(&config, &Actor::new("test"))
        .unwrap();
    let packs: Vec<String> = {
        let mut stmt = store
            .raw_connection()
            .prepare("SELECT serial FROM serials WHERE batch_id = 1 AND state = 7 ORDER BY id")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    drop(store);
    assert_eq!(packs.len(), 25);

    // Two cases (12 packs, then 5 as a partial) on one pallet, through the CLI with
    // the hierarchy and the SSCC prefix of the client file.
    // SSCCs from SerialBox (two requests of at most 6): references 1 to 10 under
    // the client's prefix and extension digit.
    let requested = station(
        &db,
        &["sscc", "request", "--client", "acme", "--count", "10"],
    );
    assert!(
        requested.contains("imported 10 SSCCs") && requested.contains("2 request(s)"),
        "{requested}"
    );
    let scan = |serial: &String| format!("]d201{}21{serial}", batch_record_support::GTIN);
    let full = open_container(&db, "case");
    assert_eq!(
        full,
        serialstation::gs1::Sscc::build(0, "9506000", 1)
            .unwrap()
            .as_str(),
        "the first case takes SerialBox's first reference"
    );
    let mut args = vec!["container".to_string(), "pack".to_string(), full.clone()];
    args.extend(packs[..12].iter().map(scan));
    station(&db, &args.iter().map(String::as_str).collect::<Vec<_>>());
    close_label_verify(&db, &full, false);
    let partial = open_container(&db, "case");
    let mut args = vec!["container".to_string(), "pack".to_string(), partial.clone()];
    args.extend(packs[12..17].iter().map(scan));
    station(&db, &args.iter().map(String::as_str).collect::<Vec<_>>());
    close_label_verify(&db, &partial, true);
    let pallet = open_container(&db, "pallet");
    station(&db, &["container", "pack", &pallet, &full, &partial]);
    close_label_verify(&db, &pallet, true);

    // The station's hierarchy, as EPC URIs.
    let store = Store::open(&db).unwrap();
    let tree = store
        .container_tree(&serialstation::gs1::Sscc::parse(&pallet).unwrap())
        .unwrap();
    let gtin = Gtin::parse(batch_record_support::GTIN).unwrap();
    let sscc_epc = |sscc: &str| {
        serialstation::gs1::epc::sscc_uri(&serialstation::gs1::Sscc::parse(sscc).unwrap(), 7)
            .unwrap()
    };
    let mut expected = BTreeMap::new();
    for case in &tree.containers {
        expected.insert(sscc_epc(&case.container.sscc), sscc_epc(&pallet));
        for epc in sgtin_epcs(&gtin, 7, &case.packs) {
            expected.insert(epc.unwrap(), sscc_epc(&case.container.sscc));
        }
    }
    assert_eq!(expected.len(), 2 + 17);
    drop(store);

    // Upload rounds until everything is delivered. QU4RTET's EPCIS rule answers 500
    // to the decommissioning of EPCs it never saw commissioned (the fixture's
    // scrapped and invalidated serials were never commissioned anywhere), and would
    // be asked again for ever; those rows are set aside here, since what this test
    // checks is the hierarchy.
    let mut store = Store::open(&db).unwrap();
    store
        .raw_connection()
        .execute(
            "UPDATE outbox SET state = 'sent' WHERE kind IN ('scrapped', 'invalidated')",
            [],
        )
        .unwrap();
    let targets = store
        .clients()
        .unwrap()
        .iter()
        .map(|c| {
            let mut target = SiteTarget::from_client_config(&c.id, &c.upload).unwrap();
            target.poll_interval = Duration::from_millis(20);
            target.backoff = Backoff {
                initial: Duration::from_millis(20),
                max: Duration::from_millis(200),
            };
            target
        })
        .collect();
    let mut sender = Sender::new(targets).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let work = async {
            loop {
                let report = upload_round(&mut store, &mut sender, true).await.unwrap();
                assert!(report.problems.is_empty(), "{:?}", report.problems);
                assert_eq!(report.parked, 0, "{report:?}");
                let waiting: u64 = store
                    .waiting_serials()
                    .unwrap()
                    .iter()
                    .map(|w| w.rows)
                    .sum();
                let unsent: u64 = store
                    .outbox_status()
                    .unwrap()
                    .iter()
                    .map(|s| s.pending + s.in_flight + s.parked)
                    .sum();
                if waiting == 0 && unsent == 0 {
                    return;
                }
                if let Some(due) = sender.next_due() {
                    tokio::time::sleep_until(due.into()).await;
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(120), work)
            .await
            .expect("the upload to QU4RTET hung");
    });

    // QU4RTET's own database: exactly the station's parent of every aggregated EPC.
    assert_eq!(q.parents(), expected);
}
