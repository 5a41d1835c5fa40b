//! Interoperability: the PLC driver against a Modbus/TCP server nobody here
//! wrote (pymodbus, `tests/support/pymodbus_plc.py`), whose datastore is laid
//! out per the register map. Needs pymodbus in the venv
//! `target/pyvenv-modbus` (or the interpreter named by `PYMODBUS_PYTHON`);
//! skipped with a message when it is missing, unless `CI` is set.

mod support;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serialstation_devices::plc::register_map::{
    AlarmBits, FateCode, PackMlCommand, PackMlState, VerdictCode, VerdictSlot,
};
use serialstation_devices::plc::{ModbusPlc, PlcConfig};
use serialstation_devices::traits::{DeviceError, DeviceEventKind, LineIo};
use support::{HANG_GUARD, loopback_link, wait_for, wait_up};
use tokio::sync::mpsc;

/// Kills the server process when the test ends, however it ends.
struct ServerProcess(Child);

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn python_with_pymodbus() -> Option<PathBuf> {
    let candidate = std::env::var_os("PYMODBUS_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../target/pyvenv-modbus/bin/python"
            ))
        });
    let works = Command::new(&candidate)
        .args(["-c", "import pymodbus"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    works.then_some(candidate)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free loopback port")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn driver_works_against_a_pymodbus_server() {
    let Some(python) = python_with_pymodbus() else {
        let hint =
            "python3 -m venv target/pyvenv-modbus && target/pyvenv-modbus/bin/pip install pymodbus";
        if std::env::var_os("CI").is_some() {
            panic!("pymodbus is required in CI: {hint}");
        }
        eprintln!("skipped: pymodbus not installed ({hint})");
        return;
    };
    let port = free_port();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/pymodbus_plc.py");
    let _server = ServerProcess(
        Command::new(python)
            .arg(script)
            .arg(port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the pymodbus server"),
    );
    let address: std::net::SocketAddr = ([127, 0, 0, 1], port).into();
    let started = tokio::time::Instant::now();
    while tokio::net::TcpStream::connect(address).await.is_err() {
        assert!(
            started.elapsed() < HANG_GUARD,
            "the pymodbus server did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let (events_tx, mut events) = mpsc::channel(256);
    let mut config = PlcConfig::new(loopback_link("pymodbus-plc", address));
    config.link.request_timeout = Duration::from_secs(2);
    config.fate_cursor = Some(0);
    let plc = ModbusPlc::spawn(config, events_tx);
    wait_up(&mut events).await;

    let status = plc.read_status().await.expect("status block");
    assert_eq!(status.heartbeat, 7);
    assert_eq!(status.state, PackMlState::Execute);
    assert_eq!(status.alarms, AlarmBits(AlarmBits::BIN_FULL));
    assert_eq!(status.items_detected, 70_001);
    assert_eq!(status.camera_trigger_count, 70_000);
    assert_eq!(status.gate_count, 3);
    assert_eq!(status.good_exit_count, 69_000);
    assert_eq!(status.reject_fired_count, 990);
    assert_eq!(status.reject_confirmed_count, 989);
    assert_eq!(status.encoder_count, 4_294_967_290);
    assert_eq!(status.line_speed_per_min, 600);
    assert_eq!(status.consecutive_rejects, 2);
    assert_eq!(status.fate_write_count, 4);

    let mut fates = Vec::new();
    while fates.len() < 3 {
        fates.push(
            wait_for(&mut events, |kind| match kind {
                DeviceEventKind::ItemFate { seq, fate } => Some((*seq, *fate)),
                _ => None,
            })
            .await,
        );
    }
    assert_eq!(
        fates,
        vec![
            (0, FateCode::ExitedGood),
            (1, FateCode::RejectedConfirmed),
            (2, FateCode::RejectedUnconfirmed)
        ]
    );
    let written: Vec<u32> = plc
        .read_fates(0, 5)
        .await
        .expect("fates")
        .iter()
        .map(|slot| slot.seq)
        .collect();
    assert_eq!(written, vec![0, 1, 2, 4], "seq 3 has no final fate yet");

    plc.write_verdict(70_000, true).await.expect("verdict");
    plc.write_verdict(70_255, false)
        .await
        .expect("verdict at the ring's end");
    assert_eq!(
        plc.read_verdict_slot(70_000).await.expect("slot"),
        VerdictSlot {
            seq: 70_000,
            verdict: VerdictCode::Good
        }
    );
    assert_eq!(
        plc.read_verdict_slot(70_255).await.expect("slot"),
        VerdictSlot {
            seq: 70_255,
            verdict: VerdictCode::Reject
        }
    );
    plc.command(PackMlCommand::Stop).await.expect("command");
    assert_eq!(
        plc.read_holding_registers(0, 1)
            .await
            .expect("command register"),
        vec![3]
    );
    plc.set_consecutive_reject_limit(4).await.expect("limit");
    assert_eq!(
        plc.read_holding_registers(1, 1)
            .await
            .expect("limit register"),
        vec![4]
    );

    let outside = plc.read_input_registers(500, 2).await;
    assert!(
        matches!(&outside, Err(DeviceError::Refused { detail, .. }) if detail.contains("exception 02")),
        "{outside:?}"
    );
    assert!(
        plc.read_status().await.is_ok(),
        "the link survives an exception"
    );
}
