//! Every AI of the table is exercised: a valid value generated from its format
//! specification parses in every read form (with the AIs its `req` rules need), and
//! an invalid value fails with the right error kind.

use serialstation_gs1::ai::{AiComponent, AiEntry, ai_matches_pattern, all, lookup};
use serialstation_gs1::cset::Charset;
use serialstation_gs1::digital_link::CANONICAL_BASE;
use serialstation_gs1::lint::{LintContext, Linter};
use serialstation_gs1::validate::validate_value;
use serialstation_gs1::{ElementString, Gs1ErrorKind};

const YEAR: i32 = 2026;

/// A value for one component that satisfies its charset and linters.
fn component_value(c: &AiComponent) -> String {
    let len = usize::from(c.max_len);
    let has = |l: Linter| c.linters.contains(&l);
    let fixed = |s: &str| -> String { s.to_string() };
    for &l in c.linters {
        let v = match l {
            Linter::Yymmd0 | Linter::Yymmdd => Some(fixed("261231")),
            Linter::Yyyymmdd => Some(fixed("20261231")),
            Linter::Hhmi => Some(fixed("1230")),
            Linter::Hh => Some(fixed("12")),
            Linter::Mi => Some(fixed("30")),
            Linter::Ss => Some(fixed("45")),
            Linter::Iso3166 | Linter::Iso3166With999 => Some(fixed("276")),
            Linter::Iso3166Alpha2 => Some(fixed("DE")),
            Linter::Iso4217 => Some(fixed("978")),
            Linter::Iso5218 => Some(fixed("1")),
            Linter::Iban => Some(fixed("DE89370400440532013000")),
            Linter::Zero => Some(fixed("0")),
            Linter::YesNo | Linter::Winding => Some(fixed("1")),
            Linter::PieceOfTotal => Some(fixed("0102")),
            Linter::MediaType => Some(fixed("01")),
            Linter::PosInSeqSlash => Some(fixed("1/2")),
            Linter::ImporterIndex => Some(fixed("A")),
            Linter::PackageType => Some(fixed("CT")),
            Linter::Latitude => Some(fixed("0900000000")),
            Linter::Longitude => Some(fixed("1800000000")),
            Linter::Hyphen => Some(fixed("-")),
            Linter::CouponCode => Some(fixed("061414112345615110123")),
            Linter::CouponPosOffer => Some(fixed("106141411234560123456")),
            Linter::PercentEncoding => Some(fixed("ABC%20D")),
            _ => None,
        };
        if let Some(v) = v {
            return v;
        }
    }
    if has(Linter::CsumAlpha) {
        let data = b"1234ABC";
        let pair = serialstation_gs1::lint::checksum::csum_alpha_pair(data).unwrap_or(*b"22");
        return format!(
            "{}{}",
            String::from_utf8_lossy(data),
            String::from_utf8_lossy(&pair)
        );
    }
    if has(Linter::Csum) {
        let body = "1".repeat(len - 1);
        let cd = serialstation_gs1::check_digit(&body).unwrap_or(0);
        return format!("{body}{cd}");
    }
    let sample = match c.charset {
        Charset::Numeric => "1234567890",
        Charset::Cset82 => "1234Ab-C(x)",
        Charset::Cset39 => "1234AB-#/",
        Charset::Cset64 => "AbCd-_12",
    };
    let n = if c.is_variable() {
        len.min(sample.len())
    } else {
        len
    };
    sample.chars().cycle().take(n).collect()
}

fn valid_value(e: &AiEntry) -> String {
    e.components.iter().map(component_value).collect()
}

