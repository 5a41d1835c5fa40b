//! EPCIS timestamps: an instant with millisecond precision plus the time-zone offset
//! it was recorded in (`eventTime` + `eventTimeZoneOffset`).
//!
//! Pure calendar arithmetic (proleptic Gregorian, days-from-civil), no time crate:
//! documents show the local time with its offset, event hashes the same instant in
//! UTC (`...Z`), both always with exactly three fractional digits.

use std::fmt;

use super::error::DocumentError;

const MILLIS_PER_DAY: i64 = 86_400_000;
/// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z, in Unix milliseconds.
const MIN_UNIX_MILLIS: i64 = -62_135_596_800_000;
const MAX_UNIX_MILLIS: i64 = 253_402_300_799_999;

/// A time-zone offset as EPCIS writes it: `+HH:MM` / `-HH:MM`, from -14:00 to +14:00
/// (the schema's pattern `^[+-]((0[0-9]|1[0-3]):[0-5][0-9]|14:00)$`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimeZoneOffset {
    minutes: i16,
}

impl TimeZoneOffset {
    /// UTC, written `+00:00`.
    pub const UTC: TimeZoneOffset = TimeZoneOffset { minutes: 0 };

    /// An offset east of UTC in minutes (negative = west), within ±14:00.
    pub fn from_minutes(minutes: i32) -> Result<TimeZoneOffset, DocumentError> {
        if !(-14 * 60..=14 * 60).contains(&minutes) {
            return Err(DocumentError::Time(format!(
                "time-zone offset of {minutes} minutes is outside -14:00..+14:00; set the line's time zone to a real UTC offset"
            )));
        }
        Ok(TimeZoneOffset {
            minutes: minutes as i16,
        })
    }

    /// Parses `+HH:MM`, `-HH:MM` or `Z`.
    pub fn parse(text: &str) -> Result<TimeZoneOffset, DocumentError> {
        if text == "Z" {
            return Ok(TimeZoneOffset::UTC);
        }
        let bad = || {
            DocumentError::Time(format!(
                "time-zone offset \"{text}\" is not of the form +HH:MM or -HH:MM (e.g. +01:00)"
            ))
        };
        let bytes = text.as_bytes();
        if bytes.len() != 6 || bytes[3] != b':' {
            return Err(bad());
        }
        let sign = match bytes[0] {
            b'+' => 1,
            b'-' => -1,
            _ => return Err(bad()),
        };
        let hours = two_digits(&bytes[1..3]).ok_or_else(bad)?;
        let minutes = two_digits(&bytes[4..6]).ok_or_else(bad)?;
        if minutes > 59 {
            return Err(bad());
        }
        TimeZoneOffset::from_minutes(sign * (hours * 60 + minutes))
    }

    /// Minutes east of UTC.
    pub fn minutes(self) -> i32 {
        i32::from(self.minutes)
    }
}

impl fmt::Display for TimeZoneOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.minutes < 0 { '-' } else { '+' };
        let abs = self.minutes.unsigned_abs();
        write!(f, "{sign}{:02}:{:02}", abs / 60, abs % 60)
    }
}

/// The instant an event happened, in milliseconds, and the offset of the place where
/// it happened. Stored (serde) as its RFC 3339 local form, which reads back exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EventTime {
    unix_millis: i64,
    offset: TimeZoneOffset,
}

impl EventTime {
    /// An instant (milliseconds since 1970-01-01T00:00:00Z) seen in `offset`.
    pub fn from_unix_millis(
        unix_millis: i64,
        offset: TimeZoneOffset,
    ) -> Result<EventTime, DocumentError> {
        let local = unix_millis.checked_add(i64::from(offset.minutes()) * 60_000);
        let in_range = |ms: i64| (MIN_UNIX_MILLIS..=MAX_UNIX_MILLIS).contains(&ms);
        if !in_range(unix_millis) || !local.is_some_and(in_range) {
            return Err(DocumentError::Time(format!(
                "timestamp {unix_millis} ms since 1970 is outside the years 0001-9999; check the station clock"
            )));
        }
        Ok(EventTime {
            unix_millis,
            offset,
        })
    }

