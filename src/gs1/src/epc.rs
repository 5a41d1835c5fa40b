//! EPC pure-identity URIs (SGTIN, SSCC, SGLN) and the LGTIN class URI, given the
//! GS1 Company Prefix length (which cannot be derived from a GTIN), and reading each
//! back. Serial, lot and extension parts use the TDS URI escaping.

use crate::error::{Gs1Error, Gs1ErrorKind};
use crate::key::{Gln, Gtin, Sscc, check_digit};
use crate::policy::MAX_SERIAL_OR_LOT_LEN;

const SGTIN_PREFIX: &str = "urn:epc:id:sgtin:";
const SSCC_PREFIX: &str = "urn:epc:id:sscc:";
const SGLN_PREFIX: &str = "urn:epc:id:sgln:";
const LGTIN_PREFIX: &str = "urn:epc:class:lgtin:";

fn epc_error(message: String) -> Gs1Error {
    Gs1Error::new(Gs1ErrorKind::Epc, message)
}

fn check_prefix_len(company_prefix_len: usize) -> Result<(), Gs1Error> {
    if !(6..=12).contains(&company_prefix_len) {
        return Err(epc_error(format!(
            "a GS1 Company Prefix has 6 to 12 digits for EPC URIs, not {company_prefix_len}; check the product's company prefix length"
        )));
    }
    Ok(())
}

/// Escapes a serial, lot or extension for an EPC URI (TDS URI escaping).
pub fn escape_uri_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("%22"),
            '%' => out.push_str("%25"),
            '&' => out.push_str("%26"),
            '/' => out.push_str("%2F"),
            '<' => out.push_str("%3C"),
            '>' => out.push_str("%3E"),
            '?' => out.push_str("%3F"),
            c => out.push(c),
        }
    }
    out
}

/// Reverses [`escape_uri_component`] (any `%HH` escape is decoded).
pub fn unescape_uri_component(s: &str) -> Result<String, Gs1Error> {
    crate::digital_link::percent_decode(s, 0)
        .map(|c| c.into_owned())
        .map_err(|e| {
            epc_error(format!(
                "{s:?} is not a valid EPC URI component: {}",
                e.message
            ))
        })
}

fn check_attribute(value: &str, what: &str, ai: &str) -> Result<(), Gs1Error> {
    let result = if ai == "21" {
        crate::policy::check_serial(value)
    } else {
        crate::policy::check_lot(value)
    };
    result.map_err(|e| epc_error(format!("{what}: {}", e.message)).with_ai(ai))?;
    debug_assert!(value.len() <= MAX_SERIAL_OR_LOT_LEN);
    Ok(())
}

/// GCP and indicator+item reference of a GTIN.
fn gtin_fields(gtin: &Gtin, company_prefix_len: usize) -> Result<(String, String), Gs1Error> {
    check_prefix_len(company_prefix_len)?;
    let g = gtin.as_str();
    let company_prefix = &g[1..1 + company_prefix_len];
    let item_ref = format!("{}{}", &g[..1], &g[1 + company_prefix_len..13]);
    Ok((company_prefix.to_string(), item_ref))
}

/// `urn:epc:id:sgtin:<GCP>.<indicator+itemRef>.<serial>`; the serial is URI-escaped.
pub fn sgtin_uri(gtin: &Gtin, company_prefix_len: usize, serial: &str) -> Result<String, Gs1Error> {
    let (gcp, item) = gtin_fields(gtin, company_prefix_len)?;
    check_attribute(serial, "serial", "21")?;
    Ok(format!(
        "{SGTIN_PREFIX}{gcp}.{item}.{}",
        escape_uri_component(serial)
    ))
}

/// `urn:epc:class:lgtin:<GCP>.<indicator+itemRef>.<lot>`; the lot is URI-escaped.
pub fn lgtin_uri(gtin: &Gtin, company_prefix_len: usize, lot: &str) -> Result<String, Gs1Error> {
    let (gcp, item) = gtin_fields(gtin, company_prefix_len)?;
    check_attribute(lot, "lot", "10")?;
    Ok(format!(
        "{LGTIN_PREFIX}{gcp}.{item}.{}",
        escape_uri_component(lot)
    ))
}

