//! Translates the engine's [`Transition`]s into the store's [`LineRecord`]s, and the
//! store's batch counts into the engine's [`Reconciliation`] (pure).

use crate::line::{
    InvalidationCause, ItemFate, Reconciliation, ReturnProof, ScrapCause, Transition, Verdict,
};
use crate::store::line_records::{BatchSerialCounts, LineRecord, SerialOutcome};

/// The store's counts of a batch in the engine's terms.
pub fn reconciliation_of(stored: &BatchSerialCounts) -> Reconciliation {
    Reconciliation {
        allocated: stored.allocated,
        commissioned: stored.commissioned,
        scrapped: stored.scrapped,
        sampled: stored.sampled,
        invalidated: stored.invalidated,
        returned: stored.returned,
    }
}

/// Everything a record needs besides the transition: the printer's name for proofs.
pub fn to_record(transition: &Transition, printer: &str) -> LineRecord {
    match transition {
        Transition::BatchState { state, reason, .. } => LineRecord::BatchState {
            state: state.as_str().to_string(),
            reason: reason.clone(),
        },
        Transition::PrintQueued { message_id, serial } => LineRecord::PrintQueued {
            message_id: message_id.0,
            serial: serial.clone(),
        },
        Transition::SerialEncoded { serial, message_id } => LineRecord::Serial {
            serial: serial.clone(),
            outcome: SerialOutcome::Encoded,
            detail: format!("printer acknowledged message {message_id}"),
        },
        Transition::SerialCommissioned { serial, seq } => LineRecord::Serial {
            serial: serial.clone(),
            outcome: SerialOutcome::Commissioned,
            detail: format!("item {seq} verified good and past the gate"),
        },
        Transition::SerialScrapped { serial, seq, cause } => LineRecord::Serial {
            serial: serial.clone(),
            outcome: SerialOutcome::Scrapped,
            detail: format!(
                "{} (item {})",
                scrap_cause(*cause),
                seq.map_or("unknown".to_string(), |s| s.to_string())
            ),
        },
        Transition::SerialReturned { serial, proof } => {
            let (printer, evidence) = match proof {
                ReturnProof::PrinterReportedUnprinted { message_id } => (
                    printer.to_string(),
                    format!("buffer clear report listed message {message_id} as never printed"),
                ),
                ReturnProof::NeverSentToPrinter => (
                    "none (never sent)".to_string(),
                    "the serial never left the station: it was never queued to a printer"
                        .to_string(),
                ),
            };
            LineRecord::SerialReturned {
                serial: serial.clone(),
                printer,
                evidence,
            }
        }
        Transition::SerialInvalidated { serial, cause } => LineRecord::Serial {
            serial: serial.clone(),
            outcome: SerialOutcome::Invalidated,
            detail: invalidation_cause(*cause).to_string(),
        },
        Transition::ItemVerdict {
            seq,
            verdict,
            reason,
            serial,
            grade,
        } => LineRecord::ItemVerdict {
            seq: seq.0,
            good: *verdict == Verdict::Good,
            reason: reason.map(|r| r.as_str().to_string()),
            serial: serial.clone(),
            grade: grade.map(|g| f64::from(g.tenths()) / 10.0),
        },
        Transition::ItemFate { seq, fate, serial } => LineRecord::ItemFate {
            seq: seq.0,
            fate: fate_name(*fate).to_string(),
            serial: serial.clone(),
        },
        Transition::BatchClosed {
            counts,
            unbalanced_reason,
            ..
        } => LineRecord::BatchClosed {
            counts: serde_json::to_value(counts).unwrap_or(serde_json::Value::Null),
            unbalanced_reason: unbalanced_reason.clone(),
        },
    }
}

fn fate_name(fate: ItemFate) -> &'static str {
    fate.as_str()
}

fn scrap_cause(cause: ScrapCause) -> &'static str {
    match cause {
        ScrapCause::ItemRejected => "item rejected",
        ScrapCause::ItemEscapedWithoutGood => "item left without a GOOD verdict",
        ScrapCause::NeverVerified => "printed but never verified good",
        ScrapCause::FateUnknown => "item fate unknown",
    }
}

fn invalidation_cause(cause: InvalidationCause) -> &'static str {
    match cause {
        InvalidationCause::AcknowledgementMissing => "print acknowledgement missing",
        InvalidationCause::NotReportedUnprinted => "not reported unprinted by the printer",
        InvalidationCause::PrinterUnreachable => "printer unreachable when the batch stopped",
        InvalidationCause::NotEncodable => "serial cannot be encoded with the code template",
    }
}
