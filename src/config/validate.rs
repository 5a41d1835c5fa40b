//! Semantic checks of a client file: turns the file as written into the validated
//! model, recording every problem with its location. Pure logic (GS1 rules come from
//! the `gs1` crate, market rules from [`crate::config::markets`]).

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use toml::Spanned;

use crate::config::file::{
    Locator, RawClient, RawFile, RawLocation, RawProduct, RawSerialSource, RawUpload,
};
use crate::config::markets::{self, Regime};
use crate::config::model::{
    Client, ClientConfig, DEFAULT_REPLENISH_COUNT, EpcisFormat, MAX_REPLENISH_COUNT, Product,
    SecretSource, SerialSource, TemplateAi, UploadTarget,
};
use crate::config::model::{
    DEFAULT_FLUSH_AFTER_S, DEFAULT_MAX_DOCUMENT_BYTES, DEFAULT_MAX_EPCS_PER_EVENT,
    DEFAULT_UPLOAD_TIMEOUT_S, UploadAuth, UploadProtocol, UsedUpReport,
};
use crate::config::text::{MAX_NAME_CHARS, describe_char, first_unsafe_char, why_unsafe};
use crate::gs1::{ElementString, Gtin};

/// GS1 healthcare's minimum print quality for GS1 DataMatrix (1.5/08/660).
pub const HEALTHCARE_MIN_GRADE: f64 = 1.5;
/// Default for `client.upload.max_events_per_document`.
pub const DEFAULT_MAX_EVENTS_PER_DOCUMENT: u32 = 10_000;

fn span_of<T>(s: &Spanned<T>) -> Range<usize> {
    s.span()
}

/// Validates the whole file; returns the model if every required part is present and
/// valid (the caller discards it if any error was recorded).
pub(crate) fn validate(raw: &RawFile, loc: &mut Locator<'_>) -> Option<ClientConfig> {
    let Some(raw_client) = &raw.client else {
        loc.push(
            crate::config::Severity::Error,
            Some(0..0),
            "client",
            "the file has no [client] table: add one",
        );
        return None;
    };
    let client = validate_client(raw_client, loc);
    let client_id = client.as_ref().map(|c| c.id.clone()).unwrap_or_default();
    if raw.product.is_empty() {
        loc.warning(
            span_of(raw_client),
            "product",
            "the client has no [[product]]: nothing can run for it",
        );
    }
    let mut seen_gtins: BTreeMap<String, usize> = BTreeMap::new();
    let mut products = Vec::new();
    for (i, p) in raw.product.iter().enumerate() {
        let field = format!("product[{}]", i + 1);
        if let Some(product) = validate_product(p.get_ref(), span_of(p), &field, &client_id, loc) {
            if let Some(first) = seen_gtins.insert(product.gtin.to_string(), i + 1) {
                let span = p
                    .get_ref()
                    .gtin
                    .as_ref()
                    .map_or_else(|| span_of(p), span_of);
                loc.error(
                    span,
                    &format!("{field}.gtin"),
                    format!(
                        "GTIN {} is already defined by product[{first}]",
                        product.gtin
                    ),
                );
            }
            products.push(product);
        }
    }
    if let Some(client) = &client {
        check_serialbox_pools(&client.serial_source, &products, raw_client, loc);
    }
    let all_products_valid = products.len() == raw.product.len();
    match client {
        Some(client) if all_products_valid => Some(ClientConfig { client, products }),
        _ => None,
    }
}

fn required<'a, T>(
    value: &'a Option<Spanned<T>>,
    table_span: Range<usize>,
    field: &str,
    loc: &mut Locator<'_>,
) -> Option<&'a Spanned<T>> {
    if value.is_none() {
        loc.error(
            table_span,
            field,
            format!(
                "missing: add `{}`",
                field.rsplit('.').next().unwrap_or(field)
            ),
        );
    }
    value.as_ref()
}

/// A name an operator reads back (client and product names): not empty, at most
/// [`MAX_NAME_CHARS`] characters, and plain text (no control or bidirectional
/// characters, see [`crate::config::text`]).
fn operator_text(value: &Spanned<String>, field: &str, loc: &mut Locator<'_>) -> Option<String> {
    let raw = value.get_ref();
    let text = raw.trim();
    if text.is_empty() {
        loc.error(span_of(value), field, "must not be empty");
        return None;
    }
    let mut ok = true;
    let chars = raw.chars().count();
    if chars > MAX_NAME_CHARS {
        ok = false;
        loc.error(
            span_of(value),
            field,
            format!(
                "is {chars} characters long; a name may have at most {MAX_NAME_CHARS} characters: shorten it"
            ),
        );
    }
    if let Some((position, c)) = first_unsafe_char(raw) {
        ok = false;
        loc.error(
            span_of(value),
            field,
            format!(
                "contains the character {} at character {position} of the name: {}; remove it and write the name as plain text",
                describe_char(c),
                why_unsafe(c)
            ),
        );
    }
    ok.then(|| text.to_string())
}

