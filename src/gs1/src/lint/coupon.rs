//! North American coupon linters: `couponcode` (AI 8110) and `couponposoffer`
//! (AI 8112, paperless coupon). Both are digit strings made of variable-length
//! fields, each introduced by a VLI (variable length indicator) digit.

use super::{LintFailure, LintResult};
use crate::date::Gs1Date;

/// Reads digit fields off the front of a coupon value.
struct FieldReader<'a> {
    value: &'a str,
    pos: usize,
}

impl<'a> FieldReader<'a> {
    fn new(value: &'a str) -> Self {
        FieldReader { value, pos: 0 }
    }

    fn fail(&self, what: &str) -> LintFailure {
        LintFailure::content(format!(
            "coupon {}: {what} at position {}",
            self.value,
            self.pos + 1
        ))
        .at(self.pos)
    }

    fn digits(&mut self, n: usize, what: &str) -> Result<&'a str, LintFailure> {
        let end = self.pos + n;
        match self.value.get(self.pos..end) {
            Some(s) if s.bytes().all(|b| b.is_ascii_digit()) => {
                self.pos = end;
                Ok(s)
            }
            Some(_) => Err(self.fail(&format!("{what} must be {n} digits"))),
            None => Err(self.fail(&format!("{what} ({n} digits) is missing"))),
        }
    }

    fn digit(&mut self, allowed: &[u8], what: &str) -> Result<u8, LintFailure> {
        let start = self.pos;
        let d = self.digits(1, what)?.as_bytes()[0] - b'0';
        if !allowed.contains(&d) {
            self.pos = start;
            return Err(self.fail(&format!("{what} {d} is not allowed")));
        }
        Ok(d)
    }

    /// A VLI digit in `allowed` followed by `vli + extra` digits.
    fn vli_field(&mut self, allowed: &[u8], extra: usize, what: &str) -> Result<(), LintFailure> {
        let vli = self.digit(allowed, &format!("{what} length indicator"))?;
        self.digits(usize::from(vli) + extra, what).map(|_| ())
    }

    fn at_end(&self) -> bool {
        self.pos >= self.value.len()
    }
}

const REQUIREMENT_CODES: &[u8] = &[0, 1, 2, 3, 4, 9];

/// `couponcode`: the North American coupon code of AI 8110.
pub fn coupon_code(value: &str, current_year: i32) -> LintResult {
    let mut r = FieldReader::new(value);
    r.vli_field(&[0, 1, 2, 3, 4, 5, 6], 6, "company prefix")?;
    r.digits(6, "offer code")?;
    r.vli_field(&[1, 2, 3, 4, 5], 0, "save value")?;
    r.vli_field(&[1, 2, 3, 4, 5], 0, "primary purchase requirement")?;
    r.digit(REQUIREMENT_CODES, "primary purchase requirement code")?;
    r.digits(3, "primary purchase family code")?;
    let mut last_indicator = 0u8;
    let mut expiry: Option<Gs1Date> = None;
    let mut start: Option<Gs1Date> = None;
    while !r.at_end() {
        let indicator = r.digit(&[1, 2, 3, 4, 5, 6, 9], "optional field indicator")?;
        if indicator <= last_indicator {
            return Err(r.fail(&format!(
                "optional field {indicator} is repeated or out of order"
            )));
        }
        last_indicator = indicator;
        match indicator {
            1 => {
                r.digit(&[0, 1, 2, 3], "additional purchase rules code")?;
                r.vli_field(&[1, 2, 3, 4, 5], 0, "second purchase requirement")?;
                r.digit(REQUIREMENT_CODES, "second purchase requirement code")?;
                r.digits(3, "second purchase family code")?;
                company_prefix_or_same(&mut r, "second purchase company prefix")?;
            }
            2 => {
                r.vli_field(&[1, 2, 3, 4, 5], 0, "third purchase requirement")?;
                r.digit(REQUIREMENT_CODES, "third purchase requirement code")?;
                r.digits(3, "third purchase family code")?;
                company_prefix_or_same(&mut r, "third purchase company prefix")?;
            }
            3 | 4 => {
                let what = if indicator == 3 {
                    "expiration date"
                } else {
                    "start date"
                };
                let raw = r.digits(6, what)?;
                let date = Gs1Date::parse_yymmdd(raw, false, current_year).map_err(|e| {
                    LintFailure::date(format!("coupon {value}: {what} {}", e.message))
                })?;
                if indicator == 3 {
                    expiry = Some(date);
                } else {
                    start = Some(date);
                }
            }
            5 => r.vli_field(&[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 6, "serial number")?,
            6 => r.vli_field(&[1, 2, 3, 4, 5, 6, 7], 6, "retailer company prefix or GLN")?,
            _ => {
                r.digit(&[0, 1, 2, 5, 6], "save value code")?;
                r.digit(&[0, 1, 2], "save value applies to item")?;
                r.digits(1, "store coupon flag")?;
                r.digit(&[0, 1], "don't multiply flag")?;
            }
        }
    }
    if let (Some(e), Some(s)) = (expiry, start)
        && e.ordinal() < s.ordinal()
    {
        return Err(LintFailure::date(format!(
            "coupon {value}: the expiration date is before the start date"
        )));
    }
    Ok(())
}

/// A company prefix VLI 0-6 (then 6+VLI digits) or 9 ("same as the primary").
fn company_prefix_or_same(r: &mut FieldReader<'_>, what: &str) -> LintResult {
    let vli = r.digit(
        &[0, 1, 2, 3, 4, 5, 6, 9],
        &format!("{what} length indicator"),
    )?;
    if vli != 9 {
        r.digits(usize::from(vli) + 6, what)?;
    }
    Ok(())
}

/// `couponposoffer`: the paperless coupon of AI 8112.
pub fn coupon_pos_offer(value: &str) -> LintResult {
    let mut r = FieldReader::new(value);
    r.digit(&[0, 1], "coupon format")?;
    r.vli_field(&[0, 1, 2, 3, 4, 5, 6], 6, "coupon funder company prefix")?;
    r.digits(6, "offer code")?;
    r.vli_field(&[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 6, "serial number")?;
    if !r.at_end() {
        return Err(r.fail("unexpected data after the serial number"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coupons() {
        // GCP VLI 0 (6 digits), offer, save value VLI 1, requirement VLI 1, code, family.
        assert!(coupon_code("061414112345615110123", 2026).is_ok());
        assert!(coupon_code("06141411234561511012", 2026).is_err());
        assert!(coupon_code("0614141123456151101233261231", 2026).is_ok());
        assert!(coupon_code("0614141123456151101233261232", 2026).is_err());
        assert!(coupon_code("06141411234561511012332612314261201", 2026).is_ok());
        assert!(coupon_code("06141411234561511012332612014261231", 2026).is_err());
        assert!(coupon_code("06141411234561511012342612013261231", 2026).is_err());
        assert!(coupon_pos_offer("106141411234560123456").is_ok());
        assert!(coupon_pos_offer("1061414112345601234567").is_err());
    }
}
