//! The line engine through its public interface: batch start checks (operator
//! mistakes as one-line errors), the ordering of persists before the commands that
//! depend on them, matching by seq, the decision point, reject supervision, device
//! loss, the printer's clear report, stopping at the target quantity, close, and the
//! challenge test.

use serialstation::gs1::{Gs1Date, Gtin};
use serialstation::line::{
    BatchId, BatchStart, BatchState, CodeTemplate, Command, DecisionWindow, Device, Engine,
    EngineConfig, Event, Grade, ItemFate, MessageId, OperatorCommand, OperatorErrorKind,
    PlcCounters, ProductSpec, Reconciliation, RejectReason, ReturnProof, Seq, SymbologyId,
    Transition, Verdict,
};

fn config() -> EngineConfig {
    EngineConfig {
        printer_queue_depth: 2,
        serial_block_size: 10,
        serial_low_water: 2,
        decision_window: DecisionWindow::EncoderCounts(400),
        printer_to_gate_counts: 900,
        gate_margin_counts: 100,
        max_result_lead: 16,
        printer_to_camera_counts: 0,
    }
}

fn start(quantity: u32) -> BatchStart {
    BatchStart {
        batch: BatchId(7),
        product: ProductSpec {
            gtin: Gtin::parse("09506000134352").expect("valid GTIN"),
            template: CodeTemplate::standard(),
            min_grade: Grade::from_tenths(15).expect("grade"),
            consecutive_reject_limit: 3,
        },
        lot: "LOT1".to_string(),
        expiry: "281231".to_string(),
        quantity,
        pool_available: 1_000,
        today: Gs1Date {
            year: 2026,
            month: 11,
            day: 22,
            day_was_zero: false,
        },
        first_message_id: MessageId(100),
        challenge_items: 0,
    }
}

struct Line {
    engine: Engine,
    out: Vec<Command>,
    encoder: u32,
}

impl Line {
    fn online() -> Line {
        let mut line = Line {
            engine: Engine::new(config()),
            out: Vec::new(),
            encoder: 0,
        };
        for device in Device::ALL {
            line.send(Event::DeviceUp(device));
        }
        line
    }

    fn send(&mut self, event: Event) -> Vec<Command> {
        let mut out = Vec::new();
        self.engine.handle(event, &mut out).expect("event accepted");
        self.out.extend(out.iter().cloned());
        out
    }

    fn operator(
        &mut self,
        command: OperatorCommand,
    ) -> Result<Vec<Command>, serialstation::line::OperatorError> {
        let mut out = Vec::new();
        self.engine.handle(Event::Operator(command), &mut out)?;
        Ok(out)
    }

    fn state(&self) -> BatchState {
        self.engine.status().expect("a batch is active").state
    }

    fn move_belt(&mut self, counts: u32) -> Vec<Command> {
        self.encoder = self.encoder.wrapping_add(counts);
        self.send(Event::PlcCounters(PlcCounters {
            encoder: self.encoder,
            ..PlcCounters::default()
        }))
    }

    /// Starts a batch and feeds serials until the printer is full; returns the prints.
    fn running_batch(quantity: u32) -> (Line, Vec<(MessageId, String, String)>) {
        let mut line = Line::online();
        let out = line
            .operator(OperatorCommand::Start(Box::new(start(quantity))))
            .expect("batch starts");
        let count = out
            .iter()
            .find_map(|command| match command {
                Command::RequestSerials { count, .. } => Some(*count),
                _ => None,
            })
            .expect("serials requested at start");
        let serials = (1..=count).map(|n| format!("SN{n:04}")).collect();
        let out = line.send(Event::SerialsAllocated { serials });
        (line, prints(&out))
    }
}

fn prints(out: &[Command]) -> Vec<(MessageId, String, String)> {
    out.iter()
        .filter_map(|command| match command {
            Command::QueuePrint {
                message_id,
                serial,
                encoder_data,
            } => Some((*message_id, serial.clone(), encoder_data.clone())),
            _ => None,
        })
        .collect()
}

fn position(out: &[Command], wanted: impl Fn(&Command) -> bool) -> Option<usize> {
    out.iter().position(wanted)
}

fn verdicts(out: &[Command]) -> Vec<(Seq, Verdict)> {
    out.iter()
        .filter_map(|command| match command {
            Command::WriteVerdict { seq, verdict } => Some((*seq, *verdict)),
            _ => None,
        })
        .collect()
}

fn read(seq: u32, data: &str) -> Event {
    Event::CameraResult {
        seq: Seq(seq),
        symbology: SymbologyId::GS1_DATAMATRIX,
        data: data.to_string(),
        grade: Grade::A,
    }
}

