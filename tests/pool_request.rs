//! `pool request` and `sscc request`: serials and SSCCs from the client's site
//! server, imported all or nothing.
//! Against the simulated site server (in-process) and a small fake QU4RTET SerialBox
//! written here (hyper on loopback) with sequential, randomized and nonsense answers;
//! through the library and through the real binary.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use serialstation::config::{Client, parse_client_config};
use serialstation::gs1::{Gtin, Sscc};
use serialstation::pool::request::sscc::request_ssccs;
use serialstation::pool::request::{RequestError, request_serials};
use serialstation::store::{Actor, SerialState, Store};
use serialstation_simulator::site_server::{SiteAuth, SiteServer, SiteServerConfig};

const GTIN: &str = "09506000134352";
const TOKEN: &str = "t0ken-for-serials";

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_serialstation"))
}

fn actor() -> Actor {
    Actor::new("pool-request-test")
}

fn gtin() -> Gtin {
    Gtin::parse(GTIN).unwrap()
}

/// A client file whose serial source is `source` (an inline TOML table).
fn client_file(source: &str) -> String {
    format!(
        r#"
[client]
id = "remote"
name = "Remote Serials Ltd"
serial_source = {source}
[client.upload]
format = "epcis1.2-xml"
url = "http://127.0.0.1:9/capture"

[[product]]
gtin = "{GTIN}"
name = "Remotamol 10 mg"
company_prefix_length = 7
markets = ["US"]
code_template = ["01", "21", "10", "17"]
min_grade = 1.5
low_water_mark = 100
consecutive_reject_limit = 3
"#
    )
}

/// A store at `dir/station.sqlite` with the client file loaded (and the file itself).
fn store_with(dir: &Path, source: &str) -> (PathBuf, Store, Client) {
    let text = client_file(source);
    let report = parse_client_config("remote.toml", &text);
    let config = report
        .config
        .unwrap_or_else(|| panic!("config refused: {:?}", report.issues));
    std::fs::write(dir.join("remote.toml"), &text).unwrap();
    let path = dir.join("station.sqlite");
    let mut store = Store::open(&path).unwrap();
    store.load_client_config(&config, &actor()).unwrap();
    (path, store, config.client)
}

fn token_file(dir: &Path) -> PathBuf {
    let path = dir.join("serials.token");
    std::fs::write(&path, format!("{TOKEN}\n")).unwrap();
    path
}

fn unallocated(store: &Store) -> u64 {
    store.pool_status(Some(&gtin())).unwrap()[0].count(SerialState::Unallocated)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

async fn simulated_site_server(dir: &Path) -> SiteServer {
    let mut config = SiteServerConfig::new(dir.join("site.sqlite"));
    config.auth = SiteAuth::Bearer(TOKEN.to_string());
    SiteServer::start(config).await.unwrap()
}

#[test]
fn serials_from_the_simulated_site_server_in_several_requests() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    rt.block_on(async {
        let site = simulated_site_server(dir.path()).await;
        let token = token_file(dir.path());
        let source = format!(
            r#"{{ kind = "site_server", url = "{}/serials", token_file = "{}", replenish_count = 100 }}"#,
            site.base_url(),
            token.display()
        );
        let (_path, mut store, client) = store_with(dir.path(), &source);
        let outcome = request_serials(&mut store, &client, &gtin(), 250, &actor())
            .await
            .unwrap();
        assert_eq!(outcome.imported, 250);
        assert_eq!(outcome.requests, 3);
        assert!(outcome.fulfilled);
        assert_eq!(unallocated(&store), 250);
        // The simulator issues 100000001, 100000002, … per GTIN.
        assert!(store.find_serial(&gtin(), "100000001").unwrap().is_some());
        assert!(store.find_serial(&gtin(), "100000250").unwrap().is_some());
        assert!(store.find_serial(&gtin(), "100000251").unwrap().is_none());
        site.stop().await;
    });
}

