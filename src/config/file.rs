//! Reading one client file (TOML): the client, its serial source and upload target,
//! and its products. Every problem is reported with file, line, column and field, and
//! all problems are reported at once, not only the first.
//!
//! The text is read (at most [`MAX_FILE_BYTES`]) and parsed into the file as
//! written (`raw.rs`; TOML errors are explained here, in the terms of the file),
//! which `validate` then turns into the model ([`crate::config::model`]).
//!
//! File layout (see `config/clients/*.toml` for complete examples):
//!
//! ```toml
//! [client]
//! id = "acme"
//! name = "Acme Pharma GmbH"
//! serial_source = { kind = "local" }          # or { kind = "site_server", url = "https://..." }
//!                                             # or { kind = "serialbox", url = "https://...", pool = "..." }
//!                                             # (see validate/serial_source.rs for token_env, token_file,
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
//!
//! # Optional: the packaging hierarchy above the pack, one table per level, lowest
//! # first (bundle, case, pallet; each once). `capacity` counts the level below;
//! # `partial_at_batch_end` (default true) lets a container below capacity close at
//! # batch end; `label = { ais = [...] }` lists the AIs of its logistic label, 00
//! # always, among 00, 02, 37, 10, 11, 17 (default 00, 02, 37, 10, 17). A product
//! # with a hierarchy needs the client's [client.sscc].
//! [[product.aggregation]]
//! level = "case"
//! capacity = 12
//! [[product.aggregation]]
//! level = "pallet"
//! capacity = 4
//! ```
//!
//! and, for a client whose products have a hierarchy, the SSCC settings:
//!
//! ```toml
//! [client.sscc]
//! company_prefix = "9506000"                  # GS1 Company Prefix, 4 to 12 digits, in quotes
//! extension_digit = 0                         # 0 to 9, default 0
//! ```

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;

use crate::config::located::{ConfigIssue, Locator, Severity};
use crate::config::model::ClientConfig;
use crate::config::raw::RawFile;
use crate::config::text::MAX_FILE_BYTES;
use crate::config::validate;

/// The outcome of reading a client file: the validated configuration when there are
/// no errors, and every issue found (warnings may accompany a valid configuration).
#[derive(Debug, Clone)]
pub struct ConfigReport {
    pub config: Option<ClientConfig>,
    pub issues: Vec<ConfigIssue>,
    /// Where the client and products of `config` are defined (default when `config`
    /// is `None`), for messages that compare files.
    pub defined_at: DefinedAt,
}

/// Where the client and the products of a valid file are defined: (line, column),
/// 1-based, as in [`ConfigIssue`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DefinedAt {
    /// The client's `id`.
    pub client: (usize, usize),
    /// Each product's `gtin`, in the order of [`ClientConfig::products`].
    pub products: Vec<(usize, usize)>,
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

// ----- a light reading of the text, to name fields and places in TOML errors -----

/// One table header or `key = value` line of the text, as far as messages need it.
#[derive(Debug, Clone)]
struct TextEntry {
    /// 1-based.
    line: usize,
    /// The last line of the value when it spans lines (multi-line arrays, strings).
    end_line: usize,
    /// Byte offset of the first character that is not white space.
    at: usize,
    /// The table the line is in, products numbered (`product[2].nhrn`); for a
    /// header, the table it opens.
    table: String,
    /// The key (dotted keys joined with '.', quotes removed); `None` for a header.
    key: Option<String>,
    /// For a header: true for `[[...]]`; for a key: true when its value is an inline
    /// table or an array.
    array: bool,
    /// For a header: the table as written, not numbered (`product`, `client.upload`).
    header_path: String,
}

impl TextEntry {
    /// The field the entry defines: `client.upload.url`, or the table of a header.
    fn field(&self) -> String {
        match &self.key {
            Some(key) => join_field(&self.table, key),
            None => self.table.clone(),
        }
    }
}

