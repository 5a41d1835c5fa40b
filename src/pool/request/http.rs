//! The HTTP side of a serial request: the endpoint and credentials a client's serial
//! source describes, the HTTP client (`net::http_client`: rustls, no proxy, no
//! redirects), and one call returning the answer's status and text. Tokens are read
//! at call time through `net::Secret` from the environment or a secrets file and
//! never shown (not in `Debug`, not in messages).

use std::time::Duration;

use crate::config::{SecretSource, SerialSource, SsccSettings};
use crate::net::Secret;

/// Timeout of one request (connect, send, answer): large randomized allocations take
/// the server a while.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// Largest answer read (a million 20-character serials as JSON fit).
const MAX_ANSWER_BYTES: usize = 64 * 1024 * 1024;

/// Reads the serial source's token: one word, without spaces or control characters.
pub fn load_token(source: &SecretSource) -> Result<Secret, String> {
    let token = Secret::load(source, "the serial source's token")?;
    if token.expose().chars().any(|c| c.is_control() || c == ' ') {
        return Err(
            "the serial source's token holds spaces or control characters: store only the token"
                .to_string(),
        );
    }
    Ok(token)
}

/// One request to make, fully described.
#[derive(Debug, Clone)]
pub struct SerialCall {
    pub method: reqwest::Method,
    pub url: reqwest::Url,
    /// JSON body, for `POST`.
    pub body: Option<String>,
    /// `Authorization` header: `Bearer` for a site server, `Token` for SerialBox.
    pub auth: Option<(&'static str, Secret)>,
}

/// The answer: status and text.
#[derive(Debug, Clone)]
pub struct SerialAnswer {
    pub status: reqwest::StatusCode,
    pub body: String,
}

/// Checks a source URL: `https`, or plain `http` to loopback unless allowed; no
/// credentials inside it.
pub fn source_url(text: &str, allow_plain_http: bool) -> Result<reqwest::Url, String> {
    let url = reqwest::Url::parse(text).map_err(|e| format!("{text:?} is not a URL: {e}"))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(
            "the URL carries credentials: put the token in token_env or token_file instead"
                .to_string(),
        );
    }
    match url.scheme() {
        "https" => Ok(url),
        "http" if allow_plain_http || crate::net::is_loopback(&url) => Ok(url),
        "http" => Err(format!(
            "{text} is plain HTTP to a host that is not loopback: use https, or set allow_plain_http = true if this network is trusted"
        )),
        other => Err(format!("URL scheme {other:?} is not http or https")),
    }
}

/// The call that asks `source` for `count` serials of `gtin` (a SerialBox source
/// names the pool for that GTIN).
pub fn call_for(source: &SerialSource, gtin: &str, count: u64) -> Result<SerialCall, String> {
    let secret = |s: &Option<SecretSource>| s.as_ref().map(load_token).transpose();
    match source {
        SerialSource::Local => Err("the serial source is local".to_string()),
        SerialSource::SiteServer {
            url,
            secret: source_secret,
            allow_plain_http,
            ..
        } => {
            let base = source_url(url, *allow_plain_http)?;
            let url = join(&base, &["request"])?;
            Ok(SerialCall {
                method: reqwest::Method::POST,
                url,
                body: Some(serde_json::json!({ "gtin": gtin, "count": count }).to_string()),
                auth: secret(source_secret)?.map(|s| ("Bearer", s)),
            })
        }
        SerialSource::Serialbox {
            url,
            secret: source_secret,
            allow_plain_http,
            ..
        } => {
            let pool = source.serialbox_pool(gtin).ok_or_else(|| {
                format!(
                    "no SerialBox pool is configured for GTIN {gtin}: add it to the client's serial_source.pools"
                )
            })?;
            let base = source_url(url, *allow_plain_http)?;
            let mut url = join(
                &base,
                &["serialbox", "allocate", pool, &count.to_string(), ""],
            )?;
            url.set_query(Some("format=json"));
            Ok(SerialCall {
                method: reqwest::Method::GET,
                url,
                body: None,
                auth: secret(source_secret)?.map(|s| ("Token", s)),
            })
        }
    }
}