#[test]
fn wrong_credentials_and_an_unreachable_server_import_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    rt.block_on(async {
        let site = simulated_site_server(dir.path()).await;
        let wrong = dir.path().join("wrong.token");
        std::fs::write(&wrong, "not-the-token").unwrap();
        let source = format!(
            r#"{{ kind = "site_server", url = "{}/serials", token_file = "{}" }}"#,
            site.base_url(),
            wrong.display()
        );
        let (_path, mut store, client) = store_with(dir.path(), &source);
        let err = request_serials(&mut store, &client, &gtin(), 10, &actor())
            .await
            .unwrap_err();
        assert!(
            matches!(err, RequestError::Refused { status: 401, .. }),
            "{err}"
        );
        assert!(!err.to_string().contains("not-the-token"), "{err}");
        assert_eq!(unallocated(&store), 0);
        let url = site.base_url();
        site.stop().await;
        let err = request_serials(&mut store, &client, &gtin(), 10, &actor())
            .await
            .unwrap_err();
        assert!(matches!(err, RequestError::Unreachable { .. }), "{err}");
        assert!(err.to_string().contains(&url), "{err}");
        assert_eq!(unallocated(&store), 0);
    });
}

#[test]
fn the_binary_requests_serials_and_refuses_local_clients() {
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let site = rt.block_on(simulated_site_server(dir.path()));
    let source = format!(
        r#"{{ kind = "site_server", url = "{}/serials", token_env = "SERIALSTATION_TEST_SERIAL_TOKEN" }}"#,
        site.base_url()
    );
    let (db, store, _client) = store_with(dir.path(), &source);
    drop(store);
    let out = bin()
        .args(["--db"])
        .arg(&db)
        .args(["pool", "request", "--gtin", GTIN, "--count", "40"])
        .env("SERIALSTATION_TEST_SERIAL_TOKEN", TOKEN)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("imported 40 serials"), "{stdout}");
    assert!(!stdout.contains(TOKEN) && !stderr.contains(TOKEN));
    // Without the token: a clear message naming the variable, nothing imported.
    let out = bin()
        .arg("--db")
        .arg(&db)
        .args(["pool", "request", "--gtin", GTIN, "--count", "40"])
        .env_remove("SERIALSTATION_TEST_SERIAL_TOKEN")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("SERIALSTATION_TEST_SERIAL_TOKEN"),
        "{stderr}"
    );
    let store = Store::open_existing(&db).unwrap();
    assert_eq!(unallocated(&store), 40);
    drop(store);
    rt.block_on(site.stop());

    // A local client: told to import or generate instead.
    let local = tempfile::tempdir().unwrap();
    let (db, store, _client) = store_with(local.path(), r#"{ kind = "local" }"#);
    drop(store);
    let out = bin()
        .arg("--db")
        .arg(&db)
        .args(["pool", "request", "--gtin", GTIN, "--count", "5"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("local"), "{stderr}");
    assert!(stderr.contains("pool import"), "{stderr}");
}

// ----- a fake SerialBox -----

/// What the fake SerialBox saw and what it answers next.
#[derive(Default)]
struct FakeSerialbox {
    answers: VecDeque<(StatusCode, String)>,
    /// Path and query, and the Authorization header, of every request.
    seen: Vec<(String, Option<String>)>,
}

async fn serve_fake(state: Arc<Mutex<FakeSerialbox>>) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let state = state.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                    let state = state.clone();
                    async move {
                        let mut fake = state.lock().unwrap();
                        let path = req
                            .uri()
                            .path_and_query()
                            .map(|p| p.to_string())
                            .unwrap_or_default();
                        let auth = req
                            .headers()
                            .get(hyper::header::AUTHORIZATION)
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_string);
                        fake.seen.push((path, auth));
                        let (status, body) = fake
                            .answers
                            .pop_front()
                            .unwrap_or((StatusCode::NOT_FOUND, "{}".to_string()));
                        let mut response = Response::new(Full::new(Bytes::from(body)));
                        *response.status_mut() = status;
                        Ok::<_, Infallible>(response)
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

fn serialbox_source(addr: SocketAddr, token: &Path, replenish_count: u64) -> String {
    format!(
        r#"{{ kind = "serialbox", url = "http://{addr}", pools = {{ "{GTIN}" = "remotamol-10" }}, token_file = "{}", replenish_count = {replenish_count} }}"#,
        token.display()
    )
}

#[test]
fn serialbox_sequential_and_randomized_answers() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    rt.block_on(async {
        let fake = Arc::new(Mutex::new(FakeSerialbox::default()));
        let addr = serve_fake(fake.clone()).await;
        let token = token_file(dir.path());
        let (_path, mut store, client) =
            store_with(dir.path(), &serialbox_source(addr, &token, 1000));
        fake.lock().unwrap().answers.extend([
            (
                StatusCode::OK,
                r#"{"numbers":"[100000000001, 100000000500]","fulfilled":true,"type":"sequential","encoding":"decimal","region":"r1","size_granted":500}"#.to_string(),
            ),
            (
                StatusCode::OK,
                r#"{"numbers":"[123456789012, 798922375433, 449461187716]","fulfilled":true,"type":"random","encoding":"decimal","region":"r2","size_granted":3}"#.to_string(),
            ),
        ]);
        let outcome = request_serials(&mut store, &client, &gtin(), 500, &actor())
            .await
            .unwrap();
        assert_eq!((outcome.imported, outcome.requests), (500, 1));
        assert!(store.find_serial(&gtin(), "100000000001").unwrap().is_some());
        assert!(store.find_serial(&gtin(), "100000000500").unwrap().is_some());
        let outcome = request_serials(&mut store, &client, &gtin(), 3, &actor())
            .await
            .unwrap();
        assert_eq!(outcome.imported, 3);
        assert!(store.find_serial(&gtin(), "798922375433").unwrap().is_some());
        assert_eq!(unallocated(&store), 503);
        let seen = &fake.lock().unwrap().seen;
        assert_eq!(
            seen[0].0,
            "/serialbox/allocate/remotamol-10/500/?format=json"
        );
        assert_eq!(seen[0].1.as_deref(), Some(format!("Token {TOKEN}").as_str()));
        assert_eq!(seen[1].0, "/serialbox/allocate/remotamol-10/3/?format=json");
    });
}