    /// The current time of the system clock, seen in `offset`.
    pub fn now(offset: TimeZoneOffset) -> Result<EventTime, DocumentError> {
        let since_epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_err(|_| {
                DocumentError::Time("the system clock is before 1970; set the station clock".into())
            })?;
        let millis = i64::try_from(since_epoch.as_millis()).map_err(|_| {
            DocumentError::Time(
                "the system clock is far in the future; set the station clock".into(),
            )
        })?;
        EventTime::from_unix_millis(millis, offset)
    }

    /// Parses an RFC 3339 timestamp `YYYY-MM-DDTHH:MM:SS[.f{1,3}](Z|+HH:MM|-HH:MM)`.
    /// More than three fractional digits are refused rather than rounded, so that a
    /// stored time always reproduces the same event hash.
    pub fn parse_rfc3339(text: &str) -> Result<EventTime, DocumentError> {
        let bad = |why: &str| {
            DocumentError::Time(format!(
                "timestamp \"{text}\" {why}; expected e.g. 2026-01-31T14:05:09.123+01:00"
            ))
        };
        let b = text.as_bytes();
        if b.len() < 20
            || b[4] != b'-'
            || b[7] != b'-'
            || b[10] != b'T'
            || b[13] != b':'
            || b[16] != b':'
        {
            return Err(bad("is not of the form YYYY-MM-DDTHH:MM:SS"));
        }
        let year = four_digits(&b[0..4]).ok_or_else(|| bad("has a bad year"))?;
        let month = two_digits(&b[5..7]).ok_or_else(|| bad("has a bad month"))?;
        let day = two_digits(&b[8..10]).ok_or_else(|| bad("has a bad day"))?;
        let hour = two_digits(&b[11..13]).ok_or_else(|| bad("has a bad hour"))?;
        let minute = two_digits(&b[14..16]).ok_or_else(|| bad("has a bad minute"))?;
        let second = two_digits(&b[17..19]).ok_or_else(|| bad("has a bad second"))?;
        if year < 1 || !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
            return Err(bad("is not a calendar date"));
        }
        if hour > 23 || minute > 59 || second > 59 {
            return Err(bad("is not a time of day (leap seconds are not accepted)"));
        }
        let mut rest = &b[19..];
        let mut millis = 0;
        if let Some((b'.', after)) = rest.split_first() {
            let digits = after.iter().take_while(|c| c.is_ascii_digit()).count();
            if digits == 0 {
                return Err(bad("has a '.' without fractional digits"));
            }
            if digits > 3 {
                return Err(bad("has more than millisecond precision"));
            }
            for (i, c) in after[..digits].iter().enumerate() {
                millis += i64::from(c - b'0') * [100, 10, 1][i];
            }
            rest = &after[digits..];
        }
        let offset_text =
            std::str::from_utf8(rest).map_err(|_| bad("has a bad time-zone offset"))?;
        let offset = TimeZoneOffset::parse(offset_text)
            .map_err(|_| bad("has no valid time-zone offset (Z or +HH:MM)"))?;
        let local_millis = days_from_civil(year, month, day) * MILLIS_PER_DAY
            + (i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second)) * 1000
            + millis;
        EventTime::from_unix_millis(local_millis - i64::from(offset.minutes()) * 60_000, offset)
    }

    /// Milliseconds since 1970-01-01T00:00:00Z.
    pub fn unix_millis(&self) -> i64 {
        self.unix_millis
    }

    /// The offset the event was recorded in.
    pub fn offset(&self) -> TimeZoneOffset {
        self.offset
    }

    /// Local time with its offset, as documents carry it: `2026-01-01T10:00:00.000+01:00`.
    pub fn to_local_string(&self) -> String {
        let local = self.unix_millis + i64::from(self.offset.minutes()) * 60_000;
        let mut out = String::with_capacity(29);
        push_date_time(&mut out, local);
        out.push_str(&self.offset.to_string());
        out
    }

    /// The same instant in UTC, as the event hash wants it: `2026-01-01T09:00:00.000Z`.
    pub fn to_utc_string(&self) -> String {
        let mut out = String::with_capacity(24);
        push_date_time(&mut out, self.unix_millis);
        out.push('Z');
        out
    }
}

impl TryFrom<String> for EventTime {
    type Error = DocumentError;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        EventTime::parse_rfc3339(&text)
    }
}

