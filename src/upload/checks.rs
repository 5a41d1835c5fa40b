//! Checks every event before it is written, independent of any schema: an event has
//! EPCs, each EPC is an SGTIN URI (an SSCC URI for container events) that reads back
//! (`serialstation_gs1::epc`), no EPC appears twice, an AggregationEvent's parent is an
//! SSCC URI and not one of its children, timestamps, offsets and the expiry date have
//! the exact textual form EPCIS requires.

use std::collections::HashSet;

use serialstation_gs1::epc::{parse_sgtin_uri, parse_sscc_uri};

use super::error::DocumentError;
use super::model::{AggregationEvent, EpcScheme, ObjectEvent};
use super::time::EventTime;

/// Checks one event; the error names the first problem found.
pub fn check_event(event: &ObjectEvent) -> Result<(), DocumentError> {
    if event.epcs.is_empty() {
        return Err(DocumentError::Event(
            "an ObjectEvent needs at least one EPC; nothing to report".into(),
        ));
    }
    let scheme = event.kind.epc_scheme();
    let mut seen = HashSet::with_capacity(event.epcs.len());
    for epc in &event.epcs {
        match scheme {
            EpcScheme::Sgtin => {
                parse_sgtin_uri(epc).map_err(|e| {
                    DocumentError::Epc(format!("EPC \"{epc}\" does not read back as an SGTIN: {e}"))
                })?;
            }
            EpcScheme::Sscc => {
                parse_sscc_uri(epc).map_err(|e| {
                    DocumentError::Epc(format!("EPC \"{epc}\" does not read back as an SSCC: {e}"))
                })?;
            }
        }
        if !seen.insert(epc.as_str()) {
            return Err(DocumentError::Event(format!(
                "EPC \"{epc}\" appears twice in one event; each serial must be reported once"
            )));
        }
    }
    check_event_time(&event.event_time)?;
    if let Some(lot) = event.kind.lot_master_data() {
        check_date_text(&lot.expiry_iso())?;
        if lot.lot_number().is_empty() {
            return Err(DocumentError::MasterData(
                "the lot number is empty; enter the batch's lot".into(),
            ));
        }
    }
    Ok(())
}

/// Checks one AggregationEvent: an SSCC parent, at least one child, each child an
/// SGTIN or SSCC URI that reads back, listed once and not the parent itself.
pub fn check_aggregation_event(event: &AggregationEvent) -> Result<(), DocumentError> {
    parse_sscc_uri(&event.parent).map_err(|e| {
        DocumentError::Epc(format!(
            "parent \"{}\" does not read back as an SSCC: {e}",
            event.parent
        ))
    })?;
    if event.children.is_empty() {
        return Err(DocumentError::Event(format!(
            "an AggregationEvent of {} needs at least one child; nothing to report",
            event.parent
        )));
    }
    let mut seen = HashSet::with_capacity(event.children.len());
    for child in &event.children {
        check_child_epc(child)?;
        if child == &event.parent {
            return Err(DocumentError::Event(format!(
                "container {} is listed as its own child; a container never holds itself",
                event.parent
            )));
        }
        if !seen.insert(child.as_str()) {
            return Err(DocumentError::Event(format!(
                "child \"{child}\" appears twice in one event of {}; each child must be reported once",
                event.parent
            )));
        }
    }
    check_event_time(&event.event_time)
}

/// A child of a container: an SSCC URI (an inner container) or an SGTIN URI (a pack).
fn check_child_epc(epc: &str) -> Result<(), DocumentError> {
    if epc.starts_with("urn:epc:id:sscc:") {
        parse_sscc_uri(epc).map(|_| ()).map_err(|e| {
            DocumentError::Epc(format!(
                "child \"{epc}\" does not read back as an SSCC: {e}"
            ))
        })
    } else {
        parse_sgtin_uri(epc).map(|_| ()).map_err(|e| {
            DocumentError::Epc(format!(
                "child \"{epc}\" reads back neither as an SGTIN nor as an SSCC: {e}"
            ))
        })
    }
}

/// The event time in both written forms (local with offset, UTC) and its offset.
fn check_event_time(time: &EventTime) -> Result<(), DocumentError> {
    check_timestamp_text(&time.to_local_string(), false)?;
    check_timestamp_text(&time.to_utc_string(), true)?;
    check_offset_text(&time.offset().to_string())
}

/// `eventTimeZoneOffset` pattern of the EPCIS schemas: `^[+-]((0[0-9]|1[0-3]):[0-5][0-9]|14:00)$`.
pub fn check_offset_text(text: &str) -> Result<(), DocumentError> {
    let b = text.as_bytes();
    let ok = b.len() == 6
        && (b[0] == b'+' || b[0] == b'-')
        && b[3] == b':'
        && b[1..3].iter().chain(&b[4..6]).all(u8::is_ascii_digit)
        && ((b[1] == b'0')
            || (b[1] == b'1' && b[2] <= b'3' && b[4] <= b'5')
            || &b[1..] == b"14:00")
        && b[4] <= b'5';
    if ok {
        Ok(())
    } else {
        Err(DocumentError::Time(format!(
            "time-zone offset \"{text}\" does not match +HH:MM within -14:00..+14:00"
        )))
    }
}

