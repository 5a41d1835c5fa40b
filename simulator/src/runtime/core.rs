//! The shared state of a running line and its scan cycle: the line model, the
//! printer model, the ground-truth recorder, and what one tick hands to the device
//! servers (print-complete notifications, camera jobs). Pure apart from handing
//! rows to the ground-truth writer; the servers lock it briefly and never across
//! an await.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serialstation_devices::plc::register_map::{FATE_RING_SLOTS, VERDICT_RING_SLOTS};

use crate::config::{CameraKind, PrinterKind, SimConfig};
use crate::faults::{FaultKind, FaultSpec};
use crate::ground_truth::{
    CameraReport, GroundTruthWriter, LatencyTracker, PrintOutcome, Recorder, Row,
};
use crate::imaging::{CameraJob, DEFECT_KINDS, DefectChoice, PrintedItem};
use crate::model::{LineEvent, LineModel};
use crate::printer::model::{PrintDecision, PrinterModel};

/// Number of slots in each of the PLC's rings (verdicts and fates), as the
/// register map says; the line model keeps both rings at this one size.
pub const RING_SLOTS: usize = FATE_RING_SLOTS as usize;
const _: () = assert!(
    VERDICT_RING_SLOTS == FATE_RING_SLOTS,
    "the simulated PLC keeps its verdict and fate rings at one size"
);

/// What one tick produced for the servers.
#[derive(Debug, Default)]
pub struct TickOutput {
    /// Message ids printed (TIJ `PRC`), in print order.
    pub printed_ids: Vec<u32>,
    pub camera_jobs: Vec<CameraJob>,
}

/// The line's shared state.
pub struct LineCore {
    pub model: LineModel,
    pub printer: PrinterModel,
    pub printer_kind: PrinterKind,
    pub camera_kind: CameraKind,
    pub images: bool,
    pub camera_armed: bool,
    pub camera_result_checksum: bool,
    pub next_zpl_label_id: u32,
    pub recorder: Recorder,
    /// Camera result sent → verdict received, per seq.
    pub latency: LatencyTracker,
    writer: Option<GroundTruthWriter>,
    prints: HashMap<u64, PrintedItem>,
    pending_rows: Vec<Row>,
}

pub type SharedCore = Arc<Mutex<LineCore>>;

