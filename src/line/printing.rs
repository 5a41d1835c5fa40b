//! Print buffer management: the batch's supply of write-ahead allocated serials,
//! the messages queued in the printer (sent, not yet acknowledged), and the
//! acknowledged prints that are waiting to be verified (`Encoded`, the only serials
//! a camera read may be matched to).
//!
//! This module changes serial states only through the [`Command::Persist`]s it
//! emits and the counts it updates; it never decides about items.

use std::collections::{HashMap, VecDeque};

use crate::gs1::ElementString;

use super::command::{Command, InvalidationCause, ReturnProof, ScrapCause, Transition};
use super::reconcile::Reconciliation;
use super::types::MessageId;

/// How the product's code is built for each serial: (AI, fixed value) pairs, with
/// `None` where the serial goes.
#[derive(Debug, Clone)]
pub(super) struct CodePlan {
    fields: Vec<(String, Option<String>)>,
}

impl CodePlan {
    pub(super) fn new(fields: Vec<(String, Option<String>)>) -> CodePlan {
        CodePlan { fields }
    }

    /// The validated element string for one serial.
    pub(super) fn element_for(&self, serial: &str) -> Result<ElementString, crate::gs1::Gs1Error> {
        ElementString::from_pairs(
            self.fields
                .iter()
                .map(|(ai, value)| (ai.as_str(), value.as_deref().unwrap_or(serial))),
        )
    }
}

/// A message sent to the printer and not yet acknowledged.
#[derive(Debug)]
struct QueuedPrint {
    message_id: MessageId,
    serial: String,
    expected: ElementString,
}

/// An acknowledged print not yet matched to an item.
#[derive(Debug)]
struct Candidate {
    expected: ElementString,
}

/// Acknowledgement order, for giving up on prints whose item has passed the gate.
#[derive(Debug)]
struct AckRecord {
    serial: String,
    /// The encoder count when the acknowledgement was handled (None: not known yet).
    encoder: Option<u32>,
}

/// The serial supply, the printer queue and the unverified prints of one batch.
#[derive(Debug)]
pub(super) struct PrintBuffer {
    unsent: VecDeque<String>,
    request_outstanding: bool,
    supply_failed: bool,
    queued: VecDeque<QueuedPrint>,
    first_message_id: u64,
    next_message_id: u64,
    clear_pending: bool,
    candidates: HashMap<String, Candidate>,
    ack_order: VecDeque<AckRecord>,
    /// Messages acknowledged by a camera read before the printer's own report came
    /// (its late report is then expected, not an inconsistency).
    acked_by_read: VecDeque<MessageId>,
}

/// At most this many read-acknowledged ids are remembered.
const READ_ACKS_KEPT: usize = 1024;

impl PrintBuffer {
    pub(super) fn new(first_message_id: MessageId) -> PrintBuffer {
        PrintBuffer {
            unsent: VecDeque::new(),
            request_outstanding: false,
            supply_failed: false,
            queued: VecDeque::new(),
            first_message_id: first_message_id.0,
            next_message_id: first_message_id.0,
            clear_pending: false,
            candidates: HashMap::new(),
            ack_order: VecDeque::new(),
            acked_by_read: VecDeque::new(),
        }
    }

    /// Messages in the printer plus prints awaiting verification: every serial that
    /// could still end up on a good item, apart from the ones already verified.
    pub(super) fn pending_prints(&self) -> usize {
        self.queued.len() + self.candidates.len()
    }

    pub(super) fn queued_len(&self) -> usize {
        self.queued.len()
    }

    pub(super) fn unsent_len(&self) -> usize {
        self.unsent.len()
    }

    pub(super) fn candidates_len(&self) -> usize {
        self.candidates.len()
    }

    pub(super) fn clear_pending(&self) -> bool {
        self.clear_pending
    }

    pub(super) fn supply_failed(&self) -> bool {
        self.supply_failed
    }

    pub(super) fn request_outstanding(&self) -> bool {
        self.request_outstanding
    }

    /// Marks a serial request as sent.
    pub(super) fn note_request_sent(&mut self) {
        self.request_outstanding = true;
    }

    /// Allows serial requests again after a supply failure (operator resumed).
    pub(super) fn retry_supply(&mut self) {
        self.supply_failed = false;
    }