/// A URL or path the station shows in messages: refused if it contains a control or
/// bidirectional character (see [`crate::config::text`]).
fn plain_value(value: &Spanned<String>, field: &str, what: &str, loc: &mut Locator<'_>) -> bool {
    match first_unsafe_char(value.get_ref()) {
        None => true,
        Some((position, c)) => {
            loc.error(
                span_of(value),
                field,
                format!(
                    "contains the character {} at character {position}: {}; a {what} has none, so remove it",
                    describe_char(c),
                    why_unsafe(c)
                ),
            );
            false
        }
    }
}

fn validate_client(raw: &Spanned<RawClient>, loc: &mut Locator<'_>) -> Option<Client> {
    let span = span_of(raw);
    let c = raw.get_ref();
    let id = required(&c.id, span.clone(), "client.id", loc).and_then(|id| {
        let text = id.get_ref();
        let ok = !text.is_empty()
            && text.len() <= 32
            && text.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
            && text.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric());
        if !ok {
            loc.error(span_of(id), "client.id", format!(
                "{text:?} is not a valid client id: use 1 to 32 lower-case letters, digits, '-' or '_', starting with a letter or digit"
            ));
        }
        ok.then(|| text.clone())
    });
    let name = required(&c.name, span.clone(), "client.name", loc)
        .and_then(|n| operator_text(n, "client.name", loc));
    let serial_source = required(&c.serial_source, span.clone(), "client.serial_source", loc)
        .and_then(|s| validate_serial_source(s, loc));
    let upload =
        required(&c.upload, span, "client.upload", loc).and_then(|u| validate_upload(u, loc));
    Some(Client {
        id: id?,
        name: name?,
        serial_source: serial_source?,
        upload: upload?,
    })
}

fn validate_serial_source(
    raw: &Spanned<RawSerialSource>,
    loc: &mut Locator<'_>,
) -> Option<SerialSource> {
    let field = "client.serial_source";
    let s = raw.get_ref();
    let kind = required(&s.kind, span_of(raw), &format!("{field}.kind"), loc)?;
    let kind_name = kind.get_ref().as_str();
    if !["local", "site_server", "serialbox"].contains(&kind_name) {
        loc.error(
            span_of(kind),
            &format!("{field}.kind"),
            format!(
                "{kind_name:?} is not a serial source: use \"local\", \"site_server\" or \"serialbox\""
            ),
        );
        return None;
    }
    if let Some(token) = &s.token {
        loc.error(
            span_of(token),
            &format!("{field}.token"),
            "tokens never go in configuration files: put it in an environment variable named by token_env, or in a secrets file named by token_file",
        );
    }
    // Fields that only some kinds take.
    const REMOTE: &[&str] = &["site_server", "serialbox"];
    const SERIALBOX: &[&str] = &["serialbox"];
    let fields = [
        ("url", s.url.as_ref().map(span_of), REMOTE),
        ("pool", s.pool.as_ref().map(span_of), SERIALBOX),
        ("pools", s.pools.as_ref().map(span_of), SERIALBOX),
        ("token_env", s.token_env.as_ref().map(span_of), REMOTE),
        ("token_file", s.token_file.as_ref().map(span_of), REMOTE),
        (
            "replenish_count",
            s.replenish_count.as_ref().map(span_of),
            REMOTE,
        ),
        (
            "allow_plain_http",
            s.allow_plain_http.as_ref().map(span_of),
            REMOTE,
        ),
    ];
    let mut ok = s.token.is_none();
    for (name, span, kinds) in fields {
        if let Some(span) = span
            && !kinds.contains(&kind_name)
        {
            ok = false;
            let takes = kinds
                .iter()
                .map(|k| format!("\"{k}\""))
                .collect::<Vec<_>>()
                .join(" or ");
            loc.error(
                span,
                &format!("{field}.{name}"),
                format!(
                    "a {kind_name} serial source has no {name}: remove it, or use kind = {takes}"
                ),
            );
        }
    }
    if !ok {
        return None;
    }
    if kind_name == "local" {
        return Some(SerialSource::Local);
    }
    let allow_plain_http = s.allow_plain_http.as_ref().is_some_and(|a| *a.get_ref());
    let url = required(&s.url, span_of(raw), &format!("{field}.url"), loc)
        .and_then(|url| validate_source_url(url, allow_plain_http, &format!("{field}.url"), loc));
    let secret = validate_secret(s, field, loc);
    let replenish_count = match &s.replenish_count {
        None => Some(DEFAULT_REPLENISH_COUNT),
        Some(n) => {
            let v = u64::try_from(*n.get_ref())
                .ok()
                .filter(|v| (1..=MAX_REPLENISH_COUNT).contains(v));
            if v.is_none() {
                loc.error(
                    span_of(n),
                    &format!("{field}.replenish_count"),
                    format!(
                        "{} is out of range: use 1 to {MAX_REPLENISH_COUNT} serials per request",
                        n.get_ref()
                    ),
                );
            }
            v
        }
    };
    if kind_name == "site_server" {
        return Some(SerialSource::SiteServer {
            url: url?,
            secret: secret?,
            replenish_count: replenish_count?,
            allow_plain_http,
        });
    }
    // SerialBox: pool machine names, one for all GTINs and/or one per GTIN.
    let pool = match &s.pool {
        None => Some(None),
        Some(p) => check_pool_name(p, &format!("{field}.pool"), loc).map(Some),
    };
    let mut pools = Some(BTreeMap::new());
    if let Some(table) = &s.pools {
        for (gtin, name) in table.get_ref() {
            let key_field = format!("{field}.pools.{gtin}");
            let gtin_ok = match Gtin::parse(gtin) {
                Ok(parsed) if parsed.as_str() == gtin => true,
                Ok(_) | Err(_) => {
                    loc.error(
                        span_of(name),
                        &key_field,
                        format!("{gtin:?} is not a GTIN: write the 14-digit GTIN of a product"),
                    );
                    false
                }
            };
            let name = check_pool_name(name, &key_field, loc);
            match (gtin_ok, name, pools.as_mut()) {
                (true, Some(name), Some(map)) => {
                    map.insert(gtin.clone(), name);
                }
                _ => pools = None,
            }
        }
    }
    if s.pool.is_none() && s.pools.as_ref().is_none_or(|p| p.get_ref().is_empty()) {
        loc.error(
            span_of(raw),
            &format!("{field}.pool"),
            "a serialbox serial source needs the pool machine name: add pool = \"...\" (every GTIN) or pools = { \"<GTIN>\" = \"...\" }",
        );
        return None;
    }
    if matches!(secret, Some(None)) {
        loc.warning(
            span_of(raw),
            field,
            "SerialBox answers only authenticated requests: add token_env or token_file",
        );
    }
    Some(SerialSource::Serialbox {
        url: url?,
        pool: pool?,
        pools: pools?,
        secret: secret?,
        replenish_count: replenish_count?,
        allow_plain_http,
    })
}

