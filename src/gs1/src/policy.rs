//! The station's healthcare policy for codes the line generates, stricter than syntax:
//! serial and lot are CSET 82 and at most 20 characters; expiry day 00 is refused
//! (GSCN 21-040); a new batch may not start with an expiry date in the past.

use crate::cset::{describe_char_at, first_non_cset82};
use crate::date::{Gs1Date, days_in_month, month_name};
use crate::error::{Gs1Error, Gs1ErrorKind};

/// Longest serial or lot the line prints (AI 21 and AI 10 allow 20).
pub const MAX_SERIAL_OR_LOT_LEN: usize = 20;

fn check_cset82_field(value: &str, what: &str, ai: &str) -> Result<(), Gs1Error> {
    if value.is_empty() {
        return Err(Gs1Error::new(
            Gs1ErrorKind::Policy,
            format!("{what} is empty; give 1 to 20 characters"),
        )
        .with_ai(ai));
    }
    if let Some(p) = first_non_cset82(value) {
        return Err(Gs1Error::new(
            Gs1ErrorKind::Charset,
            format!(
                "{what} {value:?} at position {}: character {} is not allowed (GS1 CSET 82)",
                p + 1,
                describe_char_at(value, p)
            ),
        )
        .with_ai(ai)
        .at(p));
    }
    let len = value.len();
    if len > MAX_SERIAL_OR_LOT_LEN {
        return Err(Gs1Error::new(
            Gs1ErrorKind::Policy,
            format!(
                "{what} {value:?} has {len} characters; at most {MAX_SERIAL_OR_LOT_LEN} are allowed"
            ),
        )
        .with_ai(ai));
    }
    Ok(())
}

/// A serial number the line may print.
pub fn check_serial(serial: &str) -> Result<(), Gs1Error> {
    check_cset82_field(serial, "serial number", "21")
}

/// A lot number the line may print.
pub fn check_lot(lot: &str) -> Result<(), Gs1Error> {
    check_cset82_field(lot, "lot number", "10")
}

/// An expiry date (AI 17, YYMMDD) the line may print: a real date, day 00 refused.
pub fn check_expiry(yymmdd: &str, current_year: i32) -> Result<Gs1Date, Gs1Error> {
    let date = Gs1Date::parse_yymmdd(yymmdd, true, current_year).map_err(|e| {
        Gs1Error::new(Gs1ErrorKind::Date, format!("expiry date {}", e.message)).with_ai("17")
    })?;
    if date.day_was_zero {
        let last = days_in_month(date.year, date.month);
        return Err(Gs1Error::new(
            Gs1ErrorKind::Policy,
            format!(
                "expiry date {yymmdd} uses day 00, which healthcare codes may no longer use (GSCN 21-040); \
                 print the real last day of the month instead: {}{last:02} ({last} {} {})",
                &yymmdd[..4],
                month_name(date.month),
                date.year
            ),
        )
        .with_ai("17"));
    }
    Ok(date)
}

/// The expiry date of a new batch: valid under [`check_expiry`] and not before `today`.
pub fn check_new_batch_expiry(yymmdd: &str, today: Gs1Date) -> Result<Gs1Date, Gs1Error> {
    let date = check_expiry(yymmdd, today.year)?;
    if date.ordinal() < today.ordinal() {
        return Err(Gs1Error::new(
            Gs1ErrorKind::Policy,
            format!(
                "expiry date {yymmdd} ({}) is in the past (today is {}); check the date entered for the batch",
                date.to_iso(),
                today.to_iso()
            ),
        )
        .with_ai("17"));
    }
    Ok(date)
}

/// Date AIs whose day 00 the healthcare policy refuses (production and expiry dates).
const NO_DAY_ZERO_AIS: [&str; 2] = ["11", "17"];

/// A whole element string the line is about to print: already valid GS1 syntax, and
/// additionally no production or expiry date with day 00.
pub fn check_line_code(code: &crate::ElementString) -> Result<(), Gs1Error> {
    for pair in code.ais() {
        if NO_DAY_ZERO_AIS.contains(&pair.ai.as_str()) && pair.value.ends_with("00") {
            let what = if pair.ai == "17" {
                "expiry date"
            } else {
                "production date"
            };
            return Err(Gs1Error::new(
                Gs1ErrorKind::Policy,
                format!(
                    "AI ({}): {what} {} uses day 00, which healthcare codes may no longer use (GSCN 21-040); print the real last day of the month",
                    pair.ai, pair.value
                ),
            )
            .with_ai(pair.ai.clone()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serial_and_lot() {
        assert!(check_serial("SN0001").is_ok());
        assert_eq!(check_serial("").unwrap_err().kind, Gs1ErrorKind::Policy);
        assert_eq!(check_serial("A B").unwrap_err().kind, Gs1ErrorKind::Charset);
        assert_eq!(
            check_lot("123456789012345678901").unwrap_err().kind,
            Gs1ErrorKind::Policy
        );
        assert!(check_lot("12345678901234567890").is_ok());
    }

    #[test]
    fn line_code_refuses_day_zero() {
        let es = crate::ElementString::parse_with_year("(01)09506000134352(17)260700(21)1", 2026)
            .unwrap();
        assert_eq!(check_line_code(&es).unwrap_err().kind, Gs1ErrorKind::Policy);
        let es = crate::ElementString::parse_with_year("(01)09506000134352(17)260731(21)1", 2026)
            .unwrap();
        assert!(check_line_code(&es).is_ok());
    }

    #[test]
    fn expiry() {
        let e = check_expiry("260700", 2026).unwrap_err();
        assert_eq!(e.kind, Gs1ErrorKind::Policy);
        assert!(e.message.contains("260731"), "{}", e.message);
        assert!(check_expiry("260731", 2026).is_ok());
        assert_eq!(
            check_expiry("260230", 2026).unwrap_err().kind,
            Gs1ErrorKind::Date
        );
        let today = Gs1Date::from_ymd(2026, 11, 22).unwrap();
        assert!(check_new_batch_expiry("261121", today).is_err());
        assert!(check_new_batch_expiry("261122", today).is_ok());
    }
}
