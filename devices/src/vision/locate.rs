//! Finding a Data Matrix symbol in a grayscale frame without help from the decoder:
//! for an image that is already a cropped symbol, straight from its ink box;
//! otherwise a coarse search for the solid finder "L" (largest dark connected region on a
//! downsampled image), its minimum-area rectangle, orientation from the two solid
//! sides, module count from the clock tracks, then a refined grid from lines fitted
//! to the measured outer edges of the finder and clock tracks.

use super::ecc200::SymbolSize;
use super::geometry::{Homography, Line, Point, convex_hull, min_area_rectangle};
use super::sampling::{Luma, first_crossing};

/// A located symbol: its size and the grid that maps module coordinates (u to the
/// right from the finder's vertical arm, v down from the top clock track; the symbol
/// spans u∈[0,cols], v∈[0,rows]) to pixels.
#[derive(Debug, Clone, Copy)]
pub struct LocatedSymbol {
    pub size: SymbolSize,
    pub grid: Homography,
    /// Pixel corners: bottom-left (the finder corner), bottom-right, top-right, top-left.
    pub corners: [Point; 4],
    /// The gray level separating ink from substrate.
    pub threshold: f64,
    /// Mean module size in pixels.
    pub module_px: f64,
}

/// Largest dark regions tried as finder candidates.
const CANDIDATES: usize = 3;

/// Locates one symbol with dark ink on a lighter background.
pub fn locate(image: &Luma) -> Option<LocatedSymbol> {
    locate_where(image, Some)
}

/// Tries candidate locations in order of likelihood and returns the first for
/// which `accept` gives a result (e.g. the first that decodes).
pub fn locate_where<T>(image: &Luma, accept: impl FnMut(LocatedSymbol) -> Option<T>) -> Option<T> {
    locate_with(image, CroppedFastPath::Try, accept)
}

/// Whether to try the cropped-symbol fast path before the full search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CroppedFastPath {
    Try,
    #[cfg(test)]
    Skip,
}

fn locate_with<T>(
    image: &Luma,
    fast_path: CroppedFastPath,
    mut accept: impl FnMut(LocatedSymbol) -> Option<T>,
) -> Option<T> {
    let threshold = otsu_threshold(image.pixels);
    // Coarse to fine: search a small min-pooled image first (cheap, keeps thin ink
    // connected), then finer ones if nothing was found.
    let coarsest = (((image.width * image.height) as f64 / 8_000.0)
        .sqrt()
        .ceil() as usize)
        .clamp(1, 8);
    let mut factor = coarsest;
    let mut small = min_pool(image, factor);
    // Fast path for an image that is already a cropped symbol (the ink fills most
    // of it): its ink box is the candidate, no connected-region search needed.
    if fast_path == CroppedFastPath::Try
        && let Some(found) = locate_filling_symbol(image, &small, threshold, factor, &mut accept)
    {
        return Some(found);
    }
    loop {
        let small_luma = Luma::new(&small.pixels, small.width, small.height)?;
        for rect in finder_rectangles(&small_luma, threshold, factor) {
            let rect = shrink_rectangle(rect, (factor as f64 - 1.0) / 2.0);
            if let Some(found) =
                locate_in_rectangle(image, image, rect, threshold).and_then(&mut accept)
            {
                return Some(found);
            }
            // A damaged finder: take every dark pixel around the candidate instead.
            if let Some(grown) = dark_pixels_rectangle(&small_luma, rect, threshold, factor)
                && let Some(found) = locate_in_rectangle(
                    image,
                    image,
                    shrink_rectangle(grown, (factor as f64 - 1.0) / 2.0),
                    threshold,
                )
                .and_then(&mut accept)
            {
                return Some(found);
            }
        }
        if factor == 1 {
            break;
        }
        factor /= 2;
        small = min_pool(image, factor);
    }
    // Dotted or broken print: join the dots (dark dilation) to find the shape, then
    // refine the edges on the original image.
    for radius in [1usize, 2] {
        let closed = dilate_dark(image.pixels, image.width, image.height, radius);
        let closed_luma = Luma::new(&closed, image.width, image.height)?;
        let factor = coarsest.div_ceil(2).max(1);
        let closed_small = min_pool(&closed_luma, factor);
        let closed_small_luma = Luma::new(
            &closed_small.pixels,
            closed_small.width,
            closed_small.height,
        )?;
        for rect in finder_rectangles(&closed_small_luma, threshold, factor) {
            let rect = shrink_rectangle(rect, (factor as f64 - 1.0) / 2.0);
            if let Some(found) =
                locate_in_rectangle(&closed_luma, image, rect, threshold).and_then(&mut accept)
            {
                return Some(found);
            }
        }
    }
    None
}

