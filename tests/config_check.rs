//! Client configuration files: the examples are valid; every error names the file,
//! the line and the field; `config load` writes to the store (audited) and
//! `product list` shows the result.

mod store_support;

use std::process::Command;

use serialstation::config::{Severity, parse_client_config};
use store_support::*;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_serialstation"))
}

const VALID: &str = r#"[client]
id = "acme"
name = "Acme"
serial_source = { kind = "local" }

[client.upload]
format = "epcis2-jsonld"
url = "https://l3.example.com/capture"

[[product]]
gtin = "09506000134352"
name = "Examplamol"
company_prefix_length = 7
markets = ["DE"]
code_template = ["01", "17", "10", "21", "710"]
nhrn = { 710 = "12345678" }
min_grade = 1.5
low_water_mark = 100
consecutive_reject_limit = 3
"#;

/// (line, field, message fragment) of every error in `text`.
fn errors(text: &str) -> Vec<(usize, String, String)> {
    parse_client_config("t.toml", text)
        .issues
        .into_iter()
        .filter(|i| i.severity == Severity::Error)
        .map(|i| (i.line, i.field, i.message))
        .collect()
}

fn one_error(text: &str) -> (usize, String, String) {
    let mut e = errors(text);
    assert_eq!(e.len(), 1, "{e:?}");
    e.remove(0)
}

#[test]
fn the_example_configurations_are_valid() {
    for name in ["acme.toml", "nordpharma.toml"] {
        let path = repo_root().join("config/clients").join(name);
        let report = serialstation::config::check_client_file(&path);
        assert!(report.config.is_some(), "{name}: {:?}", report.issues);
        assert_eq!(report.errors().count(), 0);
    }
    let report = parse_client_config("t.toml", VALID);
    assert!(report.config.is_some(), "{:?}", report.issues);
    // Without a read point and business location events cannot be reported yet:
    // a warning each, nothing else.
    let fields: Vec<&str> = report.issues.iter().map(|i| i.field.as_str()).collect();
    assert_eq!(
        fields,
        ["client.upload.read_point", "client.upload.biz_location"],
        "{:?}",
        report.issues
    );
    assert!(report.errors().next().is_none());
    let report = parse_client_config("t.toml", &with_upload(LOCATIONS));
    assert!(
        report.config.is_some() && report.issues.is_empty(),
        "{:?}",
        report.issues
    );
}

const LOCATIONS: &str = "read_point = \"urn:epc:id:sgln:9506000.00001.0\"\nbiz_location = { gln = \"9506000000015\", company_prefix_length = 7, extension = \"L1\" }";

/// VALID with `extra` lines added to `[client.upload]` after its url (line 9 on).
fn with_upload(extra: &str) -> String {
    VALID.replace(
        "url = \"https://l3.example.com/capture\"\n",
        &format!("url = \"https://l3.example.com/capture\"\n{extra}\n"),
    )
}

