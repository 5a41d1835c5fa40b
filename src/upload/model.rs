//! The small EPCIS event model the station reports: commissioning, decommissioning and
//! destroying ObjectEvents over SGTIN EPC lists (or, for containers, SSCC EPC lists),
//! packing and unpacking AggregationEvents (an SSCC parent with SGTIN or SSCC
//! children), with the CBV vocabulary each needs, SGLN read points / business
//! locations, and the batch master data (`ilmd`).
//!
//! Pure data with validating constructors; rendering lives in `json_ld` / `xml12`,
//! hashing in `event_hash`.

use serialstation_gs1::Gs1Date;
use serialstation_gs1::key::check_digit;

use super::error::DocumentError;
use super::time::EventTime;

/// EPCIS `action`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Add,
    Observe,
    Delete,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Add => "ADD",
            Action::Observe => "OBSERVE",
            Action::Delete => "DELETE",
        }
    }
}

/// The CBV business steps the station reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BizStep {
    Commissioning,
    Decommissioning,
    Destroying,
    Packing,
    Unpacking,
}

impl BizStep {
    /// Bare CBV word, as EPCIS 2.0 JSON carries it (`commissioning`).
    pub fn word(self) -> &'static str {
        match self {
            BizStep::Commissioning => "commissioning",
            BizStep::Decommissioning => "decommissioning",
            BizStep::Destroying => "destroying",
            BizStep::Packing => "packing",
            BizStep::Unpacking => "unpacking",
        }
    }
    /// CBV 1.x URN, as EPCIS 1.2 XML carries it.
    pub fn urn(self) -> String {
        format!("urn:epcglobal:cbv:bizstep:{}", self.word())
    }
    /// CBV 2.0 Web URI, as the event hash uses it.
    pub fn web_uri(self) -> String {
        format!("https://ref.gs1.org/cbv/BizStep-{}", self.word())
    }
}

/// The CBV dispositions the station reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Disposition {
    Active,
    Inactive,
    Destroyed,
    InProgress,
}

impl Disposition {
    /// Bare CBV word (`active`).
    pub fn word(self) -> &'static str {
        match self {
            Disposition::Active => "active",
            Disposition::Inactive => "inactive",
            Disposition::Destroyed => "destroyed",
            Disposition::InProgress => "in_progress",
        }
    }
    /// CBV 1.x URN (`urn:epcglobal:cbv:disp:active`).
    pub fn urn(self) -> String {
        format!("urn:epcglobal:cbv:disp:{}", self.word())
    }
    /// CBV 2.0 Web URI (`https://ref.gs1.org/cbv/Disp-active`).
    pub fn web_uri(self) -> String {
        format!("https://ref.gs1.org/cbv/Disp-{}", self.word())
    }
}

/// Batch master data carried in the commissioning event's `ilmd`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "StoredLot", into = "StoredLot")]
pub struct LotMasterData {
    lot_number: String,
    expiry: Gs1Date,
}

impl LotMasterData {
    /// Lot (AI 10 value, 1-20 characters of GS1 CSET 82) and expiry date (a real
    /// calendar day: an expiry printed as day 00 must be resolved before reporting).
    pub fn new(lot_number: &str, expiry: Gs1Date) -> Result<LotMasterData, DocumentError> {
        serialstation_gs1::policy::check_lot(lot_number)?;
        Gs1Date::from_ymd(expiry.year, expiry.month, expiry.day).map_err(|e| {
            DocumentError::MasterData(format!(
                "expiry date of lot {lot_number} is not a calendar date: {e}"
            ))
        })?;
        if !(1..=9999).contains(&expiry.year) {
            return Err(DocumentError::MasterData(format!(
                "expiry year {} of lot {lot_number} cannot be written as YYYY",
                expiry.year
            )));
        }
        Ok(LotMasterData {
            lot_number: lot_number.to_string(),
            expiry,
        })
    }
    pub fn lot_number(&self) -> &str {
        &self.lot_number
    }
    pub fn expiry(&self) -> Gs1Date {
        self.expiry
    }
    /// `cbvmda:itemExpirationDate`: `YYYY-MM-DD`.
    pub fn expiry_iso(&self) -> String {
        self.expiry.to_iso()
    }
}