/// Fraction of the image's width and height that the ink must span for the image to
/// count as a cropped symbol (a symbol with a quiet zone of up to a few modules).
const CROPPED_FILL: f64 = 0.6;

/// The cropped-symbol fast path: when the dark pixels of the min-pooled image span
/// most of the image, locate the symbol in their bounding box directly. Accepted
/// only when the refined symbol corners lie on that box (an upright symbol, as the
/// coarse search would have found it); anything else is left to the full search.
fn locate_filling_symbol<T>(
    image: &Luma,
    small: &OwnedLuma,
    threshold: f64,
    factor: usize,
    accept: &mut impl FnMut(LocatedSymbol) -> Option<T>,
) -> Option<T> {
    let (w, h) = (small.width, small.height);
    let (mut x0, mut x1, mut y0, mut y1) = (usize::MAX, 0, usize::MAX, 0);
    for (y, row) in small.pixels.chunks_exact(w.max(1)).take(h).enumerate() {
        let first = row.iter().position(|&p| (p as f64) < threshold);
        if let Some(first) = first {
            let last = row.iter().rposition(|&p| (p as f64) < threshold)?;
            (x0, x1) = (x0.min(first), x1.max(last + 1));
            (y0, y1) = (y0.min(y), y + 1);
        }
    }
    if x0 >= x1
        || y0 >= y1
        || ((x1 - x0) as f64) < CROPPED_FILL * w as f64
        || ((y1 - y0) as f64) < CROPPED_FILL * h as f64
    {
        return None;
    }
    let f = factor as f64;
    let (left, right, top, bottom) = (x0 as f64 * f, x1 as f64 * f, y0 as f64 * f, y1 as f64 * f);
    let ink_box = shrink_rectangle(
        [
            Point::new(left, top),
            Point::new(right, top),
            Point::new(right, bottom),
            Point::new(left, bottom),
        ],
        (f - 1.0) / 2.0,
    );
    let located = locate_in_rectangle(image, image, ink_box, threshold)?;
    let tolerance = 0.5 * located.module_px + f;
    let on_box = located.corners.iter().all(|corner| {
        ink_box
            .iter()
            .any(|box_corner| corner.distance(*box_corner) <= tolerance)
    });
    if on_box { accept(located) } else { None }
}

/// Moves every side of a rectangle inward by `by` pixels.
fn shrink_rectangle(rect: [Point; 4], by: f64) -> [Point; 4] {
    if by <= 0.0 {
        return rect;
    }
    let mut out = rect;
    for k in 0..4 {
        let (p, next, prev) = (rect[k], rect[(k + 1) % 4], rect[(k + 3) % 4]);
        let towards = |q: Point| {
            let d = p.distance(q).max(1e-9);
            ((q.x - p.x) / d * by, (q.y - p.y) / d * by)
        };
        let (a, b) = (towards(next), towards(prev));
        out[k] = Point::new(p.x + a.0 + b.0, p.y + a.1 + b.1);
    }
    out
}

