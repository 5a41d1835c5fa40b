//! The pallet station end to end: the real `serialstation pallet-station` binary
//! against a simulated pallet cell on loopback (stacker scanner, ZPL label
//! printer, label scanner, with no-reads, double reads, unreadable and stale
//! labels), on a real store holding verified cases. Judged from the cell's ground
//! truth: every pallet that carries a verified label holds exactly the cases the
//! station recorded on it (invariant 6), no case is on two pallets (7), a case
//! from nowhere or read twice is never stacked twice, and a pallet whose label
//! never verifies goes to rework. A second run kills the station with SIGKILL
//! several times while it stacks and labels; the same checks hold.

mod batch_record_support;
mod station_process;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use batch_record_support::{finished_batch, generate_ssccs, run};
use serialstation::aggregation::{ContainerState, Level, Scanned};
use serialstation::gs1::Sscc;
use serialstation::store::{Actor, BatchId, Store};
use serialstation_simulator::pallet_cell::{self, CellFaults, CellTruth, PalletCellConfig};
use station_process::StationProcess;

/// Cases of 3 packs, all verified: their SSCCs.
fn verified_cases(db: &Path) -> Vec<String> {
    let out = generate_ssccs(db, 40);
    assert!(out.status.success(), "{out:?}");
    let mut store = Store::open(db).expect("store");
    let actor = Actor::new("case-packer");
    let batch = BatchId(1);
    let packs = store.loose_commissioned_serials(batch).expect("packs");
    let gtin = store.batch(batch).expect("batch").expect("batch 1").gtin;
    let gtin = serialstation::gs1::Gtin::parse(&gtin).expect("gtin");
    let mut cases = Vec::new();
    for chunk in packs.chunks(3).filter(|c| c.len() == 3) {
        let case = store
            .open_container(batch, Level::Case, Level::Pack, 3, &actor)
            .expect("case opens");
        let sscc = Sscc::parse(&case.sscc).expect("sscc");
        let children: Vec<Scanned> = chunk
            .iter()
            .map(|serial| Scanned::Pack {
                gtin: gtin.clone(),
                serial: serial.clone(),
            })
            .collect();
        store.pack(&sscc, &children, &actor).expect("packed");
        store.close_container(&sscc, false, &actor).expect("closed");
        store
            .container_label_printed(&sscc, "test", &actor)
            .expect("labelled");
        store
            .container_label_verified(&sscc, sscc.as_str(), &actor)
            .expect("verified");
        cases.push(case.sscc);
    }
    assert!(cases.len() >= 6, "the batch gives at least 6 cases");
    cases
}

/// The pallet station binary against the cell (`station_process` runs it).
struct Station(StationProcess);

impl Station {
    fn start(db: &Path, addrs: &pallet_cell::PalletCellAddrs) -> Station {
        let mut command = Command::new(env!("CARGO_BIN_EXE_serialstation"));
        command
            .arg("--db")
            .arg(db)
            .args(["pallet-station", "--batch", "1", "--scanner"])
            .arg(addrs.scanner.to_string())
            .arg("--label-printer")
            .arg(addrs.printer.to_string())
            .arg("--label-scanner")
            .arg(addrs.label_scanner.to_string())
            .args(["--label-timeout-ms", "1500", "--label-attempts", "3"]);
        Station(StationProcess::spawn(command))
    }

    /// Waits for a line containing `text`; panics with the log after 30 s.
    fn wait_for(&mut self, text: &str) -> String {
        self.0.wait_for(text, Duration::from_secs(30))
    }

    fn command(&mut self, line: &str) {
        self.0.command(line);
    }

    fn quit(self) -> Vec<String> {
        self.0.quit()
    }

    /// When the cell has no case left: closes the last pallet, waits until no
    /// pallet is open or being labelled, quits; returns the log.
    fn finish(mut self, truth_path: &Path) -> Vec<String> {
        wait_cell_empty(truth_path, &mut self);
        self.command("close");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            self.command("status");
            let line = self.wait_for("pallet");
            if line.contains("no pallet open") || Instant::now() > deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(300));
        }
        self.quit()
    }

    fn kill(self) {
        self.0.kill();
    }
}

fn truth(path: &Path) -> CellTruth {
    let text = std::fs::read_to_string(path).expect("the cell's ground truth");
    serde_json::from_str::<CellTruth>(&text).expect("ground truth is JSON")
}