#[test]
fn serialbox_partial_grant_stops_without_error() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    rt.block_on(async {
        let fake = Arc::new(Mutex::new(FakeSerialbox::default()));
        let addr = serve_fake(fake.clone()).await;
        let token = token_file(dir.path());
        let (_path, mut store, client) =
            store_with(dir.path(), &serialbox_source(addr, &token, 10));
        fake.lock().unwrap().answers.extend([
            (StatusCode::OK, r#"{"numbers":"[1, 10]","fulfilled":true,"type":"sequential","encoding":"decimal","size_granted":10}"#.to_string()),
            (StatusCode::OK, r#"{"numbers":"[11, 14]","fulfilled":false,"type":"sequential","encoding":"decimal","size_granted":4}"#.to_string()),
        ]);
        let outcome = request_serials(&mut store, &client, &gtin(), 30, &actor())
            .await
            .unwrap();
        assert_eq!((outcome.imported, outcome.requests), (14, 2));
        assert!(!outcome.fulfilled);
        assert_eq!(unallocated(&store), 14);
    });
}

#[test]
fn serialbox_nonsense_imports_nothing_and_says_what_was_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    rt.block_on(async {
        let fake = Arc::new(Mutex::new(FakeSerialbox::default()));
        let addr = serve_fake(fake.clone()).await;
        let token = token_file(dir.path());
        let (_path, mut store, client) =
            store_with(dir.path(), &serialbox_source(addr, &token, 1000));
        // One good answer first, so that a repeat of it is a duplicate.
        fake.lock().unwrap().answers.push_back((
            StatusCode::OK,
            r#"{"numbers":"[500, 509]","type":"sequential","encoding":"decimal","size_granted":10}"#.to_string(),
        ));
        request_serials(&mut store, &client, &gtin(), 10, &actor())
            .await
            .unwrap();
        let cases: [(StatusCode, &str, &str); 8] = [
            (StatusCode::OK, "<html>Server Error</html>", "not JSON"),
            (StatusCode::OK, r#"{"numbers":"[1, 2, 3]","type":"sequential"}"#, "[first, last]"),
            (StatusCode::OK, r#"{"numbers":"[20, 10]","type":"sequential"}"#, "ends before it starts"),
            (StatusCode::OK, r#"{"numbers":"[1, 5000]","type":"sequential"}"#, "asked for 10"),
            (StatusCode::OK, r#"{"numbers":"[1, 2]","type":"random","size_granted":5}"#, "size_granted"),
            (StatusCode::OK, r#"{"numbers":"[505, 1000]","type":"random"}"#, "already in the pool"),
            (StatusCode::OK, r#"{"numbers":"[77, 77]","type":"random"}"#, "duplicate"),
            (StatusCode::FORBIDDEN, r#"{"detail":"You do not have permission to perform this action."}"#, "permission"),
        ];
        for (status, body, expected) in cases {
            fake.lock().unwrap().answers.push_back((status, body.to_string()));
            let err = request_serials(&mut store, &client, &gtin(), 10, &actor())
                .await
                .unwrap_err();
            let text = err.to_string();
            assert!(text.contains(expected), "{body}: {text}");
            assert!(text.contains("nothing was imported"), "{body}: {text}");
            assert!(!text.contains(TOKEN), "{text}");
            assert_eq!(unallocated(&store), 10, "{body}");
        }
    });
}

#[test]
fn serialbox_failure_after_a_good_request_keeps_the_good_one() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    rt.block_on(async {
        let fake = Arc::new(Mutex::new(FakeSerialbox::default()));
        let addr = serve_fake(fake.clone()).await;
        let token = token_file(dir.path());
        let (_path, mut store, client) = store_with(dir.path(), &serialbox_source(addr, &token, 5));
        fake.lock().unwrap().answers.extend([
            (
                StatusCode::OK,
                r#"{"numbers":"[1, 5]","type":"sequential"}"#.to_string(),
            ),
            (StatusCode::SERVICE_UNAVAILABLE, "busy".to_string()),
        ]);
        let err = request_serials(&mut store, &client, &gtin(), 10, &actor())
            .await
            .unwrap_err();
        assert_eq!(err.imported(), 5, "{err}");
        assert!(err.to_string().contains("503"), "{err}");
        assert_eq!(unallocated(&store), 5);
    });
}

// ----- SSCCs from the serial source (`sscc request`) -----

/// A store whose client also has `[client.sscc]` (`sscc`: the table's body).
fn store_with_sscc(dir: &Path, source: &str, sscc: &str) -> (PathBuf, Store, Client) {
    let text = format!("{}\n[client.sscc]\n{sscc}\n", client_file(source));
    let report = parse_client_config("remote.toml", &text);
    let config = report
        .config
        .unwrap_or_else(|| panic!("config refused: {:?}", report.issues));
    let path = dir.join("station.sqlite");
    let mut store = Store::open(&path).unwrap();
    store.load_client_config(&config, &actor()).unwrap();
    (path, store, config.client)
}

fn available_ssccs(store: &Store) -> u64 {
    store.sscc_pool_status("remote").unwrap().available
}

fn has_sscc(store: &Store, sscc: &Sscc) -> bool {
    store
        .raw_connection()
        .query_row(
            "SELECT count(*) FROM ssccs WHERE sscc = ?1 AND client_id = 'remote'",
            [sscc.as_str()],
            |r| r.get::<_, i64>(0),
        )
        .unwrap()
        == 1
}

#[test]
fn ssccs_from_the_simulated_site_server_and_through_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let site = rt.block_on(simulated_site_server(dir.path()));
    let token = token_file(dir.path());
    let source = format!(
        r#"{{ kind = "site_server", url = "{}/serials", token_file = "{}", replenish_count = 100 }}"#,
        site.base_url(),
        token.display()
    );
    let (db, mut store, client) = store_with_sscc(
        dir.path(),
        &source,
        r#"company_prefix = "9506000"
extension_digit = 2"#,
    );
    let outcome = rt
        .block_on(request_ssccs(&mut store, &client, 250, &actor()))
        .unwrap();
    assert_eq!((outcome.imported, outcome.requests), (250, 3));
    assert!(outcome.fulfilled);
    assert_eq!(available_ssccs(&store), 250);
    // The simulated server issues references from 1,000,000 per prefix and digit.
    assert!(has_sscc(
        &store,
        &Sscc::build(2, "9506000", 1_000_000).unwrap()
    ));
    assert!(has_sscc(
        &store,
        &Sscc::build(2, "9506000", 1_000_249).unwrap()
    ));
    drop(store);

    let out = bin()
        .arg("--db")
        .arg(&db)
        .args([
            "sscc", "request", "--client", "remote", "--count", "20", "--json",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answer: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(answer["imported"], 20, "{stdout}");
    let store = Store::open_existing(&db).unwrap();
    assert_eq!(available_ssccs(&store), 270);
    assert!(has_sscc(
        &store,
        &Sscc::build(2, "9506000", 1_000_269).unwrap()
    ));
    drop(store);
    rt.block_on(site.stop());

    // A client without [client.sscc] is told what to add; nothing is asked.
    let plain = tempfile::tempdir().unwrap();
    let (db, store, _client) = store_with(plain.path(), &source);
    drop(store);
    let out = bin()
        .arg("--db")
        .arg(&db)
        .args(["sscc", "request", "--client", "remote", "--count", "5"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("[client.sscc]"), "{stderr}");
}

#[test]
fn ssccs_from_serialbox_references_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    rt.block_on(async {
        let fake = Arc::new(Mutex::new(FakeSerialbox::default()));
        let addr = serve_fake(fake.clone()).await;
        let token = token_file(dir.path());
        let (_path, mut store, client) = store_with_sscc(
            dir.path(),
            &serialbox_source(addr, &token, 1000),
            r#"company_prefix = "9506000"
extension_digit = 1
serialbox_pool = "remote-sscc""#,
        );
        fake.lock().unwrap().answers.extend([
            (
                StatusCode::OK,
                r#"{"numbers":"[5, 14]","type":"sequential","encoding":"decimal","size_granted":10}"#.to_string(),
            ),
            // The same references again: already in the store, nothing imported.
            (
                StatusCode::OK,
                r#"{"numbers":"[10, 19]","type":"sequential","encoding":"decimal","size_granted":10}"#.to_string(),
            ),
            // A reference that does not fit the 9 digits the prefix leaves.
            (
                StatusCode::OK,
                r#"{"numbers":"[7, 1000000000]","type":"random","encoding":"decimal","size_granted":2}"#.to_string(),
            ),
        ]);
        let outcome = request_ssccs(&mut store, &client, 10, &actor())
            .await
            .unwrap();
        assert_eq!(outcome.imported, 10);
        assert!(has_sscc(&store, &Sscc::build(1, "9506000", 5).unwrap()));
        assert!(has_sscc(&store, &Sscc::build(1, "9506000", 14).unwrap()));
        assert_eq!(fake.lock().unwrap().seen[0].0, "/serialbox/allocate/remote-sscc/10/?format=json");

        let err = request_ssccs(&mut store, &client, 10, &actor())
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("already in this store") && text.contains("nothing was imported"), "{text}");
        assert!(text.contains(Sscc::build(1, "9506000", 10).unwrap().as_str()), "{text}");
        assert_eq!(available_ssccs(&store), 10);

        let err = request_ssccs(&mut store, &client, 2, &actor())
            .await
            .unwrap_err();
        assert!(err.to_string().contains("does not fit"), "{err}");
        assert_eq!(available_ssccs(&store), 10);
    });
}
