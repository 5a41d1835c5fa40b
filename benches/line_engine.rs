//! Line engine CPU per item in the steady state: the events of one item (print
//! acknowledgement, item at camera, camera result, fate, PLC counters, and the
//! share of serial blocks) in, the commands out. Persistence is not included (the
//! engine only emits the persist commands). Also the decision rules alone.

use std::collections::VecDeque;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use serialstation::gs1::{ElementString, Gs1Date, Gtin};
use serialstation::line::decision::{SerialStatus, decide};
use serialstation::line::{
    BatchId, BatchStart, CodeTemplate, Command, DecisionWindow, Device, Engine, EngineConfig,
    Event, Grade, ItemFate, MessageId, OperatorCommand, PlcCounters, ProductSpec, Seq, SymbologyId,
};

struct SteadyLine {
    engine: Engine,
    out: Vec<Command>,
    printer: VecDeque<(MessageId, String)>,
    next_serial: u64,
    seq: u32,
    encoder: u32,
}

impl SteadyLine {
    fn new() -> SteadyLine {
        let config = EngineConfig {
            printer_queue_depth: 8,
            serial_block_size: 256,
            serial_low_water: 64,
            decision_window: DecisionWindow::EncoderCounts(400),
            printer_to_gate_counts: 900,
            gate_margin_counts: 100,
            max_result_lead: 64,
            printer_to_camera_counts: 0,
        };
        let mut line = SteadyLine {
            engine: Engine::new(config),
            out: Vec::new(),
            printer: VecDeque::new(),
            next_serial: 0,
            seq: 0,
            encoder: 0,
        };
        for device in Device::ALL {
            line.send(Event::DeviceUp(device));
        }
        let start = BatchStart {
            batch: BatchId(1),
            product: ProductSpec {
                gtin: Gtin::parse("09506000134352").expect("benchmark GTIN is valid"),
                template: CodeTemplate::standard(),
                min_grade: Grade::from_tenths(15).expect("1.5 is a grade"),
                consecutive_reject_limit: 5,
            },
            lot: "LOT2026A".to_string(),
            expiry: "281231".to_string(),
            quantity: u32::MAX,
            pool_available: u64::MAX,
            today: Gs1Date {
                year: 2026,
                month: 11,
                day: 22,
                day_was_zero: false,
            },
            first_message_id: MessageId(1),
            challenge_items: 0,
        };
        line.send(Event::Operator(OperatorCommand::Start(Box::new(start))));
        line
    }

    /// Plays the daemon: applies the commands that need an answer.
    fn send(&mut self, event: Event) {
        self.out.clear();
        if self.engine.handle(event, &mut self.out).is_err() {
            panic!("the benchmark's event was refused");
        }
        let mut block = None;
        for command in self.out.drain(..) {
            match command {
                Command::QueuePrint {
                    message_id,
                    encoder_data,
                    ..
                } => self.printer.push_back((message_id, encoder_data)),
                Command::RequestSerials { count, .. } => block = Some(count),
                _ => {}
            }
        }
        if let Some(count) = block {
            let serials = (0..count)
                .map(|_| {
                    self.next_serial += 1;
                    format!("B{:012}", self.next_serial)
                })
                .collect();
            self.send(Event::SerialsAllocated { serials });
        }
    }

    /// One item through the loop.
    fn item(&mut self) {
        let Some((message_id, data)) = self.printer.pop_front() else {
            panic!("printer ran dry")
        };
        self.send(Event::PrintAcknowledged { message_id });
        let seq = Seq(self.seq);
        self.seq = self.seq.wrapping_add(1);
        self.encoder = self.encoder.wrapping_add(100);
        self.send(Event::ItemAtCamera {
            seq,
            encoder: self.encoder,
        });
        self.send(Event::CameraResult {
            seq,
            symbology: SymbologyId::GS1_DATAMATRIX,
            data,
            grade: Grade::B,
        });
        self.send(Event::ItemFateReported {
            seq,
            fate: ItemFate::ExitedGood,
        });
        self.send(Event::PlcCounters(PlcCounters {
            encoder: self.encoder,
            ..PlcCounters::default()
        }));
    }
}

fn engine_per_item(c: &mut Criterion) {
    let mut line = SteadyLine::new();
    for _ in 0..1_000 {
        line.item();
    }
    c.bench_function("engine_steady_state_per_item", |b| b.iter(|| line.item()));
}

fn decision_per_read(c: &mut Criterion) {
    let expected = ElementString::from_pairs([
        ("01", "09506000134352"),
        ("17", "281231"),
        ("10", "LOT2026A"),
        ("21", "B000000000001"),
    ])
    .expect("benchmark element string is valid");
    let data = expected.to_encoder_data();
    let min = Grade::from_tenths(15).expect("1.5 is a grade");
    c.bench_function("decision_rules_per_read", |b| {
        b.iter(|| {
            decide(
                SymbologyId::GS1_DATAMATRIX,
                black_box(&data),
                Grade::B,
                min,
                |_| SerialStatus::Candidate(&expected),
            )
        })
    });
}

criterion_group!(benches, engine_per_item, decision_per_read);
criterion_main!(benches);
