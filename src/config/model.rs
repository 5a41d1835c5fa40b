//! The validated client and product master: the types the rest of the station uses
//! once a configuration file has passed every check. Serialisable to JSON for the
//! store.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::aggregation::Level;
use crate::gs1::Gtin;

/// A client of the contract manufacturer and everything the station needs to serve it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Client {
    /// Short stable identifier, e.g. `acme` (lower-case letters, digits, `-`, `_`).
    pub id: String,
    pub name: String,
    pub serial_source: SerialSource,
    pub upload: UploadTarget,
    /// What the SSCCs of the client's containers are built from; `None` when the
    /// file gives no `[client.sscc]` (a client whose products are not aggregated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sscc: Option<SsccSettings>,
}

/// What a client's SSCCs (AI 00) are built from: extension digit + GS1 Company
/// Prefix + serial reference + check digit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SsccSettings {
    /// The GS1 Company Prefix, 4 to 12 digits as GS1 issued it (leading zeros count).
    pub company_prefix: String,
    /// The extension digit, 0 to 9 (0 when the file does not say).
    #[serde(default)]
    pub extension_digit: u8,
    /// The SerialBox pool that issues the client's SSCC serial references, when its
    /// serial source is SerialBox (`sscc request`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serialbox_pool: Option<String>,
}

/// Where a client's serial numbers come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SerialSource {
    /// Pools imported from files or generated on the station.
    Local,
    /// Requested from the client's site server (OPEN-SCS style pool requests):
    /// `POST <url>/request` with `{"gtin": "…", "count": N}`, answered with
    /// `{"gtin": "…", "serials": ["…", …]}`; a bearer token if `secret` names one.
    SiteServer {
        url: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        secret: Option<SecretSource>,
        /// Serials asked for in one request.
        #[serde(default = "default_replenish_count")]
        replenish_count: u64,
        /// Allow plain `http://` to a host that is not loopback.
        #[serde(default)]
        allow_plain_http: bool,
    },
    /// A QU4RTET SerialBox server: `GET <url>/serialbox/allocate/<pool>/<size>/?format=json`
    /// with `Authorization: Token <key>`.
    Serialbox {
        /// The server's base URL, e.g. `https://qu4rtet.example.com`.
        url: String,
        /// The pool machine name used for every GTIN not listed in `pools`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pool: Option<String>,
        /// Pool machine names per GTIN (14 digits).
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        pools: BTreeMap<String, String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        secret: Option<SecretSource>,
        /// Serials asked for in one request.
        #[serde(default = "default_replenish_count")]
        replenish_count: u64,
        /// Allow plain `http://` to a host that is not loopback.
        #[serde(default)]
        allow_plain_http: bool,
    },
}

/// Serials asked for in one request when the configuration does not say.
pub const DEFAULT_REPLENISH_COUNT: u64 = 10_000;

/// Most serials one request may ask for.
pub const MAX_REPLENISH_COUNT: u64 = 1_000_000;

fn default_replenish_count() -> u64 {
    DEFAULT_REPLENISH_COUNT
}

impl SerialSource {
    /// Serials per request for a remote source; `None` for a local one.
    pub fn replenish_count(&self) -> Option<u64> {
        match self {
            SerialSource::Local => None,
            SerialSource::SiteServer {
                replenish_count, ..
            }
            | SerialSource::Serialbox {
                replenish_count, ..
            } => Some(*replenish_count),
        }
    }

    /// The SerialBox pool machine name for `gtin`, if this is a SerialBox source
    /// that has one.
    pub fn serialbox_pool(&self, gtin: &str) -> Option<&str> {
        match self {
            SerialSource::Serialbox { pool, pools, .. } => {
                pools.get(gtin).or(pool.as_ref()).map(String::as_str)
            }
            _ => None,
        }
    }
}

