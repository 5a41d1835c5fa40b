//! Turns what the drivers report ([`DeviceEvent`]) into engine [`Event`]s (pure).

use serialstation_devices::plc::register_map::{AlarmBits, FateCode, LineStatus};
use serialstation_devices::readout::{CameraReadout, ReadOutcome};
use serialstation_devices::traits::{DeviceEvent, DeviceEventKind, LinkState};

use crate::line::{Device, Event, Grade, ItemFate, PlcAlarms, PlcCounters, Seq, SymbologyId};

/// The names the station gives its drivers (used in device events).
pub const PRINTER_NAME: &str = "printer";
pub const CAMERA_NAME: &str = "camera";
pub const PLC_NAME: &str = "plc";

/// Which device a driver name belongs to.
pub fn device_of(name: &str) -> Option<Device> {
    match name {
        PRINTER_NAME => Some(Device::Printer),
        CAMERA_NAME => Some(Device::Camera),
        PLC_NAME => Some(Device::Plc),
        _ => None,
    }
}

/// What a driver event means to the station.
#[derive(Debug, Clone, PartialEq)]
pub enum Translated {
    /// Feed this to the engine.
    Engine(Event),
    /// Tell the operator (log), nothing for the engine.
    Note(String),
    /// Nothing to do.
    Nothing,
}

/// Translates one driver event.
pub fn translate(event: DeviceEvent) -> Translated {
    let device = device_of(&event.device);
    match event.kind {
        DeviceEventKind::Link(LinkState::Up) => match device {
            Some(device) => Translated::Engine(Event::DeviceUp(device)),
            None => Translated::Note(format!("unknown device {} came up", event.device)),
        },
        DeviceEventKind::Link(LinkState::Down { reason }) => match device {
            Some(device) => Translated::Engine(Event::DeviceDown(device)),
            None => Translated::Note(format!(
                "unknown device {} went down: {reason}",
                event.device
            )),
        },
        DeviceEventKind::ProtocolError(detail) => Translated::Note(format!(
            "{}: garbage on the wire dropped: {detail}",
            event.device
        )),
        DeviceEventKind::PrintComplete { message_id } => {
            Translated::Engine(Event::PrintAcknowledged {
                message_id: crate::line::MessageId(u64::from(message_id)),
            })
        }
        DeviceEventKind::PrinterStatus(status) if !status.faults.is_empty() => {
            Translated::Note(format!("{}: {}", event.device, status.faults.join("; ")))
        }
        DeviceEventKind::PrinterStatus(_) => Translated::Nothing,
        DeviceEventKind::CameraResult(readout) => Translated::Engine(camera_event(readout)),
        DeviceEventKind::LineStatus(status) => {
            Translated::Engine(Event::PlcAlarms(alarms(&status)))
        }
        DeviceEventKind::ItemFate { seq, fate } => match item_fate(fate) {
            Some(fate) => Translated::Engine(Event::ItemFateReported {
                seq: Seq(seq),
                fate,
            }),
            None => Translated::Note(format!("the PLC reported item {seq} with no fate")),
        },
        DeviceEventKind::FatesLost { first_seq, count } => Translated::Note(format!(
            "the PLC overwrote the fates of {count} items from {first_seq} before they were read: they count as rejected"
        )),
    }
}

/// A camera readout as an engine event. Data that is not UTF-8 is kept lossily
/// (it can only fail the comparison with what was sent).
pub fn camera_event(readout: CameraReadout) -> Event {
    camera_outcome_event(readout.seq, &readout.outcome)
}

/// What the camera reported for the item with `seq`, as the engine's event (shared
/// with the engine's simulation, `src/line_sim/`).
pub fn camera_outcome_event(seq: u32, outcome: &ReadOutcome) -> Event {
    let seq = Seq(seq);
    match outcome {
        ReadOutcome::NoRead => Event::CameraNoRead { seq },
        ReadOutcome::Read {
            symbology,
            data,
            grade,
        } => Event::CameraResult {
            seq,
            symbology: SymbologyId::parse(symbology.as_str()).unwrap_or(SymbologyId {
                code: b'?',
                modifier: b'?',
            }),
            data: String::from_utf8_lossy(data).into_owned(),
            grade: Grade::from_tenths(grade.tenths).unwrap_or(Grade::F),
        },
    }
}