/// The minimum-area rectangle of all dark pixels within `rect` grown by 15 % on
/// every side (small-image pixels; result in full-resolution pixels).
fn dark_pixels_rectangle(
    small: &Luma,
    rect: [Point; 4],
    threshold: f64,
    factor: usize,
) -> Option<[Point; 4]> {
    let f = factor as f64;
    let centre = Point::new(
        rect.iter().map(|p| p.x).sum::<f64>() / 4.0 / f,
        rect.iter().map(|p| p.y).sum::<f64>() / 4.0 / f,
    );
    let grow = |p: Point| {
        Point::new(
            centre.x + (p.x / f - centre.x) * 1.3,
            centre.y + (p.y / f - centre.y) * 1.3,
        )
    };
    let quad = rect.map(grow);
    let inside = |x: f64, y: f64| {
        (0..4).all(|k| {
            let (a, b) = (quad[k], quad[(k + 1) % 4]);
            let side = (b.x - a.x) * (y - a.y) - (b.y - a.y) * (x - a.x);
            let reference = (b.x - a.x) * (centre.y - a.y) - (b.y - a.y) * (centre.x - a.x);
            side * reference >= 0.0
        })
    };
    let x0 = quad.iter().map(|p| p.x).fold(f64::MAX, f64::min).max(0.0) as usize;
    let x1 = (quad.iter().map(|p| p.x).fold(f64::MIN, f64::max).ceil() as usize).min(small.width);
    let y0 = quad.iter().map(|p| p.y).fold(f64::MAX, f64::min).max(0.0) as usize;
    let y1 = (quad.iter().map(|p| p.y).fold(f64::MIN, f64::max).ceil() as usize).min(small.height);
    let mut points = Vec::new();
    for y in y0..y1 {
        let mut first = None;
        let mut last = None;
        for x in x0..x1 {
            if (small.pixels[y * small.width + x] as f64) < threshold
                && inside(x as f64 + 0.5, y as f64 + 0.5)
            {
                first.get_or_insert(x);
                last = Some(x);
            }
        }
        if let (Some(a), Some(b)) = (first, last) {
            for x in [a as f64, b as f64 + 1.0] {
                points.push(Point::new(x * f, y as f64 * f));
                points.push(Point::new(x * f, (y + 1) as f64 * f));
            }
        }
    }
    min_area_rectangle(&convex_hull(points))
}

/// Grows dark areas by `radius` pixels (a minimum filter over a square).
fn dilate_dark(pixels: &[u8], width: usize, height: usize, radius: usize) -> Vec<u8> {
    let mut horizontal = vec![0u8; pixels.len()];
    for y in 0..height {
        let row = &pixels[y * width..(y + 1) * width];
        for x in 0..width {
            let (lo, hi) = (x.saturating_sub(radius), (x + radius).min(width - 1));
            horizontal[y * width + x] = row[lo..=hi].iter().copied().min().unwrap_or(255);
        }
    }
    let mut out = vec![0u8; pixels.len()];
    for y in 0..height {
        let (lo, hi) = (y.saturating_sub(radius), (y + radius).min(height - 1));
        for x in 0..width {
            out[y * width + x] = (lo..=hi)
                .map(|yy| horizontal[yy * width + x])
                .min()
                .unwrap_or(255);
        }
    }
    out
}

/// Locates a symbol starting from four approximate corners (in any order), e.g.
/// the points a decoder reports.
pub fn locate_from_corners(image: &Luma, corners: [Point; 4]) -> Option<LocatedSymbol> {
    let threshold = otsu_threshold(image.pixels);
    locate_in_rectangle(image, image, corners, threshold)
}

struct OwnedLuma {
    pixels: Vec<u8>,
    width: usize,
    height: usize,
}

/// Downsamples by `factor` keeping the darkest pixel of each block, so that thin
/// ink stays connected.
fn min_pool(image: &Luma, factor: usize) -> OwnedLuma {
    if factor == 1 {
        return OwnedLuma {
            pixels: image.pixels.to_vec(),
            width: image.width,
            height: image.height,
        };
    }
    let (w, h) = (image.width / factor, image.height / factor);
    let mut pixels = vec![255u8; w * h];
    // Per output row: the column-wise minimum of `factor` source rows (a
    // vectorisable element-wise min), then the minimum of each block of columns.
    let mut column_min = vec![255u8; w * factor];
    for (y, target) in pixels.chunks_exact_mut(w.max(1)).take(h).enumerate() {
        column_min.fill(255);
        for source_row in y * factor..(y + 1) * factor {
            let start = source_row * image.width;
            let source = &image.pixels[start..start + w * factor];
            for (m, &p) in column_min.iter_mut().zip(source) {
                *m = (*m).min(p);
            }
        }
        match factor {
            2 => min_of_blocks::<2>(target, &column_min),
            3 => min_of_blocks::<3>(target, &column_min),
            4 => min_of_blocks::<4>(target, &column_min),
            _ => {
                for (t, block) in target.iter_mut().zip(column_min.chunks_exact(factor)) {
                    *t = block.iter().fold(255u8, |m, &p| m.min(p));
                }
            }
        }
    }
    OwnedLuma {
        pixels,
        width: w,
        height: h,
    }
}

