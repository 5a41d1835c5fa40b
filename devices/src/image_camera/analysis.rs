//! Turns one camera image into a `CameraReadout`: decode the symbol with the
//! vision module, grade it (ISO/IEC 15415), report the symbology identifier and
//! the data. Pure (CPU-bound; the driver runs it off the I/O task).

use super::frame::GrayImage;
use crate::readout::{CameraReadout, Grade, ReadOutcome, SymbologyId};
use crate::vision;

/// Measurement conditions stated in the formal grade.
pub const GRADE_APERTURE_MILS: u8 = 5;
pub const GRADE_WAVELENGTH_NM: u16 = 660;
pub const GRADE_ANGLE_DEG: u8 = 45;

/// Decodes and grades one image. A 0 × 0 image, no symbol, or an undecodable
/// symbol is a no-read.
pub fn analyse(image: &GrayImage) -> CameraReadout {
    let outcome = if image.width == 0 || image.height == 0 {
        ReadOutcome::NoRead
    } else {
        let (width, height) = (usize::from(image.width), usize::from(image.height));
        match vision::decode_luma(&image.pixels, width, height) {
            Err(_) => ReadOutcome::NoRead,
            Ok(symbol) => match SymbologyId::parse(&symbol.symbology_identifier) {
                // An identifier the readout cannot carry is treated as unreadable.
                None => ReadOutcome::NoRead,
                Some(symbology) => ReadOutcome::Read {
                    symbology,
                    grade: grade_symbol(&image.pixels, width, height, &symbol),
                    data: symbol.text.into_bytes(),
                },
            },
        }
    };
    CameraReadout {
        seq: image.seq,
        outcome,
    }
}

/// ISO/IEC 15415 overall grade of a decoded symbol, via the vision module's grader.
fn grade_symbol(
    pixels: &[u8],
    width: usize,
    height: usize,
    symbol: &vision::DecodedSymbol,
) -> Grade {
    let options = vision::grade::GradeOptions {
        aperture_mils: u16::from(GRADE_APERTURE_MILS),
        wavelength_nm: GRADE_WAVELENGTH_NM,
        ..Default::default()
    };
    let report = vision::grade::grade(pixels, width, height, symbol, &options);
    let tenths = (report.overall * 10.0)
        .round()
        .clamp(0.0, f64::from(Grade::MAX_TENTHS)) as u8;
    Grade {
        tenths,
        aperture_mils: GRADE_APERTURE_MILS,
        wavelength_nm: GRADE_WAVELENGTH_NM,
        angle_deg: GRADE_ANGLE_DEG,
    }
}
