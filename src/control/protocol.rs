//! The control protocol: requests, responses and the status report, as JSON lines.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Largest request or response line accepted (bytes).
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// One request to the daemon.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    /// Start a batch. `expiry` is GS1 YYMMDD.
    BatchStart {
        gtin: String,
        lot: String,
        expiry: String,
        quantity: u32,
        client: Option<String>,
        /// Known-bad items to feed first; production starts only if every one is
        /// rejected and confirmed (0 or absent: no challenge test).
        #[serde(default)]
        challenge: u32,
    },
    /// Pause the active batch (`batch`, when given, must be the active one).
    BatchPause { batch: Option<i64> },
    /// Resume a paused or held batch. After a consecutive-reject stop, or to go on
    /// after a failed challenge test, it needs a signature where users are enrolled.
    BatchResume {
        batch: Option<i64>,
        #[serde(default)]
        signature: Option<SignatureInput>,
    },
    /// Stop: no more prints, in-flight items finish. `abandon_in_flight` counts items
    /// whose fate is still unknown as rejected (when a device cannot come back).
    BatchStop {
        batch: Option<i64>,
        abandon_in_flight: bool,
    },
    /// Close the stopped batch; a batch that does not balance needs a reason and,
    /// where users are enrolled, a signature ("closed with reason").
    BatchClose {
        batch: Option<i64>,
        reason: Option<String>,
        #[serde(default)]
        signature: Option<SignatureInput>,
    },
    /// QA's release of a closed batch on its record: a signature ("approved").
    BatchRelease {
        batch: i64,
        #[serde(default)]
        comment: Option<String>,
        #[serde(default)]
        signature: Option<SignatureInput>,
    },
    /// Acknowledge an alarm by its id in the status report (or every alarm).
    AlarmAck {
        #[serde(default)]
        id: Option<u64>,
    },
    /// Who the caller is to the station: user name and role.
    Whoami,
    /// The daemon's status: devices, the active batch, recent alarms.
    Status,
    /// Take a commissioned (or printed) item out: `reason` is `sample`, `damaged`,
    /// `destroyed` or another word (decommissioned).
    ItemDecommission {
        serial: String,
        gtin: Option<String>,
        reason: String,
        #[serde(default)]
        signature: Option<SignatureInput>,
    },
    /// Stop the daemon (refused while a batch is running or paused).
    Shutdown,
}

/// An electronic signature as the caller gives it: the password entered again. The
/// signer is the caller (the socket's peer credentials); the meaning is the
/// request's own ("closed with reason", "approved", "decommissioned", ...).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignatureInput {
    pub password: String,
}

impl std::fmt::Debug for SignatureInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SignatureInput { password: <hidden> }")
    }
}

/// The daemon's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response {
    pub ok: bool,
    /// One line for the operator: what happened, or what was wrong and what to do.
    pub message: String,
    #[serde(default)]
    pub batch: Option<i64>,
    #[serde(default)]
    pub status: Option<StatusReport>,
}

impl Response {
    pub fn ok(message: impl Into<String>) -> Response {
        Response {
            ok: true,
            message: message.into(),
            batch: None,
            status: None,
        }
    }

    pub fn refused(message: impl Into<String>) -> Response {
        Response {
            ok: false,
            message: message.into(),
            batch: None,
            status: None,
        }
    }

    pub fn with_batch(mut self, batch: i64) -> Response {
        self.batch = Some(batch);
        self
    }
}

/// What `batch status` shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusReport {
    pub pid: u32,
    pub store: String,
    /// Set while a batch found unfinished at start-up is being recovered.
    pub recovering: Option<String>,
    pub devices: Vec<DeviceView>,
    /// The PLC's latched alarms in words (empty when none).
    pub plc_alarms: String,
    pub batch: Option<BatchView>,
    /// The latest alarms of the active batch, oldest first.
    pub alarms: Vec<String>,
    /// The same alarms with their ids, for acknowledgement.
    #[serde(default)]
    pub alarm_list: Vec<AlarmView>,
    /// Items decided per minute, one value per 10 seconds over the last 10 minutes,
    /// oldest first (for a sparkline).
    #[serde(default)]
    pub rate_history: Vec<f64>,
    /// The caller, as the station knows them.
    #[serde(default)]
    pub caller: Option<CallerView>,
}

/// One alarm of the active batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlarmView {
    pub id: u64,
    /// UTC time the daemon first reported it.
    pub at: String,
    pub text: String,
    pub acknowledged: bool,
}

/// The caller of a request: OS user name and station role ("unrestricted" while no
/// users are enrolled).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallerView {
    pub user: String,
    pub role: String,
}

/// One device's link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceView {
    pub name: String,
    pub online: bool,
    /// UTC time the link last changed (came up or went down), when known.
    #[serde(default)]
    pub since: Option<String>,
}

/// The active batch, live.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchView {
    pub id: i64,
    pub gtin: String,
    pub client: String,
    pub lot: String,
    pub expiry: String,
    /// Engine state: running, paused, stopping, stopped, ...
    pub state: String,
    pub hold: Option<String>,
    pub quantity: u64,
    pub commissioned: u64,
    pub good_verdicts: u64,
    pub rejects: u64,
    pub rejects_by_reason: BTreeMap<String, u64>,
    pub scrapped: u64,
    pub sampled: u64,
    pub invalidated: u64,
    pub returned: u64,
    pub allocated: u64,
    /// Items decided per minute over the last few seconds.
    pub rate_per_min: f64,
    /// Seconds until the quantity is reached at the current rate.
    pub eta_s: Option<f64>,
    pub printer_queue: u64,
    pub items_in_flight: u64,
    pub holds: u64,
}

impl BatchView {
    /// Whether the batch is finished producing (it can be closed).
    pub fn is_stopped(&self) -> bool {
        matches!(
            self.state.as_str(),
            "stopped" | "challenge_failed" | "closed"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip_as_one_json_line() {
        let requests = [
            Request::BatchStart {
                gtin: "09506000134352".into(),
                lot: "L1".into(),
                expiry: "281231".into(),
                quantity: 10,
                client: None,
                challenge: 0,
            },
            Request::BatchStop {
                batch: Some(3),
                abandon_in_flight: false,
            },
            Request::Status,
            Request::ItemDecommission {
                serial: "ABC".into(),
                gtin: None,
                reason: "sample".into(),
                signature: Some(SignatureInput {
                    password: "pw".into(),
                }),
            },
            Request::AlarmAck { id: Some(3) },
        ];
        for request in requests {
            let line = serde_json::to_string(&request).unwrap();
            assert!(!line.contains('\n'));
            assert_eq!(serde_json::from_str::<Request>(&line).unwrap(), request);
        }
    }

    #[test]
    fn unknown_commands_and_fields_are_refused() {
        assert!(serde_json::from_str::<Request>(r#"{"command":"format_disk"}"#).is_err());
        assert!(
            serde_json::from_str::<Request>(r#"{"command":"batch_pause","batch":1,"x":1}"#)
                .is_err()
        );
    }
}
