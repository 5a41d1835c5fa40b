// Vision: ISO/IEC 15415 grading. A clean render grades 4.0, and every parameter
// reacts, monotonically, to the print defect it measures.

use image::GrayImage;
use serialstation_devices::vision::defects::{self, ModuleGeometry};
use serialstation_devices::vision::grade::GradeReport;
use serialstation_devices::vision::{
    EncodeOptions, EncodedSymbol, GradeOptions, decode_image, encode_text, grade,
};

const CARTON: &str = "(01)09506000134352(17)270131(10)ABC123(21)SN0000001";

fn symbol() -> (EncodedSymbol, ModuleGeometry) {
    let options = EncodeOptions::default();
    let symbol = encode_text(CARTON, &options).unwrap();
    let geometry = ModuleGeometry::of_render(&symbol.matrix, &options.render);
    (symbol, geometry)
}

fn grade_image(image: &GrayImage) -> GradeReport {
    let decoded = decode_image(image).expect("decodes");
    grade(
        image.as_raw(),
        image.width() as usize,
        image.height() as usize,
        &decoded,
        &GradeOptions::default(),
    )
}

fn non_increasing(values: &[f64]) -> bool {
    values.windows(2).all(|w| w[1] <= w[0] + 1e-9)
}

fn non_decreasing(values: &[f64]) -> bool {
    values.windows(2).all(|w| w[1] + 1e-9 >= w[0])
}

#[test]
fn clean_render_grades_4_0() {
    let (symbol, _) = symbol();
    let report = grade_image(&symbol.image);
    assert_eq!(report.overall, 4.0, "{report:#?}");
    assert_eq!(report.letter, 'A');
    assert_eq!(report.formatted, "4.0/05/660");
}

#[test]
fn fade_lowers_symbol_contrast() {
    let (symbol, _) = symbol();
    let sc: Vec<f64> = [0.0, 0.2, 0.4, 0.6, 0.8]
        .iter()
        .map(|&s| {
            grade_image(&defects::fade(&symbol.image, s))
                .parameters
                .symbol_contrast
                .value
        })
        .collect();
    assert!(sc.windows(2).all(|w| w[1] < w[0]), "{sc:?}");
    let worst = grade_image(&defects::fade(&symbol.image, 0.8));
    assert!(worst.parameters.symbol_contrast.grade <= 1, "{worst:#?}");
}

#[test]
fn ink_spread_raises_print_growth_and_lowers_modulation() {
    let (symbol, geometry) = symbol();
    // At 10 px per module these severities grow each side by 0, 1 and 2 px.
    let reports: Vec<GradeReport> = [0.0, 0.25, 0.5]
        .iter()
        .map(|&s| grade_image(&defects::ink_spread(&symbol.image, s, geometry.module_px)))
        .collect();
    let growth: Vec<f64> = reports.iter().map(|r| r.print_growth.horizontal).collect();
    let modulation: Vec<f64> = reports
        .iter()
        .map(|r| r.parameters.modulation.value)
        .collect();
    assert!(growth.windows(2).all(|w| w[1] > w[0]), "growth {growth:?}");
    assert!(non_increasing(&modulation), "modulation {modulation:?}");
    assert!(modulation[2] < modulation[0], "modulation {modulation:?}");
}

#[test]
fn erosion_lowers_print_growth_and_modulation() {
    let (symbol, geometry) = symbol();
    let reports: Vec<GradeReport> = [0.0, 0.25, 0.5]
        .iter()
        .map(|&s| grade_image(&defects::erosion(&symbol.image, s, geometry.module_px)))
        .collect();
    let growth: Vec<f64> = reports.iter().map(|r| r.print_growth.vertical).collect();
    let modulation: Vec<f64> = reports
        .iter()
        .map(|r| r.parameters.modulation.value)
        .collect();
    assert!(growth.windows(2).all(|w| w[1] < w[0]), "growth {growth:?}");
    assert!(non_increasing(&modulation), "modulation {modulation:?}");
    assert!(modulation[2] < modulation[0], "modulation {modulation:?}");
}

