//! The pure line model: tracking by encoder position, ordering, and the PLC's gate
//! rules (no verdict or a late verdict means reject, unconfirmed reject and N
//! consecutive rejects stop the line).

use std::time::Duration;

use serialstation_simulator::SimConfig;
use serialstation_simulator::faults::{FaultKind, FaultSpec};
use serialstation_simulator::model::{
    Alarm, Fate, LineEvent, LineModel, PackMlCommand, PackMlState, Verdict,
};
use serialstation_simulator::runtime::core::RING_SLOTS;

fn config() -> SimConfig {
    let mut c = SimConfig::default_line();
    c.simulator.autostart = true;
    c.line.rate_per_min = 6000.0; // 100 items/s
    c.plc.consecutive_reject_limit = 1000;
    c
}

/// Runs the model in 1 ms steps; `verdict` decides what the "controller" writes for
/// each seq when its camera triggers (None = writes nothing).
fn run(model: &mut LineModel, ms: u64, verdict: impl Fn(u32) -> Option<Verdict>) -> Vec<LineEvent> {
    let mut all = Vec::new();
    for _ in 0..ms {
        let mut events = Vec::new();
        model.advance(Duration::from_millis(1), &mut events);
        let mut writes = Vec::new();
        for e in &events {
            if let LineEvent::CameraTrigger { seq, .. } = e
                && let Some(v) = verdict(*seq)
            {
                writes.push((*seq, v));
            }
        }
        for (seq, v) in writes {
            model.write_verdict(seq, v, &mut events);
        }
        all.extend(events);
    }
    all
}

fn fates(events: &[LineEvent]) -> Vec<(u32, Fate)> {
    events
        .iter()
        .filter_map(|e| match e {
            LineEvent::FateRecorded { seq, fate, .. } => Some((*seq, *fate)),
            _ => None,
        })
        .collect()
}

#[test]
fn items_are_tracked_by_encoder_position_in_order() {
    let cfg = config();
    let g = cfg.line.geometry();
    let mut model = LineModel::new(&cfg, RING_SLOTS);
    let events = run(&mut model, 2000, |_| Some(Verdict::Good));
    // Every station event of an item happens at entry + the station's offset.
    let mut entry = std::collections::HashMap::new();
    let mut last_seq_at = std::collections::HashMap::new();
    for e in &events {
        match e {
            LineEvent::ItemEntered { seq, encoder, .. } => {
                entry.insert(*seq, *encoder);
            }
            LineEvent::PrintTrigger { seq, encoder, .. } => {
                assert_eq!(encoder.wrapping_sub(entry[seq]) as u64, g.print_head);
                let prev = last_seq_at.insert("print", *seq);
                assert!(prev.is_none_or(|p| seq.wrapping_sub(p) == 1), "print order");
            }
            LineEvent::CameraTrigger { seq, encoder, .. } => {
                assert_eq!(encoder.wrapping_sub(entry[seq]) as u64, g.camera);
                let prev = last_seq_at.insert("camera", *seq);
                assert!(
                    prev.is_none_or(|p| seq.wrapping_sub(p) == 1),
                    "camera order"
                );
            }
            LineEvent::GateDecision {
                seq,
                encoder,
                released,
                ..
            } => {
                assert_eq!(encoder.wrapping_sub(entry[seq]) as u64, g.reject_gate);
                assert!(released);
            }
            LineEvent::ExitedGood { seq, encoder, .. } => {
                assert_eq!(encoder.wrapping_sub(entry[seq]) as u64, g.good_exit);
            }
            _ => {}
        }
    }
    let exits = fates(&events);
    assert!(
        exits.len() > 150,
        "about 200 items in 2 s at 100/s, got {}",
        exits.len()
    );
    assert!(exits.iter().all(|(_, f)| *f == Fate::ExitedGood));
    assert_eq!(model.plc.good_exit_count as usize, exits.len());
}