#[test]
fn upload_settings_are_checked() {
    let report = parse_client_config(
        "t.toml",
        &with_upload(&format!(
            "{LOCATIONS}\nprotocol = \"epcis2-capture\"\nauth = \"none\"\ntimeout_s = 10\nmax_epcs_per_event = 500\nmax_document_bytes = 1000000\nused_up = \"destroy\"\nflush_after_s = 2"
        )),
    );
    let upload = report.config.expect("valid").client.upload;
    assert_eq!(
        upload.biz_location.as_deref(),
        Some("urn:epc:id:sgln:9506000.00001.L1")
    );
    assert_eq!(
        (
            upload.max_epcs_per_event,
            upload.timeout_s,
            upload.flush_after_s
        ),
        (500, 10, 2)
    );

    // A bad SGLN.
    let (line, field, msg) = one_error(&with_upload(
        "read_point = \"urn:epc:id:sgln:9506000.00001\"\nbiz_location = \"urn:epc:id:sgln:9506000.00001.0\"",
    ));
    assert_eq!((line, field.as_str()), (9, "client.upload.read_point"));
    assert!(msg.contains("not an SGLN"), "{msg}");
    let (_, field, msg) = one_error(&with_upload(
        "read_point = { gln = \"9506000000016\", company_prefix_length = 7 }\nbiz_location = \"urn:epc:id:sgln:9506000.00001.0\"",
    ));
    assert_eq!(field, "client.upload.read_point");
    assert!(msg.contains("not a GLN"), "{msg}");

    // Plain HTTP to a remote host needs https, or an explicit allow_plain_http.
    let remote = VALID.replace("https://l3.example.com", "http://l3.example.com");
    let (line, field, msg) = one_error(&remote);
    assert_eq!((line, field.as_str()), (8, "client.upload.url"));
    assert!(msg.contains("use https://"), "{msg}");
    let allowed = remote.replace(
        "url = \"http://l3.example.com/capture\"\n",
        &format!("url = \"http://l3.example.com/capture\"\nallow_plain_http = true\n{LOCATIONS}\n"),
    );
    let report = parse_client_config("t.toml", &allowed);
    assert!(report.config.is_some(), "{:?}", report.issues);
    assert!(
        report
            .warnings()
            .any(|w| w.message.contains("not encrypted"))
    );
    assert!(errors(&VALID.replace("https://l3.example.com", "http://127.0.0.1:8080")).is_empty());

    // The secrets file must exist (it is read only when the uploader starts).
    let (line, field, msg) = one_error(&with_upload(
        "auth = \"bearer\"\nsecrets_file = \"/nonexistent/serialstation/token\"",
    ));
    assert_eq!((line, field.as_str()), (10, "client.upload.secrets_file"));
    assert!(msg.contains("does not exist"), "{msg}");
    let (_, _, msg) = one_error(&with_upload("secrets_file = \"token.txt\""));
    assert!(msg.contains("absolute path"), "{msg}");

    // Unknown authentication, and authentication without a secret.
    let (line, field, msg) = one_error(&with_upload("auth = \"kerberos\""));
    assert_eq!((line, field.as_str()), (9, "client.upload.auth"));
    assert!(msg.contains("none, bearer, basic, token"), "{msg}");
    let (_, _, msg) = one_error(&with_upload("auth = \"token\""));
    assert!(msg.contains("needs a secret"), "{msg}");
    let (_, _, msg) = one_error(&with_upload("auth = \"none\"\ntoken_env = \"X_TOKEN\""));
    assert!(msg.contains("sends no credentials"), "{msg}");

    // The site server's return call is not made; out-of-range numbers are refused.
    let (_, field, msg) = one_error(&with_upload("used_up = \"return-call\""));
    assert_eq!(field, "client.upload.used_up");
    assert!(msg.contains("decommission, destroy"), "{msg}");
    let (_, field, _) = one_error(&with_upload("max_epcs_per_event = 0"));
    assert_eq!(field, "client.upload.max_epcs_per_event");
    let (_, field, _) = one_error(&with_upload("protocol = \"soap\""));
    assert_eq!(field, "client.upload.protocol");
}

#[test]
fn upload_targets_stored_by_older_versions_still_read() {
    let old = serde_json::json!({
        "format": "epcis2-jsonld",
        "url": "https://l3.example.com/capture",
        "token_env": "ACME_EPCIS_TOKEN",
        "max_events_per_document": 100
    });
    let upload: serialstation::config::UploadTarget = serde_json::from_value(old).unwrap();
    assert_eq!(
        upload.auth(),
        serialstation::config::model::UploadAuth::Bearer
    );
    assert_eq!(
        upload.protocol(),
        serialstation::config::model::UploadProtocol::Epcis2Capture
    );
    assert_eq!((upload.flush_after_s, upload.read_point), (5, None));
}