/// The call that asks `source` for `count` SSCCs under `sscc` (the client's SSCC
/// settings): the site server's `POST <url>/sscc/request`, or SerialBox's
/// allocation from the pool `sscc.serialbox_pool`, whose numbers are serial
/// references.
pub fn sscc_call_for(
    source: &SerialSource,
    sscc: &SsccSettings,
    count: u64,
) -> Result<SerialCall, String> {
    let secret = |s: &Option<SecretSource>| s.as_ref().map(load_token).transpose();
    match source {
        SerialSource::Local => Err(
            "the client's serial source is local: use `sscc generate` or `sscc import`".to_string(),
        ),
        SerialSource::SiteServer {
            url,
            secret: source_secret,
            allow_plain_http,
            ..
        } => {
            let base = source_url(url, *allow_plain_http)?;
            Ok(SerialCall {
                method: reqwest::Method::POST,
                url: join(&base, &["sscc", "request"])?,
                body: Some(
                    serde_json::json!({
                        "company_prefix": sscc.company_prefix,
                        "extension_digit": sscc.extension_digit,
                        "count": count,
                    })
                    .to_string(),
                ),
                auth: secret(source_secret)?.map(|s| ("Bearer", s)),
            })
        }
        SerialSource::Serialbox {
            url,
            secret: source_secret,
            allow_plain_http,
            ..
        } => {
            let pool = sscc.serialbox_pool.as_deref().ok_or_else(|| {
                "no SerialBox pool issues the client's SSCCs: add serialbox_pool = \"<pool machine name>\" to its [client.sscc] table and `config load` the file".to_string()
            })?;
            let base = source_url(url, *allow_plain_http)?;
            let mut url = join(
                &base,
                &["serialbox", "allocate", pool, &count.to_string(), ""],
            )?;
            url.set_query(Some("format=json"));
            Ok(SerialCall {
                method: reqwest::Method::GET,
                url,
                body: None,
                auth: secret(source_secret)?.map(|s| ("Token", s)),
            })
        }
    }
}

/// `base` with `segments` appended to its path.
fn join(base: &reqwest::Url, segments: &[&str]) -> Result<reqwest::Url, String> {
    let mut url = base.clone();
    url.path_segments_mut()
        .map_err(|()| format!("{base} cannot have a path"))?
        .pop_if_empty()
        .extend(segments);
    Ok(url)
}

/// The HTTP client for serial requests (`net::http_client`: no proxy, no
/// redirects, which could carry the token elsewhere), with `REQUEST_TIMEOUT`.
pub fn http_client() -> Result<reqwest::Client, String> {
    crate::net::http_client(Some(REQUEST_TIMEOUT), Vec::new())
        .map_err(|e| format!("cannot set up HTTPS: {e}"))
}

/// Makes the call; `Err` when no answer came (the message says why, without the token).
pub async fn send(http: &reqwest::Client, call: SerialCall) -> Result<SerialAnswer, String> {
    let mut request = http
        .request(call.method, call.url)
        .header(reqwest::header::ACCEPT, "application/json");
    if let Some(body) = call.body {
        request = request
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body);
    }
    if let Some((scheme, secret)) = &call.auth {
        request = request.header(
            reqwest::header::AUTHORIZATION,
            format!("{scheme} {}", secret.expose()),
        );
    }
    let mut response = request.send().await.map_err(|e| describe(&e))?;
    let status = response.status();
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| describe(&e))? {
        if body.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(format!(
                "the answer is larger than {} MiB",
                MAX_ANSWER_BYTES >> 20
            ));
        }
        body.extend_from_slice(&chunk);
    }
    let body = String::from_utf8(body).map_err(|_| "the answer is not UTF-8 text".to_string())?;
    Ok(SerialAnswer { status, body })
}

fn describe(e: &reqwest::Error) -> String {
    use std::error::Error;
    let mut text = if e.is_timeout() {
        "no answer in time".to_string()
    } else if e.is_connect() {
        "cannot connect".to_string()
    } else {
        "the exchange failed".to_string()
    };
    // The innermost cause says most (connection refused, certificate problem, …).
    let mut cause = e.source();
    let mut last = None;
    while let Some(c) = cause {
        last = Some(c.to_string());
        cause = c.source();
    }
    if let Some(last) = last {
        text.push_str(": ");
        text.push_str(&last);
    }
    text
}

