//! The line model seen through the register map: reads build register blocks from
//! the PLC state, writes are validated by the map's access rules and applied to the
//! model. Pure apart from the core it is given; exceptions are the map's.

use serialstation_devices::plc::register_map::{
    self as map, AlarmBits, HoldingWrite, LineStatus, MapException,
};

use crate::model::plc::SeqSlot;
use crate::runtime::core::{LineCore, TickOutput};

/// The status block as the PLC serves it now.
pub fn status(core: &LineCore) -> LineStatus {
    let plc = &core.model.plc;
    LineStatus {
        heartbeat: plc.heartbeat,
        state: plc.state,
        alarms: AlarmBits(plc.alarm_bits()),
        items_detected: plc.items_detected,
        camera_trigger_count: plc.camera_trigger_count,
        gate_count: plc.gate_count,
        good_exit_count: plc.good_exit_count,
        reject_fired_count: plc.reject_fired_count,
        reject_confirmed_count: plc.reject_confirm_count,
        encoder_count: core.model.encoder(),
        line_speed_per_min: core.model.line_speed().round().clamp(0.0, 65535.0) as u16,
        consecutive_rejects: plc.consecutive_rejects,
        fate_write_count: plc.fate_write_count,
    }
}

fn slot_words(slot: SeqSlot) -> [u16; 3] {
    let [hi, lo] = map::u32_to_words(slot.seq);
    [hi, lo, slot.code]
}

/// FC4: input registers.
pub fn read_input(core: &LineCore, start: u16, count: u16) -> Result<Vec<u16>, MapException> {
    map::check_input_read(start, count)?;
    let mut out = Vec::with_capacity(count as usize);
    if start < map::STATUS_BLOCK_LEN {
        let block = status(core).encode();
        out.extend_from_slice(&block[start as usize..(start + count) as usize]);
    } else {
        let fates = &core.model.plc.fates;
        for address in start..start + count {
            let offset = (address - map::FATE_RING_START) as usize;
            let slot = fates.get(offset / 3).copied().unwrap_or_default();
            out.push(slot_words(slot)[offset % 3]);
        }
    }
    Ok(out)
}

/// FC3: holding registers.
pub fn read_holding(core: &LineCore, start: u16, count: u16) -> Result<Vec<u16>, MapException> {
    map::check_holding_read(start, count)?;
    let plc = &core.model.plc;
    let mut out = Vec::with_capacity(count as usize);
    for address in start..start + count {
        let value = match address {
            map::HR_COMMAND => 0,
            map::HR_CONSECUTIVE_REJECT_LIMIT => plc.consecutive_reject_limit,
            map::HR_CONTROLLER_HEARTBEAT => plc.controller_heartbeat,
            _ => {
                let offset = (address - map::VERDICT_RING_START) as usize;
                let slot = plc.verdicts.get(offset / 3).copied().unwrap_or_default();
                slot_words(slot)[offset % 3]
            }
        };
        out.push(value);
    }
    Ok(out)
}

/// FC6/FC16: validates the whole write, then applies it.
pub fn write_holding(
    core: &mut LineCore,
    start: u16,
    values: &[u16],
) -> Result<TickOutput, MapException> {
    write_holding_at(core, start, values, crate::ground_truth::latency::now_ns())
}

/// [`write_holding`] for a request that arrived at `received_ns` (the simulator's
/// monotonic clock): verdict writes are paired with their camera result.
pub fn write_holding_at(
    core: &mut LineCore,
    start: u16,
    values: &[u16],
    received_ns: u64,
) -> Result<TickOutput, MapException> {
    let writes = map::check_holding_write(start, values)?;
    let mut events = Vec::new();
    for write in writes {
        match write {
            HoldingWrite::Command(cmd) => {
                if !core.model.command(cmd, &mut events) {
                    let state = core.model.plc.state;
                    core.note("plc", format!("command {cmd:?} ignored in state {state:?}"));
                }
            }
            HoldingWrite::ConsecutiveRejectLimit(limit) => {
                core.model.plc.consecutive_reject_limit = limit
            }
            HoldingWrite::ControllerHeartbeat(value) => core.model.plc.controller_heartbeat = value,
            HoldingWrite::Verdict(slot) => {
                core.verdict_write_received(slot.seq, received_ns);
                let index = core.model.plc.slot_of(slot.seq);
                core.model
                    .write_verdict_slot(index, slot.seq, slot.verdict as u16, &mut events);
            }
        }
    }
    Ok(core.handle_events(events))
}
