//! The flow that follows every event: device changes, the serial supply, decision
//! points passing, unverified prints given up, printer top-up, the end of stopping,
//! and starting or stopping the conveyor.

use crate::line::batch::Phase;
use crate::line::command::{AlarmKind, Command, ReturnProof, Transition};
use crate::line::decision::Decision;
use crate::line::supervision::HoldReason;
use crate::line::types::{Device, RejectReason};

use super::{Engine, alarm};

impl Engine {
    // ----- devices -------------------------------------------------------------

    pub(super) fn device_down(&mut self, device: Device, out: &mut Vec<Command>) {
        if !self.devices.set(device, false) {
            return;
        }
        if self.batch.is_some() {
            self.hold(HoldReason::DeviceDown(device), out);
            alarm(
                out,
                AlarmKind::DeviceDown(device),
                format!(
                    "the {device} went offline: the line is stopped; reconnect it, then resume"
                ),
            );
        }
    }

    pub(super) fn device_up(&mut self, device: Device, out: &mut Vec<Command>) {
        if !self.devices.set(device, true) {
            return;
        }
        if device != Device::Printer {
            return;
        }
        // A printer that was away may or may not still hold our messages: clear it
        // and account for each one by its report.
        let Some(batch) = self.batch.as_mut() else {
            return;
        };
        if batch.printing.clear_pending()
            || (batch.printing.queued_len() > 0 && batch.printing.request_clear())
        {
            out.push(Command::ClearPrinterBuffer);
        }
    }

    // ----- after every event ---------------------------------------------------

    pub(super) fn after_event(&mut self, out: &mut Vec<Command>) {
        if self.batch.is_none() {
            return;
        }
        let now = self.now;
        let window = self.config.decision_window;
        // Items past the decision point without a result.
        loop {
            let Some(batch) = self.batch.as_mut() else {
                return;
            };
            let Some(seq) = batch.tracker.next_past_decision_point(now, window) else {
                break;
            };
            self.apply_decision(
                seq,
                Decision::Reject {
                    reason: RejectReason::Late,
                    identified: None,
                },
                None,
                out,
            );
        }
        let gate_counts = self
            .config
            .printer_to_gate_counts
            .saturating_add(self.config.gate_margin_counts);
        if let (Some(batch), Some(encoder)) = (self.batch.as_mut(), now.encoder) {
            batch
                .printing
                .expire_unverified(encoder, gate_counts, &mut batch.counts, out);
        }
        let Some(batch) = self.batch.as_ref() else {
            return;
        };
        if matches!(batch.phase, Phase::Producing)
            && batch.counts.commissioned >= u64::from(batch.quantity)
        {
            self.enter_stopping(out);
        }
        self.sync_recorded_state(out);
        self.feed_printer(out);
        self.finish_stopping_if_done(out);
        self.drive_line(out);
    }

    /// Keeps the printer topped up and the serial supply ahead of it.
    pub(super) fn feed_printer(&mut self, out: &mut Vec<Command>) {
        let allowance = self.allowance();
        let printer_online = self.devices.is_online(Device::Printer);
        let depth = self.config.printer_queue_depth;
        let block = self.config.serial_block_size;
        let low_water = self.config.serial_low_water;
        let Some(batch) = self.batch.as_mut() else {
            return;
        };
        if !matches!(batch.phase, Phase::Producing) {
            return;
        }
        if batch.hold.is_none() && printer_online && !batch.printing.clear_pending() {
            batch
                .printing
                .top_up(depth, allowance, &batch.plan.code, &mut batch.counts, out);
        }
        let still_wanted = allowance.saturating_sub(batch.printing.queued_len());
        let unsent = batch.printing.unsent_len();
        if unsent < low_water.max(1)
            && still_wanted > unsent
            && !batch.printing.request_outstanding()
            && !batch.printing.supply_failed()
        {
            let count = (still_wanted - unsent + depth).min(block as usize).max(1) as u32;
            batch.printing.note_request_sent();
            out.push(Command::RequestSerials {
                batch: batch.id,
                count,
            });
        }
        if batch.printing.supply_failed()
            && unsent == 0
            && batch.printing.queued_len() == 0
            && still_wanted > 0
            && batch.hold.is_none()
        {
            self.hold(HoldReason::SerialsExhausted, out);
        }
    }

    pub(super) fn finish_stopping_if_done(&mut self, out: &mut Vec<Command>) {
        let Some(batch) = self.batch.as_ref() else {
            return;
        };
        let done = matches!(batch.phase, Phase::Stopping)
            && !batch.printing.clear_pending()
            && batch.printing.queued_len() == 0
            && batch.printing.unsent_len() == 0
            && batch.printing.candidates_len() == 0
            && !batch.printing.request_outstanding()
            && batch.tracker.bound_awaiting_fate() == 0
            // Handed-over items without a serial too: one leaving through the good
            // exit is an escape, which the batch must still see.
            && batch.tracker.recovered_awaiting_fate() == 0;
        if done {
            self.finish_stopping(out);
        }
    }

    /// Starts or stops the conveyor to match the batch: it runs unless held, and
    /// while producing it waits for a full printer buffer before starting (no blank
    /// items at start) and stops if the buffer runs empty while prints are wanted.
    pub(super) fn drive_line(&mut self, out: &mut Vec<Command>) {
        let allowance = self.allowance();
        let depth = self.config.printer_queue_depth;
        let Some(batch) = self.batch.as_ref() else {
            return;
        };
        let wanted = if batch.hold.is_some() {
            false
        } else {
            match batch.phase {
                Phase::Challenge { .. } | Phase::Stopping => true,
                Phase::Producing => {
                    let queued = batch.printing.queued_len();
                    let wants_more = allowance > 0;
                    if self.line_running {
                        !(queued == 0 && wants_more)
                    } else {
                        queued >= depth || !wants_more
                    }
                }
                Phase::Stopped | Phase::ChallengeFailed => false,
            }
        };
        if wanted && !self.line_running {
            self.sync_recorded_state(out);
            self.line_running = true;
            out.push(Command::StartLine);
        } else if !wanted && self.line_running {
            self.line_running = false;
            out.push(Command::StopLine {
                reason: "waiting for the printer buffer to fill".to_string(),
            });
        }
    }

    // ----- serial supply -------------------------------------------------------

    pub(super) fn serials_allocated(&mut self, serials: Vec<String>, out: &mut Vec<Command>) {
        let Some(batch) = self.batch.as_mut() else {
            alarm(
                out,
                AlarmKind::DeviceInconsistency,
                format!(
                    "{} serials arrived with no batch active: they are returned to the pool",
                    serials.len()
                ),
            );
            for serial in serials {
                out.push(Command::Persist(Transition::SerialReturned {
                    serial,
                    proof: ReturnProof::NeverSentToPrinter,
                }));
            }
            return;
        };
        batch.counts.allocated += serials.len() as u64;
        batch.printing.receive_serials(serials);
        if !matches!(batch.phase, Phase::Producing) {
            batch.printing.return_unsent(&mut batch.counts, out);
        }
    }
}
