//! Verification: camera results matched to items by seq, decided by the rules, recorded
//! and written as verdicts; the reject streak.

use crate::line::batch::Phase;
use crate::line::command::{AlarmKind, Command, Transition};
use crate::line::decision::{self, Decision, SerialStatus};
use crate::line::supervision::HoldReason;
use crate::line::tracking::{Arrival, ItemDecision};
use crate::line::types::{Grade, RejectReason, Seq, SymbologyId, Verdict};

use super::{Engine, alarm, serial_key};

impl Engine {
    // ----- camera --------------------------------------------------------------

    pub(super) fn camera_result(
        &mut self,
        seq: Seq,
        read: Option<(SymbologyId, &str, Grade)>,
        out: &mut Vec<Command>,
    ) {
        let now = self.now;
        let window = self.config.decision_window;
        let lead = self.config.max_result_lead;
        let Some(batch) = self.batch.as_mut() else {
            return;
        };
        match batch.tracker.arrive(seq, now, None, lead) {
            Arrival::Tracked => {}
            Arrival::Stale => {
                batch.stats.late_reports += 1;
                return;
            }
            Arrival::TooFarAhead => {
                self.inconsistency(
                    out,
                    format!("the camera sent a result for item {seq}, which the PLC has not reported yet: check the camera's trigger source"),
                );
                return;
            }
        }
        let already_decided = batch
            .tracker
            .get(seq)
            .is_some_and(|item| item.decision.is_some());
        if already_decided {
            batch.stats.repeated_results += 1;
            return;
        }
        let decision = if batch.tracker.is_past_decision_point(seq, now, window) {
            Decision::Reject {
                reason: RejectReason::Late,
                identified: None,
            }
        } else {
            match read {
                None => Decision::Reject {
                    reason: RejectReason::NoRead,
                    identified: None,
                },
                Some((symbology, data, grade)) => {
                    let mut unknown_serial: Option<String> = None;
                    let decide = |printing: &crate::line::printing::PrintBuffer,
                                  verified: &std::collections::HashSet<u64>,
                                  unknown: &mut Option<String>| {
                        decision::decide(symbology, data, grade, batch.min_grade, |serial| {
                            match printing.expected_for(serial) {
                                Some(expected) => SerialStatus::Candidate(expected),
                                None if verified.contains(&serial_key(serial)) => {
                                    SerialStatus::VerifiedBefore
                                }
                                None => {
                                    *unknown = Some(serial.to_string());
                                    SerialStatus::Unknown
                                }
                            }
                        })
                    };
                    let first = decide(&batch.printing, &batch.verified, &mut unknown_serial);
                    // A serial still waiting for the printer's print-complete report: the
                    // read proves it was printed (the camera's report overtook the
                    // printer's), so acknowledge it and decide again.
                    let queued = unknown_serial
                        .as_deref()
                        .and_then(|serial| batch.printing.queued_message_of(serial));
                    match queued {
                        Some(message_id)
                            if batch.printing.acknowledge_by_read(
                                message_id,
                                now.encoder,
                                &mut batch.counts,
                                out,
                            ) =>
                        {
                            batch.stats.acknowledged_by_read += 1;
                            decide(&batch.printing, &batch.verified, &mut None)
                        }
                        _ => first,
                    }
                }
            }
        };
        let grade = read.map(|(_, _, grade)| grade);
        self.apply_decision(seq, decision, grade, out);
    }

    pub(super) fn apply_decision(
        &mut self,
        seq: Seq,
        decision: Decision,
        grade: Option<Grade>,
        out: &mut Vec<Command>,
    ) {
        let allowance = self.allowance();
        let Some(batch) = self.batch.as_mut() else {
            return;
        };
        let item_decision = match decision {
            Decision::Good { serial } => {
                batch.printing.bind(&serial);
                batch.verified.insert(serial_key(&serial));
                batch.streak.good();
                batch.stats.good_verdicts += 1;
                ItemDecision {
                    verdict: Verdict::Good,
                    reason: None,
                    serial: Some(serial),
                    grade,
                }
            }
            Decision::Reject { reason, identified } => {
                if let Some(serial) = &identified {
                    batch.printing.bind(serial);
                }
                batch.stats.rejects_by_reason[reason.index()] += 1;
                ItemDecision {
                    verdict: Verdict::Reject,
                    reason: Some(reason),
                    serial: identified,
                    grade,
                }
            }
        };
        let verdict = item_decision.verdict;
        let printed_this_run = match (
            batch.streak_from_encoder,
            batch
                .tracker
                .get(seq)
                .and_then(|item| item.trigger_encoder()),
        ) {
            (Some(from), Some(at)) => at.wrapping_sub(from) as i32 >= 0,
            _ => true,
        };
        out.push(Command::Persist(Transition::ItemVerdict {
            seq,
            verdict,
            reason: item_decision.reason,
            serial: item_decision.serial.clone(),
            grade,
        }));
        out.push(Command::WriteVerdict { seq, verdict });
        batch.tracker.decide(seq, item_decision);
        // Rejects count toward the streak only while producing with prints still
        // wanted; during a challenge or the tail of a batch unprinted items are expected.
        let counting = matches!(batch.phase, Phase::Producing)
            && batch.hold.is_none()
            && allowance > 0
            && printed_this_run;
        if verdict == Verdict::Reject && counting && batch.streak.reject(batch.reject_limit) {
            let limit = batch.reject_limit;
            self.hold(HoldReason::ConsecutiveRejects(limit), out);
            alarm(
                out,
                AlarmKind::ConsecutiveRejects,
                format!(
                    "{limit} rejects in a row: check the printer and camera, empty the reject bin if needed, then resume"
                ),
            );
        }
    }

    /// How many more prints may be started: the quantity minus what is commissioned
    /// and what could still become good.
    pub(super) fn allowance(&self) -> usize {
        let Some(batch) = self.batch.as_ref() else {
            return 0;
        };
        let committed = batch.counts.commissioned as usize
            + batch.printing.pending_prints()
            + batch.tracker.good_awaiting_fate();
        (batch.quantity as usize).saturating_sub(committed)
    }
}
