//! Code lists the linters check against, one list per module. Written from the
//! published standards as known to the project (ISO 3166-1, ISO 4217, ISO 13616,
//! UN/ECE Recommendation 21 with GS1 additions); update them here when the standards
//! change.

pub mod iban_lengths;
pub mod iso3166;
pub mod iso4217;
pub mod package_types;
