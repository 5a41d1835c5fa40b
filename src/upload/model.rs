//! The small EPCIS event model the station reports: commissioning, decommissioning and
//! destroying ObjectEvents over SGTIN EPC lists, with the CBV vocabulary each needs,
//! SGLN read points / business locations, and the batch master data (`ilmd`).
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
}

impl BizStep {
    /// Bare CBV word, as EPCIS 2.0 JSON carries it (`commissioning`).
    pub fn word(self) -> &'static str {
        match self {
            BizStep::Commissioning => "commissioning",
            BizStep::Decommissioning => "decommissioning",
            BizStep::Destroying => "destroying",
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
}

impl Disposition {
    /// Bare CBV word (`active`).
    pub fn word(self) -> &'static str {
        match self {
            Disposition::Active => "active",
            Disposition::Inactive => "inactive",
            Disposition::Destroyed => "destroyed",
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
}

impl EventKind {
    pub fn action(&self) -> Action {
        match self {
            EventKind::Commissioning(_) => Action::Add,
            EventKind::Decommissioning | EventKind::Destroying => Action::Delete,
        }
    }
    pub fn biz_step(&self) -> BizStep {
        match self {
            EventKind::Commissioning(_) => BizStep::Commissioning,
            EventKind::Decommissioning => BizStep::Decommissioning,
            EventKind::Destroying => BizStep::Destroying,
        }
    }
    pub fn disposition(&self) -> Disposition {
        match self {
            EventKind::Commissioning(_) => Disposition::Active,
            EventKind::Decommissioning => Disposition::Inactive,
            EventKind::Destroying => Disposition::Destroyed,
        }
    }
    pub fn lot_master_data(&self) -> Option<&LotMasterData> {
        match self {
            EventKind::Commissioning(lot) => Some(lot),
            _ => None,
        }
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
    /// SGTIN EPC URIs, in the order they were produced (the hash sorts them).
    pub epcs: Vec<String>,
    pub read_point: Sgln,
    pub biz_location: Sgln,
}
