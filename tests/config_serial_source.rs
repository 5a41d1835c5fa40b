//! `client.serial_source` in client files: local, site_server and serialbox sources,
//! their credentials, pools and limits, and every mistake reported with its field.

use serialstation::config::{SecretSource, SerialSource, Severity, parse_client_config};

fn file(source: &str) -> String {
    format!(
        r#"
[client]
id = "c"
name = "C"
serial_source = {source}
[client.upload]
format = "epcis1.2-xml"
url = "http://127.0.0.1:9/capture"

[[product]]
gtin = "09506000134352"
name = "P"
company_prefix_length = 7
markets = ["US"]
code_template = ["01", "21", "10", "17"]
min_grade = 1.5
low_water_mark = 100
consecutive_reject_limit = 3
"#
    )
}

fn source(text: &str) -> SerialSource {
    let report = parse_client_config("c.toml", &file(text));
    report
        .config
        .unwrap_or_else(|| panic!("{text}: {:?}", report.issues))
        .client
        .serial_source
}

/// The error messages (field: message) of a refused file.
fn errors(text: &str) -> Vec<String> {
    let report = parse_client_config("c.toml", &file(text));
    assert!(report.config.is_none(), "{text} was accepted");
    report
        .issues
        .iter()
        .filter(|i| i.severity == Severity::Error)
        .map(|i| format!("{}: {}", i.field, i.message))
        .collect()
}

#[test]
fn every_kind_reads_with_defaults() {
    assert_eq!(source(r#"{ kind = "local" }"#), SerialSource::Local);
    assert_eq!(
        source(r#"{ kind = "site_server", url = "http://127.0.0.1:8081/serials" }"#),
        SerialSource::SiteServer {
            url: "http://127.0.0.1:8081/serials".into(),
            secret: None,
            replenish_count: 10_000,
            allow_plain_http: false,
        }
    );
    let sb = source(
        r#"{ kind = "serialbox", url = "https://q.example.com", pools = { "09506000134352" = "pool-1" }, token_env = "Q_TOKEN", replenish_count = 500 }"#,
    );
    assert_eq!(sb.serialbox_pool("09506000134352"), Some("pool-1"));
    assert_eq!(sb.replenish_count(), Some(500));
    let SerialSource::Serialbox { secret, .. } = &sb else {
        panic!("{sb:?}")
    };
    assert_eq!(secret, &Some(SecretSource::Env("Q_TOKEN".into())));
    let sb = source(
        r#"{ kind = "serialbox", url = "http://10.0.0.5:8000", pool = "all", token_file = "/etc/serialstation/q.token", allow_plain_http = true }"#,
    );
    assert_eq!(sb.serialbox_pool("09506000134352"), Some("all"));
}

#[test]
fn stored_json_of_older_versions_still_reads() {
    let old: SerialSource =
        serde_json::from_str(r#"{"kind":"site_server","url":"https://l3.example.com/serials"}"#)
            .unwrap();
    assert_eq!(old.replenish_count(), Some(10_000));
    let round_trip: SerialSource =
        serde_json::from_str(&serde_json::to_string(&old).unwrap()).unwrap();
    assert_eq!(round_trip, old);
}

#[test]
fn mistakes_are_named() {
    let cases: [(&str, &str); 10] = [
        (
            r#"{ kind = "remote" }"#,
            "client.serial_source.kind: \"remote\" is not a serial source",
        ),
        (
            r#"{ kind = "local", url = "https://x.example.com" }"#,
            "client.serial_source.url: a local serial source has no url",
        ),
        (
            r#"{ kind = "site_server", url = "https://x.example.com", pool = "p" }"#,
            "client.serial_source.pool: a site_server serial source has no pool",
        ),
        (
            r#"{ kind = "site_server", url = "http://x.example.com/serials" }"#,
            "plain HTTP to a host that is not loopback",
        ),
        (
            r#"{ kind = "site_server", url = "https://x.example.com", token = "abc" }"#,
            "client.serial_source.token: tokens never go in configuration files",
        ),
        (
            r#"{ kind = "site_server", url = "https://x.example.com", token_env = "a-b" }"#,
            "not an environment variable name",
        ),
        (
            r#"{ kind = "site_server", url = "https://x.example.com", token_file = "relative.token" }"#,
            "not an absolute path",
        ),
        (
            r#"{ kind = "site_server", url = "https://x.example.com", replenish_count = 0 }"#,
            "client.serial_source.replenish_count: 0 is out of range",
        ),
        (
            r#"{ kind = "serialbox", url = "https://x.example.com", token_env = "T" }"#,
            "needs the pool machine name",
        ),
        (
            r#"{ kind = "serialbox", url = "https://x.example.com", pools = { "00312345678906" = "p" }, token_env = "T" }"#,
            "no SerialBox pool for GTIN 09506000134352",
        ),
    ];
    for (text, expected) in cases {
        let found = errors(text);
        assert!(
            found.iter().any(|e| e.contains(expected)),
            "{text}: expected {expected:?}, got {found:?}"
        );
    }
    let found = errors(
        r#"{ kind = "serialbox", url = "https://x.example.com", pools = { "123" = "bad name!" }, pool = "p", token_env = "T" }"#,
    );
    assert!(
        found.iter().any(|e| e.contains("\"123\" is not a GTIN")),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .any(|e| e.contains("not a SerialBox pool machine name")),
        "{found:?}"
    );
}

#[test]
fn serialbox_without_a_token_is_a_warning() {
    let report = parse_client_config(
        "c.toml",
        &file(r#"{ kind = "serialbox", url = "https://x.example.com", pool = "p" }"#),
    );
    assert!(report.config.is_some(), "{:?}", report.issues);
    assert!(
        report
            .warnings()
            .any(|w| w.message.contains("only authenticated requests")),
        "{:?}",
        report.issues
    );
}
