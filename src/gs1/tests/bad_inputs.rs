//! A catalogue of bad inputs: each must fail with the given error kind and a message
//! containing the given key words.

use serialstation_gs1::{ElementString, Gs1ErrorKind as K};

const YEAR: i32 = 2026;
const G: &str = "(01)09506000134352";

fn catalogue() -> Vec<(String, K, &'static [&'static str])> {
    let g = |rest: &str| format!("{G}{rest}");
    vec![
        ("".into(), K::Syntax, &["empty"]),
        ("hello".into(), K::Syntax, &["not GS1"]),
        (
            "(01)09506000134353".into(),
            K::CheckDigit,
            &["AI (01)", "should be 2, found 3", "GTIN 09506000134353"],
        ),
        (
            "(01)0950600013435".into(),
            K::Length,
            &["AI (01)", "13 digits", "exactly 14"],
        ),
        (
            "(01)095060001343521".into(),
            K::Length,
            &["AI (01)", "exactly 14"],
        ),
        (
            "(01)0950600013435A".into(),
            K::Charset,
            &["AI (01)", "'A'", "digits only"],
        ),
        (
            g("(17)260229"),
            K::Date,
            &["AI (17)", "February 2026 has 28 days"],
        ),
        (g("(17)261301"), K::Date, &["AI (17)", "month 13"]),
        (g("(17)260431"), K::Date, &["April 2026 has 30 days"]),
        (g("(17)2612"), K::Length, &["AI (17)", "exactly 6"]),
        (
            g("(10)AB C"),
            K::Charset,
            &["AI (10) at position", "' '", "CSET 82"],
        ),
        (
            g("(10)ABCDEFGHIJKLMNOPQRSTU"),
            K::Length,
            &["AI (10)", "21 characters", "at most 20"],
        ),
        (g("(21)#1"), K::Charset, &["AI (21)", "'#'"]),
        (g("(10)"), K::Length, &["AI (10)", "empty"]),
        (
            "(10)ABC".into(),
            K::Association,
            &["AI (10)", "requires", "(01)"],
        ),
        ("(21)123".into(), K::Association, &["AI (21)", "requires"]),
        (
            g("(02)09506000134352"),
            K::Association,
            &["may not appear together"],
        ),
        (
            g("(21)A(21)B"),
            K::Association,
            &["appears twice", "A and B"],
        ),
        (
            g("(21)A(235)B"),
            K::Association,
            &["(21)", "(235)", "together"],
        ),
        (
            g("(3103)000123(3102)000456"),
            K::Association,
            &["(3103)", "(3102)"],
        ),
        ("(8011)123".into(), K::Association, &["(8011)", "(8010)"]),
        (
            "(250)ABC(01)09506000134352".into(),
            K::Association,
            &["(250)", "(21)"],
        ),
        (g("(999)1"), K::UnknownAi, &["(999)"]),
        (g("(23)1"), K::UnknownAi, &["(23)"]),
        ("(1)23".into(), K::UnknownAi, &["(1)"]),
        ("(01".into(), K::Syntax, &["not closed"]),
        ("x(01)09506000134352".into(), K::Syntax, &["not GS1"]),
        ("]d2".into(), K::Syntax, &["no data"]),
        (
            "]d2\u{1d}0109506000134352".into(),
            K::Syntax,
            &["GS separator directly after ]d2"],
        ),
        (
            "]d10109506000134352".into(),
            K::Syntax,
            &["plain data", "not GS1"],
        ),
        ("]X9123".into(), K::Syntax, &["symbology identifier"]),
        (
            "]d20109506000134352\u{1d}\u{1d}10A".into(),
            K::Syntax,
            &["two FNC1"],
        ),
        (
            "]d2010950600013435210A\u{1d}\u{1d}21B".into(),
            K::Syntax,
            &["two FNC1"],
        ),
        (
            "]d201095060001343".into(),
            K::Length,
            &["AI (01)", "data ends"],
        ),
        (
            "]d20109506000\u{1d}13435210A".into(),
            K::Length,
            &["AI (01)", "FNC1"],
        ),
        (
            "]d201095060001343521".into(),
            K::UnknownAi,
            &["position 20", "does not start"],
        ),
        (
            "]d2440109506000134352".into(),
            K::UnknownAi,
            &["\"4401\"", "position 4"],
        ),
        (
            "^^0109506000134352".into(),
            K::Syntax,
            &["before the first AI"],
        ),
        (
            "https://id.gs1.org/01/09506000134352/21/X/10/ABC".into(),
            K::DigitalLink,
            &["wrong order"],
        ),
        (
            "https://id.gs1.org/01/09506000134352/17/261231".into(),
            K::DigitalLink,
            &["(17)", "not a Digital Link qualifier", "?17="],
        ),
        (
            "https://id.gs1.org/01/09506000134352?21=1".into(),
            K::DigitalLink,
            &["(21)", "query attribute"],
        ),
        (
            "https://id.gs1.org/01/09506000134352?9999=1".into(),
            K::UnknownAi,
            &["(9999)"],
        ),
        (
            "https://id.gs1.org/10/ABC".into(),
            K::DigitalLink,
            &["no GS1 primary key"],
        ),
        (
            "https://id.gs1.org/01/09506000134352/21/A%2".into(),
            K::DigitalLink,
            &["hexadecimal"],
        ),
        (
            "https:///01/09506000134352".into(),
            K::DigitalLink,
            &["domain"],
        ),
        (
            "Https://id.gs1.org/01/09506000134352".into(),
            K::DigitalLink,
            &["http:// or https://"],
        ),
        (
            "https://id.gs1.org/01/09506000134353".into(),
            K::CheckDigit,
            &["AI (01)"],
        ),
        ("(00)106141411234567896".into(), K::CheckDigit, &["SSCC"]),
        ("(414)0614141073460".into(), K::CheckDigit, &["GLN"]),
        (
            "(8013)1987654Ad4X4bL5ttr2310c2L".into(),
            K::CheckDigit,
            &["check characters"],
        ),
        (g("(422)999"), K::Content, &["ISO 3166"]),
        (g("(3910)978123"), K::Association, &["(3910)", "(8020)"]),
        (
            "(255)0614141073467(8020)A(415)0614141073467(3910)000123".into(),
            K::Content,
            &["ISO 4217"],
        ),
        (
            "(00)106141411234567897(4307)XX".into(),
            K::Content,
            &["two-letter country"],
        ),
        (
            "(415)0614141073467(8020)A(8007)DE89370400440532013001".into(),
            K::CheckDigit,
            &["IBAN"],
        ),
        (
            "(8018)123456789012345675(7252)3".into(),
            K::Content,
            &["ISO 5218"],
        ),
        (
            g("(8001)000012345678910"),
            K::Content,
            &["must not be zero"],
        ),
        (
            "(8010)1234ABC(8011)0123".into(),
            K::Content,
            &["must not start with 0"],
        ),
        (
            "(00)106141411234567897(4321)2".into(),
            K::Content,
            &["0 (no) or 1 (yes)"],
        ),
        (
            "(00)106141411234567897(4300)A%2G".into(),
            K::Content,
            &["hexadecimal"],
        ),
        (
            "(00)106141411234567897(4309)18000000011800000000".into(),
            K::Content,
            &["latitude"],
        ),
        (
            "(00)106141411234567897(4330)012345+".into(),
            K::Content,
            &["'-'"],
        ),
        (
            "(00)106141411234567897(4324)2612311260".into(),
            K::Date,
            &["not a time"],
        ),
        (
            "(00)106141411234567897(7041)QQQ".into(),
            K::Content,
            &["package type"],
        ),
        ("(8110)061414112345615110".into(), K::Content, &["coupon"]),
        ("(8030)AB=C".into(), K::Charset, &["CSET 64"]),
        ("(8010)abc(8011)1".into(), K::Charset, &["CSET 39"]),
        (g("(7006)260229"), K::Date, &["February"]),
        (g("(7003)2612312460"), K::Date, &["hour"]),
        (g("(8006)095060001343520102"), K::Association, &["together"]),
        (
            "(8006)095060001343520302".into(),
            K::Content,
            &["piece number is greater"],
        ),
    ]
}

#[test]
fn catalogue_of_bad_inputs() {
    let cases = catalogue();
    assert!(
        cases.len() >= 40,
        "the catalogue must hold at least 40 cases"
    );
    let mut failures = Vec::new();
    for (input, kind, words) in &cases {
        match ElementString::parse_with_year(input, YEAR) {
            Ok(es) => failures.push(format!("{input:?} was accepted as {}", es.to_hri())),
            Err(e) => {
                if e.kind != *kind {
                    failures.push(format!(
                        "{input:?}: expected {kind:?}, got {:?}: {}",
                        e.kind, e.message
                    ));
                }
                for w in *words {
                    if !e.message.contains(w) {
                        failures.push(format!("{input:?}: message {:?} lacks {w:?}", e.message));
                    }
                }
                if e.message.contains('\n') {
                    failures.push(format!("{input:?}: message is not one line"));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases wrong:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
