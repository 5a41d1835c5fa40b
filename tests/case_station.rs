//! The case station end to end: the real `serialstation case-station` binary
//! against a simulated case cell on loopback (the case packer's PLC over
//! Modbus/TCP, a case camera sending real multi-code pictures, a ZPL label
//! printer and a label scanner), on a real store whose batch has good exits.
//! The cell drops packs, slips in packs from elsewhere, copies codes, smudges
//! codes, misprints and fails to read labels. Judged from the cell's ground
//! truth (`demo::case_judge`): every released case carries the verified label of
//! a case that holds exactly its physical packs; every reworked case's packs are
//! loose; no pack is in two cases. A second run kills the station with SIGKILL
//! at each step of a case (built, printed, verified) and restarts it; the same
//! checks hold. Bad start-up input is refused with a message that says what to do.

mod batch_record_support;
mod station_process;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use batch_record_support::{GTIN, LOT, finished_batch, generate_ssccs, run};
use serialstation::aggregation::case_check::PlaceRead;
use serialstation::aggregation::{ContainerState, Scanned};
use serialstation::config::parse_client_config;
use serialstation::container_station::{CaseCellIo, CaseExit, CaseSettings, CaseStation, Handled};
use serialstation::demo::case_judge::{CaseJudgement, judge_cases};
use serialstation::gs1::Gtin;
use serialstation::store::{Actor, BatchId, Store};
use serialstation_devices::plc::case_packer::WaitingCase;
use serialstation_simulator::case_cell::{
    self, CaseCellAddrs, CaseCellConfig, CaseCellTruth, CaseFaults,
};
use station_process::StationProcess;

/// The packs' layout in the case, as the cell draws it and the station reads it.
const LAYOUT: &str = "2x3";

/// The finished batch (25 good exits) with cases of 4 and SSCCs to take: the
/// good packs' codes in the order they left the reject gate.
fn batch_with_cases_of_four(dir: &Path) -> (PathBuf, Vec<String>) {
    let db = finished_batch(dir);
    let text =
        include_str!("../config/clients/acme.toml").replacen("capacity = 12", "capacity = 4", 1);
    let config = parse_client_config("acme.toml", &text)
        .config
        .expect("the example client with cases of 4 parses");
    let mut store = Store::open(&db).expect("store");
    store
        .load_client_config(&config, &Actor::new("test"))
        .expect("cases of 4 load");
    let out = generate_ssccs(&db, 40);
    assert!(out.status.success(), "{out:?}");
    let packs = store
        .good_exit_serials(BatchId(1), 0, 1000)
        .expect("good exits")
        .into_iter()
        .map(|serial| format!("(01){GTIN}(21){serial}(10){LOT}(17)301231"))
        .collect::<Vec<_>>();
    assert_eq!(packs.len(), 25, "the batch has 25 good exits");
    (db, packs)
}

fn cell(dir: &Path, packs: Vec<String>, faults: CaseFaults, seed: u64) -> (CaseCellAddrs, PathBuf) {
    let truth = dir.join(format!("case-truth-{seed}.json"));
    let addrs = case_cell::start(CaseCellConfig {
        packs,
        capacity: 4,
        layout: (2, 3),
        faults,
        seed,
        pack_interval: Duration::from_millis(10),
        truth: truth.clone(),
        plc_port: 0,
        camera_port: 0,
        printer_port: 0,
        label_scanner_port: 0,
    })
    .expect("the case cell starts");
    (addrs, truth)
}

