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
    assert!(msg.contains("unknown field"), "{msg}");

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