    /// Takes a block of freshly allocated serials into the supply.
    pub(super) fn receive_serials(&mut self, serials: Vec<String>) {
        self.request_outstanding = false;
        self.unsent.extend(serials);
    }

    pub(super) fn note_supply_failed(&mut self) {
        self.request_outstanding = false;
        self.supply_failed = true;
    }

    /// Queues up to `allowance` messages, keeping the printer at `depth`.
    pub(super) fn top_up(
        &mut self,
        depth: usize,
        mut allowance: usize,
        plan: &CodePlan,
        counts: &mut Reconciliation,
        out: &mut Vec<Command>,
    ) {
        while self.queued.len() < depth && allowance > 0 {
            let Some(serial) = self.unsent.pop_front() else {
                break;
            };
            let expected = match plan.element_for(&serial) {
                Ok(expected) => expected,
                Err(_) => {
                    counts.invalidated += 1;
                    out.push(Command::Persist(Transition::SerialInvalidated {
                        serial,
                        cause: InvalidationCause::NotEncodable,
                    }));
                    continue;
                }
            };
            let message_id = MessageId(self.next_message_id);
            self.next_message_id += 1;
            out.push(Command::Persist(Transition::PrintQueued {
                message_id,
                serial: serial.clone(),
            }));
            out.push(Command::QueuePrint {
                message_id,
                serial: serial.clone(),
                encoder_data: expected.to_encoder_data(),
            });
            self.queued.push_back(QueuedPrint {
                message_id,
                serial,
                expected,
            });
            allowance -= 1;
        }
    }

    /// The printer acknowledged `message_id`. Messages queued before it that were not
    /// acknowledged may or may not have printed: they are invalidated. Returns false
    /// if the id is not in the queue (the caller raises an alarm).
    pub(super) fn acknowledge(
        &mut self,
        message_id: MessageId,
        encoder: Option<u32>,
        counts: &mut Reconciliation,
        out: &mut Vec<Command>,
    ) -> bool {
        if !self
            .queued
            .iter()
            .any(|queued| queued.message_id == message_id)
        {
            return false;
        }
        while let Some(queued) = self.queued.pop_front() {
            if queued.message_id != message_id {
                counts.invalidated += 1;
                out.push(Command::Persist(Transition::SerialInvalidated {
                    serial: queued.serial,
                    cause: InvalidationCause::AcknowledgementMissing,
                }));
                continue;
            }
            out.push(Command::Persist(Transition::SerialEncoded {
                serial: queued.serial.clone(),
                message_id,
            }));
            self.ack_order.push_back(AckRecord {
                serial: queued.serial.clone(),
                encoder,
            });
            self.candidates.insert(
                queued.serial,
                Candidate {
                    expected: queued.expected,
                },
            );
            break;
        }
        true
    }

    /// Whether `message_id` was sent before this run of the batch began (ids only grow).
    pub(super) fn is_before_run(&self, message_id: MessageId) -> bool {
        message_id.0 < self.first_message_id
    }

    /// The message id of a serial sent to the printer and not acknowledged yet.
    pub(super) fn queued_message_of(&self, serial: &str) -> Option<MessageId> {
        self.queued
            .iter()
            .find(|queued| queued.serial == serial)
            .map(|queued| queued.message_id)
    }

    /// The camera read this queued serial on an item before the printer reported
    /// printing it (the reports travel on different connections): the read proves
    /// the print, so it is acknowledged now, exactly as the printer's report would.
    pub(super) fn acknowledge_by_read(
        &mut self,
        message_id: MessageId,
        encoder: Option<u32>,
        counts: &mut Reconciliation,
        out: &mut Vec<Command>,
    ) -> bool {
        let acknowledged = self.acknowledge(message_id, encoder, counts, out);
        if acknowledged {
            if self.acked_by_read.len() == READ_ACKS_KEPT {
                self.acked_by_read.pop_front();
            }
            self.acked_by_read.push_back(message_id);
        }
        acknowledged
    }

    /// Whether the printer's report for `message_id` comes after a camera read
    /// already acknowledged it (forgets it: each report comes once).
    pub(super) fn take_read_ack(&mut self, message_id: MessageId) -> bool {
        match self.acked_by_read.iter().position(|id| *id == message_id) {
            Some(index) => {
                self.acked_by_read.remove(index);
                true
            }
            None => false,
        }
    }

