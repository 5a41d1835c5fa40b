//! Print-defect models for the simulator and for grading tests. Each defect is a
//! pure function of an image (or of a module matrix) and a severity in 0.0..=1.0;
//! random defects take a seed and are reproducible. `place_in_frame` puts a symbol
//! into a larger camera frame.

use image::GrayImage;

use super::render::{LIGHT_LEVEL, RenderOptions, render};
use super::types::ModuleMatrix;

/// A small deterministic random generator (SplitMix64), so that defects are
/// reproducible from a seed.
#[derive(Debug, Clone)]
pub struct SeededRng(u64);

impl SeededRng {
    pub fn new(seed: u64) -> SeededRng {
        SeededRng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Uniform integer in [0, n).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }
    /// Approximately normal (mean 0, standard deviation 1).
    pub fn normal(&mut self) -> f64 {
        (0..4).map(|_| self.unit()).sum::<f64>() * 3.0f64.sqrt() - 2.0 * 3.0f64.sqrt()
    }
}

/// Where the modules of a rendered symbol are (needed by module-level defects).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ModuleGeometry {
    pub module_px: f64,
    /// Pixel offset of the symbol's top-left corner.
    pub origin_x: f64,
    pub origin_y: f64,
    pub rows: usize,
    pub cols: usize,
}

impl ModuleGeometry {
    /// The geometry of an image made by [`render`] with these options.
    pub fn of_render(matrix: &ModuleMatrix, options: &RenderOptions) -> ModuleGeometry {
        let px = options.module_px.max(1) as f64;
        let origin = options.quiet_zone_modules as f64 * px;
        ModuleGeometry {
            module_px: px,
            origin_x: origin,
            origin_y: origin,
            rows: matrix.rows,
            cols: matrix.cols,
        }
    }
}

fn clamp01(s: f64) -> f64 {
    if s.is_finite() {
        s.clamp(0.0, 1.0)
    } else {
        0.0
    }
}

fn map_pixels(image: &GrayImage, f: impl Fn(u8) -> u8) -> GrayImage {
    let mut out = image.clone();
    for p in out.pixels_mut() {
        p.0[0] = f(p.0[0]);
    }
    out
}

/// Fade (worn ribbon, low ink): ink lightens towards the substrate; severity 1
/// leaves 10 % of the original contrast.
pub fn fade(image: &GrayImage, severity: f64) -> GrayImage {
    let k = 0.9 * clamp01(severity);
    map_pixels(image, |v| {
        (v as f64 + (LIGHT_LEVEL as f64 - v as f64) * k).round() as u8
    })
}

/// Uniform loss of contrast around mid-gray (glossy substrate, overexposure).
pub fn low_contrast(image: &GrayImage, severity: f64) -> GrayImage {
    let k = 1.0 - 0.9 * clamp01(severity);
    map_pixels(image, |v| {
        (127.5 + (v as f64 - 127.5) * k).round().clamp(0.0, 255.0) as u8
    })
}

fn min_max_filter(image: &GrayImage, radius: usize, take_min: bool) -> GrayImage {
    if radius == 0 {
        return image.clone();
    }
    let (w, h) = (image.width() as usize, image.height() as usize);
    let src = image.as_raw();
    let pick = |a: u8, b: u8| if take_min { a.min(b) } else { a.max(b) };
    let mut horizontal = vec![0u8; w * h];
    for y in 0..h {
        for x in 0..w {
            let (lo, hi) = (x.saturating_sub(radius), (x + radius).min(w - 1));
            horizontal[y * w + x] = src[y * w + lo..=y * w + hi]
                .iter()
                .copied()
                .reduce(pick)
                .unwrap_or(0);
        }
    }
    let mut out = vec![0u8; w * h];
    for y in 0..h {
        let (lo, hi) = (y.saturating_sub(radius), (y + radius).min(h - 1));
        for x in 0..w {
            out[y * w + x] = (lo..=hi)
                .map(|yy| horizontal[yy * w + x])
                .reduce(pick)
                .unwrap_or(0);
        }
    }
    GrayImage::from_raw(w as u32, h as u32, out).unwrap_or_else(|| image.clone())
}

/// Ink spread: dark modules grow by up to 0.4 X on each side at severity 1.
pub fn ink_spread(image: &GrayImage, severity: f64, module_px: f64) -> GrayImage {
    min_max_filter(
        image,
        (clamp01(severity) * 0.4 * module_px).round() as usize,
        true,
    )
}

