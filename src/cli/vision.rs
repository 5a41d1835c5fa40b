//! `serialstation vision`: encode GS1 DataMatrix symbols to PNG, decode and grade
//! symbols in images, and apply print defects (for integrators and simulations).
//!
//! Contract (other tools call it):
//! - `vision encode DATA -o FILE.png [--module-px N] [--quiet-zone N] [--shape square|rectangle|auto] [--inverted]`:
//!   DATA in any form the GS1 module reads; invalid data is refused with the GS1
//!   error on stderr and exit 1.
//! - `vision decode FILE [--json] [--aperture MILS] [--wavelength NM]`: exit 0 and the
//!   result (also for a symbol that is not valid GS1: `gs1` is then false), exit 1 on
//!   no-read with one plain line on stderr. `--json` prints one object with
//!   `symbology`, `gs1`, `element_string`, `hri`, `ais`, `gs1_error`, `corners` and
//!   `grade` (`overall`, `letter`, `formatted`, `parameters`, `print_growth`).
//! - `vision defect IN -o OUT --kind KIND --severity S [--seed N] [--module-px N]`.
//! - `vision case-render` / `vision case-read`: a case seen from above
//!   (`super::case_image`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use image::GrayImage;
use serde::Serialize;
use serialstation_devices::vision::defects::{self, ModuleGeometry};
use serialstation_devices::vision::geometry::Point;
use serialstation_devices::vision::grade::GradeReport;
use serialstation_devices::vision::{
    EncodeOptions, GradeOptions, Gs1Content, Polarity, RenderOptions, SymbolShape, decode_image,
    encode_text, grade,
};
use serialstation_gs1::AiValue;