/// How [`LotMasterData`] is stored: lot and ISO expiry date.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredLot {
    lot_number: String,
    item_expiration_date: String,
}

impl TryFrom<StoredLot> for LotMasterData {
    type Error = DocumentError;
    fn try_from(stored: StoredLot) -> Result<Self, Self::Error> {
        super::checks::check_date_text(&stored.item_expiration_date)?;
        let date = &stored.item_expiration_date;
        let number = |range: std::ops::Range<usize>| date[range].parse::<u32>().unwrap_or(0);
        let expiry =
            Gs1Date::from_ymd(number(0..4) as i32, number(5..7) as u8, number(8..10) as u8)?;
        LotMasterData::new(&stored.lot_number, expiry)
    }
}

impl From<LotMasterData> for StoredLot {
    fn from(lot: LotMasterData) -> StoredLot {
        StoredLot {
            item_expiration_date: lot.expiry_iso(),
            lot_number: lot.lot_number,
        }
    }
}

/// Which EPC URIs an ObjectEvent lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EpcScheme {
    /// `urn:epc:id:sgtin:…`: packs.
    Sgtin,
    /// `urn:epc:id:sscc:…`: containers (cases, pallets).
    Sscc,
}

/// What an event says about its EPCs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum EventKind {
    /// ADD / commissioning / active, with lot and expiry in `ilmd`.
    Commissioning(LotMasterData),
    /// DELETE / decommissioning / inactive: the serial is used up and never reissued.
    Decommissioning,
    /// DELETE / destroying / destroyed: the item was destroyed (e.g. reject bin).
    Destroying,
    /// ADD / commissioning / active over SSCCs, without `ilmd`: a container's label was
    /// verified and its SSCC is in use.
    ContainerCommissioning,
    /// DELETE / decommissioning / inactive over SSCCs: a reported container went to
    /// rework and its SSCC is never used again.
    ContainerDecommissioning,
}

impl EventKind {
    pub fn action(&self) -> Action {
        match self {
            EventKind::Commissioning(_) | EventKind::ContainerCommissioning => Action::Add,
            EventKind::Decommissioning
            | EventKind::Destroying
            | EventKind::ContainerDecommissioning => Action::Delete,
        }
    }
    pub fn biz_step(&self) -> BizStep {
        match self {
            EventKind::Commissioning(_) | EventKind::ContainerCommissioning => {
                BizStep::Commissioning
            }
            EventKind::Decommissioning | EventKind::ContainerDecommissioning => {
                BizStep::Decommissioning
            }
            EventKind::Destroying => BizStep::Destroying,
        }
    }
    pub fn disposition(&self) -> Disposition {
        match self {
            EventKind::Commissioning(_) | EventKind::ContainerCommissioning => Disposition::Active,
            EventKind::Decommissioning | EventKind::ContainerDecommissioning => {
                Disposition::Inactive
            }
            EventKind::Destroying => Disposition::Destroyed,
        }
    }
    pub fn lot_master_data(&self) -> Option<&LotMasterData> {
        match self {
            EventKind::Commissioning(lot) => Some(lot),
            _ => None,
        }
    }
    /// The EPC URIs events of this kind list: SSCCs for the container kinds, SGTINs
    /// otherwise.
    pub fn epc_scheme(&self) -> EpcScheme {
        match self {
            EventKind::ContainerCommissioning | EventKind::ContainerDecommissioning => {
                EpcScheme::Sscc
            }
            EventKind::Commissioning(_) | EventKind::Decommissioning | EventKind::Destroying => {
                EpcScheme::Sgtin
            }
        }
    }
}

/// What an AggregationEvent does between its parent and its children.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AggregationKind {
    /// ADD / packing / in_progress: the children were put into the parent.
    Packing,
    /// DELETE / unpacking / in_progress: the children were taken out of the parent.
    Unpacking,
}

