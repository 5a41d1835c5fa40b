//! Property tests: every write form reads back to the same element string; check
//! digits agree with a direct computation; no input makes the parser panic.

use proptest::prelude::*;
use serialstation_gs1::digital_link::CANONICAL_BASE;
use serialstation_gs1::{ElementString, Gtin, check_digit};

const YEAR: i32 = 2026;
const CSET82: &str =
    "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";

fn cset82_string(max: usize) -> impl Strategy<Value = String> {
    let chars: Vec<char> = CSET82.chars().collect();
    proptest::collection::vec(proptest::sample::select(chars), 1..=max)
        .prop_map(|v| v.into_iter().collect())
}

fn gtin() -> impl Strategy<Value = String> {
    "[0-9]{13}".prop_map(|body| {
        let cd = check_digit(&body).unwrap_or(0);
        format!("{body}{cd}")
    })
}

fn date() -> impl Strategy<Value = String> {
    (0u8..100, 1u8..=12, 1u8..=28).prop_map(|(y, m, d)| format!("{y:02}{m:02}{d:02}"))
}

/// A pharma element string: GTIN, optional expiry, lot, serial, optional NHRN, in a
/// random order.
fn pharma_pairs() -> impl Strategy<Value = Vec<(String, String)>> {
    (
        gtin(),
        proptest::option::of(date()),
        cset82_string(20),
        cset82_string(20),
        proptest::option::of(cset82_string(20)),
    )
        .prop_flat_map(|(g, exp, lot, serial, nhrn)| {
            let mut pairs = vec![
                ("01".to_string(), g),
                ("10".to_string(), lot),
                ("21".to_string(), serial),
            ];
            if let Some(e) = exp {
                pairs.push(("17".to_string(), e));
            }
            if let Some(n) = nhrn {
                pairs.push(("714".to_string(), n));
            }
            Just(pairs).prop_shuffle()
        })
}

fn sorted(es: &ElementString) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = es
        .ais()
        .iter()
        .map(|p| (p.ai.clone(), p.value.clone()))
        .collect();
    v.sort();
    v
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn every_form_reads_back(pairs in pharma_pairs()) {
        let es = ElementString::from_pairs_with_year(pairs, YEAR).map_err(|e| TestCaseError::fail(e.message))?;
        for form in [es.to_hri(), es.to_fnc1(), es.to_encoder_data(), es.to_scan_data(), es.with_fixed_length_first().to_scan_data()] {
            let again = ElementString::parse_with_year(&form, YEAR).map_err(|e| TestCaseError::fail(format!("{form:?}: {}", e.message)))?;
            prop_assert_eq!(sorted(&again), sorted(&es), "form {:?}", form);
        }
        prop_assert_eq!(ElementString::parse_with_year(&es.to_hri(), YEAR).ok(), Some(es.clone()));
        prop_assert_eq!(ElementString::parse_with_year(&es.to_fnc1(), YEAR).ok(), Some(es.clone()));
        prop_assert_eq!(ElementString::parse_with_year(&es.to_scan_data(), YEAR).ok(), Some(es.clone()));
        let dl = es.to_digital_link(CANONICAL_BASE).map_err(|e| TestCaseError::fail(e.message))?;
        let from_dl = ElementString::parse_with_year(&dl, YEAR).map_err(|e| TestCaseError::fail(format!("{dl}: {}", e.message)))?;
        prop_assert_eq!(sorted(&from_dl), sorted(&es));
        // The canonical URI is a fixed point.
        prop_assert_eq!(from_dl.to_digital_link(CANONICAL_BASE).ok(), Some(dl));
    }

    #[test]
    fn check_digit_matches_direct_computation(body in "[0-9]{1,17}") {
        let digits: Vec<u32> = body.bytes().map(|b| u32::from(b - b'0')).collect();
        let n = digits.len();
        let sum: u32 = digits.iter().enumerate().map(|(i, d)| if (n - i) % 2 == 1 { 3 * d } else { *d }).sum();
        let expected = ((10 - sum % 10) % 10) as u8;
        prop_assert_eq!(check_digit(&body), Some(expected));
    }

    #[test]
    fn a_changed_digit_breaks_the_gtin(g in gtin(), index in 0usize..14, delta in 1u8..10) {
        let mut bytes = g.clone().into_bytes();
        bytes[index] = b'0' + (bytes[index] - b'0' + delta) % 10;
        let changed = String::from_utf8(bytes).unwrap_or_default();
        prop_assert!(Gtin::parse(&g).is_ok());
        prop_assert!(Gtin::parse(&changed).is_err());
    }

    #[test]
    fn parser_never_panics(input in "(\\]d2|\\]d1|\\(|\\^|https://a/|)[0-9A-Za-z()\\\\^%/?=&\u{1d} é]{0,60}") {
        let _ = ElementString::parse_with_year(&input, YEAR);
    }

    #[test]
    fn parser_never_panics_on_any_text(input in "\\PC{0,80}") {
        let _ = ElementString::parse_with_year(&input, YEAR);
    }
}
