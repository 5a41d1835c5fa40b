//! EPC pure-identity URIs (SGTIN, SSCC, SGLN) and the LGTIN class URI, given the
//! GS1 Company Prefix length (which cannot be derived from a GTIN).

use crate::error::Gs1Error;
use crate::key::Gtin;

/// `urn:epc:id:sgtin:<GCP>.<indicator+itemRef>.<serial>`; the serial is URI-escaped.
pub fn sgtin_uri(gtin: &Gtin, company_prefix_len: usize, serial: &str) -> Result<String, Gs1Error> {
    let _ = (gtin, company_prefix_len, serial);
    unimplemented!("gs1::epc::sgtin_uri")
}

/// Reads an SGTIN URI back to its GTIN, serial and company prefix length.
pub fn parse_sgtin_uri(uri: &str) -> Result<(Gtin, String, usize), Gs1Error> {
    let _ = uri;
    unimplemented!("gs1::epc::parse_sgtin_uri")
}
