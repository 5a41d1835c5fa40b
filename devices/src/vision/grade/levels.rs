//! ISO/IEC 15415 grade thresholds, the letter scale, and the codeword "grade
//! overlay" shared by modulation, reflectance margin and fixed pattern damage.

use crate::vision::ecc200::SymbolSize;

/// Grade (4..0) for a value where higher is better, given the minimum values for
/// grades 4, 3, 2 and 1.
pub fn grade_at_least(value: f64, thresholds: [f64; 4]) -> u8 {
    thresholds
        .iter()
        .position(|&t| value >= t)
        .map_or(0, |i| 4 - i as u8)
}

/// Grade (4..0) for a value where lower is better, given the maximum values for
/// grades 4, 3, 2 and 1.
pub fn grade_at_most(value: f64, thresholds: [f64; 4]) -> u8 {
    thresholds
        .iter()
        .position(|&t| value <= t)
        .map_or(0, |i| 4 - i as u8)
}

pub const SYMBOL_CONTRAST: [f64; 4] = [0.70, 0.55, 0.40, 0.20];
pub const MODULATION: [f64; 4] = [0.50, 0.40, 0.30, 0.20];
pub const UNUSED_ERROR_CORRECTION: [f64; 4] = [0.62, 0.50, 0.37, 0.25];
pub const AXIAL_NONUNIFORMITY: [f64; 4] = [0.06, 0.08, 0.10, 0.12];
pub const GRID_NONUNIFORMITY: [f64; 4] = [0.38, 0.50, 0.63, 0.75];
/// Fraction of damaged modules in a fixed-pattern segment.
pub const PATTERN_DAMAGE: [f64; 4] = [0.0, 0.09, 0.13, 0.17];

/// Letter for a numeric grade: A ≥ 3.5, B ≥ 2.5, C ≥ 1.5, D ≥ 0.5, else F.
pub fn letter(grade: f64) -> char {
    if grade >= 3.5 {
        'A'
    } else if grade >= 2.5 {
        'B'
    } else if grade >= 1.5 {
        'C'
    } else if grade >= 0.5 {
        'D'
    } else {
        'F'
    }
}

/// Unused error correction of the worst block, treating the flagged codewords
/// (data and error correction, symbol order) as errors.
pub fn unused_error_correction(size: &SymbolSize, codeword_is_error: &[bool]) -> f64 {
    let blocks = size.blocks;
    let capacity = size
        .block_ecc_codewords()
        .saturating_sub(size.misdecode_protection_codewords()) as f64;
    let mut errors = vec![0usize; blocks];
    for (i, &bad) in codeword_is_error.iter().enumerate() {
        if bad {
            let block = if i < size.data_codewords {
                i % blocks
            } else {
                (i - size.data_codewords) % blocks
            };
            errors[block] += 1;
        }
    }
    errors
        .iter()
        .map(|&e| {
            if capacity > 0.0 {
                (1.0 - 2.0 * e as f64 / capacity).max(0.0)
            } else {
                0.0
            }
        })
        .fold(1.0, f64::min)
}

/// The grade overlay: for each level L, codewords graded below L count as errors;
/// the result is the highest min(L, notional UEC grade).
pub fn overlay_grade(size: &SymbolSize, codeword_grades: &[u8]) -> u8 {
    (1..=4u8)
        .rev()
        .map(|level| {
            let errors: Vec<bool> = codeword_grades.iter().map(|&g| g < level).collect();
            level.min(grade_at_least(
                unused_error_correction(size, &errors),
                UNUSED_ERROR_CORRECTION,
            ))
        })
        .max()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds() {
        assert_eq!(grade_at_least(0.81, SYMBOL_CONTRAST), 4);
        assert_eq!(grade_at_least(0.55, SYMBOL_CONTRAST), 3);
        assert_eq!(grade_at_least(0.1, SYMBOL_CONTRAST), 0);
        assert_eq!(grade_at_most(0.07, AXIAL_NONUNIFORMITY), 3);
        assert_eq!(grade_at_most(0.2, AXIAL_NONUNIFORMITY), 0);
        assert_eq!(letter(3.0), 'B');
    }
}