/// A SerialBox source must name a pool for every product; a pool named for a GTIN
/// that is not among the products is probably a typo.
fn check_serialbox_pools(
    source: &SerialSource,
    products: &[Product],
    raw_client: &Spanned<RawClient>,
    loc: &mut Locator<'_>,
) {
    let SerialSource::Serialbox { pool, pools, .. } = source else {
        return;
    };
    let span = raw_client
        .get_ref()
        .serial_source
        .as_ref()
        .map_or_else(|| span_of(raw_client), span_of);
    let field = "client.serial_source.pools";
    for product in products {
        if pool.is_none() && !pools.contains_key(product.gtin.as_str()) {
            loc.error(
                span.clone(),
                field,
                format!(
                    "no SerialBox pool for GTIN {}: add \"{}\" = \"<pool machine name>\" to pools, or a pool for every GTIN",
                    product.gtin, product.gtin
                ),
            );
        }
    }
    for gtin in pools.keys() {
        if !products.iter().any(|p| p.gtin.as_str() == gtin) {
            loc.warning(
                span.clone(),
                field,
                format!("GTIN {gtin} has a SerialBox pool but is not a product of this file"),
            );
        }
    }
}

/// A SerialBox pool machine name: 1 to 100 letters, digits, `_` or `-`.
fn check_pool_name(name: &Spanned<String>, field: &str, loc: &mut Locator<'_>) -> Option<String> {
    let text = name.get_ref();
    let ok = (1..=100).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !ok {
        loc.error(
            span_of(name),
            field,
            format!("{text:?} is not a SerialBox pool machine name: use 1 to 100 letters, digits, '_' or '-'"),
        );
    }
    ok.then(|| text.clone())
}

/// `token_env` or `token_file` (not both); `Some(None)` when neither is given.
fn validate_secret(
    s: &RawSerialSource,
    field: &str,
    loc: &mut Locator<'_>,
) -> Option<Option<SecretSource>> {
    match (&s.token_env, &s.token_file) {
        (None, None) => Some(None),
        (Some(_), Some(file)) => {
            loc.error(
                span_of(file),
                &format!("{field}.token_file"),
                "give either token_env or token_file, not both",
            );
            None
        }
        (Some(name), None) => {
            let text = name.get_ref();
            let ok = text
                .bytes()
                .next()
                .is_some_and(|b| b.is_ascii_uppercase() || b == b'_')
                && text
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
            if !ok {
                loc.error(
                    span_of(name),
                    &format!("{field}.token_env"),
                    format!("{text:?} is not an environment variable name: use upper-case letters, digits and '_'"),
                );
            }
            ok.then(|| Some(SecretSource::Env(text.clone())))
        }
        (None, Some(file)) => {
            if !plain_value(file, &format!("{field}.token_file"), "file path", loc) {
                return None;
            }
            let path = std::path::Path::new(file.get_ref());
            if !path.is_absolute() {
                loc.error(
                    span_of(file),
                    &format!("{field}.token_file"),
                    format!(
                        "{:?} is not an absolute path: the station may run from another directory, so name the secrets file from the root",
                        file.get_ref()
                    ),
                );
                return None;
            }
            Some(Some(SecretSource::File(path.to_path_buf())))
        }
    }
}

