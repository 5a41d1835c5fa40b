//! Element strings: a validated list of (AI, value) pairs, read from and written to
//! every form the station meets (bracketed HRI, FNC1 notation, encoder data, scan
//! data, GS1 Digital Link).

use crate::ai::{AiEntry, lookup};
use crate::date::current_year_utc;
use crate::error::{Gs1Error, Gs1ErrorKind};
use crate::lint::LintContext;
use crate::read::{GS, RawPair, ScanKind, classify_symbology, split_element_string, split_hri};
use crate::validate::{Occurrence, validate_associations, validate_value};

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

/// The form a piece of GS1 data was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputForm {
    /// `(01)...(10)...`
    BracketedHri,
    /// `^01...^10...` (or a leading GS byte)
    Fnc1Notation,
    /// Element string without a leading FNC1, GS separators (what an encoder takes).
    EncoderData,
    /// Scan data with a GS1 symbology identifier (`]d2`, `]C1`, ...).
    ScanData,
    /// A GS1 Digital Link URI (optionally after a `]d1`/`]Q1` symbology identifier).
    DigitalLink,
}

/// Detects the form of `input` from its first characters.
pub fn detect_form(input: &str) -> Result<InputForm, Gs1Error> {
    let bytes = input.as_bytes();
    match bytes.first() {
        None => Err(Gs1Error::new(Gs1ErrorKind::Syntax, "the data is empty")),
        Some(b'(') => Ok(InputForm::BracketedHri),
        Some(b'^') | Some(&GS) => Ok(InputForm::Fnc1Notation),
        Some(b']') => Ok(InputForm::ScanData),
        Some(b'0'..=b'9') => Ok(InputForm::EncoderData),
        Some(_) if crate::digital_link::looks_like_uri(input) => Ok(InputForm::DigitalLink),
        Some(_) => Err(Gs1Error::new(
            Gs1ErrorKind::Syntax,
            format!(
                "data starting with {} is not GS1 data: expected (01)... bracketed, ^01... FNC1 notation, ]d2... scan data or an https:// Digital Link",
                crate::cset::describe_char_at(input, 0)
            ),
        )
        .at(0)),
    }
}

impl ElementString {
    /// Reads any supported form, detected from its first characters:
    /// bracketed HRI `(01)...`, FNC1 notation `^01...`, scan data with a symbology
    /// identifier (`]d2`, `]C1`, `]Q3`, `]e0`, `]J1`; GS = 0x1D separators), or a
    /// GS1 Digital Link URI (`http(s)://...`). A `]d1`-prefixed Digital Link URI is read
    /// as Digital Link; other `]d1` data is refused as not GS1.
    /// Two-digit years are placed with the sliding century window around the current year.
    pub fn parse(input: &str) -> Result<ElementString, Gs1Error> {
        Self::parse_with_year(input, current_year_utc())
    }

    /// [`ElementString::parse`] with an explicit current year (deterministic).
    pub fn parse_with_year(input: &str, current_year: i32) -> Result<ElementString, Gs1Error> {
        let ctx = LintContext { current_year };
        let pairs = match detect_form(input)? {
            InputForm::BracketedHri => split_hri(input)?,
            InputForm::Fnc1Notation => split_element_string(input, 1, &[b'^', GS])?,
            InputForm::EncoderData => split_element_string(input, 0, &[GS, b'^'])?,
            InputForm::DigitalLink => crate::digital_link::split_digital_link(input, 0)?,
            InputForm::ScanData => split_scan_data(input)?,
        };
        Self::from_raw_pairs(&pairs, &ctx)
    }

