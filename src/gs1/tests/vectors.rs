//! Known-good and known-bad vectors of the GS1 standards, through the public API.

use serialstation_gs1::digital_link::CANONICAL_BASE;
use serialstation_gs1::{ElementString, Gs1ErrorKind, Gtin, check_digit, epc};

const YEAR: i32 = 2026;

fn parse(s: &str) -> Result<ElementString, serialstation_gs1::Gs1Error> {
    ElementString::parse_with_year(s, YEAR)
}

#[test]
fn typical_pharma_scan_in_every_form() {
    let scan = "]d2010950600013435217261231".to_string() + "10ABC123\u{1d}21SN0001";
    let es = parse(&scan).unwrap();
    assert_eq!(
        es.to_hri(),
        "(01)09506000134352(17)261231(10)ABC123(21)SN0001"
    );
    assert_eq!(
        es.to_fnc1(),
        "^010950600013435217261231".to_string() + "10ABC123^21SN0001"
    );
    assert_eq!(
        es.to_encoder_data(),
        "010950600013435217261231".to_string() + "10ABC123\u{1d}21SN0001"
    );
    assert_eq!(es.to_scan_data(), scan);
    assert_eq!(
        es.to_digital_link(CANONICAL_BASE).unwrap(),
        "https://id.gs1.org/01/09506000134352/10/ABC123/21/SN0001?17=261231"
    );
    for form in [
        es.to_hri(),
        es.to_fnc1(),
        es.to_encoder_data(),
        es.to_digital_link(CANONICAL_BASE).unwrap(),
    ] {
        let again = parse(&form).unwrap();
        let mut a = again.ais().to_vec();
        let mut b = es.ais().to_vec();
        a.sort_by(|x, y| x.ai.cmp(&y.ai));
        b.sort_by(|x, y| x.ai.cmp(&y.ai));
        assert_eq!(a, b, "form {form}");
    }
    assert_eq!(es.get("21"), Some("SN0001"));
}

#[test]
fn check_digits_and_keys() {
    assert!(Gtin::parse("12345678901231").is_ok());
    assert!(Gtin::parse("09506000134352").is_ok());
    assert_eq!(check_digit("10614141123456789"), Some(7));
    assert!(parse("(00)106141411234567897").is_ok());
    assert!(parse("(00)123456789012345675").is_ok());
    let e = parse("(01)09506000134353").unwrap_err();
    assert_eq!(e.kind, Gs1ErrorKind::CheckDigit);
    assert_eq!(
        e.message,
        "AI (01): check digit should be 2, found 3 (GTIN 09506000134353)"
    );
}

#[test]
fn expiry_dates() {
    let e = parse("(01)09506000134352(17)260229").unwrap_err();
    assert_eq!(e.kind, Gs1ErrorKind::Date);
    assert_eq!(
        e.message,
        "AI (17): 260229 is not a date: February 2026 has 28 days"
    );
    let e = parse("(01)09506000134352(17)260230").unwrap_err();
    assert_eq!(
        e.message,
        "AI (17): 260230 is not a date: February 2026 has 28 days"
    );
    assert!(parse("(01)09506000134352(17)280229").is_ok());
    assert!(parse("(01)09506000134352(17)260200").is_ok());
}

#[test]
fn charset_error_names_position() {
    assert!(parse("^0109506000134352").is_ok());
    let e = parse("]d2010950600013435210 ABC").unwrap_err();
    assert_eq!(e.kind, Gs1ErrorKind::Charset);
    assert_eq!(
        e.message,
        "AI (10) at position 22: character ' ' is not allowed (GS1 CSET 82)"
    );
    assert_eq!(e.position, Some(21));
}

#[test]
fn missing_separator_changes_the_lot() {
    let es = parse("]d2010950600013435210ABC12321SN0001").unwrap();
    assert_eq!(es.get("10"), Some("ABC12321SN0001"));
    assert_eq!(es.get("21"), None);
}

#[test]
fn scan_data_rules() {
    assert!(
        parse("]d201095060001343521721123110ABC\u{1d}").is_ok(),
        "superfluous GS at the end"
    );
    assert!(
        parse("]d20109506000134352\u{1d}17211231").is_ok(),
        "superfluous GS after a predefined-length AI"
    );
    assert_eq!(
        parse("]d2\u{1d}0109506000134352").unwrap_err().kind,
        Gs1ErrorKind::Syntax
    );
    assert_eq!(
        parse("]d10109506000134352").unwrap_err().kind,
        Gs1ErrorKind::Syntax
    );
    assert!(parse("]d1https://id.gs1.org/01/09506000134352").is_ok());
    assert!(parse("]Q1https://id.gs1.org/01/09506000134352/21/X").is_ok());
    for id in ["]C1", "]Q3", "]e0", "]J1"] {
        assert!(parse(&format!("{id}0109506000134352")).is_ok(), "{id}");
    }
}

#[test]
fn digital_link_rules() {
    assert!(parse("https://id.gs1.org/01/09506000134352/10/ABC/21/X?17=261231").is_ok());
    assert!(parse("HTTPS://example.com/some/prefix/01/09506000134352?foo=bar&17=261231").is_ok());
    assert!(
        parse("http://example.com/01/9506000134352").is_ok(),
        "GTIN-13 padded"
    );
    let e = parse("https://id.gs1.org/01/09506000134352/21/X/10/ABC").unwrap_err();
    assert_eq!(e.kind, Gs1ErrorKind::DigitalLink);
    let e = parse("https://id.gs1.org/01/09506000134352/22/A/235/B").unwrap_err();
    assert_eq!(e.kind, Gs1ErrorKind::DigitalLink);
    let e = parse("https://id.gs1.org/01/09506000134352?21=X").unwrap_err();
    assert_eq!(e.kind, Gs1ErrorKind::DigitalLink);
    let e = parse("https://id.gs1.org/01/09506000134352?99999=X").unwrap_err();
    assert_eq!(e.kind, Gs1ErrorKind::UnknownAi);
    assert_eq!(
        parse("ftp://id.gs1.org/01/09506000134352")
            .unwrap_err()
            .kind,
        Gs1ErrorKind::Syntax
    );
    let es = parse("https://id.gs1.org/01/09506000134352/21/A%2FB%25").unwrap();
    assert_eq!(es.get("21"), Some("A/B%"));
    assert_eq!(
        es.to_digital_link("https://example.com/").unwrap(),
        "https://example.com/01/09506000134352/21/A%2FB%25"
    );
}

#[test]
fn hri_escaping() {
    let es = parse("(01)09506000134352(21)A\\(B)C").unwrap();
    assert_eq!(es.get("21"), Some("A(B)C"));
    assert_eq!(es.to_hri(), "(01)09506000134352(21)A\\(B)C");
}

#[test]
fn fixed_length_first() {
    let es = parse("(01)09506000134352(10)ABC(17)261231(21)S1").unwrap();
    let reordered = es.with_fixed_length_first();
    assert_eq!(
        reordered.to_fnc1(),
        "^010950600013435217261231".to_string() + "10ABC^21S1"
    );
}

#[test]
fn epc_examples() {
    let gtin = Gtin::parse("09506000134352").unwrap();
    assert_eq!(
        epc::sgtin_uri(&gtin, 7, "SN0001").unwrap(),
        "urn:epc:id:sgtin:9506000.013435.SN0001"
    );
    let sscc = serialstation_gs1::key::Sscc::parse("012345678901234560").unwrap();
    assert_eq!(
        epc::sscc_uri(&sscc, 6).unwrap(),
        "urn:epc:id:sscc:123456.07890123456"
    );
}