/// Waits until the cell has no case left to send.
fn wait_cell_empty(path: &Path, station: &mut Station) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        station.0.drain();
        let now = truth(path);
        if now.waiting == 0 && now.at_scan_point.is_none() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the cell still has cases:\n{}", station.0.log.join("\n"));
}

/// Invariants 6 and 7 from the ground truth (the demo's own judgement): every
/// physical pallet whose last label is a verified pallet holds exactly that
/// pallet's cases; every other labelled pallet is in rework; no case on two
/// pallets.
fn judge(db: &Path, truth: &CellTruth) -> (usize, usize) {
    let store = Store::open(db).expect("store");
    let judged = serialstation::demo::pallet_line::judge_pallets(&store, truth).expect("judged");
    assert!(
        judged.problems.is_empty(),
        "{:?}\n{truth:?}",
        judged.problems
    );
    (judged.verified, judged.reworked)
}

fn cell(
    dir: &Path,
    cases: Vec<String>,
    faults: CellFaults,
    seed: u64,
) -> (pallet_cell::PalletCellAddrs, PathBuf) {
    let truth = dir.join(format!("truth-{seed}.json"));
    let addrs = pallet_cell::start(PalletCellConfig {
        cases,
        faults,
        seed,
        case_interval: Duration::from_millis(20),
        truth: truth.clone(),
        scanner_port: 0,
        printer_port: 0,
        label_scanner_port: 0,
    })
    .expect("the cell starts");
    (addrs, truth)
}

#[test]
fn cases_are_stacked_pallets_labelled_and_verified_and_the_truth_agrees() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = finished_batch(dir.path());
    let cases = verified_cases(&db);
    // The cell also sees a case from nowhere (a valid SSCC this store never
    // issued) and a second case carrying the label of the first.
    let stranger = Sscc::build(0, "9506000", 987_654_321)
        .expect("an SSCC")
        .as_str()
        .to_string();
    let mut arriving = cases.clone();
    arriving.insert(2, stranger.clone());
    arriving.insert(4, cases[0].clone());
    let faults = CellFaults {
        case_no_read: 0.1,
        case_double_read: 0.2,
        label_no_read: 0.3,
        label_stale: 0.15,
    };
    let (addrs, truth_path) = cell(dir.path(), arriving, faults, 11);
    let mut station = Station::start(&db, &addrs);
    station.wait_for("ready");
    let log = station.finish(&truth_path);
    let truth = truth(&truth_path);
    let (verified, reworked) = judge(&db, &truth);
    assert!(verified >= 1, "{}", log.join("\n"));
    assert!(truth.diverted.contains(&stranger), "{truth:?}");
    let text = log.join("\n");
    assert!(
        text.contains(&format!("case read ]C100{stranger} diverted")),
        "{text}"
    );
    assert!(text.contains("not a container of this station"), "{text}");

    // The duplicate label: the second physical case with cases[0]'s label never
    // goes on a second pallet.
    let on_pallets: usize = truth
        .pallets
        .iter()
        .map(|p| p.cases.iter().filter(|c| **c == cases[0]).count())
        .sum();
    assert!(on_pallets <= 1, "{truth:?}");
    let diverted = truth.diverted.iter().filter(|c| **c == cases[0]).count();
    assert_eq!(on_pallets + diverted, 2, "{truth:?}");
    if on_pallets == 1 && !text.contains("NOREAD") {
        assert!(
            text.contains(&format!("case {} is already on pallet", cases[0])),
            "the second case with the first one's label is diverted: {text}"
        );
    }
    // Every case the station stacked is on a pallet; every stored case is either
    // on a verified or reworked pallet, or loose and diverted.
    let store = Store::open(&db).expect("store");
    let mut per_state: BTreeMap<String, usize> = BTreeMap::new();
    for c in store.batch_containers(BatchId(1)).expect("containers") {
        if c.level == Level::Pallet {
            *per_state.entry(c.state.to_string()).or_default() += 1;
        }
    }
    assert_eq!(per_state.get("open"), None, "{per_state:?}\n{text}");
    assert_eq!(
        per_state.get("verified").copied().unwrap_or(0)
            + per_state.get("rework").copied().unwrap_or(0),
        verified + reworked,
        "{per_state:?}\n{text}"
    );
}

