//! From a print to what a camera sees and reports: renders the printed data to a
//! real GS1 DataMatrix image with the vision module, applies the chosen print
//! defects, decodes and grades the image for real. In throughput mode (no images)
//! the camera reports the printed data as it is and says that no image was made.
//!
//! Owns the vocabulary of prints and camera jobs ([`DEFECT_KINDS`],
//! [`DefectChoice`], [`PrintedItem`], [`CameraJob`]) and imports nothing else from
//! this crate: `config` and `control` check defect names against it, and
//! `runtime::core` builds the jobs.

use serialstation_devices::readout::{CameraReadout, Grade, ReadOutcome, SymbologyId};
use serialstation_devices::vision;

/// Print defect kinds the simulator can apply (each one is a model of the vision
/// module's `defects`).
pub const DEFECT_KINDS: &[&str] = &[
    "fade",
    "low_contrast",
    "ink_spread",
    "erosion",
    "dead_nozzle",
    "dotted",
    "blur",
    "noise",
    "skew",
    "stretch",
    "grid_warp",
    "perspective",
    "partial",
    "damage_finder",
    "rotate",
];

/// A print defect chosen for one item.
#[derive(Debug, Clone, PartialEq)]
pub struct DefectChoice {
    /// One of [`DEFECT_KINDS`].
    pub kind: String,
    pub severity: f64,
}

/// What went on an item at the print head, kept until its camera trigger.
#[derive(Debug, Clone, PartialEq)]
pub struct PrintedItem {
    pub data: Vec<u8>,
    /// GS1 DataMatrix (FNC1 first) or plain DataMatrix.
    pub gs1: bool,
    pub defects: Vec<DefectChoice>,
}

/// One camera trigger for the camera worker.
#[derive(Debug, Clone, PartialEq)]
pub struct CameraJob {
    pub item_no: u64,
    pub seq: u32,
    pub print: Option<PrintedItem>,
    /// The camera will report a no-read whatever it sees (fault).
    pub forced_no_read: bool,
    /// Extra latency before the result goes out (fault), ms.
    pub delay_ms: u64,
}

/// Measurement conditions the simulated camera grades with.
fn grade_options() -> vision::GradeOptions {
    vision::GradeOptions::default()
}
const ANGLE_DEG: u8 = 45;

/// What the camera made of one trigger.
#[derive(Debug, Clone)]
pub struct Shot {
    pub seq: u32,
    pub item_no: u64,
    pub readout: CameraReadout,
    /// The grayscale image (images mode); a 0 × 0 image when nothing was acquired.
    pub image: Option<GrayFrame>,
    /// The true grade of the print, measured on its image (images mode only).
    pub print_grade: Option<Grade>,
    pub delay_ms: u64,
}

/// An 8-bit grayscale image, row-major.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrayFrame {
    pub width: u16,
    pub height: u16,
    pub pixels: Vec<u8>,
}

fn grade_of(tenths: u8) -> Grade {
    let o = grade_options();
    Grade {
        tenths: tenths.min(Grade::MAX_TENTHS),
        aperture_mils: o.aperture_mils.min(99) as u8,
        wavelength_nm: o.wavelength_nm,
        angle_deg: ANGLE_DEG,
    }
}

/// Renders the print of `job` (or the empty substrate) to an image, with its defects.
pub fn render_print(job: &CameraJob, module_px: u32) -> Result<GrayFrame, String> {
    let Some(print) = &job.print else {
        let side = 24 * module_px.max(1) as usize;
        return Ok(GrayFrame {
            width: side as u16,
            height: side as u16,
            pixels: vec![vision::render::LIGHT_LEVEL; side * side],
        });
    };
    let (_size, _codewords, matrix) =
        vision::encode::encode_matrix(&print.data, print.gs1, vision::SymbolShape::Square)
            .map_err(|e| e.to_string())?;
    let options = vision::RenderOptions {
        module_px,
        quiet_zone_modules: 2,
        polarity: vision::Polarity::DarkOnLight,
    };
    let mut image = vision::render::render(&matrix, &options);
    let geometry = vision::defects::ModuleGeometry::of_render(&matrix, &options);
    for defect in &print.defects {
        image = apply_defect(
            &image,
            &geometry,
            &defect.kind,
            defect.severity,
            u64::from(job.seq),
        );
    }
    let (w, h) = (image.width(), image.height());
    if w > u32::from(u16::MAX) || h > u32::from(u16::MAX) {
        return Err(format!("rendered image of {w}x{h} is too large"));
    }
    Ok(GrayFrame {
        width: w as u16,
        height: h as u16,
        pixels: image.into_raw(),
    })
}