#[derive(clap::Subcommand, Debug)]
pub enum VisionCommand {
    /// Encode GS1 data as a GS1 DataMatrix PNG.
    Encode {
        /// The data: (01)... bracketed, ^01... FNC1 notation, ]d2... scan data or a
        /// GS1 Digital Link URI.
        data: String,
        /// Output PNG file.
        #[arg(short = 'o', long = "output")]
        output: PathBuf,
        /// Pixels per module.
        #[arg(long, default_value_t = 10, value_parser = module_px_arg)]
        module_px: u32,
        /// Quiet zone around the symbol, in modules (GS1 healthcare asks for at least 1).
        #[arg(long, default_value_t = 2, value_parser = quiet_zone_arg)]
        quiet_zone: u32,
        /// Symbol shape.
        #[arg(long, value_enum, default_value_t = ShapeArg::Square)]
        shape: ShapeArg,
        /// Light modules on a dark background.
        #[arg(long)]
        inverted: bool,
    },
    /// Decode and grade (ISO/IEC 15415) the symbol in an image.
    Decode {
        /// PNG image (grayscale or colour).
        file: PathBuf,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
        /// Aperture reported in the grade, in mils.
        #[arg(long, default_value_t = 5)]
        aperture: u16,
        /// Wavelength reported in the grade, in nm.
        #[arg(long, default_value_t = 660)]
        wavelength: u16,
    },
    /// Apply a print defect to a symbol image.
    Defect {
        /// Input PNG.
        input: PathBuf,
        /// Output PNG.
        #[arg(short = 'o', long = "output")]
        output: PathBuf,
        #[arg(long, value_enum)]
        kind: DefectKind,
        /// 0.0 (none) to 1.0 (worst).
        #[arg(long, default_value_t = 0.5)]
        severity: f64,
        /// Seed for random defects.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Module size of the input in pixels (for size-dependent defects).
        #[arg(long, default_value_t = 10)]
        module_px: u32,
        /// Quiet zone of the input in modules (for module-level defects).
        #[arg(long, default_value_t = 2)]
        quiet_zone: u32,
    },
    /// Render a case seen from above: one code per place, row by row (`-`: empty).
    CaseRender {
        /// Output PNG.
        #[arg(short = 'o', long = "output")]
        output: PathBuf,
        /// Places as ROWSxCOLS, e.g. 6x8.
        #[arg(long, value_parser = super::case_image::layout_arg)]
        layout: (u32, u32),
        #[arg(long, default_value_t = 2448)]
        width: u32,
        #[arg(long, default_value_t = 2048)]
        height: u32,
        /// Pixels per module.
        #[arg(long, default_value_t = 5, value_parser = module_px_arg)]
        module_px: u32,
        /// Seed of the packs' small offsets and rotations.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// One code per place (GS1 data in any read form), `-` for an empty place.
        #[arg(required = true)]
        codes: Vec<String>,
    },
    /// Read every place of a case frame.
    CaseRead {
        /// PNG image of the case from above.
        file: PathBuf,
        /// Places as ROWSxCOLS, e.g. 6x8.
        #[arg(long, value_parser = super::case_image::layout_arg)]
        layout: (u32, u32),
        #[arg(long)]
        json: bool,
    },
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShapeArg {
    Square,
    Rectangle,
    Auto,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum DefectKind {
    Fade,
    Spread,
    Erosion,
    DeadNozzle,
    Dotted,
    Blur,
    Noise,
    Skew,
    Rotate,
    Perspective,
    Partial,
    Stretch,
    Warp,
}

pub fn run(cmd: VisionCommand) -> ExitCode {
    let result = match cmd {
        VisionCommand::Encode {
            data,
            output,
            module_px,
            quiet_zone,
            shape,
            inverted,
        } => run_encode(&data, &output, module_px, quiet_zone, shape, inverted),
        VisionCommand::Decode {
            file,
            json,
            aperture,
            wavelength,
        } => run_decode(&file, json, aperture, wavelength),
        VisionCommand::Defect {
            input,
            output,
            kind,
            severity,
            seed,
            module_px,
            quiet_zone,
        } => run_defect(&input, &output, kind, severity, seed, module_px, quiet_zone),
        VisionCommand::CaseRender {
            output,
            layout,
            width,
            height,
            module_px,
            seed,
            codes,
        } => super::case_image::render(&output, layout, (width, height), module_px, seed, &codes),
        VisionCommand::CaseRead { file, layout, json } => {
            super::case_image::read(&file, layout, json)
        }
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("{message}");
            ExitCode::from(1)
        }
    }
}

fn run_encode(
    data: &str,
    output: &Path,
    module_px: u32,
    quiet_zone: u32,
    shape: ShapeArg,
    inverted: bool,
) -> Result<ExitCode, String> {
    let options = EncodeOptions {
        shape: match shape {
            ShapeArg::Square => SymbolShape::Square,
            ShapeArg::Rectangle => SymbolShape::Rectangle,
            ShapeArg::Auto => SymbolShape::Auto,
        },
        render: RenderOptions {
            module_px,
            quiet_zone_modules: quiet_zone,
            polarity: if inverted {
                Polarity::LightOnDark
            } else {
                Polarity::DarkOnLight
            },
        },
    };
    let symbol = encode_text(data, &options).map_err(|e| format!("cannot encode: {e}"))?;
    write_png(&symbol.image, output)?;
    println!(
        "wrote {} ({}x{} modules, {}x{} px)",
        output.display(),
        symbol.matrix.rows,
        symbol.matrix.cols,
        symbol.image.width(),
        symbol.image.height()
    );
    Ok(ExitCode::SUCCESS)
}

/// `--module-px`: 1 to 100 (clap's own range check would say `1..=100`).
fn module_px_arg(text: &str) -> Result<u32, String> {
    whole_number_in(text, 1, 100)
}

/// `--quiet-zone`: 0 to 20 modules.
fn quiet_zone_arg(text: &str) -> Result<u32, String> {
    whole_number_in(text, 0, 20)
}

fn whole_number_in(text: &str, min: u32, max: u32) -> Result<u32, String> {
    match text.trim().parse::<u32>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(format!("give a whole number from {min} to {max}")),
    }
}

