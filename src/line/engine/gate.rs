//! What happens at the gate: fates from the PLC (commission, scrap, hold), the
//! challenge count, escaped items and PLC alarms.

use crate::line::batch::Phase;
use crate::line::command::{AlarmKind, Command, ScrapCause, Transition};
use crate::line::event::PlcAlarms;
use crate::line::supervision::HoldReason;
use crate::line::tracking::TrackedItem;
use crate::line::types::{ItemFate, Seq, Verdict};

use super::{Engine, alarm};

impl Engine {
    // ----- PLC -----------------------------------------------------------------

    pub(super) fn item_fate(&mut self, seq: Seq, fate: ItemFate, out: &mut Vec<Command>) {
        let Some(batch) = self.batch.as_mut() else {
            return;
        };
        let resolution = batch.tracker.resolve_fate(seq);
        for missing in resolution.missing {
            self.resolve_item(missing.seq, Some(missing), None, out);
        }
        if resolution.before_run {
            if let Some(batch) = self.batch.as_mut() {
                batch.stats.fates_before_run += 1;
            }
            return;
        }
        if resolution.stale {
            if let Some(batch) = self.batch.as_mut() {
                batch.stats.late_reports += 1;
            }
            if fate == ItemFate::ExitedGood {
                self.escaped(seq, out);
            }
            return;
        }
        self.resolve_item(seq, resolution.item, Some(fate), out);
    }

    /// Settles one item: commission, scrap, or hold the line, and count the challenge.
    pub(super) fn resolve_item(
        &mut self,
        seq: Seq,
        item: Option<TrackedItem>,
        fate: Option<ItemFate>,
        out: &mut Vec<Command>,
    ) {
        let Some(batch) = self.batch.as_mut() else {
            return;
        };
        let recovered = item.as_ref().is_some_and(|item| item.recovered);
        let decision = item.and_then(|item| item.decision);
        let verdict = decision.as_ref().map(|decision| decision.verdict);
        let serial = decision.and_then(|decision| decision.serial);
        let Some(fate) = fate else {
            batch.stats.fates_missing += 1;
            if let Some(serial) = serial {
                batch.counts.scrapped += 1;
                out.push(Command::Persist(Transition::SerialScrapped {
                    serial,
                    seq: Some(seq),
                    cause: ScrapCause::FateUnknown,
                }));
            }
            let look = if recovered {
                // Handed over by recovery: the gate may have released it before the
                // REJECT landed.
                "check the reject bin and the good exit"
            } else {
                "check the reject bin"
            };
            self.inconsistency(out, format!("the PLC never reported the fate of item {seq}: it is counted as rejected; {look}"));
            self.challenge_outcome(false, "a challenge item's fate was never reported", out);
            return;
        };
        if fate == ItemFate::RejectedUnconfirmed {
            self.line_running = false;
            out.push(Command::StopLine {
                reason: format!("reject of item {seq} not confirmed"),
            });
        }
        let Some(batch) = self.batch.as_mut() else {
            return;
        };
        out.push(Command::Persist(Transition::ItemFate {
            seq,
            fate,
            serial: serial.clone(),
        }));
        match (fate, verdict) {
            (ItemFate::ExitedGood, Some(Verdict::Good)) => {
                batch.stats.exited_good += 1;
                if recovered {
                    batch.stats.handed_over_exited_good += 1;
                }
                if let Some(serial) = serial {
                    batch.counts.commissioned += 1;
                    out.push(Command::Persist(Transition::SerialCommissioned {
                        serial,
                        seq,
                    }));
                }
                self.challenge_outcome(false, "a challenge item left through the good exit", out);
            }
            (ItemFate::ExitedGood, _) => {
                batch.stats.exited_good += 1;
                if recovered {
                    batch.stats.handed_over_exited_good += 1;
                }
                if let Some(serial) = serial {
                    batch.counts.scrapped += 1;
                    out.push(Command::Persist(Transition::SerialScrapped {
                        serial,
                        seq: Some(seq),
                        cause: ScrapCause::ItemEscapedWithoutGood,
                    }));
                }
                self.challenge_outcome(false, "a challenge item left through the good exit", out);
                self.escaped(seq, out);
            }
            (ItemFate::RejectedConfirmed | ItemFate::RejectedUnconfirmed, _) => {
                if fate == ItemFate::RejectedConfirmed {
                    batch.stats.rejected_confirmed += 1;
                } else {
                    batch.stats.rejected_unconfirmed += 1;
                }
                if let Some(serial) = serial {
                    batch.counts.scrapped += 1;
                    out.push(Command::Persist(Transition::SerialScrapped {
                        serial,
                        seq: Some(seq),
                        cause: ScrapCause::ItemRejected,
                    }));
                }
                if fate == ItemFate::RejectedUnconfirmed {
                    alarm(
                        out,
                        AlarmKind::RejectNotConfirmed,
                        format!(
                            "the reject of item {seq} was not confirmed: find the item (reject bin or good exit) and remove it, then resume"
                        ),
                    );
                    self.challenge_outcome(
                        false,
                        "a challenge item's reject was not confirmed",
                        out,
                    );
                    self.hold(HoldReason::RejectNotConfirmed, out);
                } else {
                    self.challenge_outcome(true, "", out);
                }
            }
        }
    }

