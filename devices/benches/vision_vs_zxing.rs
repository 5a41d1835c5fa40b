//! Our DataMatrix reading against zxing-cpp's, on the same images in one run:
//!
//! - **case frames**: 2448 × 2048 frames of a case of 48 packs (6 × 8), each with
//!   its carton code at 5 px per module, read whole: [`read_case`] (one read per
//!   place of the case's layout) against zxing-cpp's `read_barcodes` over the
//!   whole frame, and against zxing-cpp given the same places (`read_barcode` per
//!   place);
//! - **carton crops**: the 260 × 260 image of one carton code (10 px per module),
//!   decoded (and, for ours, decoded and graded) against zxing-cpp's `read_barcode`.
//!
//! Both sides read the same PNG files; zxing-cpp runs in its Python binding with
//! the images already in memory, so only decoding is timed on either side. Each
//! figure is the median of several passes over the set, single-threaded.
//!
//! ```text
//! bash scripts/install-test-tools.sh        # the venv with zxing-cpp
//! cargo bench -p serialstation-devices --bench vision_vs_zxing
//! ```
//!
//! `SERIALSTATION_PYTHON` names a python with the `zxingcpp` module, else
//! `target/pyvenv/bin/python` is used.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serialstation_devices::vision::case_image::{CaseLayout, CellRead, read_case, render_case};
use serialstation_devices::vision::{
    EncodeOptions, GradeOptions, decode_image, encode_text, grade,
};

const CASE_ROWS: u32 = 6;
const CASE_COLS: u32 = 8;
const CASE_FRAMES: usize = 4;
const CARTONS: usize = 20;
const PASSES: usize = 5;

fn carton_code(case: usize, place: usize) -> String {
    format!("(01)09506000134352(17)301231(10)LOT{case:02}(21)SN{case:02}{place:05}")
}

const ZXING_SCRIPT: &str = r#"
import importlib.metadata, json, statistics, sys, time
import numpy, zxingcpp
from PIL import Image
passes = int(sys.argv[1])
rows, cols = int(sys.argv[4]), int(sys.argv[5])
def load(paths):
    return [numpy.asarray(Image.open(p).convert("L")) for p in paths]
cases = load(sys.argv[2].split(","))
cartons = load(sys.argv[3].split(","))
fmt = zxingcpp.BarcodeFormat.DataMatrix
def median_ms(images, read):
    times, found = [], None
    for _ in range(passes):
        for image in images:
            start = time.perf_counter()
            n = read(image)
            times.append(time.perf_counter() - start)
            found = n if found is None else min(found, n)
    return statistics.median(times) * 1e3, found
case_ms, case_found = median_ms(cases, lambda i: len(zxingcpp.read_barcodes(i, formats=fmt)))
def by_place(image):
    h, w = image.shape[0] // rows, image.shape[1] // cols
    return sum(1 for r in range(rows) for c in range(cols)
               if zxingcpp.read_barcode(image[r*h:(r+1)*h, c*w:(c+1)*w], formats=fmt))
place_ms, place_found = median_ms(cases, by_place)
carton_ms, carton_found = median_ms(cartons, lambda i: 1 if zxingcpp.read_barcode(i, formats=fmt) else 0)
print(json.dumps({"case_ms": case_ms, "case_codes": case_found,
                  "place_ms": place_ms, "place_codes": place_found,
                  "carton_ms": carton_ms, "carton_codes": carton_found,
                  "version": importlib.metadata.version("zxing-cpp")}))
"#;

