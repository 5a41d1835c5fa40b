//! The one error type of GS1 validation: what was wrong and where.

use std::fmt;

/// What kind of rule a GS1 input broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Gs1ErrorKind {
    /// The input is not in any form the parser reads.
    Syntax,
    /// The AI is not in the GS1 Barcode Syntax Dictionary.
    UnknownAi,
    /// Wrong length for the AI.
    Length,
    /// A character outside the AI's character set.
    Charset,
    /// A check digit (GTIN, SSCC, GLN, ...) is wrong.
    CheckDigit,
    /// A date or time that does not exist or is out of range.
    Date,
    /// Any other linter of the dictionary (ISO codes, ranges, key rules).
    Content,
    /// A `req` or `ex` association rule, or a repeated AI with different values.
    Association,
    /// Digital Link structure: qualifier order, unknown attribute, bad domain.
    DigitalLink,
    /// EPC URI structure or company prefix length.
    Epc,
    /// The station's healthcare policy (e.g. expiry day 00, lot or serial too long).
    Policy,
}

/// A GS1 validation error: one plain sentence that says what is wrong and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gs1Error {
    pub kind: Gs1ErrorKind,
    /// The AI concerned, when there is one.
    pub ai: Option<String>,
    /// Byte offset (from 0) in the input where the problem was found, when known.
    /// Messages count positions from 1, as people do.
    pub position: Option<usize>,
    pub message: String,
}

impl Gs1Error {
    pub fn new(kind: Gs1ErrorKind, message: impl Into<String>) -> Self {
        Gs1Error {
            kind,
            ai: None,
            position: None,
            message: message.into(),
        }
    }
    pub fn with_ai(mut self, ai: impl Into<String>) -> Self {
        self.ai = Some(ai.into());
        self
    }
    pub fn at(mut self, position: usize) -> Self {
        self.position = Some(position);
        self
    }
}

impl fmt::Display for Gs1Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Gs1Error {}