/// The PLC alarm bits as the engine sees them.
pub fn alarms(status: &LineStatus) -> PlcAlarms {
    let bits = status.alarms.0;
    PlcAlarms {
        reject_not_confirmed: bits & AlarmBits::REJECT_NOT_CONFIRMED != 0,
        bin_full: bits & AlarmBits::BIN_FULL != 0,
        bin_door_open: bits & AlarmBits::BIN_DOOR_OPEN != 0,
        consecutive_rejects: bits & AlarmBits::CONSECUTIVE_REJECTS != 0,
        jam: bits & AlarmBits::JAM != 0,
    }
}

/// The PLC counters as the engine sees them.
pub fn counters(status: &LineStatus) -> PlcCounters {
    PlcCounters {
        encoder: status.encoder_count,
        items_at_camera: status.camera_trigger_count,
        good_exits: status.good_exit_count,
        reject_confirms: status.reject_confirmed_count,
    }
}

fn item_fate(fate: FateCode) -> Option<ItemFate> {
    match fate {
        FateCode::None => None,
        FateCode::ExitedGood => Some(ItemFate::ExitedGood),
        FateCode::RejectedConfirmed => Some(ItemFate::RejectedConfirmed),
        FateCode::RejectedUnconfirmed => Some(ItemFate::RejectedUnconfirmed),
    }
}

/// Items newly triggered at the camera since `next_seq`, as engine events (at most
/// `limit`, so a counter jump after a reconnect cannot flood the engine).
pub fn camera_arrivals(next_seq: &mut u32, status: &LineStatus, limit: u32) -> Vec<Event> {
    let pending = status.camera_trigger_count.wrapping_sub(*next_seq);
    if pending >= (1 << 31) {
        return Vec::new();
    }
    if pending > limit {
        *next_seq = status.camera_trigger_count.wrapping_sub(limit);
    }
    let mut events = Vec::new();
    while *next_seq != status.camera_trigger_count {
        events.push(Event::ItemAtCamera {
            seq: Seq(*next_seq),
            encoder: status.encoder_count,
        });
        *next_seq = next_seq.wrapping_add(1);
    }
    events
}

#[cfg(test)]
mod tests {
    use super::*;
    use serialstation_devices::plc::register_map::PackMlState;

    fn status(camera_trigger_count: u32, encoder_count: u32) -> LineStatus {
        LineStatus {
            heartbeat: 0,
            state: PackMlState::Execute,
            alarms: AlarmBits(0),
            items_detected: camera_trigger_count,
            camera_trigger_count,
            gate_count: 0,
            good_exit_count: 0,
            reject_fired_count: 0,
            reject_confirmed_count: 0,
            encoder_count,
            line_speed_per_min: 0,
            consecutive_rejects: 0,
            fate_write_count: 0,
        }
    }

    #[test]
    fn every_newly_triggered_item_is_reported_once_across_the_wrap() {
        let mut cursor = u32::MAX - 1;
        let events = camera_arrivals(&mut cursor, &status(1, 500), 256);
        let seqs: Vec<u32> = events
            .iter()
            .filter_map(|e| match e {
                Event::ItemAtCamera { seq, .. } => Some(seq.0),
                _ => None,
            })
            .collect();
        assert_eq!(seqs, vec![u32::MAX - 1, u32::MAX, 0]);
        assert!(camera_arrivals(&mut cursor, &status(1, 600), 256).is_empty());
    }

    #[test]
    fn a_counter_that_went_backwards_or_jumped_far_does_not_flood_the_engine() {
        let mut cursor = 100;
        assert!(camera_arrivals(&mut cursor, &status(50, 0), 256).is_empty());
        assert_eq!(cursor, 100);
        assert_eq!(
            camera_arrivals(&mut cursor, &status(10_100, 0), 16).len(),
            16
        );
        assert_eq!(cursor, 10_100);
    }

    #[test]
    fn alarm_bits_map_to_the_engine_alarms() {
        let mut s = status(0, 0);
        s.alarms = AlarmBits(AlarmBits::BIN_FULL | AlarmBits::JAM);
        let alarms = alarms(&s);
        assert!(alarms.bin_full && alarms.jam && !alarms.reject_not_confirmed);
    }
}
