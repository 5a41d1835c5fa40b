//! The client's serial source (`client.serial_source`): its kind and the fields each
//! kind takes, the site server's or SerialBox's URL and secret, the request size, and
//! SerialBox's pool machine names, which must cover every product of the file.

use std::collections::BTreeMap;

use toml::Spanned;

use crate::config::located::Locator;
use crate::config::model::{
    DEFAULT_REPLENISH_COUNT, MAX_REPLENISH_COUNT, Product, SecretSource, SerialSource,
};
use crate::config::raw::{RawClient, RawSerialSource};
use crate::gs1::Gtin;

use super::fields::{plain_value, required, span_of};
use super::remote::{env_var_name, http_url};

/// `client.serial_source`: where the client's serials come from (`local`, a site
/// server, or SerialBox), with the fields each kind takes and no others.
pub(super) fn validate_serial_source(
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
    let url = required(&s.url, span_of(raw), &format!("{field}.url"), loc).and_then(|url| {
        http_url(
            url,
            allow_plain_http,
            &format!("{field}.url"),
            "the URL carries credentials: put the secret in the environment variable or secrets file the configuration names instead",
            loc,
        )
    });
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
pub(super) fn check_serialbox_pools(
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
pub(super) fn check_pool_name(
    name: &Spanned<String>,
    field: &str,
    loc: &mut Locator<'_>,
) -> Option<String> {
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
        (Some(name), None) => env_var_name(name, &format!("{field}.token_env"), loc)
            .map(|name| Some(SecretSource::Env(name))),
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
