//! EPCIS timestamps: an instant with millisecond precision plus the time-zone offset
//! it was recorded in (`eventTime` + `eventTimeZoneOffset`).
//!
//! Pure: the text forms are written and read here (the EPCIS schema's rules), the
//! calendar is the `time` crate's. Documents show the local time with its offset,
//! event hashes the same instant in UTC (`...Z`), both always with exactly three
//! fractional digits.

use std::fmt;

use ::time::{Date, Month, Time, UtcDateTime};

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
        let date = calendar_date(year, month, day).ok_or_else(|| bad("is not a calendar date"))?;
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
        let local_millis = days_since_epoch(date) * MILLIS_PER_DAY
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
    // An `EventTime` keeps both of its forms within 0001-9999, so the fallback is
    // never taken; it only keeps this function total.
    let t = UtcDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
        .unwrap_or(UtcDateTime::UNIX_EPOCH);
    use std::fmt::Write;
    // Writing into a String cannot fail.
    let _ = write!(
        out,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    );
}

/// The date of `year`, `month` and `day`, if it exists and its year is 0001 or later.
fn calendar_date(year: i32, month: i32, day: i32) -> Option<Date> {
    if year < 1 {
        return None;
    }
    let month = Month::try_from(u8::try_from(month).ok()?).ok()?;
    Date::from_calendar_date(year, month, u8::try_from(day).ok()?).ok()
}

/// Days from 1970-01-01 to `date`.
fn days_since_epoch(date: Date) -> i64 {
    UtcDateTime::new(date, Time::MIDNIGHT)
        .unix_timestamp()
        .div_euclid(86_400)
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
    fn round_trips_every_day_from_year_1_to_9999() {
        // 0001-01-01 is day -719 162, 9999-12-31 day 2 932 896; 97 is prime.
        for days in (-719_162i64..=2_932_896).step_by(97) {
            let millis = days * MILLIS_PER_DAY + 45_296_789;
            let t = EventTime::from_unix_millis(millis, TimeZoneOffset::UTC).unwrap();
            let text = t.to_utc_string();
            assert_eq!(EventTime::parse_rfc3339(&text).unwrap(), t, "{text}");
            assert!(text.ends_with("T12:34:56.789Z"), "{text}");
        }
        let first = EventTime::from_unix_millis(MIN_UNIX_MILLIS, TimeZoneOffset::UTC).unwrap();
        assert_eq!(first.to_utc_string(), "0001-01-01T00:00:00.000Z");
        let last = EventTime::from_unix_millis(MAX_UNIX_MILLIS, TimeZoneOffset::UTC).unwrap();
        assert_eq!(last.to_utc_string(), "9999-12-31T23:59:59.999Z");
        assert!(EventTime::from_unix_millis(MAX_UNIX_MILLIS + 1, TimeZoneOffset::UTC).is_err());
    }

    #[test]
    fn leap_days_follow_the_gregorian_rules() {
        for ok in [
            "2000-02-29T00:00:00Z",
            "2024-02-29T00:00:00Z",
            "1600-02-29T00:00:00Z",
        ] {
            assert!(EventTime::parse_rfc3339(ok).is_ok(), "{ok}");
        }
        for bad in [
            "1900-02-29T00:00:00Z",
            "2026-02-29T00:00:00Z",
            "2026-04-31T00:00:00Z",
            "2026-00-10T00:00:00Z",
            "2026-13-10T00:00:00Z",
            "2026-01-00T00:00:00Z",
            "0000-01-01T00:00:00Z",
        ] {
            let err = EventTime::parse_rfc3339(bad).unwrap_err();
            assert!(err.to_string().contains("is not a calendar date"), "{err}");
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
