//! GS1 dates: YYMMDD with the sliding century window, YYMMD0 (day 00 = last day of
//! month), YYYYMMDD, and the calendar arithmetic they need (leap years, month lengths).

use crate::error::{Gs1Error, Gs1ErrorKind};

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

const MONTH_NAMES: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

// Calendar arithmetic stays hand-written here: the gs1 crate takes no dependencies.

/// True for Gregorian leap years.
pub fn is_leap_year(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

/// Number of days in `month` (1..=12) of `year`; 0 for an invalid month.
pub fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// The English name of a month (1..=12).
pub fn month_name(month: u8) -> &'static str {
    MONTH_NAMES
        .get(usize::from(month).wrapping_sub(1))
        .copied()
        .unwrap_or("invalid month")
}

/// The full year of a two-digit year under the GS1 sliding window: at most 49 years
/// in the past and 50 in the future relative to `current_year`.
pub fn full_year(yy: u8, current_year: i32) -> i32 {
    let current_century = current_year - current_year.rem_euclid(100);
    let diff = i32::from(yy) - current_year.rem_euclid(100);
    if diff >= 51 {
        current_century - 100 + i32::from(yy)
    } else if diff <= -50 {
        current_century + 100 + i32::from(yy)
    } else {
        current_century + i32::from(yy)
    }
}

/// The current calendar year (UTC) from the system clock. The one place this crate
/// reads the clock; callers that need determinism pass a year explicitly.
pub fn current_year_utc() -> i32 {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    civil_from_days(days).0
}

/// Today's date (UTC) from the system clock.
pub fn today_utc() -> Gs1Date {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (year, month, day) = civil_from_days(i64::try_from(secs / 86_400).unwrap_or(0));
    Gs1Date {
        year,
        month,
        day,
        day_was_zero: false,
    }
}

/// Converts days since 1970-01-01 into (year, month, day) in the proleptic Gregorian calendar.
fn civil_from_days(days: i64) -> (i32, u8, u8) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year as i32, month, day)
}

fn two_digits(b: &[u8]) -> u8 {
    (b[0] - b'0') * 10 + (b[1] - b'0')
}

fn date_error(message: String) -> Gs1Error {
    Gs1Error::new(Gs1ErrorKind::Date, message)
}

/// Checks month and day of an already-known year; `raw` is the text for messages.
fn check_month_day(
    raw: &str,
    year: i32,
    month: u8,
    day: u8,
    allow_day_zero: bool,
) -> Result<(), Gs1Error> {
    if !(1..=12).contains(&month) {
        return Err(date_error(format!(
            "{raw} is not a date: month {month:02} does not exist"
        )));
    }
    if day == 0 {
        if allow_day_zero {
            return Ok(());
        }
        return Err(date_error(format!(
            "{raw} is not a date: day 00 is not allowed here"
        )));
    }
    let last = days_in_month(year, month);
    if day > last {
        return Err(date_error(format!(
            "{raw} is not a date: {} {year} has {last} days",
            month_name(month)
        )));
    }
    Ok(())
}

impl Gs1Date {
    /// Parses six digits YYMMDD; `allow_day_zero` accepts DD=00 (the `yymmd0` linter).
    /// `current_year` (e.g. 2026) anchors the GS1 sliding 50-year century window.
    pub fn parse_yymmdd(
        s: &str,
        allow_day_zero: bool,
        current_year: i32,
    ) -> Result<Gs1Date, Gs1Error> {
        let b = s.as_bytes();
        if b.len() != 6 || !b.iter().all(u8::is_ascii_digit) {
            return Err(date_error(format!(
                "{s:?} is not a date: expected six digits YYMMDD"
            )));
        }
        let year = full_year(two_digits(&b[0..2]), current_year);
        let month = two_digits(&b[2..4]);
        let day = two_digits(&b[4..6]);
        check_month_day(s, year, month, day, allow_day_zero)?;
        if day == 0 {
            Ok(Gs1Date {
                year,
                month,
                day: days_in_month(year, month),
                day_was_zero: true,
            })
        } else {
            Ok(Gs1Date {
                year,
                month,
                day,
                day_was_zero: false,
            })
        }
    }

