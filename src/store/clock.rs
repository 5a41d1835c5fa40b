//! Wall-clock time for the store: UTC timestamps as ISO 8601 text (audit trail,
//! batches, outbox) and as Unix milliseconds (per-serial timestamps, compact).
//! The formatting is pure (the calendar is the `time` crate's); only [`now`] and
//! [`now_unix_ms`] read the clock.

use std::time::{SystemTime, UNIX_EPOCH};

use time::UtcDateTime;

/// Milliseconds since the Unix epoch, UTC. A clock set before 1970 reads as 0.
pub fn now_unix_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The current UTC time as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn now() -> String {
    format_unix_ms(now_unix_ms())
}

/// Formats Unix milliseconds (UTC) as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn format_unix_ms(ms: i64) -> String {
    let t = utc(ms);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// The UTC year of Unix milliseconds (for the GS1 century window).
pub fn year_of_unix_ms(ms: i64) -> i32 {
    utc(ms).year()
}

/// The UTC date and time of Unix milliseconds, held to the calendar's range
/// (years -9999..=9999): an instant beyond it reads as the range's first or last
/// millisecond.
fn utc(ms: i64) -> UtcDateTime {
    UtcDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).unwrap_or(if ms < 0 {
        UtcDateTime::MIN
    } else {
        UtcDateTime::MAX
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(format_unix_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_unix_ms(951_782_400_123), "2000-02-29T00:00:00.123Z");
        assert_eq!(
            format_unix_ms(1_798_761_599_999),
            "2026-12-31T23:59:59.999Z"
        );
        assert_eq!(format_unix_ms(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(year_of_unix_ms(1_798_761_599_999), 2026);
        assert_eq!(year_of_unix_ms(-1), 1969);
    }

    #[test]
    fn instants_beyond_the_calendar_are_held_to_its_ends() {
        // 9999 (or 999999 should the calendar's large-dates feature be on).
        let last = format_unix_ms(i64::MAX);
        assert!(
            last.starts_with("9999") && last.ends_with("-12-31T23:59:59.999Z"),
            "{last}"
        );
        let first = format_unix_ms(i64::MIN);
        assert!(
            first.starts_with("-9999") && first.ends_with("-01-01T00:00:00.000Z"),
            "{first}"
        );
        assert!(year_of_unix_ms(i64::MAX) >= 9999);
    }
}