/// `YYYY-MM-DDTHH:MM:SS.mmm` followed by `Z` (`utc`) or `+HH:MM` / `-HH:MM`.
pub fn check_timestamp_text(text: &str, utc: bool) -> Result<(), DocumentError> {
    let b = text.as_bytes();
    let digits_at = |idx: &[usize]| {
        idx.iter()
            .all(|&i| b.get(i).is_some_and(u8::is_ascii_digit))
    };
    let shape = b.len() >= 24
        && digits_at(&[0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, 20, 21, 22])
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'.';
    let zone_ok = if utc {
        &b[23.min(b.len())..] == b"Z"
    } else {
        check_offset_text(&text[23.min(text.len())..]).is_ok()
    };
    if shape && zone_ok {
        check_date_text(&text[..10])
    } else {
        Err(DocumentError::Time(format!(
            "timestamp \"{text}\" is not YYYY-MM-DDTHH:MM:SS.mmm with {}",
            if utc { "Z" } else { "an offset" }
        )))
    }
}

/// `YYYY-MM-DD` naming a real calendar day.
pub fn check_date_text(text: &str) -> Result<(), DocumentError> {
    let bad = || {
        DocumentError::MasterData(format!(
            "date \"{text}\" is not a calendar date written YYYY-MM-DD"
        ))
    };
    let b = text.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return Err(bad());
    }
    let number = |r: std::ops::Range<usize>| {
        text.get(r)
            .filter(|s| s.bytes().all(|c| c.is_ascii_digit()))
            .and_then(|s| s.parse::<u32>().ok())
    };
    let (Some(year), Some(month), Some(day)) = (number(0..4), number(5..7), number(8..10)) else {
        return Err(bad());
    };
    let year = i32::try_from(year).map_err(|_| bad())?;
    let month = u8::try_from(month).map_err(|_| bad())?;
    let day = u8::try_from(day).map_err(|_| bad())?;
    serialstation_gs1::Gs1Date::from_ymd(year, month, day).map_err(|_| bad())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_pattern() {
        for ok in ["+00:00", "-13:59", "+14:00", "-14:00", "+05:30"] {
            assert!(check_offset_text(ok).is_ok(), "{ok}");
        }
        for bad in [
            "+14:30", "+15:00", "+1:00", "01:00", "+01:60", "+01:0a", "Z",
        ] {
            assert!(check_offset_text(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn timestamp_and_date_shapes() {
        assert!(check_timestamp_text("2026-01-01T10:00:00.000+01:00", false).is_ok());
        assert!(check_timestamp_text("2026-01-01T09:00:00.000Z", true).is_ok());
        assert!(check_timestamp_text("2026-01-01T09:00:00Z", true).is_err());
        assert!(check_timestamp_text("2026-02-30T09:00:00.000Z", true).is_err());
        assert!(check_timestamp_text("2026-01-01T09:00:00.000Z", false).is_err());
        assert!(check_date_text("2028-02-29").is_ok());
        for bad in [
            "2026-02-29",
            "2026-1-01",
            "26-01-01",
            "2026-13-01",
            "2026-00-10",
            "+026-01-01",
        ] {
            assert!(check_date_text(bad).is_err(), "{bad}");
        }
    }

    fn place() -> crate::upload::model::Sgln {
        crate::upload::model::Sgln::parse("urn:epc:id:sgln:9506000.00001.0").unwrap()
    }

    #[test]
    fn container_events_need_ssccs_where_ssccs_belong() {
        use crate::upload::model::{AggregationKind, EventKind};
        let time = EventTime::parse_rfc3339("2026-05-04T12:00:00.000Z").unwrap();
        let object = |kind: EventKind, epc: &str| ObjectEvent {
            kind,
            event_time: time,
            epcs: vec![epc.to_string()],
            read_point: place(),
            biz_location: place(),
        };
        let sscc = "urn:epc:id:sscc:9506000.0000000017";
        let sgtin = "urn:epc:id:sgtin:9506000.013435.R0001";
        assert!(check_event(&object(EventKind::ContainerCommissioning, sscc)).is_ok());
        assert!(check_event(&object(EventKind::ContainerDecommissioning, sscc)).is_ok());
        assert!(check_event(&object(EventKind::ContainerCommissioning, sgtin)).is_err());
        assert!(check_event(&object(EventKind::Decommissioning, sscc)).is_err());

        let aggregation = |parent: &str, children: &[&str]| AggregationEvent {
            kind: AggregationKind::Packing,
            event_time: time,
            parent: parent.to_string(),
            children: children.iter().map(|c| c.to_string()).collect(),
            read_point: place(),
            biz_location: place(),
        };
        let inner = "urn:epc:id:sscc:9506000.0000000024";
        assert!(check_aggregation_event(&aggregation(sscc, &[sgtin, inner])).is_ok());
        for (why, event) in [
            ("no children", aggregation(sscc, &[])),
            ("an SGTIN parent", aggregation(sgtin, &[inner])),
            ("itself as child", aggregation(sscc, &[sscc])),
            ("a child twice", aggregation(sscc, &[sgtin, sgtin])),
            (
                "a child that is no EPC",
                aggregation(sscc, &["urn:epc:id:sgln:9506000.00001.0"]),
            ),
            (
                "a bad SSCC child",
                aggregation(sscc, &["urn:epc:id:sscc:9506000.000000002"]),
            ),
        ] {
            assert!(check_aggregation_event(&event).is_err(), "{why}");
        }
    }
}
