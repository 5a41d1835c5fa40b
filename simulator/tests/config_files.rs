//! The shipped configurations: simulator/line.toml loads, its devices and line are
//! those of the station's config/line.toml, and the built-in default is the same
//! line; the binary prints its addresses and refuses a bad config clearly.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serialstation_simulator::SimConfig;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn simulator_config_matches_the_station_config() {
    let sim = SimConfig::load(&repo().join("simulator/line.toml")).unwrap();
    let station_text = std::fs::read_to_string(repo().join("config/line.toml")).unwrap();
    // The station's file has the same [line], [printer], [camera], [plc] sections.
    let station = SimConfig::parse(&station_text, "config/line.toml").unwrap();
    assert_eq!(sim.line, station.line);
    assert_eq!(sim.printer.kind, station.printer.kind);
    assert_eq!(sim.printer.address, station.printer.address);
    assert_eq!(sim.camera, station.camera);
    assert_eq!(sim.plc, station.plc);
    let default = SimConfig::default_line();
    assert_eq!(default.line, station.line);
    assert_eq!(default.printer, station.printer);
    assert_eq!(default.camera, station.camera);
    assert_eq!(default.plc, station.plc);
}

#[test]
fn bad_config_names_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    let text = std::fs::read_to_string(repo().join("simulator/line.toml"))
        .unwrap()
        .replace("camera_mm = 400.0", "camera_mm = 10.0");
    std::fs::write(&path, text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_serialstation-sim"))
        .arg("--config")
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.toml:") && err.contains("[line] camera_mm"),
        "{err}"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_serialstation-sim"))
        .arg("--config")
        .arg(dir.path().join("missing.toml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read the config file"));
}

#[test]
fn binary_prints_one_line_per_device_and_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("line.toml");
    let text = std::fs::read_to_string(repo().join("simulator/line.toml"))
        .unwrap()
        .replace(":3002\"", ":0\"")
        .replace(":2323\"", ":0\"")
        .replace(":5020\"", ":0\"")
        .replace(":7878\"", ":0\"");
    std::fs::write(&path, text).unwrap();
    let truth = dir.path().join("truth.sqlite");
    let mut child = Command::new(env!("CARGO_BIN_EXE_serialstation-sim"))
        .arg("--config")
        .arg(&path)
        .arg("--ground-truth")
        .arg(&truth)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if line == "ready" {
            break;
        }
        lines.push(line);
    }
    let starts: Vec<&str> = lines.iter().map(|l| l.split(' ').next().unwrap()).collect();
    assert_eq!(
        starts,
        [
            "printer",
            "camera",
            "plc",
            "control",
            "ground_truth",
            "imaging"
        ],
        "{lines:?}"
    );
    for line in &lines[..4] {
        let addr = line.split(' ').nth(2).unwrap();
        let addr: std::net::SocketAddr = addr.parse().unwrap();
        assert!(addr.ip().is_loopback() && addr.port() != 0, "{line}");
    }
    let status = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
    assert!(child.wait().unwrap().success());
    let gt = serialstation_simulator::GroundTruth::open(&truth).unwrap();
    assert_eq!(gt.run_info("seed").unwrap().as_deref(), Some("1"));
}
