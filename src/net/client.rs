//! The HTTP client every outbound call uses (rustls with the `ring` provider, no
//! proxy, no redirects), the extra CA roots a site server with its own CA needs,
//! and what a TLS failure means in words.

use std::path::Path;
use std::time::Duration;

/// An HTTP client that trusts the system's roots plus `extra_roots`, uses no
/// proxy and follows no redirect (a redirect could carry credentials elsewhere).
/// `timeout` bounds every request made with it; without one, each request sets
/// its own.
pub fn http_client(
    timeout: Option<Duration>,
    extra_roots: Vec<reqwest::Certificate>,
) -> reqwest::Result<reqwest::Client> {
    // Fails only when a provider is already installed, which is just as good.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut builder = reqwest::Client::builder()
        .tls_backend_rustls()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none());
    if let Some(timeout) = timeout {
        builder = builder.timeout(timeout);
    }
    if !extra_roots.is_empty() {
        builder = builder.tls_certs_merge(extra_roots);
    }
    builder.build()
}

/// The CA certificates of a PEM file (one or more `BEGIN CERTIFICATE` blocks);
/// the message says what is wrong with the file and what to give instead.
pub fn load_ca_file(path: &Path) -> Result<Vec<reqwest::Certificate>, String> {
    let pem = std::fs::read(path).map_err(|e| {
        format!(
            "cannot read the CA file {} ({e}); check ca_file in the client configuration",
            path.display()
        )
    })?;
    let roots = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
        format!(
            "the CA file {} is not PEM certificates ({e}); give the site server's CA certificate in PEM",
            path.display()
        )
    })?;
    if roots.is_empty() {
        return Err(format!(
            "the CA file {} holds no `BEGIN CERTIFICATE` block; give the site server's CA certificate in PEM",
            path.display()
        ));
    }
    Ok(roots)
}

/// True when the URL's host is `localhost` or a loopback address.
pub fn is_loopback(url: &reqwest::Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The rustls error behind a failed request, if TLS is why it failed.
pub fn tls_error(e: &reqwest::Error) -> Option<&rustls::Error> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(cause) = source {
        if let Some(tls) = find_tls_error(cause) {
            return Some(tls);
        }
        source = cause.source();
    }
    None
}

/// The rustls error `cause` is, or wraps inside (possibly nested) `io::Error`s, whose
/// `source()` skips the error they wrap.
fn find_tls_error<'a>(cause: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    if let Some(tls) = cause.downcast_ref::<rustls::Error>() {
        return Some(tls);
    }
    let mut io = cause.downcast_ref::<std::io::Error>();
    while let Some(wrapped) = io.and_then(|io| io.get_ref()) {
        if let Some(tls) = wrapped.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        io = wrapped.downcast_ref::<std::io::Error>();
    }
    None
}

/// What is wrong with a certificate rustls refused, in words (its `Debug` names are
/// Rust identifiers such as `UnknownIssuer`, and its `Display` falls back to them).
pub fn certificate_problem(why: &rustls::CertificateError) -> String {
    use rustls::CertificateError as C;
    let words = match why {
        C::UnknownIssuer => "it is signed by a CA this station does not trust",
        C::BadEncoding => "it cannot be read",
        C::Expired => "it has expired",
        C::NotValidYet => "it is not valid yet",
        C::NotValidForName => "it is not issued for the host name in the URL",
        C::Revoked => "it has been revoked",
        C::BadSignature => "its signature is not valid",
        C::UnhandledCriticalExtension => "it has a critical extension that cannot be checked",
        C::InvalidPurpose => "it is not issued for TLS servers",
        C::UnknownRevocationStatus => "its revocation status is unknown",
        C::ExpiredRevocationList => "the certificate revocation list has expired",
        C::ApplicationVerificationFailure => "the station's own checks refused it",
        // These carry details and have a written message of their own.
        C::ExpiredContext { .. }
        | C::NotValidYetContext { .. }
        | C::NotValidForNameContext { .. }
        | C::InvalidPurposeContext { .. }
        | C::ExpiredRevocationListContext { .. } => return why.to_string(),
        _ => "the TLS checks refused it",
    };
    words.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts() {
        let loopback = |u: &str| is_loopback(&reqwest::Url::parse(u).unwrap());
        assert!(loopback("http://127.0.0.1:8080/capture"));
        assert!(loopback("http://127.1.2.3/"));
        assert!(loopback("http://LOCALHOST/x"));
        assert!(loopback("http://[::1]:9/x"));
        assert!(!loopback("http://l3.example.com/x"));
        assert!(!loopback("http://10.0.0.1/x"));
        assert!(!loopback("http://[::2]/x"));
    }

    #[test]
    fn ca_files_must_hold_pem_certificates() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("no-such-ca.pem");
        let e = load_ca_file(&missing).unwrap_err();
        assert!(e.contains("no-such-ca.pem") && e.contains("ca_file"), "{e}");
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let e = load_ca_file(&empty).unwrap_err();
        assert!(e.contains("empty.pem") && e.contains("PEM"), "{e}");
    }

    #[test]
    fn certificate_problems_are_words() {
        assert_eq!(
            certificate_problem(&rustls::CertificateError::UnknownIssuer),
            "it is signed by a CA this station does not trust"
        );
        assert_eq!(
            certificate_problem(&rustls::CertificateError::Expired),
            "it has expired"
        );
    }

    #[test]
    fn clients_build_with_and_without_a_timeout() {
        assert!(http_client(None, Vec::new()).is_ok());
        assert!(http_client(Some(Duration::from_secs(5)), Vec::new()).is_ok());
    }
}