/// An `http://` or `https://` URL with a host; plain HTTP only to loopback unless
/// `allow_plain_http` (then a warning).
fn validate_source_url(
    url: &Spanned<String>,
    allow_plain_http: bool,
    field: &str,
    loc: &mut Locator<'_>,
) -> Option<String> {
    if !plain_value(url, field, "URL", loc) {
        return None;
    }
    let text = url.get_ref().trim();
    let rest = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"));
    let host = rest.map(|r| r.split(['/', '?', '#']).next().unwrap_or(""));
    let Some(host) = host.filter(|h| !h.is_empty() && !text.contains(char::is_whitespace)) else {
        loc.error(
            span_of(url),
            field,
            format!("{text:?} is not an http:// or https:// URL with a host"),
        );
        return None;
    };
    if host.contains('@') {
        loc.error(
            span_of(url),
            field,
            "the URL carries credentials: put the secret in the environment variable or secrets file the configuration names instead",
        );
        return None;
    }
    let hostname = host.rsplit_once(':').map_or(host, |(h, port)| {
        if port.bytes().all(|b| b.is_ascii_digit()) {
            h
        } else {
            host
        }
    });
    let loopback = hostname.eq_ignore_ascii_case("localhost")
        || hostname == "[::1]"
        || hostname
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback());
    if text.starts_with("http://") && !loopback {
        if !allow_plain_http {
            loc.error(
                span_of(url),
                field,
                format!("{text} is plain HTTP to a host that is not loopback: use https://, or set allow_plain_http = true if this network is trusted"),
            );
            return None;
        }
        loc.warning(
            span_of(url),
            field,
            format!("{text} is not encrypted: use https:// for a real site server"),
        );
    }
    Some(text.to_string())
}

