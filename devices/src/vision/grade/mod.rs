//! ISO/IEC 15415 print quality grading of a decoded GS1 DataMatrix: decode, symbol
//! contrast, modulation, reflectance margin, fixed pattern damage, axial and grid
//! non-uniformity, unused error correction, and (reported only) print growth.
//!
//! The grid comes from the located symbol (finder L and clock tracks); the ideal
//! symbol is rebuilt from the decoded data codewords (Reed–Solomon + placement) so
//! that every codeword error is counted. Reflectance is the 8-bit gray level / 255
//! (the camera is assumed calibrated). A scan's grade is its lowest parameter grade.

pub mod fixed_pattern;
pub mod grid;
pub mod levels;
pub mod reflectance;

use serde::Serialize;

use super::decode::DecodedSymbol;
use super::ecc200::{ModuleRole, SymbolLayout};
use super::encode::ideal_symbol;
use super::sampling::Luma;
use super::types::Polarity;
use levels::{
    AXIAL_NONUNIFORMITY, GRID_NONUNIFORMITY, SYMBOL_CONTRAST, UNUSED_ERROR_CORRECTION,
    grade_at_least, grade_at_most, letter, overlay_grade, unused_error_correction,
};
use reflectance::{Contrast, ReflectanceSamples};

/// Measurement conditions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GradeOptions {
    /// Aperture reported in the grade (thousandths of an inch), e.g. 5 → `/05/`.
    pub aperture_mils: u16,
    /// Illumination wavelength reported in the grade, in nm.
    pub wavelength_nm: u16,
    /// Diameter of the sampling aperture as a fraction of the module size.
    pub aperture_modules: f64,
}

impl Default for GradeOptions {
    fn default() -> Self {
        GradeOptions {
            aperture_mils: 5,
            wavelength_nm: 660,
            aperture_modules: 0.8,
        }
    }
}

/// One graded parameter.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Parameter {
    pub value: f64,
    pub grade: u8,
}

impl Parameter {
    fn new(value: f64, grade: u8) -> Parameter {
        Parameter {
            value: (value * 1000.0).round() / 1000.0,
            grade,
        }
    }
}

/// Every graded parameter of one scan.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Parameters {
    pub decode: Parameter,
    pub symbol_contrast: Parameter,
    pub modulation: Parameter,
    pub reflectance_margin: Parameter,
    pub fixed_pattern_damage: Parameter,
    pub axial_nonuniformity: Parameter,
    pub grid_nonuniformity: Parameter,
    pub unused_error_correction: Parameter,
}

impl Parameters {
    fn all(&self) -> [Parameter; 8] {
        [
            self.decode,
            self.symbol_contrast,
            self.modulation,
            self.reflectance_margin,
            self.fixed_pattern_damage,
            self.axial_nonuniformity,
            self.grid_nonuniformity,
            self.unused_error_correction,
        ]
    }
}

/// Print growth (fraction of X; positive = ink spread), reported, not graded.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PrintGrowth {
    pub horizontal: f64,
    pub vertical: f64,
}

/// The grade of one scan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GradeReport {
    /// Lowest parameter grade, 0.0..=4.0.
    pub overall: f64,
    pub letter: char,
    /// `grade/aperture/wavelength`, e.g. `3.0/05/660`.
    pub formatted: String,
    pub parameters: Parameters,
    pub print_growth: PrintGrowth,
    /// Why the scan could not be fully graded, when it could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl GradeReport {
    fn from_parameters(
        parameters: Parameters,
        print_growth: PrintGrowth,
        options: &GradeOptions,
        note: Option<String>,
    ) -> Self {
        let overall = parameters.all().iter().map(|p| p.grade).min().unwrap_or(0) as f64;
        GradeReport {
            overall,
            letter: letter(overall),
            formatted: format!(
                "{overall:.1}/{:02}/{}",
                options.aperture_mils, options.wavelength_nm
            ),
            parameters,
            print_growth,
            note,
        }
    }

    /// The report of a scan that could not be graded (no read, or no grid).
    pub fn failed(options: &GradeOptions, decoded: bool, note: impl Into<String>) -> GradeReport {
        let zero = Parameter::new(0.0, 0);
        let parameters = Parameters {
            decode: if decoded {
                Parameter::new(1.0, 4)
            } else {
                zero
            },
            symbol_contrast: zero,
            modulation: zero,
            reflectance_margin: zero,
            fixed_pattern_damage: zero,
            axial_nonuniformity: zero,
            grid_nonuniformity: zero,
            unused_error_correction: zero,
        };
        GradeReport::from_parameters(
            parameters,
            PrintGrowth {
                horizontal: 0.0,
                vertical: 0.0,
            },
            options,
            Some(note.into()),
        )
    }
}

