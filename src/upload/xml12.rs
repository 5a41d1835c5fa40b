//! EPCIS 1.2 XML writer: `epcis:EPCISDocument` (`urn:epcglobal:epcis:xsd:1`,
//! `schemaVersion="1.2"`) with ObjectEvents in the element order of the 1.2 XSD:
//! eventTime, eventTimeZoneOffset, baseExtension/eventID, epcList, action, bizStep and
//! disposition as CBV URNs, readPoint, bizLocation, and the ilmd inside
//! `<extension><ilmd>` with `cbvmda` = `urn:epcglobal:cbv:mda`; and AggregationEvents
//! (`AggregationEventType`): eventTime, eventTimeZoneOffset, baseExtension/eventID,
//! parentID, childEPCs, action, bizStep, disposition, readPoint, bizLocation.
//!
//! A small hand-written writer (no XML crate): every text value is escaped, and a
//! character XML 1.0 cannot carry at all is an error, never dropped.

use super::error::DocumentError;
use super::model::{AggregationEvent, ObjectEvent};
use super::time::EventTime;

/// The EPCIS 1.2 namespace.
pub const EPCIS_12_NAMESPACE: &str = "urn:epcglobal:epcis:xsd:1";
/// The CBV master-data namespace as XML declares it.
pub const CBVMDA_NAMESPACE: &str = "urn:epcglobal:cbv:mda";

/// Writes the XML declaration and the document head, up to and including `<EventList>`.
pub fn write_document_start(
    out: &mut Vec<u8>,
    creation_date: &EventTime,
    declare_cbvmda: bool,
) -> Result<(), DocumentError> {
    out.extend_from_slice(
        b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<epcis:EPCISDocument xmlns:epcis=\"",
    );
    out.extend_from_slice(EPCIS_12_NAMESPACE.as_bytes());
    out.push(b'"');
    if declare_cbvmda {
        out.extend_from_slice(b" xmlns:cbvmda=\"");
        out.extend_from_slice(CBVMDA_NAMESPACE.as_bytes());
        out.push(b'"');
    }
    out.extend_from_slice(b" schemaVersion=\"1.2\" creationDate=\"");
    push_escaped(out, &creation_date.to_local_string())?;
    out.extend_from_slice(b"\">\n<EPCISBody>\n<EventList>\n");
    Ok(())
}

/// What goes between two events.
pub const EVENT_SEPARATOR: &[u8] = b"\n";

const DOCUMENT_END: &[u8] = b"\n</EventList>\n</EPCISBody>\n</epcis:EPCISDocument>\n";

/// Writes the document tail.
pub fn write_document_end(out: &mut Vec<u8>) {
    out.extend_from_slice(DOCUMENT_END);
}

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
    out.extend_from_slice(b"<ObjectEvent><eventTime>");
    push_escaped(out, &event.event_time.to_local_string())?;
    out.extend_from_slice(b"</eventTime><eventTimeZoneOffset>");
    push_escaped(out, &event.event_time.offset().to_string())?;
    out.extend_from_slice(b"</eventTimeZoneOffset><baseExtension><eventID>");
    push_escaped(out, event_id)?;
    out.extend_from_slice(b"</eventID></baseExtension><epcList>");
    for epc in &event.epcs {
        out.extend_from_slice(b"<epc>");
        push_escaped(out, epc)?;
        out.extend_from_slice(b"</epc>");
    }
    out.extend_from_slice(b"</epcList><action>");
    out.extend_from_slice(kind.action().as_str().as_bytes());
    out.extend_from_slice(b"</action><bizStep>");
    push_escaped(out, &kind.biz_step().urn())?;
    out.extend_from_slice(b"</bizStep><disposition>");
    push_escaped(out, &kind.disposition().urn())?;
    out.extend_from_slice(b"</disposition><readPoint><id>");
    push_escaped(out, event.read_point.as_str())?;
    out.extend_from_slice(b"</id></readPoint><bizLocation><id>");
    push_escaped(out, event.biz_location.as_str())?;
    out.extend_from_slice(b"</id></bizLocation>");
    if let Some(lot) = kind.lot_master_data() {
        out.extend_from_slice(b"<extension><ilmd><cbvmda:lotNumber>");
        push_escaped(out, lot.lot_number())?;
        out.extend_from_slice(b"</cbvmda:lotNumber><cbvmda:itemExpirationDate>");
        push_escaped(out, &lot.expiry_iso())?;
        out.extend_from_slice(b"</cbvmda:itemExpirationDate></ilmd></extension>");
    }
    out.extend_from_slice(b"</ObjectEvent>");
    Ok(())
}