/// `target[i]` = the minimum of `values[i * F..(i + 1) * F]` (a block size known at
/// compile time, so the inner loop unrolls).
fn min_of_blocks<const F: usize>(target: &mut [u8], values: &[u8]) {
    for (t, block) in target.iter_mut().zip(values.chunks_exact(F)) {
        *t = block.iter().fold(255u8, |m, &p| m.min(p));
    }
}

/// The midpoint between the two class means of Otsu's split of the histogram
/// (the level halfway between ink and substrate).
pub fn otsu_threshold(pixels: &[u8]) -> f64 {
    let step = (pixels.len() / 16_000).max(1);
    // Four interleaved partial histograms: runs of equal pixels (the quiet zone)
    // would otherwise make every increment wait for the previous one.
    let mut partial = [[0u32; 256]; 4];
    let mut samples = pixels.iter().step_by(step);
    while let (Some(&a), Some(&b), Some(&c), Some(&d)) = (
        samples.next(),
        samples.next(),
        samples.next(),
        samples.next(),
    ) {
        partial[0][a as usize] += 1;
        partial[1][b as usize] += 1;
        partial[2][c as usize] += 1;
        partial[3][d as usize] += 1;
    }
    let mut histogram = [0u64; 256];
    for (level, count) in histogram.iter_mut().enumerate() {
        *count = partial.iter().map(|h| h[level] as u64).sum();
    }
    // The last few samples (fewer than four) that the loop above left out.
    let counted = pixels.len().div_ceil(step) / 4 * 4;
    for &p in pixels.iter().step_by(step).skip(counted) {
        histogram[p as usize] += 1;
    }
    let total: u64 = histogram.iter().sum();
    let sum_all: f64 = histogram
        .iter()
        .enumerate()
        .map(|(i, &n)| i as f64 * n as f64)
        .sum();
    let (mut weight_low, mut sum_low) = (0u64, 0.0f64);
    let (mut best, mut best_t) = (-1.0f64, 127.0);
    for (t, &n) in histogram.iter().enumerate() {
        weight_low += n;
        if weight_low == 0 {
            continue;
        }
        let weight_high = total - weight_low;
        if weight_high == 0 {
            break;
        }
        sum_low += t as f64 * n as f64;
        let mean_low = sum_low / weight_low as f64;
        let mean_high = (sum_all - sum_low) / weight_high as f64;
        let between = weight_low as f64 * weight_high as f64 * (mean_low - mean_high).powi(2);
        if between > best {
            best = between;
            best_t = (mean_low + mean_high) / 2.0;
        }
    }
    best_t
}

/// Minimum-area rectangles (full-resolution pixels) of the largest dark connected
/// regions of the downsampled image.
fn finder_rectangles(small: &Luma, threshold: f64, factor: usize) -> Vec<[Point; 4]> {
    let (w, h) = (small.width, small.height);
    let dark: Vec<bool> = small
        .pixels
        .iter()
        .map(|&p| (p as f64) < threshold)
        .collect();
    let mut labels = vec![0u32; w * h];
    let mut sizes: Vec<usize> = vec![0];
    let mut stack = Vec::new();
    for start in 0..w * h {
        if !dark[start] || labels[start] != 0 {
            continue;
        }
        let label = sizes.len() as u32;
        let mut count = 0;
        labels[start] = label;
        stack.push(start);
        while let Some(i) = stack.pop() {
            count += 1;
            let (x, y) = (i % w, i / w);
            let mut visit = |j: usize| {
                if dark[j] && labels[j] == 0 {
                    labels[j] = label;
                    stack.push(j);
                }
            };
            if x > 0 {
                visit(i - 1);
            }
            if x + 1 < w {
                visit(i + 1);
            }
            if y > 0 {
                visit(i - w);
            }
            if y + 1 < h {
                visit(i + w);
            }
        }
        sizes.push(count);
    }
    let mut order: Vec<usize> = (1..sizes.len()).filter(|&l| sizes[l] >= 12).collect();
    order.sort_by_key(|&l| std::cmp::Reverse(sizes[l]));
    order.truncate(CANDIDATES);
    let mut rectangles = Vec::new();
    for label in order {
        let mut extremes = Vec::new();
        for y in 0..h {
            let row = &labels[y * w..(y + 1) * w];
            let first = row.iter().position(|&l| l as usize == label);
            let last = row.iter().rposition(|&l| l as usize == label);
            if let (Some(a), Some(b)) = (first, last) {
                for x in [a as f64, b as f64 + 1.0] {
                    extremes.push(Point::new(x * factor as f64, y as f64 * factor as f64));
                    extremes.push(Point::new(
                        x * factor as f64,
                        (y + 1) as f64 * factor as f64,
                    ));
                }
            }
        }
        if let Some(rect) = min_area_rectangle(&convex_hull(extremes)) {
            rectangles.push(rect);
        }
    }
    rectangles
}

