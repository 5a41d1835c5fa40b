//! The validated client and product master: the types the rest of the station uses
//! once a configuration file has passed every check. Serialisable to JSON for the
//! store.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::gs1::Gtin;

/// A client of the contract manufacturer and everything the station needs to serve it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Client {
    /// Short stable identifier, e.g. `acme` (lower-case letters, digits, `-`, `_`).
    pub id: String,
    pub name: String,
    pub serial_source: SerialSource,
    pub upload: UploadTarget,
}

/// Where a client's serial numbers come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SerialSource {
    /// Pools imported from files or generated on the station.
    Local,
    /// Requested from the client's site server (OPEN-SCS style pool requests).
    SiteServer { url: String },
}

/// The EPCIS document format a client's site server accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EpcisFormat {
    /// EPCIS 2.0 JSON-LD.
    #[serde(rename = "epcis2-jsonld")]
    Epcis2JsonLd,
    /// EPCIS 1.2 XML.
    #[serde(rename = "epcis1.2-xml")]
    Epcis12Xml,
}

impl EpcisFormat {
    pub const NAMES: [&'static str; 2] = ["epcis2-jsonld", "epcis1.2-xml"];

    pub fn from_name(name: &str) -> Option<EpcisFormat> {
        match name {
            "epcis2-jsonld" => Some(EpcisFormat::Epcis2JsonLd),
            "epcis1.2-xml" => Some(EpcisFormat::Epcis12Xml),
            _ => None,
        }
    }
}

/// Where and how a client's commissioned and scrapped serials are reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadTarget {
    pub format: EpcisFormat,
    /// The capture endpoint, e.g. `https://l3.example.com/epcis/capture`.
    pub url: String,
    /// Name of the environment variable holding the access token (never the token itself).
    pub token_env: Option<String>,
    /// Largest number of events in one EPCIS document.
    pub max_events_per_document: u32,
}

/// One AI of a product's code template: what the line prints, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum TemplateAi {
    /// (01) from the product.
    Gtin,
    /// (17) from the batch.
    Expiry,
    /// (11) the batch's production date.
    ProductionDate,
    /// (10) from the batch.
    Lot,
    /// (21) from the pool.
    Serial,
    /// (710)–(717) national healthcare reimbursement number, from the product.
    Nhrn(u16),
}

impl TemplateAi {
    /// The AIs the station knows how to fill, for messages.
    pub const SUPPORTED: &'static str = "01, 11, 17, 10, 21, 710-717";

    /// The AI as digits, e.g. `"710"`.
    pub fn ai(self) -> String {
        match self {
            TemplateAi::Gtin => "01".into(),
            TemplateAi::Expiry => "17".into(),
            TemplateAi::ProductionDate => "11".into(),
            TemplateAi::Lot => "10".into(),
            TemplateAi::Serial => "21".into(),
            TemplateAi::Nhrn(n) => n.to_string(),
        }
    }

    /// The template entry for AI digits the station can fill, if any.
    pub fn from_ai(ai: &str) -> Option<TemplateAi> {
        match ai {
            "01" => Some(TemplateAi::Gtin),
            "17" => Some(TemplateAi::Expiry),
            "11" => Some(TemplateAi::ProductionDate),
            "10" => Some(TemplateAi::Lot),
            "21" => Some(TemplateAi::Serial),
            _ => ai
                .parse::<u16>()
                .ok()
                .filter(|n| (710..=717).contains(n) && ai.len() == 3)
                .map(TemplateAi::Nhrn),
        }
    }
}

impl TryFrom<String> for TemplateAi {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        TemplateAi::from_ai(&s).ok_or_else(|| {
            format!(
                "AI {s} is not one the station fills ({})",
                TemplateAi::SUPPORTED
            )
        })
    }
}

impl From<TemplateAi> for String {
    fn from(t: TemplateAi) -> String {
        t.ai()
    }
}

impl fmt::Display for TemplateAi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.ai())
    }
}

/// A product the line can run: what to print and how strictly to check it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Product {
    pub gtin: Gtin,
    pub client_id: String,
    pub name: String,
    /// Length of the GS1 Company Prefix inside the GTIN (6..=12), for EPC URIs.
    pub company_prefix_length: u8,
    /// Market codes (ISO 3166 alpha-2, plus `XI` for Northern Ireland).
    pub markets: Vec<String>,
    /// The AIs printed, in order.
    pub code_template: Vec<TemplateAi>,
    /// Values of the NHRN AIs (710–717) of the template, keyed by AI.
    pub nhrn: BTreeMap<String, String>,
    /// Lowest acceptable ISO/IEC 15415 grade, 0.0..=4.0.
    pub min_grade: f64,
    /// Warn when fewer Unallocated serials than this remain in the pool.
    pub low_water_mark: u64,
    /// Stop the line after this many rejects in a row.
    pub consecutive_reject_limit: u32,
}

/// One configuration file: a client and its products.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientConfig {
    pub client: Client,
    pub products: Vec<Product>,
}
