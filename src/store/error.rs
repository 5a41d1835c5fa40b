//! The store's error type: every failure says what was being done and, where the
//! operator can act, what to do.

use crate::store::state::SerialState;

/// Result of a store operation.
pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite refused or failed; `context` says what the store was doing.
    #[error("{context}: {source}")]
    Sqlite {
        context: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error(
        "the store {path} has schema version {found}, but this program knows only up to {supported}: \
         use the serialstation version that created it, or a newer one"
    )]
    NewerSchema {
        path: String,
        found: i64,
        supported: i64,
    },
    #[error("{0}")]
    NotFound(String),
    #[error("serial {serial} of GTIN {gtin} is {from}; it cannot become {to}")]
    IllegalTransition {
        gtin: String,
        serial: String,
        from: SerialState,
        to: SerialState,
    },
    /// The request itself is wrong (bad argument, inconsistent data); the message says what to change.
    #[error("{0}")]
    Invalid(String),
    /// Stored data could not be read back (corrupt row, unknown state code, bad JSON).
    #[error("the store holds data this program cannot read: {0}")]
    Corrupt(String),
    /// A signature was refused (wrong password, locked or unknown account); the
    /// refusal itself is in the audit trail.
    #[error("{0}")]
    SignatureRefused(String),
    /// The operator stopped long work (Ctrl-C); its transaction rolled back.
    #[error("{0}")]
    Cancelled(String),
    /// SQLite found damaged pages; the message says what to do. Nothing was written.
    #[error("{0}")]
    Damaged(String),
    /// The file is not a station store (another application's database, or not a
    /// database at all). Nothing was written.
    #[error("{0}")]
    Foreign(String),
}

/// Adds "what the store was doing" to rusqlite errors.
pub(crate) trait SqlContext<T> {
    fn context(self, what: &str) -> StoreResult<T>;
}

impl<T> SqlContext<T> for Result<T, rusqlite::Error> {
    fn context(self, what: &str) -> StoreResult<T> {
        self.map_err(|source| match source.sqlite_error_code() {
            // A damaged page met in the middle of work: the transaction rolls back, and
            // the operator needs to know it is the file, not the request.
            Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase) => {
                crate::store::integrity::damaged("in use", &[format!("{source}, while {what}")])
            }
            _ => StoreError::Sqlite {
                context: what.to_string(),
                source,
            },
        })
    }
}
