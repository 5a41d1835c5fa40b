//! GS1 dates: YYMMDD with the sliding century window, YYMMD0 (day 00 = last day of month).

use crate::error::Gs1Error;

/// A calendar date as GS1 encodes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Gs1Date {
    pub year: i32,
    pub month: u8,
    /// 1..=31; a YYMMD0 date with day 00 is resolved to the last day of the month
    /// and `day_was_zero` is set.
    pub day: u8,
    pub day_was_zero: bool,
}

impl Gs1Date {
    /// Parses six digits YYMMDD; `allow_day_zero` accepts DD=00 (the `yymmd0` linter).
    /// `current_year` (e.g. 2026) anchors the GS1 sliding 50-year century window.
    pub fn parse_yymmdd(s: &str, allow_day_zero: bool, current_year: i32) -> Result<Gs1Date, Gs1Error> {
        let _ = (s, allow_day_zero, current_year);
        unimplemented!("gs1::date::Gs1Date::parse_yymmdd")
    }
    /// Six digits YYMMDD (00 day if `day_was_zero`).
    pub fn to_yymmdd(&self) -> String {
        unimplemented!("gs1::date::Gs1Date::to_yymmdd")
    }
    /// ISO 8601 `YYYY-MM-DD` (as EPCIS `cbvmda:itemExpirationDate` wants).
    pub fn to_iso(&self) -> String {
        format!("{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}
