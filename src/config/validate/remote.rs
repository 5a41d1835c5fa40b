//! What the settings of a remote server share, for the serial source and the upload
//! target alike: its URL, and the name of the environment variable that holds its
//! secret (the secret itself never goes in a configuration file).

use toml::Spanned;

use crate::config::located::Locator;

use super::fields::{plain_value, span_of};

/// A server's URL: `http://` or `https://` with a host and no credentials (a query
/// is kept: some site servers take their options there); plain HTTP only to
/// loopback unless `allow_plain_http` (then a warning). `credentials` is the error
/// for a URL that carries credentials, which says where the secret goes instead.
pub(super) fn http_url(
    url: &Spanned<String>,
    allow_plain_http: bool,
    field: &str,
    credentials: &'static str,
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
        loc.error(span_of(url), field, credentials);
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

/// The name of an environment variable holding a secret (`token_env`): an upper-case
/// letter or `_`, then upper-case letters, digits and `_`. `field` is the field
/// itself, e.g. `client.upload.token_env`.
pub(super) fn env_var_name(
    name: &Spanned<String>,
    field: &str,
    loc: &mut Locator<'_>,
) -> Option<String> {
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
            field,
            format!("{text:?} is not an environment variable name: use upper-case letters, digits and '_'"),
        );
    }
    ok.then(|| text.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct Value {
        v: Spanned<String>,
    }

    const CREDENTIALS: &str = "the URL carries credentials: put them elsewhere";

    /// The URL `http_url` accepts from `text` (plain ASCII, written as a TOML string
    /// by `{:?}`) and `allow_plain_http`, and the messages it records (errors and
    /// warnings alike).
    fn url(text: &str, allow_plain_http: bool) -> (Option<String>, Vec<String>) {
        url_written(&format!("{text:?}"), allow_plain_http)
    }

    /// As [`url`], for a value written in TOML as `written`.
    fn url_written(written: &str, allow_plain_http: bool) -> (Option<String>, Vec<String>) {
        let toml = format!("v = {written}\n");
        let value: Value = toml::from_str(&toml).unwrap();
        let mut loc = Locator::new("t.toml", &toml);
        let accepted = http_url(&value.v, allow_plain_http, "f", CREDENTIALS, &mut loc);
        let messages = loc.issues.iter().map(|i| i.message.clone()).collect();
        (accepted, messages)
    }

    #[test]
    fn https_and_loopback_http_are_accepted_as_written() {
        for text in [
            "https://l3.example.com/capture",
            "https://l3.example.com:8443/capture?tenant=a",
            "http://localhost:8080/capture",
            "http://LOCALHOST/capture",
            "http://127.0.0.1:8080",
            "http://127.3.4.5/",
            "http://[::1]:8080/capture",
        ] {
            assert_eq!(url(text, false), (Some(text.to_string()), vec![]), "{text}");
        }
        // Surrounding white space is dropped.
        assert_eq!(
            url("  https://a.example  ", false).0.as_deref(),
            Some("https://a.example")
        );
    }

    #[test]
    fn plain_http_elsewhere_needs_allow_plain_http_and_then_warns() {
        let (accepted, messages) = url("http://l3.example.com/capture", false);
        assert_eq!(accepted, None);
        assert!(
            messages[0].contains("is plain HTTP to a host that is not loopback"),
            "{messages:?}"
        );
        // A port that is not a number is part of the host, not a port.
        assert_eq!(url("http://localhost:x/", false).0, None);
        let (accepted, messages) = url("http://10.0.0.1:8080/capture", true);
        assert_eq!(accepted.as_deref(), Some("http://10.0.0.1:8080/capture"));
        assert_eq!(
            messages,
            ["http://10.0.0.1:8080/capture is not encrypted: use https:// for a real site server"]
        );
    }

    #[test]
    fn urls_without_a_host_or_with_credentials_are_refused() {
        for text in [
            "ftp://a.example",
            "https://",
            "https:///path",
            "https://a b",
            "a.example",
        ] {
            let (accepted, messages) = url(text, true);
            assert_eq!(accepted, None, "{text}");
            assert_eq!(
                messages,
                [format!(
                    "{:?} is not an http:// or https:// URL with a host",
                    text.trim()
                )],
                "{text}"
            );
        }
        assert_eq!(
            url("https://user:secret@a.example/", false),
            (None, vec![CREDENTIALS.to_string()])
        );
        let (accepted, messages) = url_written(r#""https://a.example/\u001B[2J""#, false);
        assert_eq!(accepted, None);
        assert!(
            messages[0].starts_with("contains the character U+001B"),
            "{messages:?}"
        );
    }

    #[test]
    fn environment_variable_names_are_upper_case() {
        let check = |text: &str| {
            let toml = format!("v = {text:?}\n");
            let value: Value = toml::from_str(&toml).unwrap();
            let mut loc = Locator::new("t.toml", &toml);
            let name = env_var_name(&value.v, "client.upload.token_env", &mut loc);
            (name, loc.issues.len())
        };
        assert_eq!(check("ACME_TOKEN_2"), (Some("ACME_TOKEN_2".to_string()), 0));
        assert_eq!(check("_X"), (Some("_X".to_string()), 0));
        for bad in ["", "acme_token", "2TOKEN", "ACME-TOKEN", "ACME TOKEN"] {
            assert_eq!(check(bad), (None, 1), "{bad:?}");
        }
    }
}
