//! GS1 keys with check digits: GTIN-8/12/13/14 (normalised to 14 digits), SSCC, GLN,
//! and the GS1 mod-10 check digit they all share.

use crate::error::{Gs1Error, Gs1ErrorKind};

/// The GS1 mod-10 check digit of `digits` (all digits *without* the check digit).
/// Weights 3,1,3,... from the right. Returns `None` if a character is not a digit.
pub fn check_digit(digits: &str) -> Option<u8> {
    check_digit_bytes(digits.as_bytes())
}

/// [`check_digit`] on bytes.
#[inline]
pub fn check_digit_bytes(digits: &[u8]) -> Option<u8> {
    let mut sum: u32 = 0;
    for (i, &b) in digits.iter().rev().enumerate() {
        if !b.is_ascii_digit() {
            return None;
        }
        let d = u32::from(b - b'0');
        sum += if i % 2 == 0 { 3 * d } else { d };
    }
    Some(((10 - sum % 10) % 10) as u8)
}

/// Checks the last digit of `key` against the mod-10 check digit of the rest.
/// `what` names the key in messages ("GTIN", "SSCC", ...).
pub fn verify_check_digit(key: &str, what: &str) -> Result<(), Gs1Error> {
    let bytes = key.as_bytes();
    if bytes.len() < 2 {
        return Err(Gs1Error::new(
            Gs1ErrorKind::Length,
            format!("{what} {key} is too short to carry a check digit"),
        ));
    }
    if let Some(p) = bytes.iter().position(|b| !b.is_ascii_digit()) {
        return Err(Gs1Error::new(
            Gs1ErrorKind::Charset,
            format!(
                "{what} {key}: character {} at position {} is not a digit",
                crate::cset::describe_char_at(key, p),
                p + 1
            ),
        ));
    }
    let (body, last) = bytes.split_at(bytes.len() - 1);
    let expected = check_digit_bytes(body).unwrap_or(0);
    let found = last[0] - b'0';
    if expected != found {
        return Err(Gs1Error::new(
            Gs1ErrorKind::CheckDigit,
            format!("check digit should be {expected}, found {found} ({what} {key})"),
        ));
    }
    Ok(())
}

/// A validated GTIN, always held as 14 digits (GTIN-8/12/13 are left-padded with zeros).
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct Gtin(String);

impl Gtin {
    /// Parses a GTIN-8, -12, -13 or -14 and checks its check digit.
    pub fn parse(s: &str) -> Result<Gtin, Gs1Error> {
        let trimmed = s.trim();
        if !matches!(trimmed.len(), 8 | 12 | 13 | 14) {
            return Err(Gs1Error::new(
                Gs1ErrorKind::Length,
                format!(
                    "GTIN {trimmed:?} has {} characters; a GTIN has 8, 12, 13 or 14 digits",
                    trimmed.chars().count()
                ),
            )
            .with_ai("01"));
        }
        let padded = format!("{trimmed:0>14}");
        verify_check_digit(&padded, "GTIN").map_err(|e| e.with_ai("01"))?;
        Ok(Gtin(padded))
    }

    /// The 14-digit form.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The indicator digit (first of the 14).
    pub fn indicator(&self) -> u8 {
        self.0.as_bytes()[0] - b'0'
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

impl std::str::FromStr for Gtin {
    type Err = Gs1Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Gtin::parse(s)
    }
}

/// A validated SSCC (18 digits, AI 00).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sscc(String);

impl Sscc {
    /// Parses 18 digits and checks the check digit.
    pub fn parse(s: &str) -> Result<Sscc, Gs1Error> {
        fixed_key(s, 18, "SSCC", "00").map(Sscc)
    }