fn join_field(table: &str, key: &str) -> String {
    match (table.is_empty(), key.is_empty()) {
        (true, _) => key.to_string(),
        (false, true) => table.to_string(),
        (false, false) => format!("{table}.{key}"),
    }
}

/// `client . "upload"` → `client.upload`: dotted key parts joined with '.', quotes
/// and white space removed.
fn normalize_key(key: &str) -> String {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut quote: Option<char> = None;
    for c in key.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => current.push(c),
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c == '.' => parts.push(std::mem::take(&mut current)),
            None if c.is_whitespace() => {}
            None => current.push(c),
        }
    }
    parts.push(current);
    parts.join(".")
}

/// The key of a `key = value` line (trimmed), if the line is one, and whether its
/// value is an inline table or an array (which may hold keys of their own).
fn line_key(line: &str) -> Option<(String, bool)> {
    let mut quote: Option<u8> = None;
    for (i, &b) in line.as_bytes().iter().enumerate() {
        match quote {
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None if b == b'"' || b == b'\'' => quote = Some(b),
            None if b == b'=' => {
                let key = line.get(..i)?.trim();
                let nested = line
                    .get(i + 1..)
                    .is_some_and(|v| v.trim_start().starts_with(['{', '[']));
                return (!key.is_empty()).then(|| (normalize_key(key), nested));
            }
            None if b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b' ' | b'\t') => {
            }
            None => return None,
        }
    }
    None
}