fn python() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("SERIALSTATION_PYTHON").map(PathBuf::from),
        Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/pyvenv/bin/python")),
    ];
    candidates.into_iter().flatten().find(|python| {
        Command::new(python)
            .args(["-c", "import zxingcpp, numpy, PIL"])
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        println!("vision_vs_zxing: benchmark");
        return;
    }
    let Some(python) = python() else {
        eprintln!(
            "vision_vs_zxing: no python with zxingcpp, numpy and PIL: run `bash scripts/install-test-tools.sh` or set SERIALSTATION_PYTHON"
        );
        std::process::exit(1);
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let layout = CaseLayout::five_megapixel(CASE_ROWS, CASE_COLS);
    let per_case = layout.cells();

    // The image sets, written once; both sides read these files.
    let mut case_frames = Vec::new();
    let mut case_paths = Vec::new();
    for case in 0..CASE_FRAMES {
        let codes: Vec<Option<String>> =
            (0..per_case).map(|p| Some(carton_code(case, p))).collect();
        let frame = render_case(&layout, &codes, 5, case as u64 + 1).expect("case frame");
        let path = dir.path().join(format!("case-{case}.png"));
        frame.save(&path).expect("write png");
        case_paths.push(path);
        case_frames.push(frame);
    }
    let mut cartons = Vec::new();
    let mut carton_paths = Vec::new();
    for n in 0..CARTONS {
        let image = encode_text(&carton_code(99, n), &EncodeOptions::default())
            .expect("carton")
            .image;
        let path = dir.path().join(format!("carton-{n}.png"));
        image.save(&path).expect("write png");
        carton_paths.push(path);
        cartons.push(image);
    }

    // Ours.
    let mut case_times = Vec::new();
    let mut fewest = usize::MAX;
    for _ in 0..PASSES {
        for frame in &case_frames {
            let start = Instant::now();
            let reads = read_case(frame, &layout).expect("layout");
            case_times.push(start.elapsed());
            fewest = fewest.min(
                reads
                    .iter()
                    .filter(|r| matches!(r, CellRead::Code(_)))
                    .count(),
            );
        }
    }
    let grade_options = GradeOptions::default();
    let (mut decode_times, mut graded_times) = (Vec::new(), Vec::new());
    for _ in 0..PASSES {
        for image in &cartons {
            let start = Instant::now();
            let decoded = decode_image(image).expect("our decoder reads the carton");
            decode_times.push(start.elapsed());
            let start = Instant::now();
            let decoded_again = decode_image(image).expect("decodes");
            let _ = grade(
                image.as_raw(),
                image.width() as usize,
                image.height() as usize,
                &decoded_again,
                &grade_options,
            );
            graded_times.push(start.elapsed());
            assert_eq!(decoded.text, decoded_again.text);
        }
    }

    // zxing-cpp, same files, same run.
    let join = |paths: &[PathBuf]| {
        paths
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(",")
    };
    let out = Command::new(&python)
        .args(["-c", ZXING_SCRIPT, &PASSES.to_string()])
        .arg(join(&case_paths))
        .arg(join(&carton_paths))
        .args([CASE_ROWS.to_string(), CASE_COLS.to_string()])
        .output()
        .expect("python runs");
    if !out.status.success() {
        eprintln!(
            "vision_vs_zxing: zxing-cpp failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::process::exit(1);
    }
    let theirs: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("zxing-cpp's figures as JSON");
    let their_case = theirs["case_ms"].as_f64().unwrap_or(f64::NAN);
    let their_carton = theirs["carton_ms"].as_f64().unwrap_or(f64::NAN);
    let their_places = theirs["place_ms"].as_f64().unwrap_or(f64::NAN);

    let our_case = ms(median(case_times));
    let our_decode = ms(median(decode_times));
    let our_graded = ms(median(graded_times));
    println!(
        "zxing-cpp {} (Python binding), {PASSES} passes, medians, one thread each",
        theirs["version"].as_str().unwrap_or("?")
    );
    println!("| what | ours | zxing-cpp | ours / zxing-cpp |");
    println!("|---|---|---|---|");
    println!(
        "| case frame {}×{}, {per_case} codes: read every code | {our_case:.1} ms ({fewest} of {per_case} read) | {their_case:.1} ms ({} of {per_case} read) | {:.2} |",
        layout.width,
        layout.height,
        theirs["case_codes"],
        our_case / their_case
    );
    println!(
        "| the same frames, zxing-cpp also given the places (one read per place, as ours) | {our_case:.1} ms | {their_places:.1} ms ({} of {per_case} read) | {:.2} |",
        theirs["place_codes"],
        our_case / their_places
    );
    println!(
        "| carton crop 260×260: decode | {:.0} µs | {:.0} µs | {:.2} |",
        our_decode * 1e3,
        their_carton * 1e3,
        our_decode / their_carton
    );
    println!(
        "| carton crop 260×260: decode + grade (ours) | {:.0} µs | – | {:.2} (against zxing-cpp's decode) |",
        our_graded * 1e3,
        our_graded / their_carton
    );
}
