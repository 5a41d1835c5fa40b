//! Operator mistakes, as values: each one is a plain sentence that says what was
//! wrong and what to do. The engine never panics on an operator's input.

use std::fmt;

/// An operator command the engine refused; the engine's state is unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorError {
    pub kind: OperatorErrorKind,
    pub message: String,
}

/// What kind of mistake it was (for tests and exit codes; the message is for people).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OperatorErrorKind {
    BatchAlreadyActive,
    NoActiveBatch,
    InvalidProduct,
    InvalidLot,
    InvalidExpiry,
    InvalidQuantity,
    PoolTooSmall,
    DeviceOffline,
    WrongState,
    Unbalanced,
}

impl OperatorError {
    pub fn new(kind: OperatorErrorKind, message: impl Into<String>) -> OperatorError {
        OperatorError {
            kind,
            message: message.into(),
        }
    }
}

impl fmt::Display for OperatorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for OperatorError {}
