//! Geometry of the printed grid: module centres measured along the clock tracks
//! and edge points along the finder, a least-squares affine reference grid, axial
//! non-uniformity (ANU), grid non-uniformity (GNU) and print growth.

use crate::vision::geometry::{Homography, Point};
use crate::vision::sampling::{Luma, first_crossing};

/// Grid measurements of one scan.
#[derive(Debug, Clone, Copy)]
pub struct GridMeasurement {
    pub axial_nonuniformity: f64,
    pub grid_nonuniformity: f64,
    /// Growth of dark modules as a fraction of X along the columns (top clock track).
    pub print_growth_horizontal: f64,
    /// Growth of dark modules as a fraction of X along the rows (right clock track).
    pub print_growth_vertical: f64,
}

/// Transition positions along a clock track between module `k` and `k + 1`.
fn clock_transitions(
    image: &Luma,
    grid: &Homography,
    threshold: f64,
    count: usize,
    at: impl Fn(f64) -> Point,
) -> Vec<Option<Point>> {
    (1..count)
        .map(|b| {
            first_crossing(
                image,
                grid,
                at(b as f64 - 0.5),
                at(b as f64 + 0.5),
                threshold,
            )
        })
        .collect()
}

/// `centres[k]` = measured centre of module k (between its two transitions), and the
/// dark/light widths in pixels.
fn centres_and_widths(
    transitions: &[Option<Point>],
    first_dark: usize,
) -> (Vec<(usize, Point)>, Vec<f64>, Vec<f64>) {
    let mut centres = Vec::new();
    let (mut dark, mut light) = (Vec::new(), Vec::new());
    for k in 1..transitions.len() {
        if let (Some(a), Some(b)) = (transitions[k - 1], transitions[k]) {
            centres.push((k, a.lerp(b, 0.5)));
            let width = a.distance(b);
            if k % 2 == first_dark {
                dark.push(width)
            } else {
                light.push(width)
            }
        }
    }
    (centres, dark, light)
}

fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

