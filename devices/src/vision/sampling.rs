//! Reading reflectance through the module grid: aperture-averaged samples at module
//! centres and threshold crossings along lines in module coordinates.

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

    #[inline]
    pub fn at(&self, p: Point) -> f64 {
        sample_bilinear(self.pixels, self.width, self.height, p)
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

/// Mean gray level over a circular aperture of diameter `aperture_modules` (in module
/// units) centred on module coordinates (`u`, `v`), from a 3×3 (bilinear) or 4×4 (nearest pixel) pattern clipped to the circle.
pub fn aperture_mean(
    image: &Luma,
    grid: &Homography,
    u: f64,
    v: f64,
    aperture_modules: f64,
) -> f64 {
    let n: i32 = if aperture_modules > 0.5 { 4 } else { 3 };
    let step = aperture_modules / n as f64;
    let half = (n - 1) as f64 / 2.0;
    let radius_squared = (aperture_modules / 2.0).powi(2);
    // The grid is smooth over one module: map the centre once and step with the
    // local Jacobian instead of mapping every sample point.
    let centre = grid.map_uv(u, v);
    let along_u = grid.map_uv(u + 0.25, v);
    let along_v = grid.map_uv(u, v + 0.25);
    let (ux, uy) = ((along_u.x - centre.x) * 4.0, (along_u.y - centre.y) * 4.0);
    let (vx, vy) = ((along_v.x - centre.x) * 4.0, (along_v.y - centre.y) * 4.0);
    let (mut sum, mut count) = (0.0, 0u32);
    for j in 0..n {
        let dv = (j as f64 - half) * step;
        for i in 0..n {
            let du = (i as f64 - half) * step;
            // Circular aperture: keep the sample points inside the circle.
            if du * du + dv * dv <= radius_squared {
                sum += image.at(Point::new(
                    centre.x + du * ux + dv * vx,
                    centre.y + du * uy + dv * vy,
                ));
                count += 1;
            }
        }
    }
    sum / count.max(1) as f64
}

/// Aperture means at every module centre, row-major, plus a ring of `ring` quiet
/// zone modules around the symbol when `ring > 0` (returned separately, in order
/// left column, bottom row, top row, right column).
pub fn sample_modules(
    image: &Luma,
    grid: &Homography,
    rows: usize,
    cols: usize,
    aperture_modules: f64,
) -> Vec<f64> {
    let mut out = Vec::with_capacity(rows * cols);
    for r in 0..rows {
        for c in 0..cols {
            out.push(aperture_mean(
                image,
                grid,
                c as f64 + 0.5,
                r as f64 + 0.5,
                aperture_modules,
            ));
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
