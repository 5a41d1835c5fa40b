//! Fault profiles for the line model: how often each device misbehaves, in parts
//! per million per item (or per step for disconnects).

/// Fault rates, parts per million.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FaultProfile {
    /// Printer does not fire on a trigger (blank item, message stays queued).
    pub skipped_print: u32,
    /// Printer fires twice: two messages on one item, the second one on top.
    pub double_print: u32,
    /// Printer prints corrupted data.
    pub wrong_data: u32,
    /// Print defect: grade below the product minimum.
    pub defect: u32,
    /// Camera finds no code on a printed item.
    pub camera_no_read: u32,
    /// Camera reports plain Data Matrix (`]d1`).
    pub camera_plain_symbology: u32,
    /// Camera result so slow it arrives after the decision point.
    pub camera_late: u32,
    /// Camera repeats an old item's result long after (a stale trigger index).
    pub camera_stale_repeat: u32,
    /// Reject gate fails to divert (the item goes to the good exit).
    pub gate_failure: u32,
    /// Confirm sensor misses an item that did go to the bin.
    pub confirm_sensor_miss: u32,
    /// A device disconnects, per step.
    pub disconnect_per_step: u32,
    /// A reconnecting printer lost its buffer (power cycle), per reconnect.
    pub printer_buffer_lost: u32,
}

impl FaultProfile {
    pub fn none() -> FaultProfile {
        FaultProfile {
            skipped_print: 0,
            double_print: 0,
            wrong_data: 0,
            defect: 0,
            camera_no_read: 0,
            camera_plain_symbology: 0,
            camera_late: 0,
            camera_stale_repeat: 0,
            gate_failure: 0,
            confirm_sensor_miss: 0,
            disconnect_per_step: 0,
            printer_buffer_lost: 0,
        }
    }

    /// A plausible bad day on a real line.
    pub fn default_faults() -> FaultProfile {
        FaultProfile {
            skipped_print: 2_000,
            double_print: 1_000,
            wrong_data: 1_000,
            defect: 3_000,
            camera_no_read: 3_000,
            camera_plain_symbology: 500,
            camera_late: 1_000,
            camera_stale_repeat: 1_000,
            gate_failure: 200,
            confirm_sensor_miss: 200,
            disconnect_per_step: 20,
            printer_buffer_lost: 300_000,
        }
    }

    /// Everything goes wrong often.
    pub fn harsh() -> FaultProfile {
        FaultProfile {
            skipped_print: 20_000,
            double_print: 10_000,
            wrong_data: 10_000,
            defect: 30_000,
            camera_no_read: 30_000,
            camera_plain_symbology: 5_000,
            camera_late: 10_000,
            camera_stale_repeat: 10_000,
            gate_failure: 2_000,
            confirm_sensor_miss: 2_000,
            disconnect_per_step: 200,
            printer_buffer_lost: 500_000,
        }
    }
}