/// Decodes and grades an image as the smart camera does.
pub fn read_image(frame: &GrayFrame) -> (ReadOutcome, Option<Grade>) {
    let (w, h) = (frame.width as usize, frame.height as usize);
    match vision::decode_luma(&frame.pixels, w, h) {
        Ok(symbol) => {
            let report = vision::grade(&frame.pixels, w, h, &symbol, &grade_options());
            let grade = grade_of((report.overall * 10.0).round().clamp(0.0, 40.0) as u8);
            let symbology =
                SymbologyId::parse(&symbol.symbology_identifier).unwrap_or(SymbologyId::DATAMATRIX);
            (
                ReadOutcome::Read {
                    symbology,
                    data: symbol.text.into_bytes(),
                    grade,
                },
                Some(grade),
            )
        }
        Err(_) => (ReadOutcome::NoRead, None),
    }
}

/// Runs one camera job: renders, reads and grades (images mode), or reports the
/// printed data as is (throughput mode).
pub fn shoot(job: &CameraJob, images: bool, module_px: u32) -> Shot {
    let (outcome, image, print_grade) = if images {
        match render_print(job, module_px) {
            Ok(frame) => {
                let (outcome, grade) = read_image(&frame);
                let print_grade = if job.print.is_some() { grade } else { None };
                (outcome, Some(frame), print_grade)
            }
            Err(e) => {
                tracing::warn!(
                    "item {}: the print cannot be rendered ({e}); the camera reports a no-read",
                    job.item_no
                );
                (
                    ReadOutcome::NoRead,
                    Some(GrayFrame {
                        width: 0,
                        height: 0,
                        pixels: Vec::new(),
                    }),
                    None,
                )
            }
        }
    } else {
        let outcome = match &job.print {
            Some(p) => ReadOutcome::Read {
                symbology: if p.gs1 {
                    SymbologyId::GS1_DATAMATRIX
                } else {
                    SymbologyId::DATAMATRIX
                },
                data: p.data.clone(),
                grade: grade_of(40),
            },
            None => ReadOutcome::NoRead,
        };
        (outcome, None, None)
    };
    let (outcome, image) = if job.forced_no_read {
        (
            ReadOutcome::NoRead,
            image.map(|_| GrayFrame {
                width: 0,
                height: 0,
                pixels: Vec::new(),
            }),
        )
    } else {
        (outcome, image)
    };
    Shot {
        seq: job.seq,
        item_no: job.item_no,
        readout: CameraReadout {
            seq: job.seq,
            outcome,
        },
        image,
        print_grade,
        delay_ms: job.delay_ms,
    }
}

/// Applies one print defect of the vision module's defect models.
fn apply_defect(
    image: &image::GrayImage,
    geometry: &vision::defects::ModuleGeometry,
    kind: &str,
    severity: f64,
    seed: u64,
) -> image::GrayImage {
    use vision::defects as d;
    let px = geometry.module_px;
    match kind {
        "fade" => d::fade(image, severity),
        "low_contrast" => d::low_contrast(image, severity),
        "ink_spread" => d::ink_spread(image, severity, px),
        "erosion" => d::erosion(image, severity, px),
        "dead_nozzle" => d::dead_nozzle(image, severity, geometry, seed),
        "dotted" => d::dotted(image, severity, geometry),
        "blur" => d::blur(image, severity, px),
        "noise" => d::noise(image, severity, seed),
        "skew" => d::skew(image, severity),
        "stretch" => d::stretch(image, severity),
        "grid_warp" => d::grid_warp(image, severity, geometry),
        "perspective" => d::perspective(image, severity),
        "partial" => d::partial_print(image, severity),
        "damage_finder" => d::damage_finder(image, severity, geometry),
        "rotate" => d::rotate(image, severity * 45.0),
        _ => image.clone(),
    }
}