fn refused(line: &mut Line, start: BatchStart) -> (OperatorErrorKind, String) {
    let error = line
        .operator(OperatorCommand::Start(Box::new(start)))
        .expect_err("start refused");
    assert!(!error.message.contains('\n'), "one line: {}", error.message);
    (error.kind, error.message)
}

#[test]
fn operator_mistakes_at_start_are_one_line_errors_that_say_what_to_do() {
    let mut line = Line::online();
    let (kind, message) = refused(
        &mut line,
        BatchStart {
            quantity: 0,
            ..start(10)
        },
    );
    assert_eq!(kind, OperatorErrorKind::InvalidQuantity, "{message}");
    let (kind, message) = refused(
        &mut line,
        BatchStart {
            lot: "LOT 1".to_string(),
            ..start(10)
        },
    );
    assert_eq!(kind, OperatorErrorKind::InvalidLot, "{message}");
    let (kind, message) = refused(
        &mut line,
        BatchStart {
            expiry: "250101".to_string(),
            ..start(10)
        },
    );
    assert_eq!(kind, OperatorErrorKind::InvalidExpiry, "{message}");
    assert!(message.contains("not in the future"), "{message}");
    let (kind, message) = refused(
        &mut line,
        BatchStart {
            expiry: "281200".to_string(),
            ..start(10)
        },
    );
    assert_eq!(kind, OperatorErrorKind::InvalidExpiry, "{message}");
    assert!(
        message.contains("281231"),
        "suggests the last day: {message}"
    );
    let (kind, message) = refused(
        &mut line,
        BatchStart {
            expiry: "28131".to_string(),
            ..start(10)
        },
    );
    assert_eq!(kind, OperatorErrorKind::InvalidExpiry, "{message}");
    let (kind, message) = refused(
        &mut line,
        BatchStart {
            pool_available: 5,
            ..start(10)
        },
    );
    assert_eq!(kind, OperatorErrorKind::PoolTooSmall, "{message}");
    let mut no_serial = start(10);
    no_serial.product.template = CodeTemplate {
        fields: vec![serialstation::line::TemplateField::Gtin],
    };
    let (kind, message) = refused(&mut line, no_serial);
    assert_eq!(kind, OperatorErrorKind::InvalidProduct, "{message}");

    let mut offline = Line::online();
    offline.send(Event::DeviceDown(Device::Camera));
    let (kind, message) = refused(&mut offline, start(10));
    assert_eq!(kind, OperatorErrorKind::DeviceOffline, "{message}");
    assert!(message.contains("camera"), "{message}");

    let (mut running, _) = Line::running_batch(10);
    let (kind, message) = refused(&mut running, start(10));
    assert_eq!(kind, OperatorErrorKind::BatchAlreadyActive, "{message}");

    let mut idle = Line::online();
    let error = idle
        .operator(OperatorCommand::Pause)
        .expect_err("nothing to pause");
    assert_eq!(error.kind, OperatorErrorKind::NoActiveBatch);
}

#[test]
fn refused_start_emits_nothing_and_changes_nothing() {
    let mut line = Line::online();
    let mut out = Vec::new();
    let result = line.engine.handle(
        Event::Operator(OperatorCommand::Start(Box::new(start(0)))),
        &mut out,
    );
    assert!(result.is_err());
    assert!(out.is_empty());
    assert!(line.engine.status().is_none());
}

#[test]
fn prints_are_recorded_before_they_are_sent_and_the_line_starts_with_a_full_buffer() {
    let mut line = Line::online();
    let out = line
        .operator(OperatorCommand::Start(Box::new(start(10))))
        .expect("starts");
    assert!(out.iter().any(|c| matches!(
        c,
        Command::Persist(Transition::BatchState {
            state: BatchState::Running,
            ..
        })
    )));
    assert!(
        !out.iter().any(|c| matches!(c, Command::StartLine)),
        "no start before the printer has messages"
    );
    let out = line.send(Event::SerialsAllocated {
        serials: (1..=10).map(|n| format!("SN{n:04}")).collect(),
    });
    let queued = prints(&out);
    assert_eq!(queued.len(), 2, "buffer depth");
    for (message_id, serial, _) in &queued {
        let recorded = position(&out, |c| {
            matches!(c, Command::Persist(Transition::PrintQueued { message_id: m, serial: s }) if m == message_id && s == serial)
        })
        .expect("print recorded");
        let sent = position(
            &out,
            |c| matches!(c, Command::QueuePrint { message_id: m, .. } if m == message_id),
        )
        .expect("print sent");
        assert!(recorded < sent);
    }
    let start_line = position(&out, |c| matches!(c, Command::StartLine))
        .expect("line starts once the buffer is full");
    assert!(
        start_line > position(&out, |c| matches!(c, Command::QueuePrint { .. })).expect("queued")
    );
}

