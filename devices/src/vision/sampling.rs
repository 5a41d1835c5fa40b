//! Reading reflectance through the module grid: aperture-averaged samples at module
//! centres (a circular aperture whose sample offsets are computed once, interpolated
//! in fixed point) and threshold crossings along lines in module coordinates.

use super::geometry::{Homography, Point, sample_bilinear};

/// A borrowed 8-bit luma image.
#[derive(Debug, Clone, Copy)]
pub struct Luma<'a> {
    pub pixels: &'a [u8],
    pub width: usize,
    pub height: usize,
}

impl<'a> Luma<'a> {
    /// Wraps a buffer; `None` unless it holds exactly `width * height` bytes.
    pub fn new(pixels: &'a [u8], width: usize, height: usize) -> Option<Luma<'a>> {
        (width > 0 && height > 0 && pixels.len() == width * height).then_some(Luma {
            pixels,
            width,
            height,
        })
    }

    /// Bilinear gray level at `p` (pixel centres at half-integers), clamped to the
    /// image.
    #[inline(always)]
    pub fn at(&self, p: Point) -> f64 {
        let (x, y) = (p.x - 0.5, p.y - 0.5);
        // Interior points (all four neighbours inside): the same arithmetic as
        // `sample_bilinear` without its clamping.
        if x >= 0.0
            && y >= 0.0
            && x < (self.width - 1) as f64
            && y < (self.height - 1) as f64
            && let Some(value) = self.bilinear_interior(x, y)
        {
            return value;
        }
        sample_bilinear(self.pixels, self.width, self.height, p)
    }

    /// Bilinear interpolation at (`x`, `y`) in pixel-corner coordinates, for
    /// 0 ≤ x < width − 1 and 0 ≤ y < height − 1 (checked by the caller; `None`
    /// only if that was not so).
    #[inline(always)]
    fn bilinear_interior(&self, x: f64, y: f64) -> Option<f64> {
        // In range and non-negative: the i32 conversion is a plain truncation
        // (floor), cheaper than a saturating conversion to usize.
        let (x0, y0) = (x as i32 as usize, y as i32 as usize);
        let (fx, fy) = (x - x0 as f64, y - y0 as f64);
        let index = y0 * self.width + x0;
        let upper = self.pixels.get(index..index + 2)?;
        let lower = self
            .pixels
            .get(index + self.width..index + self.width + 2)?;
        let top = upper[0] as f64 * (1.0 - fx) + upper[1] as f64 * fx;
        let bottom = lower[0] as f64 * (1.0 - fx) + lower[1] as f64 * fx;
        Some(top * (1.0 - fy) + bottom * fy)
    }

    /// The pixel containing `p` (clamped to the image): cheaper than [`Luma::at`]
    /// where many samples are averaged anyway.
    #[inline]
    pub fn nearest(&self, p: Point) -> f64 {
        let x = (p.x.max(0.0) as usize).min(self.width - 1);
        let y = (p.y.max(0.0) as usize).min(self.height - 1);
        self.pixels[y * self.width + x] as f64
    }
}

/// Fixed-point scale of the aperture's bilinear weights (8 fractional bits).
const SUBPIXEL: f64 = 256.0;

/// The most sample points an [`Aperture`] uses (a 4×4 pattern).
const MAX_APERTURE_POINTS: usize = 16;

/// A circular sampling aperture of a given diameter (in module units): the sample
/// offsets of a 3×3 (diameter ≤ 0.5 X) or 4×4 pattern clipped to the circle,
/// computed once and reused for every module.
#[derive(Debug, Clone, Copy)]
pub struct Aperture {
    /// (du, dv) offsets from the module centre, in module units, in sampling order.
    offsets: [(f64, f64); MAX_APERTURE_POINTS],
    count: usize,
}

impl Aperture {
    /// An aperture of diameter `aperture_modules` (in module units, e.g. 0.8 X).
    pub fn new(aperture_modules: f64) -> Aperture {
        let n: i32 = if aperture_modules > 0.5 { 4 } else { 3 };
        let step = aperture_modules / n as f64;
        let half = (n - 1) as f64 / 2.0;
        let radius_squared = (aperture_modules / 2.0).powi(2);
        let mut offsets = [(0.0, 0.0); MAX_APERTURE_POINTS];
        let mut count = 0;
        for j in 0..n {
            let dv = (j as f64 - half) * step;
            for i in 0..n {
                let du = (i as f64 - half) * step;
                // Circular aperture: keep the sample points inside the circle.
                if du * du + dv * dv <= radius_squared {
                    offsets[count] = (du, dv);
                    count += 1;
                }
            }
        }
        Aperture { offsets, count }
    }

