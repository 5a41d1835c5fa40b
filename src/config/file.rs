//! Reading one client file (TOML): the client, its serial source and upload target,
//! and its products. Every problem is reported with file, line, column and field, and
//! all problems are reported at once, not only the first.
//!
//! File layout (see `config/clients/*.toml` for complete examples):
//!
//! ```toml
//! [client]
//! id = "acme"
//! name = "Acme Pharma GmbH"
//! serial_source = { kind = "local" }          # or { kind = "site_server", url = "https://..." }
//!                                             # or { kind = "serialbox", url = "https://...", pool = "..." }
//!                                             # (see validate.rs for token_env, token_file,
//!                                             #  pools, replenish_count, allow_plain_http)
//! [client.upload]
//! format = "epcis2-jsonld"                    # or "epcis1.2-xml"
//! url = "https://l3.acme.example/epcis/capture"
//! token_env = "ACME_EPCIS_TOKEN"              # the variable holding the token, never the token
//! max_events_per_document = 10000
//! # optional: protocol, auth, secrets_file, allow_plain_http, ca_file, timeout_s,
//! # read_point, biz_location, max_epcs_per_event, max_document_bytes, used_up,
//! # flush_after_s (see config/clients/*.toml)
//!
//! [[product]]
//! gtin = "09506000134352"
//! name = "Examplamol 500 mg, 20 tablets"
//! company_prefix_length = 7
//! markets = ["DE"]
//! code_template = ["01", "17", "10", "21", "710"]
//! nhrn = { 710 = "12345678" }
//! min_grade = 1.5
//! low_water_mark = 20000
//! consecutive_reject_limit = 3
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use crate::config::model::ClientConfig;
use crate::config::validate;

/// How serious a configuration problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// The file cannot be used.
    Error,
    /// The file can be used, but something looks wrong.
    Warning,
}

/// One problem in a configuration file, located.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ConfigIssue {
    pub severity: Severity,
    pub file: String,
    /// 1-based; 0 when the problem concerns the whole file.
    pub line: usize,
    /// 1-based, in characters.
    pub column: usize,
    /// The field concerned, e.g. `product[2].min_grade` (products counted from 1).
    pub field: String,
    pub message: String,
}

impl fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        if self.line == 0 {
            write!(f, "{}: {kind}: ", self.file)?;
        } else {
            write!(f, "{}:{}:{}: {kind}: ", self.file, self.line, self.column)?;
        }
        if !self.field.is_empty() {
            write!(f, "{}: ", self.field)?;
        }
        f.write_str(&self.message)
    }
}

/// The outcome of reading a client file: the validated configuration when there are
/// no errors, and every issue found (warnings may accompany a valid configuration).
#[derive(Debug, Clone)]
pub struct ConfigReport {
    pub config: Option<ClientConfig>,
    pub issues: Vec<ConfigIssue>,
}

impl ConfigReport {
    pub fn errors(&self) -> impl Iterator<Item = &ConfigIssue> {
        self.issues.iter().filter(|i| i.severity == Severity::Error)
    }
    pub fn warnings(&self) -> impl Iterator<Item = &ConfigIssue> {
        self.issues
            .iter()
            .filter(|i| i.severity == Severity::Warning)
    }
}

// ----- the file as written (spans kept for messages) -----

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
}

/// Turns byte spans into located issues for one file.
pub(crate) struct Locator<'a> {
    file: &'a str,
    text: &'a str,
    pub issues: Vec<ConfigIssue>,
}

