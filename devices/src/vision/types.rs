//! Types shared by the vision module: module matrices, symbol shape and polarity
//! options, and the module's error type.

use super::ecc200::SymbolSize;

/// The modules of one symbol, row-major, row 0 at the top, `true` = dark (ink).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleMatrix {
    pub rows: usize,
    pub cols: usize,
    pub modules: Vec<bool>,
}

impl ModuleMatrix {
    pub fn get(&self, row: usize, col: usize) -> bool {
        self.modules
            .get(row * self.cols + col)
            .copied()
            .unwrap_or(false)
    }

    /// The matrix as text, one line per row (`#` dark, `.` light), for test output.
    pub fn to_text(&self) -> String {
        let mut s = String::with_capacity((self.cols + 1) * self.rows);
        for row in 0..self.rows {
            for col in 0..self.cols {
                s.push(if self.get(row, col) { '#' } else { '.' });
            }
            s.push('\n');
        }
        s
    }
}

/// Which symbol sizes the encoder may choose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SymbolShape {
    /// The smallest square size (the usual choice for GS1 healthcare).
    #[default]
    Square,
    /// The smallest rectangular size.
    Rectangle,
    /// The smallest size of either shape (by area).
    Auto,
    /// Exactly this size (rows, columns).
    Fixed { rows: usize, cols: usize },
}

/// Dark modules on a light background (normal print) or the inverse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Polarity {
    #[default]
    DarkOnLight,
    LightOnDark,
}

/// Everything that can go wrong in the vision module.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum VisionError {
    #[error("the GS1 data is not valid: {0}")]
    InvalidGs1(#[from] serialstation_gs1::Gs1Error),
    #[error(
        "the data needs {needed} data codewords but the largest allowed {shape} symbol holds {capacity}; shorten the data or allow a larger or differently shaped symbol"
    )]
    DataTooLong {
        needed: usize,
        capacity: usize,
        shape: String,
    },
    #[error("{rows}x{cols} is not an ECC 200 symbol size")]
    UnknownSymbolSize { rows: usize, cols: usize },
    #[error("invalid option: {0}")]
    InvalidOption(String),
    #[error(
        "the image is {width}x{height} but the buffer has {len} bytes; expected width*height 8-bit luma values"
    )]
    BadImageBuffer { width: u32, height: u32, len: usize },
    #[error(
        "self-check failed: the encoded symbol does not read back as GS1 DataMatrix ({0}); this is a bug"
    )]
    SelfCheck(String),
}

/// A decoded or encoded symbol's size, for reports.
pub fn describe_size(size: &SymbolSize) -> String {
    format!("{}x{}", size.rows, size.cols)
}