fn validate_upload(raw: &Spanned<RawUpload>, loc: &mut Locator<'_>) -> Option<UploadTarget> {
    let field = "client.upload";
    let u = raw.get_ref();
    if let Some(token) = &u.token {
        loc.error(span_of(token), &format!("{field}.token"), "tokens never go in configuration files: put it in an environment variable named by token_env, or in a file named by secrets_file");
    }
    let format = required(&u.format, span_of(raw), &format!("{field}.format"), loc).and_then(|f| {
        let parsed = EpcisFormat::from_name(f.get_ref());
        if parsed.is_none() {
            loc.error(
                span_of(f),
                &format!("{field}.format"),
                format!(
                    "{:?} is not a known format: use one of {}",
                    f.get_ref(),
                    EpcisFormat::NAMES.join(", ")
                ),
            );
        }
        parsed
    });
    let allow_plain_http = u.allow_plain_http.as_ref().is_some_and(|a| *a.get_ref());
    let url = required(&u.url, span_of(raw), &format!("{field}.url"), loc)
        .and_then(|url| validate_upload_url(url, allow_plain_http, &format!("{field}.url"), loc));
    let protocol = match &u.protocol {
        None => Some(None),
        Some(p) => {
            let parsed = UploadProtocol::from_name(p.get_ref());
            if parsed.is_none() {
                loc.error(
                    span_of(p),
                    &format!("{field}.protocol"),
                    format!(
                        "{:?} is not a capture protocol: use one of {}",
                        p.get_ref(),
                        UploadProtocol::NAMES.join(", ")
                    ),
                );
            }
            parsed.map(Some)
        }
    };
    if let (Some(EpcisFormat::Epcis2JsonLd), Some(Some(UploadProtocol::Epcis12))) =
        (format, protocol)
        && let Some(p) = &u.protocol
    {
        loc.error(
            span_of(p),
            &format!("{field}.protocol"),
            "an EPCIS 1.2 endpoint takes EPCIS 1.2 XML: set format = \"epcis1.2-xml\", or protocol = \"epcis2-capture\"",
        );
    }
    let token_env = match &u.token_env {
        None => Some(None),
        Some(name) => {
            let text = name.get_ref();
            let ok = text
                .bytes()
                .next()
                .is_some_and(|b| b.is_ascii_uppercase() || b == b'_')
                && text
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
            if !ok {
                loc.error(span_of(name), &format!("{field}.token_env"), format!("{text:?} is not an environment variable name: use upper-case letters, digits and '_'"));
            }
            ok.then(|| Some(text.clone()))
        }
    };
    let secrets_file = match &u.secrets_file {
        None => Some(None),
        Some(path) => {
            existing_absolute_file(path, &format!("{field}.secrets_file"), "secrets file", loc)
                .map(Some)
        }
    };
    let ca_file = match &u.ca_file {
        None => Some(None),
        Some(path) => {
            existing_absolute_file(path, &format!("{field}.ca_file"), "CA file", loc).map(Some)
        }
    };
    let auth = validate_upload_auth(u, field, loc);
    let numbers = [
        (
            "max_events_per_document",
            &u.max_events_per_document,
            1,
            1_000_000,
            i64::from(DEFAULT_MAX_EVENTS_PER_DOCUMENT),
        ),
        (
            "max_epcs_per_event",
            &u.max_epcs_per_event,
            1,
            1_000_000,
            i64::from(DEFAULT_MAX_EPCS_PER_EVENT),
        ),
        (
            "max_document_bytes",
            &u.max_document_bytes,
            4096,
            1 << 32,
            DEFAULT_MAX_DOCUMENT_BYTES as i64,
        ),
        (
            "timeout_s",
            &u.timeout_s,
            1,
            3600,
            i64::from(DEFAULT_UPLOAD_TIMEOUT_S),
        ),
        (
            "flush_after_s",
            &u.flush_after_s,
            0,
            86_400,
            i64::from(DEFAULT_FLUSH_AFTER_S),
        ),
    ]
    .map(|(name, value, min, max, default)| match value {
        None => Some(default),
        Some(n) => {
            let v = *n.get_ref();
            if !(min..=max).contains(&v) {
                loc.error(
                    span_of(n),
                    &format!("{field}.{name}"),
                    format!("{v} is out of range: use {min} to {max}"),
                );
                return None;
            }
            Some(v)
        }
    });
    let read_point = validate_location(
        &u.read_point,
        span_of(raw),
        &format!("{field}.read_point"),
        loc,
    );
    let biz_location = validate_location(
        &u.biz_location,
        span_of(raw),
        &format!("{field}.biz_location"),
        loc,
    );
    let used_up = match &u.used_up {
        None => Some(UsedUpReport::default()),
        Some(name) => {
            let parsed = UsedUpReport::from_name(name.get_ref());
            if parsed.is_none() {
                let hint = if name.get_ref() == "return-call" {
                    "the uploader does not make the site server's return call; report used-up serials as events"
                } else {
                    "not a way of reporting used-up serials"
                };
                loc.error(
                    span_of(name),
                    &format!("{field}.used_up"),
                    format!(
                        "{:?}: {hint}: use one of {}",
                        name.get_ref(),
                        UsedUpReport::NAMES.join(", ")
                    ),
                );
            }
            parsed
        }
    };
    if u.token.is_some() {
        return None;
    }
    let [max_events, max_epcs, max_bytes, timeout_s, flush_after_s] = numbers;
    Some(UploadTarget {
        format: format?,
        url: url?,
        token_env: token_env?,
        max_events_per_document: u32::try_from(max_events?).ok()?,
        protocol: protocol?,
        auth: auth?,
        secrets_file: secrets_file?,
        allow_plain_http,
        ca_file: ca_file?,
        timeout_s: u32::try_from(timeout_s?).ok()?,
        read_point: read_point?,
        biz_location: biz_location?,
        max_epcs_per_event: u32::try_from(max_epcs?).ok()?,
        max_document_bytes: u64::try_from(max_bytes?).ok()?,
        used_up: used_up?,
        flush_after_s: u32::try_from(flush_after_s?).ok()?,
    })
}

/// The capture URL: `http://` or `https://` with a host and no credentials (a query
/// is kept: some site servers take their options there); plain HTTP only to
/// loopback unless `allow_plain_http` (then a warning).
fn validate_upload_url(
    url: &Spanned<String>,
    allow_plain_http: bool,
    field: &str,
    loc: &mut Locator<'_>,
) -> Option<String> {
    if !plain_value(url, field, "URL", loc) {
        return None;
    }
    let text = url.get_ref().trim();
    let rest = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"));
    let host = rest.map(|r| r.split(['/', '?', '#']).next().unwrap_or(""));
    let Some(host) = host.filter(|h| !h.is_empty() && !text.contains(char::is_whitespace)) else {
        loc.error(
            span_of(url),
            field,
            format!("{text:?} is not an http:// or https:// URL with a host"),
        );
        return None;
    };
    if host.contains('@') {
        loc.error(
            span_of(url),
            field,
            "the URL carries credentials: put them in the file named by secrets_file or the variable named by token_env instead",
        );
        return None;
    }
    let hostname = match host.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    };
    let loopback = hostname.eq_ignore_ascii_case("localhost")
        || hostname == "[::1]"
        || hostname
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback());
    if text.starts_with("http://") && !loopback {
        if !allow_plain_http {
            loc.error(
                span_of(url),
                field,
                format!("{text} is plain HTTP to a host that is not loopback: use https://, or set allow_plain_http = true if this network is trusted"),
            );
            return None;
        }
        loc.warning(
            span_of(url),
            field,
            format!("{text} is not encrypted: use https:// for a real site server"),
        );
    }
    Some(text.to_string())
}