#[test]
fn kill_9_while_stacking_and_labelling_loses_and_duplicates_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = finished_batch(dir.path());
    let cases = verified_cases(&db);
    let faults = CellFaults {
        case_no_read: 0.0,
        case_double_read: 0.2,
        label_no_read: 0.2,
        label_stale: 0.0,
    };
    let arriving = cases.len();
    let (addrs, truth_path) = cell(dir.path(), cases, faults, 5);
    // Kill the station after the 2nd, 4th, … line of interest, at different phases.
    let mut station = Station::start(&db, &addrs);
    station.wait_for("ready");
    // Each kill lands a few milliseconds after the line (a fixed sequence, so a
    // failure replays): between a commit and the answer, the label and its read.
    for (what, delay_ms) in [
        ("stacked on pallet", 0),
        ("printed", 2),
        ("stacked on pallet", 5),
        ("closed with", 0),
        ("verified", 1),
    ] {
        station.wait_for(what);
        std::thread::sleep(Duration::from_millis(delay_ms));
        station.kill();
        station = Station::start(&db, &addrs);
        station.wait_for("ready");
    }
    let log = station.finish(&truth_path);
    let truth = truth(&truth_path);
    let (verified, _) = judge(&db, &truth);
    assert!(verified >= 1, "{}", log.join("\n"));
    let stacked: usize = truth.pallets.iter().map(|p| p.cases.len()).sum();
    assert_eq!(
        stacked + truth.diverted.len(),
        arriving,
        "every case is stacked once or diverted: {truth:?}"
    );
    assert_eq!(
        log.iter().filter(|l| l.as_str() == "ready").count(),
        1,
        "the last station's log"
    );
}

/// Pallets of two cases, two label prints before rework: the decisions driven
/// directly.
fn pallets_of_two() -> serialstation::container_station::PalletSettings {
    serialstation::container_station::PalletSettings {
        batch: BatchId(1),
        capacity: 2,
        child_level: Level::Case,
        partial_allowed: true,
        label_attempts: 2,
        printer_name: "test printer".to_string(),
    }
}

/// The stacker's read of case `sscc`, arriving now on `connection`.
fn case_read(sscc: &str, connection: u64) -> serialstation::container_station::CaseRead {
    serialstation::container_station::CaseRead {
        line: format!("]C100{sscc}"),
        connection,
        at: Instant::now(),
    }
}

/// The cell as the decisions see it, recorded.
#[derive(Default)]
struct Recorded {
    /// Answers are lost (the link dropped, or the station dies before them).
    lose_answers: bool,
    answers: Vec<bool>,
    labels: Vec<Vec<u8>>,
    said: Vec<String>,
}

impl serialstation::container_station::CellIo for Recorded {
    fn answer_case(&mut self, _connection: u64, stack: bool) -> bool {
        self.answers.push(stack);
        !self.lose_answers
    }
    fn print_label(&mut self, zpl: &[u8]) -> Result<(), String> {
        self.labels.push(zpl.to_vec());
        Ok(())
    }
    fn say(&mut self, line: &str) {
        self.said.push(line.to_string());
    }
}