#[test]
fn semantic_errors_name_line_and_field() {
    let (line, field, msg) = one_error(&VALID.replace("min_grade = 1.5", "min_grade = 4.5"));
    assert_eq!((line, field.as_str()), (17, "product[1].min_grade"));
    assert!(msg.contains("0.0 to 4.0"), "{msg}");

    let (line, field, msg) =
        one_error(&VALID.replace("company_prefix_length = 7", "company_prefix_length = 13"));
    assert_eq!(
        (line, field.as_str()),
        (13, "product[1].company_prefix_length")
    );
    assert!(msg.contains("6 to 12"), "{msg}");

    let (line, field, msg) = one_error(&VALID.replace("09506000134352", "09506000134353"));
    assert_eq!((line, field.as_str()), (11, "product[1].gtin"));
    assert!(msg.contains("not a valid GTIN"), "{msg}");

    let (line, field, msg) = one_error(&VALID.replace("[\"DE\"]", "[\"de\"]"));
    assert_eq!((line, field.as_str()), (14, "product[1].markets"));
    assert!(msg.contains("upper case"), "{msg}");

    let (line, field, msg) = one_error(&VALID.replace("\"12345678\"", "\"12345679\""));
    assert_eq!((line, field.as_str()), (16, "product[1].nhrn.710"));
    assert!(msg.contains("PZN"), "{msg}");

    let (line, field, msg) = one_error(&VALID.replace(
        "\"01\", \"17\", \"10\", \"21\", \"710\"",
        "\"01\", \"17\", \"10\", \"710\"",
    ));
    assert_eq!((line, field.as_str()), (15, "product[1].code_template"));
    assert!(msg.contains("must contain AI 21"), "{msg}");

    let (_, field, msg) = one_error(&VALID.replace("\"21\", \"710\"", "\"21\", \"710\", \"240\""));
    assert_eq!(field, "product[1].code_template");
    assert!(
        msg.contains("AI \"240\" is not one the station can fill"),
        "{msg}"
    );

    // EU FMD requires the expiry date.
    let (_, _, msg) = one_error(&VALID.replace("\"01\", \"17\", \"10\"", "\"01\", \"10\""));
    assert!(msg.contains("market DE (EU FMD) requires AI 17"), "{msg}");

    let (line, field, msg) = one_error(&VALID.replace(
        "url = \"https://l3.example.com/capture\"",
        "url = \"ftp://x\"",
    ));
    assert_eq!((line, field.as_str()), (8, "client.upload.url"));
    assert!(msg.contains("http"), "{msg}");
}

#[test]
fn syntax_and_type_errors_name_line_and_field_too() {
    let (line, field, msg) = one_error(&VALID.replace("min_grade = 1.5", "min_grade = \"high\""));
    assert_eq!((line, field.as_str()), (17, "product[1].min_grade"));
    assert!(msg.contains("invalid type"), "{msg}");

    // A misspelt key is an error, never silently ignored.
    let (line, field, msg) =
        one_error(&VALID.replace("low_water_mark = 100", "low_watermark = 100"));
    assert_eq!(line, 18);
    assert_eq!(field, "product[1].low_watermark");
    assert!(
        msg.contains("unknown key `low_watermark` in [[product]] number 1"),
        "{msg}"
    );
    assert!(msg.contains("did you mean `low_water_mark`?"), "{msg}");

    let (line, _, _) = one_error(&VALID.replace("name = \"Acme\"", "name = \"Acme"));
    assert_eq!(line, 3);

    // A token in the file is refused with advice.
    let text = VALID.replace(
        "format = \"epcis2-jsonld\"",
        "format = \"epcis2-jsonld\"\ntoken = \"s3cret\"",
    );
    let (line, field, msg) = one_error(&text);
    assert_eq!((line, field.as_str()), (8, "client.upload.token"));
    assert!(msg.contains("environment variable"), "{msg}");
}

#[test]
fn all_problems_are_reported_at_once() {
    let text = VALID.replace("min_grade = 1.5", "min_grade = 9").replace(
        "consecutive_reject_limit = 3",
        "consecutive_reject_limit = 0",
    );
    let e = errors(&text);
    assert_eq!(e.len(), 2, "{e:?}");
    let text = VALID.replace("min_grade = 1.5\n", "");
    let (_, field, msg) = one_error(&text);
    assert_eq!(field, "product[1].min_grade");
    assert!(msg.contains("missing"), "{msg}");
}

