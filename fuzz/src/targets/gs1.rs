//! GS1 data as scanners, cameras and operators hand it over: element strings in
//! every read form (bracketed HRI, `^` FNC1 notation, raw scan data with a
//! symbology identifier and GS separators, encoder data), GS1 Digital Link URIs,
//! EPC URIs, keys and dates.

use serialstation_gs1::digital_link::{CANONICAL_BASE, percent_decode};
use serialstation_gs1::key::{Gln, Sscc};
use serialstation_gs1::{ElementString, Gs1Date, Gtin, check_digit, epc, policy};

use crate::Target;

/// A fixed current year, so that two-digit years always read the same.
const YEAR: i32 = 2026;

pub(crate) fn targets() -> Vec<Target> {
    vec![
        Target {
            name: "gs1_element_string",
            what: "ElementString::parse_with_year on bracketed HRI, ^ FNC1 notation, encoder data and scan data (]d2 ]C1 ]Q3 ]e0 ]J1, GS separators), then policy::check_line_code; a parsed value must read back identically from to_hri, to_fnc1 and to_scan_data, and with the same AIs from with_fixed_length_first and to_digital_link",
            seeds: element_string_seeds,
            run: run_element_string,
            max_len: 1024,
            slow: false,
        },
        Target {
            name: "gs1_digital_link",
            what: "ElementString::parse_with_year on GS1 Digital Link URIs (also after ]d1/]Q1) and digital_link::percent_decode, with the same read-back checks as gs1_element_string",
            seeds: digital_link_seeds,
            run: run_element_string,
            max_len: 1024,
            slow: false,
        },
        Target {
            name: "gs1_epc_uri",
            what: "epc::parse_sgtin_uri, parse_lgtin_uri, parse_sscc_uri, parse_sgln_uri, unescape_uri_component; a parsed SGTIN, LGTIN or SSCC must be written back by sgtin_uri/lgtin_uri/sscc_uri and read back the same",
            seeds: epc_seeds,
            run: run_epc_uri,
            max_len: 256,
            slow: false,
        },
        Target {
            name: "gs1_keys_dates",
            what: "Gtin::parse, Sscc::parse, Gln::parse, check_digit, Gs1Date::parse_yymmdd/parse_yyyymmdd, policy::check_serial/check_lot/check_expiry/check_new_batch_expiry; a parsed GTIN must parse again from its 14-digit form",
            seeds: key_seeds,
            run: run_keys_dates,
            max_len: 64,
            slow: false,
        },
    ]
}

fn to_seeds(items: &[&str]) -> Vec<Vec<u8>> {
    items.iter().map(|s| s.as_bytes().to_vec()).collect()
}

fn element_string_seeds() -> Vec<Vec<u8>> {
    to_seeds(&[
        "(01)09506000134352(17)271231(10)ABC123(21)SN0001",
        "(01)09506000134352(17)261231(10)ABC123(21)SN0001",
        "(21)SN0001(01)09506000134352(10)L\\(1(17)270200",
        "(01)09506000134352(714)PT1234567(10)A1(21)S1(17)280229",
        "(00)106141411234567897",
        "(01)09506000134353",
        "(01)09506000134352(17)260229",
        "^01095060001343521727123110ABC123^21SN0001",
        "\u{1d}01095060001343521727123110ABC123\u{1d}21SN0001",
        "01095060001343521727123110ABC123\u{1d}21SN0001",
        "]d201095060001343521727123110ABC123\u{1d}21SN0001",
        "]d2010950600013435217271231\u{1d}10ABC123\u{1d}21SN0001\u{1d}",
        "]C101095060001343521727123110ABC123\u{1d}21SN0001",
        "]Q301095060001343521727123110ABC123\u{1d}21SN0001",
        "]e001095060001343521727123110ABC123\u{1d}21SN0001",
        "]J101095060001343521727123110ABC123\u{1d}21SN0001",
        "]d2\u{1d}0109506000134352",
        "]d1plain text",
        "]X9garbage",
        "",
    ])
}

fn digital_link_seeds() -> Vec<Vec<u8>> {
    to_seeds(&[
        "https://id.gs1.org/01/09506000134352/21/ABC",
        "https://id.gs1.org/01/09506000134352/10/ABC123/21/SN0001?17=271231",
        "https://example.com/some/path/01/9506000134352/22/CPV/10/L%2F1/21/S%251?3103=000189&17=271231&foo=bar#frag",
        "HTTP://EXAMPLE.COM/01/09506000134352?17=271231&10=x",
        "https://id.gs1.org/00/106141411234567897",
        "https://id.gs1.org/414/9506000000015/254/X1",
        "https://id.gs1.org/01/09506000134352/21/ABC/10",
        "https://id.gs1.org/01",
        "https://id.gs1.org/10/ABC",
        "]d1https://id.gs1.org/01/09506000134352/21/ABC",
        "]Q1https://id.gs1.org/01/09506000134352/10/L1/21/S1",
        "https:///01/09506000134352",
        "https://id.gs1.org/01/09506000134352/21/%E2%82%AC%",
    ])
}

fn epc_seeds() -> Vec<Vec<u8>> {
    to_seeds(&[
        "urn:epc:id:sgtin:0614141.812345.6789AB",
        "urn:epc:id:sgtin:9506000.013435.SN0001",
        "urn:epc:id:sgtin:9506000.013435.A%2FB%25C%26D%3F",
        "urn:epc:class:lgtin:4023333.002000.2019-10-07",
        "urn:epc:id:sscc:0614141.1123456789",
        "urn:epc:id:sscc:123456.07890123456",
        "urn:epc:id:sgln:0614141.07346.1234",
        "urn:epc:id:sgln:0614141.07346.0",
        "urn:epc:id:sgln:9506000.00001.LINE%2F1",
        "urn:epc:id:sgtin:9506000.013435.",
    ])
}

