//! Plane geometry for locating and sampling symbols: points, least-squares lines,
//! homographies (module coordinates ↔ pixels), convex hulls and minimum-area
//! rectangles, and bilinear sampling of a luma buffer.

/// A point in pixels (or in module units, depending on context).
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize)]
pub struct Point {
    pub x: f64,
    pub y: f64,
}

impl Point {
    pub const fn new(x: f64, y: f64) -> Point {
        Point { x, y }
    }
    pub fn distance(self, other: Point) -> f64 {
        ((self.x - other.x).powi(2) + (self.y - other.y).powi(2)).sqrt()
    }
    pub fn lerp(self, other: Point, t: f64) -> Point {
        Point::new(
            self.x + (other.x - self.x) * t,
            self.y + (other.y - self.y) * t,
        )
    }
}

/// A line `a·x + b·y = c` with `a² + b² = 1`.
#[derive(Debug, Clone, Copy)]
pub struct Line {
    pub a: f64,
    pub b: f64,
    pub c: f64,
}

impl Line {
    /// Total least-squares line through `points` (at least two distinct points).
    pub fn fit(points: &[Point]) -> Option<Line> {
        if points.len() < 2 {
            return None;
        }
        let n = points.len() as f64;
        let mx = points.iter().map(|p| p.x).sum::<f64>() / n;
        let my = points.iter().map(|p| p.y).sum::<f64>() / n;
        let (mut sxx, mut syy, mut sxy) = (0.0, 0.0, 0.0);
        for p in points {
            let (dx, dy) = (p.x - mx, p.y - my);
            sxx += dx * dx;
            syy += dy * dy;
            sxy += dx * dy;
        }
        // Direction of the largest eigenvector; the normal is perpendicular.
        let angle = 0.5 * (2.0 * sxy).atan2(sxx - syy);
        let (a, b) = (-angle.sin(), angle.cos());
        if !(a.is_finite() && b.is_finite()) {
            return None;
        }
        Some(Line {
            a,
            b,
            c: a * mx + b * my,
        })
    }

    pub fn intersect(&self, other: &Line) -> Option<Point> {
        let det = self.a * other.b - self.b * other.a;
        if det.abs() < 1e-9 {
            return None;
        }
        Some(Point::new(
            (self.c * other.b - self.b * other.c) / det,
            (self.a * other.c - self.c * other.a) / det,
        ))
    }

    pub fn distance(&self, p: Point) -> f64 {
        (self.a * p.x + self.b * p.y - self.c).abs()
    }
}

/// A projective map from module coordinates (u right, v down) to pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Homography {
    m: [f64; 9],
}

impl Homography {
    /// The map sending `from[i]` to `to[i]` for four point pairs, if they are in
    /// general position.
    pub fn from_quad(from: [Point; 4], to: [Point; 4]) -> Option<Homography> {
        let mut a = [[0.0f64; 9]; 8];
        for i in 0..4 {
            let (u, v) = (from[i].x, from[i].y);
            let (x, y) = (to[i].x, to[i].y);
            a[2 * i] = [u, v, 1.0, 0.0, 0.0, 0.0, -u * x, -v * x, x];
            a[2 * i + 1] = [0.0, 0.0, 0.0, u, v, 1.0, -u * y, -v * y, y];
        }
        let h = solve_8x8(a)?;
        Some(Homography {
            m: [h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7], 1.0],
        })
    }

    pub fn map(&self, p: Point) -> Point {
        let m = &self.m;
        let w = m[6] * p.x + m[7] * p.y + m[8];
        let w = if w.abs() < 1e-12 { 1e-12 } else { w };
        Point::new(
            (m[0] * p.x + m[1] * p.y + m[2]) / w,
            (m[3] * p.x + m[4] * p.y + m[5]) / w,
        )
    }

    pub fn map_uv(&self, u: f64, v: f64) -> Point {
        self.map(Point::new(u, v))
    }
}

fn solve_8x8(mut a: [[f64; 9]; 8]) -> Option<[f64; 8]> {
    for col in 0..8 {
        let pivot = (col..8).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[pivot][col].abs() < 1e-12 {
            return None;
        }
        a.swap(col, pivot);
        let pivot_row = a[col];
        for (row, target) in a.iter_mut().enumerate() {
            if row != col {
                let factor = target[col] / pivot_row[col];
                if factor != 0.0 {
                    for (t, p) in target.iter_mut().zip(pivot_row.iter()).skip(col) {
                        *t -= factor * p;
                    }
                }
            }
        }
    }
    let mut x = [0.0; 8];
    for i in 0..8 {
        x[i] = a[i][8] / a[i][i];
    }
    Some(x)
}