#[test]
fn cli_check_prints_file_line_field_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, VALID.replace("min_grade = 1.5", "min_grade = 7.0")).unwrap();
    let out = bin().args(["config", "check"]).arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let expected = format!("{}:17:13: error: product[1].min_grade:", path.display());
    assert!(stderr.contains(&expected), "{stderr}");

    let out = bin()
        .args(["config", "check"])
        .arg(repo_root().join("config/clients"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn cli_load_then_product_list_and_audit() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.sqlite");
    let out = bin()
        .arg("--db")
        .arg(&db)
        .args(["config", "load"])
        .arg(repo_root().join("config/clients"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("client acme: added") && stdout.contains("product 09506000134352: added"),
        "{stdout}"
    );

    let out = bin()
        .arg("--db")
        .arg(&db)
        .args(["product", "list", "--json"])
        .output()
        .unwrap();
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 4);
    let p = list.iter().find(|p| p["gtin"] == "09506000134352").unwrap();
    assert_eq!(p["client_id"], "acme");
    assert_eq!(
        p["code_template"],
        serde_json::json!(["01", "17", "10", "21", "710"])
    );
    assert_eq!(p["min_grade"], 1.5);

    let out = bin()
        .arg("--db")
        .arg(&db)
        .args(["product", "list"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("01,17,10,21,710"));

    let out = bin()
        .arg("--db")
        .arg(&db)
        .args(["audit", "verify"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("intact: 6 rows"));
    let out = bin()
        .arg("--db")
        .arg(&db)
        .args(["audit", "list", "--json"])
        .output()
        .unwrap();
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 6);
    assert!(
        rows[0]["actor"].as_str().unwrap().contains("uid"),
        "{}",
        rows[0]
    );

    // A failed load writes nothing.
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        VALID.replace("1.5", "9.5").replace("\"acme\"", "\"other\""),
    )
    .unwrap();
    let out = bin()
        .arg("--db")
        .arg(&db)
        .args(["config", "load"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let out = bin()
        .arg("--db")
        .arg(&db)
        .args(["audit", "verify"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("intact: 6 rows"));
}

#[test]
fn a_stray_key_is_named_as_such_not_as_a_duplicate() {
    // Before the first header, `product = "x"` clashes with the [[product]] tables:
    // the error is at the stray key, and says so.
    let (line, field, msg) = one_error(&format!("product = \"x\"\n{VALID}"));
    assert_eq!((line, field.as_str()), (1, "product"));
    assert!(msg.starts_with("stray key `product`"), "{msg}");
    assert!(msg.contains("[[product]] tables at line 11"), "{msg}");
    assert!(!msg.contains("duplicate"), "{msg}");

    // Inside [client.upload] it is an unknown key of that table.
    let (line, field, msg) = one_error(&with_upload("product = \"x\""));
    assert_eq!((line, field.as_str()), (9, "client.upload.product"));
    assert!(
        msg.starts_with(
            "unknown key `product` in [client.upload]; expected one of `format`, `url`"
        ),
        "{msg}"
    );
    assert!(msg.contains("start it with a [[product]] line"), "{msg}");

    // A key of another table says where it belongs.
    let (line, field, msg) = one_error(&with_upload("min_grade = 1.5"));
    assert_eq!((line, field.as_str()), (9, "client.upload.min_grade"));
    assert!(msg.contains("`min_grade` belongs in [[product]]"), "{msg}");

    // A table written twice names the first one.
    let (line, field, msg) = one_error(&format!("{VALID}[client]\nid = \"x\"\n"));
    assert_eq!((line, field.as_str()), (20, "client"));
    assert!(
        msg.contains("[client] is already defined at line 1"),
        "{msg}"
    );

    // No Rust type names in type errors.
    let (line, field, msg) =
        one_error(&VALID.replace("serial_source = { kind = \"local\" }", "serial_source = 1"));
    assert_eq!((line, field.as_str()), (4, "client.serial_source"));
    assert!(msg.contains("expected a table"), "{msg}");
    assert!(!msg.contains("Raw") && !msg.contains("struct"), "{msg}");
    let (_, _, msg) = one_error(&VALID.replace("markets = [\"DE\"]", "markets = \"DE\""));
    assert!(msg.contains("expected an array"), "{msg}");

    // The CLI prints the same, with file and line.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stray.toml");
    std::fs::write(&path, format!("product = \"x\"\n{VALID}")).unwrap();
    let out = bin().args(["config", "check"]).arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let expected = format!(
        "{}:1:1: error: product: stray key `product`",
        path.display()
    );
    assert!(stderr.contains(&expected), "{stderr}");
}

#[test]
fn names_must_be_plain_text_of_sensible_length() {
    // An escape sequence in the product name: refused, naming the character.
    let (line, field, msg) =
        one_error(&VALID.replace("name = \"Examplamol\"", "name = \"Examplamol\\u001b[2J\""));
    assert_eq!((line, field.as_str()), (12, "product[1].name"));
    assert!(msg.contains("U+001B"), "{msg}");
    assert!(msg.contains("at character 11"), "{msg}");
    assert!(msg.contains("remove it"), "{msg}");

    // NUL and a right-to-left override in the client name.
    let (line, field, msg) = one_error(&VALID.replace("name = \"Acme\"", "name = \"Ac\\u0000me\""));
    assert_eq!((line, field.as_str()), (3, "client.name"));
    assert!(msg.contains("U+0000"), "{msg}");
    let (_, field, msg) =
        one_error(&VALID.replace("name = \"Acme\"", "name = \"Acme \\u202Egnp.exe\""));
    assert_eq!(field, "client.name");
    assert!(
        msg.contains("U+202E") && msg.contains("at character 6"),
        "{msg}"
    );
    // A C1 control, written as itself.
    let (_, _, msg) = one_error(&VALID.replace("name = \"Acme\"", "name = \"Acme\u{9b}2J\""));
    assert!(msg.contains("U+009B"), "{msg}");

    // A URL with an escape character.
    let (_, field, msg) = one_error(&VALID.replace(
        "url = \"https://l3.example.com/capture\"",
        "url = \"https://l3.example.com/\\u001b[2Jcapture\"",
    ));
    assert_eq!(field, "client.upload.url");
    assert!(msg.contains("U+001B"), "{msg}");

    // Names longer than the limit; the limit is in the message.
    let long = "x".repeat(201);
    let (line, field, msg) =
        one_error(&VALID.replace("name = \"Examplamol\"", &format!("name = \"{long}\"")));
    assert_eq!((line, field.as_str()), (12, "product[1].name"));
    assert!(
        msg.contains("201 characters") && msg.contains("at most 200"),
        "{msg}"
    );
    assert!(
        errors(&VALID.replace(
            "name = \"Examplamol\"",
            &format!("name = \"{}\"", "é".repeat(200))
        ))
        .is_empty()
    );

    // Messages never carry a control character to the terminal.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("esc.toml");
    std::fs::write(
        &path,
        VALID.replace("min_grade = 1.5", "\"min\\u001b[2J\" = 1.5"),
    )
    .unwrap();
    let out = bin().args(["config", "check"]).arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains('\u{1b}'), "{stderr:?}");
    assert!(stderr.contains("min\\u{1b}[2J"), "{stderr}");
}

#[test]
fn oversized_files_are_refused_before_parsing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.toml");
    let name = "x".repeat(10 * 1024 * 1024);
    std::fs::write(&path, VALID.replace("Examplamol", &name)).unwrap();
    let out = bin().args(["config", "check"]).arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.len() < 2000, "the message must not quote the file");
    let expected = format!("{}: error: the file is 10.0 MiB", path.display());
    assert!(stderr.contains(&expected), "{stderr}");
    assert!(stderr.contains("at most 1 MiB"), "{stderr}");
}

/// VALID as another file would write it: client `id`, and `edit` applied.
fn variant(id: &str, edit: impl Fn(String) -> String) -> String {
    edit(VALID.replace("id = \"acme\"", &format!("id = \"{id}\"")))
}

#[test]
fn a_client_or_gtin_defined_differently_in_two_files_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let a = write("a.toml", VALID);
    // The same definitions again: accepted (loading them twice changes nothing).
    let same = write("same.toml", VALID);
    let out = bin()
        .args(["config", "check"])
        .arg(&a)
        .arg(&same)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Client acme with another name: refused, naming both files and the client.
    let renamed = write(
        "renamed.toml",
        &variant("acme", |t| t.replace("\"Acme\"", "\"Acme AG\"")),
    );
    let out = bin()
        .args(["config", "check"])
        .arg(&a)
        .arg(&renamed)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let expected = format!(
        "{}:2:6: error: client.id: client acme is already defined in {}:2, differently (name differs)",
        renamed.display(),
        a.display()
    );
    assert!(stderr.contains(&expected), "{stderr}");

    // The GTIN under another client with another grade: refused, naming both files.
    let other = write(
        "other.toml",
        &variant("other", |t| t.replace("min_grade = 1.5", "min_grade = 2.5")),
    );
    let db = dir.path().join("s.sqlite");
    let out = bin()
        .arg("--db")
        .arg(&db)
        .args(["config", "load"])
        .arg(&a)
        .arg(&other)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let expected = format!(
        "{}:11:8: error: product[1].gtin: GTIN 09506000134352 is already defined in {}:11, differently (client, min_grade differ)",
        other.display(),
        a.display()
    );
    assert!(stderr.contains(&expected), "{stderr}");
    assert!(stderr.contains("nothing was loaded"), "{stderr}");
}

