//! ECC 200 module placement: where every codeword bit, finder, clock and fixed
//! corner module sits in a symbol of a given size (ISO/IEC 16022 placement
//! algorithm), computed once per size and cached.

use std::sync::OnceLock;

use super::symbol_size::{SYMBOL_SIZES, SymbolSize};

/// What one module of a symbol is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModuleRole {
    /// Solid finder pattern (left column or bottom row of a data region): dark.
    Finder,
    /// Alternating clock track (top row or right column of a data region).
    Clock { dark: bool },
    /// Bit `bit` (0 = most significant) of codeword `codeword`.
    Data { codeword: u16, bit: u8 },
    /// A fixed module in the unused corner of some sizes.
    FixedCorner { dark: bool },
}

impl ModuleRole {
    /// The colour of a pattern module, or `None` for a data module.
    pub fn fixed_colour(self) -> Option<bool> {
        match self {
            ModuleRole::Finder => Some(true),
            ModuleRole::Clock { dark } | ModuleRole::FixedCorner { dark } => Some(dark),
            ModuleRole::Data { .. } => None,
        }
    }
}

/// The complete module map of one symbol size.
#[derive(Debug, Clone)]
pub struct SymbolLayout {
    pub size: SymbolSize,
    /// Row-major, `size.rows * size.cols`, row 0 at the top (the clock track side).
    pub roles: Vec<ModuleRole>,
}

static LAYOUTS: [OnceLock<SymbolLayout>; SYMBOL_SIZES.len()] =
    [const { OnceLock::new() }; SYMBOL_SIZES.len()];

impl SymbolLayout {
    /// The cached layout of `size`; `None` for a size that is not in the ECC 200
    /// table.
    pub fn for_size(size: &SymbolSize) -> Option<&'static SymbolLayout> {
        let index = SYMBOL_SIZES.iter().position(|s| s == size)?;
        Some(LAYOUTS[index].get_or_init(|| SymbolLayout::build(SYMBOL_SIZES[index])))
    }

    fn build(size: SymbolSize) -> SymbolLayout {
        let mapping = MappingMatrix::place(size.mapping_rows(), size.mapping_cols());
        let mut roles = vec![ModuleRole::Finder; size.rows * size.cols];
        let region_height = size.region_rows + 2;
        let region_width = size.region_cols + 2;
        for row in 0..size.rows {
            for col in 0..size.cols {
                let local_row = row % region_height;
                let local_col = col % region_width;
                let role = if local_col == 0 || local_row == region_height - 1 {
                    ModuleRole::Finder
                } else if local_row == 0 {
                    ModuleRole::Clock {
                        dark: local_col.is_multiple_of(2),
                    }
                } else if local_col == region_width - 1 {
                    ModuleRole::Clock {
                        dark: !local_row.is_multiple_of(2),
                    }
                } else {
                    let mapping_row = (row / region_height) * size.region_rows + local_row - 1;
                    let mapping_col = (col / region_width) * size.region_cols + local_col - 1;
                    mapping.role(mapping_row, mapping_col)
                };
                roles[row * size.cols + col] = role;
            }
        }
        SymbolLayout { size, roles }
    }

    /// Draws the symbol for the given codewords (data + error correction):
    /// row-major, `true` = dark.
    pub fn draw(&self, codewords: &[u8]) -> Vec<bool> {
        self.roles
            .iter()
            .map(|role| match *role {
                ModuleRole::Data { codeword, bit } => codewords
                    .get(codeword as usize)
                    .is_some_and(|c| (c >> (7 - bit)) & 1 == 1),
                other => other.fixed_colour().unwrap_or(false),
            })
            .collect()
    }

    /// Reads all codewords (data + error correction) back from a module matrix.
    pub fn read_codewords(&self, modules: &[bool]) -> Vec<u8> {
        let mut codewords = vec![0u8; self.size.total_codewords()];
        for (role, &dark) in self.roles.iter().zip(modules) {
            if let ModuleRole::Data { codeword, bit } = *role
                && dark
                && let Some(c) = codewords.get_mut(codeword as usize)
            {
                *c |= 1 << (7 - bit);
            }
        }
        codewords
    }
}

/// The mapping matrix of the placement algorithm (data regions without patterns).
struct MappingMatrix {
    rows: usize,
    cols: usize,
    /// 0 = unset; otherwise codeword_index * 8 + bit + 1; or FIXED_DARK / FIXED_LIGHT.
    cells: Vec<u32>,
}

const FIXED_DARK: u32 = u32::MAX;
const FIXED_LIGHT: u32 = u32::MAX - 1;

