//! What the ground truth knows about one physical item, and the recorder that folds
//! line events, print outcomes and camera reports into those records. Pure logic:
//! finished records are handed to the writer, nothing here touches the disk.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::faults::FaultKind;
use crate::model::{Fate, LineEvent, Verdict};

/// Where an item physically left the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhysicalExit {
    GoodExit,
    RejectBin,
    /// Still on the conveyor or in the chute when the run ended.
    OnLine,
}

impl PhysicalExit {
    pub fn as_str(self) -> &'static str {
        match self {
            PhysicalExit::GoodExit => "good_exit",
            PhysicalExit::RejectBin => "reject_bin",
            PhysicalExit::OnLine => "on_line",
        }
    }
    pub fn parse(s: &str) -> Option<PhysicalExit> {
        [
            PhysicalExit::GoodExit,
            PhysicalExit::RejectBin,
            PhysicalExit::OnLine,
        ]
        .into_iter()
        .find(|e| e.as_str() == s)
    }
}

/// What the printer did on one item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrintOutcome {
    /// The host's message id the data came from.
    pub message_id: String,
    /// The element string actually printed, in encoder form (GS separators).
    pub data: String,
    /// AI (21) parsed from `data` with the gs1 crate; `None` if it does not parse.
    pub serial: Option<String>,
    /// ISO/IEC 15415 overall grade of the print (letter), `None` in no-image mode.
    pub grade: Option<String>,
    /// Defects applied to the image (kind and severity).
    pub defects: Vec<String>,
}

/// What the camera reported for one trigger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CameraReport {
    /// The decoded data (with symbology identifier), or `None` for a no-read.
    pub data: Option<String>,
    pub grade: Option<String>,
}

/// One physical item, from product detect to its exit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemRecord {
    pub item_no: u64,
    pub seq: u32,
    pub entered_encoder: u32,
    pub entered_ms: f64,
    /// `None` = nothing printed on this item.
    pub print: Option<PrintOutcome>,
    /// "image" when the print was rendered and really decoded, "none" in throughput mode.
    pub imaging: String,
    /// `None` = the camera never reported for this item.
    pub camera: Option<CameraReport>,
    /// The verdict the PLC held for the item's seq at the gate.
    pub verdict_held: Option<Verdict>,
    /// When the last verdict for this item arrived (encoder count, model time in ms).
    pub verdict_encoder: Option<u32>,
    pub verdict_ms: Option<f64>,
    /// Verdicts that arrived after the item had passed the gate.
    pub late_verdicts: u32,
    pub released: Option<bool>,
    pub gate_fired: Option<bool>,
    pub exit: PhysicalExit,
    /// For items in the bin: the confirm sensor saw it.
    pub reject_seen_by_sensor: Option<bool>,
    pub plc_fate: Option<Fate>,
    pub faults: Vec<FaultKind>,
}

impl ItemRecord {
    fn new(item_no: u64, seq: u32, encoder: u32, time_ms: f64, imaging: &str) -> ItemRecord {
        ItemRecord {
            item_no,
            seq,
            entered_encoder: encoder,
            entered_ms: time_ms,
            print: None,
            imaging: imaging.to_string(),
            camera: None,
            verdict_held: None,
            verdict_encoder: None,
            verdict_ms: None,
            late_verdicts: 0,
            released: None,
            gate_fired: None,
            exit: PhysicalExit::OnLine,
            reject_seen_by_sensor: None,
            plc_fate: None,
            faults: Vec::new(),
        }
    }

    pub fn serial(&self) -> Option<&str> {
        self.print.as_ref().and_then(|p| p.serial.as_deref())
    }
}

/// A verdict write as it arrived at the PLC.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerdictArrival {
    pub seq: u32,
    pub verdict: Option<Verdict>,
    pub item_no: Option<u64>,
    pub late: bool,
    pub encoder: u32,
    pub time_ms: f64,
}

/// A line-level event (alarm, state change, operator or control action, fault change).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LineNote {
    pub time_ms: f64,
    pub kind: String,
    pub detail: String,
}

/// What the recorder hands to the writer.
#[derive(Debug, Clone, PartialEq)]
pub enum Row {
    Item(Box<ItemRecord>),
    Verdict(VerdictArrival),
    Note(LineNote),
    /// Camera result sent → verdict write received, for one seq.
    Latency(super::latency::DecisionLatency),
}

/// Folds events into item records; an item's row is emitted when the item is done
/// (left the line and its fate is known) and again whenever something arrives late.
#[derive(Debug, Default)]
pub struct Recorder {
    open: HashMap<u64, ItemRecord>,
    by_seq: HashMap<u32, u64>,
    /// Finished records kept for late updates (camera results after the exit).
    recent: BTreeMap<u64, ItemRecord>,
    imaging: String,
}

const RECENT_KEPT: usize = 4096;

impl Recorder {
    pub fn new(images: bool) -> Recorder {
        Recorder {
            imaging: if images {
                "image".into()
            } else {
                "none".into()
            },
            ..Default::default()
        }
    }

