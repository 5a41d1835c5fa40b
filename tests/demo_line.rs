//! The line demo end to end: the real `serialstation` binary runs one batch on the
//! in-process simulated line (real sockets, real SQLite, real DataMatrix images)
//! and judges the invariants from the simulator's ground truth, the store and the
//! simulated site server; the closed batch's packs go into cases of 12 on pallets of
//! 4 (the example client's hierarchy; pallets on the real pallet station over the
//! simulated pallet cell, judged from the cell's ground truth), and the site
//! server must hold exactly that.

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
    // Every commissioned pack is in a case, every case on a pallet.
    let packs: u64 = items.parse().expect("items");
    let aggregation = &json["aggregation"];
    assert_eq!(
        aggregation["packs_aggregated"].as_u64(),
        Some(packs),
        "{json}"
    );
    assert_eq!(aggregation["packs_loose"], 0, "{json}");
    let cases = packs.div_ceil(12);
    assert_eq!(aggregation["levels"][0]["level"], "case", "{json}");
    assert_eq!(aggregation["levels"][0]["verified"].as_u64(), Some(cases));
    assert_eq!(aggregation["levels"][1]["level"], "pallet", "{json}");
    assert_eq!(
        aggregation["levels"][1]["verified"].as_u64(),
        Some(cases.div_ceil(4))
    );
    assert!(stdout.contains("aggregation: "), "{stdout}");
    assert!(
        stdout.contains(&format!("pallet station: {cases} cases over the stacker")),
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
