//! Reading GS1 DataMatrix symbols from grayscale frames: locate the symbol, sample
//! its modules and decode them with rxing's ECC 200 decoder (fast path), falling
//! back to rxing's own detector; then classify the content (GS1 and valid, GS1 but
//! invalid, or plain Data Matrix). A plain `]d1` symbol is never reported as GS1.

use rxing::common::{BitMatrix, HybridBinarizer};
use rxing::datamatrix::DataMatrixReader;
use rxing::datamatrix::decoder::Decoder;
use rxing::{BinaryBitmap, DecodeHints, Luma8LuminanceSource, Reader};
use serialstation_gs1::{ElementString, Gs1Error};

use super::ecc200::{SYMBOL_SIZES, SymbolSize};
use super::geometry::Point;
use super::locate::{LocatedSymbol, locate_from_corners, locate_where};
use super::sampling::{Luma, percentile, sample_modules};
use super::types::{ModuleMatrix, Polarity};

/// What the symbol's data means.
#[derive(Debug, Clone, PartialEq)]
pub enum Gs1Content {
    /// A GS1 symbol (`]d2`) whose element string passed every GS1 check.
    Valid(ElementString),
    /// A GS1 symbol (`]d2`) whose data fails GS1 validation.
    Invalid(Gs1Error),
    /// Not a GS1 symbol (plain Data Matrix, `]d1`, or another modifier).
    NotGs1,
}

/// How the symbol was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DecodePath {
    /// Own locator and sampler, rxing's ECC 200 decoder.
    Located,
    /// rxing's detector on the whole frame.
    RxingDetector,
}

/// A successful read.
#[derive(Debug, Clone)]
pub struct DecodedSymbol {
    /// AIM symbology identifier, e.g. `]d2` (GS1) or `]d1` (plain).
    pub symbology_identifier: String,
    /// Scan data after the identifier (inner FNC1 transmitted as GS, 0x1D).
    pub text: String,
    /// The corrected data codewords.
    pub data_codewords: Vec<u8>,
    pub size: Option<SymbolSize>,
    /// Symbol corners in pixels when known: bottom-left (finder corner),
    /// bottom-right, top-right, top-left.
    pub corners: Option<[Point; 4]>,
    pub content: Gs1Content,
    pub polarity: Polarity,
    pub path: DecodePath,
    /// The located grid (for grading), when the own locator found the symbol.
    pub located: Option<LocatedSymbol>,
}

impl DecodedSymbol {
    /// True only for a GS1 symbol whose data passed validation.
    pub fn is_valid_gs1(&self) -> bool {
        matches!(self.content, Gs1Content::Valid(_))
    }

    pub fn element_string(&self) -> Option<&ElementString> {
        match &self.content {
            Gs1Content::Valid(es) => Some(es),
            _ => None,
        }
    }
}

/// Why nothing was read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoRead {
    #[error(
        "the image is {width}x{height} but the buffer has {len} bytes (expected one 8-bit luma value per pixel)"
    )]
    BadBuffer {
        width: usize,
        height: usize,
        len: usize,
    },
    #[error(
        "no Data Matrix symbol found in the image; check focus, lighting and that the code is in view"
    )]
    NotFound,
    #[error("a symbol was found but could not be decoded ({0}); the print is too damaged to read")]
    Undecodable(String),
}

/// Raw result of rxing's ECC 200 decoder on a module matrix.
#[derive(Debug, Clone)]
pub struct RawDecode {
    pub symbology_identifier: String,
    pub text: String,
    pub data_codewords: Vec<u8>,
}

/// Decodes an ideal module matrix (no image involved).
pub fn decode_module_matrix(matrix: &ModuleMatrix) -> Result<RawDecode, NoRead> {
    let mut bits = BitMatrix::new(matrix.cols as u32, matrix.rows as u32)
        .map_err(|e| NoRead::Undecodable(e.to_string()))?;
    for r in 0..matrix.rows {
        for c in 0..matrix.cols {
            if matrix.get(r, c) {
                bits.set(c as u32, r as u32);
            }
        }
    }
    let result = Decoder::new()
        .decode(&bits)
        .map_err(|e| NoRead::Undecodable(e.to_string()))?;
    Ok(RawDecode {
        symbology_identifier: format!("]d{}", result.getSymbologyModifier()),
        text: result.getText().to_string(),
        data_codewords: result.getRawBytes().clone(),
    })
}

/// Decodes the symbol in an 8-bit grayscale image.
pub fn decode_image(image: &image::GrayImage) -> Result<DecodedSymbol, NoRead> {
    decode_luma(
        image.as_raw(),
        image.width() as usize,
        image.height() as usize,
    )
}