/// Follows strings, brackets and braces through one line, so that the lines inside
/// a multi-line array, inline table or string are not read as keys or headers.
fn lex_line(line: &[u8], depth: &mut usize, multi: &mut Option<&'static [u8]>) {
    let mut i = 0;
    while i < line.len() {
        if let Some(delim) = *multi {
            if line[i..].starts_with(delim) {
                *multi = None;
                i += delim.len();
            } else if delim == b"\"\"\"" && line[i] == b'\\' {
                i += 2;
            } else {
                i += 1;
            }
            continue;
        }
        match line[i] {
            b'#' => return,
            q @ (b'"' | b'\'') => {
                let triple: &'static [u8] = if q == b'"' { b"\"\"\"" } else { b"'''" };
                if line[i..].starts_with(triple) {
                    *multi = Some(triple);
                    i += 3;
                    continue;
                }
                i += 1;
                while i < line.len() && line[i] != q {
                    if q == b'"' && line[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                i += 1;
            }
            b'[' | b'{' => {
                *depth += 1;
                i += 1;
            }
            b']' | b'}' => {
                *depth = depth.saturating_sub(1);
                i += 1;
            }
            _ => i += 1,
        }
    }
}

/// Every table header and `key = value` line of the text, in order. A light reading
/// for messages only: it never fails, and on text that is not TOML it is a guess.
fn scan_text(text: &str) -> Vec<TextEntry> {
    let mut entries: Vec<TextEntry> = Vec::new();
    let mut table = String::new();
    let mut products = 0usize;
    // The `[[product.<name>]]` tables of the current product so far, by name.
    let mut product_arrays: BTreeMap<String, usize> = BTreeMap::new();
    let mut depth = 0usize;
    let mut multi: Option<&'static [u8]> = None;
    let mut open: Option<usize> = None;
    let mut start = 0usize;
    for (index, line) in text.split('\n').enumerate() {
        let number = index + 1;
        let at = start + (line.len() - line.trim_start().len());
        start += line.len() + 1;
        if depth == 0 && multi.is_none() {
            let trimmed = line.trim();
            let entry =
                |table: &str, key: Option<String>, array: bool, header_path: String| TextEntry {
                    line: number,
                    end_line: number,
                    at,
                    table: table.to_string(),
                    key,
                    array,
                    header_path,
                };
            let found = if let Some(rest) = trimmed.strip_prefix("[[") {
                let path = normalize_key(rest.split("]]").next().unwrap_or(""));
                if path == "product" {
                    products += 1;
                    product_arrays.clear();
                    table = format!("product[{products}]");
                } else if let Some(sub) = path.strip_prefix("product.").filter(|_| products > 0) {
                    let count = product_arrays.entry(sub.to_string()).or_insert(0);
                    *count += 1;
                    table = format!("product[{products}].{sub}[{}]", *count);
                } else {
                    table = path.clone();
                }
                Some(entry(table.as_str(), None, true, path))
            } else if let Some(rest) = trimmed.strip_prefix('[') {
                let path = normalize_key(rest.split(']').next().unwrap_or(""));
                table = match path.strip_prefix("product.") {
                    Some(sub) if products > 0 => {
                        format!("product[{products}].{}", numbered(sub, &product_arrays))
                    }
                    _ => path.clone(),
                };
                Some(entry(table.as_str(), None, false, path))
            } else if trimmed.starts_with('#') {
                None
            } else {
                line_key(trimmed)
                    .map(|(key, nested)| entry(table.as_str(), Some(key), nested, String::new()))
            };
            if let Some(found) = found {
                entries.push(found);
                open = Some(entries.len() - 1);
            }
        }
        lex_line(line.as_bytes(), &mut depth, &mut multi);
        if let Some(i) = open {
            if let Some(entry) = entries.get_mut(i) {
                entry.end_line = number;
            }
            if depth == 0 && multi.is_none() {
                open = None;
            }
        }
    }
    entries
}

/// A table under a product (`aggregation.label`) with the number of the
/// `[[product.<name>]]` it belongs to (`aggregation[2].label`), as validation
/// names it.
fn numbered(sub: &str, arrays: &BTreeMap<String, usize>) -> String {
    match sub.split_once('.') {
        Some((head, rest)) => match arrays.get(head) {
            Some(n) => format!("{head}[{n}].{rest}"),
            None => sub.to_string(),
        },
        None => sub.to_string(),
    }
}

/// The entry on `line`, or whose value spans it.
fn entry_on_line(entries: &[TextEntry], line: usize) -> Option<&TextEntry> {
    entries
        .iter()
        .find(|e| e.line <= line && line <= e.end_line)
}

/// The field on `line`: its entry's, else the table in force there.
fn field_of_line(entries: &[TextEntry], line: usize) -> String {
    if let Some(entry) = entry_on_line(entries, line) {
        return entry.field();
    }
    entries
        .iter()
        .rev()
        .find(|e| e.line <= line)
        .map(|e| e.table.clone())
        .unwrap_or_default()
}

/// How messages name a table: `[client.upload]`, `[[product]] number 2`, or the
/// top level of the file.
fn table_label(table: &str) -> String {
    if table.is_empty() {
        return "at the top level of the file (before any [table] line)".to_string();
    }
    if let Some(rest) = table.strip_prefix("product[")
        && let Some((number, sub)) = rest.split_once(']')
    {
        let Some(sub) = sub.strip_prefix('.') else {
            return format!("in [[product]] number {number}");
        };
        // `aggregation[2]` or `aggregation[2].label`: a table of the product's own
        // array of tables.
        if let Some((name, tail)) = sub.split_once('[')
            && let Some((n, rest)) = tail.split_once(']')
        {
            return if rest.is_empty() {
                format!("in [[product.{name}]] number {n} of [[product]] number {number}")
            } else {
                format!(
                    "in [product.{name}{rest}] of [[product.{name}]] number {n} of [[product]] number {number}"
                )
            };
        }
        return format!("in [product.{sub}] of [[product]] number {number}");
    }
    format!("in [{table}]")
}

/// The keys of each table of a client file, for hints about a key written in the
/// wrong table. (The parser itself knows them from `Raw*` in `raw.rs`; these lists only
/// feed hints, so a key missing here costs a hint, never a wrong error.)
const TABLE_KEYS: [(&str, &[&str]); 8] = [
    ("the top level of the file", &["client", "product"]),
    (
        "[client]",
        &["id", "name", "serial_source", "upload", "sscc"],
    ),
    ("[client.sscc]", &["company_prefix", "extension_digit"]),
    (
        "[client.serial_source]",
        &[
            "kind",
            "url",
            "pool",
            "pools",
            "token_env",
            "token_file",
            "replenish_count",
            "allow_plain_http",
        ],
    ),
    (
        "[client.upload]",
        &[
            "format",
            "url",
            "token_env",
            "max_events_per_document",
            "protocol",
            "auth",
            "secrets_file",
            "allow_plain_http",
            "ca_file",
            "timeout_s",
            "read_point",
            "biz_location",
            "max_epcs_per_event",
            "max_document_bytes",
            "used_up",
            "flush_after_s",
        ],
    ),
    (
        "[[product]]",
        &[
            "gtin",
            "name",
            "company_prefix_length",
            "markets",
            "code_template",
            "nhrn",
            "min_grade",
            "low_water_mark",
            "consecutive_reject_limit",
            "aggregation",
        ],
    ),
    (
        "[[product.aggregation]]",
        &["level", "capacity", "partial_at_batch_end", "label"],
    ),
    ("[product.aggregation.label]", &["ais"]),
];

/// Levenshtein distance, for "did you mean" (keys are short).
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitute.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

/// The message for serde's `unknown field `name`, expected ...`: the key, the table
/// it was found in, the keys that table takes, and a hint.
fn unknown_key(entries: &[TextEntry], line: usize, name: &str, expected: &str) -> (String, String) {
    let table = match entry_on_line(entries, line) {
        Some(entry) => match &entry.key {
            // `[client.extra]`: the unknown key is the header's last part.
            None => match entry.table.rsplit_once('.') {
                Some((parent, last)) if last == name => parent.to_string(),
                _ if entry.table == name => String::new(),
                _ => entry.table.clone(),
            },
            Some(key) if key == name || key.starts_with(&format!("{name}.")) => entry.table.clone(),
            Some(key) => match key.rsplit_once(&format!(".{name}")) {
                // `serial_source.extra = 1` in [client].
                Some((before, "")) => join_field(&entry.table, before),
                // A key inside an inline table on this line.
                _ if entry.array => join_field(&entry.table, key),
                _ => entry.table.clone(),
            },
        },
        None => field_of_line(entries, line),
    };
    let field = join_field(&table, name);
    let known: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    let expected = if expected.trim() == "there are no fields" {
        "this table takes no keys".to_string()
    } else {
        expected.trim().to_string()
    };
    let closest = known
        .iter()
        .map(|k| (edit_distance(name, k), *k))
        .filter(|(d, k)| *d <= 2 && *d < k.len())
        .min();
    let hint = match (closest, name) {
        (Some((_, k)), _) => format!(" (did you mean `{k}`?)"),
        (None, "product") => {
            "; each product is a table of its own: start it with a [[product]] line".to_string()
        }
        (None, "client") => {
            "; the client is a table of its own: start it with a [client] line".to_string()
        }
        (None, "upload") => "; write the upload settings in a [client.upload] table".to_string(),
        (None, _) => {
            let here = table_label(&table);
            let homes: Vec<&str> = TABLE_KEYS
                .iter()
                .filter(|(label, keys)| keys.contains(&name) && !here.ends_with(*label))
                .map(|(label, _)| *label)
                .collect();
            if homes.is_empty() {
                String::new()
            } else {
                format!(
                    "; `{name}` belongs in {}: move it under that table's header",
                    homes.join(" or ")
                )
            }
        }
    };
    let message = format!(
        "unknown key `{name}` {}; {expected}{hint}",
        table_label(&table)
    );
    (field, message)
}

/// The place, field and message for a "duplicate key" from the TOML parser: what is
/// defined twice, where the other definition is, and, for a key written before the
/// first table header, that it is a stray key (the usual cause).
fn explain_duplicate(
    entries: &[TextEntry],
    line: usize,
) -> Option<(Option<Range<usize>>, String, String)> {
    let here = entries.iter().find(|e| e.line == line)?;
    let earlier = entries.iter().take_while(|e| e.line < line);
    match &here.key {
        None => {
            let path = here.header_path.as_str();
            let shown = if here.array {
                format!("[[{path}]]")
            } else {
                format!("[{path}]")
            };
            for e in earlier {
                match &e.key {
                    Some(key) => {
                        let full = join_field(&e.table, key);
                        if full != path && !full.starts_with(&format!("{path}.")) {
                            continue;
                        }
                        if e.table.is_empty() && full == path {
                            let message = format!(
                                "stray key `{key}`: it is written before the first table header, so it belongs to the top level of the file, where `{path}` can only be the {shown} table{} at line {line}; move the key under the header of the table it belongs to, or remove it",
                                if here.array { "s" } else { "" }
                            );
                            return Some((Some(e.at..e.at), key.clone(), message));
                        }
                        let message = format!(
                            "{shown} defines `{path}` again: the key `{full}` at line {} already did; a name is either a key or a table, once: remove or rename one",
                            e.line
                        );
                        return Some((None, here.field(), message));
                    }
                    None if e.header_path == path && !(e.array && here.array) => {
                        let message = if e.array == here.array {
                            format!(
                                "the table {shown} is already defined at line {}: write each table once (merge the two)",
                                e.line
                            )
                        } else {
                            format!(
                                "{shown} cannot be used here: line {} already uses `{path}` as {}",
                                e.line,
                                if e.array {
                                    format!("[[{path}]]")
                                } else {
                                    format!("[{path}]")
                                }
                            )
                        };
                        return Some((None, here.field(), message));
                    }
                    None => {}
                }
            }
            None
        }
        Some(key) => {
            let full_here = join_field(&here.table, key);
            // Keys first: a key given twice is the usual case.
            for e in earlier.clone() {
                if let Some(other) = &e.key {
                    let full = join_field(&e.table, other);
                    if full == full_here {
                        return Some((
                            None,
                            full_here.clone(),
                            format!(
                                "`{key}` is already set {} at line {}: give each key once",
                                table_label(&here.table),
                                e.line
                            ),
                        ));
                    }
                    if full_here.starts_with(&format!("{full}."))
                        || full.starts_with(&format!("{full_here}."))
                    {
                        return Some((
                            None,
                            full_here.clone(),
                            format!(
                                "`{key}` clashes with `{other}` at line {}: a name is either a value or a table, once: remove or rename one",
                                e.line
                            ),
                        ));
                    }
                }
            }
            // Then a dotted key reaching into a table that a header defines.
            for e in earlier {
                if e.key.is_none()
                    && !e.table.is_empty()
                    && e.table != here.table
                    && (here.table.is_empty() || e.table.starts_with(&format!("{}.", here.table)))
                    && (full_here == e.table || full_here.starts_with(&format!("{}.", e.table)))
                {
                    let rest = full_here
                        .strip_prefix(&format!("{}.", e.table))
                        .unwrap_or("");
                    let advice = if rest.is_empty() {
                        "remove one of them".to_string()
                    } else {
                        format!("write `{rest} = ...` inside that table instead")
                    };
                    return Some((
                        None,
                        full_here.clone(),
                        format!(
                            "`{key}` {} reaches into the table [{}], which line {} already defines: {advice}",
                            table_label(&here.table),
                            e.header_path,
                            e.line
                        ),
                    ));
                }
            }
            None
        }
    }
}

/// serde's words for the types of this file's parts, in the words of the file.
fn plain_type_words(message: &str) -> String {
    if message.contains("did not match any variant of untagged enum RawLocation") {
        return "expected an SGLN EPC URI such as \"urn:epc:id:sgln:9506000.00001.0\", or { gln = \"...\", company_prefix_length = 7 } with an optional extension".to_string();
    }
    let mut out = message.to_string();
    for (rust, words) in [
        ("struct RawClient", "a table"),
        ("struct RawSerialSource", "a table"),
        ("struct RawUpload", "a table"),
        ("struct RawProduct", "a table"),
        ("struct RawSscc", "a table"),
        ("struct RawLevel", "a table"),
        ("struct RawLabel", "a table"),
        ("struct RawFile", "a table"),
        ("expected a sequence", "expected an array, e.g. [\"...\"]"),
        ("expected a map", "expected a table"),
        ("expected i64", "expected a whole number"),
        ("expected f64", "expected a number"),
    ] {
        out = out.replace(rust, words);
    }
    out
}

/// The place, field and message of a TOML syntax or type error, named in the terms
/// of this file format (what is wrong, where, and what to write instead).
fn explain_toml_error(
    loc: &Locator<'_>,
    span: Option<Range<usize>>,
    message: &str,
) -> (Option<Range<usize>>, String, String) {
    let entries = scan_text(loc.text());
    let Some(line) = span.as_ref().map(|s| loc.line_col(s.start).0) else {
        return (span, String::new(), plain_type_words(message));
    };
    if let Some(rest) = message.strip_prefix("unknown field `")
        && let Some((name, expected)) = rest.split_once('`')
    {
        let expected = expected.trim_start_matches(',').trim();
        let (field, message) = unknown_key(&entries, line, name, expected);
        return (span, field, message);
    }
    if message.starts_with("duplicate key")
        && let Some((place, field, message)) = explain_duplicate(&entries, line)
    {
        return (place.or(span), field, message);
    }
    let field = field_of_line(&entries, line);
    if message.starts_with("invalid type: map, expected a sequence")
        && field.ends_with(".aggregation")
    {
        return (
            span,
            field,
            "the packaging hierarchy is a list of levels: write each level as a [[product.aggregation]] table of its own (two brackets), lowest level first, e.g. one with level = \"case\" and capacity = 12, then one with level = \"pallet\" and capacity = 4".to_string(),
        );
    }
    if message.starts_with("invalid type: integer")
        && message.contains("expected a string")
        && field.starts_with("client.sscc")
    {
        return (
            span,
            field,
            "write the GS1 Company Prefix as text in quotes, e.g. company_prefix = \"9506000\": its leading zeros are part of it".to_string(),
        );
    }
    if message.starts_with("invalid type")
        && let Some(entry) = entry_on_line(&entries, line)
        && entry.table.is_empty()
        && let Some(key @ ("product" | "client")) = entry.key.as_deref()
    {
        let table = if key == "product" {
            "[[product]]"
        } else {
            "[client]"
        };
        return (
            span,
            field,
            format!(
                "stray key `{key}`: it is written before the first table header, so it belongs to the top level of the file, where `{key}` can only be the {table} table; move the key under the header of the table it belongs to, or remove it"
            ),
        );
    }
    (span, field, plain_type_words(message))
}

/// The message for a file larger than [`MAX_FILE_BYTES`] (`size` when known).
fn too_large(size: Option<u64>) -> String {
    let limit_mib = MAX_FILE_BYTES / (1024 * 1024);
    let size = match size {
        Some(bytes) => format!(
            "{:.1} MiB ({bytes} bytes)",
            bytes as f64 / (1024.0 * 1024.0)
        ),
        None => format!("more than {limit_mib} MiB"),
    };
    format!(
        "the file is {size}; a client file may have at most {limit_mib} MiB ({MAX_FILE_BYTES} bytes), and is usually a few KiB: check that this is the right file, and that nothing was pasted into it by mistake"
    )
}

/// Reads and validates the text of a client file; `file` names it in messages.
pub fn parse_client_config(file: &str, text: &str) -> ConfigReport {
    let mut loc = Locator::new(file, text);
    if text.len() > MAX_FILE_BYTES {
        loc.push(
            Severity::Error,
            None,
            "",
            too_large(u64::try_from(text.len()).ok()),
        );
        return ConfigReport {
            config: None,
            issues: loc.issues,
            defined_at: DefinedAt::default(),
        };
    }
    let raw: RawFile = match toml::from_str(text) {
        Ok(raw) => raw,
        Err(e) => {
            let message = e.message().trim().replace('\n', " ");
            let (span, field, message) = explain_toml_error(&loc, e.span(), &message);
            loc.push(Severity::Error, span, &field, message);
            return ConfigReport {
                config: None,
                issues: loc.issues,
                defined_at: DefinedAt::default(),
            };
        }
    };
    let config = validate::validate(&raw, &mut loc);
    let has_errors = loc.issues.iter().any(|i| i.severity == Severity::Error);
    let config = if has_errors { None } else { config };
    let defined_at = match (&config, &raw.client) {
        (Some(_), Some(client)) => DefinedAt {
            client: loc.line_col(
                client
                    .get_ref()
                    .id
                    .as_ref()
                    .map_or_else(|| client.span(), |id| id.span())
                    .start,
            ),
            products: raw
                .product
                .iter()
                .map(|p| {
                    loc.line_col(
                        p.get_ref()
                            .gtin
                            .as_ref()
                            .map_or_else(|| p.span(), |g| g.span())
                            .start,
                    )
                })
                .collect(),
        },
        _ => DefinedAt::default(),
    };
    ConfigReport {
        config,
        issues: loc.issues,
        defined_at,
    }
}

/// Reads a file of at most [`MAX_FILE_BYTES`] as UTF-8 text; the message otherwise.
fn read_limited(path: &Path) -> Result<String, String> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read the file: {e}"))?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read the file: {e}"))?;
    if bytes.len() > MAX_FILE_BYTES {
        let size = std::fs::metadata(path)
            .ok()
            .map(|m| m.len())
            .filter(|&n| n > MAX_FILE_BYTES as u64);
        return Err(too_large(size));
    }
    String::from_utf8(bytes).map_err(|e| {
        format!(
            "cannot read the file: byte {} is not UTF-8 text; save the file as UTF-8",
            e.utf8_error().valid_up_to() + 1
        )
    })
}

