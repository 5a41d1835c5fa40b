//! Reflectance measurements through the sampling aperture: symbol contrast, the
//! global threshold, and per-module modulation and reflectance margin grades.

use super::levels::{MODULATION, grade_at_least};
use crate::vision::geometry::Homography;
use crate::vision::sampling::{Aperture, Luma};
use crate::vision::types::ModuleMatrix;

/// Aperture samples of the symbol and of the quiet-zone ring around it.
pub struct ReflectanceSamples {
    /// Reflectance (0..1) at every module centre, row-major.
    pub modules: Vec<f64>,
    /// Quiet-zone modules next to the finder's vertical arm (u = -0.5), top to bottom.
    pub quiet_left: Vec<f64>,
    /// Quiet-zone modules below the finder's horizontal arm (v = rows + 0.5).
    pub quiet_bottom: Vec<f64>,
    /// The rest of the quiet-zone ring (top and right), for symbol contrast.
    pub quiet_other: Vec<f64>,
}

impl ReflectanceSamples {
    pub fn measure(
        image: &Luma,
        grid: &Homography,
        rows: usize,
        cols: usize,
        aperture: f64,
    ) -> ReflectanceSamples {
        let aperture = Aperture::new(aperture);
        let r = |u: f64, v: f64| aperture.mean(image, grid, u, v) / 255.0;
        let mut modules = Vec::with_capacity(rows * cols);
        for row in 0..rows {
            for col in 0..cols {
                modules.push(r(col as f64 + 0.5, row as f64 + 0.5));
            }
        }
        let quiet_left = (0..rows).map(|row| r(-0.5, row as f64 + 0.5)).collect();
        let quiet_bottom = (0..cols)
            .map(|col| r(col as f64 + 0.5, rows as f64 + 0.5))
            .collect();
        let mut quiet_other: Vec<f64> = (0..cols).map(|col| r(col as f64 + 0.5, -0.5)).collect();
        quiet_other.extend((0..rows).map(|row| r(cols as f64 + 0.5, row as f64 + 0.5)));
        ReflectanceSamples {
            modules,
            quiet_left,
            quiet_bottom,
            quiet_other,
        }
    }

    fn all(&self) -> impl Iterator<Item = f64> + '_ {
        self.modules
            .iter()
            .chain(&self.quiet_left)
            .chain(&self.quiet_bottom)
            .chain(&self.quiet_other)
            .copied()
    }

    /// (Rmin, Rmax) over the symbol and its quiet zone.
    pub fn extremes(&self) -> (f64, f64) {
        self.all()
            .fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)))
    }
}

/// Contrast figures of one scan.
#[derive(Debug, Clone, Copy)]
pub struct Contrast {
    pub symbol_contrast: f64,
    pub global_threshold: f64,
}

impl Contrast {
    pub fn of(samples: &ReflectanceSamples) -> Contrast {
        let (lo, hi) = samples.extremes();
        Contrast {
            symbol_contrast: (hi - lo).max(0.0),
            global_threshold: (hi + lo) / 2.0,
        }
    }

    /// Modulation of one sample: 2·|R − GT| / SC.
    pub fn modulation(&self, reflectance: f64) -> f64 {
        if self.symbol_contrast <= 0.0 {
            return 0.0;
        }
        (2.0 * (reflectance - self.global_threshold).abs() / self.symbol_contrast).min(1.0)
    }

    pub fn is_dark(&self, reflectance: f64) -> bool {
        reflectance < self.global_threshold
    }

    /// Modulation grade of a module.
    pub fn modulation_grade(&self, reflectance: f64) -> u8 {
        grade_at_least(self.modulation(reflectance), MODULATION)
    }

    /// Reflectance margin grade: the modulation grade when the module has its
    /// intended colour, 0 when it binarises to the wrong colour.
    pub fn margin_grade(&self, reflectance: f64, intended_dark: bool) -> u8 {
        if self.is_dark(reflectance) == intended_dark {
            self.modulation_grade(reflectance)
        } else {
            0
        }
    }

    /// The sampled symbol binarised at the global threshold.
    pub fn binarise(&self, samples: &ReflectanceSamples, rows: usize, cols: usize) -> ModuleMatrix {
        ModuleMatrix {
            rows,
            cols,
            modules: samples.modules.iter().map(|&r| self.is_dark(r)).collect(),
        }
    }
}
