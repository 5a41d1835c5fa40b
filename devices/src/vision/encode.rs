//! GS1 DataMatrix encoding: element string → ECC 200 codewords → module matrix →
//! grayscale image, with a self-check that the symbol reads back as GS1 (`]d2`).

use image::GrayImage;
use serialstation_gs1::ElementString;

use super::ecc200::{
    FNC1_CODEWORD, SYMBOL_SIZES, SymbolLayout, SymbolSize, append_error_correction, encode_ascii,
    error_correction_for_block, pad_codewords,
};
use super::render::{RenderOptions, render};
use super::types::{ModuleMatrix, SymbolShape, VisionError};

/// How to encode and draw a symbol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EncodeOptions {
    pub shape: SymbolShape,
    pub render: RenderOptions,
}

/// A symbol ready to print: its size, codewords, modules and image.
#[derive(Debug, Clone)]
pub struct EncodedSymbol {
    pub size: SymbolSize,
    /// Data codewords followed by the interleaved error-correction codewords.
    pub codewords: Vec<u8>,
    pub matrix: ModuleMatrix,
    pub image: GrayImage,
}

/// Encodes validated GS1 data as a GS1 DataMatrix and renders it.
pub fn encode(
    element_string: &ElementString,
    options: &EncodeOptions,
) -> Result<EncodedSymbol, VisionError> {
    let data = element_string.to_encoder_data();
    let (size, codewords, matrix) = encode_matrix(data.as_bytes(), true, options.shape)?;
    self_check_gs1(&size, &matrix)?;
    let image = render(&matrix, &options.render);
    Ok(EncodedSymbol {
        size,
        codewords,
        matrix,
        image,
    })
}

/// Parses `data` in any form the GS1 module reads, then encodes it.
pub fn encode_text(data: &str, options: &EncodeOptions) -> Result<EncodedSymbol, VisionError> {
    let element_string = ElementString::parse(data)?;
    encode(&element_string, options)
}

/// Encodes raw bytes without GS1 validation: `gs1_mode` selects FNC1 in first
/// position (`]d2`) or plain Data Matrix (`]d1`). For tests and simulated faults.
pub fn encode_matrix(
    data: &[u8],
    gs1_mode: bool,
    shape: SymbolShape,
) -> Result<(SymbolSize, Vec<u8>, ModuleMatrix), VisionError> {
    let mut codewords = encode_ascii(data, gs1_mode);
    let size = choose_size(codewords.len(), shape)?;
    pad_codewords(&mut codewords, size.data_codewords);
    append_error_correction(&mut codewords, &size);
    let matrix = draw(&size, &codewords)?;
    Ok((size, codewords, matrix))
}

/// The ideal symbol for decoded data codewords: recomputes the error correction and
/// places everything (used by grading to find codeword errors).
pub fn ideal_symbol(
    size: &SymbolSize,
    data_codewords: &[u8],
) -> Result<(Vec<u8>, ModuleMatrix), VisionError> {
    let mut codewords = data_codewords.to_vec();
    codewords.resize(size.data_codewords, 0);
    append_error_correction(&mut codewords, size);
    let matrix = draw(size, &codewords)?;
    Ok((codewords, matrix))
}

fn layout_of(size: &SymbolSize) -> Result<&'static SymbolLayout, VisionError> {
    SymbolLayout::for_size(size).ok_or(VisionError::UnknownSymbolSize {
        rows: size.rows,
        cols: size.cols,
    })
}

fn draw(size: &SymbolSize, codewords: &[u8]) -> Result<ModuleMatrix, VisionError> {
    let layout = layout_of(size)?;
    Ok(ModuleMatrix {
        rows: size.rows,
        cols: size.cols,
        modules: layout.draw(codewords),
    })
}

/// The smallest size of the requested shape that holds `needed` data codewords.
pub fn choose_size(needed: usize, shape: SymbolShape) -> Result<SymbolSize, VisionError> {
    let fits = |s: &&SymbolSize| s.data_codewords >= needed;
    let chosen = match shape {
        SymbolShape::Square => SYMBOL_SIZES.iter().filter(|s| s.is_square()).find(fits),
        SymbolShape::Rectangle => SYMBOL_SIZES.iter().filter(|s| !s.is_square()).find(fits),
        SymbolShape::Auto => SYMBOL_SIZES
            .iter()
            .filter(fits)
            .min_by_key(|s| (s.rows * s.cols, s.rows)),
        SymbolShape::Fixed { rows, cols } => {
            let size = SymbolSize::with_dimensions(rows, cols)
                .ok_or(VisionError::UnknownSymbolSize { rows, cols })?;
            return if size.data_codewords >= needed {
                Ok(size)
            } else {
                Err(VisionError::DataTooLong {
                    needed,
                    capacity: size.data_codewords,
                    shape: format!("{rows}x{cols}"),
                })
            };
        }
    };
    chosen.copied().ok_or_else(|| {
        let (capacity, shape_name) = match shape {
            SymbolShape::Rectangle => (49, "rectangular"),
            _ => (1558, "square"),
        };
        VisionError::DataTooLong {
            needed,
            capacity,
            shape: shape_name.to_string(),
        }
    })
}

/// Cheap structural check of an encoded GS1 symbol: the codewords read back from
/// the modules start with FNC1 and every Reed–Solomon block is consistent. In debug
/// builds the symbol is also decoded by rxing and must come back as `]d2`.
pub fn self_check_gs1(size: &SymbolSize, matrix: &ModuleMatrix) -> Result<(), VisionError> {
    let layout = layout_of(size)?;
    let codewords = layout.read_codewords(&matrix.modules);
    if codewords.first() != Some(&FNC1_CODEWORD) {
        return Err(VisionError::SelfCheck("first codeword is not FNC1".into()));
    }
    let data_len = size.data_codewords;
    let ecc_len = size.block_ecc_codewords();
    for block in 0..size.blocks {
        let data: Vec<u8> = (block..data_len)
            .step_by(size.blocks)
            .map(|i| codewords[i])
            .collect();
        let expected = error_correction_for_block(&data, ecc_len);
        let actual = (0..ecc_len).map(|k| codewords[data_len + block + k * size.blocks]);
        if !expected.iter().copied().eq(actual) {
            return Err(VisionError::SelfCheck(format!(
                "Reed-Solomon block {block} inconsistent"
            )));
        }
    }
    if cfg!(debug_assertions) {
        let decoded = super::decode::decode_module_matrix(matrix)
            .map_err(|e| VisionError::SelfCheck(format!("rxing could not decode it: {e}")))?;
        if decoded.symbology_identifier != "]d2" {
            return Err(VisionError::SelfCheck(format!(
                "rxing reads it as {}",
                decoded.symbology_identifier
            )));
        }
    }
    Ok(())
}