    /// Builds the SSCC of `serial_reference` under a GS1 Company Prefix: extension
    /// digit, company prefix, serial reference left-padded with zeros to fill the
    /// 16 digits after the extension digit minus the prefix, then the check digit.
    /// Refuses a prefix outside 4–12 digits, an extension digit above 9 and a
    /// reference that does not fit.
    pub fn build(
        extension_digit: u8,
        company_prefix: &str,
        serial_reference: u64,
    ) -> Result<Sscc, Gs1Error> {
        let space = sscc_reference_digits(company_prefix)?;
        if extension_digit > 9 {
            return Err(Gs1Error::new(
                Gs1ErrorKind::Content,
                format!("SSCC extension digit {extension_digit} is not a single digit (0–9)"),
            )
            .with_ai("00"));
        }
        let limit = 10u64.pow(space as u32);
        if serial_reference >= limit {
            return Err(Gs1Error::new(
                Gs1ErrorKind::Length,
                format!(
                    "SSCC serial reference {serial_reference} does not fit in the {space} digits that company prefix {company_prefix} leaves (largest {})",
                    limit - 1
                ),
            )
            .with_ai("00"));
        }
        let body = format!("{extension_digit}{company_prefix}{serial_reference:0space$}");
        let cd = check_digit(&body).unwrap_or(0);
        Ok(Sscc(format!("{body}{cd}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The extension digit (first of the 18).
    pub fn extension_digit(&self) -> u8 {
        self.0.as_bytes()[0] - b'0'
    }

    /// Whether the SSCC was issued under `company_prefix`.
    pub fn has_company_prefix(&self, company_prefix: &str) -> bool {
        !company_prefix.is_empty() && self.0[1..].starts_with(company_prefix)
    }
}

/// How many serial-reference digits an SSCC has under `company_prefix` (16 minus the
/// prefix's length), after checking that the prefix is 4 to 12 digits.
pub fn sscc_reference_digits(company_prefix: &str) -> Result<usize, Gs1Error> {
    let len = company_prefix.len();
    if !(4..=12).contains(&len) || !company_prefix.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Gs1Error::new(
            Gs1ErrorKind::Content,
            format!(
                "GS1 Company Prefix {company_prefix:?} must be 4 to 12 digits (as GS1 issued it)"
            ),
        )
        .with_ai("00"));
    }
    Ok(16 - len)
}

impl std::fmt::Display for Sscc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for Sscc {
    type Err = Gs1Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Sscc::parse(s)
    }
}

/// A validated GLN (13 digits, AI 414 and others).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Gln(String);

impl Gln {
    /// Parses 13 digits and checks the check digit.
    pub fn parse(s: &str) -> Result<Gln, Gs1Error> {
        fixed_key(s, 13, "GLN", "414").map(Gln)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn fixed_key(s: &str, len: usize, what: &str, ai: &str) -> Result<String, Gs1Error> {
    if s.len() != len {
        return Err(Gs1Error::new(
            Gs1ErrorKind::Length,
            format!(
                "{what} {s:?} has {} characters; a {what} has {len} digits",
                s.chars().count()
            ),
        )
        .with_ai(ai));
    }
    verify_check_digit(s, what).map_err(|e| e.with_ai(ai))?;
    Ok(s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_check_digits() {
        assert_eq!(check_digit("1234567890123"), Some(1));
        assert_eq!(check_digit("0950600013435"), Some(2));
        assert_eq!(check_digit("10614141123456789"), Some(7));
        assert_eq!(check_digit("12345678901234567"), Some(5));
        assert_eq!(check_digit("12a"), None);
    }

    #[test]
    fn gtin_forms() {
        assert_eq!(
            Gtin::parse("09506000134352").map(|g| g.0),
            Ok("09506000134352".into())
        );
        assert_eq!(
            Gtin::parse("9506000134352").map(|g| g.0),
            Ok("09506000134352".into())
        );
        let err = Gtin::parse("09506000134353").unwrap_err();
        assert_eq!(err.kind, Gs1ErrorKind::CheckDigit);
        assert_eq!(
            err.message,
            "check digit should be 2, found 3 (GTIN 09506000134353)"
        );
        assert_eq!(Gtin::parse("123").unwrap_err().kind, Gs1ErrorKind::Length);
        assert!(Sscc::parse("106141411234567897").is_ok());
    }

    #[test]
    fn an_sscc_is_built_from_extension_prefix_and_reference_with_its_check_digit() {
        // The GS1 General Specifications' example: 1 0614141 123456789 7.
        let sscc = Sscc::build(1, "0614141", 123_456_789).unwrap();
        assert_eq!(sscc.as_str(), "106141411234567897");
        assert_eq!(sscc.extension_digit(), 1);
        assert!(sscc.has_company_prefix("0614141"));
        assert!(!sscc.has_company_prefix("0614142"));
        assert_eq!(Sscc::parse(sscc.as_str()), Ok(sscc));
        // The reference is padded to the space the prefix leaves.
        let short = Sscc::build(0, "061414112345", 7).unwrap();
        assert!(short.as_str().starts_with("00614141123450007"), "{short}");
        assert!(Sscc::parse(short.as_str()).is_ok());
    }

    #[test]
    fn an_sscc_that_cannot_exist_is_refused_with_the_reason() {
        let wide = Sscc::build(0, "0614141", 1_000_000_000).unwrap_err();
        assert_eq!(wide.kind, Gs1ErrorKind::Length);
        assert!(
            wide.message.contains("does not fit in the 9 digits"),
            "{}",
            wide.message
        );
        assert!(
            Sscc::build(10, "0614141", 1)
                .unwrap_err()
                .message
                .contains("extension digit")
        );
        assert!(
            Sscc::build(0, "061", 1)
                .unwrap_err()
                .message
                .contains("4 to 12 digits")
        );
        assert!(Sscc::build(0, "06141x1", 1).is_err());
        let wrong = Sscc::parse("106141411234567898").unwrap_err();
        assert_eq!(wrong.kind, Gs1ErrorKind::CheckDigit);
        assert!(
            wrong.message.contains("check digit should be 7, found 8"),
            "{}",
            wrong.message
        );
    }
}