#[test]
fn a_label_that_never_verifies_sends_the_pallet_to_rework_and_held_reads_wait() {
    use serialstation::container_station::PalletStation;
    use serialstation_devices::framing::Decoded;
    use serialstation_devices::zpl::LogisticLabelFormat;

    let dir = tempfile::tempdir().expect("tempdir");
    let db = finished_batch(dir.path());
    let cases = verified_cases(&db);
    let read = |sscc: &str| format!("]C100{sscc}");
    let case = |sscc: &str| case_read(sscc, 1);
    let settings = pallets_of_two();
    let store = Store::open(&db).expect("store");
    let mut station = PalletStation::new(store, settings, Actor::new("test"), Recorded::default());
    station.resume().expect("nothing to resume");
    station.on_label_read("]C100whatever").expect("ignored");
    station.stacker_connected(1);
    station.on_case_read(case(&cases[0])).expect("c0");
    station.on_case_read(case(&cases[1])).expect("c1");
    assert!(
        station.label_due().is_some(),
        "full: the label waits for the stacker"
    );
    assert!(station.io().labels.is_empty());
    // The double read of the last case, sent before its answer: stacked, once.
    let mut double = case(&cases[1]);
    double.at -= Duration::from_millis(5);
    station.on_case_read(double).expect("double read");
    assert_eq!(station.io().answers, [true, true, true]);
    station.settle().expect("the stacker settled");
    let (pallet, attempt) = station.awaiting_label().expect("full: labelled");
    let pallet = pallet.clone();
    assert_eq!(attempt, 1);
    // The label as printed: GS1-128 of the SSCC, DataMatrix with 6 packs.
    let zpl = station.io().labels[0].clone();
    let Decoded::Message { message, .. } = LogisticLabelFormat::decode(&zpl) else {
        panic!("the label is ZPL: {}", String::from_utf8_lossy(&zpl));
    };
    assert_eq!(message.linear, format!("00{pallet}").into_bytes());
    let matrix = String::from_utf8(message.matrix).expect("text");
    assert!(matrix.contains(&format!("00{pallet}02")), "{matrix}");
    assert!(
        matrix.contains("376\u{1d}10"),
        "AI 37 counts 6 packs: {matrix}"
    );

    // A case read while the label is verified waits for its answer.
    station.on_case_read(case(&cases[2])).expect("held");
    assert_eq!(station.io().answers, [true, true, true]);
    station.on_label_read("NOREAD").expect("reprint");
    assert_eq!(station.io().labels.len(), 2);
    station
        .on_label_read(&read(&cases[5]))
        .expect("another SSCC: rework");
    assert_eq!(
        station.io().answers,
        [true, true, true, true],
        "the held read answered"
    );
    // The same label on a second case right after it: diverted.
    station.on_case_read(case(&cases[2])).expect("duplicate");
    assert_eq!(station.io().answers.last(), Some(&false));
    let said = station.io().said.join("\n");
    assert!(said.contains("sent to rework"), "{said}");
    assert!(
        said.contains(&format!("reads back SSCC {}", cases[5])),
        "{said}"
    );

    let store = Store::open(&db).expect("store");
    assert_eq!(
        store.container(&pallet).expect("pallet").state,
        ContainerState::Rework
    );
    for case in &cases[..2] {
        let case = Sscc::parse(case).expect("sscc");
        assert_eq!(
            store
                .container_holding(&Scanned::Container(case))
                .expect("read"),
            None,
            "a reworked pallet's cases are loose"
        );
    }
    // The held case opened the next pallet; the operator closes it partial and
    // its label verifies.
    station.operator_close().expect("close");
    station.settle().expect("the stacker settled");
    let (next, _) = station.awaiting_label().expect("labelled");
    let next = next.clone();
    assert_ne!(next, pallet);
    station
        .on_label_read(&read(next.as_str()))
        .expect("verified");
    assert_eq!(
        store.container(&next).expect("pallet").state,
        ContainerState::Verified
    );
    assert_eq!(station.status(), "no pallet open");
}

#[test]
fn container_label_prints_the_logistic_label_over_zpl_and_records_it_first() {
    use serialstation_devices::framing::Decoded;
    use serialstation_devices::zpl::LogisticLabelFormat;
    use std::io::Read;

    let dir = tempfile::tempdir().expect("tempdir");
    let db = finished_batch(dir.path());
    let cases = verified_cases(&db);
    let store = Store::open(&db).expect("store");
    let case = Sscc::parse(&cases[0]).expect("sscc");
    assert_eq!(store.container(&case).expect("case").labels, 1);

    // A printer on loopback takes the label.
    let printer = std::net::TcpListener::bind("127.0.0.1:0").expect("printer");
    let address = printer.local_addr().expect("addr").to_string();
    let received = std::thread::spawn(move || {
        let (mut stream, _) = printer.accept().expect("the label arrives");
        let mut bytes = Vec::new();
        stream.read_to_end(&mut bytes).expect("read");
        bytes
    });
    let out = run(&db, &["container", "label", &cases[0], "--print", &address]);
    assert!(out.status.success(), "{out:?}");
    let zpl = received.join().expect("printer thread");
    let Decoded::Message { message, .. } = LogisticLabelFormat::decode(&zpl) else {
        panic!("not a label: {}", String::from_utf8_lossy(&zpl));
    };
    assert_eq!(message.linear, format!("00{}", cases[0]).into_bytes());
    assert!(
        message.text.iter().any(|l| l == "COUNT (37) 3"),
        "{:?}",
        message.text
    );
    assert_eq!(
        store.container(&case).expect("case").labels,
        2,
        "a reprint is recorded"
    );

    // --zpl - writes the same format to standard output.
    let out = run(&db, &["container", "label", &cases[0], "--zpl", "-"]);
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("^XA^CI0"));

    // A printer that is not there: recorded (the SSCC may be on paper), and the
    // message says to print again.
    let out = run(
        &db,
        &["container", "label", &cases[1], "--print", "127.0.0.1:1"],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("error: ") && err.contains("did not take it"),
        "{err}"
    );
    assert!(err.contains("again"), "{err}");
}