/// Convex hull (counter-clockwise in image coordinates with y down) by monotone chain.
pub fn convex_hull(mut points: Vec<Point>) -> Vec<Point> {
    points.sort_by(|p, q| p.x.total_cmp(&q.x).then(p.y.total_cmp(&q.y)));
    points.dedup();
    if points.len() < 3 {
        return points;
    }
    let cross =
        |o: Point, a: Point, b: Point| (a.x - o.x) * (b.y - o.y) - (a.y - o.y) * (b.x - o.x);
    let mut hull: Vec<Point> = Vec::with_capacity(points.len() * 2);
    for &p in &points {
        while hull.len() >= 2 && cross(hull[hull.len() - 2], hull[hull.len() - 1], p) <= 0.0 {
            hull.pop();
        }
        hull.push(p);
    }
    let lower_len = hull.len() + 1;
    for &p in points.iter().rev().skip(1) {
        while hull.len() >= lower_len && cross(hull[hull.len() - 2], hull[hull.len() - 1], p) <= 0.0
        {
            hull.pop();
        }
        hull.push(p);
    }
    hull.pop();
    hull
}

/// The minimum-area enclosing rectangle of a convex polygon: its four corners in
/// order around the rectangle.
pub fn min_area_rectangle(hull: &[Point]) -> Option<[Point; 4]> {
    if hull.len() < 3 {
        return None;
    }
    let mut best: Option<(f64, [Point; 4])> = None;
    for i in 0..hull.len() {
        let (p, q) = (hull[i], hull[(i + 1) % hull.len()]);
        let len = p.distance(q);
        if len < 1e-9 {
            continue;
        }
        let (ux, uy) = ((q.x - p.x) / len, (q.y - p.y) / len);
        let (vx, vy) = (-uy, ux);
        let (mut min_u, mut max_u, mut min_v, mut max_v) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for h in hull {
            let du = (h.x - p.x) * ux + (h.y - p.y) * uy;
            let dv = (h.x - p.x) * vx + (h.y - p.y) * vy;
            min_u = min_u.min(du);
            max_u = max_u.max(du);
            min_v = min_v.min(dv);
            max_v = max_v.max(dv);
        }
        let area = (max_u - min_u) * (max_v - min_v);
        if best.as_ref().is_none_or(|(a, _)| area < *a) {
            let corner = |u: f64, v: f64| Point::new(p.x + u * ux + v * vx, p.y + u * uy + v * vy);
            best = Some((
                area,
                [
                    corner(min_u, min_v),
                    corner(max_u, min_v),
                    corner(max_u, max_v),
                    corner(min_u, max_v),
                ],
            ));
        }
    }
    best.map(|(_, r)| r)
}

/// Bilinear sample of an 8-bit luma buffer at a pixel position (pixel centres at
/// integer + 0.5); positions outside the image clamp to the border.
#[inline]
pub fn sample_bilinear(luma: &[u8], width: usize, height: usize, p: Point) -> f64 {
    let x = (p.x - 0.5).clamp(0.0, (width - 1) as f64);
    let y = (p.y - 0.5).clamp(0.0, (height - 1) as f64);
    // Both are clamped to be non-negative, so truncation is floor (and avoids a
    // libm call on targets without SSE4.1).
    let (x0, y0) = (x as usize, y as usize);
    let (x1, y1) = ((x0 + 1).min(width - 1), (y0 + 1).min(height - 1));
    let (fx, fy) = (x - x0 as f64, y - y0 as f64);
    let at = |xx: usize, yy: usize| luma[yy * width + xx] as f64;
    let top = at(x0, y0) * (1.0 - fx) + at(x1, y0) * fx;
    let bottom = at(x0, y1) * (1.0 - fx) + at(x1, y1) * fx;
    top * (1.0 - fy) + bottom * fy
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn homography_maps_its_quad() {
        let from = [
            Point::new(0.0, 0.0),
            Point::new(10.0, 0.0),
            Point::new(10.0, 10.0),
            Point::new(0.0, 10.0),
        ];
        let to = [
            Point::new(5.0, 7.0),
            Point::new(50.0, 9.0),
            Point::new(55.0, 60.0),
            Point::new(2.0, 52.0),
        ];
        let h = Homography::from_quad(from, to).unwrap();
        for i in 0..4 {
            assert!(h.map(from[i]).distance(to[i]) < 1e-6);
        }
    }

    #[test]
    fn rectangle_of_a_rotated_square() {
        let a = 0.3f64;
        let pts: Vec<Point> = [
            (0.0, 0.0),
            (10.0, 0.0),
            (10.0, 10.0),
            (0.0, 10.0),
            (5.0, 5.0),
        ]
        .iter()
        .map(|&(x, y)| Point::new(x * a.cos() - y * a.sin(), x * a.sin() + y * a.cos()))
        .collect();
        let r = min_area_rectangle(&convex_hull(pts)).unwrap();
        assert!((r[0].distance(r[1]) - 10.0).abs() < 1e-6);
    }
}