impl AggregationKind {
    pub fn action(self) -> Action {
        match self {
            AggregationKind::Packing => Action::Add,
            AggregationKind::Unpacking => Action::Delete,
        }
    }
    pub fn biz_step(self) -> BizStep {
        match self {
            AggregationKind::Packing => BizStep::Packing,
            AggregationKind::Unpacking => BizStep::Unpacking,
        }
    }
    /// The children are still at the packaging site either way: `in_progress`.
    pub fn disposition(self) -> Disposition {
        Disposition::InProgress
    }
}

/// An SGLN EPC URI (`urn:epc:id:sgln:<GCP>.<locationRef>.<extension>`) naming a read
/// point or business location; extension `0` means "the GLN itself".
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Sgln {
    uri: String,
    gln: String,
    extension: String,
}

impl Sgln {
    const PREFIX: &'static str = "urn:epc:id:sgln:";

    /// Parses and checks an SGLN URI: company prefix 6-12 digits, company prefix plus
    /// location reference 12 digits, extension 1-20 characters.
    pub fn parse(uri: &str) -> Result<Sgln, DocumentError> {
        let bad = |why: &str| {
            DocumentError::Location(format!(
                "location \"{uri}\" {why}; expected an SGLN EPC URI such as urn:epc:id:sgln:9506000.00001.0"
            ))
        };
        let body = uri
            .strip_prefix(Self::PREFIX)
            .ok_or_else(|| bad("does not start with urn:epc:id:sgln:"))?;
        let mut parts = body.splitn(3, '.');
        let (Some(gcp), Some(location_ref), Some(extension)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return Err(bad("does not have three dot-separated parts"));
        };
        if !(6..=12).contains(&gcp.len()) || !gcp.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("has a company prefix that is not 6-12 digits"));
        }
        if gcp.len() + location_ref.len() != 12 || !location_ref.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(bad(
                "has a location reference that does not make 12 digits with the company prefix",
            ));
        }
        if extension.is_empty() || !epc_component_is_valid(extension, 20) {
            return Err(bad("has an extension that is not 1-20 EPC URI characters"));
        }
        let body12 = format!("{gcp}{location_ref}");
        let check = check_digit(&body12).ok_or_else(|| bad("has a non-digit in the GLN"))?;
        Ok(Sgln {
            uri: uri.to_string(),
            gln: format!("{body12}{check}"),
            extension: extension.to_string(),
        })
    }
    pub fn as_str(&self) -> &str {
        &self.uri
    }
    /// The 13-digit GLN.
    pub fn gln(&self) -> &str {
        &self.gln
    }
    /// The extension as written in the URI (`0` = none).
    pub fn extension(&self) -> &str {
        &self.extension
    }
}

impl TryFrom<String> for Sgln {
    type Error = DocumentError;
    fn try_from(uri: String) -> Result<Self, Self::Error> {
        Sgln::parse(&uri)
    }
}

impl From<Sgln> for String {
    fn from(location: Sgln) -> String {
        location.uri
    }
}

/// True when `text` is 1..=`max_chars` characters of an EPC URI component: the
/// literal characters TDS allows plus `%XX` escapes (each counted as one character).
pub(crate) fn epc_component_is_valid(text: &str, max_chars: usize) -> bool {
    let b = text.as_bytes();
    let mut i = 0;
    let mut chars = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                if i + 2 >= b.len()
                    || !(b[i + 1].is_ascii_hexdigit() && b[i + 2].is_ascii_hexdigit())
                {
                    return false;
                }
                i += 3;
            }
            c if c.is_ascii_alphanumeric() || b"!'()*+,-.:;=_".contains(&c) => i += 1,
            _ => return false,
        }
        chars += 1;
    }
    chars >= 1 && chars <= max_chars
}

