//! The linters of the GS1 Barcode Syntax Dictionary: one named content check per
//! dictionary linter, applied to one component of an AI value. Grouped by subject:
//! [`checksum`] (csum, csumalpha, iban), [`datetime`] (dates and times), [`codes`]
//! (ISO and GS1 code lists), [`numeric`] (digit rules and structured small fields),
//! [`coupon`] (North American coupon fields), [`text`] (percent-encoding, GCP position).

pub mod checksum;
pub mod codes;
pub mod coupon;
pub mod datetime;
pub mod numeric;
pub mod text;

use crate::error::Gs1ErrorKind;

/// Every linter name that appears in the dictionary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Linter {
    Csum,
    CsumAlpha,
    GcpPos1,
    GcpPos2,
    Yymmd0,
    Yymmdd,
    Yyyymmdd,
    Hhmi,
    Hh,
    Mi,
    Ss,
    Iso3166,
    Iso3166With999,
    Iso3166Alpha2,
    Iso4217,
    Iso5218,
    Iban,
    PercentEncoding,
    Zero,
    NonZero,
    NoZeroPrefix,
    HasNonDigit,
    YesNo,
    Winding,
    PieceOfTotal,
    MediaType,
    PosInSeqSlash,
    ImporterIndex,
    PackageType,
    Latitude,
    Longitude,
    Hyphen,
    CouponCode,
    CouponPosOffer,
}

/// Every linter with its dictionary name.
pub const LINTER_NAMES: &[(Linter, &str)] = &[
    (Linter::Csum, "csum"),
    (Linter::CsumAlpha, "csumalpha"),
    (Linter::GcpPos1, "gcppos1"),
    (Linter::GcpPos2, "gcppos2"),
    (Linter::Yymmd0, "yymmd0"),
    (Linter::Yymmdd, "yymmdd"),
    (Linter::Yyyymmdd, "yyyymmdd"),
    (Linter::Hhmi, "hhmi"),
    (Linter::Hh, "hh"),
    (Linter::Mi, "mi"),
    (Linter::Ss, "ss"),
    (Linter::Iso3166, "iso3166"),
    (Linter::Iso3166With999, "iso3166999"),
    (Linter::Iso3166Alpha2, "iso3166alpha2"),
    (Linter::Iso4217, "iso4217"),
    (Linter::Iso5218, "iso5218"),
    (Linter::Iban, "iban"),
    (Linter::PercentEncoding, "pcenc"),
    (Linter::Zero, "zero"),
    (Linter::NonZero, "nonzero"),
    (Linter::NoZeroPrefix, "nozeroprefix"),
    (Linter::HasNonDigit, "hasnondigit"),
    (Linter::YesNo, "yesno"),
    (Linter::Winding, "winding"),
    (Linter::PieceOfTotal, "pieceoftotal"),
    (Linter::MediaType, "mediatype"),
    (Linter::PosInSeqSlash, "posinseqslash"),
    (Linter::ImporterIndex, "importeridx"),
    (Linter::PackageType, "packagetype"),
    (Linter::Latitude, "latitude"),
    (Linter::Longitude, "longitude"),
    (Linter::Hyphen, "hyphen"),
    (Linter::CouponCode, "couponcode"),
    (Linter::CouponPosOffer, "couponposoffer"),
];

impl Linter {
    /// The linter named `name` in the dictionary.
    pub fn from_name(name: &str) -> Option<Linter> {
        LINTER_NAMES
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(l, _)| *l)
    }

    /// The dictionary name.
    pub fn name(self) -> &'static str {
        LINTER_NAMES
            .iter()
            .find(|(l, _)| *l == self)
            .map_or("?", |(_, n)| n)
    }

    /// The Rust path of this variant, for the table generator.
    pub fn rust_variant(self) -> String {
        format!("Linter::{self:?}")
    }

    /// Runs the linter on one component value.
    pub fn check(self, value: &str, ctx: &LintContext) -> Result<(), LintFailure> {
        match self {
            Linter::Csum => checksum::csum(value),
            Linter::CsumAlpha => checksum::csum_alpha(value),
            Linter::Iban => checksum::iban(value),
            Linter::GcpPos1 => text::gcp_at(value, 0),
            Linter::GcpPos2 => text::gcp_at(value, 1),
            Linter::PercentEncoding => text::percent_encoding(value),
            Linter::Yymmd0 => datetime::yymmdd(value, true, ctx.current_year),
            Linter::Yymmdd => datetime::yymmdd(value, false, ctx.current_year),
            Linter::Yyyymmdd => datetime::yyyymmdd(value),
            Linter::Hhmi => datetime::hhmi(value),
            Linter::Hh => datetime::hour(value),
            Linter::Mi => datetime::minute(value),
            Linter::Ss => datetime::second(value),
            Linter::Iso3166 => codes::iso3166(value, false),
            Linter::Iso3166With999 => codes::iso3166(value, true),
            Linter::Iso3166Alpha2 => codes::iso3166_alpha2(value),
            Linter::Iso4217 => codes::iso4217(value),
            Linter::Iso5218 => codes::iso5218(value),
            Linter::PackageType => codes::package_type(value),
            Linter::MediaType => codes::media_type(value),
            Linter::Zero => numeric::zero(value),
            Linter::NonZero => numeric::non_zero(value),
            Linter::NoZeroPrefix => numeric::no_zero_prefix(value),
            Linter::HasNonDigit => numeric::has_non_digit(value),
            Linter::YesNo => numeric::yes_no(value),
            Linter::Winding => numeric::winding(value),
            Linter::PieceOfTotal => numeric::piece_of_total(value),
            Linter::PosInSeqSlash => numeric::position_in_sequence(value),
            Linter::ImporterIndex => numeric::importer_index(value),
            Linter::Latitude => numeric::latitude(value),
            Linter::Longitude => numeric::longitude(value),
            Linter::Hyphen => numeric::hyphen(value),
            Linter::CouponCode => coupon::coupon_code(value, ctx.current_year),
            Linter::CouponPosOffer => coupon::coupon_pos_offer(value),
        }
    }
}

/// What a linter needs besides the value.
#[derive(Debug, Clone, Copy)]
pub struct LintContext {
    /// Anchors the GS1 sliding century window for two-digit years.
    pub current_year: i32,
}

/// Why a linter refused a value: the kind, where in the component (byte offset) when
/// known, and a message fragment such as `260230 is not a date: February 2026 has 28 days`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LintFailure {
    pub kind: Gs1ErrorKind,
    pub offset: Option<usize>,
    pub message: String,
}

impl LintFailure {
    pub fn content(message: impl Into<String>) -> Self {
        LintFailure {
            kind: Gs1ErrorKind::Content,
            offset: None,
            message: message.into(),
        }
    }
    pub fn date(message: impl Into<String>) -> Self {
        LintFailure {
            kind: Gs1ErrorKind::Date,
            offset: None,
            message: message.into(),
        }
    }
    pub fn check_digit(message: impl Into<String>) -> Self {
        LintFailure {
            kind: Gs1ErrorKind::CheckDigit,
            offset: None,
            message: message.into(),
        }
    }
    pub fn at(mut self, offset: usize) -> Self {
        self.offset = Some(offset);
        self
    }
}

/// Shorthand for linter results.
pub type LintResult = Result<(), LintFailure>;