/// Locks the core; a panic in another holder does not make the state unusable.
pub fn lock(core: &SharedCore) -> MutexGuard<'_, LineCore> {
    core.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl LineCore {
    pub fn new(config: &SimConfig, writer: Option<GroundTruthWriter>) -> LineCore {
        let mut printer = PrinterModel::new(config.printer.buffer_capacity);
        if config.printer.kind == PrinterKind::Zpl {
            // A label printer has no job selection or run command: it prints unless paused.
            printer.select_job("zpl");
            printer.running = true;
        }
        LineCore {
            model: LineModel::new(config, RING_SLOTS),
            printer,
            printer_kind: config.printer.kind,
            camera_kind: config.camera.kind,
            images: config.simulator.images,
            camera_armed: true,
            camera_result_checksum: false,
            next_zpl_label_id: 1,
            recorder: Recorder::new(config.simulator.images),
            latency: LatencyTracker::default(),
            writer,
            prints: HashMap::new(),
            pending_rows: Vec::new(),
        }
    }

    /// One scan cycle: moves the line by `dt` and reacts to what happened.
    pub fn tick(&mut self, dt: Duration) -> TickOutput {
        let mut events = Vec::new();
        self.model.advance(dt, &mut events);
        self.handle_events(events)
    }

    /// Applies line events that happened outside a tick (commands, verdict writes).
    pub fn handle_events(&mut self, events: Vec<LineEvent>) -> TickOutput {
        let mut out = TickOutput::default();
        for event in &events {
            self.recorder.on_event(event, &mut self.pending_rows);
            match event {
                LineEvent::PrintTrigger { item_no, .. } => self.print(*item_no, &mut out),
                LineEvent::CameraTrigger { item_no, seq, .. } => {
                    self.camera_trigger(*item_no, *seq, &mut out)
                }
                LineEvent::ExitedGood { item_no, .. } | LineEvent::EnteredBin { item_no, .. } => {
                    self.prints.remove(item_no);
                }
                _ => {}
            }
        }
        self.flush_rows();
        out
    }

    fn print(&mut self, item_no: u64, out: &mut TickOutput) {
        let decision = self
            .printer
            .on_product_detect(item_no, &mut self.model.faults);
        match decision {
            PrintDecision::Printed {
                id,
                data,
                gs1,
                notify,
                faults,
            } => {
                for f in &faults {
                    self.recorder.add_fault(item_no, *f, &mut self.pending_rows);
                }
                let defects = self.choose_defects(item_no);
                let serial = serial_of(&data);
                let text = String::from_utf8_lossy(&data).into_owned();
                let message_id = match self.printer_kind {
                    PrinterKind::Tij => id.to_string(),
                    PrinterKind::Zpl => format!("label {id}"),
                };
                self.recorder.on_print(
                    item_no,
                    PrintOutcome {
                        message_id,
                        data: text,
                        serial,
                        grade: None,
                        defects: defects
                            .iter()
                            .map(|d| format!("{}:{:.2}", d.kind, d.severity))
                            .collect(),
                    },
                );
                self.prints
                    .insert(item_no, PrintedItem { data, gs1, defects });
                if notify {
                    out.printed_ids.push(id);
                }
            }
            PrintDecision::NotPrinted { faults, .. } => {
                for f in faults {
                    self.recorder.add_fault(item_no, f, &mut self.pending_rows);
                }
            }
        }
    }

    fn choose_defects(&mut self, item_no: u64) -> Vec<DefectChoice> {
        if !self
            .model
            .faults
            .fires_for_item(FaultKind::PrintDefect, item_no)
        {
            return Vec::new();
        }
        self.recorder
            .add_fault(item_no, FaultKind::PrintDefect, &mut self.pending_rows);
        let spec = self
            .model
            .faults
            .spec(FaultKind::PrintDefect)
            .cloned()
            .unwrap_or_default();
        let kinds: Vec<String> = if spec.kinds.is_empty() {
            DEFECT_KINDS.iter().map(|k| k.to_string()).collect()
        } else {
            spec.kinds.clone()
        };
        let kind = self
            .model
            .faults
            .pick(FaultKind::PrintDefect, &kinds)
            .cloned()
            .unwrap_or_default();
        vec![DefectChoice {
            kind,
            severity: spec.severity.unwrap_or(0.5),
        }]
    }

    fn camera_trigger(&mut self, item_no: u64, seq: u32, out: &mut TickOutput) {
        let print = self.prints.get(&item_no).cloned();
        let forced_no_read = self
            .model
            .faults
            .fires_for_item(FaultKind::CameraNoRead, item_no);
        if forced_no_read {
            self.recorder
                .add_fault(item_no, FaultKind::CameraNoRead, &mut self.pending_rows);
        }
        let latency = self
            .model
            .faults
            .fires_for_item(FaultKind::CameraLatency, item_no);
        let delay_ms = if latency {
            self.recorder
                .add_fault(item_no, FaultKind::CameraLatency, &mut self.pending_rows);
            self.model.faults.delay_ms(FaultKind::CameraLatency)
        } else {
            0
        };
        if !self.camera_armed {
            return;
        }
        out.camera_jobs.push(CameraJob {
            item_no,
            seq,
            print,
            forced_no_read,
            delay_ms,
        });
    }

    /// The camera's result for an item, and the true grade of its print.
    pub fn record_camera(
        &mut self,
        item_no: u64,
        report: CameraReport,
        print_grade: Option<String>,
    ) {
        self.recorder
            .on_print_grade(item_no, print_grade, &mut self.pending_rows);
        self.recorder
            .on_camera(item_no, report, &mut self.pending_rows);
        self.flush_rows();
    }

    /// The camera is sending its result for `seq` (time from
    /// [`crate::ground_truth::latency::now_ns`]).
    pub fn camera_result_sent(&mut self, seq: u32, at_ns: u64) {
        self.latency.camera_sent(seq, at_ns);
    }

    /// The PLC received a verdict write for `seq` at `at_ns`; the decision latency
    /// goes to the ground truth with the next rows written.
    pub fn verdict_write_received(&mut self, seq: u32, at_ns: u64) {
        if let Some(pair) = self.latency.verdict_received(seq, at_ns) {
            self.pending_rows.push(Row::Latency(pair));
        }
    }

    /// A note in the ground truth (control actions, fault changes).
    pub fn note(&mut self, kind: &str, detail: String) {
        self.pending_rows
            .push(Row::Note(crate::ground_truth::LineNote {
                time_ms: self.model.time_ms(),
                kind: kind.into(),
                detail,
            }));
        self.flush_rows();
    }

    pub fn set_fault(&mut self, kind: FaultKind, spec: FaultSpec) {
        self.note(
            "fault",
            format!(
                "{} set to {}",
                kind.name(),
                serde_json::to_string(&spec).unwrap_or_default()
            ),
        );
        self.model.set_fault(kind, spec);
    }

    /// Writes out every item still open (end of run).
    pub fn finish(&mut self) {
        let mut rows = std::mem::take(&mut self.pending_rows);
        self.recorder.drain_open(&mut rows);
        self.pending_rows = rows;
        self.flush_rows();
    }

    pub fn writer(&self) -> Option<&GroundTruthWriter> {
        self.writer.as_ref()
    }

    fn flush_rows(&mut self) {
        if self.pending_rows.is_empty() {
            return;
        }
        Recorder::stamp(&mut self.pending_rows, self.model.time_ms());
        let rows = std::mem::take(&mut self.pending_rows);
        if let Some(w) = &self.writer
            && let Err(e) = w.send(rows)
        {
            tracing::error!("{e}");
        }
    }
}

/// AI (21) of printed data, parsed with the gs1 crate; `None` when the data is not
/// a valid element string or has no serial.
pub fn serial_of(data: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(data).ok()?;
    let parsed = serialstation_gs1::ElementString::parse(&format!("]d2{text}")).ok()?;
    parsed.get("21").map(str::to_string)
}
