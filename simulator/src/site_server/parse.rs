//! Reading captured EPCIS documents into the few facts the simulated site server
//! keeps: event type (ObjectEvent or AggregationEvent), event ID, action, bizStep,
//! disposition, EPCs (an AggregationEvent's children) and parent, and a fingerprint
//! of the whole event content (to tell an identical resend from a conflicting reuse
//! of an event ID).
//!
//! Pure: bytes in, events or a plain refusal out. JSON-LD goes through `serde_json`;
//! XML (EPCIS 1.2, or 2.0 XML of the same shape) is read by a small, strict reader of
//! exactly the shape the station's builder emits, and anything else is refused.

use serde::Deserialize;

/// The event types this site server accepts.
pub const OBJECT_EVENT: &str = "ObjectEvent";
pub const AGGREGATION_EVENT: &str = "AggregationEvent";

/// One ObjectEvent or AggregationEvent as the site server keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapturedEvent {
    /// [`OBJECT_EVENT`] or [`AGGREGATION_EVENT`].
    pub event_type: String,
    /// The event ID as sent (`None` when the document carried none).
    pub event_id: Option<String>,
    pub action: String,
    /// Bare CBV word (`commissioning`), whatever form the document used.
    pub biz_step: String,
    /// Bare CBV word (`active`), empty when absent.
    pub disposition: String,
    /// An ObjectEvent's `epcList`, an AggregationEvent's `childEPCs`.
    pub epcs: Vec<String>,
    /// An AggregationEvent's `parentID`.
    pub parent_id: Option<String>,
    /// FNV-1a 64 over the event's content in a fixed order (EPCs sorted).
    pub fingerprint: u64,
}

/// Why a document was refused, in the site server's own words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseRefusal(pub String);

