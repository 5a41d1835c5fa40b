//! From a print to what a camera sees and reports: renders the printed data to a
//! real GS1 DataMatrix image with the vision module, applies the chosen print
//! defects, decodes and grades the image for real. In throughput mode (no images)
//! the camera reports the printed data as it is and says that no image was made.

use serialstation_devices::readout::{CameraReadout, Grade, ReadOutcome, SymbologyId};
use serialstation_devices::vision;

use crate::runtime::core::CameraJob;

/// Print defect kinds the simulator can apply.
pub const DEFECT_KINDS: &[&str] = &["fade", "smear", "partial", "dead_nozzle", "spots"];

/// Measurement conditions the simulated camera reports with every grade.
const APERTURE_MILS: u8 = 8;
const WAVELENGTH_NM: u16 = 660;
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
    Grade {
        tenths: tenths.min(Grade::MAX_TENTHS),
        aperture_mils: APERTURE_MILS,
        wavelength_nm: WAVELENGTH_NM,
        angle_deg: ANGLE_DEG,
    }
}

/// Renders the print of `job` (or the empty substrate) to an image.
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
        vision::encode::encode_matrix(&print.data, true, vision::SymbolShape::Square)
            .map_err(|e| e.to_string())?;
    let options = vision::RenderOptions {
        module_px,
        quiet_zone_modules: 2,
        polarity: vision::Polarity::DarkOnLight,
    };
    let image = vision::render::render(&matrix, &options);
    let (w, h) = (image.width(), image.height());
    let mut pixels = image.into_raw();
    for defect in &print.defects {
        apply_defect(
            &mut pixels,
            w as usize,
            h as usize,
            module_px as usize,
            &defect.kind,
            defect.severity,
            job.seq,
        );
    }
    Ok(GrayFrame {
        width: w as u16,
        height: h as u16,
        pixels,
    })
}

/// Decodes and grades an image as the smart camera does.
pub fn read_image(frame: &GrayFrame) -> (ReadOutcome, Option<Grade>) {
    match vision::decode_luma(&frame.pixels, frame.width as usize, frame.height as usize) {
        Ok(symbol) => {
            let symbology =
                SymbologyId::parse(&symbol.symbology_identifier).unwrap_or(SymbologyId::DATAMATRIX);
            let grade = grade_of(estimate_grade_tenths(frame));
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

/// Symbol-contrast based estimate of the grade until the vision module's grader is
/// wired in: ISO/IEC 15415 SC thresholds (A >= 70 %, B >= 55 %, C >= 40 %, D >= 20 %).
fn estimate_grade_tenths(frame: &GrayFrame) -> u8 {
    let (mut lo, mut hi) = (255u8, 0u8);
    for p in &frame.pixels {
        lo = lo.min(*p);
        hi = hi.max(*p);
    }
    let sc = f64::from(hi.saturating_sub(lo)) / 255.0 * 100.0;
    match sc {
        s if s >= 70.0 => 40,
        s if s >= 55.0 => 30,
        s if s >= 40.0 => 20,
        s if s >= 20.0 => 10,
        _ => 0,
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
                symbology: SymbologyId::GS1_DATAMATRIX,
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

/// Applies a print defect to a rendered image. Deterministic in `seed`.
fn apply_defect(
    pixels: &mut [u8],
    w: usize,
    h: usize,
    module_px: usize,
    kind: &str,
    severity: f64,
    seed: u32,
) {
    let s = severity.clamp(0.0, 1.0);
    match kind {
        // Ink too light: dark pixels move towards the substrate.
        "fade" => {
            let lift = (s * 230.0) as u8;
            for p in pixels.iter_mut() {
                if *p < 128 {
                    *p = p.saturating_add(lift);
                }
            }
        }
        // Ink spreads sideways: each dark pixel darkens its right neighbours.
        "smear" => {
            let reach = ((s * 1.5 * module_px as f64) as usize).max(1);
            for y in 0..h {
                let row = &mut pixels[y * w..(y + 1) * w];
                let mut run = 0usize;
                for x in 0..w {
                    if row[x] < 128 {
                        run = reach;
                    } else if run > 0 {
                        row[x] = 40;
                        run -= 1;
                    }
                }
            }
        }
        // Part of the symbol is missing (label edge, product edge).
        "partial" => {
            let cut = (s * 0.6 * h as f64) as usize;
            for p in pixels[..cut.min(h) * w].iter_mut() {
                *p = 255;
            }
        }
        // A dead nozzle: horizontal lines without ink.
        "dead_nozzle" => {
            let lines = ((s * 6.0) as usize).max(1);
            for i in 0..lines {
                let y = (seed as usize).wrapping_mul(31).wrapping_add(i * h / lines) % h.max(1);
                for p in pixels[y * w..(y + 1) * w].iter_mut() {
                    *p = 255;
                }
            }
        }
        // Ink spots on light modules.
        "spots" => {
            let count = (s * 40.0) as usize;
            let mut state = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
            for _ in 0..count {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                let x = state as usize % w.max(1);
                let y = (state >> 16) as usize % h.max(1);
                for dy in 0..module_px.min(h - y) {
                    for dx in 0..module_px.min(w - x) {
                        pixels[(y + dy) * w + x + dx] = 0;
                    }
                }
            }
        }
        _ => {}
    }
}