pub(crate) fn read_png(path: &Path) -> Result<GrayImage, String> {
    let image = image::open(path).map_err(|e| {
        format!(
            "cannot read image {}: {}",
            path.display(),
            image_error_words(&e)
        )
    })?;
    Ok(image.to_luma8())
}

/// An image error in words: the `png` crate writes chunk types with `Debug`
/// (`ChunkType { type: IDAT, critical: true, .. }`) and `image` writes formats and
/// extensions with `Debug` too.
fn image_error_words(e: &image::ImageError) -> String {
    use image::ImageError;
    match e {
        ImageError::IoError(io) => io.to_string(),
        ImageError::Decoding(_) => {
            let text = e.to_string();
            // "Format error decoding Png: <what the png crate says>"
            let detail = text
                .strip_prefix("Format error decoding ")
                .and_then(|rest| rest.split_once(": "))
                .map_or(text.as_str(), |(_, detail)| detail);
            let detail = without_chunk_debug(detail);
            let detail = detail.trim().trim_end_matches('.');
            let words = if detail.starts_with("CRC error") {
                match chunk_named_in(detail) {
                    Some(chunk) => format!("corrupt {chunk} chunk: its checksum does not match"),
                    None => "corrupt chunk: its checksum does not match".to_string(),
                }
            } else if detail.starts_with("Corrupt deflate stream") {
                "corrupt compressed image data".to_string()
            } else if detail.is_empty() {
                "corrupt or truncated file".to_string()
            } else {
                let mut chars = detail.chars();
                chars.next().map_or_else(String::new, |first| {
                    first.to_lowercase().chain(chars).collect::<String>()
                })
            };
            format!("the file is not a readable PNG image ({words}); save it again as a PNG")
        }
        ImageError::Unsupported(_) => {
            "the file is not a PNG image (or not one this program reads): give a PNG file"
                .to_string()
        }
        ImageError::Limits(_) => "the image is too large to read".to_string(),
        _ => without_chunk_debug(&e.to_string()),
    }
}

/// `text` with every `ChunkType { type: IDAT, .. }` written as its name, `IDAT`.
fn without_chunk_debug(text: &str) -> String {
    const START: &str = "ChunkType { type: ";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(START) {
        out.push_str(&rest[..i]);
        let after = &rest[i + START.len()..];
        let name_end = after.find([',', ' ', '}']).unwrap_or(after.len());
        out.push_str(&after[..name_end]);
        rest = match after.find('}') {
            Some(close) => &after[close + 1..],
            None => "",
        };
    }
    out.push_str(rest);
    out
}

/// The chunk named in "... while decoding IDAT chunk", if any.
fn chunk_named_in(detail: &str) -> Option<&str> {
    let before = detail.rsplit_once(" chunk")?.0;
    let name = before.rsplit(' ').next()?;
    (name.len() == 4 && name.bytes().all(|b| b.is_ascii_alphabetic())).then_some(name)
}

fn write_png(image: &GrayImage, path: &Path) -> Result<(), String> {
    image.save(path).map_err(|e| {
        format!(
            "cannot write {}: {e} (check the directory exists and is writable)",
            path.display()
        )
    })
}

#[derive(Serialize)]
struct DecodeOutput<'a> {
    symbology: &'a str,
    gs1: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    element_string: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ais: Option<&'a [AiValue]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    gs1_error: Option<String>,
    /// Scan data after the symbology identifier; GS shown as `<GS>`.
    data: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    corners: Option<[Point; 4]>,
    grade: GradeReport,
}