/// `urn:epc:idpat:sgtin:<GCP>.<indicator+itemRef>.*`: every serial of a GTIN.
pub fn sgtin_class_pattern(gtin: &Gtin, company_prefix_len: usize) -> Result<String, Gs1Error> {
    let (gcp, item) = gtin_fields(gtin, company_prefix_len)?;
    Ok(format!("urn:epc:idpat:sgtin:{gcp}.{item}.*"))
}

/// Splits `<digits>.<digits>.<rest>` after `prefix`, checking digit counts.
fn split_three<'a>(
    uri: &'a str,
    prefix: &str,
    kind: &str,
    digits_total: usize,
) -> Result<(&'a str, &'a str, &'a str), Gs1Error> {
    let body = uri.strip_prefix(prefix).ok_or_else(|| {
        epc_error(format!(
            "{uri:?} is not an {kind} URI: it must start with {prefix}"
        ))
    })?;
    let mut parts = body.splitn(3, '.');
    let (Some(gcp), Some(reference), Some(rest)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(epc_error(format!(
            "{uri:?} is not an {kind} URI: expected three dot-separated parts after {prefix}"
        )));
    };
    split_two_checked(uri, kind, gcp, reference, digits_total)?;
    Ok((gcp, reference, rest))
}

fn split_two_checked(
    uri: &str,
    kind: &str,
    gcp: &str,
    reference: &str,
    digits_total: usize,
) -> Result<(), Gs1Error> {
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if !digits(gcp) || !digits(reference) {
        return Err(epc_error(format!(
            "{uri:?}: the company prefix and reference of an {kind} must be digits"
        )));
    }
    check_prefix_len(gcp.len())?;
    if gcp.len() + reference.len() != digits_total {
        return Err(epc_error(format!(
            "{uri:?}: company prefix and reference of an {kind} must have {digits_total} digits together, found {}",
            gcp.len() + reference.len()
        )));
    }
    Ok(())
}

fn gtin_from_fields(gcp: &str, item: &str) -> Result<Gtin, Gs1Error> {
    let body = format!("{}{gcp}{}", &item[..1], &item[1..]);
    let cd = check_digit(&body).ok_or_else(|| epc_error(format!("{body} is not digits")))?;
    Gtin::parse(&format!("{body}{cd}"))
}

/// Reads an SGTIN URI back to its GTIN, serial and company prefix length.
pub fn parse_sgtin_uri(uri: &str) -> Result<(Gtin, String, usize), Gs1Error> {
    let (gcp, item, serial) = split_three(uri, SGTIN_PREFIX, "SGTIN", 13)?;
    let serial = unescape_uri_component(serial)?;
    check_attribute(&serial, "serial", "21")?;
    Ok((gtin_from_fields(gcp, item)?, serial, gcp.len()))
}

/// Reads an LGTIN class URI back to its GTIN, lot and company prefix length.
pub fn parse_lgtin_uri(uri: &str) -> Result<(Gtin, String, usize), Gs1Error> {
    let (gcp, item, lot) = split_three(uri, LGTIN_PREFIX, "LGTIN", 13)?;
    let lot = unescape_uri_component(lot)?;
    check_attribute(&lot, "lot", "10")?;
    Ok((gtin_from_fields(gcp, item)?, lot, gcp.len()))
}

/// `urn:epc:id:sscc:<GCP>.<extension digit+serial reference>`.
pub fn sscc_uri(sscc: &Sscc, company_prefix_len: usize) -> Result<String, Gs1Error> {
    check_prefix_len(company_prefix_len)?;
    let s = sscc.as_str();
    Ok(format!(
        "{SSCC_PREFIX}{}.{}{}",
        &s[1..1 + company_prefix_len],
        &s[..1],
        &s[1 + company_prefix_len..17]
    ))
}