    /// Folds one line event; pushes rows that became final.
    pub fn on_event(&mut self, event: &LineEvent, rows: &mut Vec<Row>) {
        match event {
            LineEvent::ItemEntered {
                item_no,
                seq,
                encoder,
                time_ms,
            } => {
                self.open.insert(
                    *item_no,
                    ItemRecord::new(*item_no, *seq, *encoder, *time_ms, &self.imaging),
                );
                self.by_seq.insert(*seq, *item_no);
            }
            LineEvent::GateDecision {
                item_no,
                verdict_held,
                released,
                gate_fired,
                ..
            } => {
                if let Some(r) = self.open.get_mut(item_no) {
                    r.verdict_held = *verdict_held;
                    r.released = Some(*released);
                    r.gate_fired = Some(*gate_fired);
                }
            }
            LineEvent::ExitedGood { item_no, .. } => {
                if let Some(r) = self.open.get_mut(item_no) {
                    r.exit = PhysicalExit::GoodExit;
                }
                self.maybe_finish(*item_no, rows);
            }
            LineEvent::EnteredBin {
                item_no,
                seen_by_sensor,
                ..
            } => {
                if let Some(r) = self.open.get_mut(item_no) {
                    r.exit = PhysicalExit::RejectBin;
                    r.reject_seen_by_sensor = Some(*seen_by_sensor);
                }
                self.maybe_finish(*item_no, rows);
            }
            LineEvent::FateRecorded { item_no, fate, .. } => {
                if let Some(r) = self.open.get_mut(item_no) {
                    r.plc_fate = Some(*fate);
                    self.maybe_finish(*item_no, rows);
                } else if let Some(r) = self.recent.get_mut(item_no) {
                    r.plc_fate = Some(*fate);
                    rows.push(Row::Item(Box::new(r.clone())));
                }
            }
            LineEvent::VerdictReceived {
                seq,
                verdict,
                item_no,
                late,
                encoder,
                time_ms,
            } => {
                let item_no = item_no.or_else(|| self.by_seq.get(seq).copied());
                rows.push(Row::Verdict(VerdictArrival {
                    seq: *seq,
                    verdict: *verdict,
                    item_no,
                    late: *late,
                    encoder: *encoder,
                    time_ms: *time_ms,
                }));
                if let Some(no) = item_no {
                    if let Some(r) = self.open.get_mut(&no) {
                        if *late {
                            r.late_verdicts += 1;
                        } else {
                            r.verdict_encoder = Some(*encoder);
                            r.verdict_ms = Some(*time_ms);
                        }
                    } else if let Some(r) = self.recent.get_mut(&no) {
                        r.late_verdicts += 1;
                        rows.push(Row::Item(Box::new(r.clone())));
                    }
                }
            }
            LineEvent::AlarmRaised { alarm, encoder } => rows.push(Row::Note(LineNote {
                time_ms: -1.0,
                kind: "alarm".into(),
                detail: format!("{alarm:?} at encoder {encoder}"),
            })),
            LineEvent::StateChanged { from, to, cause } => rows.push(Row::Note(LineNote {
                time_ms: -1.0,
                kind: "state".into(),
                detail: format!("{from:?} -> {to:?} ({cause})"),
            })),
            LineEvent::FaultApplied { item_no, fault } => self.add_fault(*item_no, *fault, rows),
            LineEvent::PrintTrigger { .. } | LineEvent::CameraTrigger { .. } => {}
        }
    }

    /// Records a fault that hit an item (from the printer or camera too).
    pub fn add_fault(&mut self, item_no: u64, fault: FaultKind, rows: &mut Vec<Row>) {
        if let Some(r) = self.open.get_mut(&item_no) {
            r.faults.push(fault);
        } else if let Some(r) = self.recent.get_mut(&item_no) {
            r.faults.push(fault);
            rows.push(Row::Item(Box::new(r.clone())));
        }
    }

    pub fn on_print(&mut self, item_no: u64, outcome: PrintOutcome) {
        if let Some(r) = self.open.get_mut(&item_no) {
            r.print = Some(outcome);
        }
    }

    /// The true grade of an item's print, measured on its rendered image.
    pub fn on_print_grade(&mut self, item_no: u64, grade: Option<String>, rows: &mut Vec<Row>) {
        if let Some(r) = self.open.get_mut(&item_no) {
            if let Some(p) = r.print.as_mut() {
                p.grade = grade;
            }
        } else if let Some(r) = self.recent.get_mut(&item_no)
            && let Some(p) = r.print.as_mut()
        {
            p.grade = grade;
            rows.push(Row::Item(Box::new(r.clone())));
        }
    }

    pub fn on_camera(&mut self, item_no: u64, report: CameraReport, rows: &mut Vec<Row>) {
        if let Some(r) = self.open.get_mut(&item_no) {
            r.camera = Some(report);
        } else if let Some(r) = self.recent.get_mut(&item_no) {
            r.camera = Some(report);
            rows.push(Row::Item(Box::new(r.clone())));
        }
    }

    /// Fills in model time on notes that carry none.
    pub fn stamp(rows: &mut [Row], time_ms: f64) {
        for row in rows {
            if let Row::Note(n) = row
                && n.time_ms < 0.0
            {
                n.time_ms = time_ms;
            }
        }
    }

    /// An item is final once it has left the line and the PLC has recorded its fate.
    fn maybe_finish(&mut self, item_no: u64, rows: &mut Vec<Row>) {
        let ready = self
            .open
            .get(&item_no)
            .is_some_and(|r| r.exit != PhysicalExit::OnLine && r.plc_fate.is_some());
        if !ready {
            return;
        }
        if let Some(r) = self.open.remove(&item_no) {
            rows.push(Row::Item(Box::new(r.clone())));
            self.recent.insert(item_no, r);
            while self.recent.len() > RECENT_KEPT {
                if let Some((old_no, old)) = self.recent.pop_first()
                    && self.by_seq.get(&old.seq) == Some(&old_no)
                {
                    self.by_seq.remove(&old.seq);
                }
            }
        }
    }

    /// Every record still open (the run ends): they go out as `on_line` or as far as known.
    pub fn drain_open(&mut self, rows: &mut Vec<Row>) {
        let mut open: Vec<ItemRecord> = self.open.drain().map(|(_, r)| r).collect();
        open.sort_by_key(|r| r.item_no);
        self.by_seq.clear();
        rows.extend(open.into_iter().map(|r| Row::Item(Box::new(r))));
    }
}