/// Erosion (under-inking): dark modules shrink by up to 0.4 X on each side.
pub fn erosion(image: &GrayImage, severity: f64, module_px: f64) -> GrayImage {
    min_max_filter(
        image,
        (clamp01(severity) * 0.4 * module_px).round() as usize,
        false,
    )
}

/// A dead thermal-inkjet nozzle: a light line across the print; its width grows
/// with severity (up to 0.6 X) and its row is chosen by the seed.
pub fn dead_nozzle(
    image: &GrayImage,
    severity: f64,
    geometry: &ModuleGeometry,
    seed: u64,
) -> GrayImage {
    let mut out = image.clone();
    let width_px = (clamp01(severity) * 0.6 * geometry.module_px)
        .max(1.0)
        .round() as u32;
    let mut rng = SeededRng::new(seed);
    let symbol_height = geometry.rows as f64 * geometry.module_px;
    let y0 = (geometry.origin_y + rng.unit() * (symbol_height - width_px as f64).max(0.0)) as u32;
    for y in y0..(y0 + width_px).min(out.height()) {
        for x in 0..out.width() {
            out.put_pixel(x, y, image::Luma([LIGHT_LEVEL]));
        }
    }
    out
}

/// Dotted print (inkjet, dot-peen): each module becomes a round dot whose
/// diameter shrinks from 1.0 X towards 0.6 X with severity.
pub fn dotted(image: &GrayImage, severity: f64, geometry: &ModuleGeometry) -> GrayImage {
    let mut out = image.clone();
    let radius = geometry.module_px * (1.0 - 0.4 * clamp01(severity)) / 2.0;
    let symbol_w = geometry.cols as f64 * geometry.module_px;
    let symbol_h = geometry.rows as f64 * geometry.module_px;
    for (x, y, p) in out.enumerate_pixels_mut() {
        let (u, v) = (
            x as f64 + 0.5 - geometry.origin_x,
            y as f64 + 0.5 - geometry.origin_y,
        );
        if u < 0.0 || v < 0.0 || u >= symbol_w || v >= symbol_h {
            continue;
        }
        let cu = (u / geometry.module_px).floor() * geometry.module_px + geometry.module_px / 2.0;
        let cv = (v / geometry.module_px).floor() * geometry.module_px + geometry.module_px / 2.0;
        if (u - cu).hypot(v - cv) > radius {
            p.0[0] = LIGHT_LEVEL;
        }
    }
    out
}

fn box_blur_once(src: &[u8], w: usize, h: usize, radius: usize) -> Vec<u8> {
    let mut tmp = vec![0u8; w * h];
    for y in 0..h {
        for x in 0..w {
            let (lo, hi) = (x.saturating_sub(radius), (x + radius).min(w - 1));
            let sum: u32 = src[y * w + lo..=y * w + hi].iter().map(|&v| v as u32).sum();
            tmp[y * w + x] = (sum / (hi - lo + 1) as u32) as u8;
        }
    }
    let mut out = vec![0u8; w * h];
    for y in 0..h {
        let (lo, hi) = (y.saturating_sub(radius), (y + radius).min(h - 1));
        for x in 0..w {
            let sum: u32 = (lo..=hi).map(|yy| tmp[yy * w + x] as u32).sum();
            out[y * w + x] = (sum / (hi - lo + 1) as u32) as u8;
        }
    }
    out
}

/// Smear / defocus blur: two box blurs of radius up to 0.5 X.
pub fn blur(image: &GrayImage, severity: f64, module_px: f64) -> GrayImage {
    let radius = (clamp01(severity) * 0.5 * module_px).round() as usize;
    if radius == 0 {
        return image.clone();
    }
    let (w, h) = (image.width() as usize, image.height() as usize);
    let once = box_blur_once(image.as_raw(), w, h, radius);
    let twice = box_blur_once(&once, w, h, radius);
    GrayImage::from_raw(w as u32, h as u32, twice).unwrap_or_else(|| image.clone())
}

