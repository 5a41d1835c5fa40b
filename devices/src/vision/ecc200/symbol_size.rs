//! The ECC 200 symbol sizes of ISO/IEC 16022 (square and rectangular): dimensions,
//! data regions, codeword capacities and interleaved Reed–Solomon blocks.

/// One ECC 200 symbol size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SymbolSize {
    /// Module rows, including finder and clock patterns.
    pub rows: usize,
    /// Module columns, including finder and clock patterns.
    pub cols: usize,
    /// Data regions vertically.
    pub regions_vertical: usize,
    /// Data regions horizontally.
    pub regions_horizontal: usize,
    /// Rows of data modules in one data region.
    pub region_rows: usize,
    /// Columns of data modules in one data region.
    pub region_cols: usize,
    /// Total data codewords.
    pub data_codewords: usize,
    /// Total error-correction codewords.
    pub ecc_codewords: usize,
    /// Interleaved Reed–Solomon blocks.
    pub blocks: usize,
}

const fn size(
    rows: usize,
    cols: usize,
    regions_vertical: usize,
    regions_horizontal: usize,
    data_codewords: usize,
    ecc_codewords: usize,
    blocks: usize,
) -> SymbolSize {
    SymbolSize {
        rows,
        cols,
        regions_vertical,
        regions_horizontal,
        region_rows: rows / regions_vertical - 2,
        region_cols: cols / regions_horizontal - 2,
        data_codewords,
        ecc_codewords,
        blocks,
    }
}

/// Every ECC 200 size, square first, each group in increasing capacity.
pub const SYMBOL_SIZES: [SymbolSize; 30] = [
    size(10, 10, 1, 1, 3, 5, 1),
    size(12, 12, 1, 1, 5, 7, 1),
    size(14, 14, 1, 1, 8, 10, 1),
    size(16, 16, 1, 1, 12, 12, 1),
    size(18, 18, 1, 1, 18, 14, 1),
    size(20, 20, 1, 1, 22, 18, 1),
    size(22, 22, 1, 1, 30, 20, 1),
    size(24, 24, 1, 1, 36, 24, 1),
    size(26, 26, 1, 1, 44, 28, 1),
    size(32, 32, 2, 2, 62, 36, 1),
    size(36, 36, 2, 2, 86, 42, 1),
    size(40, 40, 2, 2, 114, 48, 1),
    size(44, 44, 2, 2, 144, 56, 1),
    size(48, 48, 2, 2, 174, 68, 1),
    size(52, 52, 2, 2, 204, 84, 2),
    size(64, 64, 4, 4, 280, 112, 2),
    size(72, 72, 4, 4, 368, 144, 4),
    size(80, 80, 4, 4, 456, 192, 4),
    size(88, 88, 4, 4, 576, 224, 4),
    size(96, 96, 4, 4, 696, 272, 4),
    size(104, 104, 4, 4, 816, 336, 6),
    size(120, 120, 6, 6, 1050, 408, 6),
    size(132, 132, 6, 6, 1304, 496, 8),
    size(144, 144, 6, 6, 1558, 620, 10),
    size(8, 18, 1, 1, 5, 7, 1),
    size(8, 32, 1, 2, 10, 11, 1),
    size(12, 26, 1, 1, 16, 14, 1),
    size(12, 36, 1, 2, 22, 18, 1),
    size(16, 36, 1, 2, 32, 24, 1),
    size(16, 48, 1, 2, 49, 28, 1),
];

impl SymbolSize {
    pub fn is_square(&self) -> bool {
        self.rows == self.cols
    }

    /// The size with these module dimensions, if ECC 200 has one.
    pub fn with_dimensions(rows: usize, cols: usize) -> Option<SymbolSize> {
        SYMBOL_SIZES
            .iter()
            .copied()
            .find(|s| s.rows == rows && s.cols == cols)
    }

    /// Rows of the mapping matrix (all data regions together, without patterns).
    pub fn mapping_rows(&self) -> usize {
        self.region_rows * self.regions_vertical
    }

    /// Columns of the mapping matrix.
    pub fn mapping_cols(&self) -> usize {
        self.region_cols * self.regions_horizontal
    }

    /// Data codewords in interleaved block `block` (the 144×144 symbol has two
    /// blocks with one data codeword fewer than the others).
    pub fn block_data_codewords(&self, block: usize) -> usize {
        let base = self.data_codewords / self.blocks;
        let extra = self.data_codewords % self.blocks;
        if block < extra { base + 1 } else { base }
    }

    /// Error-correction codewords per block.
    pub fn block_ecc_codewords(&self) -> usize {
        self.ecc_codewords / self.blocks
    }

    /// Error-correction codewords of a block reserved against misdecodes (`p` in the
    /// unused error correction formula): non-zero only for the three smallest sizes.
    pub fn misdecode_protection_codewords(&self) -> usize {
        match (self.rows, self.cols) {
            (10, 10) | (12, 12) | (8, 18) => 1,
            (8, 32) => 1,
            _ => 0,
        }
    }

    /// Total codewords (data + error correction).
    pub fn total_codewords(&self) -> usize {
        self.data_codewords + self.ecc_codewords
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapping_matrix_holds_every_codeword() {
        for s in SYMBOL_SIZES {
            let bits = s.mapping_rows() * s.mapping_cols();
            let needed = s.total_codewords() * 8;
            assert!(
                bits >= needed && bits - needed < 8,
                "{s:?}: {bits} bits for {needed}"
            );
            assert_eq!(s.ecc_codewords % s.blocks, 0, "{s:?}");
            let data: usize = (0..s.blocks).map(|b| s.block_data_codewords(b)).sum();
            assert_eq!(data, s.data_codewords, "{s:?}");
        }
    }
}