/// Where a secret (a token) is read from at run time; the secret itself is never
/// part of the configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecretSource {
    /// The environment variable of this name.
    Env(String),
    /// A file holding only the secret (absolute path; surrounding whitespace ignored).
    File(std::path::PathBuf),
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
///
/// Every field added after the first version has a serde default, so upload targets
/// stored by older versions still read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadTarget {
    pub format: EpcisFormat,
    /// The capture endpoint, e.g. `https://l3.example.com/epcis/capture`.
    pub url: String,
    /// Name of the environment variable holding the secret (never the secret itself).
    pub token_env: Option<String>,
    /// Largest number of events in one EPCIS document.
    pub max_events_per_document: u32,
    /// The capture interface; `None` (older stored targets) means the one that
    /// goes with `format` (see [`UploadTarget::protocol`]).
    #[serde(default)]
    pub protocol: Option<UploadProtocol>,
    /// How the secret is presented; `None` (older stored targets) means bearer when
    /// a secret is named, none otherwise (see [`UploadTarget::auth`]).
    #[serde(default)]
    pub auth: Option<UploadAuth>,
    /// A file holding only the secret (absolute path), instead of `token_env`.
    #[serde(default)]
    pub secrets_file: Option<std::path::PathBuf>,
    /// Allow plain `http://` to a host that is not loopback.
    #[serde(default)]
    pub allow_plain_http: bool,
    /// A PEM file of extra CA certificates for a site server with a private CA.
    #[serde(default)]
    pub ca_file: Option<std::path::PathBuf>,
    /// Timeout of each HTTP request, in seconds.
    #[serde(default = "default_upload_timeout_s")]
    pub timeout_s: u32,
    /// SGLN EPC URI of the read point written in every event.
    #[serde(default)]
    pub read_point: Option<String>,
    /// SGLN EPC URI of the business location written in every event.
    #[serde(default)]
    pub biz_location: Option<String>,
    /// Most EPCs in one event (a lower limit announced by the site server wins).
    #[serde(default = "default_max_epcs_per_event")]
    pub max_epcs_per_event: u32,
    /// Most bytes in one EPCIS document (a lower limit announced by the site server wins).
    #[serde(default = "default_max_document_bytes")]
    pub max_document_bytes: u64,
    /// How scrapped and invalidated serials are reported.
    #[serde(default)]
    pub used_up: UsedUpReport,
    /// Serials recorded longer ago than this are reported even if their event is
    /// not full, in seconds.
    #[serde(default = "default_flush_after_s")]
    pub flush_after_s: u32,
}

/// Default of [`UploadTarget::timeout_s`].
pub const DEFAULT_UPLOAD_TIMEOUT_S: u32 = 30;
/// Default of [`UploadTarget::max_epcs_per_event`].
pub const DEFAULT_MAX_EPCS_PER_EVENT: u32 = 10_000;
/// Default of [`UploadTarget::max_document_bytes`] (16 MiB).
pub const DEFAULT_MAX_DOCUMENT_BYTES: u64 = 16 * 1024 * 1024;
/// Default of [`UploadTarget::flush_after_s`].
pub const DEFAULT_FLUSH_AFTER_S: u32 = 5;

fn default_upload_timeout_s() -> u32 {
    DEFAULT_UPLOAD_TIMEOUT_S
}
fn default_max_epcs_per_event() -> u32 {
    DEFAULT_MAX_EPCS_PER_EVENT
}
fn default_max_document_bytes() -> u64 {
    DEFAULT_MAX_DOCUMENT_BYTES
}
fn default_flush_after_s() -> u32 {
    DEFAULT_FLUSH_AFTER_S
}

impl UploadTarget {
    /// The capture interface in force: as configured, else the one of `format`.
    pub fn protocol(&self) -> UploadProtocol {
        self.protocol.unwrap_or(match self.format {
            EpcisFormat::Epcis2JsonLd => UploadProtocol::Epcis2Capture,
            EpcisFormat::Epcis12Xml => UploadProtocol::Epcis12,
        })
    }

    /// The authentication in force: as configured, else bearer when a secret is
    /// named and none otherwise.
    pub fn auth(&self) -> UploadAuth {
        self.auth
            .unwrap_or(if self.token_env.is_some() || self.secrets_file.is_some() {
                UploadAuth::Bearer
            } else {
                UploadAuth::None
            })
    }
}