/// `auth` against the secret sources: `none` takes no secret, the others exactly one
/// of `token_env` and `secrets_file`. Without `auth`, a named secret means bearer.
fn validate_upload_auth(
    u: &RawUpload,
    field: &str,
    loc: &mut Locator<'_>,
) -> Option<Option<UploadAuth>> {
    let auth = match &u.auth {
        None => None,
        Some(name) => match UploadAuth::from_name(name.get_ref()) {
            Some(auth) => Some(auth),
            None => {
                loc.error(
                    span_of(name),
                    &format!("{field}.auth"),
                    format!(
                        "{:?} is not a kind of authentication: use one of {}",
                        name.get_ref(),
                        UploadAuth::NAMES.join(", ")
                    ),
                );
                return None;
            }
        },
    };
    match (&u.token_env, &u.secrets_file) {
        (Some(_), Some(file)) => {
            loc.error(
                span_of(file),
                &format!("{field}.secrets_file"),
                "give either token_env or secrets_file, not both",
            );
            return None;
        }
        (Some(_), None) | (None, Some(_)) if auth == Some(UploadAuth::None) => {
            let span = u.auth.as_ref().map(span_of).unwrap_or_default();
            loc.error(
                span,
                &format!("{field}.auth"),
                "auth = \"none\" sends no credentials: remove token_env / secrets_file, or use bearer, basic or token",
            );
            return None;
        }
        (None, None) if auth.is_some_and(|a| a != UploadAuth::None) => {
            let span = u.auth.as_ref().map(span_of).unwrap_or_default();
            loc.error(
                span,
                &format!("{field}.auth"),
                "this authentication needs a secret: name its environment variable in token_env, or its file in secrets_file",
            );
            return None;
        }
        _ => {}
    }
    Some(auth)
}

/// An absolute path to a file that exists (its content is read only at run time).
fn existing_absolute_file(
    path: &Spanned<String>,
    field: &str,
    what: &str,
    loc: &mut Locator<'_>,
) -> Option<std::path::PathBuf> {
    if !plain_value(path, field, "file path", loc) {
        return None;
    }
    let text = path.get_ref();
    let p = std::path::Path::new(text);
    if !p.is_absolute() {
        loc.error(
            span_of(path),
            field,
            format!("{text:?} is not an absolute path: the station may run from another directory, so name the {what} from the root"),
        );
        return None;
    }
    if !p.is_file() {
        loc.error(
            span_of(path),
            field,
            format!(
                "the {what} {text} does not exist or is not a file: create it, or correct the path"
            ),
        );
        return None;
    }
    Some(p.to_path_buf())
}

/// A read point or business location as an SGLN EPC URI. Missing is allowed (a
/// warning): events cannot be reported until it is set.
fn validate_location(
    raw: &Option<Spanned<RawLocation>>,
    table_span: Range<usize>,
    field: &str,
    loc: &mut Locator<'_>,
) -> Option<Option<String>> {
    let Some(value) = raw else {
        loc.warning(
            table_span,
            field,
            "missing: the station cannot report events to the site server until it is set (an SGLN such as \"urn:epc:id:sgln:9506000.00001.0\")",
        );
        return Some(None);
    };
    let uri = match value.get_ref() {
        RawLocation::Uri(uri) => crate::gs1::epc::parse_sgln_uri(uri)
            .map(|_| uri.clone())
            .map_err(|e| format!("{uri:?} is not an SGLN EPC URI ({e}); write e.g. \"urn:epc:id:sgln:9506000.00001.0\", or {{ gln = \"...\", company_prefix_length = 7 }}")),
        RawLocation::Gln {
            gln,
            company_prefix_length,
            extension,
        } => crate::gs1::key::Gln::parse(gln)
            .map_err(|e| format!("{gln:?} is not a GLN: {e}"))
            .and_then(|g| {
                let len = usize::try_from(*company_prefix_length).unwrap_or(0);
                crate::gs1::epc::sgln_uri(&g, len, extension.as_deref())
                    .map_err(|e| format!("cannot make an SGLN of GLN {gln}: {e}"))
            }),
    };
    match uri {
        Ok(uri) => Some(Some(uri)),
        Err(message) => {
            loc.error(span_of(value), field, message);
            None
        }
    }
}

/// PZN8 (AI 710): 8 digits; the 8th is the sum of digit i times i (i = 1..7) mod 11,
/// and a remainder of 10 is never issued.
fn pzn_problem(value: &str) -> Option<String> {
    if value.len() != 8 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Some(format!("{value:?} is not a PZN: a PZN has 8 digits"));
    }
    let digits: Vec<u32> = value.bytes().map(|b| u32::from(b - b'0')).collect();
    let sum: u32 = digits[..7].iter().zip(1..).map(|(d, w)| d * w).sum();
    let check = sum % 11;
    (check == 10 || check != digits[7])
        .then(|| format!("{value:?} is not a valid PZN: its check digit is wrong"))
}