/// Orients and counts the symbol in `shape_image` (possibly with dots joined), then
/// refines its edges in `image`.
fn locate_in_rectangle(
    shape_image: &Luma,
    image: &Luma,
    rect: [Point; 4],
    threshold: f64,
) -> Option<LocatedSymbol> {
    let original = image;
    let image = shape_image;
    let rect = snap_rectangle(image, rect, threshold)?;
    let centre = Point::new(
        rect.iter().map(|p| p.x).sum::<f64>() / 4.0,
        rect.iter().map(|p| p.y).sum::<f64>() / 4.0,
    );
    // Dark fraction just inside each side (side k runs rect[k] -> rect[k+1]).
    let mut solid = [0.0f64; 4];
    for (k, s) in solid.iter_mut().enumerate() {
        let (a, b) = (rect[k], rect[(k + 1) % 4]);
        let side = a.distance(b);
        if side < 6.0 {
            return None;
        }
        for inset_fraction in [0.012, 0.025, 0.04] {
            let inset = (side * inset_fraction).max(0.8);
            *s = s.max(dark_fraction_inside(image, a, b, centre, inset, threshold));
        }
    }
    let corner = (0..4).max_by(|&i, &j| {
        let score = |k: usize| solid[(k + 3) % 4] + solid[k];
        score(i).total_cmp(&score(j))
    })?;
    if solid[(corner + 3) % 4] < 0.6 || solid[corner] < 0.6 {
        return None;
    }
    let bottom_left = rect[corner];
    let (mut bottom_right, mut top_left) = (rect[(corner + 1) % 4], rect[(corner + 3) % 4]);
    let cross = (bottom_right.x - bottom_left.x) * (top_left.y - bottom_left.y)
        - (bottom_right.y - bottom_left.y) * (top_left.x - bottom_left.x);
    if cross > 0.0 {
        std::mem::swap(&mut bottom_right, &mut top_left);
    }
    let top_right = rect[(corner + 2) % 4];
    let corners = [bottom_left, bottom_right, top_right, top_left];

    let module_px = finder_thickness(image, &corners, threshold)?;
    let (rows, cols) = count_modules(image, &corners, module_px, threshold)?;
    let size = SymbolSize::with_dimensions(rows, cols)?;
    refine(original, size, corners, threshold)
}

/// Moves each side of an approximate rectangle onto the outer edge of the ink:
/// from just outside, the distance to the first dark pixel at 24 places along the
/// side; the lower quartile (the finder, or the dark clock modules) is the edge.
fn snap_rectangle(image: &Luma, rect: [Point; 4], threshold: f64) -> Option<[Point; 4]> {
    let centre = rect[0].lerp(rect[2], 0.5);
    let mut lines = Vec::with_capacity(4);
    for k in 0..4 {
        let (a, b) = (rect[k], rect[(k + 1) % 4]);
        let (nx, ny) = inward_normal(a, b, centre);
        let reach = a.distance(b) * 0.25;
        let mut distances = Vec::with_capacity(16);
        for i in 0..16 {
            let p = a.lerp(b, 0.1 + 0.8 * i as f64 / 15.0);
            let mut t = -4.0;
            while t < reach {
                if image.at(Point::new(p.x + nx * t, p.y + ny * t)) < threshold {
                    distances.push(t);
                    break;
                }
                t += 1.0;
            }
        }
        if distances.len() < 5 {
            return None;
        }
        distances.sort_by(f64::total_cmp);
        let offset = distances[distances.len() / 4];
        let (p, q) = (
            Point::new(a.x + nx * offset, a.y + ny * offset),
            Point::new(b.x + nx * offset, b.y + ny * offset),
        );
        lines.push(Line::fit(&[p, q])?);
    }
    Some([
        lines[3].intersect(&lines[0])?,
        lines[0].intersect(&lines[1])?,
        lines[1].intersect(&lines[2])?,
        lines[2].intersect(&lines[3])?,
    ])
}