impl MappingMatrix {
    fn place(rows: usize, cols: usize) -> MappingMatrix {
        let mut m = MappingMatrix {
            rows,
            cols,
            cells: vec![0; rows * cols],
        };
        let (nrow, ncol) = (rows as i64, cols as i64);
        let mut codeword: u32 = 0;
        let mut row: i64 = 4;
        let mut col: i64 = 0;
        loop {
            if row == nrow && col == 0 {
                m.corner(codeword, &CORNER_1);
                codeword += 1;
            }
            if row == nrow - 2 && col == 0 && ncol % 4 != 0 {
                m.corner(codeword, &CORNER_2);
                codeword += 1;
            }
            if row == nrow - 2 && col == 0 && ncol % 8 == 4 {
                m.corner(codeword, &CORNER_3);
                codeword += 1;
            }
            if row == nrow + 4 && col == 2 && ncol % 8 == 0 {
                m.corner(codeword, &CORNER_4);
                codeword += 1;
            }
            loop {
                if row < nrow && col >= 0 && m.cells[(row * ncol + col) as usize] == 0 {
                    m.utah(row, col, codeword);
                    codeword += 1;
                }
                row -= 2;
                col += 2;
                if !(row >= 0 && col < ncol) {
                    break;
                }
            }
            row += 1;
            col += 3;
            loop {
                if row >= 0 && col < ncol && m.cells[(row * ncol + col) as usize] == 0 {
                    m.utah(row, col, codeword);
                    codeword += 1;
                }
                row += 2;
                col -= 2;
                if !(row < nrow && col >= 0) {
                    break;
                }
            }
            row += 3;
            col += 1;
            if !(row < nrow || col < ncol) {
                break;
            }
        }
        let last = rows * cols - 1;
        if m.cells[last] == 0 {
            m.cells[last] = FIXED_DARK;
            m.cells[last - cols - 1] = FIXED_DARK;
            m.cells[last - 1] = FIXED_LIGHT;
            m.cells[last - cols] = FIXED_LIGHT;
        }
        m
    }

    fn module(&mut self, mut row: i64, mut col: i64, codeword: u32, bit: u32) {
        let (nrow, ncol) = (self.rows as i64, self.cols as i64);
        if row < 0 {
            row += nrow;
            col += 4 - ((nrow + 4) % 8);
        }
        if col < 0 {
            col += ncol;
            row += 4 - ((ncol + 4) % 8);
        }
        if row >= 0 && col >= 0 && row < nrow && col < ncol {
            self.cells[(row * ncol + col) as usize] = codeword * 8 + bit + 1;
        }
    }

    fn utah(&mut self, row: i64, col: i64, codeword: u32) {
        const OFFSETS: [(i64, i64); 8] = [
            (-2, -2),
            (-2, -1),
            (-1, -2),
            (-1, -1),
            (-1, 0),
            (0, -2),
            (0, -1),
            (0, 0),
        ];
        for (bit, (dr, dc)) in OFFSETS.iter().enumerate() {
            self.module(row + dr, col + dc, codeword, bit as u32);
        }
    }

    fn corner(&mut self, codeword: u32, positions: &[(CornerAxis, CornerAxis); 8]) {
        let (nrow, ncol) = (self.rows as i64, self.cols as i64);
        for (bit, (r, c)) in positions.iter().enumerate() {
            self.module(r.resolve(nrow), c.resolve(ncol), codeword, bit as u32);
        }
    }

    fn role(&self, row: usize, col: usize) -> ModuleRole {
        match self.cells[row * self.cols + col] {
            FIXED_DARK => ModuleRole::FixedCorner { dark: true },
            FIXED_LIGHT | 0 => ModuleRole::FixedCorner { dark: false },
            v => ModuleRole::Data {
                codeword: ((v - 1) / 8) as u16,
                bit: ((v - 1) % 8) as u8,
            },
        }
    }
}

/// A corner position: `From(k)` = k from the start, `End(k)` = n - k.
#[derive(Clone, Copy)]
enum CornerAxis {
    From(i64),
    End(i64),
}

impl CornerAxis {
    fn resolve(self, n: i64) -> i64 {
        match self {
            CornerAxis::From(k) => k,
            CornerAxis::End(k) => n - k,
        }
    }
}

use CornerAxis::{End, From};

const CORNER_1: [(CornerAxis, CornerAxis); 8] = [
    (End(1), From(0)),
    (End(1), From(1)),
    (End(1), From(2)),
    (From(0), End(2)),
    (From(0), End(1)),
    (From(1), End(1)),
    (From(2), End(1)),
    (From(3), End(1)),
];
const CORNER_2: [(CornerAxis, CornerAxis); 8] = [
    (End(3), From(0)),
    (End(2), From(0)),
    (End(1), From(0)),
    (From(0), End(4)),
    (From(0), End(3)),
    (From(0), End(2)),
    (From(0), End(1)),
    (From(1), End(1)),
];
const CORNER_3: [(CornerAxis, CornerAxis); 8] = [
    (End(3), From(0)),
    (End(2), From(0)),
    (End(1), From(0)),
    (From(0), End(2)),
    (From(0), End(1)),
    (From(1), End(1)),
    (From(2), End(1)),
    (From(3), End(1)),
];
const CORNER_4: [(CornerAxis, CornerAxis); 8] = [
    (End(1), From(0)),
    (End(1), End(1)),
    (From(0), End(3)),
    (From(0), End(2)),
    (From(0), End(1)),
    (From(1), End(3)),
    (From(1), End(2)),
    (From(1), End(1)),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_codeword_bit_is_placed_exactly_once() {
        for size in SYMBOL_SIZES {
            let layout = SymbolLayout::for_size(&size).unwrap();
            let mut seen = vec![0u8; size.total_codewords() * 8];
            for role in &layout.roles {
                if let ModuleRole::Data { codeword, bit } = *role {
                    seen[codeword as usize * 8 + bit as usize] += 1;
                }
            }
            assert!(seen.iter().all(|&n| n == 1), "{size:?}");
        }
    }
}