    /// Counts one challenge item's outcome (no effect outside a challenge).
    pub(super) fn challenge_outcome(
        &mut self,
        confirmed_reject: bool,
        failure: &str,
        out: &mut Vec<Command>,
    ) {
        let streak_from = self
            .now
            .encoder
            .map(|e| e.wrapping_add(self.config.printer_to_camera_counts));
        let Some(batch) = self.batch.as_mut() else {
            return;
        };
        let Phase::Challenge {
            expected,
            confirmed,
        } = batch.phase
        else {
            return;
        };
        if !confirmed_reject {
            self.fail_challenge(failure.to_string(), out);
            return;
        }
        let confirmed = confirmed + 1;
        batch.phase = if confirmed >= expected {
            batch.streak.reset();
            // Items that passed the print head during the challenge are blank.
            batch.streak_from_encoder = streak_from;
            Phase::Producing
        } else {
            Phase::Challenge {
                expected,
                confirmed,
            }
        };
        self.sync_recorded_state(out);
    }

    /// The PLC reports item `seq` at the camera: handed-over items that are not
    /// before it will never get their fates under their seqs (the PLC's item count
    /// started again), so they are settled as missing now.
    pub(super) fn counter_restarted_past_recovered(&mut self, seq: Seq, out: &mut Vec<Command>) {
        let Some(batch) = self.batch.as_mut() else {
            return;
        };
        for item in batch.tracker.take_recovered_not_before(seq) {
            self.resolve_item(item.seq, Some(item), None, out);
        }
    }

    pub(super) fn escaped(&mut self, seq: Seq, out: &mut Vec<Command>) {
        self.hold(HoldReason::ItemEscaped, out);
        alarm(
            out,
            AlarmKind::ItemEscaped,
            format!(
                "item {seq} left through the good exit without a GOOD verdict: retrieve it from the good exit, then resume"
            ),
        );
    }

    pub(super) fn plc_alarms(&mut self, alarms: PlcAlarms, out: &mut Vec<Command>) {
        let was_active = self.plc_alarm_active;
        self.plc_alarm_active = alarms.any();
        if alarms.any() && !was_active {
            let reason = if alarms.reject_not_confirmed {
                HoldReason::RejectNotConfirmed
            } else {
                HoldReason::PlcAlarm(alarms.describe())
            };
            self.hold(reason, out);
            alarm(
                out,
                AlarmKind::PlcAlarm,
                format!(
                    "the PLC stopped the line: {}; clear the cause at the line, then resume",
                    alarms.describe()
                ),
            );
        }
    }
}