/// Reads and validates a client file from disk (refusing one larger than
/// [`MAX_FILE_BYTES`] before reading it all).
pub fn check_client_file(path: &Path) -> ConfigReport {
    let file = path.display().to_string();
    match read_limited(path) {
        Ok(text) => parse_client_config(&file, &text),
        Err(message) => {
            let mut loc = Locator::new(&file, "");
            loc.push(Severity::Error, None, "", message);
            ConfigReport {
                config: None,
                issues: loc.issues,
                defined_at: DefinedAt::default(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_at_names_table_and_key() {
        let text = "[client]\nid = \"x\"\n[client.upload]\nurl = 1\n[[product]]\ngtin = \"1\"\nmarkets = [\n  \"DE\", # [x\n  \"FR\",\n]\n[[product]]\nmin_grade = 9\n[product.extra]\n";
        let loc = Locator::new("f", text);
        let entries = scan_text(text);
        let at = |needle: &str| {
            text.find(needle)
                .map(|i| field_of_line(&entries, loc.line_col(i).0))
                .unwrap_or_default()
        };
        assert_eq!(at("\"x\""), "client.id");
        assert_eq!(at("1\n[[product]]"), "client.upload.url");
        assert_eq!(at("\"1\""), "product[1].gtin");
        assert_eq!(at("\"FR\""), "product[1].markets");
        assert_eq!(at("9"), "product[2].min_grade");
        // A header line names the table it opens.
        assert_eq!(at("[[product]]\nmin"), "product[2]");
        assert_eq!(at("[product.extra]"), "product[2].extra");
        assert_eq!(at("[client.upload]"), "client.upload");
    }

    #[test]
    fn tables_of_a_product_are_named_by_their_number() {
        let text = "[[product]]\ngtin = \"1\"\n[[product.aggregation]]\nlevel = \"case\"\n[[product.aggregation]]\nlevel = \"pallet\"\n[product.aggregation.label]\nais = [\"00\"]\n[[product]]\n[[product.aggregation]]\ncapacity = 3\n";
        let loc = Locator::new("f", text);
        let entries = scan_text(text);
        let at = |needle: &str| {
            text.find(needle)
                .map(|i| field_of_line(&entries, loc.line_col(i).0))
                .unwrap_or_default()
        };
        assert_eq!(at("\"case\""), "product[1].aggregation[1].level");
        assert_eq!(at("\"pallet\""), "product[1].aggregation[2].level");
        assert_eq!(at("[\"00\"]"), "product[1].aggregation[2].label.ais");
        assert_eq!(at("3\n"), "product[2].aggregation[1].capacity");
        assert_eq!(
            table_label("product[1].aggregation[2]"),
            "in [[product.aggregation]] number 2 of [[product]] number 1"
        );
        assert_eq!(
            table_label("product[1].aggregation[2].label"),
            "in [product.aggregation.label] of [[product.aggregation]] number 2 of [[product]] number 1"
        );
        assert_eq!(
            table_label("product[3].extra"),
            "in [product.extra] of [[product]] number 3"
        );
    }

    fn error(text: &str) -> ConfigIssue {
        let report = parse_client_config("t.toml", text);
        let mut errors: Vec<ConfigIssue> = report.errors().cloned().collect();
        assert_eq!(errors.len(), 1, "{errors:?}");
        errors.remove(0)
    }

    #[test]
    fn toml_errors_name_what_is_wrong() {
        // A key before the first header clashing with the [[product]] tables.
        let e = error(
            "product = \"x\"\n[client]\nid = \"a\"\n[client.upload]\nurl = \"u\"\n[[product]]\ngtin = \"1\"\n",
        );
        assert_eq!((e.line, e.field.as_str()), (1, "product"), "{e}");
        assert!(e.message.starts_with("stray key `product`"), "{e}");
        assert!(e.message.contains("[[product]] tables at line 6"), "{e}");

        // The same key inside [client.upload].
        let e = error("[client]\nid = \"a\"\n[client.upload]\nurl = \"u\"\nproduct = \"x\"\n");
        assert_eq!(
            (e.line, e.field.as_str()),
            (5, "client.upload.product"),
            "{e}"
        );
        assert!(
            e.message
                .starts_with("unknown key `product` in [client.upload]; expected one of `format`"),
            "{e}"
        );
        assert!(e.message.contains("[[product]] line"), "{e}");

        // In an inline table, with a suggestion.
        let e = error("[client]\nserial_source = { kind = \"local\", tokn_env = \"X\" }\n");
        assert_eq!(e.field, "client.serial_source.tokn_env", "{e}");
        assert!(e.message.contains("in [client.serial_source]"), "{e}");
        assert!(e.message.contains("did you mean `token_env`?"), "{e}");

        // A key of another table.
        let e = error("[client]\nid = \"a\"\nmin_grade = 1.5\n");
        assert!(
            e.message.contains("`min_grade` belongs in [[product]]"),
            "{e}"
        );

        // A table defined twice.
        let e = error("[client]\nid = \"a\"\n[client]\nname = \"b\"\n");
        assert_eq!((e.line, e.field.as_str()), (3, "client"), "{e}");
        assert!(e.message.contains("already defined at line 1"), "{e}");

        // A key given twice.
        let e = error("[client]\nid = \"a\"\nid = \"b\"\n");
        assert_eq!((e.line, e.field.as_str()), (3, "client.id"), "{e}");
        assert!(
            e.message.contains("already set in [client] at line 2"),
            "{e}"
        );

        // No Rust type names.
        let e = error("client = 1\n");
        assert!(e.message.starts_with("stray key `client`"), "{e}");
        let e = error("[client]\nupload = 1\n");
        assert!(!e.message.contains("Raw"), "{e}");
        assert!(e.message.contains("expected a table"), "{e}");
    }

    #[test]
    fn oversized_files_are_refused_before_parsing() {
        let text = format!("# {}\n", "x".repeat(MAX_FILE_BYTES));
        let e = error(&text);
        assert_eq!(e.line, 0);
        assert!(e.message.contains("at most 1 MiB"), "{e}");
    }
}