#[test]
fn product_list_escapes_control_characters_from_older_stores() {
    use serialstation::config::ClientConfig;
    use serialstation::store::{Actor, Store};

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.sqlite");
    // A store written before names were checked: the name goes in unchecked.
    let mut config: ClientConfig = parse_client_config("t.toml", VALID).config.unwrap();
    config.products[0].name = "Examplamol\u{1b}[2J\u{202e}\u{9b}".to_string();
    let mut store = Store::open(&db).unwrap();
    store
        .load_client_config(&config, &Actor::new("test"))
        .unwrap();
    drop(store);

    let out = bin()
        .arg("--db")
        .arg(&db)
        .args(["product", "list"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("Examplamol\\u{1b}[2J\\u{202e}\\u{9b}"),
        "{stdout}"
    );
    assert!(
        !stdout.contains(['\u{1b}', '\u{202e}', '\u{9b}']),
        "{stdout:?}"
    );

    let out = bin()
        .arg("--db")
        .arg(&db)
        .args(["product", "list", "--json"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !stdout.contains(['\u{1b}', '\u{202e}', '\u{9b}']),
        "{stdout:?}"
    );
    let list: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(list[0]["name"], "Examplamol\u{1b}[2J\u{202e}\u{9b}");
}

/// A case of 12 packs and a pallet of 4 cases, as `[[product.aggregation]]` tables
/// (lines 21 to 26 when appended to VALID by `with_hierarchy`).
const CASE_PALLET: &str = "[[product.aggregation]]\nlevel = \"case\"\ncapacity = 12\n[[product.aggregation]]\nlevel = \"pallet\"\ncapacity = 4\n";

/// The client's SSCC settings (lines after the hierarchy).
const SSCC_TABLE: &str = "[client.sscc]\ncompany_prefix = \"9506000\"\n";

/// VALID, a blank line (20), then `levels` (from line 21) and `sscc`.
fn with_hierarchy(levels: &str, sscc: &str) -> String {
    format!("{VALID}\n{levels}{sscc}")
}

#[test]
fn a_packaging_hierarchy_is_read_with_its_defaults() {
    let report = parse_client_config("t.toml", &with_hierarchy(CASE_PALLET, SSCC_TABLE));
    assert!(report.errors().next().is_none(), "{:?}", report.issues);
    assert_eq!(report.warnings().count(), 2, "{:?}", report.issues);
    let config = report.config.expect("valid");
    let sscc = config.client.sscc.expect("SSCC settings");
    assert_eq!(
        (sscc.company_prefix.as_str(), sscc.extension_digit),
        ("9506000", 0)
    );
    let levels = &config.products[0].aggregation;
    let shown: Vec<(&str, u64, bool)> = levels
        .iter()
        .map(|l| (l.level.as_str(), l.capacity, l.partial_at_batch_end))
        .collect();
    assert_eq!(shown, [("case", 12, true), ("pallet", 4, true)]);
    assert_eq!(levels[1].label.ais, ["00", "02", "37", "10", "17"]);

    // The example client has one: cases of 12, pallets of 4 cases.
    let report =
        serialstation::config::check_client_file(&repo_root().join("config/clients/acme.toml"));
    let acme = report.config.expect("acme is valid");
    let levels: Vec<(&str, u64)> = acme.products[0]
        .aggregation
        .iter()
        .map(|l| (l.level.as_str(), l.capacity))
        .collect();
    assert_eq!(levels, [("case", 12), ("pallet", 4)]);
    assert!(acme.products[1].aggregation.is_empty());
    assert_eq!(
        acme.client.sscc.map(|s| s.company_prefix).as_deref(),
        Some("9506000")
    );
}

#[test]
fn hierarchy_errors_name_line_and_field() {
    // Out of order.
    let (line, field, msg) = one_error(&with_hierarchy(
        &CASE_PALLET
            .replace("\"case\"", "\"x\"")
            .replace("\"pallet\"", "\"case\"")
            .replace("\"x\"", "\"pallet\""),
        SSCC_TABLE,
    ));
    assert_eq!(
        (line, field.as_str()),
        (25, "product[1].aggregation[2].level")
    );
    assert!(msg.starts_with("case cannot come after pallet"), "{msg}");

    // A level twice.
    let (line, field, msg) = one_error(&with_hierarchy(
        &CASE_PALLET.replace("\"pallet\"", "\"case\""),
        SSCC_TABLE,
    ));
    assert_eq!(
        (line, field.as_str()),
        (25, "product[1].aggregation[2].level")
    );
    assert!(msg.contains("already level 1"), "{msg}");

    // Capacity out of range.
    let (line, field, msg) = one_error(&with_hierarchy(
        &CASE_PALLET.replace("capacity = 12", "capacity = 0"),
        SSCC_TABLE,
    ));
    assert_eq!(
        (line, field.as_str()),
        (23, "product[1].aggregation[1].capacity")
    );
    assert!(msg.contains("a case holds 1 to 100000 packs"), "{msg}");

    // A label without the SSCC.
    let (line, field, msg) = one_error(&with_hierarchy(
        &CASE_PALLET.replace(
            "capacity = 4\n",
            "capacity = 4\nlabel = { ais = [\"02\", \"37\"] }\n",
        ),
        SSCC_TABLE,
    ));
    assert_eq!(
        (line, field.as_str()),
        (27, "product[1].aggregation[2].label.ais")
    );
    assert!(msg.contains("add AI 00"), "{msg}");

    // No GS1 Company Prefix for the SSCCs.
    let (line, field, msg) = one_error(&with_hierarchy(CASE_PALLET, ""));
    assert_eq!((line, field.as_str()), (21, "product[1].aggregation"));
    assert!(msg.contains("add a [client.sscc] table"), "{msg}");

    // A bad prefix is reported where it is written, and only there.
    let (line, field, msg) = one_error(&with_hierarchy(
        CASE_PALLET,
        "[client.sscc]\ncompany_prefix = \"950\"\n",
    ));
    assert_eq!((line, field.as_str()), (28, "client.sscc.company_prefix"));
    assert!(msg.contains("not a GS1 Company Prefix"), "{msg}");

    // A SerialBox pool for SSCCs when the serials do not come from SerialBox.
    let (line, field, msg) = one_error(&with_hierarchy(
        CASE_PALLET,
        &format!("{SSCC_TABLE}serialbox_pool = \"acme-sscc\"\n"),
    ));
    assert_eq!((line, field.as_str()), (29, "client.sscc.serialbox_pool"));
    assert!(msg.contains("not SerialBox"), "{msg}");

    // Another company's prefix: a warning, the file is valid.
    let report = parse_client_config(
        "t.toml",
        &with_hierarchy(CASE_PALLET, &SSCC_TABLE.replace("9506000", "0614141")),
    );
    assert!(report.config.is_some(), "{:?}", report.issues);
    let warning = report
        .warnings()
        .find(|w| w.field == "product[1].aggregation")
        .expect("a warning about the prefix");
    assert_eq!(warning.line, 21);
    assert!(
        warning.message.contains("under prefix 9506000"),
        "{warning}"
    );
}

#[test]
fn hierarchy_syntax_mistakes_are_explained() {
    // One table instead of a list of levels.
    let (line, field, msg) = one_error(&with_hierarchy(
        "[product.aggregation]\nlevel = \"case\"\ncapacity = 12\n",
        SSCC_TABLE,
    ));
    assert_eq!((line, field.as_str()), (21, "product[1].aggregation"));
    assert!(
        msg.contains("[[product.aggregation]] table of its own"),
        "{msg}"
    );

    // A misspelt key, with the table named and a suggestion.
    let (line, field, msg) = one_error(&with_hierarchy(
        &CASE_PALLET.replace("capacity = 12", "capcity = 12"),
        SSCC_TABLE,
    ));
    assert_eq!(
        (line, field.as_str()),
        (23, "product[1].aggregation[1].capcity")
    );
    assert!(
        msg.contains(
            "unknown key `capcity` in [[product.aggregation]] number 1 of [[product]] number 1"
        ),
        "{msg}"
    );
    assert!(msg.contains("did you mean `capacity`?"), "{msg}");

    // The prefix as a number.
    let (line, field, msg) = one_error(&with_hierarchy(
        CASE_PALLET,
        "[client.sscc]\ncompany_prefix = 9506000\n",
    ));
    assert_eq!((line, field.as_str()), (28, "client.sscc.company_prefix"));
    assert!(msg.contains("in quotes"), "{msg}");
}

#[test]
fn cli_check_names_a_bad_hierarchy_by_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("levels.toml");
    let misordered = CASE_PALLET
        .replace("\"case\"", "\"x\"")
        .replace("\"pallet\"", "\"case\"")
        .replace("\"x\"", "\"pallet\"");
    std::fs::write(&path, with_hierarchy(&misordered, SSCC_TABLE)).unwrap();
    let out = bin().args(["config", "check"]).arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let expected = format!(
        "{}:25:9: error: product[1].aggregation[2].level: case cannot come after pallet",
        path.display()
    );
    assert!(stderr.contains(&expected), "{stderr}");

    std::fs::write(&path, with_hierarchy(CASE_PALLET, "")).unwrap();
    let out = bin().args(["config", "check"]).arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let expected = format!(
        "{}:21:1: error: product[1].aggregation: the product's containers are identified by SSCCs",
        path.display()
    );
    assert!(stderr.contains(&expected), "{stderr}");
}

#[test]
fn containers_and_ssccs_take_their_settings_from_the_client_file() {
    use serialstation::gs1::Gtin;
    use serialstation::store::NewBatch;

    let dir = tempfile::tempdir().unwrap();
    let (db, mut store) = store_with_products(dir.path());
    // The hierarchy and the SSCC settings are kept in the product master.
    let product = store.product(&gtin()).unwrap().unwrap();
    assert_eq!(product.aggregation.len(), 2);
    let client = store.client("acme").unwrap().unwrap();
    assert_eq!(client.sscc.unwrap().company_prefix, "9506000");
    new_batch(&mut store, "LOT1");
    store
        .create_batch(
            &NewBatch {
                gtin: Gtin::parse("09506000134369").unwrap(),
                lot: "LOT2".to_string(),
                expiry: "281231".to_string(),
                quantity: 100,
            },
            &actor(),
        )
        .unwrap();
    drop(store);
    let cli = |args: &[&str]| bin().arg("--db").arg(&db).args(args).output().unwrap();

    // SSCCs under the client's prefix and extension digit.
    let out = cli(&["sscc", "generate", "--client", "acme", "--count", "3"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("generated 3 SSCCs for client acme: 09506000"),
        "{stdout}"
    );

    // A case and a pallet as the hierarchy says.
    let open = |args: &[&str]| {
        let out = cli(args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        (v["child_level"].clone(), v["capacity"].clone())
    };
    assert_eq!(
        open(&[
            "container",
            "open",
            "--batch",
            "1",
            "--level",
            "case",
            "--json"
        ]),
        (serde_json::json!("pack"), serde_json::json!(12))
    );
    assert_eq!(
        open(&[
            "container",
            "open",
            "--batch",
            "1",
            "--level",
            "pallet",
            "--json"
        ]),
        (serde_json::json!("case"), serde_json::json!(4))
    );

    // A level the hierarchy lacks, and a product without one: refused, saying what
    // to do; --capacity still works.
    let out = cli(&["container", "open", "--batch", "1", "--level", "bundle"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("has no bundle level (it has case, pallet)"),
        "{stderr}"
    );
    let out = cli(&["container", "open", "--batch", "2", "--level", "case"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("product 09506000134369 of batch 2 has no packaging hierarchy")
            && stderr.contains("[[product.aggregation]]")
            && stderr.contains("--capacity"),
        "{stderr}"
    );
    assert_eq!(
        open(&[
            "container",
            "open",
            "--batch",
            "2",
            "--level",
            "case",
            "--capacity",
            "6",
            "--json"
        ]),
        (serde_json::json!("pack"), serde_json::json!(6))
    );
}