fn truth(path: &Path) -> CaseCellTruth {
    // The cell rewrites the file as it changes: read until it parses.
    for _ in 0..50 {
        if let Ok(text) = std::fs::read_to_string(path)
            && let Ok(truth) = serde_json::from_str::<CaseCellTruth>(&text)
        {
            return truth;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!(
        "the case cell's ground truth {} does not parse",
        path.display()
    );
}

/// The case station binary against the cell (`station_process` runs it).
struct Station(StationProcess);

impl Station {
    /// `attempts`: label prints before rework (`--label-attempts`).
    fn start(db: &Path, addrs: &CaseCellAddrs, attempts: u32) -> Station {
        let mut command = Command::new(env!("CARGO_BIN_EXE_serialstation"));
        command
            .arg("--db")
            .arg(db)
            .args(["case-station", "--batch", "1", "--layout", LAYOUT, "--plc"])
            .arg(addrs.plc.to_string())
            .arg("--camera")
            .arg(addrs.camera.to_string())
            .arg("--label-printer")
            .arg(addrs.printer.to_string())
            .arg("--label-scanner")
            .arg(addrs.label_scanner.to_string())
            .args(["--label-timeout-ms", "1500", "--label-attempts"])
            .arg(attempts.to_string());
        Station(StationProcess::spawn(command))
    }

    /// Waits for a line containing `text`; panics with the log after 60 s.
    fn wait_for(&mut self, text: &str) -> String {
        self.0.wait_for(text, Duration::from_secs(60))
    }

    fn command(&mut self, line: &str) {
        self.0.command(line);
    }

    /// When every pack has arrived: closes the partial case, waits until every
    /// case has left the station, quits; returns the log.
    fn finish(mut self, truth_path: &Path) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(90);
        let mut closed = false;
        loop {
            self.0.drain();
            let now = truth(truth_path);
            let waiting = now.cases.iter().any(|c| c.exit.is_none());
            if now.to_arrive == 0 && !waiting {
                if now.filling.is_empty() {
                    break;
                }
                if !closed {
                    self.command("close");
                    closed = true;
                }
            }
            assert!(
                Instant::now() < deadline,
                "the cell never emptied: {now:?}\n{}",
                self.0.log.join("\n")
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        self.command("status");
        self.wait_for("packs in the case being filled");
        self.0.quit()
    }

    fn kill(self) {
        self.0.kill();
    }
}

/// Judges the cell against the store; every counted pack is accounted for.
fn judge(db: &Path, truth: &CaseCellTruth, log: &[String]) -> CaseJudgement {
    let store = Store::open(db).expect("store");
    let judged = judge_cases(&store, BatchId(1), truth).expect("judged");
    assert!(
        judged.problems.is_empty(),
        "{:#?}\n{truth:#?}\n{}",
        judged.problems,
        log.join("\n")
    );
    let counted: usize = truth.cases.iter().map(|c| c.counted.len()).sum();
    assert_eq!(counted, 25, "every good pack was counted into a case");
    judged
}

#[test]
fn every_case_is_checked_in_one_picture_labelled_and_released_or_reworked() {
    let faults = CaseFaults {
        missing_pack: 0.25,
        extra_pack: 0.15,
        duplicate_code: 0.25,
        unreadable_code: 0.25,
        label_no_read: 0.25,
        label_misprint: 0.1,
    };
    // Two seeds: between them every fault of the cell happens at least once.
    let mut all = String::new();
    for seed in [1, 7] {
        let dir = tempfile::tempdir().expect("tempdir");
        let (db, packs) = batch_with_cases_of_four(dir.path());
        let (addrs, truth_path) = cell(dir.path(), packs, faults, seed);
        let mut station = Station::start(&db, &addrs, 1);
        station.wait_for("ready");
        let log = station.finish(&truth_path);
        let truth = truth(&truth_path);
        let judged = judge(&db, &truth, &log);
        let text = log.join("\n");
        assert_eq!(judged.released + judged.reworked, 7, "{text}");
        assert!(judged.released >= 1 && judged.reworked >= 1, "{text}");
        // Each rework names its cause, and its packs stay loose; the audit trail
        // records it.
        for line in log.iter().filter(|l| l.contains("to the rework lane")) {
            assert!(line.ends_with("its packs stay loose"), "{line}");
        }
        let store = Store::open(&db).expect("store");
        for case in truth
            .cases
            .iter()
            .filter(|c| c.exit == Some(case_cell::CaseExit::Rework))
        {
            let subject = format!("case {} of batch 1", case.number);
            assert!(
                store.case_sent_to_rework(&subject).expect("audit"),
                "{subject} is in the audit trail"
            );
        }
        all.push_str(&text);
    }
    for cause in [
        "is in the case but was not put into it",
        "was put into the case but is not in the image",
        "a code printed twice",
        "the code cannot be read",
        "label not verified after 1 print",
        "the case being filled closes now (partial)",
    ] {
        assert!(all.contains(cause), "no {cause:?} in\n{all}");
    }
}

#[test]
fn kill_9_at_every_step_of_a_case_loses_and_duplicates_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (db, packs) = batch_with_cases_of_four(dir.path());
    let faults = CaseFaults {
        missing_pack: 0.3,
        label_no_read: 0.2,
        ..CaseFaults::default()
    };
    let (addrs, truth_path) = cell(dir.path(), packs, faults, 3);
    let mut station = Station::start(&db, &addrs, 3);
    station.wait_for("ready");
    // A fixed sequence of kills, so that a failure replays: right after the case
    // is built (before its label), after its label is sent (before the read),
    // after the release or the diversion is sent. (Seed 3 sends cases 3 to 5 to
    // rework and builds case 6, the last full one.)
    for (what, delay_ms) in [
        ("to the rework lane", 0),
        ("built", 0),
        ("printed", 0),
        ("released", 0),
    ] {
        station.wait_for(what);
        std::thread::sleep(Duration::from_millis(delay_ms));
        station.kill();
        station = Station::start(&db, &addrs, 3);
        station.wait_for("ready");
    }
    let log = station.finish(&truth_path);
    let truth = truth(&truth_path);
    let judged = judge(&db, &truth, &log);
    assert_eq!(judged.released + judged.reworked, 7, "{}", log.join("\n"));
    assert!(judged.released >= 3, "{truth:#?}\n{}", log.join("\n"));
    assert!(judged.reworked >= 1, "{truth:#?}\n{}", log.join("\n"));
}

#[test]
fn bad_start_up_input_is_refused_with_what_to_do() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (db, _) = batch_with_cases_of_four(dir.path());
    let station = |args: &[&str]| {
        let mut all = vec![
            "case-station",
            "--plc",
            "127.0.0.1:9",
            "--camera",
            "127.0.0.1:9",
            "--label-printer",
            "127.0.0.1:9",
            "--label-scanner",
            "127.0.0.1:9",
        ];
        all.extend_from_slice(args);
        let out = run(&db, &all);
        assert!(!out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stderr).to_string()
    };
    let cases: [(&[&str], &str); 4] = [
        (
            &["--batch", "9"],
            "batch 9 is not in this store: `batch list` shows the batches",
        ),
        (
            &["--batch", "1", "--layout", "1x3"],
            "a 1x3 layout has 3 places: a case of 4 packs needs more",
        ),
        (
            &["--batch", "1", "--layout", "three"],
            "is not a case layout: write ROWSxCOLS",
        ),
        (
            &["--batch", "1", "--label-attempts", "0"],
            "--label-attempts must be at least 1",
        ),
    ];
    for (args, message) in cases {
        let err = station(args);
        assert!(err.contains(message), "{args:?}: {err}");
        assert!(!err.contains("panicked") && !err.contains("{ "), "{err}");
    }
}

/// What the camera reads of a case holding `serials`.
fn seen(gtin: &Gtin, serials: &[String]) -> Vec<PlaceRead> {
    serials
        .iter()
        .map(|serial| PlaceRead::Pack {
            gtin: gtin.clone(),
            serial: serial.clone(),
            lot: Some(LOT.to_string()),
        })
        .collect()
}

/// The decisions' settings for batch 1 with cases of 4.
fn cases_of_four(gtin: &Gtin, label_attempts: u32) -> CaseSettings {
    CaseSettings {
        batch: BatchId(1),
        gtin: gtin.clone(),
        lot: LOT.to_string(),
        capacity: 4,
        partial_allowed: true,
        label_attempts,
        printer_name: "test printer".to_string(),
    }
}

/// The cell as the decisions see it: a picture per case, labels read back as
/// printed, and a PLC whose next `fail_sends` commands are lost (the link
/// dropped, or the station died before writing them).
#[derive(Default)]
struct Recorded {
    pictures: Vec<PlaceRead>,
    /// Label reads to send instead of the label printed, first first.
    label_reads: Vec<String>,
    fail_sends: usize,
    sent: Vec<(u32, CaseExit)>,
    labels: usize,
    said: Vec<String>,
}

impl CaseCellIo for Recorded {
    fn picture(&mut self, _number: u32) -> Result<Vec<PlaceRead>, String> {
        Ok(self.pictures.clone())
    }
    fn print_label(&mut self, zpl: &[u8]) -> Result<(), String> {
        assert!(!zpl.is_empty());
        self.labels += 1;
        Ok(())
    }
    fn forget_label_reads(&mut self) {}
    fn next_label_read(&mut self) -> Option<String> {
        if !self.label_reads.is_empty() {
            return Some(self.label_reads.remove(0));
        }
        // The label scanner reads back the SSCC of the last label recorded.
        let printed = self.said.iter().rev().find_map(|l| {
            l.strip_prefix("label of case ")
                .and_then(|rest| rest.split_whitespace().next())
        })?;
        Some(format!("]C100{printed}"))
    }
    fn send_case(&mut self, number: u32, exit: CaseExit) -> Result<(), String> {
        if self.fail_sends > 0 {
            self.fail_sends -= 1;
            return Err("case packer PLC: connection reset".to_string());
        }
        self.sent.push((number, exit));
        Ok(())
    }
    fn say(&mut self, line: &str) {
        self.said.push(line.to_string());
    }
}

#[test]
fn a_command_the_plc_never_heard_is_sent_again_without_deciding_again() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (db, _) = batch_with_cases_of_four(dir.path());
    let store = Store::open(&db).expect("store");
    let serials = store
        .good_exit_serials(BatchId(1), 0, 8)
        .expect("good exits");
    // Reading on after a known item gives what counting from the start gives.
    use serialstation::store::containers::GoodExitsFrom;
    let all = store
        .good_exits(BatchId(1), GoodExitsFrom::Index(0), 100)
        .expect("good exits");
    for at in [0, 3, 11, 24] {
        let after = store
            .good_exits(BatchId(1), GoodExitsFrom::AfterItem(all[at].0), 5)
            .expect("read on");
        let counted = store
            .good_exits(BatchId(1), GoodExitsFrom::Index(at as u64 + 1), 5)
            .expect("counted");
        assert_eq!(after, counted, "after good exit {at}");
    }
    let gtin = Gtin::parse(GTIN).expect("gtin");
    let seen = |serials: &[String]| seen(&gtin, serials);
    let settings = cases_of_four(&gtin, 2);
    let io = Recorded {
        pictures: seen(&serials[..4]),
        fail_sends: 1,
        ..Recorded::default()
    };
    let mut station = CaseStation::new(store, settings.clone(), Actor::new("test"), io);
    let first = WaitingCase {
        number: 1,
        first_pack: 0,
        packs: 4,
    };
    // Built, labelled and verified; the release is lost. Handled again (as after
    // a restart), the same case is released once, with no second SSCC or label.
    station.handle(first).expect_err("the release is lost");
    let again = station.handle(first).expect("handled again");
    let Handled::Released(sscc) = again else {
        panic!("{again:?}: {:?}", station.io().said)
    };
    let io = station.io();
    assert_eq!(io.labels, 1, "{:?}", io.said);
    assert_eq!(station.io().sent, [(1, CaseExit::Release)]);

    // A case whose picture misses a pack: recorded for rework, the diversion is
    // lost; handled again, it goes to rework without a second picture deciding.
    let second = WaitingCase {
        number: 2,
        first_pack: 4,
        packs: 4,
    };
    station.io().pictures = seen(&serials[4..7]);
    station.io().fail_sends = 1;
    station.handle(second).expect_err("the diversion is lost");
    // Whatever the camera would now see, the recorded decision stands.
    station.io().pictures = seen(&serials[4..8]);
    let again = station.handle(second).expect("handled again");
    assert!(
        matches!(&again, Handled::Reworked(why) if why.contains("before the station restarted")),
        "{again:?}"
    );
    assert_eq!(
        station.io().sent,
        [(1, CaseExit::Release), (2, CaseExit::Rework)]
    );
    let store = Store::open(&db).expect("store");
    let tree = store.container_tree(&sscc).expect("the first case");
    assert_eq!(tree.container.state, ContainerState::Verified);
    assert_eq!(tree.packs.len(), 4);
    for serial in &serials[4..8] {
        let pack = Scanned::Pack {
            gtin: gtin.clone(),
            serial: serial.clone(),
        };
        assert!(
            store.container_holding(&pack).expect("lookup").is_none(),
            "pack {serial} of the reworked case is loose"
        );
    }
}

