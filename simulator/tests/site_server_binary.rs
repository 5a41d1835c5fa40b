//! `serialstation-sim --site-server-only`: the simulated site server alone, started
//! as the real binary, over plain HTTP and over HTTPS with a bearer token; bad TLS
//! options are refused with exit code 2 and a message that names the problem.

mod tls_certs;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};

fn sim() -> Command {
    Command::new(env!("CARGO_BIN_EXE_serialstation-sim"))
}

/// Starts the binary and reads its lines up to `ready`.
fn start(args: &[&std::ffi::OsStr]) -> (Child, Vec<String>) {
    let mut child = sim()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if line == "ready" {
            return (child, lines);
        }
        lines.push(line);
    }
    let out = child.wait_with_output().unwrap();
    panic!(
        "the simulator ended before `ready`: {lines:?} {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn stop(mut child: Child) {
    let status = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
    assert!(child.wait().unwrap().success());
}

/// The address of the `site_server <scheme> <addr>` line.
fn site_address(lines: &[String], scheme: &str) -> SocketAddr {
    let line = lines
        .iter()
        .find(|l| l.starts_with("site_server "))
        .unwrap_or_else(|| panic!("no site_server line in {lines:?}"));
    let mut parts = line.split(' ');
    assert_eq!(parts.nth(1), Some(scheme), "{line}");
    let addr: SocketAddr = parts.next().unwrap().parse().unwrap();
    assert!(addr.ip().is_loopback() && addr.port() != 0, "{line}");
    addr
}

fn options_request(token: Option<&str>) -> String {
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    format!("OPTIONS /capture HTTP/1.1\r\nHost: localhost\r\n{auth}Connection: close\r\n\r\n")
}

/// Sends one request and returns the whole answer.
async fn exchange<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    mut stream: S,
    request: &str,
) -> String {
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    String::from_utf8_lossy(&answer).into_owned()
}

async fn https_exchange(addr: SocketAddr, ca: &Path, request: &str) -> String {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = TcpStream::connect(addr).await.unwrap();
    let tls = connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    exchange(tls, request).await
}

#[tokio::test]
async fn site_server_alone_over_plain_http() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("site.sqlite");
    let (child, lines) = start(&[
        "--site-server-only".as_ref(),
        "--site-db".as_ref(),
        db.as_os_str(),
    ]);
    assert_eq!(lines.len(), 2, "site server lines only, no line: {lines:?}");
    let addr = site_address(&lines, "http");
    assert_eq!(lines[1], format!("site_records sqlite {}", db.display()));
    let answer = exchange(
        TcpStream::connect(addr).await.unwrap(),
        &options_request(None),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 204"), "{answer}");
    assert!(
        answer
            .to_ascii_lowercase()
            .contains("gs1-epcis-capture-limit: 500"),
        "{answer}"
    );
    stop(child);
    assert!(db.is_file());
}

#[tokio::test]
async fn site_server_alone_over_https_with_a_token() {
    let dir = tempfile::tempdir().unwrap();
    let pki = tls_certs::make_pki(dir.path());
    let db = dir.path().join("site.sqlite");
    let (child, lines) = start(&[
        "--site-server-only".as_ref(),
        "--site-port".as_ref(),
        "0".as_ref(),
        "--site-db".as_ref(),
        db.as_os_str(),
        "--site-token".as_ref(),
        "t0ken".as_ref(),
        "--site-capture-limit".as_ref(),
        "42".as_ref(),
        "--tls-cert".as_ref(),
        pki.server_cert.as_os_str(),
        "--tls-key".as_ref(),
        pki.server_key.as_os_str(),
    ]);
    let addr = site_address(&lines, "https");
    let answer = https_exchange(addr, &pki.ca_cert, &options_request(Some("t0ken"))).await;
    assert!(answer.starts_with("HTTP/1.1 204"), "{answer}");
    assert!(
        answer
            .to_ascii_lowercase()
            .contains("gs1-epcis-capture-limit: 42"),
        "{answer}"
    );
    let refused = https_exchange(addr, &pki.ca_cert, &options_request(Some("wrong"))).await;
    assert!(refused.starts_with("HTTP/1.1 401"), "{refused}");
    // Plain HTTP to the HTTPS port gets no HTTP answer.
    let plain = exchange(
        TcpStream::connect(addr).await.unwrap(),
        &options_request(Some("t0ken")),
    )
    .await;
    assert!(!plain.starts_with("HTTP/1.1 2"), "{plain}");
    stop(child);
}

#[test]
fn site_server_with_the_line_prints_both() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("site.sqlite");
    let truth = dir.path().join("truth.sqlite");
    let config = dir.path().join("line.toml");
    let mut line = serialstation_simulator::SimConfig::loopback_any_port(truth.clone());
    line.simulator.images = false;
    std::fs::write(&config, toml::to_string(&line).unwrap()).unwrap();
    let (child, lines) = start(&[
        "--config".as_ref(),
        config.as_os_str(),
        "--site-port".as_ref(),
        "0".as_ref(),
        "--site-db".as_ref(),
        db.as_os_str(),
    ]);
    let starts: Vec<&str> = lines.iter().map(|l| l.split(' ').next().unwrap()).collect();
    assert_eq!(
        starts,
        [
            "site_server",
            "site_records",
            "printer",
            "camera",
            "plc",
            "control",
            "ground_truth",
            "imaging"
        ],
        "{lines:?}"
    );
    stop(child);
}

#[test]
fn bad_tls_options_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.pem");
    let db = dir.path().join("site.sqlite");

    let out = sim()
        .args(["--site-server-only", "--tls-cert"])
        .arg(&missing)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--tls-key"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = sim()
        .args(["--site-server-only", "--site-db"])
        .arg(&db)
        .arg("--tls-cert")
        .arg(&missing)
        .arg("--tls-key")
        .arg(&missing)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("missing.pem") && stderr.contains("certificate"),
        "{stderr}"
    );

    let out = sim().args(["--site-token", "x"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--site-port"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