/// The server's own words from an error answer: a problem's `detail` or `title`, or
/// the start of the text.
pub fn refusal_text(body: &str) -> String {
    let from_json = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            ["detail", "title", "error", "message"]
                .iter()
                .find_map(|k| v.get(k).and_then(|d| d.as_str()).map(str::to_string))
        });
    from_json.unwrap_or_else(|| super::answer::quote(body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn urls_of_each_source() {
        let site = SerialSource::SiteServer {
            url: "http://127.0.0.1:8081/serials".into(),
            secret: None,
            replenish_count: 10,
            allow_plain_http: false,
        };
        let call = call_for(&site, "09506000134352", 10).unwrap();
        assert_eq!(call.url.as_str(), "http://127.0.0.1:8081/serials/request");
        assert_eq!(call.method, reqwest::Method::POST);
        let sb = SerialSource::Serialbox {
            url: "https://q.example.com/".into(),
            pool: Some("p-1".into()),
            pools: BTreeMap::from([("00312345678906".into(), "other".into())]),
            secret: None,
            replenish_count: 10,
            allow_plain_http: false,
        };
        let call = call_for(&sb, "09506000134352", 500).unwrap();
        assert_eq!(
            call.url.as_str(),
            "https://q.example.com/serialbox/allocate/p-1/500/?format=json"
        );
        let call = call_for(&sb, "00312345678906", 5).unwrap();
        assert_eq!(
            call.url.as_str(),
            "https://q.example.com/serialbox/allocate/other/5/?format=json"
        );
    }

    #[test]
    fn sscc_urls_of_each_source() {
        let settings = SsccSettings {
            company_prefix: "0614141".into(),
            extension_digit: 3,
            serialbox_pool: Some("sscc-pool".into()),
        };
        let site = SerialSource::SiteServer {
            url: "http://127.0.0.1:8081/serials".into(),
            secret: None,
            replenish_count: 10,
            allow_plain_http: false,
        };
        let call = sscc_call_for(&site, &settings, 7).unwrap();
        assert_eq!(
            call.url.as_str(),
            "http://127.0.0.1:8081/serials/sscc/request"
        );
        let body: serde_json::Value = serde_json::from_str(call.body.as_deref().unwrap()).unwrap();
        assert_eq!(body["extension_digit"], 3);
        assert_eq!(body["company_prefix"], "0614141");
        let sb = SerialSource::Serialbox {
            url: "https://q.example.com/".into(),
            pool: Some("p-1".into()),
            pools: BTreeMap::new(),
            secret: None,
            replenish_count: 10,
            allow_plain_http: false,
        };
        let call = sscc_call_for(&sb, &settings, 5).unwrap();
        assert_eq!(
            call.url.as_str(),
            "https://q.example.com/serialbox/allocate/sscc-pool/5/?format=json"
        );
        let unpooled = SsccSettings {
            serialbox_pool: None,
            ..settings
        };
        let e = sscc_call_for(&sb, &unpooled, 5).unwrap_err();
        assert!(e.contains("serialbox_pool"), "{e}");
        assert!(sscc_call_for(&SerialSource::Local, &unpooled, 5).is_err());
    }

    #[test]
    fn plain_http_only_to_loopback() {
        assert!(source_url("http://127.0.0.1:9/x", false).is_ok());
        assert!(source_url("http://localhost/x", false).is_ok());
        assert!(source_url("http://q.example.com/x", false).is_err());
        assert!(source_url("http://q.example.com/x", true).is_ok());
        assert!(source_url("https://u:p@q.example.com/x", false).is_err());
    }

    #[test]
    fn secrets_are_never_shown() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "s3cret\n").unwrap();
        let secret = load_token(&SecretSource::File(path)).unwrap();
        assert!(!format!("{secret:?}").contains("s3cret"));
        let missing = load_token(&SecretSource::Env("SERIALSTATION_TEST_UNSET_VAR".into()));
        assert!(
            missing
                .unwrap_err()
                .contains("SERIALSTATION_TEST_UNSET_VAR")
        );
    }

    #[test]
    fn a_token_is_one_word() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "two words\n").unwrap();
        let e = load_token(&SecretSource::File(path)).unwrap_err();
        assert!(e.contains("spaces"), "{e}");
    }
}