/// A site server's capture interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum UploadProtocol {
    /// EPCIS 2.0: `POST /capture` → 202 + `Location`, then the capture job is polled.
    #[serde(rename = "epcis2-capture")]
    Epcis2Capture,
    /// EPCIS 1.2: one synchronous XML `POST`.
    #[serde(rename = "epcis12")]
    Epcis12,
}

impl UploadProtocol {
    pub const NAMES: [&'static str; 2] = ["epcis2-capture", "epcis12"];

    pub fn from_name(name: &str) -> Option<UploadProtocol> {
        match name {
            "epcis2-capture" => Some(UploadProtocol::Epcis2Capture),
            "epcis12" => Some(UploadProtocol::Epcis12),
            _ => None,
        }
    }
}

/// How the uploader authenticates to the site server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UploadAuth {
    None,
    /// `Authorization: Bearer <secret>`.
    Bearer,
    /// `Authorization: Basic`, the secret being `user:password`.
    Basic,
    /// `Authorization: Token <secret>` (Django REST framework, e.g. QU4RTET).
    Token,
}

impl UploadAuth {
    pub const NAMES: [&'static str; 4] = ["none", "bearer", "basic", "token"];

    pub fn from_name(name: &str) -> Option<UploadAuth> {
        match name {
            "none" => Some(UploadAuth::None),
            "bearer" => Some(UploadAuth::Bearer),
            "basic" => Some(UploadAuth::Basic),
            "token" => Some(UploadAuth::Token),
            _ => None,
        }
    }
}

/// How scrapped and invalidated serials are reported to the site server.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UsedUpReport {
    /// ObjectEvent DELETE, bizStep decommissioning, disposition inactive.
    #[default]
    Decommission,
    /// ObjectEvent DELETE, bizStep destroying, disposition destroyed.
    Destroy,
}

impl UsedUpReport {
    pub const NAMES: [&'static str; 2] = ["decommission", "destroy"];

    pub fn from_name(name: &str) -> Option<UsedUpReport> {
        match name {
            "decommission" => Some(UsedUpReport::Decommission),
            "destroy" => Some(UsedUpReport::Destroy),
            _ => None,
        }
    }
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
    /// The packaging hierarchy above the pack, lowest level first (e.g. case, then
    /// pallet); empty when the product is not aggregated.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aggregation: Vec<AggregationLevel>,
}

impl Product {
    /// The product's hierarchy entry for containers of `level`, if it has one.
    pub fn aggregation_level(&self, level: Level) -> Option<&AggregationLevel> {
        self.aggregation.iter().find(|l| l.level == level)
    }

    /// What a container of `level` holds in the product's hierarchy: the level
    /// listed before it, or packs for the first; `None` if `level` is not in it.
    pub fn child_level(&self, level: Level) -> Option<Level> {
        let i = self.aggregation.iter().position(|l| l.level == level)?;
        match i {
            0 => Some(Level::Pack),
            _ => self.aggregation.get(i - 1).map(|l| l.level),
        }
    }
}

/// Most children one container may hold (the store refuses more).
pub const MAX_CONTAINER_CAPACITY: u64 = 100_000;

/// Whether a container below capacity may close at the end of a batch, when the
/// file does not say: yes. A container holds one lot, so the last one of a batch
/// can rarely be filled; `false` leaves those children loose instead.
pub const DEFAULT_PARTIAL_AT_BATCH_END: bool = true;

/// The AIs a logistic label may carry: each is filled from the container and its
/// batch (SSCC, GTIN of the packs inside, their count, lot, production date,
/// expiry).
pub const LOGISTIC_LABEL_AIS: [&str; 6] = ["00", "02", "37", "10", "11", "17"];

/// What a logistic label carries when the file does not say: the GS1 Logistic
/// Label content of a homogeneous unit (every container here holds one product and
/// one lot), at every level.
pub const DEFAULT_LABEL_AIS: [&str; 5] = ["00", "02", "37", "10", "17"];

/// One container level of a product's packaging hierarchy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AggregationLevel {
    /// Bundle, case or pallet.
    #[serde(with = "level_name")]
    pub level: Level,
    /// How many children (of the level below) a full container holds.
    pub capacity: u64,
    /// Whether a container below capacity may close at the end of a batch.
    #[serde(default = "default_partial_at_batch_end")]
    pub partial_at_batch_end: bool,
    /// What the container's label carries.
    #[serde(default)]
    pub label: LabelLayout,
}