#[test]
fn a_good_item_is_verified_by_seq_recorded_then_written_and_commissioned_only_past_the_gate() {
    let (mut line, queued) = Line::running_batch(10);
    let (first_id, first_serial, first_data) = queued[0].clone();
    let (second_id, second_serial, second_data) = queued[1].clone();
    line.send(Event::PrintAcknowledged {
        message_id: first_id,
    });
    line.send(Event::PrintAcknowledged {
        message_id: second_id,
    });
    line.send(Event::ItemAtCamera {
        seq: Seq(41),
        encoder: 0,
    });
    line.send(Event::ItemAtCamera {
        seq: Seq(42),
        encoder: 100,
    });
    // Results arrive out of order: matched by seq, not by arrival.
    let out = line.send(read(42, &second_data));
    assert_eq!(verdicts(&out), vec![(Seq(42), Verdict::Good)]);
    let recorded = position(&out, |c| {
        matches!(c, Command::Persist(Transition::ItemVerdict { seq: Seq(42), verdict: Verdict::Good, serial: Some(s), .. }) if *s == second_serial)
    })
    .expect("verdict recorded with its serial");
    let written = position(&out, |c| matches!(c, Command::WriteVerdict { .. })).expect("written");
    assert!(recorded < written);
    let out = line.send(read(41, &first_data));
    assert_eq!(verdicts(&out), vec![(Seq(41), Verdict::Good)]);
    assert!(
        !line
            .out
            .iter()
            .any(|c| matches!(c, Command::Persist(Transition::SerialCommissioned { .. })))
    );
    let out = line.send(Event::ItemFateReported {
        seq: Seq(41),
        fate: ItemFate::ExitedGood,
    });
    assert!(
        out.contains(&Command::Persist(Transition::SerialCommissioned {
            serial: first_serial,
            seq: Seq(41)
        }))
    );
    let out = line.send(Event::ItemFateReported {
        seq: Seq(42),
        fate: ItemFate::RejectedConfirmed,
    });
    assert!(out.iter().any(
        |c| matches!(c, Command::Persist(Transition::SerialScrapped { serial, .. }) if *serial == second_serial)
    ));
    let counts = line.engine.status().expect("status").counts;
    assert_eq!((counts.commissioned, counts.scrapped), (1, 1));
}

#[test]
fn a_camera_read_that_overtakes_the_print_report_proves_the_print() {
    let (mut line, queued) = Line::running_batch(10);
    let (first_id, first_serial, first_data) = queued[0].clone();
    line.send(Event::ItemAtCamera {
        seq: Seq(41),
        encoder: 0,
    });
    // The camera's result comes before the printer's print-complete report.
    let out = line.send(read(41, &first_data));
    assert_eq!(verdicts(&out), vec![(Seq(41), Verdict::Good)]);
    let encoded = position(&out, |c| {
        matches!(c, Command::Persist(Transition::SerialEncoded { serial, message_id }) if *serial == first_serial && *message_id == first_id)
    })
    .expect("the read acknowledges the print");
    let written = position(&out, |c| matches!(c, Command::WriteVerdict { .. })).expect("written");
    assert!(encoded < written, "recorded before the verdict goes out");
    // The printer's own report, late, is expected: no alarm, no second record.
    let out = line.send(Event::PrintAcknowledged {
        message_id: first_id,
    });
    assert!(
        !out.iter()
            .any(|c| matches!(c, Command::RaiseAlarm(_) | Command::Persist(_))),
        "{out:?}"
    );
    let status = line.engine.status().expect("status");
    assert_eq!(status.stats.acknowledged_by_read, 1);
    assert_eq!(status.stats.inconsistencies, 0);
}

#[test]
fn reading_the_same_serial_again_is_a_duplicate_and_a_no_read_is_rejected() {
    let (mut line, queued) = Line::running_batch(10);
    let (id, _, data) = queued[0].clone();
    line.send(Event::PrintAcknowledged { message_id: id });
    line.send(Event::ItemAtCamera {
        seq: Seq(1),
        encoder: 0,
    });
    line.send(Event::ItemAtCamera {
        seq: Seq(2),
        encoder: 100,
    });
    line.send(Event::ItemAtCamera {
        seq: Seq(3),
        encoder: 200,
    });
    assert_eq!(
        verdicts(&line.send(read(1, &data))),
        vec![(Seq(1), Verdict::Good)]
    );
    let out = line.send(read(2, &data));
    assert!(out.iter().any(|c| matches!(
        c,
        Command::Persist(Transition::ItemVerdict {
            verdict: Verdict::Reject,
            reason: Some(RejectReason::Duplicate),
            ..
        })
    )));
    let out = line.send(Event::CameraNoRead { seq: Seq(3) });
    assert!(out.iter().any(|c| matches!(
        c,
        Command::Persist(Transition::ItemVerdict {
            reason: Some(RejectReason::NoRead),
            ..
        })
    )));
    // A second result for a decided item changes nothing.
    assert!(verdicts(&line.send(read(3, &data))).is_empty());
}

