//! The station's healthcare policy for codes the line generates, stricter than syntax:
//! serial and lot are CSET 82 and at most 20 characters; expiry day 00 is refused
//! (GSCN 21-040).

use crate::error::Gs1Error;

/// A serial number the line may print.
pub fn check_serial(serial: &str) -> Result<(), Gs1Error> {
    let _ = serial;
    unimplemented!("gs1::policy::check_serial")
}

/// A lot number the line may print.
pub fn check_lot(lot: &str) -> Result<(), Gs1Error> {
    let _ = lot;
    unimplemented!("gs1::policy::check_lot")
}