    /// Parses eight digits YYYYMMDD (no day 00).
    pub fn parse_yyyymmdd(s: &str) -> Result<Gs1Date, Gs1Error> {
        let b = s.as_bytes();
        if b.len() != 8 || !b.iter().all(u8::is_ascii_digit) {
            return Err(date_error(format!(
                "{s:?} is not a date: expected eight digits YYYYMMDD"
            )));
        }
        let year = i32::from(two_digits(&b[0..2])) * 100 + i32::from(two_digits(&b[2..4]));
        let month = two_digits(&b[4..6]);
        let day = two_digits(&b[6..8]);
        check_month_day(s, year, month, day, false)?;
        Ok(Gs1Date {
            year,
            month,
            day,
            day_was_zero: false,
        })
    }

    /// Builds a date from its parts, checking that it exists.
    pub fn from_ymd(year: i32, month: u8, day: u8) -> Result<Gs1Date, Gs1Error> {
        let raw = format!("{year:04}-{month:02}-{day:02}");
        check_month_day(&raw, year, month, day, false)?;
        Ok(Gs1Date {
            year,
            month,
            day,
            day_was_zero: false,
        })
    }

    /// Six digits YYMMDD (00 day if `day_was_zero`).
    pub fn to_yymmdd(&self) -> String {
        let day = if self.day_was_zero { 0 } else { self.day };
        format!(
            "{:02}{:02}{:02}",
            self.year.rem_euclid(100),
            self.month,
            day
        )
    }

    /// ISO 8601 `YYYY-MM-DD` (as EPCIS `cbvmda:itemExpirationDate` wants).
    pub fn to_iso(&self) -> String {
        format!("{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }

    /// The last day of this date's month.
    pub fn last_day_of_month(&self) -> u8 {
        days_in_month(self.year, self.month)
    }

    /// Calendar order key that ignores `day_was_zero`.
    pub fn ordinal(&self) -> (i32, u8, u8) {
        (self.year, self.month, self.day)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn century_window() {
        assert_eq!(full_year(26, 2026), 2026);
        assert_eq!(full_year(76, 2026), 2076);
        assert_eq!(full_year(77, 2026), 1977);
        assert_eq!(full_year(99, 2026), 1999);
        assert_eq!(full_year(0, 2026), 2000);
        assert_eq!(full_year(0, 2051), 2100);
        assert_eq!(full_year(1, 2051), 2101);
        assert_eq!(full_year(2, 2051), 2002);
        assert_eq!(full_year(49, 1999), 2049);
    }

    #[test]
    fn leap_years_and_day_zero() {
        let e = Gs1Date::parse_yymmdd("260229", true, 2026).unwrap_err();
        assert_eq!(e.message, "260229 is not a date: February 2026 has 28 days");
        assert!(Gs1Date::parse_yymmdd("280229", true, 2026).is_ok());
        let d = Gs1Date::parse_yymmdd("260200", true, 2026).unwrap();
        assert_eq!((d.day, d.day_was_zero), (28, true));
        assert_eq!(d.to_yymmdd(), "260200");
        let d = Gs1Date::parse_yymmdd("160200", true, 2026).unwrap();
        assert_eq!(d.day, 29);
        assert!(Gs1Date::parse_yymmdd("260200", false, 2026).is_err());
        assert!(Gs1Date::parse_yymmdd("261301", true, 2026).is_err());
        assert!(Gs1Date::parse_yyyymmdd("20000229").is_ok());
        assert!(Gs1Date::parse_yyyymmdd("19000229").is_err());
    }

    #[test]
    fn civil_days() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_513), (2026, 3, 1));
        assert!(current_year_utc() >= 2024);
    }
}