fn key_seeds() -> Vec<Vec<u8>> {
    to_seeds(&[
        "09506000134352",
        "12345678901231",
        " 9506000134352 ",
        "95060001",
        "106141411234567897",
        "9506000000015",
        "271231",
        "270200",
        "20271231",
        "SN0001",
        "ABC-123/4",
    ])
}

/// The AIs and values of an element string, sorted and without repeats (a Digital
/// Link writes a repeated AI once).
fn pair_set(es: &ElementString) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = es
        .ais()
        .iter()
        .map(|p| (p.ai.clone(), p.value.clone()))
        .collect();
    pairs.sort();
    pairs.dedup();
    pairs
}

fn run_element_string(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = percent_decode(&text, 0);
    match ElementString::parse_with_year(&text, YEAR) {
        Err(e) => {
            if let Some(position) = e.position {
                assert!(
                    position <= text.len(),
                    "error position {position} is past the end of the {}-byte input: {}",
                    text.len(),
                    e.message
                );
            }
        }
        Ok(es) => {
            let _ = policy::check_line_code(&es);
            check_forms(&es);
        }
    }
}

/// Every form a valid element string is written in reads back.
fn check_forms(es: &ElementString) {
    for (form, written) in [
        ("HRI", es.to_hri()),
        ("FNC1", es.to_fnc1()),
        ("scan data", es.to_scan_data()),
    ] {
        match ElementString::parse_with_year(&written, YEAR) {
            Ok(again) => assert_eq!(
                &again, es,
                "the {form} form {written:?} reads back as something else"
            ),
            Err(e) => panic!(
                "the {form} form {written:?} of a valid element string is refused: {}",
                e.message
            ),
        }
    }
    let reordered = es.with_fixed_length_first().to_scan_data();
    match ElementString::parse_with_year(&reordered, YEAR) {
        Ok(again) => assert_eq!(
            pair_set(&again),
            pair_set(es),
            "the fixed-length-first scan data {reordered:?} reads back with other AIs"
        ),
        Err(e) => panic!(
            "the fixed-length-first scan data {reordered:?} is refused: {}",
            e.message
        ),
    }
    if let Ok(link) = es.to_digital_link(CANONICAL_BASE) {
        match ElementString::parse_with_year(&link, YEAR) {
            Ok(again) => assert_eq!(
                pair_set(&again),
                pair_set(es),
                "the Digital Link {link:?} reads back with other AIs"
            ),
            Err(e) => panic!(
                "the Digital Link {link:?} written for {:?} is refused: {}",
                es.to_hri(),
                e.message
            ),
        }
    }
}

fn run_epc_uri(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = epc::unescape_uri_component(&text);
    if let Ok((gtin, serial, prefix_len)) = epc::parse_sgtin_uri(&text) {
        let written = epc::sgtin_uri(&gtin, prefix_len, &serial).unwrap_or_else(|e| {
            panic!(
                "the SGTIN read from {text:?} cannot be written: {}",
                e.message
            )
        });
        assert_eq!(
            epc::parse_sgtin_uri(&written).ok(),
            Some((gtin, serial, prefix_len)),
            "the SGTIN {text:?} written back as {written:?} reads differently"
        );
    }
    if let Ok((gtin, lot, prefix_len)) = epc::parse_lgtin_uri(&text) {
        let written = epc::lgtin_uri(&gtin, prefix_len, &lot).unwrap_or_else(|e| {
            panic!(
                "the LGTIN read from {text:?} cannot be written: {}",
                e.message
            )
        });
        assert_eq!(
            epc::parse_lgtin_uri(&written).ok(),
            Some((gtin, lot, prefix_len)),
            "the LGTIN {text:?} written back as {written:?} reads differently"
        );
    }
    if let Ok((sscc, prefix_len)) = epc::parse_sscc_uri(&text) {
        let written = epc::sscc_uri(&sscc, prefix_len).unwrap_or_else(|e| {
            panic!(
                "the SSCC read from {text:?} cannot be written: {}",
                e.message
            )
        });
        assert_eq!(
            epc::parse_sscc_uri(&written).ok(),
            Some((sscc, prefix_len)),
            "the SSCC {text:?} written back as {written:?} reads differently"
        );
    }
    let _ = epc::parse_sgln_uri(&text);
}

fn run_keys_dates(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(gtin) = Gtin::parse(&text) {
        assert_eq!(
            Gtin::parse(gtin.as_str()).ok().as_ref(),
            Some(&gtin),
            "GTIN {text:?} does not parse again from {:?}",
            gtin.as_str()
        );
    }
    let _ = Sscc::parse(&text);
    let _ = Gln::parse(&text);
    let _ = check_digit(&text);
    let _ = Gs1Date::parse_yymmdd(&text, false, YEAR);
    let _ = Gs1Date::parse_yymmdd(&text, true, YEAR);
    let _ = Gs1Date::parse_yyyymmdd(&text);
    let _ = policy::check_serial(&text);
    let _ = policy::check_lot(&text);
    let _ = policy::check_expiry(&text, YEAR);
    if let Ok(today) = Gs1Date::from_ymd(YEAR, 5, 4) {
        let _ = policy::check_new_batch_expiry(&text, today);
    }
}