    fn from_raw_pairs(pairs: &[RawPair<'_>], ctx: &LintContext) -> Result<ElementString, Gs1Error> {
        if pairs.is_empty() {
            return Err(Gs1Error::new(Gs1ErrorKind::Syntax, "the data holds no AI"));
        }
        for p in pairs {
            validate_value(p.entry, &p.value, Some(p.value_pos), ctx)?;
        }
        validate_associations(pairs)?;
        Ok(ElementString {
            ais: pairs
                .iter()
                .map(|p| AiValue {
                    ai: p.entry.ai.to_string(),
                    value: p.value.to_string(),
                })
                .collect(),
        })
    }

    /// Builds and validates an element string from pairs, in the given order.
    pub fn from_pairs<I, A, V>(pairs: I) -> Result<ElementString, Gs1Error>
    where
        I: IntoIterator<Item = (A, V)>,
        A: Into<String>,
        V: Into<String>,
    {
        Self::from_pairs_with_year(pairs, current_year_utc())
    }

    /// [`ElementString::from_pairs`] with an explicit current year.
    pub fn from_pairs_with_year<I, A, V>(
        pairs: I,
        current_year: i32,
    ) -> Result<ElementString, Gs1Error>
    where
        I: IntoIterator<Item = (A, V)>,
        A: Into<String>,
        V: Into<String>,
    {
        let ctx = LintContext { current_year };
        let mut entries: Vec<(&'static AiEntry, String)> = Vec::new();
        for (a, v) in pairs {
            let ai: String = a.into();
            let entry = lookup(&ai).ok_or_else(|| {
                Gs1Error::new(
                    Gs1ErrorKind::UnknownAi,
                    format!("({ai}) is not an AI of the GS1 Barcode Syntax Dictionary"),
                )
                .with_ai(ai.clone())
            })?;
            entries.push((entry, v.into()));
        }
        if entries.is_empty() {
            return Err(Gs1Error::new(
                Gs1ErrorKind::Syntax,
                "an element string needs at least one AI",
            ));
        }
        for (entry, value) in &entries {
            validate_value(entry, value, None, &ctx)?;
        }
        let occurrences: Vec<Occurrence<'_>> = entries
            .iter()
            .map(|(entry, value)| Occurrence { entry, value })
            .collect();
        validate_associations(&occurrences)?;
        Ok(ElementString {
            ais: entries
                .into_iter()
                .map(|(e, value)| AiValue {
                    ai: e.ai.to_string(),
                    value,
                })
                .collect(),
        })
    }

    pub fn ais(&self) -> &[AiValue] {
        &self.ais
    }

    /// The value of the first occurrence of `ai`.
    pub fn get(&self, ai: &str) -> Option<&str> {
        self.ais
            .iter()
            .find(|p| p.ai == ai)
            .map(|p| p.value.as_str())
    }

    fn entry_of(ai: &str) -> Option<&'static AiEntry> {
        lookup(ai)
    }

    /// True if the AI must be followed by an FNC1 separator when it is not last.
    fn needs_separator(ai: &str) -> bool {
        Self::entry_of(ai).is_none_or(|e| e.fnc1_required)
    }

    /// Bracketed human-readable form: `(01)09506000134352(17)261231(10)ABC123(21)SN0001`.
    /// A `(` inside a value is written `\(`.
    pub fn to_hri(&self) -> String {
        let mut out = String::with_capacity(64);
        for p in &self.ais {
            out.push('(');
            out.push_str(&p.ai);
            out.push(')');
            if p.value.contains('(') {
                out.push_str(&p.value.replace('(', "\\("));
            } else {
                out.push_str(&p.value);
            }
        }
        out
    }

    fn joined(&self, leading: Option<char>, separator: char) -> String {
        let mut out = String::with_capacity(64);
        if let Some(c) = leading {
            out.push(c);
        }
        let last = self.ais.len().saturating_sub(1);
        for (i, p) in self.ais.iter().enumerate() {
            out.push_str(&p.ai);
            out.push_str(&p.value);
            if i < last && Self::needs_separator(&p.ai) {
                out.push(separator);
            }
        }
        out
    }

    /// FNC1 notation with `^` for every FNC1: `^01095060001343521726123110ABC123^21SN0001`.
    /// FNC1 separators only where required (after a variable-length AI that is not last).
    pub fn to_fnc1(&self) -> String {
        self.joined(Some('^'), '^')
    }

    /// The data an encoder takes in GS1 mode: no leading FNC1, GS (0x1D) only where required.
    pub fn to_encoder_data(&self) -> String {
        self.joined(None, char::from(GS))
    }

    /// What a scanner transmits for this element string in a GS1 DataMatrix:
    /// `]d2` followed by the encoder data.
    pub fn to_scan_data(&self) -> String {
        format!("]d2{}", self.to_encoder_data())
    }

    /// Same pairs, predefined-length AIs first (fewer separators; GS1 allows it).
    pub fn with_fixed_length_first(&self) -> ElementString {
        let (fixed, variable): (Vec<AiValue>, Vec<AiValue>) = self
            .ais
            .iter()
            .cloned()
            .partition(|p| !Self::needs_separator(&p.ai));
        ElementString {
            ais: fixed.into_iter().chain(variable).collect(),
        }
    }

    /// GS1 Digital Link URI on `base` (e.g. `https://id.gs1.org`).
    pub fn to_digital_link(&self, base: &str) -> Result<String, Gs1Error> {
        crate::digital_link::to_digital_link(&self.ais, base)
    }
}

/// Reads scan data: a symbology identifier then GS1 data.
fn split_scan_data(input: &str) -> Result<Vec<RawPair<'_>>, Gs1Error> {
    let Some(identifier) = input.get(..3) else {
        return Err(Gs1Error::new(
            Gs1ErrorKind::Syntax,
            format!("{input:?} is too short to be scan data: expected a symbology identifier such as ]d2"),
        )
        .at(0));
    };
    match classify_symbology(identifier) {
        Some(ScanKind::Gs1ElementString) => {
            if input.as_bytes().get(3) == Some(&GS) {
                return Err(Gs1Error::new(
                    Gs1ErrorKind::Syntax,
                    format!("position 4: a GS separator directly after {identifier} is invalid (the symbology identifier already stands for the leading FNC1)"),
                )
                .at(3));
            }
            split_element_string(input, 3, &[GS])
        }
        Some(ScanKind::PlainData) => {
            let rest = &input[3..];
            if crate::digital_link::looks_like_uri(rest) {
                crate::digital_link::split_digital_link(input, 3)
            } else {
                Err(Gs1Error::new(
                    Gs1ErrorKind::Syntax,
                    format!("scan data {identifier} is plain data, not GS1 (no FNC1 in first position) and not a GS1 Digital Link URI"),
                )
                .at(0))
            }
        }
        None => Err(Gs1Error::new(
            Gs1ErrorKind::Syntax,
            format!("scan data starts with {identifier:?}, which is not a symbology identifier the station reads (]d2, ]C1, ]Q3, ]e0, ]J1, or ]d1/]Q1 with a Digital Link)"),
        )
        .at(0)),
    }
}
