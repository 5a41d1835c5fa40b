//! Reject and stop supervision: which devices are online, the consecutive-reject
//! streak, and why the line is held. A hold stops the line; only a resume (with every
//! device back) lifts it.

use std::fmt;

use super::types::Device;

/// Why the batch is held (the line is stopped until resumed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HoldReason {
    Operator,
    DeviceDown(Device),
    ConsecutiveRejects(u32),
    RejectNotConfirmed,
    /// An item left the good exit without a GOOD verdict.
    ItemEscaped,
    PlcAlarm(String),
    SerialsExhausted,
    /// Taken over after a restart of the daemon.
    Recovered,
}

impl fmt::Display for HoldReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HoldReason::Operator => f.write_str("paused by the operator"),
            HoldReason::DeviceDown(device) => write!(f, "the {device} went offline"),
            HoldReason::ConsecutiveRejects(limit) => write!(f, "{limit} consecutive rejects"),
            HoldReason::RejectNotConfirmed => {
                f.write_str("a reject was not confirmed by the reject-confirm sensor")
            }
            HoldReason::ItemEscaped => {
                f.write_str("an item left through the good exit without a GOOD verdict")
            }
            HoldReason::PlcAlarm(alarms) => write!(f, "PLC alarm: {alarms}"),
            HoldReason::SerialsExhausted => f.write_str("no more serials could be allocated"),
            HoldReason::Recovered => f.write_str("recovered after a restart of the station"),
        }
    }
}

/// Which devices are connected.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct DeviceStates {
    printer: bool,
    camera: bool,
    plc: bool,
}

impl DeviceStates {
    pub(super) fn set(&mut self, device: Device, online: bool) -> bool {
        let slot = match device {
            Device::Printer => &mut self.printer,
            Device::Camera => &mut self.camera,
            Device::Plc => &mut self.plc,
        };
        let changed = *slot != online;
        *slot = online;
        changed
    }

    pub(super) fn is_online(&self, device: Device) -> bool {
        match device {
            Device::Printer => self.printer,
            Device::Camera => self.camera,
            Device::Plc => self.plc,
        }
    }

    pub(super) fn offline(&self) -> Vec<Device> {
        Device::ALL
            .into_iter()
            .filter(|device| !self.is_online(*device))
            .collect()
    }
}

/// Counts rejects in a row (in decision order); a GOOD verdict ends the streak.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct RejectStreak {
    current: u32,
}

impl RejectStreak {
    /// Records a reject; true when the streak has just reached `limit`.
    pub(super) fn reject(&mut self, limit: u32) -> bool {
        self.current = self.current.saturating_add(1);
        self.current == limit
    }

    pub(super) fn good(&mut self) {
        self.current = 0;
    }

    pub(super) fn reset(&mut self) {
        self.current = 0;
    }
}
