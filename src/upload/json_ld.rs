//! EPCIS 2.0 JSON-LD writer: `EPCISDocument` with the official `@context`, Object- and
//! AggregationEvents as compact JSON with bare CBV words for bizStep / disposition (the official JSON schema
//! refuses `urn:epcglobal:cbv:...` there) and `cbvmda:` ilmd keys.
//!
//! Written piece by piece into a byte buffer so that a document of many large events
//! is built once, without an intermediate JSON tree; every string goes through
//! `serde_json` for escaping.

use super::error::DocumentError;
use super::model::{AggregationEvent, ObjectEvent};
use super::time::EventTime;

/// The official EPCIS 2.0 JSON-LD context.
pub const EPCIS_CONTEXT_URL: &str =
    "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld";
/// The `cbvmda` prefix exactly as the official context defines it (repeated in the
/// document so that readers which do not fetch the context still resolve it; an
/// identical redefinition is allowed for JSON-LD protected terms).
pub const CBVMDA_NAMESPACE: &str = "urn:epcglobal:cbv:mda:";

/// Writes the document head, up to and including `"eventList":[`.
pub fn write_document_start(
    out: &mut Vec<u8>,
    creation_date: &EventTime,
    declare_cbvmda: bool,
) -> Result<(), DocumentError> {
    out.extend_from_slice(b"{\"@context\":[");
    push_json_string(out, EPCIS_CONTEXT_URL)?;
    if declare_cbvmda {
        out.extend_from_slice(b",{\"cbvmda\":");
        push_json_string(out, CBVMDA_NAMESPACE)?;
        out.push(b'}');
    }
    out.extend_from_slice(
        b"],\"type\":\"EPCISDocument\",\"schemaVersion\":\"2.0\",\"creationDate\":",
    );
    push_json_string(out, &creation_date.to_local_string())?;
    out.extend_from_slice(b",\"epcisBody\":{\"eventList\":[");
    Ok(())
}

/// What goes between two events.
pub const EVENT_SEPARATOR: &[u8] = b",";

/// Writes the document tail.
pub fn write_document_end(out: &mut Vec<u8>) {
    out.extend_from_slice(DOCUMENT_END);
}

const DOCUMENT_END: &[u8] = b"]}}\n";

/// Byte length of the document tail.
pub fn document_end_len() -> usize {
    DOCUMENT_END.len()
}

/// Writes one ObjectEvent with the given event ID.
pub fn write_event(
    out: &mut Vec<u8>,
    event: &ObjectEvent,
    event_id: &str,
) -> Result<(), DocumentError> {
    let kind = &event.kind;
    out.extend_from_slice(b"{\"type\":\"ObjectEvent\",\"eventID\":");
    push_json_string(out, event_id)?;
    out.extend_from_slice(b",\"eventTime\":");
    push_json_string(out, &event.event_time.to_local_string())?;
    out.extend_from_slice(b",\"eventTimeZoneOffset\":");
    push_json_string(out, &event.event_time.offset().to_string())?;
    out.extend_from_slice(b",\"epcList\":[");
    for (i, epc) in event.epcs.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        push_json_string(out, epc)?;
    }
    out.extend_from_slice(b"],\"action\":");
    push_json_string(out, kind.action().as_str())?;
    out.extend_from_slice(b",\"bizStep\":");
    push_json_string(out, kind.biz_step().word())?;
    out.extend_from_slice(b",\"disposition\":");
    push_json_string(out, kind.disposition().word())?;
    out.extend_from_slice(b",\"readPoint\":{\"id\":");
    push_json_string(out, event.read_point.as_str())?;
    out.extend_from_slice(b"},\"bizLocation\":{\"id\":");
    push_json_string(out, event.biz_location.as_str())?;
    out.push(b'}');
    if let Some(lot) = kind.lot_master_data() {
        out.extend_from_slice(b",\"ilmd\":{\"cbvmda:lotNumber\":");
        push_json_string(out, lot.lot_number())?;
        out.extend_from_slice(b",\"cbvmda:itemExpirationDate\":");
        push_json_string(out, &lot.expiry_iso())?;
        out.push(b'}');
    }
    out.push(b'}');
    Ok(())
}

/// Writes one AggregationEvent with the given event ID.
pub fn write_aggregation_event(
    out: &mut Vec<u8>,
    event: &AggregationEvent,
    event_id: &str,
) -> Result<(), DocumentError> {
    let kind = event.kind;
    out.extend_from_slice(b"{\"type\":\"AggregationEvent\",\"eventID\":");
    push_json_string(out, event_id)?;
    out.extend_from_slice(b",\"eventTime\":");
    push_json_string(out, &event.event_time.to_local_string())?;
    out.extend_from_slice(b",\"eventTimeZoneOffset\":");
    push_json_string(out, &event.event_time.offset().to_string())?;
    out.extend_from_slice(b",\"parentID\":");
    push_json_string(out, &event.parent)?;
    out.extend_from_slice(b",\"childEPCs\":[");
    for (i, epc) in event.children.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        push_json_string(out, epc)?;
    }
    out.extend_from_slice(b"],\"action\":");
    push_json_string(out, kind.action().as_str())?;
    out.extend_from_slice(b",\"bizStep\":");
    push_json_string(out, kind.biz_step().word())?;
    out.extend_from_slice(b",\"disposition\":");
    push_json_string(out, kind.disposition().word())?;
    out.extend_from_slice(b",\"readPoint\":{\"id\":");
    push_json_string(out, event.read_point.as_str())?;
    out.extend_from_slice(b"},\"bizLocation\":{\"id\":");
    push_json_string(out, event.biz_location.as_str())?;
    out.extend_from_slice(b"}}");
    Ok(())
}

/// Bytes that one more EPC adds to an event's `epcList` (with its separating comma
/// when it is not the first).
pub fn epc_entry_len(epc: &str, is_first: bool) -> usize {
    json_string_len(epc) + usize::from(!is_first)
}

fn push_json_string(out: &mut Vec<u8>, value: &str) -> Result<(), DocumentError> {
    serde_json::to_writer(&mut *out, value).map_err(|e| {
        DocumentError::Event(format!("could not write the JSON string {value:?}: {e}"))
    })
}

/// Length of `value` as a JSON string literal, escaped as `serde_json` escapes it.
fn json_string_len(value: &str) -> usize {
    2 + value
        .bytes()
        .map(|b| match b {
            b'"' | b'\\' | b'\x08' | b'\x0c' | b'\n' | b'\r' | b'\t' => 2,
            0..=0x1f => 6,
            _ => 1,
        })
        .sum::<usize>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predicted_string_lengths_match_serde_json() {
        for s in [
            "urn:epc:id:sgtin:9506000.013435.A%2FB",
            "a\"b\\c\nd\u{1}e",
            "é€",
            "",
        ] {
            let mut out = Vec::new();
            push_json_string(&mut out, s).unwrap();
            assert_eq!(out.len(), json_string_len(s), "{s:?}");
        }
    }
}