/// Grades a decoded symbol in the image it was decoded from.
pub fn grade(
    pixels: &[u8],
    width: usize,
    height: usize,
    decoded: &DecodedSymbol,
    options: &GradeOptions,
) -> GradeReport {
    let Some(image) = Luma::new(pixels, width, height) else {
        return GradeReport::failed(options, true, "image buffer does not match its size");
    };
    let Some(located) = decoded.located else {
        return GradeReport::failed(
            options,
            true,
            "the symbol grid could not be located for grading",
        );
    };
    let inverted;
    let image = match decoded.polarity {
        Polarity::DarkOnLight => image,
        Polarity::LightOnDark => {
            inverted = pixels.iter().map(|p| 255 - p).collect::<Vec<u8>>();
            Luma {
                pixels: &inverted,
                ..image
            }
        }
    };
    let size = located.size;
    let (Some(layout), Ok((ideal_codewords, ideal))) = (
        SymbolLayout::for_size(&size),
        ideal_symbol(&size, &decoded.data_codewords),
    ) else {
        return GradeReport::failed(options, true, "the symbol size is not an ECC 200 size");
    };
    let samples = ReflectanceSamples::measure(
        &image,
        &located.grid,
        size.rows,
        size.cols,
        options.aperture_modules,
    );
    let contrast = Contrast::of(&samples);

    // Codeword errors: sampled (binarised at the global threshold) vs ideal.
    let sampled = contrast.binarise(&samples, size.rows, size.cols);
    let read = layout.read_codewords(&sampled.modules);
    let codeword_errors: Vec<bool> = read
        .iter()
        .zip(&ideal_codewords)
        .map(|(a, b)| a != b)
        .collect();
    let uec = unused_error_correction(&size, &codeword_errors);

    // Codeword grades for the modulation and reflectance margin overlays.
    let total = size.total_codewords();
    let (mut modulation_grades, mut margin_grades) = (vec![4u8; total], vec![4u8; total]);
    let mut modulation_sum = (0.0, 0usize);
    for (index, role) in layout.roles.iter().enumerate() {
        if let ModuleRole::Data { codeword, .. } = *role {
            let reflectance = samples.modules[index];
            let cw = codeword as usize;
            modulation_grades[cw] =
                modulation_grades[cw].min(contrast.modulation_grade(reflectance));
            margin_grades[cw] =
                margin_grades[cw].min(contrast.margin_grade(reflectance, ideal.modules[index]));
            modulation_sum.0 += contrast.modulation(reflectance);
            modulation_sum.1 += 1;
        }
    }
    let mean_modulation = modulation_sum.0 / modulation_sum.1.max(1) as f64;
    let min_margin = layout
        .roles
        .iter()
        .enumerate()
        .filter(|(_, r)| matches!(r, ModuleRole::Data { .. }))
        .map(|(i, _)| {
            let r = samples.modules[i];
            if contrast.is_dark(r) == ideal.modules[i] {
                contrast.modulation(r)
            } else {
                0.0
            }
        })
        .fold(1.0, f64::min);
    let fpd = fixed_pattern::measure(layout, &samples, &contrast);
    let threshold_luma = contrast.global_threshold * 255.0;
    let geometry = grid::measure(&image, &located.grid, size.rows, size.cols, threshold_luma);

    let (anu, gnu, growth, note) = match geometry {
        Some(g) => (
            Parameter::new(
                g.axial_nonuniformity,
                grade_at_most(g.axial_nonuniformity, AXIAL_NONUNIFORMITY),
            ),
            Parameter::new(
                g.grid_nonuniformity,
                grade_at_most(g.grid_nonuniformity, GRID_NONUNIFORMITY),
            ),
            PrintGrowth {
                horizontal: (g.print_growth_horizontal * 1000.0).round() / 1000.0,
                vertical: (g.print_growth_vertical * 1000.0).round() / 1000.0,
            },
            None,
        ),
        None => (
            Parameter::new(1.0, 0),
            Parameter::new(1.0, 0),
            PrintGrowth {
                horizontal: 0.0,
                vertical: 0.0,
            },
            Some("the clock tracks could not be measured".to_string()),
        ),
    };
    let uec_grade = grade_at_least(uec, UNUSED_ERROR_CORRECTION);
    let parameters = Parameters {
        decode: Parameter::new(1.0, 4),
        symbol_contrast: Parameter::new(
            contrast.symbol_contrast,
            grade_at_least(contrast.symbol_contrast, SYMBOL_CONTRAST),
        ),
        modulation: Parameter::new(mean_modulation, overlay_grade(&size, &modulation_grades)),
        reflectance_margin: Parameter::new(min_margin, overlay_grade(&size, &margin_grades)),
        fixed_pattern_damage: Parameter::new(fpd.worst_damage, fpd.grade),
        axial_nonuniformity: anu,
        grid_nonuniformity: gnu,
        unused_error_correction: Parameter::new(uec, uec_grade),
    };
    GradeReport::from_parameters(parameters, growth, options, note)
}
