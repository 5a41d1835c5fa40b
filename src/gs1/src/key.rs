//! GS1 keys with check digits: GTIN-8/12/13/14 (normalised to 14 digits), SSCC, GLN.

use crate::error::Gs1Error;

/// The GS1 mod-10 check digit of `digits` (all digits *without* the check digit).
/// Weights 3,1,3,... from the right. Returns `None` if a character is not a digit.
pub fn check_digit(digits: &str) -> Option<u8> {
    let _ = digits;
    unimplemented!("gs1::key::check_digit")
}

/// A validated GTIN, always held as 14 digits (GTIN-8/12/13 are left-padded with zeros).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Gtin(String);

impl Gtin {
    /// Parses a GTIN-8, -12, -13 or -14 and checks its check digit.
    pub fn parse(s: &str) -> Result<Gtin, Gs1Error> {
        let _ = s;
        unimplemented!("gs1::key::Gtin::parse")
    }
    /// The 14-digit form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Gtin {
    type Error = Gs1Error;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Gtin::parse(&s)
    }
}

impl From<Gtin> for String {
    fn from(g: Gtin) -> String {
        g.0
    }
}

impl std::fmt::Display for Gtin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