fn default_partial_at_batch_end() -> bool {
    DEFAULT_PARTIAL_AT_BATCH_END
}

/// The layout of a container's logistic label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelLayout {
    /// The AIs printed, in order, as digits; always with 00, each one of
    /// [`LOGISTIC_LABEL_AIS`].
    pub ais: Vec<String>,
}

impl Default for LabelLayout {
    fn default() -> LabelLayout {
        LabelLayout {
            ais: DEFAULT_LABEL_AIS.iter().map(ToString::to_string).collect(),
        }
    }
}

/// A level as its name (`"case"`) in stored JSON.
mod level_name {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::aggregation::Level;

    pub fn serialize<S: Serializer>(level: &Level, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(level.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Level, D::Error> {
        let word = String::deserialize(deserializer)?;
        Level::parse(&word).map_err(serde::de::Error::custom)
    }
}

/// One configuration file: a client and its products.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientConfig {
    pub client: Client,
    pub products: Vec<Product>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn level(level: Level, capacity: u64) -> AggregationLevel {
        AggregationLevel {
            level,
            capacity,
            partial_at_batch_end: DEFAULT_PARTIAL_AT_BATCH_END,
            label: LabelLayout::default(),
        }
    }

    fn product(aggregation: Vec<AggregationLevel>) -> Product {
        Product {
            gtin: Gtin::parse("09506000134352").unwrap(),
            client_id: "acme".into(),
            name: "p".into(),
            company_prefix_length: 7,
            markets: vec!["DE".into()],
            code_template: vec![TemplateAi::Gtin, TemplateAi::Serial],
            nhrn: BTreeMap::new(),
            min_grade: 1.5,
            low_water_mark: 0,
            consecutive_reject_limit: 3,
            aggregation,
        }
    }

    #[test]
    fn a_container_holds_the_level_listed_before_it() {
        let p = product(vec![
            level(Level::Bundle, 10),
            level(Level::Case, 6),
            level(Level::Pallet, 40),
        ]);
        assert_eq!(p.child_level(Level::Bundle), Some(Level::Pack));
        assert_eq!(p.child_level(Level::Case), Some(Level::Bundle));
        assert_eq!(p.child_level(Level::Pallet), Some(Level::Case));
        assert_eq!(
            p.aggregation_level(Level::Case).map(|l| l.capacity),
            Some(6)
        );

        let p = product(vec![level(Level::Case, 12)]);
        assert_eq!(p.child_level(Level::Case), Some(Level::Pack));
        assert_eq!(p.child_level(Level::Pallet), None);
        assert!(p.aggregation_level(Level::Pallet).is_none());
        assert_eq!(product(Vec::new()).child_level(Level::Case), None);
    }

    #[test]
    fn hierarchies_round_trip_through_json_and_older_records_read() {
        let p = product(vec![level(Level::Case, 12), level(Level::Pallet, 4)]);
        let text = serde_json::to_string(&p).unwrap();
        assert!(text.contains(r#""level":"case""#), "{text}");
        assert_eq!(serde_json::from_str::<Product>(&text).unwrap(), p);

        // A product stored before hierarchies existed: none, and none written back.
        let plain = product(Vec::new());
        let text = serde_json::to_string(&plain).unwrap();
        assert!(!text.contains("aggregation"), "{text}");
        assert_eq!(serde_json::from_str::<Product>(&text).unwrap(), plain);

        // Defaults of a level written without them.
        let l: AggregationLevel =
            serde_json::from_str(r#"{"level":"pallet","capacity":4}"#).unwrap();
        assert_eq!(l, level(Level::Pallet, 4));
        assert_eq!(l.label.ais, DEFAULT_LABEL_AIS);
    }
}
