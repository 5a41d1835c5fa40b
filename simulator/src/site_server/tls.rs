//! HTTPS for the simulated site server: loads a PEM certificate chain and private
//! key and builds the rustls server configuration (the `ring` provider, TLS 1.2 and
//! 1.3, HTTP/1.1 only). Errors name the file and say what to fix.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Where the server's certificate chain and key are (PEM files).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteTls {
    /// The server certificate first, then any intermediates.
    pub cert: PathBuf,
    /// The private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// Why HTTPS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    #[error("cannot read {path}: {source}; check the path given for the TLS {what}")]
    Read {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Pem { path: PathBuf, message: String },
    #[error("TLS certificate {cert} and key {key} do not fit together: {message}")]
    Config {
        cert: PathBuf,
        key: PathBuf,
        message: String,
    },
}

fn read(what: &'static str, path: &Path) -> Result<Vec<u8>, TlsSetupError> {
    std::fs::read(path).map_err(|source| TlsSetupError::Read {
        what,
        path: path.to_path_buf(),
        source,
    })
}

/// Every certificate in a PEM file, in order.
pub fn load_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsSetupError> {
    let pem = read("certificate", path)?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsSetupError::Pem {
            path: path.to_path_buf(),
            message: format!("not a valid PEM certificate file ({e})"),
        })?;
    if certs.is_empty() {
        return Err(TlsSetupError::Pem {
            path: path.to_path_buf(),
            message: "holds no `BEGIN CERTIFICATE` block; give the server certificate in PEM"
                .into(),
        });
    }
    Ok(certs)
}

/// The first private key in a PEM file.
pub fn load_private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsSetupError> {
    let pem = read("key", path)?;
    PrivateKeyDer::from_pem_slice(&pem).map_err(|e| TlsSetupError::Pem {
        path: path.to_path_buf(),
        message: format!(
            "holds no usable private key ({e}); give a PEM `PRIVATE KEY`, `RSA PRIVATE KEY` or `EC PRIVATE KEY`"
        ),
    })
}

/// The rustls server configuration for `tls`.
pub fn server_config(tls: &SiteTls) -> Result<Arc<rustls::ServerConfig>, TlsSetupError> {
    let certs = load_certificates(&tls.cert)?;
    let key = load_private_key(&tls.key)?;
    let config_error = |message: String| TlsSetupError::Config {
        cert: tls.cert.clone(),
        key: tls.key.clone(),
        message,
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| config_error(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| config_error(e.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