#[test]
fn encoder_and_seq_wrap() {
    let mut cfg = config();
    cfg.line.encoder_start = u32::MAX - 5_000;
    cfg.line.first_seq = u32::MAX - 20;
    let mut model = LineModel::new(&cfg, RING_SLOTS);
    let events = run(&mut model, 1000, |_| Some(Verdict::Good));
    let good: Vec<u32> = fates(&events).into_iter().map(|(s, _)| s).collect();
    assert!(
        good.contains(&u32::MAX) && good.contains(&0) && good.contains(&5),
        "seq wrapped: {good:?}"
    );
    assert!(model.encoder() < 1_000_000, "encoder wrapped");
    assert!(fates(&events).iter().all(|(_, f)| *f == Fate::ExitedGood));
}

#[test]
fn no_verdict_means_reject() {
    let cfg = config();
    let mut model = LineModel::new(&cfg, RING_SLOTS);
    let events = run(&mut model, 1500, |seq| {
        (seq % 2 == 0).then_some(Verdict::Good)
    });
    for (seq, fate) in fates(&events) {
        if seq % 2 == 0 {
            assert_eq!(fate, Fate::ExitedGood, "seq {seq}");
        } else {
            assert_eq!(fate, Fate::RejectedConfirmed, "seq {seq}");
        }
    }
    assert_eq!(model.plc.state, PackMlState::Execute);
}

#[test]
fn explicit_reject_and_stale_slot_reject() {
    let cfg = config();
    let mut model = LineModel::new(&cfg, RING_SLOTS);
    // GOOD written for seq + RING_SLOTS (same slot, other seq) must not release seq.
    let events = run(&mut model, 1000, |seq| {
        if seq == 3 {
            None
        } else {
            Some(Verdict::Reject)
        }
        .or(Some(Verdict::Reject))
    });
    assert!(
        fates(&events)
            .iter()
            .all(|(_, f)| *f == Fate::RejectedConfirmed)
    );
    let mut model = LineModel::new(&cfg, RING_SLOTS);
    let mut ev = Vec::new();
    model.write_verdict(RING_SLOTS as u32, Verdict::Good, &mut ev);
    let events = run(&mut model, 300, |_| None);
    let f = fates(&events);
    assert!(
        f.iter()
            .any(|(s, fate)| *s == 0 && *fate == Fate::RejectedConfirmed),
        "{f:?}"
    );
}

#[test]
fn late_verdict_means_reject_and_is_logged_late() {
    let cfg = config();
    let mut model = LineModel::new(&cfg, RING_SLOTS);
    let mut all = run(&mut model, 400, |_| None);
    // Write GOOD for every item that already passed the gate.
    let passed: Vec<u32> = all
        .iter()
        .filter_map(|e| match e {
            LineEvent::GateDecision { seq, .. } => Some(*seq),
            _ => None,
        })
        .collect();
    assert!(!passed.is_empty());
    let mut ev = Vec::new();
    for seq in &passed {
        model.write_verdict(*seq, Verdict::Good, &mut ev);
    }
    assert!(
        ev.iter()
            .all(|e| matches!(e, LineEvent::VerdictReceived { late: true, .. })),
        "{ev:?}"
    );
    all.extend(ev);
    all.extend(run(&mut model, 400, |_| None));
    for seq in passed {
        let fate = fates(&all)
            .into_iter()
            .find(|(s, _)| *s == seq)
            .map(|(_, f)| f);
        assert_eq!(fate, Some(Fate::RejectedConfirmed), "seq {seq}");
    }
}

#[test]
fn unconfirmed_reject_raises_alarm_and_stops() {
    let mut cfg = config();
    cfg.faults.insert(
        FaultKind::ConfirmMiss,
        FaultSpec {
            at_items: vec![10],
            ..Default::default()
        },
    );
    let mut model = LineModel::new(&cfg, RING_SLOTS);
    let events = run(&mut model, 1500, |seq| (seq != 9).then_some(Verdict::Good));
    let f = fates(&events);
    assert!(f.contains(&(9, Fate::RejectedUnconfirmed)), "{f:?}");
    assert_eq!(model.plc.state, PackMlState::Aborted);
    assert!(model.plc.alarm_active(Alarm::RejectNotConfirmed));
    // The belt stopped: nothing moves any more.
    let encoder = model.encoder();
    let more = run(&mut model, 100, |_| Some(Verdict::Good));
    assert_eq!(model.encoder(), encoder);
    assert!(
        !more
            .iter()
            .any(|e| matches!(e, LineEvent::ItemEntered { .. }))
    );
    // Clear, Reset, Start runs the line again.
    let mut ev = Vec::new();
    assert!(model.command(PackMlCommand::Clear, &mut ev));
    assert!(model.command(PackMlCommand::Reset, &mut ev));
    assert!(model.command(PackMlCommand::Start, &mut ev));
    run(&mut model, 100, |_| Some(Verdict::Good));
    assert!(model.encoder() != encoder);
}