fn inward_normal(a: Point, b: Point, centre: Point) -> (f64, f64) {
    let len = a.distance(b).max(1e-9);
    let (mut nx, mut ny) = (-(b.y - a.y) / len, (b.x - a.x) / len);
    let mid = a.lerp(b, 0.5);
    if (centre.x - mid.x) * nx + (centre.y - mid.y) * ny < 0.0 {
        nx = -nx;
        ny = -ny;
    }
    (nx, ny)
}

fn dark_fraction_inside(
    image: &Luma,
    a: Point,
    b: Point,
    centre: Point,
    inset: f64,
    threshold: f64,
) -> f64 {
    let (nx, ny) = inward_normal(a, b, centre);
    let samples = 48;
    let mut dark = 0;
    for k in 0..samples {
        let t = 0.06 + 0.88 * k as f64 / (samples - 1) as f64;
        let p = a.lerp(b, t);
        if image.at(Point::new(p.x + nx * inset, p.y + ny * inset)) < threshold {
            dark += 1;
        }
    }
    dark as f64 / samples as f64
}

/// Module size estimate: the typical dark run across the finder arms, measured
/// inward from the outer edge (a low percentile, where the neighbour is light).
fn finder_thickness(image: &Luma, corners: &[Point; 4], threshold: f64) -> Option<f64> {
    let [bl, br, tr, tl] = *corners;
    let centre = bl.lerp(tr, 0.5);
    let mut runs = Vec::new();
    for (a, b) in [(bl, br), (tl, bl)] {
        let (nx, ny) = inward_normal(a, b, centre);
        let depth = a.distance(b) * 0.5;
        for k in 0..24 {
            let p = a.lerp(b, 0.08 + 0.84 * k as f64 / 23.0);
            let mut run = 0.0;
            let mut entered = false;
            let mut d = -2.0;
            while d < depth {
                let dark = image.at(Point::new(p.x + nx * d, p.y + ny * d)) < threshold;
                if dark {
                    entered = true;
                    run += 0.5;
                } else if entered {
                    break;
                }
                d += 0.5;
            }
            if run > 0.0 {
                runs.push(run);
            }
        }
    }
    if runs.len() < 12 {
        return None;
    }
    runs.sort_by(f64::total_cmp);
    Some(runs[runs.len() / 5].max(1.0))
}

/// Counts dark runs along the top and right clock tracks (half a module inside the
/// outer edge): columns = 2 × runs on top, rows = 2 × runs on the right.
fn count_modules(
    image: &Luma,
    corners: &[Point; 4],
    module_px: f64,
    threshold: f64,
) -> Option<(usize, usize)> {
    let [bl, br, tr, tl] = *corners;
    let centre = bl.lerp(tr, 0.5);
    for inset_modules in [0.5, 0.35, 0.65] {
        let inset = module_px * inset_modules;
        let top = dark_runs_along(image, tl, tr, centre, inset, module_px, threshold);
        let right = dark_runs_along(image, br, tr, centre, inset, module_px, threshold);
        let (rows, cols) = (2 * right, 2 * top);
        if SymbolSize::with_dimensions(rows, cols).is_some() {
            return Some((rows, cols));
        }
    }
    None
}

fn dark_runs_along(
    image: &Luma,
    a: Point,
    b: Point,
    centre: Point,
    inset: f64,
    module_px: f64,
    threshold: f64,
) -> usize {
    let (nx, ny) = inward_normal(a, b, centre);
    let length = a.distance(b);
    let steps = (length * 2.0).ceil() as usize;
    let min_run = (module_px * 0.3 * 2.0).max(1.0) as usize; // in half-pixel steps
    let mut values = Vec::with_capacity(steps);
    for k in 0..=steps {
        let p = a.lerp(b, k as f64 / steps as f64);
        values.push(image.at(Point::new(p.x + nx * inset, p.y + ny * inset)) < threshold);
    }
    // Run-length with short runs (noise) absorbed into their neighbours.
    let mut runs: Vec<(bool, usize)> = Vec::new();
    for v in values {
        match runs.last_mut() {
            Some((colour, n)) if *colour == v => *n += 1,
            _ => runs.push((v, 1)),
        }
    }
    let mut merged: Vec<(bool, usize)> = Vec::new();
    for (colour, n) in runs {
        if n < min_run
            && let Some(last) = merged.last_mut()
        {
            last.1 += n;
            continue;
        }
        match merged.last_mut() {
            Some((c, m)) if *c == colour => *m += n,
            _ => merged.push((colour, n)),
        }
    }
    // The run starts on the finder, which is always dark in the ideal symbol: a
    // light start means a damaged finder module, still one clock module.
    let whole_module = (module_px * 0.6 * 2.0) as usize; // in half-pixel steps
    let missing_start = usize::from(
        merged
            .first()
            .is_some_and(|&(dark, n)| !dark && n >= whole_module),
    );
    merged.iter().filter(|(dark, _)| *dark).count() + missing_start
}