#[test]
fn an_item_past_the_decision_point_without_a_result_is_rejected_as_late_and_a_late_result_cannot_make_it_good()
 {
    let (mut line, queued) = Line::running_batch(10);
    let (id, _, data) = queued[0].clone();
    line.send(Event::PrintAcknowledged { message_id: id });
    line.send(Event::ItemAtCamera {
        seq: Seq(5),
        encoder: 0,
    });
    assert!(verdicts(&line.move_belt(399)).is_empty());
    let out = line.move_belt(1);
    assert_eq!(verdicts(&out), vec![(Seq(5), Verdict::Reject)]);
    assert!(out.iter().any(|c| matches!(
        c,
        Command::Persist(Transition::ItemVerdict {
            reason: Some(RejectReason::Late),
            ..
        })
    )));
    assert!(verdicts(&line.send(read(5, &data))).is_empty());
}

#[test]
fn an_unconfirmed_reject_stops_the_line_first_and_holds_the_batch() {
    let (mut line, _) = Line::running_batch(10);
    line.send(Event::ItemAtCamera {
        seq: Seq(1),
        encoder: 0,
    });
    line.send(Event::CameraNoRead { seq: Seq(1) });
    let out = line.send(Event::ItemFateReported {
        seq: Seq(1),
        fate: ItemFate::RejectedUnconfirmed,
    });
    assert!(
        matches!(out.first(), Some(Command::StopLine { .. })),
        "stop first: {out:?}"
    );
    assert_eq!(line.state(), BatchState::Paused);
    let resumed = line.operator(OperatorCommand::Resume).expect("resume");
    assert!(resumed.contains(&Command::StartLine));
    assert_eq!(line.state(), BatchState::Running);
}

#[test]
fn consecutive_rejects_stop_the_line() {
    let (mut line, _) = Line::running_batch(10);
    for seq in 1..=3 {
        line.send(Event::ItemAtCamera {
            seq: Seq(seq),
            encoder: seq * 10,
        });
        line.send(Event::CameraNoRead { seq: Seq(seq) });
    }
    assert!(
        line.out
            .iter()
            .any(|c| matches!(c, Command::StopLine { .. }))
    );
    assert_eq!(line.state(), BatchState::Paused);
}

#[test]
fn a_device_that_goes_away_holds_the_batch_until_it_is_back_and_resumed() {
    let (mut line, queued) = Line::running_batch(10);
    let out = line.send(Event::DeviceDown(Device::Printer));
    assert!(matches!(out.first(), Some(Command::StopLine { .. })));
    assert_eq!(line.state(), BatchState::Paused);
    let error = line
        .operator(OperatorCommand::Resume)
        .expect_err("printer still offline");
    assert_eq!(error.kind, OperatorErrorKind::DeviceOffline);
    // Back: its buffer is cleared and accounted for before printing resumes.
    let out = line.send(Event::DeviceUp(Device::Printer));
    assert!(out.contains(&Command::ClearPrinterBuffer));
    let out = line.send(Event::PrinterBufferCleared {
        never_printed: vec![queued[0].0],
    });
    assert!(out.contains(&Command::Persist(Transition::SerialReturned {
        serial: queued[0].1.clone(),
        proof: ReturnProof::PrinterReportedUnprinted {
            message_id: queued[0].0
        },
    })));
    assert!(out.iter().any(|c| matches!(c, Command::Persist(Transition::SerialInvalidated { serial, .. }) if *serial == queued[1].1)));
    line.operator(OperatorCommand::Resume).expect("resume");
    assert_eq!(line.state(), BatchState::Running);
}