/// Sensor noise: additive, standard deviation up to 60 gray levels.
pub fn noise(image: &GrayImage, severity: f64, seed: u64) -> GrayImage {
    let sigma = 60.0 * clamp01(severity);
    let mut rng = SeededRng::new(seed);
    let mut out = image.clone();
    for p in out.pixels_mut() {
        p.0[0] = (p.0[0] as f64 + rng.normal() * sigma)
            .round()
            .clamp(0.0, 255.0) as u8;
    }
    out
}

/// Resamples `image` into a `width`×`height` output: `source_of(x, y)` gives the
/// source position of each output pixel centre; outside the source is substrate.
pub fn warp(
    image: &GrayImage,
    width: u32,
    height: u32,
    fill: u8,
    source_of: impl Fn(f64, f64) -> (f64, f64),
) -> GrayImage {
    let (sw, sh) = (image.width() as f64, image.height() as f64);
    let src = image.as_raw();
    let stride = image.width() as usize;
    let mut out = GrayImage::from_pixel(width, height, image::Luma([fill]));
    for (x, y, p) in out.enumerate_pixels_mut() {
        let (sx, sy) = source_of(x as f64 + 0.5, y as f64 + 0.5);
        if sx < 0.0 || sy < 0.0 || sx >= sw || sy >= sh {
            continue;
        }
        let (fx, fy) = ((sx - 0.5).max(0.0), (sy - 0.5).max(0.0));
        let (x0, y0) = (fx as usize, fy as usize);
        let (x1, y1) = (
            (x0 + 1).min(stride - 1),
            (y0 + 1).min(image.height() as usize - 1),
        );
        let (ax, ay) = (fx - x0 as f64, fy - y0 as f64);
        let at = |xx: usize, yy: usize| src[yy * stride + xx] as f64;
        let v = (at(x0, y0) * (1.0 - ax) + at(x1, y0) * ax) * (1.0 - ay)
            + (at(x0, y1) * (1.0 - ax) + at(x1, y1) * ax) * ay;
        p.0[0] = v.round() as u8;
    }
    out
}

/// Rotation by `degrees` about the centre; the canvas grows to hold the result.
pub fn rotate(image: &GrayImage, degrees: f64) -> GrayImage {
    let (w, h) = (image.width() as f64, image.height() as f64);
    let (s, c) = (degrees.to_radians().sin(), degrees.to_radians().cos());
    let (out_w, out_h) = (
        (w * c.abs() + h * s.abs()).ceil(),
        (w * s.abs() + h * c.abs()).ceil(),
    );
    warp(image, out_w as u32, out_h as u32, LIGHT_LEVEL, |x, y| {
        let (dx, dy) = (x - out_w / 2.0, y - out_h / 2.0);
        (c * dx + s * dy + w / 2.0, -s * dx + c * dy + h / 2.0)
    })
}

/// Skew (shear along x) of up to 0.3 at severity 1 (the print is a parallelogram).
pub fn skew(image: &GrayImage, severity: f64) -> GrayImage {
    let k = 0.3 * clamp01(severity);
    let (w, h) = (image.width() as f64, image.height() as f64);
    let out_w = (w + k * h).ceil();
    warp(image, out_w as u32, h as u32, LIGHT_LEVEL, |x, y| {
        (x - k * (h - y), y)
    })
}

/// Stretch along x by up to 30 % (web speed mismatch): raises axial non-uniformity.
pub fn stretch(image: &GrayImage, severity: f64) -> GrayImage {
    let k = 1.0 + 0.3 * clamp01(severity);
    let (w, h) = (image.width() as f64, image.height() as f64);
    warp(
        image,
        (w * k).ceil() as u32,
        h as u32,
        LIGHT_LEVEL,
        |x, y| (x / k, y),
    )
}

/// Grid distortion: a smooth wave displacement of up to 0.6 X (uneven conveyor,
/// print-head jitter): raises grid non-uniformity.
pub fn grid_warp(image: &GrayImage, severity: f64, geometry: &ModuleGeometry) -> GrayImage {
    let amplitude = 0.6 * clamp01(severity) * geometry.module_px;
    let period = geometry.cols.max(2) as f64 * geometry.module_px * 0.7;
    let (w, h) = (image.width(), image.height());
    warp(image, w, h, LIGHT_LEVEL, |x, y| {
        let phase = std::f64::consts::TAU * y / period;
        (
            x + amplitude * phase.sin(),
            y + amplitude * (std::f64::consts::TAU * x / period).sin(),
        )
    })
}

