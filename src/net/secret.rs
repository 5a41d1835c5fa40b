//! Secrets for outbound HTTP (tokens, passwords): read when needed from the
//! environment variable or file the configuration names (`config::SecretSource`),
//! never part of a configuration, never shown (not in `Debug`, not in messages).
//! How a secret may look depends on how it is presented, so each caller checks
//! that itself.

use crate::config::SecretSource;

/// A secret. Its `Debug` form never shows it.
#[derive(Clone)]
pub struct Secret(String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl Secret {
    /// Reads the secret `source` names, without surrounding whitespace; refuses an
    /// empty one. `what` names the secret in messages (e.g. "the serial source's
    /// token"); the messages say where it was looked for, never its value.
    pub fn load(source: &SecretSource, what: &str) -> Result<Secret, String> {
        let text = match source {
            SecretSource::Env(name) => std::env::var(name).map_err(|_| {
                format!(
                    "the environment variable {name} that should hold {what} is not set (or not UTF-8); set it before running"
                )
            })?,
            SecretSource::File(path) => std::fs::read_to_string(path).map_err(|e| {
                format!(
                    "cannot read the secrets file {}: {e}; check the path and its permissions",
                    path.display()
                )
            })?,
        };
        let text = text.trim();
        if text.is_empty() {
            return Err(format!("{what} is empty"));
        }
        Ok(Secret(text.to_string()))
    }

    /// The secret itself, for the request header that carries it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_read_trimmed_and_never_shown() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "  s3cret\n").unwrap();
        let secret = Secret::load(&SecretSource::File(path), "the token").unwrap();
        assert_eq!(secret.expose(), "s3cret");
        assert!(!format!("{secret:?}").contains("s3cret"));
    }

    #[test]
    fn failures_say_where_the_secret_was_looked_for() {
        let dir = tempfile::tempdir().unwrap();
        let e = Secret::load(
            &SecretSource::Env("SERIALSTATION_TEST_UNSET_VAR".into()),
            "the token",
        )
        .unwrap_err();
        assert!(
            e.contains("SERIALSTATION_TEST_UNSET_VAR") && e.contains("the token"),
            "{e}"
        );
        let missing = dir.path().join("no-such-token");
        let e = Secret::load(&SecretSource::File(missing), "the token").unwrap_err();
        assert!(e.contains("no-such-token"), "{e}");
        let blank = dir.path().join("blank");
        std::fs::write(&blank, " \n\t\n").unwrap();
        let e = Secret::load(&SecretSource::File(blank), "the token").unwrap_err();
        assert_eq!(e, "the token is empty");
    }
}
