//! The control endpoint: newline-delimited JSON commands over TCP on loopback (one
//! JSON object per line in, one per line out) to change faults and line conditions
//! at run time, read the line status, and flush the ground truth. The same
//! [`Control`] handle serves tests in-process.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::faults::{FaultKind, FaultSpec};
use crate::imaging::DEFECT_KINDS;
use crate::model::{Alarm, PackMlCommand};
use crate::runtime::core::{SharedCore, lock};
use crate::runtime::net::wait_true;

/// One control command. On the wire: `{"cmd":"set_fault","fault":"camera_no_read","rate":0.1}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case")]
pub enum ControlRequest {
    /// Line state, counters, alarms and faults.
    Status,
    /// Sets (replaces) one fault's schedule.
    SetFault {
        fault: FaultKind,
        #[serde(flatten)]
        spec: FaultSpec,
    },
    ClearFault {
        fault: FaultKind,
    },
    ClearFaults,
    /// Lists the faults set now.
    Faults,
    /// A PackML command as an operator panel would give it.
    Command {
        command: PackMlCommand,
    },
    /// Changes the feed rate, items per minute.
    SetRate {
        items_per_min: f64,
    },
    BinFull,
    EmptyBin,
    BinDoor {
        open: bool,
    },
    Jam,
    ClearJam,
    /// Commits every ground-truth row written so far.
    Flush,
}

/// The control handle (cheap to clone).
#[derive(Clone)]
pub struct Control {
    core: SharedCore,
}

impl Control {
    pub fn new(core: SharedCore) -> Control {
        Control { core }
    }

    /// Parses and applies one JSON line; always returns a JSON reply.
    pub fn apply_line(&self, line: &str) -> Value {
        match serde_json::from_str::<ControlRequest>(line) {
            Ok(request) => self.apply(request),
            Err(e) => json!({
                "ok": false,
                "error": format!("bad command ({e}); send one JSON object per line such as {{\"cmd\":\"status\"}}"),
            }),
        }
    }

    /// Applies one command.
    pub fn apply(&self, request: ControlRequest) -> Value {
        let mut core = lock(&self.core);
        let mut events = Vec::new();
        let reply = match request {
            ControlRequest::Status => return json!({"ok": true, "status": status_json(&core)}),
            ControlRequest::SetFault { fault, spec } => {
                if let Err((field, msg)) = spec.validate() {
                    return json!({"ok": false, "error": format!("{}: {field} {msg}", fault.name())});
                }
                if let Some(bad) = spec
                    .kinds
                    .iter()
                    .find(|k| !DEFECT_KINDS.contains(&k.as_str()))
                {
                    return json!({"ok": false, "error": format!("unknown defect `{bad}`; known: {}", DEFECT_KINDS.join(", "))});
                }
                core.set_fault(fault, spec);
                json!({"ok": true})
            }
            ControlRequest::ClearFault { fault } => {
                core.model.faults.clear(fault);
                core.note("fault", format!("{} cleared", fault.name()));
                json!({"ok": true})
            }
            ControlRequest::ClearFaults => {
                core.model.faults.clear_all();
                core.note("fault", "all faults cleared".into());
                json!({"ok": true})
            }
            ControlRequest::Faults => {
                return json!({"ok": true, "faults": faults_json(&core)});
            }
            ControlRequest::Command { command } => {
                let accepted = core.model.command(command, &mut events);
                json!({"ok": accepted, "state": core.model.plc.state, "error": if accepted { Value::Null } else { json!(format!("{command:?} is not valid in state {:?}", core.model.plc.state)) }})
            }
            ControlRequest::SetRate { items_per_min } => {
                if !(items_per_min.is_finite() && items_per_min > 0.0 && items_per_min <= 120_000.0)
                {
                    return json!({"ok": false, "error": "items_per_min must be between 0 and 120000"});
                }
                core.model.set_rate(items_per_min);
                core.note("control", format!("rate set to {items_per_min} items/min"));
                json!({"ok": true})
            }
            ControlRequest::BinFull => {
                core.model.raise_alarm(Alarm::BinFull, &mut events);
                json!({"ok": true})
            }
            ControlRequest::EmptyBin => {
                core.model.empty_bin();
                core.note("control", "reject bin emptied".into());
                json!({"ok": true})
            }
            ControlRequest::BinDoor { open } => {
                core.model.set_bin_door_open(open, &mut events);
                core.note(
                    "control",
                    format!("bin door {}", if open { "opened" } else { "closed" }),
                );
                json!({"ok": true})
            }
            ControlRequest::Jam => {
                core.model.raise_alarm(Alarm::Jam, &mut events);
                json!({"ok": true})
            }
            ControlRequest::ClearJam => {
                core.model.clear_jam();
                core.note("control", "jam cleared".into());
                json!({"ok": true})
            }
            ControlRequest::Flush => {
                let writer = core.writer().cloned();
                drop(core);
                return match writer.map(|w| w.flush()) {
                    Some(Err(e)) => json!({"ok": false, "error": e.to_string()}),
                    _ => json!({"ok": true}),
                };
            }
        };
        let _ = core.handle_events(events);
        reply
    }
}