#[test]
fn a_label_of_another_case_a_reset_count_and_an_overfull_case_go_to_rework() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (db, _) = batch_with_cases_of_four(dir.path());
    let store = Store::open(&db).expect("store");
    let serials = store
        .good_exit_serials(BatchId(1), 0, 12)
        .expect("good exits");
    let gtin = Gtin::parse(GTIN).expect("gtin");
    let seen = |serials: &[String]| seen(&gtin, serials);
    let settings = cases_of_four(&gtin, 3);
    let io = Recorded {
        pictures: seen(&serials[..4]),
        ..Recorded::default()
    };
    let mut station = CaseStation::new(store, settings, Actor::new("test"), io);
    let case = |number: u32, first_pack: u32, packs: u16| WaitingCase {
        number,
        first_pack,
        packs,
    };
    let Handled::Released(first) = station.handle(case(1, 0, 4)).expect("case 1") else {
        panic!("{:?}", station.io().said)
    };

    // Case 2's label reads as case 1's SSCC (the printer printed the last label
    // again): the wrong label is on the case; no reprint, rework at once.
    station.io().pictures = seen(&serials[4..8]);
    station.io().label_reads = vec![format!("]C100{first}")];
    let handled = station.handle(case(2, 4, 4)).expect("case 2");
    assert!(
        matches!(&handled, Handled::Reworked(why) if why.contains("does not verify as case")),
        "{handled:?}"
    );
    let io = station.io();
    assert_eq!(io.labels, 2, "no reprint: {:?}", io.said);

    // The case packer's count is reset: "case 1" from pack 0 again, but the
    // case at the station holds other packs. It goes to rework; case 1 stays.
    station.io().pictures = seen(&serials[8..12]);
    let handled = station.handle(case(1, 0, 4)).expect("reset count");
    assert!(
        matches!(&handled, Handled::Reworked(why) if why.contains("count reset")),
        "{handled:?}"
    );
    // A case counted over capacity.
    let handled = station.handle(case(3, 8, 5)).expect("overfull");
    assert!(
        matches!(&handled, Handled::Reworked(why) if why.contains("check its case capacity (HR 13)")),
        "{handled:?}"
    );
    assert_eq!(
        station.io().sent,
        [
            (1, CaseExit::Release),
            (2, CaseExit::Rework),
            (1, CaseExit::Rework),
            (3, CaseExit::Rework)
        ]
    );
    let store = Store::open(&db).expect("store");
    let tree = store.container_tree(&first).expect("case 1");
    assert_eq!(
        tree.container.state,
        ContainerState::Verified,
        "case 1 stays"
    );
    assert_eq!(tree.packs.len(), 4);
    for serial in &serials[4..12] {
        let pack = Scanned::Pack {
            gtin: gtin.clone(),
            serial: serial.clone(),
        };
        assert!(
            store.container_holding(&pack).expect("lookup").is_none(),
            "pack {serial} is loose"
        );
    }
}