#[test]
fn gate_that_does_not_fire_lets_the_item_escape_and_stops() {
    let mut cfg = config();
    cfg.faults.insert(
        FaultKind::GateNoFire,
        FaultSpec {
            at_items: vec![5],
            ..Default::default()
        },
    );
    let mut model = LineModel::new(&cfg, RING_SLOTS);
    let events = run(&mut model, 1000, |seq| (seq != 4).then_some(Verdict::Good));
    assert!(fates(&events).contains(&(4, Fate::RejectedUnconfirmed)));
    assert_eq!(model.plc.state, PackMlState::Aborted);
    // Physically it is still on the belt heading for the good exit; restart and see it exit.
    let mut ev = Vec::new();
    model.command(PackMlCommand::Clear, &mut ev);
    model.command(PackMlCommand::Reset, &mut ev);
    model.command(PackMlCommand::Start, &mut ev);
    let after = run(&mut model, 500, |_| Some(Verdict::Good));
    assert!(
        after
            .iter()
            .any(|e| matches!(e, LineEvent::ExitedGood { seq: 4, .. }))
    );
}

#[test]
fn consecutive_rejects_stop_the_line() {
    let mut cfg = config();
    cfg.plc.consecutive_reject_limit = 3;
    let mut model = LineModel::new(&cfg, RING_SLOTS);
    let events = run(&mut model, 2000, |seq| (seq < 5).then_some(Verdict::Good));
    assert_eq!(model.plc.state, PackMlState::Aborted);
    assert!(model.plc.alarm_active(Alarm::ConsecutiveRejects));
    let rejects = events
        .iter()
        .filter(|e| {
            matches!(
                e,
                LineEvent::GateDecision {
                    released: false,
                    ..
                }
            )
        })
        .count();
    assert_eq!(rejects, 3);
}

#[test]
fn same_seed_same_run() {
    let mut cfg = config();
    cfg.faults.insert(
        FaultKind::ConfirmMiss,
        FaultSpec {
            rate: 0.05,
            ..Default::default()
        },
    );
    cfg.plc.consecutive_reject_limit = 1000;
    let mut a = LineModel::new(&cfg, RING_SLOTS);
    let mut b = LineModel::new(&cfg, RING_SLOTS);
    let ea = run(&mut a, 3000, |s| (s % 3 != 0).then_some(Verdict::Good));
    let eb = run(&mut b, 3000, |s| (s % 3 != 0).then_some(Verdict::Good));
    assert_eq!(ea, eb);
}

#[test]
fn large_steps_give_the_same_events_as_small_ones() {
    let cfg = config();
    let mut fine = LineModel::new(&cfg, RING_SLOTS);
    let mut coarse = LineModel::new(&cfg, RING_SLOTS);
    let fine_events = run(&mut fine, 1000, |_| None);
    let mut coarse_events = Vec::new();
    for _ in 0..10 {
        coarse.advance(Duration::from_millis(100), &mut coarse_events);
    }
    let strip = |ev: &[LineEvent]| -> Vec<(u32, Fate)> { fates(ev) };
    assert_eq!(strip(&fine_events), strip(&coarse_events));
    assert_eq!(fine.encoder(), coarse.encoder());
}

#[test]
fn thousand_items_per_second() {
    let mut cfg = config();
    cfg.line.rate_per_min = 60_000.0;
    let mut model = LineModel::new(&cfg, RING_SLOTS);
    let events = run(&mut model, 2000, |_| Some(Verdict::Good));
    let entered = events
        .iter()
        .filter(|e| matches!(e, LineEvent::ItemEntered { .. }))
        .count();
    assert!((1990..=2010).contains(&entered), "{entered}");
    assert!(fates(&events).iter().all(|(_, f)| *f == Fate::ExitedGood));
}
