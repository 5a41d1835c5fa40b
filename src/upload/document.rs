//! One EPCIS document from a list of events, in the client's format: the event IDs
//! (hash IDs in the form that matches the format), the bytes, and the content type.
//!
//! This is the unit the outbox sends and, for a resend, renders again from the stored
//! events: the same events always give the same event IDs.

use super::error::DocumentError;
use super::event_hash::{IlmdNamespace, event_hash_id};
use super::model::ObjectEvent;
use super::time::EventTime;
use super::{json_ld, xml12};

/// The two document formats a client's site server may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DocumentFormat {
    /// EPCIS 2.0 JSON-LD (`application/ld+json`), the default for EPCIS 2.0 capture.
    #[serde(rename = "epcis2-json")]
    Epcis2JsonLd,
    /// EPCIS 1.2 XML (`application/xml`), for site servers that only speak 1.2.
    #[serde(rename = "epcis12-xml")]
    Epcis12Xml,
}

impl DocumentFormat {
    /// HTTP `Content-Type` of a document in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            DocumentFormat::Epcis2JsonLd => "application/ld+json",
            DocumentFormat::Epcis12Xml => "application/xml",
        }
    }
    /// File extension for exported documents.
    pub fn file_extension(self) -> &'static str {
        match self {
            DocumentFormat::Epcis2JsonLd => "jsonld",
            DocumentFormat::Epcis12Xml => "xml",
        }
    }
    /// How this format names the `cbvmda` namespace, and therefore which form of the
    /// event hash its documents carry (see [`super::event_hash`]).
    pub fn ilmd_namespace(self) -> IlmdNamespace {
        match self {
            DocumentFormat::Epcis2JsonLd => IlmdNamespace::JsonLd,
            DocumentFormat::Epcis12Xml => IlmdNamespace::Xml,
        }
    }

    pub(crate) fn write_document_start(
        self,
        out: &mut Vec<u8>,
        creation: &EventTime,
        cbvmda: bool,
    ) -> Result<(), DocumentError> {
        match self {
            DocumentFormat::Epcis2JsonLd => json_ld::write_document_start(out, creation, cbvmda),
            DocumentFormat::Epcis12Xml => xml12::write_document_start(out, creation, cbvmda),
        }
    }
    pub(crate) fn write_event(
        self,
        out: &mut Vec<u8>,
        event: &ObjectEvent,
        event_id: &str,
    ) -> Result<(), DocumentError> {
        match self {
            DocumentFormat::Epcis2JsonLd => json_ld::write_event(out, event, event_id),
            DocumentFormat::Epcis12Xml => xml12::write_event(out, event, event_id),
        }
    }
    pub(crate) fn event_separator(self) -> &'static [u8] {
        match self {
            DocumentFormat::Epcis2JsonLd => json_ld::EVENT_SEPARATOR,
            DocumentFormat::Epcis12Xml => xml12::EVENT_SEPARATOR,
        }
    }
    pub(crate) fn write_document_end(self, out: &mut Vec<u8>) {
        match self {
            DocumentFormat::Epcis2JsonLd => json_ld::write_document_end(out),
            DocumentFormat::Epcis12Xml => xml12::write_document_end(out),
        }
    }
    pub(crate) fn document_end_len(self) -> usize {
        match self {
            DocumentFormat::Epcis2JsonLd => json_ld::document_end_len(),
            DocumentFormat::Epcis12Xml => xml12::document_end_len(),
        }
    }
    pub(crate) fn epc_entry_len(self, epc: &str, is_first: bool) -> usize {
        match self {
            DocumentFormat::Epcis2JsonLd => json_ld::epc_entry_len(epc, is_first),
            DocumentFormat::Epcis12Xml => xml12::epc_entry_len(epc, is_first),
        }
    }
}

/// What one event of a document is, for the outbox and the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventSummary {
    pub event_id: String,
    pub epc_count: usize,
}

/// A finished EPCIS document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpcisDocument {
    pub format: DocumentFormat,
    pub bytes: Vec<u8>,
    pub events: Vec<EventSummary>,
}

impl EpcisDocument {
    /// Number of EPCs over all events.
    pub fn epc_count(&self) -> usize {
        self.events.iter().map(|e| e.epc_count).sum()
    }
}

/// Renders `events` as one document created at `creation_date`.
pub fn render_document(
    format: DocumentFormat,
    creation_date: &EventTime,
    events: &[ObjectEvent],
) -> Result<EpcisDocument, DocumentError> {
    if events.is_empty() {
        return Err(DocumentError::Event(
            "an EPCIS document needs at least one event; nothing to report".into(),
        ));
    }
    let cbvmda = events.iter().any(|e| e.kind.lot_master_data().is_some());
    let mut bytes = Vec::new();
    format.write_document_start(&mut bytes, creation_date, cbvmda)?;
    let mut summaries = Vec::with_capacity(events.len());
    for (i, event) in events.iter().enumerate() {
        super::checks::check_event(event)?;
        let event_id = event_hash_id(event, format.ilmd_namespace())?;
        if i > 0 {
            bytes.extend_from_slice(format.event_separator());
        }
        format.write_event(&mut bytes, event, &event_id)?;
        summaries.push(EventSummary {
            event_id,
            epc_count: event.epcs.len(),
        });
    }
    format.write_document_end(&mut bytes);
    Ok(EpcisDocument {
        format,
        bytes,
        events: summaries,
    })
}