    /// What was sent for this serial, if it is an acknowledged, unverified print.
    pub(super) fn expected_for(&self, serial: &str) -> Option<&ElementString> {
        self.candidates
            .get(serial)
            .map(|candidate| &candidate.expected)
    }

    /// The serial has been found on an item: it is no longer a candidate.
    pub(super) fn bind(&mut self, serial: &str) -> bool {
        self.candidates.remove(serial).is_some()
    }

    /// Scraps candidates acknowledged so long ago that their item has passed the gate.
    pub(super) fn expire_unverified(
        &mut self,
        encoder_now: u32,
        limit_counts: u32,
        counts: &mut Reconciliation,
        out: &mut Vec<Command>,
    ) {
        while let Some(record) = self.ack_order.front_mut() {
            if !self.candidates.contains_key(&record.serial) {
                self.ack_order.pop_front();
                continue;
            }
            let Some(acked_at) = record.encoder else {
                record.encoder = Some(encoder_now);
                break;
            };
            let travelled = encoder_now.wrapping_sub(acked_at) as i32;
            if travelled <= 0 || travelled as u32 <= limit_counts {
                break;
            }
            let Some(record) = self.ack_order.pop_front() else {
                break;
            };
            if self.candidates.remove(&record.serial).is_some() {
                counts.scrapped += 1;
                out.push(Command::Persist(Transition::SerialScrapped {
                    serial: record.serial,
                    seq: None,
                    cause: ScrapCause::NeverVerified,
                }));
            }
        }
    }

    /// Asks for a buffer clear (if not already asked). Returns true if the command
    /// should be sent now.
    pub(super) fn request_clear(&mut self) -> bool {
        if self.clear_pending {
            return false;
        }
        self.clear_pending = true;
        true
    }

    /// The printer's clear report: listed messages go back to the pool with the
    /// printer's proof; queued messages it did not list are invalidated. Returns the
    /// listed ids that were not in the queue (a printer inconsistency).
    pub(super) fn cleared(
        &mut self,
        never_printed: &[MessageId],
        counts: &mut Reconciliation,
        out: &mut Vec<Command>,
    ) -> Vec<MessageId> {
        self.clear_pending = false;
        let mut unknown: Vec<MessageId> = never_printed
            .iter()
            .copied()
            .filter(|id| !self.queued.iter().any(|q| q.message_id == *id))
            .collect();
        unknown.sort_unstable();
        unknown.dedup();
        for queued in self.queued.drain(..) {
            if never_printed.contains(&queued.message_id) {
                counts.returned += 1;
                out.push(Command::Persist(Transition::SerialReturned {
                    serial: queued.serial,
                    proof: ReturnProof::PrinterReportedUnprinted {
                        message_id: queued.message_id,
                    },
                }));
            } else {
                counts.invalidated += 1;
                out.push(Command::Persist(Transition::SerialInvalidated {
                    serial: queued.serial,
                    cause: InvalidationCause::NotReportedUnprinted,
                }));
            }
        }
        unknown
    }

    /// Returns every serial that never left the process.
    pub(super) fn return_unsent(&mut self, counts: &mut Reconciliation, out: &mut Vec<Command>) {
        for serial in self.unsent.drain(..) {
            counts.returned += 1;
            out.push(Command::Persist(Transition::SerialReturned {
                serial,
                proof: ReturnProof::NeverSentToPrinter,
            }));
        }
    }

    /// Gives up on everything still open (batch abandoned): queued messages whose
    /// printer could not be cleared are invalidated, unverified prints scrapped.
    pub(super) fn abandon(&mut self, counts: &mut Reconciliation, out: &mut Vec<Command>) {
        self.return_unsent(counts, out);
        self.clear_pending = false;
        for queued in self.queued.drain(..) {
            counts.invalidated += 1;
            out.push(Command::Persist(Transition::SerialInvalidated {
                serial: queued.serial,
                cause: InvalidationCause::PrinterUnreachable,
            }));
        }
        for record in self.ack_order.drain(..) {
            if self.candidates.remove(&record.serial).is_some() {
                counts.scrapped += 1;
                out.push(Command::Persist(Transition::SerialScrapped {
                    serial: record.serial,
                    seq: None,
                    cause: ScrapCause::FateUnknown,
                }));
            }
        }
    }
}
