//! The line demo end to end: the real `serialstation` binary runs one batch on the
//! in-process simulated line (real sockets, real SQLite, real DataMatrix images)
//! and judges the invariants from the simulator's ground truth, the store and the
//! simulated site server; the closed batch's packs go into cases of 12 on pallets of
//! 4 (the example client's hierarchy; cases on the real case station over the
//! simulated case cell, pallets on the real pallet station over the simulated
//! pallet cell, each judged from its cell's ground truth), and the site server
//! must hold exactly that.

use std::process::Command;

fn run_demo(faults: &str, items: &str, seed: &str) {
    let workdir = tempfile::tempdir().expect("temp dir");
    let target = workdir.path().join("demo");
    let output = Command::new(env!("CARGO_BIN_EXE_serialstation"))
        .args(["demo", "--items", items, "--faults", faults, "--seed", seed])
        .arg("--workdir")
        .arg(&target)
        .output()
        .expect("the serialstation binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "demo --faults {faults} failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    for number in 1..=8 {
        let line = stdout
            .lines()
            .find(|line| line.starts_with(&format!("invariant {number} ")))
            .unwrap_or_else(|| panic!("no line for invariant {number}\n{stdout}"));
        assert!(line.contains(": ok - "), "{line}\n{stdout}");
    }
    assert!(stdout.contains("[balanced]"), "{stdout}");
    assert!(
        stdout.contains(&format!("commissioned {items} +")),
        "the whole quantity is commissioned\n{stdout}"
    );
    assert!(stdout.contains("line demo passed"), "{stdout}");

    // The batch report of the demo's store, as JSON, from the CLI.
    let report = Command::new(env!("CARGO_BIN_EXE_serialstation"))
        .arg("--db")
        .arg(target.join("serialstation.sqlite"))
        .args(["batch", "report", "1", "--json"])
        .output()
        .expect("the serialstation binary runs");
    assert!(report.status.success(), "{report:?}");
    let json: serde_json::Value =
        serde_json::from_slice(&report.stdout).expect("the report is JSON");
    assert_eq!(json["balanced"], serde_json::Value::Bool(true), "{json}");
    assert_eq!(json["state"], "closed", "{json}");
    assert_eq!(
        json["serials"]["commissioned"].as_u64(),
        items.parse::<u64>().ok()
    );
    // Cases on the case station: every commissioned pack is in a released case
    // or loose from a case sent to rework; every released case is on a pallet.
    let packs: u64 = items.parse().expect("items");
    let line = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("case station: "))
        .unwrap_or_else(|| panic!("the cases were built by the case station\n{stdout}"));
    let numbers: Vec<u64> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter(|w| !w.is_empty())
        .take(4)
        .map(|w| w.parse().expect("a count"))
        .collect();
    let [case_packs, cases, reworked, loose] = numbers[..] else {
        panic!("{line}")
    };
    assert_eq!(case_packs, packs, "{line}");
    assert_eq!(cases, packs.div_ceil(12), "{line}");
    let released = cases - reworked;
    let aggregation = &json["aggregation"];
    assert_eq!(
        aggregation["packs_aggregated"].as_u64(),
        Some(packs - loose),
        "{json}"
    );
    assert_eq!(aggregation["packs_loose"].as_u64(), Some(loose), "{json}");
    assert_eq!(aggregation["levels"][0]["level"], "case", "{json}");
    assert_eq!(
        aggregation["levels"][0]["verified"].as_u64(),
        Some(released)
    );
    assert_eq!(aggregation["levels"][1]["level"], "pallet", "{json}");
    assert_eq!(
        aggregation["levels"][1]["verified"].as_u64(),
        Some(released.div_ceil(4))
    );
    assert!(stdout.contains("aggregation: "), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "pallet station: {released} cases over the stacker"
        )),
        "the pallets were built by the pallet station\n{stdout}"
    );
}

#[test]
fn the_line_demo_with_default_faults_keeps_every_invariant() {
    run_demo("default", "200", "7");
}

#[test]
fn the_line_demo_with_harsh_faults_keeps_every_invariant() {
    run_demo("harsh", "200", "11");
}

#[test]
fn the_line_demo_refuses_a_folder_it_did_not_make() {
    let workdir = tempfile::tempdir().expect("temp dir");
    std::fs::write(workdir.path().join("precious.txt"), "keep me").expect("write");
    let output = Command::new(env!("CARGO_BIN_EXE_serialstation"))
        .args(["demo", "--items", "5", "--faults", "none"])
        .arg("--workdir")
        .arg(workdir.path())
        .output()
        .expect("the serialstation binary runs");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("was not made by the line demo"), "{stderr}");
    assert!(workdir.path().join("precious.txt").is_file());
}