#[test]
fn the_batch_stops_at_its_quantity_and_closes_balanced() {
    let (mut line, queued) = Line::running_batch(2);
    assert_eq!(queued.len(), 2);
    let mut encoder = 0;
    for (index, (id, _, data)) in queued.iter().enumerate() {
        let seq = index as u32 + 1;
        line.send(Event::PrintAcknowledged { message_id: *id });
        line.send(Event::ItemAtCamera {
            seq: Seq(seq),
            encoder,
        });
        line.send(read(seq, data));
        encoder += 100;
    }
    line.send(Event::ItemFateReported {
        seq: Seq(1),
        fate: ItemFate::ExitedGood,
    });
    assert_eq!(line.state(), BatchState::Running);
    line.send(Event::ItemFateReported {
        seq: Seq(2),
        fate: ItemFate::ExitedGood,
    });
    assert_eq!(line.state(), BatchState::Stopped);
    let status = line.engine.status().expect("status");
    assert!(status.counts.balances(), "{:?}", status.counts);
    assert_eq!(status.counts.commissioned, 2);
    assert_eq!(
        status.counts.returned,
        status.counts.allocated - 2,
        "unsent serials returned"
    );
    let out = line
        .operator(OperatorCommand::Close {
            reason: None,
            store_counts: Some(status.counts),
        })
        .expect("closes");
    assert!(out.iter().any(|c| matches!(
        c,
        Command::Persist(Transition::BatchClosed {
            unbalanced_reason: None,
            ..
        })
    )));
    assert!(line.engine.status().is_none());
}

#[test]
fn an_unbalanced_batch_closes_only_with_a_recorded_reason() {
    let (mut line, _) = Line::running_batch(5);
    line.operator(OperatorCommand::Stop {
        abandon_in_flight: false,
    })
    .expect("stop");
    line.send(Event::PrinterBufferCleared {
        never_printed: vec![MessageId(100), MessageId(101)],
    });
    assert_eq!(line.state(), BatchState::Stopped);
    let counts = line.engine.status().expect("status").counts;
    let store = Reconciliation {
        returned: counts.returned - 1,
        ..counts
    };
    let error = line
        .operator(OperatorCommand::Close {
            reason: None,
            store_counts: Some(store),
        })
        .expect_err("does not balance");
    assert_eq!(error.kind, OperatorErrorKind::Unbalanced);
    assert!(error.message.contains("--reason"), "{}", error.message);
    let out = line
        .operator(OperatorCommand::Close {
            reason: Some("one label lost in the printer".to_string()),
            store_counts: Some(store),
        })
        .expect("closes with a reason");
    assert!(out.iter().any(|c| matches!(
        c,
        Command::Persist(Transition::BatchClosed { unbalanced_reason: Some(reason), .. }) if reason == "one label lost in the printer"
    )));
}

#[test]
fn a_challenge_test_must_see_every_known_bad_item_rejected_and_confirmed() {
    let mut line = Line::online();
    let out = line
        .operator(OperatorCommand::Start(Box::new(BatchStart {
            challenge_items: 2,
            ..start(10)
        })))
        .expect("starts");
    assert!(out.contains(&Command::StartLine));
    assert!(
        !out.iter()
            .any(|c| matches!(c, Command::RequestSerials { .. })),
        "no serials during the challenge"
    );
    assert_eq!(line.state(), BatchState::Challenge);
    for seq in 1..=2 {
        line.send(Event::ItemAtCamera {
            seq: Seq(seq),
            encoder: seq * 100,
        });
        line.send(read(seq, "0109506000134352172812311 0FOREIGN\u{1d}21X"));
        line.send(Event::ItemFateReported {
            seq: Seq(seq),
            fate: ItemFate::RejectedConfirmed,
        });
    }
    assert_eq!(line.state(), BatchState::Running);
    assert!(
        line.out
            .iter()
            .any(|c| matches!(c, Command::RequestSerials { .. }))
    );

    let mut failing = Line::online();
    failing
        .operator(OperatorCommand::Start(Box::new(BatchStart {
            challenge_items: 2,
            ..start(10)
        })))
        .expect("starts");
    failing.send(Event::ItemAtCamera {
        seq: Seq(1),
        encoder: 0,
    });
    failing.send(Event::CameraNoRead { seq: Seq(1) });
    failing.send(Event::ItemFateReported {
        seq: Seq(1),
        fate: ItemFate::ExitedGood,
    });
    assert_eq!(failing.state(), BatchState::ChallengeFailed);
    failing
        .operator(OperatorCommand::Close {
            reason: None,
            store_counts: None,
        })
        .expect("a failed challenge closes");
}