/// Perspective: the top edge shrinks by up to 30 % (camera not square to the pack).
pub fn perspective(image: &GrayImage, severity: f64) -> GrayImage {
    let k = 0.3 * clamp01(severity);
    let (w, h) = (image.width() as f64, image.height() as f64);
    warp(image, w as u32, h as u32, LIGHT_LEVEL, |x, y| {
        let scale = 1.0 - k * (1.0 - y / h);
        ((x - w / 2.0) / scale + w / 2.0, y)
    })
}

/// Partial print: the right part of the image (up to 60 % at severity 1) is not printed.
pub fn partial_print(image: &GrayImage, severity: f64) -> GrayImage {
    let mut out = image.clone();
    let cut = (out.width() as f64 * (1.0 - 0.6 * clamp01(severity))).round() as u32;
    for (x, _, p) in out.enumerate_pixels_mut() {
        if x >= cut {
            p.0[0] = LIGHT_LEVEL;
        }
    }
    out
}

/// Finder damage: a fraction (up to 60 %) of the finder's vertical arm is left
/// unprinted, from the top down.
pub fn damage_finder(image: &GrayImage, severity: f64, geometry: &ModuleGeometry) -> GrayImage {
    let mut out = image.clone();
    let modules = (clamp01(severity) * 0.6 * geometry.rows as f64).round() as usize;
    for m in 0..modules {
        let x0 = geometry.origin_x as u32;
        let y0 = (geometry.origin_y + m as f64 * geometry.module_px) as u32;
        for y in y0..(y0 + geometry.module_px as u32).min(out.height()) {
            for x in x0..(x0 + geometry.module_px as u32).min(out.width()) {
                out.put_pixel(x, y, image::Luma([LIGHT_LEVEL]));
            }
        }
    }
    out
}

/// Flips `count` data-area modules (not the finder or clock tracks), chosen by the
/// seed: codeword errors for unused error correction.
pub fn flip_modules(matrix: &ModuleMatrix, count: usize, seed: u64) -> ModuleMatrix {
    let mut out = matrix.clone();
    if matrix.rows < 3 || matrix.cols < 3 {
        return out;
    }
    let mut rng = SeededRng::new(seed);
    let interior: Vec<usize> = (1..matrix.rows - 1)
        .flat_map(|r| (1..matrix.cols - 1).map(move |c| r * matrix.cols + c))
        .collect();
    let mut chosen = interior;
    for i in 0..count.min(chosen.len()) {
        let j = i + rng.below(chosen.len() - i);
        chosen.swap(i, j);
        out.modules[chosen[i]] = !out.modules[chosen[i]];
    }
    out
}

/// Re-renders a flipped-module copy of a symbol (convenience for tests).
pub fn render_with_flipped_modules(
    matrix: &ModuleMatrix,
    count: usize,
    seed: u64,
    options: &RenderOptions,
) -> GrayImage {
    render(&flip_modules(matrix, count, seed), options)
}

/// Puts a symbol image into a camera frame: centred at (`centre_x`, `centre_y`),
/// rotated by `degrees`, on a substrate of `background` gray with additive noise of
/// standard deviation `noise_sigma`.
#[allow(clippy::too_many_arguments)]
pub fn place_in_frame(
    symbol: &GrayImage,
    frame_width: u32,
    frame_height: u32,
    centre_x: f64,
    centre_y: f64,
    degrees: f64,
    background: u8,
    noise_sigma: f64,
    seed: u64,
) -> GrayImage {
    let (w, h) = (symbol.width() as f64, symbol.height() as f64);
    let (s, c) = (degrees.to_radians().sin(), degrees.to_radians().cos());
    let scale = background as f64 / LIGHT_LEVEL as f64;
    let dimmed = map_pixels(symbol, |v| (v as f64 * scale).round() as u8);
    let mut frame = warp(&dimmed, frame_width, frame_height, background, |x, y| {
        let (dx, dy) = (x - centre_x, y - centre_y);
        (c * dx + s * dy + w / 2.0, -s * dx + c * dy + h / 2.0)
    });
    if noise_sigma > 0.0 {
        let mut rng = SeededRng::new(seed);
        for p in frame.pixels_mut() {
            p.0[0] = (p.0[0] as f64 + rng.normal() * noise_sigma)
                .round()
                .clamp(0.0, 255.0) as u8;
        }
    }
    frame
}