fn validate_product(
    p: &RawProduct,
    span: Range<usize>,
    field: &str,
    client_id: &str,
    loc: &mut Locator<'_>,
) -> Option<Product> {
    let f = |name: &str| format!("{field}.{name}");
    let gtin = required(&p.gtin, span.clone(), &f("gtin"), loc).and_then(|g| {
        match Gtin::parse(g.get_ref()) {
            Ok(gtin) => Some(gtin),
            Err(e) => {
                loc.error(
                    span_of(g),
                    &f("gtin"),
                    format!("{:?} is not a valid GTIN: {e}", g.get_ref()),
                );
                None
            }
        }
    });
    let name = required(&p.name, span.clone(), &f("name"), loc)
        .and_then(|n| operator_text(n, &f("name"), loc));
    let gcp_len = required(
        &p.company_prefix_length,
        span.clone(),
        &f("company_prefix_length"),
        loc,
    )
    .and_then(|n| {
        let v = u8::try_from(*n.get_ref())
            .ok()
            .filter(|v| (6..=12).contains(v));
        if v.is_none() {
            loc.error(
                span_of(n),
                &f("company_prefix_length"),
                format!(
                    "{} is out of range: a GS1 Company Prefix has 6 to 12 digits",
                    n.get_ref()
                ),
            );
        }
        if let (Some(len), Some(gtin)) = (v, &gtin)
            && let Err(e) = crate::gs1::epc::sgtin_uri(gtin, usize::from(len), "1")
        {
            loc.error(
                span_of(n),
                &f("company_prefix_length"),
                format!("does not fit GTIN {gtin}: {e}"),
            );
            return None;
        }
        v
    });
    let markets = required(&p.markets, span.clone(), &f("markets"), loc)
        .and_then(|m| validate_markets(m, &f("markets"), loc));
    let template =
        required(&p.code_template, span.clone(), &f("code_template"), loc).and_then(|t| {
            validate_template(
                t,
                markets.as_deref().unwrap_or(&[]),
                &f("code_template"),
                loc,
            )
        });
    let nhrn = validate_nhrn(
        p,
        span.clone(),
        gtin.as_ref(),
        template.as_deref(),
        markets.as_deref(),
        field,
        loc,
    );
    let min_grade = required(&p.min_grade, span.clone(), &f("min_grade"), loc).and_then(|g| {
        let v = *g.get_ref();
        if !(0.0..=4.0).contains(&v) {
            loc.error(
                span_of(g),
                &f("min_grade"),
                format!("{v} is out of range: an ISO/IEC 15415 grade is 0.0 to 4.0"),
            );
            return None;
        }
        if v < HEALTHCARE_MIN_GRADE {
            loc.warning(
                span_of(g),
                &f("min_grade"),
                format!("{v} is below {HEALTHCARE_MIN_GRADE}, the GS1 healthcare minimum grade"),
            );
        }
        Some(v)
    });
    let low_water = required(&p.low_water_mark, span.clone(), &f("low_water_mark"), loc).and_then(|n| {
        let v = u64::try_from(*n.get_ref()).ok();
        if v.is_none() {
            loc.error(span_of(n), &f("low_water_mark"), format!("{} is negative: give the number of unallocated serials below which to warn", n.get_ref()));
        }
        v
    });
    let reject_limit = required(
        &p.consecutive_reject_limit,
        span,
        &f("consecutive_reject_limit"),
        loc,
    )
    .and_then(|n| {
        let v = u32::try_from(*n.get_ref())
            .ok()
            .filter(|v| (1..=1000).contains(v));
        if v.is_none() {
            loc.error(
                span_of(n),
                &f("consecutive_reject_limit"),
                format!("{} is out of range: use 1 to 1000", n.get_ref()),
            );
        }
        v
    });
    Some(Product {
        gtin: gtin?,
        client_id: client_id.to_string(),
        name: name?,
        company_prefix_length: gcp_len?,
        markets: markets?,
        code_template: template?,
        nhrn: nhrn?,
        min_grade: min_grade?,
        low_water_mark: low_water?,
        consecutive_reject_limit: reject_limit?,
    })
}

fn validate_markets(
    raw: &Spanned<Vec<Spanned<String>>>,
    field: &str,
    loc: &mut Locator<'_>,
) -> Option<Vec<String>> {
    if raw.get_ref().is_empty() {
        loc.error(
            span_of(raw),
            field,
            "name at least one market, e.g. [\"DE\"]",
        );
        return None;
    }
    let mut seen = BTreeSet::new();
    let mut ok = true;
    for m in raw.get_ref() {
        let code = m.get_ref();
        if markets::regime(code).is_none() {
            ok = false;
            let upper = code.to_ascii_uppercase();
            let hint = if markets::regime(&upper).is_some() {
                format!("market codes are upper case: {upper:?}")
            } else {
                format!("known markets are {}", markets::known_markets().join(", "))
            };
            loc.error(
                span_of(m),
                field,
                format!("{code:?} is not a known market: {hint}"),
            );
        } else if !seen.insert(code.clone()) {
            ok = false;
            loc.error(span_of(m), field, format!("{code:?} is listed twice"));
        }
    }
    ok.then(|| raw.get_ref().iter().map(|m| m.get_ref().clone()).collect())
}