#[test]
fn a_failed_challenge_test_overridden_comes_back_paused_and_produces_on_resume() {
    let mut line = Line::online();
    line.operator(OperatorCommand::Start(Box::new(BatchStart {
        challenge_items: 2,
        ..start(10)
    })))
    .expect("starts");
    // Nothing to override while the challenge runs.
    assert!(line.operator(OperatorCommand::OverrideChallenge).is_err());
    line.send(Event::ItemAtCamera {
        seq: Seq(1),
        encoder: 0,
    });
    line.send(Event::CameraNoRead { seq: Seq(1) });
    line.send(Event::ItemFateReported {
        seq: Seq(1),
        fate: ItemFate::ExitedGood,
    });
    assert_eq!(line.state(), BatchState::ChallengeFailed);
    line.operator(OperatorCommand::OverrideChallenge)
        .expect("a failed challenge can be overridden");
    assert_eq!(line.state(), BatchState::Paused);
    line.operator(OperatorCommand::Resume).expect("resumes");
    assert_eq!(line.state(), BatchState::Running);
}

#[test]
fn a_print_acknowledged_out_of_order_invalidates_the_skipped_message() {
    let (mut line, queued) = Line::running_batch(10);
    let out = line.send(Event::PrintAcknowledged {
        message_id: queued[1].0,
    });
    assert!(out.iter().any(|c| matches!(c, Command::Persist(Transition::SerialInvalidated { serial, .. }) if *serial == queued[0].1)));
    assert!(out.iter().any(|c| matches!(c, Command::Persist(Transition::SerialEncoded { serial, .. }) if *serial == queued[1].1)));
}

#[test]
fn a_decision_window_in_milliseconds_follows_the_ticks() {
    let mut line = Line::online();
    line.engine = Engine::new(EngineConfig {
        decision_window: DecisionWindow::Millis(50),
        ..config()
    });
    for device in Device::ALL {
        line.send(Event::DeviceUp(device));
    }
    line.operator(OperatorCommand::Start(Box::new(start(10))))
        .expect("starts");
    line.send(Event::Tick { now_ms: 1_000 });
    line.send(Event::ItemAtCamera {
        seq: Seq(9),
        encoder: 0,
    });
    assert!(verdicts(&line.send(Event::Tick { now_ms: 1_049 })).is_empty());
    assert_eq!(
        verdicts(&line.send(Event::Tick { now_ms: 1_050 })),
        vec![(Seq(9), Verdict::Reject)]
    );
}

#[test]
fn an_empty_pool_holds_the_batch_with_an_alarm_that_says_what_to_do() {
    let mut line = Line::online();
    line.operator(OperatorCommand::Start(Box::new(start(10))))
        .expect("starts");
    let out = line.send(Event::SerialAllocationFailed {
        reason: "pool empty".to_string(),
    });
    assert!(out.iter().any(
        |c| matches!(c, Command::RaiseAlarm(alarm) if alarm.message.contains("import or generate"))
    ));
    assert_eq!(line.state(), BatchState::Paused);
}

#[test]
fn stopping_with_abandon_counts_in_flight_items_as_rejected_and_balances() {
    let (mut line, queued) = Line::running_batch(10);
    line.send(Event::PrintAcknowledged {
        message_id: queued[0].0,
    });
    line.send(Event::ItemAtCamera {
        seq: Seq(1),
        encoder: 0,
    });
    line.send(read(1, &queued[0].2));
    line.send(Event::DeviceDown(Device::Plc));
    line.operator(OperatorCommand::Stop {
        abandon_in_flight: false,
    })
    .expect("stop");
    assert_eq!(
        line.state(),
        BatchState::Paused,
        "held while the PLC is away"
    );
    let error = line
        .operator(OperatorCommand::Stop {
            abandon_in_flight: false,
        })
        .expect_err("already stopping");
    assert!(error.message.contains("--abandon"), "{}", error.message);
    let out = line
        .operator(OperatorCommand::Stop {
            abandon_in_flight: true,
        })
        .expect("abandon");
    assert!(out.iter().any(|c| matches!(
        c,
        Command::Persist(Transition::SerialScrapped { serial, cause: serialstation::line::ScrapCause::FateUnknown, .. }) if *serial == queued[0].1
    )));
    let status = line.engine.status().expect("status");
    assert_eq!(status.state, BatchState::Stopped);
    assert!(status.counts.balances(), "{:?}", status.counts);
}