/// Writes one AggregationEvent with the given event ID.
pub fn write_aggregation_event(
    out: &mut Vec<u8>,
    event: &AggregationEvent,
    event_id: &str,
) -> Result<(), DocumentError> {
    let kind = event.kind;
    out.extend_from_slice(b"<AggregationEvent><eventTime>");
    push_escaped(out, &event.event_time.to_local_string())?;
    out.extend_from_slice(b"</eventTime><eventTimeZoneOffset>");
    push_escaped(out, &event.event_time.offset().to_string())?;
    out.extend_from_slice(b"</eventTimeZoneOffset><baseExtension><eventID>");
    push_escaped(out, event_id)?;
    out.extend_from_slice(b"</eventID></baseExtension><parentID>");
    push_escaped(out, &event.parent)?;
    out.extend_from_slice(b"</parentID><childEPCs>");
    for epc in &event.children {
        out.extend_from_slice(b"<epc>");
        push_escaped(out, epc)?;
        out.extend_from_slice(b"</epc>");
    }
    out.extend_from_slice(b"</childEPCs><action>");
    out.extend_from_slice(kind.action().as_str().as_bytes());
    out.extend_from_slice(b"</action><bizStep>");
    push_escaped(out, &kind.biz_step().urn())?;
    out.extend_from_slice(b"</bizStep><disposition>");
    push_escaped(out, &kind.disposition().urn())?;
    out.extend_from_slice(b"</disposition><readPoint><id>");
    push_escaped(out, event.read_point.as_str())?;
    out.extend_from_slice(b"</id></readPoint><bizLocation><id>");
    push_escaped(out, event.biz_location.as_str())?;
    out.extend_from_slice(b"</id></bizLocation></AggregationEvent>");
    Ok(())
}

/// Bytes that one more EPC adds to an event's `epcList`.
pub fn epc_entry_len(epc: &str, _is_first: bool) -> usize {
    "<epc></epc>".len() + escaped_len(epc)
}

/// Appends `text` escaped for element content and attribute values alike.
pub fn push_escaped(out: &mut Vec<u8>, text: &str) -> Result<(), DocumentError> {
    if let Some(bad) = text.chars().find(|&c| !is_xml_char(c)) {
        return Err(DocumentError::Event(format!(
            "the value {text:?} contains the character U+{:04X}, which XML cannot carry; correct the master data",
            u32::from(bad)
        )));
    }
    let mut start = 0;
    for (i, b) in text.bytes().enumerate() {
        let replacement: &[u8] = match b {
            b'&' => b"&amp;",
            b'<' => b"&lt;",
            b'>' => b"&gt;",
            b'"' => b"&quot;",
            b'\'' => b"&apos;",
            _ => continue,
        };
        out.extend_from_slice(&text.as_bytes()[start..i]);
        out.extend_from_slice(replacement);
        start = i + 1;
    }
    out.extend_from_slice(&text.as_bytes()[start..]);
    Ok(())
}

/// Length of `text` after [`push_escaped`].
fn escaped_len(text: &str) -> usize {
    text.bytes()
        .map(|b| match b {
            b'&' => 5,
            b'<' | b'>' => 4,
            b'"' | b'\'' => 6,
            _ => 1,
        })
        .sum()
}

/// The XML 1.0 `Char` production.
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escaped(text: &str) -> Result<String, DocumentError> {
        let mut out = Vec::new();
        push_escaped(&mut out, text)?;
        Ok(String::from_utf8(out).unwrap())
    }

    #[test]
    fn escapes_markup_and_refuses_control_characters() {
        assert_eq!(
            escaped("a&b<c>d\"e'f").unwrap(),
            "a&amp;b&lt;c&gt;d&quot;e&apos;f"
        );
        assert_eq!(escaped("plain é").unwrap(), "plain é");
        for s in ["a&b<c>d\"e'f", "plain é", ""] {
            assert_eq!(escaped(s).unwrap().len(), escaped_len(s));
        }
        let err = escaped("lot\u{1}").unwrap_err();
        assert!(err.to_string().contains("U+0001"), "{err}");
        assert!(escaped("\u{FFFE}").is_err());
    }
}