impl From<EventTime> for String {
    fn from(time: EventTime) -> String {
        time.to_local_string()
    }
}

fn push_date_time(out: &mut String, millis: i64) {
    let days = millis.div_euclid(MILLIS_PER_DAY);
    let in_day = millis.rem_euclid(MILLIS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    let secs = in_day / 1000;
    let ms = in_day % 1000;
    use std::fmt::Write;
    // Writing into a String cannot fail.
    let _ = write!(
        out,
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{ms:03}",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    );
}

fn two_digits(b: &[u8]) -> Option<i32> {
    match b {
        [h, l] if h.is_ascii_digit() && l.is_ascii_digit() => {
            Some(i32::from(h - b'0') * 10 + i32::from(l - b'0'))
        }
        _ => None,
    }
}

fn four_digits(b: &[u8]) -> Option<i32> {
    Some(two_digits(&b[0..2])? * 100 + two_digits(&b[2..4])?)
}

fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i32, month: i32) -> i32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(year: i32, month: i32, day: i32) -> i64 {
    let y = i64::from(if month <= 2 { year - 1 } else { year });
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian date of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offset(text: &str) -> TimeZoneOffset {
        TimeZoneOffset::parse(text).unwrap()
    }

    #[test]
    fn formats_local_and_utc_with_milliseconds() {
        let t = EventTime::parse_rfc3339("2005-04-04T20:33:31.116-06:00").unwrap();
        assert_eq!(t.to_local_string(), "2005-04-04T20:33:31.116-06:00");
        assert_eq!(t.to_utc_string(), "2005-04-05T02:33:31.116Z");
        let t = EventTime::parse_rfc3339("2026-01-01T10:00:00+01:00").unwrap();
        assert_eq!(t.to_local_string(), "2026-01-01T10:00:00.000+01:00");
        assert_eq!(t.to_utc_string(), "2026-01-01T09:00:00.000Z");
        let t = EventTime::parse_rfc3339("2024-02-29T23:59:59.5Z").unwrap();
        assert_eq!(t.to_utc_string(), "2024-02-29T23:59:59.500Z");
        assert_eq!(t.offset().to_string(), "+00:00");
    }

    #[test]
    fn unix_epoch_and_known_instants() {
        let t = EventTime::from_unix_millis(0, TimeZoneOffset::UTC).unwrap();
        assert_eq!(t.to_utc_string(), "1970-01-01T00:00:00.000Z");
        let t = EventTime::from_unix_millis(-1, offset("+05:30")).unwrap();
        assert_eq!(t.to_utc_string(), "1969-12-31T23:59:59.999Z");
        assert_eq!(t.to_local_string(), "1970-01-01T05:29:59.999+05:30");
        // 2026-11-22T03:34:12Z
        let t = EventTime::from_unix_millis(1_795_318_452_000, TimeZoneOffset::UTC).unwrap();
        assert_eq!(t.to_utc_string(), "2026-11-22T03:34:12.000Z");
    }

    #[test]
    fn round_trips_every_day_of_four_centuries() {
        for days in (-719_162..=2_932_896).step_by(97) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y as i32, m as i32, d as i32), days);
        }
    }

    #[test]
    fn offsets_follow_the_schema_pattern() {
        assert_eq!(offset("+14:00").to_string(), "+14:00");
        assert_eq!(offset("-09:30").to_string(), "-09:30");
        assert_eq!(offset("Z").to_string(), "+00:00");
        for bad in ["+14:01", "+15:00", "01:00", "+1:00", "+01:60", "+01-00", ""] {
            assert!(TimeZoneOffset::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn refuses_bad_timestamps_with_a_reason() {
        for bad in [
            "2026-02-30T10:00:00Z",
            "2026-01-01T24:00:00Z",
            "2026-01-01T10:00:00",
            "2026-01-01T10:00:00.1234Z",
            "2026-01-01T10:00:00.Z",
            "2026-01-01 10:00:00Z",
            "2026-01-01T10:00:00+0100",
        ] {
            let err = EventTime::parse_rfc3339(bad).unwrap_err();
            assert!(err.to_string().contains(bad), "{err}");
        }
    }
}
