//! Element strings: a validated list of (AI, value) pairs, read from and written to
//! every form the station meets.

use crate::error::Gs1Error;

/// One AI and its value.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AiValue {
    pub ai: String,
    pub value: String,
}

/// A GS1 element string whose every AI, value and association rule has been validated
/// against the GS1 Barcode Syntax Dictionary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElementString {
    ais: Vec<AiValue>,
}

impl ElementString {
    /// Reads any supported form, detected from its first characters:
    /// bracketed HRI `(01)...`, FNC1 notation `^01...`, scan data with a symbology
    /// identifier (`]d2`, `]C1`, `]Q3`, `]e0`, `]J1`; GS = 0x1D separators), or a
    /// GS1 Digital Link URI (`http(s)://...`). A `]d1`-prefixed Digital Link URI is read
    /// as Digital Link; other `]d1` data is refused as not GS1.
    pub fn parse(input: &str) -> Result<ElementString, Gs1Error> {
        let _ = input;
        unimplemented!("gs1::element::ElementString::parse")
    }

    /// Builds and validates an element string from pairs, in the given order.
    pub fn from_pairs<I, A, V>(pairs: I) -> Result<ElementString, Gs1Error>
    where
        I: IntoIterator<Item = (A, V)>,
        A: Into<String>,
        V: Into<String>,
    {
        let _pairs: Vec<(String, String)> =
            pairs.into_iter().map(|(a, v)| (a.into(), v.into())).collect();
        unimplemented!("gs1::element::ElementString::from_pairs")
    }

    pub fn ais(&self) -> &[AiValue] {
        &self.ais
    }

    /// The value of the first occurrence of `ai`.
    pub fn get(&self, ai: &str) -> Option<&str> {
        self.ais.iter().find(|p| p.ai == ai).map(|p| p.value.as_str())
    }

    /// Bracketed human-readable form: `(01)09506000134352(17)261231(10)ABC123(21)SN0001`.
    pub fn to_hri(&self) -> String {
        unimplemented!("gs1::element::ElementString::to_hri")
    }

    /// FNC1 notation with `^` for every FNC1: `^0109506000134352172612311 0ABC123^21SN0001`.
    /// FNC1 separators only where required (after a variable-length AI that is not last).
    pub fn to_fnc1(&self) -> String {
        unimplemented!("gs1::element::ElementString::to_fnc1")
    }

    /// The data an encoder takes in GS1 mode: no leading FNC1, GS (0x1D) only where required.
    pub fn to_encoder_data(&self) -> String {
        unimplemented!("gs1::element::ElementString::to_encoder_data")
    }

    /// Same pairs, predefined-length AIs first (fewer separators; GS1 allows it).
    pub fn with_fixed_length_first(&self) -> ElementString {
        unimplemented!("gs1::element::ElementString::with_fixed_length_first")
    }

    /// GS1 Digital Link URI on `base` (e.g. `https://id.gs1.org`).
    pub fn to_digital_link(&self, base: &str) -> Result<String, Gs1Error> {
        let _ = base;
        unimplemented!("gs1::element::ElementString::to_digital_link")
    }
}