#[test]
fn the_pallet_station_refuses_a_missing_store_an_unknown_batch_and_zero_attempts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let station = |db: &Path, batch: &str, attempts: &str| {
        Command::new(env!("CARGO_BIN_EXE_serialstation"))
            .arg("--db")
            .arg(db)
            .args([
                "pallet-station",
                "--batch",
                batch,
                "--scanner",
                "127.0.0.1:1",
                "--label-printer",
                "127.0.0.1:1",
                "--label-scanner",
                "127.0.0.1:1",
                "--label-attempts",
                attempts,
            ])
            .stdin(Stdio::null())
            .output()
            .expect("runs")
    };
    let missing = dir.path().join("nothing.sqlite");
    let out = station(&missing, "1", "3");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("error: there is no store at"), "{err}");
    assert!(!missing.exists(), "no store is created by mistake");

    let db = finished_batch(dir.path());
    let out = station(&db, "42", "3");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("batch 42 is not in this store"), "{err}");
    let out = station(&db, "1", "0");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--label-attempts must be at least 1"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn a_case_recorded_whose_answer_was_lost_is_stacked_when_the_stacker_asks_again_after_a_restart() {
    use serialstation::container_station::PalletStation;

    let dir = tempfile::tempdir().expect("tempdir");
    let db = finished_batch(dir.path());
    let cases = verified_cases(&db);
    let settings = pallets_of_two();
    let case = case_read;
    // The first station records both cases (the pallet is full) but its answer
    // for the second never reaches the stacker; then it dies.
    let store = Store::open(&db).expect("store");
    let mut first = PalletStation::new(
        store,
        settings.clone(),
        Actor::new("t"),
        Recorded::default(),
    );
    first.stacker_connected(1);
    first.on_case_read(case(&cases[0], 1)).expect("c0");
    first.io().lose_answers = true;
    first.on_case_read(case(&cases[1], 1)).expect("c1");
    assert!(
        first.io().labels.is_empty(),
        "no label before the stacker took the case"
    );
    drop(first);

    let store = Store::open(&db).expect("store");
    let mut second = PalletStation::new(store, settings, Actor::new("t"), Recorded::default());
    second.resume().expect("resume");
    assert!(second.label_due().is_some(), "resumed full: label due");
    second.stacker_connected(2);
    // A read still queued from the dead connection is not answered.
    second.on_case_read(case(&cases[1], 1)).expect("stale");
    assert!(second.io().answers.is_empty());
    // The stacker asks again on its new connection: the case is on the pallet.
    second.on_case_read(case(&cases[1], 2)).expect("re-ask");
    assert_eq!(second.io().answers, [true]);
    assert!(second.io().labels.is_empty());
    // The next case proves the answer was taken: the label prints first, and
    // the next case waits for it.
    second.on_case_read(case(&cases[2], 2)).expect("next case");
    assert_eq!(second.io().labels.len(), 1);
    assert_eq!(second.io().answers, [true]);
    let (pallet, _) = second.awaiting_label().expect("labelled");
    let pallet = pallet.clone();
    second
        .on_label_read(&format!("]C100{pallet}"))
        .expect("verified");
    let said = second.io().said.join("\n");
    assert_eq!(second.io().answers, [true, true], "{said}");
    let store = Store::open(&db).expect("store");
    let tree = store.container_tree(&pallet).expect("tree");
    assert_eq!(tree.containers.len(), 2);
    assert_eq!(tree.container.state, ContainerState::Verified);
}
