//! Semantic checks of a client file: turns the file as written into the validated
//! model, recording every problem with its location. Pure logic (GS1 rules come from
//! the `gs1` crate, market rules from [`crate::config::markets`]).

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use toml::Spanned;

use crate::config::file::{Locator, RawClient, RawFile, RawProduct, RawSerialSource, RawUpload};
use crate::config::markets::{self, Regime};
use crate::config::model::{
    Client, ClientConfig, EpcisFormat, Product, SerialSource, TemplateAi, UploadTarget,
};
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

fn non_empty_text(value: &Spanned<String>, field: &str, loc: &mut Locator<'_>) -> Option<String> {
    let text = value.get_ref().trim();
    if text.is_empty() {
        loc.error(span_of(value), field, "must not be empty");
        return None;
    }
    Some(text.to_string())
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
        .and_then(|n| non_empty_text(n, "client.name", loc));
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

fn validate_url(url: &Spanned<String>, field: &str, loc: &mut Locator<'_>) -> Option<String> {
    let text = url.get_ref().trim();
    let rest = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"));
    let host = rest.map(|r| r.split(['/', '?', '#']).next().unwrap_or(""));
    match host {
        Some(host) if !host.is_empty() && !text.contains(char::is_whitespace) => {
            let loopback = ["127.", "localhost", "[::1]"]
                .iter()
                .any(|p| host.starts_with(p));
            if text.starts_with("http://") && !loopback {
                loc.warning(
                    span_of(url),
                    field,
                    format!("{text} is not encrypted: use https:// for a real site server"),
                );
            }
            Some(text.to_string())
        }
        _ => {
            loc.error(
                span_of(url),
                field,
                format!("{text:?} is not an http:// or https:// URL with a host"),
            );
            None
        }
    }
}

fn validate_serial_source(
    raw: &Spanned<RawSerialSource>,
    loc: &mut Locator<'_>,
) -> Option<SerialSource> {
    let field = "client.serial_source";
    let s = raw.get_ref();
    let kind = required(&s.kind, span_of(raw), &format!("{field}.kind"), loc)?;
    match kind.get_ref().as_str() {
        "local" => {
            if let Some(url) = &s.url {
                loc.error(
                    span_of(url),
                    &format!("{field}.url"),
                    "a local serial source has no url: remove it, or use kind = \"site_server\"",
                );
                return None;
            }
            Some(SerialSource::Local)
        }
        "site_server" => {
            let url = required(&s.url, span_of(raw), &format!("{field}.url"), loc)?;
            validate_url(url, &format!("{field}.url"), loc)
                .map(|url| SerialSource::SiteServer { url })
        }
        other => {
            loc.error(
                span_of(kind),
                &format!("{field}.kind"),
                format!("{other:?} is not a serial source: use \"local\" or \"site_server\""),
            );
            None
        }
    }
}

fn validate_upload(raw: &Spanned<RawUpload>, loc: &mut Locator<'_>) -> Option<UploadTarget> {
    let field = "client.upload";
    let u = raw.get_ref();
    if let Some(token) = &u.token {
        loc.error(span_of(token), &format!("{field}.token"), "tokens never go in configuration files: put it in an environment variable and name that variable in token_env");
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
    let url = required(&u.url, span_of(raw), &format!("{field}.url"), loc)
        .and_then(|url| validate_url(url, &format!("{field}.url"), loc));
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
    let max_events = match &u.max_events_per_document {
        None => Some(DEFAULT_MAX_EVENTS_PER_DOCUMENT),
        Some(n) => {
            let v = u32::try_from(*n.get_ref())
                .ok()
                .filter(|v| (1..=1_000_000).contains(v));
            if v.is_none() {
                loc.error(
                    span_of(n),
                    &format!("{field}.max_events_per_document"),
                    format!("{} is out of range: use 1 to 1000000", n.get_ref()),
                );
            }
            v
        }
    };
    if u.token.is_some() {
        return None;
    }
    Some(UploadTarget {
        format: format?,
        url: url?,
        token_env: token_env?,
        max_events_per_document: max_events?,
    })
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
        .and_then(|n| non_empty_text(n, &f("name"), loc));
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
