//! A client file as written: what TOML parsing of a client file produces
//! ([`crate::config::file`]) and what validation (`validate`) turns into the model.
//! Every value keeps its byte span, so that a problem can be located. Data only.
//!
//! The type names show in serde's messages; `file.rs` (`plain_type_words`) puts
//! them in the words of the file, so renaming one means renaming it there too.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFile {
    pub client: Option<Spanned<RawClient>>,
    #[serde(default)]
    pub product: Vec<Spanned<RawProduct>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawClient {
    pub id: Option<Spanned<String>>,
    pub name: Option<Spanned<String>>,
    pub serial_source: Option<Spanned<RawSerialSource>>,
    pub upload: Option<Spanned<RawUpload>>,
    pub sscc: Option<Spanned<RawSscc>>,
}

/// `[client.sscc]`: what the client's SSCCs are built from.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSscc {
    pub company_prefix: Option<Spanned<String>>,
    pub extension_digit: Option<Spanned<i64>>,
    pub serialbox_pool: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSerialSource {
    pub kind: Option<Spanned<String>>,
    pub url: Option<Spanned<String>>,
    pub pool: Option<Spanned<String>>,
    pub pools: Option<Spanned<BTreeMap<String, Spanned<String>>>>,
    pub token_env: Option<Spanned<String>>,
    pub token_file: Option<Spanned<String>>,
    /// Present only to refuse it with a clear message: tokens never go in files.
    pub token: Option<Spanned<toml::Value>>,
    pub replenish_count: Option<Spanned<i64>>,
    pub allow_plain_http: Option<Spanned<bool>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawUpload {
    pub format: Option<Spanned<String>>,
    pub url: Option<Spanned<String>>,
    pub token_env: Option<Spanned<String>>,
    /// Present only to refuse it with a clear message: tokens never go in files.
    pub token: Option<Spanned<toml::Value>>,
    pub max_events_per_document: Option<Spanned<i64>>,
    pub protocol: Option<Spanned<String>>,
    pub auth: Option<Spanned<String>>,
    pub secrets_file: Option<Spanned<String>>,
    pub allow_plain_http: Option<Spanned<bool>>,
    pub ca_file: Option<Spanned<String>>,
    pub timeout_s: Option<Spanned<i64>>,
    pub read_point: Option<Spanned<RawLocation>>,
    pub biz_location: Option<Spanned<RawLocation>>,
    pub max_epcs_per_event: Option<Spanned<i64>>,
    pub max_document_bytes: Option<Spanned<i64>>,
    pub used_up: Option<Spanned<String>>,
    pub flush_after_s: Option<Spanned<i64>>,
}

/// A read point or business location: an SGLN EPC URI, or a GLN with its company
/// prefix length and an optional extension.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum RawLocation {
    Uri(String),
    Gln {
        gln: String,
        company_prefix_length: i64,
        #[serde(default)]
        extension: Option<String>,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawProduct {
    pub gtin: Option<Spanned<String>>,
    pub name: Option<Spanned<String>>,
    pub company_prefix_length: Option<Spanned<i64>>,
    pub markets: Option<Spanned<Vec<Spanned<String>>>>,
    pub code_template: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    pub nhrn: BTreeMap<String, Spanned<String>>,
    pub min_grade: Option<Spanned<f64>>,
    pub low_water_mark: Option<Spanned<i64>>,
    pub consecutive_reject_limit: Option<Spanned<i64>>,
    /// `[[product.aggregation]]`: the container levels above the pack, in order.
    pub aggregation: Option<Spanned<Vec<Spanned<RawLevel>>>>,
}

/// One `[[product.aggregation]]` table: a container level.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLevel {
    pub level: Option<Spanned<String>>,
    pub capacity: Option<Spanned<i64>>,
    pub partial_at_batch_end: Option<Spanned<bool>>,
    pub label: Option<Spanned<RawLabel>>,
}

/// A level's `label = { ais = [...] }`: what its logistic label carries.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLabel {
    pub ais: Option<Spanned<Vec<Spanned<String>>>>,
}