#[test]
fn a_batch_taken_over_after_a_restart_comes_back_paused_and_produces_only_what_is_left() {
    let mut line = Line::online();
    let counts = Reconciliation {
        allocated: 10,
        commissioned: 3,
        scrapped: 1,
        invalidated: 6,
        ..Reconciliation::default()
    };
    let unsettled = Reconciliation {
        invalidated: 5,
        ..counts
    };
    let recovery = |counts| {
        OperatorCommand::Recover(Box::new(serialstation::line::BatchRecovery {
            start: BatchStart {
                first_message_id: MessageId(5_000),
                ..start(5)
            },
            counts,
            stopping: false,
            in_flight: Vec::new(),
        }))
    };
    let error = line
        .operator(recovery(unsettled))
        .expect_err("serials not settled");
    assert_eq!(error.kind, OperatorErrorKind::Unbalanced);
    let taken_over = line.operator(recovery(counts)).expect("taken over");
    assert!(!taken_over.iter().any(|c| matches!(c, Command::StartLine)));
    assert_eq!(line.state(), BatchState::Paused);
    let resumed = line.operator(OperatorCommand::Resume).expect("resumes");
    let asked = taken_over
        .iter()
        .chain(resumed.iter())
        .find_map(|c| match c {
            Command::RequestSerials { count, .. } => Some(*count),
            _ => None,
        })
        .expect("asks for serials");
    let out = line.send(Event::SerialsAllocated {
        serials: (1..=asked).map(|n| format!("R{n:04}")).collect(),
    });
    let queued = prints(&out);
    assert_eq!(queued.len(), 2, "only the 2 items still to produce");
    assert_eq!(queued[0].0, MessageId(5_000));
    for (index, (id, _, data)) in queued.iter().enumerate() {
        let seq = index as u32 + 1;
        line.send(Event::PrintAcknowledged { message_id: *id });
        line.send(Event::ItemAtCamera {
            seq: Seq(seq),
            encoder: seq * 100,
        });
        line.send(read(seq, data));
        line.send(Event::ItemFateReported {
            seq: Seq(seq),
            fate: ItemFate::ExitedGood,
        });
    }
    let status = line.engine.status().expect("status");
    assert_eq!(status.state, BatchState::Stopped);
    assert_eq!(status.counts.commissioned, 5);
    assert!(status.counts.balances(), "{:?}", status.counts);
}

#[test]
fn items_handed_over_in_flight_are_settled_by_their_fates() {
    let mut line = Line::online();
    let counts = Reconciliation {
        allocated: 10,
        commissioned: 3,
        scrapped: 1,
        invalidated: 3,
        ..Reconciliation::default()
    };
    let handed = |seq: u32, serial: Option<&str>| serialstation::line::RecoveredItem {
        seq: Seq(seq),
        serial: serial.map(str::to_string),
    };
    let recovery = |counts, in_flight: Vec<serialstation::line::RecoveredItem>| {
        OperatorCommand::Recover(Box::new(serialstation::line::BatchRecovery {
            start: BatchStart {
                first_message_id: MessageId(5_000),
                ..start(5)
            },
            counts,
            stopping: false,
            in_flight,
        }))
    };
    let in_flight = vec![
        handed(501, Some("H2")),
        handed(500, Some("H1")),
        handed(502, None),
        handed(503, Some("H3")),
    ];
    let error = line
        .operator(recovery(counts, in_flight[..2].to_vec()))
        .expect_err("three serials are outstanding, two handed over");
    assert_eq!(error.kind, OperatorErrorKind::Unbalanced);
    assert!(
        error.message.contains("2 item(s) in flight"),
        "{}",
        error.message
    );

    line.operator(recovery(counts, in_flight))
        .expect("taken over with its items in flight");
    let status = line.engine.status().expect("status");
    assert_eq!(status.state, BatchState::Paused);
    assert_eq!(status.items_in_flight, 4);
    assert!(
        status.no_more_prints,
        "3 commissioned and 3 that may still be: nothing more to print for 5"
    );
    line.operator(OperatorCommand::Resume).expect("resumes");

    let fate = |line: &mut Line, seq: u32, fate: ItemFate| {
        line.send(Event::ItemFateReported {
            seq: Seq(seq),
            fate,
        })
    };
    let out = fate(&mut line, 500, ItemFate::ExitedGood);
    assert!(
        out.iter().any(|c| matches!(c, Command::Persist(Transition::SerialCommissioned { serial, seq }) if serial == "H1" && *seq == Seq(500))),
        "released before recovery's REJECT landed: commissioned; {out:?}"
    );
    let out = fate(&mut line, 501, ItemFate::RejectedConfirmed);
    assert!(
        out.iter().any(|c| matches!(c, Command::Persist(Transition::SerialScrapped { serial, cause: serialstation::line::ScrapCause::ItemRejected, .. }) if serial == "H2")),
        "{out:?}"
    );
    let out = fate(&mut line, 502, ItemFate::ExitedGood);
    assert!(
        !out.iter().any(|c| matches!(
            c,
            Command::Persist(
                Transition::SerialScrapped { .. } | Transition::SerialCommissioned { .. }
            )
        )),
        "its serial was settled by recovery: {out:?}"
    );
    assert_eq!(line.state(), BatchState::Paused, "an escape holds the line");
    // The fate of 503 never comes: the next one reported settles it as unknown.
    let out = fate(&mut line, 504, ItemFate::RejectedConfirmed);
    assert!(
        out.iter().any(|c| matches!(c, Command::Persist(Transition::SerialScrapped { serial, cause: serialstation::line::ScrapCause::FateUnknown, .. }) if serial == "H3")),
        "{out:?}"
    );
    let status = line.engine.status().expect("status");
    assert_eq!(status.items_in_flight, 0);
    assert_eq!(status.counts.commissioned, 4);
    assert!(status.counts.balances(), "{:?}", status.counts);
}