    /// Mean gray level through the aperture centred on module coordinates (`u`, `v`).
    pub fn mean(&self, image: &Luma, grid: &Homography, u: f64, v: f64) -> f64 {
        // The grid is smooth over one module: map the centre once and step with the
        // local Jacobian instead of mapping every sample point.
        let centre = grid.map_uv(u, v);
        let along_u = grid.map_uv(u + 0.25, v);
        let along_v = grid.map_uv(u, v + 0.25);
        let (ux, uy) = ((along_u.x - centre.x) * 4.0, (along_u.y - centre.y) * 4.0);
        let (vx, vy) = ((along_v.x - centre.x) * 4.0, (along_v.y - centre.y) * 4.0);
        let (x_limit, y_limit) = ((image.width - 1) as f64, (image.height - 1) as f64);
        // Interior sample points are interpolated in fixed point (1/256 pixel
        // weights); points near the image border go through `Luma::at`.
        let (mut fixed_sum, mut sum) = (0u32, 0.0);
        for &(du, dv) in &self.offsets[..self.count] {
            let p = Point::new(centre.x + du * ux + dv * vx, centre.y + du * uy + dv * vy);
            let (x, y) = (p.x - 0.5, p.y - 0.5);
            if x >= 0.0 && y >= 0.0 && x < x_limit && y < y_limit {
                let (xs, ys) = ((x * SUBPIXEL) as i32, (y * SUBPIXEL) as i32);
                let (fx, fy) = ((xs & 0xff) as u32, (ys & 0xff) as u32);
                let index = (ys >> 8) as usize * image.width + (xs >> 8) as usize;
                if let (Some(upper), Some(lower)) = (
                    image.pixels.get(index..index + 2),
                    image
                        .pixels
                        .get(index + image.width..index + image.width + 2),
                ) {
                    let top = upper[0] as u32 * (256 - fx) + upper[1] as u32 * fx;
                    let bottom = lower[0] as u32 * (256 - fx) + lower[1] as u32 * fx;
                    // At most 255 · 2^16 per point, 16 points: fits in u32.
                    fixed_sum += top * (256 - fy) + bottom * fy;
                    continue;
                }
            }
            sum += image.at(p);
        }
        sum += fixed_sum as f64 / (SUBPIXEL * SUBPIXEL);
        sum / self.count.max(1) as f64
    }
}

/// Mean gray level over a circular aperture of diameter `aperture_modules` (in module
/// units) centred on module coordinates (`u`, `v`); see [`Aperture`] (build one
/// [`Aperture`] instead when sampling many modules).
pub fn aperture_mean(
    image: &Luma,
    grid: &Homography,
    u: f64,
    v: f64,
    aperture_modules: f64,
) -> f64 {
    Aperture::new(aperture_modules).mean(image, grid, u, v)
}

/// Aperture means at every module centre, row-major.
pub fn sample_modules(
    image: &Luma,
    grid: &Homography,
    rows: usize,
    cols: usize,
    aperture_modules: f64,
) -> Vec<f64> {
    let aperture = Aperture::new(aperture_modules);
    let mut out = Vec::with_capacity(rows * cols);
    for r in 0..rows {
        for c in 0..cols {
            out.push(aperture.mean(image, grid, c as f64 + 0.5, r as f64 + 0.5));
        }
    }
    out
}

/// Where the gray level first crosses `threshold` on the straight path from `from`
/// to `to` (module coordinates), as a pixel position; `None` if it never does.
pub fn first_crossing(
    image: &Luma,
    grid: &Homography,
    from: Point,
    to: Point,
    threshold: f64,
) -> Option<Point> {
    let (p0, p1) = (grid.map(from), grid.map(to));
    let length = p0.distance(p1);
    let steps = (length.ceil() as usize).clamp(4, 2000);
    let mut previous = image.at(p0);
    let start_light = previous > threshold;
    for k in 1..=steps {
        let t = k as f64 / steps as f64;
        let p = p0.lerp(p1, t);
        let value = image.at(p);
        if (value > threshold) != start_light {
            let t_prev = (k - 1) as f64 / steps as f64;
            let fraction = if (value - previous).abs() > 1e-9 {
                (threshold - previous) / (value - previous)
            } else {
                0.5
            };
            return Some(p0.lerp(p1, t_prev + fraction.clamp(0.0, 1.0) / steps as f64));
        }
        previous = value;
    }
    None
}

/// The value at fraction `q` (0..=1) of the sorted values.
pub fn percentile(values: &[f64], q: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut copy = values.to_vec();
    let index =
        (((copy.len() - 1) as f64 * q.clamp(0.0, 1.0)).round() as usize).min(copy.len() - 1);
    *copy.select_nth_unstable_by(index, f64::total_cmp).1
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The aperture mean computed point by point with floating-point bilinear samples.
    fn reference_mean(image: &Luma, grid: &Homography, u: f64, v: f64, aperture: f64) -> f64 {
        let n: i32 = if aperture > 0.5 { 4 } else { 3 };
        let step = aperture / n as f64;
        let half = (n - 1) as f64 / 2.0;
        let (mut sum, mut count) = (0.0, 0);
        for j in 0..n {
            for i in 0..n {
                let (du, dv) = ((i as f64 - half) * step, (j as f64 - half) * step);
                if du * du + dv * dv <= (aperture / 2.0).powi(2) {
                    sum += image.at(grid.map_uv(u + du, v + dv));
                    count += 1;
                }
            }
        }
        sum / count as f64
    }

    #[test]
    fn aperture_mean_matches_floating_point_sampling() {
        let (width, height) = (64usize, 48usize);
        // Steep but continuous gray levels (ink edges are a few pixels wide).
        let pixels: Vec<u8> = (0..width * height)
            .map(|i| {
                let (x, y) = ((i % width) as f64, (i / width) as f64);
                (128.0 + 100.0 * (x * 0.9).sin() * (y * 0.6).cos()).round() as u8
            })
            .collect();
        let image = Luma::new(&pixels, width, height).unwrap_or_else(|| panic!("bad test image"));
        // 5.3 px modules, rotated and offset, reaching past the image border.
        let Some(grid) = Homography::from_quad(
            [
                Point::new(0.0, 0.0),
                Point::new(10.0, 0.0),
                Point::new(10.0, 10.0),
                Point::new(0.0, 10.0),
            ],
            [
                Point::new(-3.0, 2.0),
                Point::new(49.0, 13.0),
                Point::new(40.0, 64.0),
                Point::new(-12.0, 53.0),
            ],
        ) else {
            panic!("the test quad is not degenerate");
        };
        for aperture_modules in [0.4, 0.8] {
            let aperture = Aperture::new(aperture_modules);
            for row in 0..10 {
                for col in 0..10 {
                    let (u, v) = (col as f64 + 0.5, row as f64 + 0.5);
                    let fast = aperture.mean(&image, &grid, u, v);
                    let reference = reference_mean(&image, &grid, u, v, aperture_modules);
                    assert!(
                        (fast - reference).abs() < 0.5,
                        "module ({col}, {row}), aperture {aperture_modules}: {fast} vs {reference}"
                    );
                }
            }
        }
    }

    #[test]
    fn apertures_use_the_iso_sample_patterns() {
        // 0.8 X: a 4×4 pattern without its corners; 0.4 X: the full 3×3 pattern.
        assert_eq!(Aperture::new(0.8).count, 12);
        assert_eq!(Aperture::new(0.4).count, 9);
    }
}
