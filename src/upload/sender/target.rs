//! Where and how one client's chunks are sent: the capture URL, the protocol, the
//! credentials (loaded through `net::secret` from a secrets file or an environment
//! variable named in the client configuration, never logged), timeouts and backoff.

use std::path::PathBuf;
use std::time::Duration;

/// Where the secret is read from: the configuration's own [`crate::config::SecretSource`].
pub use crate::config::SecretSource as CredentialSource;
use crate::net::{Backoff, Secret};

/// The wait between failed attempts to one site server: 1 s doubling up to 5 min
/// (with jitter, `net::jittered`).
pub const DEFAULT_BACKOFF: Backoff = Backoff {
    initial: Duration::from_secs(1),
    max: Duration::from_secs(300),
};

/// Why the sender cannot be set up or cannot continue.
#[derive(Debug, thiserror::Error)]
pub enum SenderError {
    /// The client's upload target is not usable as configured.
    #[error("upload target of client {client}: {message}")]
    Target { client: String, message: String },
    /// The HTTP client could not be built.
    #[error("cannot set up HTTPS: {0}")]
    Http(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// The site server's capture interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptureProtocol {
    /// EPCIS 2.0: `POST` to the capture URL → 202 + `Location`, then poll the job.
    Epcis2Capture,
    /// EPCIS 1.2: a synchronous `POST` of the XML document; 2xx means stored.
    Epcis12,
}

/// How the secret is presented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialScheme {
    /// `Authorization: Bearer <secret>`.
    Bearer,
    /// `Authorization: Basic`, the secret being `user:password`.
    Basic,
    /// `Authorization: Token <secret>` (Django REST framework, e.g. QU4RTET).
    Token,
}

/// A loaded credential. Its `Debug` form never shows the secret.
#[derive(Clone)]
pub struct Credentials {
    scheme: CredentialScheme,
    secret: Secret,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({:?}, <redacted>)", self.scheme)
    }
}

impl Credentials {
    /// Reads the secret named by `source`.
    pub fn load(
        client: &str,
        scheme: CredentialScheme,
        source: &CredentialSource,
    ) -> Result<Credentials, SenderError> {
        let fail = |message: String| SenderError::Target {
            client: client.to_string(),
            message,
        };
        let secret = Secret::load(source, "the site server's secret").map_err(fail)?;
        let text = secret.expose();
        if text.chars().any(|c| c.is_control() || !c.is_ascii()) {
            return Err(fail(
                "the site server credentials hold characters an HTTP header cannot carry (control characters or non-ASCII); check the secret"
                    .to_string(),
            ));
        }
        if scheme == CredentialScheme::Basic && !text.contains(':') {
            return Err(fail(
                "basic credentials must be written as user:password".to_string(),
            ));
        }
        Ok(Credentials { scheme, secret })
    }

    pub(crate) fn apply(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        let secret = self.secret.expose();
        match self.scheme {
            CredentialScheme::Bearer => request.bearer_auth(secret),
            CredentialScheme::Basic => {
                let (user, password) = secret.split_once(':').unwrap_or((secret, ""));
                request.basic_auth(user, Some(password))
            }
            CredentialScheme::Token => {
                let mut value = reqwest::header::HeaderValue::from_str(&format!("Token {secret}"))
                    .unwrap_or_else(|_| reqwest::header::HeaderValue::from_static(""));
                value.set_sensitive(true);
                request.header(reqwest::header::AUTHORIZATION, value)
            }
        }
    }
}

/// One client's upload target.
#[derive(Debug, Clone)]
pub struct SiteTarget {
    pub client_id: String,
    /// EPCIS 2.0: the `/capture` URL; EPCIS 1.2: the capture endpoint.
    pub capture_url: reqwest::Url,
    pub protocol: CaptureProtocol,
    pub credentials: Option<Credentials>,
    /// Timeout of each HTTP request (connect, send, answer).
    pub request_timeout: Duration,
    /// Wait between two polls of a running capture job.
    pub poll_interval: Duration,
    /// Polls of one job within one attempt before the attempt counts as failed (the
    /// capture ID is kept, so the next attempt polls again rather than resending).
    pub max_polls_per_attempt: u32,
    pub backoff: Backoff,
    /// A PEM file of extra CA certificates to trust for this site server (besides
    /// the system's roots), for a site server with its own CA.
    pub ca_file: Option<PathBuf>,
}