fn validate_template(
    raw: &Spanned<Vec<Spanned<String>>>,
    markets: &[String],
    field: &str,
    loc: &mut Locator<'_>,
) -> Option<Vec<TemplateAi>> {
    let mut template = Vec::new();
    let mut ok = true;
    for entry in raw.get_ref() {
        let ai = entry.get_ref();
        match TemplateAi::from_ai(ai) {
            Some(t) if template.contains(&t) => {
                ok = false;
                loc.error(span_of(entry), field, format!("AI {ai} is listed twice"));
            }
            Some(t) => template.push(t),
            None => {
                ok = false;
                loc.error(
                    span_of(entry),
                    field,
                    format!(
                        "AI {ai:?} is not one the station can fill: the code template may use {}",
                        TemplateAi::SUPPORTED
                    ),
                );
            }
        }
    }
    let has = |ai: &str| raw.get_ref().iter().any(|e| e.get_ref() == ai);
    for required_ai in ["01", "21"] {
        if !has(required_ai) {
            ok = false;
            loc.error(
                span_of(raw),
                field,
                format!("the code template must contain AI {required_ai}"),
            );
        }
    }
    let mut regimes: Vec<(Regime, &str)> = Vec::new();
    for m in markets {
        if let Some(r) = markets::regime(m).filter(|r| !regimes.iter().any(|(seen, _)| seen == r)) {
            regimes.push((r, m.as_str()));
        }
    }
    for (regime, market) in regimes {
        for ai in regime.required_ais() {
            if !has(ai) && !["01", "21"].contains(ai) {
                ok = false;
                loc.error(
                    span_of(raw),
                    field,
                    format!(
                        "market {market} ({}) requires AI {ai} in the code template",
                        regime.name()
                    ),
                );
            }
        }
    }
    if ok && template.first() != Some(&TemplateAi::Gtin) {
        loc.warning(
            span_of(raw),
            field,
            "AI 01 is usually printed first; check the order the artwork expects",
        );
    }
    ok.then_some(template)
}

fn validate_nhrn(
    p: &RawProduct,
    product_span: Range<usize>,
    gtin: Option<&Gtin>,
    template: Option<&[TemplateAi]>,
    markets: Option<&[String]>,
    field: &str,
    loc: &mut Locator<'_>,
) -> Option<BTreeMap<String, String>> {
    let f = format!("{field}.nhrn");
    let mut ok = true;
    let mut values = BTreeMap::new();
    for (ai, value) in &p.nhrn {
        let key_field = format!("{f}.{ai}");
        let in_template = template.is_some_and(|t| t.iter().any(|x| x.ai() == *ai));
        if !matches!(TemplateAi::from_ai(ai), Some(TemplateAi::Nhrn(_))) {
            ok = false;
            loc.error(
                span_of(value),
                &key_field,
                format!("{ai:?} is not an NHRN AI: use 710 to 717"),
            );
            continue;
        }
        if template.is_some() && !in_template {
            ok = false;
            loc.error(span_of(value), &key_field, format!("AI {ai} has a value but is not in the code template: add it to code_template or remove the value"));
        }
        let text = value.get_ref();
        if let Some(gtin) = gtin
            && let Err(e) =
                ElementString::from_pairs([("01", gtin.as_str()), (ai.as_str(), text.as_str())])
        {
            ok = false;
            loc.error(
                span_of(value),
                &key_field,
                format!("{text:?} is not a valid value for AI {ai}: {e}"),
            );
            continue;
        }
        if ai == "710"
            && let Some(problem) = pzn_problem(text)
        {
            ok = false;
            loc.error(span_of(value), &key_field, problem);
            continue;
        }
        if let (Some((country, scheme)), Some(markets)) = (markets::nhrn_market(ai), markets)
            && !markets.iter().any(|m| m == country)
        {
            loc.warning(
                span_of(value),
                &key_field,
                format!(
                    "AI {ai} is the {scheme} of {country}, but {country} is not among the product's markets"
                ),
            );
        }
        values.insert(ai.clone(), text.clone());
    }
    for t in template.unwrap_or(&[]) {
        if let TemplateAi::Nhrn(_) = t
            && !p.nhrn.contains_key(&t.ai())
        {
            ok = false;
            let span = p
                .code_template
                .as_ref()
                .map_or(product_span.clone(), span_of);
            loc.error(
                span,
                &f,
                format!(
                    "AI {t} is in the code template but has no value: add nhrn = {{ {t} = \"...\" }}"
                ),
            );
        }
    }
    ok.then_some(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pzn_check_digit() {
        assert_eq!(pzn_problem("12345678"), None);
        assert!(pzn_problem("12345679").is_some());
        assert!(pzn_problem("1234567").is_some());
        assert!(pzn_problem("1234567a").is_some());
    }
}