impl<'a> Locator<'a> {
    pub fn new(file: &'a str, text: &'a str) -> Locator<'a> {
        Locator {
            file,
            text,
            issues: Vec::new(),
        }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let before = self.text.get(..offset).unwrap_or(self.text);
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before
            .get(line_start..)
            .map_or(1, |s| s.chars().count() + 1);
        (line, column)
    }

    pub fn push(
        &mut self,
        severity: Severity,
        span: Option<Range<usize>>,
        field: &str,
        message: impl Into<String>,
    ) {
        let (line, column) = span.map_or((0, 0), |s| self.line_col(s.start));
        self.issues.push(ConfigIssue {
            severity,
            file: self.file.to_string(),
            line,
            column,
            field: field.to_string(),
            message: message.into(),
        });
    }

    pub fn error(&mut self, span: Range<usize>, field: &str, message: impl Into<String>) {
        self.push(Severity::Error, Some(span), field, message);
    }

    pub fn warning(&mut self, span: Range<usize>, field: &str, message: impl Into<String>) {
        self.push(Severity::Warning, Some(span), field, message);
    }

    /// The field at a byte offset, read from the text: the key on that line, inside the
    /// nearest table header above it (`[[product]]` headers are counted from 1).
    pub fn field_at(&self, offset: usize) -> String {
        let offset = offset.min(self.text.len());
        let before = self.text.get(..offset).unwrap_or("");
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let line_end = self
            .text
            .get(offset..)
            .and_then(|s| s.find('\n'))
            .map_or(self.text.len(), |i| offset + i);
        let line = self.text.get(line_start..line_end).unwrap_or("");
        let key = line
            .split_once('=')
            .map(|(k, _)| k.trim().trim_matches('"').to_string());
        let mut table = String::new();
        let mut product_count = 0usize;
        for header in before
            .get(..line_start)
            .unwrap_or("")
            .lines()
            .map(str::trim)
        {
            if header.starts_with("[[") {
                let name = header
                    .trim_start_matches("[[")
                    .split("]]")
                    .next()
                    .unwrap_or("")
                    .trim();
                if name == "product" {
                    product_count += 1;
                    table = format!("product[{product_count}]");
                } else {
                    table = name.to_string();
                }
            } else if header.starts_with('[') {
                let name = header
                    .trim_start_matches('[')
                    .split(']')
                    .next()
                    .unwrap_or("")
                    .trim();
                table = match name.strip_prefix("product.") {
                    Some(rest) if product_count > 0 => format!("product[{product_count}].{rest}"),
                    _ => name.to_string(),
                };
            }
        }
        match (table.is_empty(), key) {
            (_, Some(k)) if line.trim_start().starts_with('[') => k,
            (true, Some(k)) => k,
            (false, Some(k)) => format!("{table}.{k}"),
            (_, None) => table,
        }
    }
}

/// Reads and validates the text of a client file; `file` names it in messages.
pub fn parse_client_config(file: &str, text: &str) -> ConfigReport {
    let mut loc = Locator::new(file, text);
    let raw: RawFile = match toml::from_str(text) {
        Ok(raw) => raw,
        Err(e) => {
            let span = e.span();
            let field = span
                .as_ref()
                .map(|s| loc.field_at(s.start))
                .unwrap_or_default();
            let message = e.message().trim().replace('\n', " ");
            loc.push(Severity::Error, span, &field, message);
            return ConfigReport {
                config: None,
                issues: loc.issues,
            };
        }
    };
    let config = validate::validate(&raw, &mut loc);
    let has_errors = loc.issues.iter().any(|i| i.severity == Severity::Error);
    ConfigReport {
        config: if has_errors { None } else { config },
        issues: loc.issues,
    }
}

/// Reads and validates a client file from disk.
pub fn check_client_file(path: &Path) -> ConfigReport {
    let file = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(text) => parse_client_config(&file, &text),
        Err(e) => {
            let mut loc = Locator::new(&file, "");
            loc.push(
                Severity::Error,
                None,
                "",
                format!("cannot read the file: {e}"),
            );
            ConfigReport {
                config: None,
                issues: loc.issues,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_count_characters() {
        let loc = Locator::new("f", "a = 1\nbé = 2\n");
        assert_eq!(loc.line_col(0), (1, 1));
        assert_eq!(loc.line_col(6), (2, 1));
        assert_eq!(loc.line_col(12), (2, 6));
    }

    #[test]
    fn field_at_names_table_and_key() {
        let text = "[client]\nid = \"x\"\n[client.upload]\nurl = 1\n[[product]]\ngtin = \"1\"\n[[product]]\nmin_grade = 9\n";
        let loc = Locator::new("f", text);
        let at = |needle: &str| {
            text.find(needle)
                .map(|i| loc.field_at(i))
                .unwrap_or_default()
        };
        assert_eq!(at("\"x\""), "client.id");
        assert_eq!(at("1\n[[product]]"), "client.upload.url");
        assert_eq!(at("\"1\""), "product[1].gtin");
        assert_eq!(at("9"), "product[2].min_grade");
    }
}