pub fn measure(
    image: &Luma,
    grid: &Homography,
    rows: usize,
    cols: usize,
    threshold: f64,
) -> Option<GridMeasurement> {
    let (rows_f, cols_f) = (rows as f64, cols as f64);
    let top = clock_transitions(image, grid, threshold, cols, |u| Point::new(u, 0.5));
    let right = clock_transitions(image, grid, threshold, rows, |v| {
        Point::new(cols_f - 0.5, v)
    });
    // Top clock: column c dark when c is even. Right clock: row r dark when r is odd.
    let (top_centres, top_dark, top_light) = centres_and_widths(&top, 0);
    let (right_centres, right_dark, right_light) = centres_and_widths(&right, 1);

    // Nominal module-coordinate positions and measured pixel positions.
    let mut pairs: Vec<(Point, Point)> = Vec::new();
    pairs.extend(
        top_centres
            .iter()
            .map(|&(c, p)| (Point::new(c as f64 + 0.5, 0.5), p)),
    );
    pairs.extend(
        right_centres
            .iter()
            .map(|&(r, p)| (Point::new(cols_f - 0.5, r as f64 + 0.5), p)),
    );
    let affine = fit_affine(&pairs)?;
    let x_pitch = ((affine[0]).powi(2) + (affine[3]).powi(2)).sqrt();
    let y_pitch = ((affine[1]).powi(2) + (affine[4]).powi(2)).sqrt();
    let pitch = (x_pitch + y_pitch) / 2.0;
    if pitch <= 0.0 {
        return None;
    }
    let growth_h = match (mean(&top_dark), mean(&top_light)) {
        (Some(d), Some(l)) => (d - l) / (2.0 * x_pitch),
        _ => 0.0,
    };
    let growth_v = match (mean(&right_dark), mean(&right_light)) {
        (Some(d), Some(l)) => (d - l) / (2.0 * y_pitch),
        _ => 0.0,
    };
    // Finder edges, moved inward by half the growth so they sit on the nominal grid.
    for r in 0..rows {
        let v = r as f64 + 0.5;
        if let Some(p) = first_crossing(
            image,
            grid,
            Point::new(-0.7, v),
            Point::new(0.5, v),
            threshold,
        ) {
            let inward = (affine[0] / x_pitch, affine[3] / x_pitch);
            let shift = growth_h * x_pitch / 2.0;
            pairs.push((
                Point::new(0.0, v),
                Point::new(p.x + inward.0 * shift, p.y + inward.1 * shift),
            ));
        }
    }
    for c in 0..cols {
        let u = c as f64 + 0.5;
        if let Some(p) = first_crossing(
            image,
            grid,
            Point::new(u, rows_f + 0.7),
            Point::new(u, rows_f - 0.5),
            threshold,
        ) {
            let inward = (-affine[1] / y_pitch, -affine[4] / y_pitch);
            let shift = growth_v * y_pitch / 2.0;
            pairs.push((
                Point::new(u, rows_f),
                Point::new(p.x + inward.0 * shift, p.y + inward.1 * shift),
            ));
        }
    }
    let affine = fit_affine(&pairs)?;
    let apply = |q: Point| {
        Point::new(
            affine[0] * q.x + affine[1] * q.y + affine[2],
            affine[3] * q.x + affine[4] * q.y + affine[5],
        )
    };
    let x_pitch = ((affine[0]).powi(2) + (affine[3]).powi(2)).sqrt();
    let y_pitch = ((affine[1]).powi(2) + (affine[4]).powi(2)).sqrt();
    let pitch = (x_pitch + y_pitch) / 2.0;
    let worst = pairs
        .iter()
        .map(|&(nominal, measured)| apply(nominal).distance(measured))
        .fold(0.0, f64::max);
    Some(GridMeasurement {
        axial_nonuniformity: (x_pitch - y_pitch).abs() / pitch,
        grid_nonuniformity: worst / pitch,
        print_growth_horizontal: growth_h,
        print_growth_vertical: growth_v,
    })
}

/// Least-squares affine map [a, b, c, d, e, f]: x = a·u + b·v + c, y = d·u + e·v + f.
fn fit_affine(pairs: &[(Point, Point)]) -> Option<[f64; 6]> {
    if pairs.len() < 3 {
        return None;
    }
    // Normal equations for (u, v, 1) -> x and -> y share the same 3x3 matrix.
    let mut m = [[0.0f64; 3]; 3];
    let (mut bx, mut by) = ([0.0f64; 3], [0.0f64; 3]);
    for (n, p) in pairs {
        let row = [n.x, n.y, 1.0];
        for i in 0..3 {
            for j in 0..3 {
                m[i][j] += row[i] * row[j];
            }
            bx[i] += row[i] * p.x;
            by[i] += row[i] * p.y;
        }
    }
    let x = solve3(m, bx)?;
    let y = solve3(m, by)?;
    Some([x[0], x[1], x[2], y[0], y[1], y[2]])
}

fn solve3(m: [[f64; 3]; 3], b: [f64; 3]) -> Option<[f64; 3]> {
    let det = |a: [[f64; 3]; 3]| {
        a[0][0] * (a[1][1] * a[2][2] - a[1][2] * a[2][1])
            - a[0][1] * (a[1][0] * a[2][2] - a[1][2] * a[2][0])
            + a[0][2] * (a[1][0] * a[2][1] - a[1][1] * a[2][0])
    };
    let d = det(m);
    if d.abs() < 1e-12 {
        return None;
    }
    let mut out = [0.0; 3];
    for (k, o) in out.iter_mut().enumerate() {
        let mut mk = m;
        for i in 0..3 {
            mk[i][k] = b[i];
        }
        *o = det(mk) / d;
    }
    Some(out)
}