impl std::fmt::Display for ParseRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Strips a CBV URN or Web URI down to its word (`urn:epcglobal:cbv:bizstep:x`,
/// `https://ref.gs1.org/cbv/BizStep-x` → `x`).
pub fn cbv_word(value: &str) -> &str {
    for prefix in [
        "urn:epcglobal:cbv:bizstep:",
        "urn:epcglobal:cbv:disp:",
        "https://ref.gs1.org/cbv/BizStep-",
        "https://ref.gs1.org/cbv/Disp-",
    ] {
        if let Some(word) = value.strip_prefix(prefix) {
            return word;
        }
    }
    value
}

struct Fingerprint(u64);

impl Fingerprint {
    fn new() -> Self {
        Fingerprint(0xcbf2_9ce4_8422_2325)
    }
    fn field(&mut self, text: &str) {
        for b in text.bytes().chain(std::iter::once(0xff)) {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

struct EventFields<'a> {
    event_type: &'static str,
    event_id: Option<String>,
    event_time: &'a str,
    action: &'a str,
    biz_step: &'a str,
    disposition: &'a str,
    read_point: &'a str,
    biz_location: &'a str,
    lot: &'a str,
    expiry: &'a str,
    epcs: Vec<String>,
    parent_id: Option<String>,
}

impl EventFields<'_> {
    fn into_event(self) -> Result<CapturedEvent, ParseRefusal> {
        if !matches!(self.action, "ADD" | "OBSERVE" | "DELETE") {
            return Err(ParseRefusal(format!(
                "event {} has action {:?}; expected ADD, OBSERVE or DELETE",
                self.event_id.as_deref().unwrap_or("without ID"),
                self.action
            )));
        }
        let aggregation = self.event_type == AGGREGATION_EVENT;
        if aggregation && self.parent_id.as_deref().is_none_or(str::is_empty) {
            return Err(ParseRefusal(format!(
                "AggregationEvent {} has no parentID; this site server takes only \
                 ObjectEvent and AggregationEvent elements with a parentID",
                self.event_id.as_deref().unwrap_or("without ID")
            )));
        }
        let biz_step = cbv_word(self.biz_step).to_string();
        let disposition = cbv_word(self.disposition).to_string();
        let mut sorted: Vec<&str> = self.epcs.iter().map(String::as_str).collect();
        sorted.sort_unstable();
        let mut fp = Fingerprint::new();
        for field in [
            self.event_time,
            self.action,
            &biz_step,
            &disposition,
            self.read_point,
            self.biz_location,
            self.lot,
            self.expiry,
        ] {
            fp.field(field);
        }
        // An ObjectEvent's fingerprint is what it always was; an AggregationEvent's
        // adds its type and parent.
        if aggregation {
            fp.field(self.event_type);
            fp.field(self.parent_id.as_deref().unwrap_or(""));
        }
        for epc in sorted {
            fp.field(epc);
        }
        Ok(CapturedEvent {
            event_type: self.event_type.to_string(),
            event_id: self.event_id,
            action: self.action.to_string(),
            biz_step,
            disposition,
            epcs: self.epcs,
            parent_id: if aggregation { self.parent_id } else { None },
            fingerprint: fp.0,
        })
    }
}

#[derive(Deserialize)]
struct JsonDocument {
    #[serde(rename = "type")]
    kind: String,
    #[serde(rename = "epcisBody")]
    body: JsonBody,
}

#[derive(Deserialize)]
struct JsonBody {
    #[serde(rename = "eventList")]
    event_list: Vec<JsonEvent>,
}

#[derive(Deserialize)]
struct JsonId {
    id: String,
}

#[derive(Deserialize)]
struct JsonEvent {
    #[serde(rename = "type")]
    kind: String,
    #[serde(rename = "eventID")]
    event_id: Option<String>,
    #[serde(rename = "eventTime")]
    event_time: String,
    #[serde(rename = "epcList", default)]
    epc_list: Vec<String>,
    #[serde(rename = "parentID")]
    parent_id: Option<String>,
    #[serde(rename = "childEPCs", default)]
    child_epcs: Vec<String>,
    action: String,
    #[serde(rename = "bizStep", default)]
    biz_step: String,
    #[serde(default)]
    disposition: String,
    #[serde(rename = "readPoint")]
    read_point: Option<JsonId>,
    #[serde(rename = "bizLocation")]
    biz_location: Option<JsonId>,
    ilmd: Option<serde_json::Map<String, serde_json::Value>>,
}

/// Reads an EPCIS 2.0 JSON-LD `EPCISDocument` of ObjectEvents and AggregationEvents.
pub fn parse_json_document(body: &[u8]) -> Result<Vec<CapturedEvent>, ParseRefusal> {
    let document: JsonDocument = serde_json::from_slice(body).map_err(|e| {
        ParseRefusal(format!(
            "the body is not an EPCIS 2.0 JSON-LD document this site server understands: {e}"
        ))
    })?;
    if document.kind != "EPCISDocument" {
        return Err(ParseRefusal(format!(
            "document type {:?} is not EPCISDocument",
            document.kind
        )));
    }
    let mut events = Vec::with_capacity(document.body.event_list.len());
    for event in document.body.event_list {
        let event_type = match event.kind.as_str() {
            OBJECT_EVENT => OBJECT_EVENT,
            AGGREGATION_EVENT => AGGREGATION_EVENT,
            _ => {
                return Err(ParseRefusal(format!(
                    "event type {:?} is not supported by this site server; only ObjectEvent and AggregationEvent",
                    event.kind
                )));
            }
        };
        let ilmd_text = |key: &str| {
            event
                .ilmd
                .as_ref()
                .and_then(|m| m.get(key))
                .and_then(|v| v.as_str())
                .unwrap_or("")
                .to_string()
        };
        let lot = ilmd_text("cbvmda:lotNumber");
        let expiry = ilmd_text("cbvmda:itemExpirationDate");
        let (epcs, parent_id) = if event_type == AGGREGATION_EVENT {
            (event.child_epcs, event.parent_id)
        } else {
            (event.epc_list, None)
        };
        let fields = EventFields {
            event_type,
            event_id: event.event_id,
            event_time: &event.event_time,
            action: &event.action,
            biz_step: &event.biz_step,
            disposition: &event.disposition,
            read_point: event.read_point.as_ref().map_or("", |r| r.id.as_str()),
            biz_location: event.biz_location.as_ref().map_or("", |r| r.id.as_str()),
            lot: &lot,
            expiry: &expiry,
            epcs,
            parent_id,
        };
        events.push(fields.into_event()?);
    }
    Ok(events)
}

/// Reads an EPCIS 1.2 (`urn:epcglobal:epcis:xsd:1`) or 2.0 (`…:xsd:2`) XML document
/// of ObjectEvents and AggregationEvents in the shape the station writes, in
/// document order.
pub fn parse_xml_document(body: &[u8]) -> Result<Vec<CapturedEvent>, ParseRefusal> {
    let text = std::str::from_utf8(body)
        .map_err(|_| ParseRefusal("the XML body is not UTF-8".to_string()))?;
    let root_start = text
        .find("<epcis:EPCISDocument")
        .ok_or_else(|| ParseRefusal("no <epcis:EPCISDocument> root element".to_string()))?;
    let root_tag_end = text[root_start..]
        .find('>')
        .map(|i| root_start + i)
        .ok_or_else(|| ParseRefusal("the root element is not closed".to_string()))?;
    let root_tag = &text[root_start..root_tag_end];
    if !root_tag.contains("xmlns:epcis=\"urn:epcglobal:epcis:xsd:1\"")
        && !root_tag.contains("xmlns:epcis=\"urn:epcglobal:epcis:xsd:2\"")
    {
        return Err(ParseRefusal(
            "the root element does not declare the EPCIS namespace urn:epcglobal:epcis:xsd:1 (or :2)"
                .to_string(),
        ));
    }
    if !text.trim_end().ends_with("</epcis:EPCISDocument>") {
        return Err(ParseRefusal(
            "the document does not end with </epcis:EPCISDocument>; it is truncated or not EPCIS"
                .to_string(),
        ));
    }
    let list = inner(text, "EventList")
        .ok_or_else(|| ParseRefusal("no <EventList> in <EPCISBody>".to_string()))?;
    for other in [
        "<TransactionEvent",
        "<TransformationEvent",
        "<AssociationEvent",
        "<QuantityEvent",
    ] {
        if list.contains(other) {
            return Err(ParseRefusal(format!(
                "{}> events are not supported by this site server; only ObjectEvent and AggregationEvent",
                other
            )));
        }
    }
    const OBJECT_OPEN: &str = "<ObjectEvent>";
    const AGGREGATION_OPEN: &str = "<AggregationEvent>";
    // Where the next element of each type starts (searched once past each element
    // read, so a long document is scanned once).
    let find_from = |tag: &str, from: usize| list[from..].find(tag).map(|i| i + from);
    let mut next_object = find_from(OBJECT_OPEN, 0);
    let mut next_aggregation = find_from(AGGREGATION_OPEN, 0);
    let mut events = Vec::new();
    let mut at = 0;
    loop {
        let (start, kind, open, close) = match (next_object, next_aggregation) {
            (Some(o), Some(a)) if a < o => (
                a,
                AGGREGATION_EVENT,
                AGGREGATION_OPEN,
                "</AggregationEvent>",
            ),
            (Some(o), _) => (o, OBJECT_EVENT, OBJECT_OPEN, "</ObjectEvent>"),
            (None, Some(a)) => (
                a,
                AGGREGATION_EVENT,
                AGGREGATION_OPEN,
                "</AggregationEvent>",
            ),
            (None, None) => break,
        };
        let body_start = start + open.len();
        let end = list[body_start..]
            .find(close)
            .ok_or_else(|| ParseRefusal(format!("an {open} is not closed")))?;
        events.push(parse_xml_event(kind, &list[body_start..body_start + end])?);
        at = body_start + end + close.len();
        if next_object.is_some_and(|o| o < at) {
            next_object = find_from(OBJECT_OPEN, at);
        }
        if next_aggregation.is_some_and(|a| a < at) {
            next_aggregation = find_from(AGGREGATION_OPEN, at);
        }
    }
    let rest = &list[at..];
    if !rest.trim().is_empty() || (events.is_empty() && !list.trim().is_empty()) {
        return Err(ParseRefusal(
            "<EventList> holds something other than <ObjectEvent> and <AggregationEvent> elements"
                .to_string(),
        ));
    }
    Ok(events)
}

/// The `<epc>` values of a list element's content (`epcList`, `childEPCs`).
fn xml_epcs(list: &str, name: &str) -> Result<Vec<String>, ParseRefusal> {
    let mut epcs = Vec::new();
    let mut rest = list;
    while let Some(start) = rest.find("<epc>") {
        let after = &rest[start + 5..];
        let end = after
            .find("</epc>")
            .ok_or_else(|| ParseRefusal("an <epc> is not closed".to_string()))?;
        epcs.push(unescape(&after[..end])?);
        rest = &after[end + 6..];
    }
    if !rest.trim().is_empty() {
        return Err(ParseRefusal(format!(
            "<{name}> holds something other than <epc> elements"
        )));
    }
    Ok(epcs)
}

fn parse_xml_event(kind: &'static str, event: &str) -> Result<CapturedEvent, ParseRefusal> {
    let text = |tag: &str| -> Result<String, ParseRefusal> {
        inner(event, tag).map_or(Ok(String::new()), unescape)
    };
    let event_id = inner(event, "eventID").map(unescape).transpose()?;
    let event_time = text("eventTime")?;
    let action = text("action")?;
    let biz_step = text("bizStep")?;
    let disposition = text("disposition")?;
    let read_point = inner(event, "readPoint")
        .and_then(|r| inner(r, "id"))
        .map_or(Ok(String::new()), unescape)?;
    let biz_location = inner(event, "bizLocation")
        .and_then(|r| inner(r, "id"))
        .map_or(Ok(String::new()), unescape)?;
    let lot = text("cbvmda:lotNumber")?;
    let expiry = text("cbvmda:itemExpirationDate")?;
    let (list_name, parent_id) = if kind == AGGREGATION_EVENT {
        (
            "childEPCs",
            inner(event, "parentID").map(unescape).transpose()?,
        )
    } else {
        ("epcList", None)
    };
    let epcs = match inner(event, list_name) {
        Some(list) => xml_epcs(list, list_name)?,
        None => Vec::new(),
    };
    if event_time.is_empty() {
        return Err(ParseRefusal(format!(
            "an {kind} has no <eventTime>; this site server takes only ObjectEvent and \
             AggregationEvent elements that carry one"
        )));
    }
    EventFields {
        event_type: kind,
        event_id,
        event_time: &event_time,
        action: &action,
        biz_step: &biz_step,
        disposition: &disposition,
        read_point: &read_point,
        biz_location: &biz_location,
        lot: &lot,
        expiry: &expiry,
        epcs,
        parent_id,
    }
    .into_event()
}

/// The text between the first `<tag>` and the following `</tag>`.
fn inner<'a>(text: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = text.find(&open)? + open.len();
    let end = text[start..].find(&close)? + start;
    Some(&text[start..end])
}

/// Resolves the five predefined XML entities; refuses markup or other references.
fn unescape(text: &str) -> Result<String, ParseRefusal> {
    if text.contains('<') {
        return Err(ParseRefusal(format!(
            "unexpected markup inside a text value: {:?}",
            text.chars().take(60).collect::<String>()
        )));
    }
    if !text.contains('&') {
        return Ok(text.to_string());
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let after = &rest[i..];
        let (replacement, len) = [
            ("&amp;", '&'),
            ("&lt;", '<'),
            ("&gt;", '>'),
            ("&quot;", '"'),
            ("&apos;", '\''),
        ]
        .iter()
        .find(|(entity, _)| after.starts_with(entity))
        .map(|(entity, c)| (*c, entity.len()))
        .ok_or_else(|| {
            ParseRefusal(format!(
                "unsupported character reference in {:?}",
                text.chars().take(60).collect::<String>()
            ))
        })?;
        out.push(replacement);
        rest = &after[len..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_event_is_read_and_entities_resolved() {
        let doc = br#"<?xml version="1.0" encoding="UTF-8"?>
<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:1" schemaVersion="1.2" creationDate="2026-01-01T00:00:00.000Z">
<EPCISBody>
<EventList>
<ObjectEvent><eventTime>2026-01-01T00:00:00.000Z</eventTime><eventTimeZoneOffset>+00:00</eventTimeZoneOffset><baseExtension><eventID>ni:///x</eventID></baseExtension><epcList><epc>urn:epc:id:sgtin:9506000.013435.A&amp;B</epc></epcList><action>ADD</action><bizStep>urn:epcglobal:cbv:bizstep:commissioning</bizStep><disposition>urn:epcglobal:cbv:disp:active</disposition></ObjectEvent>
</EventList>
</EPCISBody>
</epcis:EPCISDocument>
"#;
        let events = parse_xml_document(doc).unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].event_id.as_deref(), Some("ni:///x"));
        assert_eq!(events[0].epcs, vec!["urn:epc:id:sgtin:9506000.013435.A&B"]);
        assert_eq!(events[0].biz_step, "commissioning");
        assert_eq!(events[0].disposition, "active");
    }

    #[test]
    fn aggregation_events_are_read_in_document_order_with_parent_and_children() {
        let doc = br#"<?xml version="1.0" encoding="UTF-8"?>
<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:1" schemaVersion="1.2" creationDate="2026-01-01T00:00:00.000Z">
<EPCISBody>
<EventList>
<ObjectEvent><eventTime>2026-01-01T00:00:00.000Z</eventTime><eventTimeZoneOffset>+00:00</eventTimeZoneOffset><baseExtension><eventID>ni:///c</eventID></baseExtension><epcList><epc>urn:epc:id:sscc:9506000.0000000017</epc></epcList><action>ADD</action><bizStep>urn:epcglobal:cbv:bizstep:commissioning</bizStep><disposition>urn:epcglobal:cbv:disp:active</disposition></ObjectEvent>
<AggregationEvent><eventTime>2026-01-01T00:00:00.000Z</eventTime><eventTimeZoneOffset>+00:00</eventTimeZoneOffset><baseExtension><eventID>ni:///a</eventID></baseExtension><parentID>urn:epc:id:sscc:9506000.0000000017</parentID><childEPCs><epc>urn:epc:id:sgtin:9506000.013435.A&amp;1</epc><epc>urn:epc:id:sgtin:9506000.013435.A2</epc></childEPCs><action>ADD</action><bizStep>urn:epcglobal:cbv:bizstep:packing</bizStep><disposition>urn:epcglobal:cbv:disp:in_progress</disposition></AggregationEvent>
<ObjectEvent><eventTime>2026-01-01T00:00:01.000Z</eventTime><eventTimeZoneOffset>+00:00</eventTimeZoneOffset><baseExtension><eventID>ni:///d</eventID></baseExtension><epcList><epc>urn:epc:id:sscc:9506000.0000000017</epc></epcList><action>DELETE</action><bizStep>urn:epcglobal:cbv:bizstep:decommissioning</bizStep><disposition>urn:epcglobal:cbv:disp:inactive</disposition></ObjectEvent>
</EventList>
</EPCISBody>
</epcis:EPCISDocument>
"#;
        let events = parse_xml_document(doc).unwrap();
        let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
        assert_eq!(types, [OBJECT_EVENT, AGGREGATION_EVENT, OBJECT_EVENT]);
        let aggregation = &events[1];
        assert_eq!(
            aggregation.parent_id.as_deref(),
            Some("urn:epc:id:sscc:9506000.0000000017")
        );
        assert_eq!(
            aggregation.epcs,
            [
                "urn:epc:id:sgtin:9506000.013435.A&1",
                "urn:epc:id:sgtin:9506000.013435.A2"
            ]
        );
        assert_eq!(aggregation.biz_step, "packing");
        assert_eq!(aggregation.disposition, "in_progress");
        assert_eq!(events[0].parent_id, None);

        let json = br#"{"type":"EPCISDocument","epcisBody":{"eventList":[
            {"type":"AggregationEvent","eventID":"ni:///a","eventTime":"2026-01-01T00:00:00.000Z",
             "parentID":"urn:epc:id:sscc:9506000.0000000017",
             "childEPCs":["urn:epc:id:sgtin:9506000.013435.A&1","urn:epc:id:sgtin:9506000.013435.A2"],
             "action":"ADD","bizStep":"packing","disposition":"in_progress"}]}}"#;
        let from_json = parse_json_document(json).unwrap();
        assert_eq!(from_json.len(), 1);
        assert_eq!(from_json[0].event_type, AGGREGATION_EVENT);
        assert_eq!(from_json[0].parent_id, aggregation.parent_id);
        assert_eq!(from_json[0].epcs, aggregation.epcs);
        // The same content in either syntax is the same event.
        assert_eq!(from_json[0].fingerprint, aggregation.fingerprint);
    }

    #[test]
    fn an_aggregation_without_parent_or_time_and_other_event_types_are_refused() {
        let no_parent = br#"{"type":"EPCISDocument","epcisBody":{"eventList":[
            {"type":"AggregationEvent","eventTime":"2026-01-01T00:00:00.000Z",
             "childEPCs":["urn:epc:id:sgtin:9506000.013435.A1"],"action":"ADD"}]}}"#;
        assert!(
            parse_json_document(no_parent)
                .unwrap_err()
                .0
                .contains("parentID")
        );
        let transaction = br#"{"type":"EPCISDocument","epcisBody":{"eventList":[
            {"type":"TransactionEvent","eventTime":"2026-01-01T00:00:00.000Z","action":"ADD"}]}}"#;
        assert!(
            parse_json_document(transaction)
                .unwrap_err()
                .0
                .contains("AggregationEvent")
        );
        let empty = b"<?xml version=\"1.0\"?>\n<epcis:EPCISDocument xmlns:epcis=\"urn:epcglobal:epcis:xsd:1\"><EPCISBody><EventList><AggregationEvent></AggregationEvent></EventList></EPCISBody></epcis:EPCISDocument>";
        let refusal = parse_xml_document(empty).unwrap_err().0;
        assert!(
            refusal.contains("eventTime") && refusal.contains("only ObjectEvent"),
            "{refusal}"
        );
    }

    #[test]
    fn nonsense_is_refused() {
        assert!(parse_xml_document(b"<html>hello</html>").is_err());
        assert!(parse_json_document(b"{\"type\":\"x\"}").is_err());
        assert!(parse_json_document(b"garbage").is_err());
    }
}