#[test]
fn flipped_modules_lower_unused_error_correction() {
    let (symbol, _) = symbol();
    let options = EncodeOptions::default();
    let uec: Vec<f64> = [0usize, 2, 4, 6]
        .iter()
        .map(|&n| {
            // The same modules, accumulated: seed fixed, count grows.
            let image =
                defects::render_with_flipped_modules(&symbol.matrix, n, 11, &options.render);
            grade_image(&image).parameters.unused_error_correction.value
        })
        .collect();
    assert_eq!(uec[0], 1.0);
    assert!(
        non_increasing(&uec) && uec[3] < uec[1] && uec[1] < 1.0,
        "{uec:?}"
    );
}

#[test]
fn grid_distortion_raises_grid_nonuniformity() {
    let (symbol, geometry) = symbol();
    let gnu: Vec<f64> = [0.0, 0.15, 0.3, 0.45]
        .iter()
        .map(|&s| {
            grade_image(&defects::grid_warp(&symbol.image, s, &geometry))
                .parameters
                .grid_nonuniformity
                .value
        })
        .collect();
    assert!(gnu.windows(2).all(|w| w[1] > w[0]), "{gnu:?}");
}

#[test]
fn stretch_raises_axial_nonuniformity() {
    let (symbol, _) = symbol();
    let anu: Vec<f64> = [0.0, 0.1, 0.2, 0.4]
        .iter()
        .map(|&s| {
            grade_image(&defects::stretch(&symbol.image, s))
                .parameters
                .axial_nonuniformity
                .value
        })
        .collect();
    assert!(anu.windows(2).all(|w| w[1] > w[0]), "{anu:?}");
    assert!(anu[0] < 0.01, "{anu:?}");
    let stretched = grade_image(&defects::stretch(&symbol.image, 0.4));
    assert!(stretched.parameters.axial_nonuniformity.grade < 4);
}

#[test]
fn damaged_finder_lowers_fixed_pattern_damage() {
    let (symbol, geometry) = symbol();
    let grades: Vec<f64> = [0.0, 0.1, 0.2, 0.3]
        .iter()
        .map(|&s| {
            grade_image(&defects::damage_finder(&symbol.image, s, &geometry))
                .parameters
                .fixed_pattern_damage
                .grade as f64
        })
        .collect();
    assert_eq!(grades[0], 4.0);
    assert!(non_increasing(&grades) && grades[3] < 4.0, "{grades:?}");
}

#[test]
fn perspective_raises_grid_nonuniformity() {
    let (symbol, _) = symbol();
    let gnu: Vec<f64> = [0.0, 0.1, 0.2]
        .iter()
        .map(|&s| {
            grade_image(&defects::perspective(&symbol.image, s))
                .parameters
                .grid_nonuniformity
                .value
        })
        .collect();
    assert!(non_decreasing(&gnu) && gnu[2] > gnu[0], "{gnu:?}");
}

#[test]
fn grade_in_a_camera_frame_is_good_for_a_clean_print() {
    let options = EncodeOptions::default();
    let symbol = encode_text(CARTON, &options).unwrap();
    let frame = defects::place_in_frame(&symbol.image, 640, 480, 320.0, 240.0, 23.0, 230, 3.0, 1);
    let report = grade_image(&frame);
    assert!(report.overall >= 3.0, "{report:#?}");
}

#[test]
fn report_serialises_in_the_cli_json_shape() {
    let (symbol, _) = symbol();
    let json = serde_json::to_value(grade_image(&symbol.image)).unwrap();
    assert_eq!(json["formatted"], "4.0/05/660");
    assert_eq!(json["letter"], "A");
    assert_eq!(json["parameters"]["symbol_contrast"]["grade"], 4);
    assert!(json["parameters"]["unused_error_correction"]["value"].is_number());
}