/// Fits the four outer edges (finder arms, clock tracks) to measured threshold
/// crossings and rebuilds the grid from their intersections.
fn refine(
    image: &Luma,
    size: SymbolSize,
    corners: [Point; 4],
    threshold: f64,
) -> Option<LocatedSymbol> {
    let (rows, cols) = (size.rows as f64, size.cols as f64);
    let module_corners = [
        Point::new(0.0, rows),
        Point::new(cols, rows),
        Point::new(cols, 0.0),
        Point::new(0.0, 0.0),
    ];
    let mut grid = Homography::from_quad(module_corners, corners)?;
    let mut corners = corners;
    for reach in [1.5, 0.7] {
        let mut left = Vec::new();
        let mut right = Vec::new();
        let mut top = Vec::new();
        let mut bottom = Vec::new();
        for r in 0..size.rows {
            let v = r as f64 + 0.5;
            left.extend(first_crossing(
                image,
                &grid,
                Point::new(-reach, v),
                Point::new(0.5, v),
                threshold,
            ));
            if r % 2 == 1 {
                right.extend(first_crossing(
                    image,
                    &grid,
                    Point::new(cols + reach, v),
                    Point::new(cols - 0.5, v),
                    threshold,
                ));
            }
        }
        for c in 0..size.cols {
            let u = c as f64 + 0.5;
            bottom.extend(first_crossing(
                image,
                &grid,
                Point::new(u, rows + reach),
                Point::new(u, rows - 0.5),
                threshold,
            ));
            if c % 2 == 0 {
                top.extend(first_crossing(
                    image,
                    &grid,
                    Point::new(u, -reach),
                    Point::new(u, 0.5),
                    threshold,
                ));
            }
        }
        let module_px = corners[0].distance(corners[1]) / cols;
        let lines = [
            robust_line(&left, module_px)?,
            robust_line(&bottom, module_px)?,
            robust_line(&right, module_px)?,
            robust_line(&top, module_px)?,
        ];
        let [l, b, r, t] = lines;
        let refined = [
            l.intersect(&b)?,
            b.intersect(&r)?,
            r.intersect(&t)?,
            t.intersect(&l)?,
        ];
        grid = Homography::from_quad(module_corners, refined)?;
        let moved = (0..4)
            .map(|k| corners[k].distance(refined[k]))
            .fold(0.0, f64::max);
        corners = refined;
        if moved < 0.2 * module_px {
            break;
        }
    }
    let module_px =
        (corners[0].distance(corners[1]) / cols + corners[0].distance(corners[3]) / rows) / 2.0;
    Some(LocatedSymbol {
        size,
        grid,
        corners,
        threshold,
        module_px,
    })
}