/// Reads an SSCC URI back to the SSCC and company prefix length.
pub fn parse_sscc_uri(uri: &str) -> Result<(Sscc, usize), Gs1Error> {
    let body = uri.strip_prefix(SSCC_PREFIX).ok_or_else(|| {
        epc_error(format!(
            "{uri:?} is not an SSCC URI: it must start with {SSCC_PREFIX}"
        ))
    })?;
    let (gcp, reference) = body.split_once('.').ok_or_else(|| {
        epc_error(format!(
            "{uri:?} is not an SSCC URI: expected <company prefix>.<serial reference>"
        ))
    })?;
    split_two_checked(uri, "SSCC", gcp, reference, 17)?;
    let body = format!("{}{gcp}{}", &reference[..1], &reference[1..]);
    let cd = check_digit(&body).ok_or_else(|| epc_error(format!("{body} is not digits")))?;
    Ok((Sscc::parse(&format!("{body}{cd}"))?, gcp.len()))
}

/// `urn:epc:id:sgln:<GCP>.<location reference>.<extension>`; extension `0` means none.
pub fn sgln_uri(
    gln: &Gln,
    company_prefix_len: usize,
    extension: Option<&str>,
) -> Result<String, Gs1Error> {
    check_prefix_len(company_prefix_len)?;
    let g = gln.as_str();
    let ext = match extension {
        None => "0".to_string(),
        Some(e) => {
            crate::policy::check_lot(e).map_err(|err| {
                epc_error(format!("GLN extension: {}", err.message)).with_ai("254")
            })?;
            escape_uri_component(e)
        }
    };
    Ok(format!(
        "{SGLN_PREFIX}{}.{}.{ext}",
        &g[..company_prefix_len],
        &g[company_prefix_len..12]
    ))
}

/// Reads an SGLN URI back to the GLN, extension (`None` for `0`) and company prefix length.
pub fn parse_sgln_uri(uri: &str) -> Result<(Gln, Option<String>, usize), Gs1Error> {
    let (gcp, location, ext) = split_three(uri, SGLN_PREFIX, "SGLN", 12)?;
    let body = format!("{gcp}{location}");
    let cd = check_digit(&body).ok_or_else(|| epc_error(format!("{body} is not digits")))?;
    let gln = Gln::parse(&format!("{body}{cd}"))?;
    let ext = if ext == "0" {
        None
    } else {
        Some(unescape_uri_component(ext)?)
    };
    Ok((gln, ext, gcp.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_examples() {
        let gtin = Gtin::parse("80614141123458").unwrap();
        assert_eq!(
            sgtin_uri(&gtin, 7, "6789AB").unwrap(),
            "urn:epc:id:sgtin:0614141.812345.6789AB"
        );
        let sscc = Sscc::parse("106141411234567897").unwrap();
        let uri = sscc_uri(&sscc, 7).unwrap();
        assert_eq!(uri, "urn:epc:id:sscc:0614141.1123456789");
        assert_eq!(parse_sscc_uri(&uri).unwrap(), (sscc, 7));
        let gtin = Gtin::parse("04023333020008").unwrap();
        assert_eq!(
            lgtin_uri(&gtin, 7, "2019-10-07").unwrap(),
            "urn:epc:class:lgtin:4023333.002000.2019-10-07"
        );
        let gln = Gln::parse("0614141073467").unwrap();
        assert_eq!(
            sgln_uri(&gln, 7, Some("1234")).unwrap(),
            "urn:epc:id:sgln:0614141.07346.1234"
        );
        assert_eq!(
            parse_sgln_uri("urn:epc:id:sgln:0614141.07346.0").unwrap(),
            (gln, None, 7)
        );
    }

    #[test]
    fn escaping_round_trip() {
        let gtin = Gtin::parse("09506000134352").unwrap();
        let uri = sgtin_uri(&gtin, 7, "A/B%C&D?").unwrap();
        assert_eq!(uri, "urn:epc:id:sgtin:9506000.013435.A%2FB%25C%26D%3F");
        assert_eq!(
            parse_sgtin_uri(&uri).unwrap(),
            (gtin, "A/B%C&D?".to_string(), 7)
        );
        assert!(sgtin_uri(&Gtin::parse("09506000134352").unwrap(), 5, "1").is_err());
    }
}