/// AIs (with values) that satisfy the `req` rules of `ai`, choosing alternative `choice`
/// for its own first rule, avoiding AIs that `ex` rules forbid.
fn context_for(entry: &'static AiEntry, choice: usize) -> Option<Vec<(&'static AiEntry, String)>> {
    let mut items: Vec<(&'static AiEntry, String)> = vec![(entry, valid_value(entry))];
    let mut i = 0;
    while i < items.len() {
        let current = items[i].0;
        for (rule_index, rule) in current.req.iter().enumerate() {
            let satisfied = rule.iter().any(|g| {
                g.iter()
                    .all(|p| items.iter().any(|(e, _)| ai_matches_pattern(e.ai, p)))
            });
            if satisfied {
                continue;
            }
            let pick = if i == 0 && rule_index == 0 { choice } else { 0 };
            let group = rule.get(pick)?;
            for pattern in group.iter() {
                if items.iter().any(|(e, _)| ai_matches_pattern(e.ai, pattern)) {
                    continue;
                }
                let ai = pattern.replace('n', "0");
                let e = lookup(&ai)?;
                items.push((e, valid_value(e)));
            }
        }
        i += 1;
        if items.len() > 12 {
            return None;
        }
    }
    Some(items)
}

#[test]
fn every_ai_valid_value_parses_in_every_form() {
    let ctx = LintContext { current_year: YEAR };
    let mut failures = Vec::new();
    let (mut tested, mut tested_as_digital_link) = (0usize, 0usize);
    for entry in all() {
        let value = valid_value(entry);
        if let Err(e) = validate_value(entry, &value, None, &ctx) {
            failures.push(format!("{} {value:?}: {}", entry.ai, e.message));
            continue;
        }
        let choices = entry.req.first().map_or(1, |r| r.len());
        let mut parsed = None;
        let mut last_error = String::new();
        for choice in 0..choices {
            let Some(items) = context_for(entry, choice) else {
                continue;
            };
            let pairs: Vec<(String, String)> = items
                .iter()
                .map(|(e, v)| (e.ai.to_string(), v.clone()))
                .collect();
            match ElementString::from_pairs_with_year(pairs, YEAR) {
                Ok(es) => {
                    parsed = Some(es);
                    break;
                }
                Err(e) => last_error = e.message,
            }
        }
        let Some(es) = parsed else {
            failures.push(format!(
                "{}: no valid element string ({last_error})",
                entry.ai
            ));
            continue;
        };
        for form in [
            es.to_hri(),
            es.to_fnc1(),
            es.to_encoder_data(),
            es.to_scan_data(),
        ] {
            match ElementString::parse_with_year(&form, YEAR) {
                Ok(again) if again == es => {}
                Ok(again) => failures.push(format!(
                    "{}: {form:?} read back as {:?}",
                    entry.ai,
                    again.to_hri()
                )),
                Err(e) => failures.push(format!("{}: {form:?}: {}", entry.ai, e.message)),
            }
        }
        tested += 1;
        if let Ok(dl) = es.to_digital_link(CANONICAL_BASE) {
            tested_as_digital_link += 1;
            match ElementString::parse_with_year(&dl, YEAR) {
                Ok(again) => {
                    let mut a = again.ais().to_vec();
                    let mut b = es.ais().to_vec();
                    a.sort_by(|x, y| x.ai.cmp(&y.ai));
                    b.sort_by(|x, y| x.ai.cmp(&y.ai));
                    b.dedup();
                    if a != b {
                        failures.push(format!("{}: {dl} read back differently", entry.ai));
                    }
                }
                Err(e) => failures.push(format!("{}: {dl}: {}", entry.ai, e.message)),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(tested, all().len());
    println!(
        "{tested} AIs read back in 4 forms, {tested_as_digital_link} of them also as Digital Link"
    );
}

#[test]
fn every_ai_invalid_value_fails() {
    let ctx = LintContext { current_year: YEAR };
    for entry in all() {
        let value = valid_value(entry);
        // A space is in no GS1 character set.
        let bad = format!(" {}", &value[1..]);
        let e = validate_value(entry, &bad, None, &ctx).expect_err(entry.ai);
        assert_eq!(
            e.kind,
            Gs1ErrorKind::Charset,
            "AI {}: {}",
            entry.ai,
            e.message
        );
        assert_eq!(e.ai.as_deref(), Some(entry.ai));
        // One character more than the maximum length.
        let too_long = format!(
            "{value}{}",
            "1".repeat(entry.length_range().1 + 1 - value.len())
        );
        let e = validate_value(entry, &too_long, None, &ctx).expect_err(entry.ai);
        assert!(
            matches!(
                e.kind,
                Gs1ErrorKind::Length
                    | Gs1ErrorKind::Content
                    | Gs1ErrorKind::CheckDigit
                    | Gs1ErrorKind::Date
            ),
            "AI {}: {:?} {}",
            entry.ai,
            e.kind,
            e.message
        );
    }
}