/// Decodes the symbol in a raw luma buffer (`width * height` bytes, row-major).
pub fn decode_luma(pixels: &[u8], width: usize, height: usize) -> Result<DecodedSymbol, NoRead> {
    let image = Luma::new(pixels, width, height).ok_or(NoRead::BadBuffer {
        width,
        height,
        len: pixels.len(),
    })?;
    let mut last_error = NoRead::NotFound;
    for polarity in [Polarity::DarkOnLight, Polarity::LightOnDark] {
        let inverted;
        let view = match polarity {
            Polarity::DarkOnLight => image,
            Polarity::LightOnDark => {
                inverted = pixels.iter().map(|p| 255 - p).collect::<Vec<u8>>();
                Luma {
                    pixels: &inverted,
                    ..image
                }
            }
        };
        match decode_located(&view, polarity) {
            Ok(found) => return Ok(found),
            Err(e @ NoRead::Undecodable(_)) => last_error = e,
            Err(_) => {}
        }
        match decode_with_rxing_detector(&view, polarity) {
            Ok(found) => return Ok(found),
            Err(e @ NoRead::Undecodable(_)) => last_error = e,
            Err(_) => {}
        }
    }
    Err(last_error)
}

/// Fast path: own locator, sampled modules, rxing's ECC 200 decoder.
fn decode_located(image: &Luma, polarity: Polarity) -> Result<DecodedSymbol, NoRead> {
    let mut last_error = NoRead::NotFound;
    locate_where(image, |located| {
        match decode_at(image, located, polarity, DecodePath::Located) {
            Ok(found) => Some(found),
            Err(e) => {
                last_error = e;
                None
            }
        }
    })
    .ok_or(last_error)
}

fn decode_at(
    image: &Luma,
    located: LocatedSymbol,
    polarity: Polarity,
    path: DecodePath,
) -> Result<DecodedSymbol, NoRead> {
    let size = located.size;
    let samples = sample_modules(image, &located.grid, size.rows, size.cols, 0.4);
    let threshold = (percentile(&samples, 0.05) + percentile(&samples, 0.95)) / 2.0;
    let matrix = ModuleMatrix {
        rows: size.rows,
        cols: size.cols,
        modules: samples.iter().map(|&s| s < threshold).collect(),
    };
    let raw = decode_module_matrix(&matrix)?;
    Ok(finish(
        raw,
        Some(size),
        Some(located.corners),
        polarity,
        path,
        Some(located),
    ))
}

/// Slow path: rxing's detector (TryHarder) on the whole frame.
fn decode_with_rxing_detector(image: &Luma, polarity: Polarity) -> Result<DecodedSymbol, NoRead> {
    let source = Luma8LuminanceSource::new(
        image.pixels.to_vec(),
        image.width as u32,
        image.height as u32,
    )
    .map_err(|_| NoRead::NotFound)?;
    let hints = DecodeHints {
        TryHarder: Some(true),
        ..Default::default()
    };
    let result = DataMatrixReader
        .decode_with_hints(&mut BinaryBitmap::new(HybridBinarizer::new(source)), &hints)
        .map_err(|_| NoRead::NotFound)?;
    let points: Vec<Point> = result
        .getPoints()
        .iter()
        .map(|p| Point::new(p.x as f64, p.y as f64))
        .collect();
    let data_codewords = result.getRawBytes().to_vec();
    let symbology_identifier = match result
        .getRXingResultMetadata()
        .get(&rxing::RXingResultMetadataType::SYMBOLOGY_IDENTIFIER)
    {
        Some(rxing::RXingResultMetadataValue::SymbologyIdentifier(id)) => id.clone(),
        _ => "]d1".to_string(),
    };
    let raw = RawDecode {
        symbology_identifier,
        text: result.getText().to_string(),
        data_codewords,
    };
    let located = (points.len() == 4)
        .then(|| locate_from_corners(image, [points[0], points[1], points[2], points[3]]))
        .flatten();
    let size = located
        .map(|l| l.size)
        .or_else(|| size_for_codewords(raw.data_codewords.len()));
    let corners = located.map(|l| l.corners);
    Ok(finish(
        raw,
        size,
        corners,
        polarity,
        DecodePath::RxingDetector,
        located,
    ))
}

fn size_for_codewords(data_codewords: usize) -> Option<SymbolSize> {
    SYMBOL_SIZES
        .iter()
        .copied()
        .find(|s| s.data_codewords == data_codewords)
}

fn finish(
    raw: RawDecode,
    size: Option<SymbolSize>,
    corners: Option<[Point; 4]>,
    polarity: Polarity,
    path: DecodePath,
    located: Option<LocatedSymbol>,
) -> DecodedSymbol {
    let content = classify(&raw.symbology_identifier, &raw.text);
    DecodedSymbol {
        symbology_identifier: raw.symbology_identifier,
        text: raw.text,
        data_codewords: raw.data_codewords,
        size,
        corners,
        content,
        polarity,
        path,
        located,
    }
}

/// GS1 only with the `]d2` identifier; then the data must pass GS1 validation.
pub fn classify(symbology_identifier: &str, text: &str) -> Gs1Content {
    if symbology_identifier != "]d2" {
        return Gs1Content::NotGs1;
    }
    match ElementString::parse(&format!("]d2{text}")) {
        Ok(es) => Gs1Content::Valid(es),
        Err(e) => Gs1Content::Invalid(e),
    }
}