fn faults_json(core: &crate::runtime::core::LineCore) -> Value {
    let map: serde_json::Map<String, Value> = core
        .model
        .faults
        .specs()
        .iter()
        .map(|(k, v)| {
            (
                k.name().to_string(),
                serde_json::to_value(v).unwrap_or(Value::Null),
            )
        })
        .collect();
    Value::Object(map)
}

fn status_json(core: &crate::runtime::core::LineCore) -> Value {
    let m = &core.model;
    let p = &m.plc;
    json!({
        "state": p.state,
        "alarms": p.active_alarms(),
        "encoder": m.encoder(),
        "items_entered": m.items_entered(),
        "items_in_flight": m.items_in_flight(),
        "items_detected": p.items_detected,
        "camera_trigger_count": p.camera_trigger_count,
        "gate_count": p.gate_count,
        "good_exit_count": p.good_exit_count,
        "reject_fired_count": p.reject_fired_count,
        "reject_confirmed_count": p.reject_confirm_count,
        "consecutive_rejects": p.consecutive_rejects,
        "bin_level": p.bin_level,
        "rate_per_min": m.rate_per_min(),
        "printer_buffer": core.printer.buffer_len(),
        "printer_running": core.printer.running,
        "images": core.images,
        "faults": faults_json(core),
    })
}

/// Longest command line accepted.
const MAX_LINE: usize = 64 * 1024;

async fn serve_client(stream: TcpStream, control: Control, mut shutdown: watch::Receiver<bool>) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    loop {
        tokio::select! {
            line = lines.next_line() => {
                let line = match line {
                    Ok(Some(line)) => line,
                    _ => return,
                };
                if line.trim().is_empty() {
                    continue;
                }
                let reply = if line.len() > MAX_LINE {
                    json!({"ok": false, "error": "command line too long"})
                } else {
                    let control = control.clone();
                    // Flush blocks on the writer thread: keep it off the async workers.
                    match tokio::task::spawn_blocking(move || control.apply_line(&line)).await {
                        Ok(reply) => reply,
                        Err(e) => json!({"ok": false, "error": format!("internal error: {e}")}),
                    }
                };
                let mut bytes = reply.to_string().into_bytes();
                bytes.push(b'\n');
                if write.write_all(&bytes).await.is_err() {
                    return;
                }
            }
            _ = wait_true(&mut shutdown) => return,
        }
    }
}

/// Accepts control connections until shutdown.
pub async fn serve(listener: TcpListener, control: Control, mut shutdown: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                if let Ok((stream, _)) = accepted {
                    tokio::spawn(serve_client(stream, control.clone(), shutdown.clone()));
                }
            }
            _ = wait_true(&mut shutdown) => return,
        }
    }
}
