//! `serialstation gs1` command-line contract: exit codes 0 (valid), 1 (invalid, one
//! line on stderr), 2 (usage), and the `--json` object other tools read.

use std::process::{Command, Output};

fn gs1(args: &[&str]) -> Output {
    match Command::new(env!("CARGO_BIN_EXE_serialstation"))
        .arg("gs1")
        .args(args)
        .output()
    {
        Ok(out) => out,
        Err(e) => panic!("cannot run serialstation: {e}"),
    }
}

fn json_of(out: &Output) -> serde_json::Value {
    match serde_json::from_slice(&out.stdout) {
        Ok(v) => v,
        Err(e) => panic!(
            "stdout is not one JSON object ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        ),
    }
}

const SCAN: &str = "]d2010950600013435217261231\
10ABC123\u{1d}21SN0001";

#[test]
fn valid_scan_data_with_a_literal_gs_byte() {
    let out = gs1(&["check", SCAN, "--json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json = json_of(&out);
    assert_eq!(json["valid"], true);
    assert_eq!(
        json["element_string"],
        "^01095060001343521726123110ABC123^21SN0001"
    );
    assert_eq!(
        json["hri"],
        "(01)09506000134352(17)261231(10)ABC123(21)SN0001"
    );
    assert_eq!(json["ais"][3]["ai"], "21");
    assert_eq!(json["ais"][3]["value"], "SN0001");
    assert_eq!(
        json["digital_link"],
        "https://id.gs1.org/01/09506000134352/10/ABC123/21/SN0001?17=261231"
    );
    assert!(json.get("error").is_none());
}

#[test]
fn every_read_form_is_accepted() {
    for data in [
        "(01)09506000134352(17)261231(10)ABC123(21)SN0001",
        "^01095060001343521726123110ABC123^21SN0001",
        "https://id.gs1.org/01/09506000134352/10/ABC123/21/SN0001?17=261231",
        "]d1https://id.gs1.org/01/09506000134352",
        SCAN,
    ] {
        let out = gs1(&["check", data]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{data}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn invalid_data_exits_1_with_one_line() {
    let out = gs1(&["check", "(01)09506000134353"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.trim_end(),
        "AI (01): check digit should be 2, found 3 (GTIN 09506000134353)"
    );
    assert_eq!(stderr.trim_end().lines().count(), 1);

    let out = gs1(&["check", "(01)09506000134352(17)260230", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let json = json_of(&out);
    assert_eq!(json["valid"], false);
    assert_eq!(
        json["error"],
        "AI (17): 260230 is not a date: February 2026 has 28 days"
    );
    assert!(json.get("hri").is_none() && json.get("ais").is_none());

    let out = gs1(&["check", "]d10109506000134352"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not GS1"));
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(gs1(&["check"]).status.code(), Some(2));
    assert_eq!(gs1(&["check", "x", "--bogus"]).status.code(), Some(2));
    assert_eq!(
        gs1(&["convert", "(01)09506000134352", "--to", "pdf"])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn convert_and_epc() {
    let out = gs1(&[
        "convert",
        "https://id.gs1.org/01/09506000134352/21/SN1?17=261231",
        "--to",
        "hri",
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim_end(),
        "(01)09506000134352(21)SN1(17)261231"
    );
    let out = gs1(&["convert", "(01)09506000134352(21)SN1", "--to", "scan"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim_end(),
        "]d2010950600013435221SN1"
    );
    let out = gs1(&[
        "epc",
        "--gtin",
        "09506000134352",
        "--gcp-length",
        "7",
        "--serial",
        "SN0001",
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim_end(),
        "urn:epc:id:sgtin:9506000.013435.SN0001"
    );
    let out = gs1(&[
        "epc",
        "--gtin",
        "09506000134352",
        "--gcp-length",
        "13",
        "--serial",
        "SN0001",
    ]);
    assert_eq!(out.status.code(), Some(1));
}