fn robust_line(points: &[Point], module_px: f64) -> Option<Line> {
    let line = Line::fit(points)?;
    let inliers: Vec<Point> = points
        .iter()
        .copied()
        .filter(|p| line.distance(*p) < 0.3 * module_px.max(1.0))
        .collect();
    if inliers.len() * 2 < points.len() || inliers.len() < 2 {
        return Some(line);
    }
    Line::fit(&inliers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vision::defects::rotate;
    use crate::vision::{EncodeOptions, encode_text};

    const CARTON: &str = "(01)09506000134352(17)270131(10)ABC123(21)SN0000001";

    fn cropped_symbol() -> image::GrayImage {
        match encode_text(CARTON, &EncodeOptions::default()) {
            Ok(symbol) => symbol.image,
            Err(e) => panic!("the test symbol does not encode: {e}"),
        }
    }

    fn luma(image: &image::GrayImage) -> Luma<'_> {
        Luma {
            pixels: image.as_raw(),
            width: image.width() as usize,
            height: image.height() as usize,
        }
    }

    #[test]
    fn cropped_fast_path_finds_the_grid_of_the_full_search() {
        let image = cropped_symbol();
        let mut fast_path_taken = false;
        let fast = locate_with(&luma(&image), CroppedFastPath::Try, Some);
        let searched = locate_with(&luma(&image), CroppedFastPath::Skip, Some);
        let (Some(fast), Some(searched)) = (fast, searched) else {
            panic!("a clean cropped symbol must be located by both paths");
        };
        assert_eq!(fast.size, searched.size);
        for (a, b) in fast.corners.iter().zip(&searched.corners) {
            assert!(a.distance(*b) < 0.05 * fast.module_px, "{a:?} vs {b:?}");
        }
        // The fast path itself accepts this image.
        let small = min_pool(&luma(&image), 3);
        let threshold = otsu_threshold(image.as_raw());
        if locate_filling_symbol(&luma(&image), &small, threshold, 3, &mut |l| {
            fast_path_taken = true;
            Some(l)
        })
        .is_none()
        {
            panic!("the fast path must accept an upright cropped symbol");
        }
        assert!(fast_path_taken);
    }

    #[test]
    fn rotated_cropped_symbol_is_left_to_the_full_search() {
        let image = rotate(&cropped_symbol(), 12.0);
        let view = luma(&image);
        let factor =
            (((view.width * view.height) as f64 / 8_000.0).sqrt().ceil() as usize).clamp(1, 8);
        let small = min_pool(&view, factor);
        let threshold = otsu_threshold(view.pixels);
        assert!(
            locate_filling_symbol(&view, &small, threshold, factor, &mut Some).is_none(),
            "the ink box of a rotated symbol is not its outline"
        );
        assert!(locate(&view).is_some(), "the full search still finds it");
    }

    /// Otsu's threshold from a plain histogram of every `step`-th pixel.
    fn reference_otsu(pixels: &[u8]) -> f64 {
        let step = (pixels.len() / 16_000).max(1);
        let mut histogram = [0u64; 256];
        for &p in pixels.iter().step_by(step) {
            histogram[p as usize] += 1;
        }
        let total: u64 = histogram.iter().sum();
        let sum_all: f64 = (0..256).map(|i| i as f64 * histogram[i] as f64).sum();
        let (mut weight_low, mut sum_low, mut best, mut best_t) = (0u64, 0.0, -1.0, 127.0);
        for (t, &n) in histogram.iter().enumerate() {
            weight_low += n;
            if weight_low == 0 {
                continue;
            }
            let weight_high = total - weight_low;
            if weight_high == 0 {
                break;
            }
            sum_low += t as f64 * n as f64;
            let (mean_low, mean_high) = (
                sum_low / weight_low as f64,
                (sum_all - sum_low) / weight_high as f64,
            );
            let between = weight_low as f64 * weight_high as f64 * (mean_low - mean_high).powi(2);
            if between > best {
                (best, best_t) = (between, (mean_low + mean_high) / 2.0);
            }
        }
        best_t
    }

    #[test]
    fn otsu_threshold_counts_every_sample_once() {
        for len in [1usize, 3, 4, 5, 7, 1000, 16_003, 40_001, 67_600] {
            let pixels: Vec<u8> = (0..len)
                .map(|i| {
                    if i % 5 < 2 {
                        30 + (i % 7) as u8
                    } else {
                        200 + (i % 11) as u8
                    }
                })
                .collect();
            assert_eq!(
                otsu_threshold(&pixels),
                reference_otsu(&pixels),
                "length {len}"
            );
        }
    }

    #[test]
    fn min_pool_keeps_the_darkest_pixel_of_each_block() {
        let (width, height) = (23usize, 17usize);
        let pixels: Vec<u8> = (0..width * height).map(|i| (i * 97 % 251) as u8).collect();
        let image = Luma {
            pixels: &pixels,
            width,
            height,
        };
        for factor in 2..=5 {
            let pooled = min_pool(&image, factor);
            let (w, h) = (width / factor, height / factor);
            assert_eq!((pooled.width, pooled.height), (w, h));
            for y in 0..h {
                for x in 0..w {
                    let expected = (0..factor * factor)
                        .map(|k| {
                            pixels[(factor * y + k / factor) * width + factor * x + k % factor]
                        })
                        .min();
                    assert_eq!(Some(pooled.pixels[y * w + x]), expected, "factor {factor}");
                }
            }
        }
    }
}