impl SiteTarget {
    /// Checks the URL: `https`, or plain `http` only to a loopback host unless
    /// `allow_plain_http`; no credentials inside the URL.
    pub fn new(
        client_id: &str,
        capture_url: &str,
        protocol: CaptureProtocol,
        credentials: Option<Credentials>,
        allow_plain_http: bool,
    ) -> Result<SiteTarget, SenderError> {
        let fail = |message: String| SenderError::Target {
            client: client_id.to_string(),
            message,
        };
        let url = reqwest::Url::parse(capture_url)
            .map_err(|e| fail(format!("{capture_url:?} is not a URL: {e}")))?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(fail(
                "the URL carries credentials; put them in the secrets file or environment variable instead"
                    .to_string(),
            ));
        }
        match url.scheme() {
            "https" => {}
            "http" if allow_plain_http || crate::net::is_loopback(&url) => {}
            "http" => {
                return Err(fail(format!(
                    "{capture_url} is plain HTTP to a host that is not loopback; use https, or set allow_plain_http if this network is trusted"
                )));
            }
            other => return Err(fail(format!("URL scheme {other:?} is not http or https"))),
        }
        Ok(SiteTarget {
            client_id: client_id.to_string(),
            capture_url: url,
            protocol,
            credentials,
            request_timeout: Duration::from_secs(30),
            poll_interval: Duration::from_millis(500),
            max_polls_per_attempt: 120,
            backoff: DEFAULT_BACKOFF,
            ca_file: None,
        })
    }
}

impl SiteTarget {
    /// The target a validated client configuration describes: its capture protocol
    /// (EPCIS 2.0 capture or the 1.2 endpoint), credentials read now from the
    /// environment variable or secrets file it names, its CA file, its request
    /// timeout. Plain HTTP only to loopback unless the configuration allows it.
    pub fn from_client_config(
        client_id: &str,
        upload: &crate::config::UploadTarget,
    ) -> Result<SiteTarget, SenderError> {
        use crate::config::model::{UploadAuth, UploadProtocol};
        let protocol = match upload.protocol() {
            UploadProtocol::Epcis2Capture => CaptureProtocol::Epcis2Capture,
            UploadProtocol::Epcis12 => CaptureProtocol::Epcis12,
        };
        let scheme = match upload.auth() {
            UploadAuth::None => None,
            UploadAuth::Bearer => Some(CredentialScheme::Bearer),
            UploadAuth::Basic => Some(CredentialScheme::Basic),
            UploadAuth::Token => Some(CredentialScheme::Token),
        };
        let source = match (&upload.token_env, &upload.secrets_file) {
            (Some(name), _) => Some(CredentialSource::Env(name.clone())),
            (None, Some(path)) => Some(CredentialSource::File(path.clone())),
            (None, None) => None,
        };
        let credentials = match (scheme, source) {
            (Some(scheme), Some(source)) => Some(Credentials::load(client_id, scheme, &source)?),
            (Some(_), None) => {
                return Err(SenderError::Target {
                    client: client_id.to_string(),
                    message: "the configured authentication needs a secret: name it with token_env or secrets_file".to_string(),
                });
            }
            (None, _) => None,
        };
        let mut target = SiteTarget::new(
            client_id,
            &upload.url,
            protocol,
            credentials,
            upload.allow_plain_http,
        )?;
        target.request_timeout = Duration::from_secs(u64::from(upload.timeout_s.max(1)));
        target.ca_file = upload.ca_file.clone();
        Ok(target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_to_loopback() {
        let ok = |u: &str, allow| {
            SiteTarget::new("c", u, CaptureProtocol::Epcis2Capture, None, allow).is_ok()
        };
        assert!(ok("http://127.0.0.1:8080/capture", false));
        assert!(ok("http://localhost/capture", false));
        assert!(ok("http://[::1]/capture", false));
        assert!(!ok("http://l3.example.com/capture", false));
        assert!(ok("http://l3.example.com/capture", true));
        assert!(ok("https://l3.example.com/capture", false));
        assert!(!ok("https://user:pw@l3.example.com/capture", false));
        assert!(!ok("ftp://l3.example.com/capture", false));
    }

    #[test]
    fn secrets_are_never_shown() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "s3cret\n").unwrap();
        let c = Credentials::load("c", CredentialScheme::Bearer, &CredentialSource::File(path))
            .unwrap();
        assert!(!format!("{c:?}").contains("s3cret"));
        assert!(
            Credentials::load(
                "c",
                CredentialScheme::Bearer,
                &CredentialSource::Env("SERIALSTATION_TEST_UNSET_VAR".into())
            )
            .is_err()
        );
    }

    #[test]
    fn secrets_must_fit_the_header_that_carries_them() {
        let dir = tempfile::tempdir().unwrap();
        let load = |text: &str, scheme: CredentialScheme| {
            let path = dir.path().join("secret");
            std::fs::write(&path, text).unwrap();
            Credentials::load("c", scheme, &CredentialSource::File(path))
        };
        assert!(load("user:pw\n", CredentialScheme::Basic).is_ok());
        assert!(load("user-without-password", CredentialScheme::Basic).is_err());
        assert!(load("with space", CredentialScheme::Bearer).is_ok());
        assert!(load("t\u{f6}ken", CredentialScheme::Bearer).is_err());
        assert!(load("a\u{7}b", CredentialScheme::Token).is_err());
        let e = load("   \n", CredentialScheme::Bearer)
            .unwrap_err()
            .to_string();
        assert!(e.contains("client c") && e.contains("empty"), "{e}");
    }
}
