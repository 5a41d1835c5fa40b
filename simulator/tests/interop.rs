//! The simulated PLC answers Modbus clients written elsewhere exactly as the
//! register map says: pymodbus (PyPI) and mbpoll (Debian). Each check is skipped
//! with a message when its tool is not installed, unless `CI` is set (then missing
//! tools fail the test). Install lines: see simulator/README.md.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::config;
use serialstation_simulator::Simulator;

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn missing(tool: &str, how: &str) {
    if std::env::var_os("CI").is_some() {
        panic!("{tool} is not installed and CI is set: {how}");
    }
    println!("skipped: {tool} not installed ({how})");
}

fn run(cmd: &mut Command) -> (bool, String) {
    match cmd.output() {
        Ok(out) => {
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            (out.status.success(), text)
        }
        Err(e) => (false, format!("cannot run: {e}")),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pymodbus_client_sees_the_register_map() {
    let python = std::env::var_os("PYMODBUS_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target/pyvenv-modbus/bin/python"));
    if !python.exists() {
        return missing(
            "pymodbus",
            "python3 -m venv target/pyvenv-modbus && target/pyvenv-modbus/bin/pip install pymodbus",
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let sim = Simulator::start(config(&dir)).await.unwrap();
    let port = sim.addresses().plc.port().to_string();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/interop/pymodbus_check.py");
    let (ok, output) = tokio::task::spawn_blocking(move || {
        run(Command::new(python).arg(script).arg("127.0.0.1").arg(port))
    })
    .await
    .unwrap();
    println!("{output}");
    assert!(ok, "pymodbus checks failed:\n{output}");
    sim.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mbpoll_sees_the_register_map() {
    if run(Command::new("mbpoll").arg("-V"))
        .1
        .contains("cannot run")
    {
        return missing("mbpoll", "apt-get install -y mbpoll");
    }
    let dir = tempfile::tempdir().unwrap();
    let sim = Simulator::start(config(&dir)).await.unwrap();
    let port = sim.addresses().plc.port().to_string();
    // -0: 0-based addresses; -1: poll once; -t 3 input registers, 4 holding, 0 coils.
    // Options, then the host, then the values to write (if any).
    let mbpoll = move |args: &[&str], values: &[&str]| {
        let mut cmd = Command::new("mbpoll");
        cmd.args(["-m", "tcp", "-a", "1", "-0", "-1", "-p", &port])
            .args(args)
            .arg("127.0.0.1")
            .args(values);
        run(&mut cmd)
    };
    let (ok, out) = tokio::task::spawn_blocking({
        let mbpoll = mbpoll.clone();
        move || mbpoll(&["-t", "3", "-r", "0", "-c", "22"], &[])
    })
    .await
    .unwrap();
    assert!(ok, "{out}");
    assert!(out.contains("[0]: \t1"), "map version 1:\n{out}");
    assert!(out.contains("[2]: \t4"), "state Idle:\n{out}");
    let checks: [(&[&str], &[&str], &str); 5] = [
        (
            &["-t", "3", "-r", "0", "-c", "23"],
            &[],
            "Illegal data address",
        ),
        (&["-t", "0", "-r", "0", "-c", "1"], &[], "Illegal function"),
        (&["-t", "4", "-r", "0"], &["10"], "Illegal data value"),
        (&["-t", "4", "-r", "100"], &["1"], "Illegal data address"),
        (
            &["-t", "4", "-r", "50", "-c", "1"],
            &[],
            "Illegal data address",
        ),
    ];
    for (args, values, expected) in checks {
        let mbpoll = mbpoll.clone();
        let (ok, out) = tokio::task::spawn_blocking(move || mbpoll(args, values))
            .await
            .unwrap();
        assert!(
            !ok && out.contains(expected),
            "mbpoll {args:?} {values:?}: expected {expected}:\n{out}"
        );
    }
    let (ok, out) = tokio::task::spawn_blocking(move || mbpoll(&["-t", "4", "-r", "0"], &["2"]))
        .await
        .unwrap();
    assert!(ok, "Start command written:\n{out}");
    sim.shutdown().await.unwrap();
}