/// One ObjectEvent: what happened, when, where, and to which EPCs. Its serde form is
/// what an outbox stores to render the same event (and event ID) again.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectEvent {
    pub kind: EventKind,
    pub event_time: EventTime,
    /// SGTIN EPC URIs (SSCC EPC URIs for the container kinds, see
    /// [`EventKind::epc_scheme`]), in the order they were produced (the hash sorts them).
    pub epcs: Vec<String>,
    pub read_point: Sgln,
    pub biz_location: Sgln,
}

/// One AggregationEvent: children put into (or taken out of) a container. Its serde
/// form is what an outbox chunk stores to render the same event (and event ID) again.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AggregationEvent {
    pub kind: AggregationKind,
    pub event_time: EventTime,
    /// SSCC EPC URI of the container (`parentID`).
    pub parent: String,
    /// SGTIN (packs) or SSCC (inner containers) EPC URIs (`childEPCs`), in the order
    /// they were packed (the hash sorts them).
    pub children: Vec<String>,
    pub read_point: Sgln,
    pub biz_location: Sgln,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place() -> Sgln {
        Sgln::parse("urn:epc:id:sgln:9506000.00001.0").unwrap()
    }

    #[test]
    fn container_kinds_have_their_vocabulary_and_epc_scheme() {
        let add = EventKind::ContainerCommissioning;
        assert_eq!(
            (add.action(), add.biz_step(), add.disposition()),
            (Action::Add, BizStep::Commissioning, Disposition::Active)
        );
        assert!(add.lot_master_data().is_none());
        assert_eq!(add.epc_scheme(), EpcScheme::Sscc);
        let delete = EventKind::ContainerDecommissioning;
        assert_eq!(
            (delete.action(), delete.biz_step(), delete.disposition()),
            (
                Action::Delete,
                BizStep::Decommissioning,
                Disposition::Inactive
            )
        );
        assert_eq!(delete.epc_scheme(), EpcScheme::Sscc);
        assert_eq!(EventKind::Decommissioning.epc_scheme(), EpcScheme::Sgtin);
        let packing = AggregationKind::Packing;
        assert_eq!(
            (
                packing.action(),
                packing.biz_step().word(),
                packing.disposition().word()
            ),
            (Action::Add, "packing", "in_progress")
        );
        let unpacking = AggregationKind::Unpacking;
        assert_eq!(
            (unpacking.action(), unpacking.biz_step().urn()),
            (
                Action::Delete,
                "urn:epcglobal:cbv:bizstep:unpacking".to_string()
            )
        );
        assert_eq!(
            Disposition::InProgress.web_uri(),
            "https://ref.gs1.org/cbv/Disp-in_progress"
        );
    }

    #[test]
    fn container_events_read_back_from_their_stored_form() {
        let time = EventTime::parse_rfc3339("2026-05-04T14:00:00.000+02:00").unwrap();
        let object = ObjectEvent {
            kind: EventKind::ContainerCommissioning,
            event_time: time,
            epcs: vec!["urn:epc:id:sscc:9506000.0000000017".into()],
            read_point: place(),
            biz_location: place(),
        };
        let stored = serde_json::to_string(&object).unwrap();
        assert!(
            stored.contains(r#""kind":{"kind":"container_commissioning"}"#),
            "{stored}"
        );
        assert_eq!(
            serde_json::from_str::<ObjectEvent>(&stored).unwrap(),
            object
        );

        let aggregation = AggregationEvent {
            kind: AggregationKind::Unpacking,
            event_time: time,
            parent: "urn:epc:id:sscc:9506000.0000000017".into(),
            children: vec!["urn:epc:id:sgtin:9506000.013435.R0001".into()],
            read_point: place(),
            biz_location: place(),
        };
        let stored = serde_json::to_string(&aggregation).unwrap();
        assert!(stored.contains(r#""kind":"unpacking""#), "{stored}");
        assert_eq!(
            serde_json::from_str::<AggregationEvent>(&stored).unwrap(),
            aggregation
        );
        let extra = stored.replacen('{', r#"{"surprise":1,"#, 1);
        assert!(serde_json::from_str::<AggregationEvent>(&extra).is_err());
    }
}