fn run_decode(file: &Path, json: bool, aperture: u16, wavelength: u16) -> Result<ExitCode, String> {
    let image = read_png(file)?;
    let decoded = match decode_image(&image) {
        Ok(d) => d,
        Err(e) => {
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "no_read": true, "error": e.to_string() })
                );
            }
            return Err(format!("no read: {e}"));
        }
    };
    let options = GradeOptions {
        aperture_mils: aperture,
        wavelength_nm: wavelength,
        ..Default::default()
    };
    let report = grade(
        image.as_raw(),
        image.width() as usize,
        image.height() as usize,
        &decoded,
        &options,
    );
    let es = decoded.element_string();
    let output = DecodeOutput {
        symbology: &decoded.symbology_identifier,
        gs1: decoded.is_valid_gs1(),
        element_string: es.map(|e| e.to_fnc1()),
        hri: es.map(|e| e.to_hri()),
        ais: es.map(|e| e.ais()),
        gs1_error: match &decoded.content {
            Gs1Content::Invalid(e) => Some(e.to_string()),
            Gs1Content::NotGs1 => Some(format!(
                "not a GS1 symbol ({})",
                decoded.symbology_identifier
            )),
            Gs1Content::Valid(_) => None,
        },
        data: decoded.text.replace('\u{1d}', "<GS>"),
        corners: decoded.corners,
        grade: report,
    };
    if json {
        let text =
            serde_json::to_string(&output).map_err(|e| format!("cannot format the result: {e}"))?;
        println!("{text}");
    } else {
        println!("symbology: {}", output.symbology);
        match (&output.hri, &output.gs1_error) {
            (Some(hri), _) => println!("gs1: valid {hri}"),
            (None, Some(err)) => println!("gs1: NOT valid: {err}"),
            (None, None) => {}
        }
        println!("data: {}", output.data);
        let g = &output.grade;
        println!("grade: {} ({})", g.formatted, g.letter);
        let p = &g.parameters;
        for (name, param) in [
            ("decode", p.decode),
            ("symbol contrast", p.symbol_contrast),
            ("modulation", p.modulation),
            ("reflectance margin", p.reflectance_margin),
            ("fixed pattern damage", p.fixed_pattern_damage),
            ("axial non-uniformity", p.axial_nonuniformity),
            ("grid non-uniformity", p.grid_nonuniformity),
            ("unused error correction", p.unused_error_correction),
        ] {
            println!("  {name:<24} {:>7.3}  grade {}", param.value, param.grade);
        }
        println!(
            "  print growth (not graded) horizontal {:+.3} vertical {:+.3}",
            g.print_growth.horizontal, g.print_growth.vertical
        );
        if let Some(note) = &g.note {
            println!("  note: {note}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn run_defect(
    input: &Path,
    output: &Path,
    kind: DefectKind,
    severity: f64,
    seed: u64,
    module_px: u32,
    quiet_zone: u32,
) -> Result<ExitCode, String> {
    if !(0.0..=1.0).contains(&severity) {
        return Err(format!(
            "--severity must be between 0.0 and 1.0, got {severity}"
        ));
    }
    let image = read_png(input)?;
    let px = module_px.max(1) as f64;
    let origin = quiet_zone as f64 * px;
    let geometry = ModuleGeometry {
        module_px: px,
        origin_x: origin,
        origin_y: origin,
        rows: ((image.height() as f64 - 2.0 * origin) / px).max(1.0) as usize,
        cols: ((image.width() as f64 - 2.0 * origin) / px).max(1.0) as usize,
    };
    let out = match kind {
        DefectKind::Fade => defects::fade(&image, severity),
        DefectKind::Spread => defects::ink_spread(&image, severity, px),
        DefectKind::Erosion => defects::erosion(&image, severity, px),
        DefectKind::DeadNozzle => defects::dead_nozzle(&image, severity, &geometry, seed),
        DefectKind::Dotted => defects::dotted(&image, severity, &geometry),
        DefectKind::Blur => defects::blur(&image, severity, px),
        DefectKind::Noise => defects::noise(&image, severity, seed),
        DefectKind::Skew => defects::skew(&image, severity),
        DefectKind::Rotate => defects::rotate(&image, severity * 360.0),
        DefectKind::Perspective => defects::perspective(&image, severity),
        DefectKind::Partial => defects::partial_print(&image, severity),
        DefectKind::Stretch => defects::stretch(&image, severity),
        DefectKind::Warp => defects::grid_warp(&image, severity, &geometry),
    };
    write_png(&out, output)?;
    Ok(ExitCode::SUCCESS)
}