/// A batch taken over with items in flight: `in_flight` as (seq, serial).
fn taken_over(stopping: bool, in_flight: &[(u32, Option<&str>)]) -> Line {
    let mut line = Line::online();
    let bound = in_flight
        .iter()
        .filter(|(_, serial)| serial.is_some())
        .count() as u64;
    let counts = Reconciliation {
        allocated: 4 + bound,
        commissioned: 2,
        invalidated: 2,
        ..Reconciliation::default()
    };
    line.operator(OperatorCommand::Recover(Box::new(
        serialstation::line::BatchRecovery {
            start: BatchStart {
                first_message_id: MessageId(5_000),
                ..start(5)
            },
            counts,
            stopping,
            in_flight: in_flight
                .iter()
                .map(|(seq, serial)| serialstation::line::RecoveredItem {
                    seq: Seq(*seq),
                    serial: serial.map(str::to_string),
                })
                .collect(),
        },
    )))
    .expect("taken over with its items in flight");
    line.operator(OperatorCommand::Resume).expect("resumes");
    line
}

fn alarm_messages(out: &[Command]) -> Vec<String> {
    out.iter()
        .filter_map(|command| match command {
            Command::RaiseAlarm(alarm) => Some(alarm.message.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn a_stopping_batch_waits_for_every_item_handed_over_even_without_a_serial() {
    let mut line = taken_over(true, &[(700, Some("K1")), (701, None)]);
    assert_eq!(line.state(), BatchState::Stopping);
    line.send(Event::ItemFateReported {
        seq: Seq(700),
        fate: ItemFate::RejectedConfirmed,
    });
    assert_eq!(
        line.state(),
        BatchState::Stopping,
        "item 701 may still leave through the good exit"
    );
    let out = line.send(Event::ItemFateReported {
        seq: Seq(701),
        fate: ItemFate::ExitedGood,
    });
    assert!(
        alarm_messages(&out)
            .iter()
            .any(|message| message.contains("item 701 left through the good exit")),
        "{out:?}"
    );
    let status = line.engine.status().expect("status");
    assert_eq!(status.items_in_flight, 0);
    assert!(status.counts.balances(), "{:?}", status.counts);
}

#[test]
fn an_item_handed_over_then_abandoned_that_exits_good_is_an_escape() {
    let mut line = taken_over(false, &[(700, Some("K1"))]);
    let out = line
        .operator(OperatorCommand::Stop {
            abandon_in_flight: true,
        })
        .expect("stops, abandoning what is in flight");
    assert!(
        out.iter().any(|c| matches!(c, Command::Persist(Transition::SerialScrapped { serial, cause: serialstation::line::ScrapCause::FateUnknown, .. }) if serial == "K1")),
        "{out:?}"
    );
    let out = line.send(Event::ItemFateReported {
        seq: Seq(700),
        fate: ItemFate::ExitedGood,
    });
    assert!(
        alarm_messages(&out)
            .iter()
            .any(|message| message.contains("item 700 left through the good exit")),
        "its serial was scrapped: the pack in the good exit must be retrieved; {out:?}"
    );
}

#[test]
fn items_handed_over_are_settled_as_missing_when_the_plc_counter_starts_again() {
    let mut line = taken_over(false, &[(700, Some("K1")), (701, Some("K2"))]);
    let out = line.send(Event::ItemAtCamera {
        seq: Seq(3),
        encoder: 10,
    });
    for serial in ["K1", "K2"] {
        assert!(
            out.iter().any(|c| matches!(c, Command::Persist(Transition::SerialScrapped { serial: s, cause: serialstation::line::ScrapCause::FateUnknown, .. }) if s == serial)),
            "{serial}: {out:?}"
        );
    }
    assert!(
        alarm_messages(&out)
            .iter()
            .any(|message| message.contains("check the reject bin and the good exit")),
        "{out:?}"
    );
    let status = line.engine.status().expect("status");
    assert_eq!(status.items_in_flight, 1, "only the new item 3");
    assert!(status.counts.balances(), "{:?}", status.counts);
}
