//! Fixed pattern damage for Data Matrix: the finder arms (L1 vertical, L2
//! horizontal), the quiet zone next to them (QZL1, QZL2), the outer clock tracks,
//! and the inner alignment patterns of multi-region symbols. Each segment is graded
//! by the fraction of its modules below each modulation level (the overlay), and
//! the parameter is the worst segment.

use super::levels::{PATTERN_DAMAGE, grade_at_most};
use super::reflectance::{Contrast, ReflectanceSamples};
use crate::vision::ecc200::{ModuleRole, SymbolLayout};

/// Grade and worst damaged fraction over all fixed-pattern segments.
pub struct FixedPatternDamage {
    pub grade: u8,
    /// Largest fraction of wrongly coloured modules in any segment.
    pub worst_damage: f64,
}

pub fn measure(
    layout: &SymbolLayout,
    samples: &ReflectanceSamples,
    contrast: &Contrast,
) -> FixedPatternDamage {
    let size = layout.size;
    let (rows, cols) = (size.rows, size.cols);
    let margin = |index: usize| {
        let dark = layout.roles[index].fixed_colour().unwrap_or(false);
        contrast.margin_grade(samples.modules[index], dark)
    };
    let l1: Vec<u8> = (0..rows).map(|r| margin(r * cols)).collect();
    let l2: Vec<u8> = (0..cols).map(|c| margin((rows - 1) * cols + c)).collect();
    let top_clock: Vec<u8> = (1..cols).map(margin).collect();
    let right_clock: Vec<u8> = (0..rows - 1).map(|r| margin(r * cols + cols - 1)).collect();
    let quiet = |values: &[f64]| {
        values
            .iter()
            .map(|&v| contrast.margin_grade(v, false))
            .collect::<Vec<u8>>()
    };
    let qzl1 = quiet(&samples.quiet_left);
    let qzl2 = quiet(&samples.quiet_bottom);
    let inner: Vec<u8> = (1..rows - 1)
        .flat_map(|r| (1..cols - 1).map(move |c| r * cols + c))
        .filter(|&i| {
            !matches!(
                layout.roles[i],
                ModuleRole::Data { .. } | ModuleRole::FixedCorner { .. }
            )
        })
        .map(margin)
        .collect();
    let segments: [&[u8]; 7] = [&l1, &l2, &qzl1, &qzl2, &top_clock, &right_clock, &inner];
    let mut grade = 4u8;
    let mut worst_damage = 0.0f64;
    for segment in segments.iter().filter(|s| !s.is_empty()) {
        grade = grade.min(segment_grade(segment));
        let wrong = segment.iter().filter(|&&g| g == 0).count() as f64 / segment.len() as f64;
        worst_damage = worst_damage.max(wrong);
    }
    FixedPatternDamage {
        grade,
        worst_damage,
    }
}

/// Highest min(L, damage grade at L) over modulation levels L.
fn segment_grade(module_grades: &[u8]) -> u8 {
    (1..=4u8)
        .rev()
        .map(|level| {
            let damaged = module_grades.iter().filter(|&&g| g < level).count() as f64
                / module_grades.len() as f64;
            level.min(grade_at_most(damaged, PATTERN_DAMAGE))
        })
        .max()
        .unwrap_or(0)
}
