//! The client's upload target (`client.upload`): the EPCIS format and capture
//! endpoint, how the uploader authenticates and where its secret is, the CA file,
//! the size and time limits of documents, the read point and business location,
//! and how used-up serials are reported.

use std::ops::Range;

use toml::Spanned;

use crate::config::located::Locator;
use crate::config::model::{
    DEFAULT_FLUSH_AFTER_S, DEFAULT_MAX_DOCUMENT_BYTES, DEFAULT_MAX_EPCS_PER_EVENT,
    DEFAULT_UPLOAD_TIMEOUT_S, EpcisFormat, UploadAuth, UploadProtocol, UploadTarget, UsedUpReport,
};
use crate::config::raw::{RawLocation, RawUpload};

use super::fields::{plain_value, required, span_of};
use super::remote::{env_var_name, http_url};

/// Default for `client.upload.max_events_per_document`.
pub const DEFAULT_MAX_EVENTS_PER_DOCUMENT: u32 = 10_000;

/// `client.upload`: where and how the client's EPCIS documents go (format, capture
/// URL and protocol, authentication and its secret, TLS, limits, locations, and how
/// used-up serials are reported).
pub(super) fn validate_upload(
    raw: &Spanned<RawUpload>,
    loc: &mut Locator<'_>,
) -> Option<UploadTarget> {
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
    let url = required(&u.url, span_of(raw), &format!("{field}.url"), loc).and_then(|url| {
        http_url(
            url,
            allow_plain_http,
            &format!("{field}.url"),
            "the URL carries credentials: put them in the file named by secrets_file or the variable named by token_env instead",
            loc,
        )
    });
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
        Some(name) => env_var_name(name, &format!("{field}.token_env"), loc).map(Some),
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
