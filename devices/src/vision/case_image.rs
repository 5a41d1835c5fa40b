//! A case seen from above by the case camera: packs standing in a grid
//! ([`CaseLayout`], rows × columns over the frame), each with its code on top.
//! [`render_case`] draws such a frame (the simulator's case camera);
//! [`read_case`] reads every code in one frame (the station's case station).
//!
//! Every grid cell is read on its own, as case-inspection systems do with one
//! region of interest per pack position: a code is attributed to its place in the
//! case, an empty place is told apart from an unreadable code, and one bad code
//! costs one cell, never the frame. Pure: images in, results out.

use image::GrayImage;

use super::decode::{DecodedSymbol, NoRead, decode_luma};
use super::defects::{SeededRng, place_in_frame};
use super::encode::{EncodeOptions, encode_text};
use super::types::VisionError;

/// Gray of the case's top (cardboard and pack lids) where no code is printed.
pub const CASE_BACKGROUND: u8 = 200;

/// A cell whose darkest and lightest pixels differ by less than this holds no code.
const EMPTY_CONTRAST: u8 = 40;

/// How the packs stand in the frame: `rows × cols` cells of equal size covering a
/// `width × height` frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaseLayout {
    pub rows: u32,
    pub cols: u32,
    pub width: u32,
    pub height: u32,
}

impl CaseLayout {
    /// The case camera's usual frame (2448 × 2048, 5 MP) over `rows × cols` packs.
    pub fn five_megapixel(rows: u32, cols: u32) -> CaseLayout {
        CaseLayout {
            rows,
            cols,
            width: 2448,
            height: 2048,
        }
    }

    /// Places in the case.
    pub fn cells(&self) -> usize {
        self.rows as usize * self.cols as usize
    }

    /// Pixel rectangle (x, y, width, height) of cell `index` (row-major).
    pub fn cell_rect(&self, index: usize) -> (u32, u32, u32, u32) {
        let (row, col) = (index as u32 / self.cols, index as u32 % self.cols);
        let (w, h) = (self.width / self.cols, self.height / self.rows);
        (col * w, row * h, w, h)
    }

    fn check(&self) -> Result<(), VisionError> {
        if self.rows == 0 || self.cols == 0 || self.width < self.cols || self.height < self.rows {
            return Err(VisionError::InvalidOption(format!(
                "a case layout of {} × {} cells cannot cover a {} × {} frame",
                self.rows, self.cols, self.width, self.height
            )));
        }
        Ok(())
    }
}

/// What one place of the case shows.
#[derive(Debug, Clone)]
pub enum CellRead {
    /// A code, decoded.
    Code(Box<DecodedSymbol>),
    /// Something is there but no code could be read.
    Unreadable(NoRead),
    /// Nothing printed in this place (no pack, or a blank lid).
    Empty,
}

impl CellRead {
    /// The decoded text (GS1 element string as scanned, `]d2…`), if any.
    pub fn text(&self) -> Option<&str> {
        match self {
            CellRead::Code(symbol) => Some(&symbol.text),
            _ => None,
        }
    }
}

/// Draws a case frame: `codes[i]` (GS1 data in any read form) printed in cell `i`
/// with `module_px` pixels per module, each placed with a small seeded offset and
/// rotation as packs stand in a real case; `None` leaves the place empty.
pub fn render_case(
    layout: &CaseLayout,
    codes: &[Option<String>],
    module_px: u32,
    seed: u64,
) -> Result<GrayImage, VisionError> {
    layout.check()?;
    if codes.len() > layout.cells() {
        return Err(VisionError::InvalidOption(format!(
            "{} codes do not fit a case of {} places",
            codes.len(),
            layout.cells()
        )));
    }
    let mut frame =
        GrayImage::from_pixel(layout.width, layout.height, image::Luma([CASE_BACKGROUND]));
    let mut rng = SeededRng::new(seed);
    let mut options = EncodeOptions::default();
    options.render.module_px = module_px.max(1);
    for (index, code) in codes.iter().enumerate() {
        let Some(code) = code else { continue };
        let symbol = encode_text(code, &options)?.image;
        let (x, y, w, h) = layout.cell_rect(index);
        if symbol.width() * 10 > w * 9 || symbol.height() * 10 > h * 9 {
            return Err(VisionError::InvalidOption(format!(
                "a {}×{} px code does not fit a {w}×{h} px place: use fewer pixels per module",
                symbol.width(),
                symbol.height()
            )));
        }
        let slack_x = f64::from(w - symbol.width()) / 4.0;
        let slack_y = f64::from(h - symbol.height()) / 4.0;
        let centre_x = f64::from(w) / 2.0 + (rng.unit() - 0.5) * slack_x;
        let centre_y = f64::from(h) / 2.0 + (rng.unit() - 0.5) * slack_y;
        let degrees = (rng.unit() - 0.5) * 6.0;
        let cell = place_in_frame(
            &symbol,
            w,
            h,
            centre_x,
            centre_y,
            degrees,
            CASE_BACKGROUND,
            2.0,
            rng.next_u64(),
        );
        image::imageops::replace(&mut frame, &cell, i64::from(x), i64::from(y));
    }
    Ok(frame)
}

/// Reads every place of a case frame, in cell order.
pub fn read_case(frame: &GrayImage, layout: &CaseLayout) -> Result<Vec<CellRead>, VisionError> {
    layout.check()?;
    if frame.width() != layout.width || frame.height() != layout.height {
        return Err(VisionError::InvalidOption(format!(
            "the frame is {} × {}, the layout expects {} × {}",
            frame.width(),
            frame.height(),
            layout.width,
            layout.height
        )));
    }
    let mut cell_pixels = Vec::new();
    Ok((0..layout.cells())
        .map(|index| {
            let (x, y, w, h) = layout.cell_rect(index);
            cell_pixels.clear();
            let (mut darkest, mut lightest) = (u8::MAX, u8::MIN);
            for row in y..y + h {
                let start = (row * layout.width + x) as usize;
                let line = &frame.as_raw()[start..start + w as usize];
                for &p in line {
                    darkest = darkest.min(p);
                    lightest = lightest.max(p);
                }
                cell_pixels.extend_from_slice(line);
            }
            if lightest.saturating_sub(darkest) < EMPTY_CONTRAST {
                return CellRead::Empty;
            }
            match decode_luma(&cell_pixels, w as usize, h as usize) {
                Ok(symbol) => CellRead::Code(Box::new(symbol)),
                Err(e) => CellRead::Unreadable(e),
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(i: usize) -> String {
        format!("(01)09506000134352(17)301231(10)B1(21)S{i:05}")
    }

    #[test]
    fn every_code_of_a_case_is_read_in_its_place() {
        let layout = CaseLayout {
            rows: 3,
            cols: 4,
            width: 1224,
            height: 1024,
        };
        let mut codes: Vec<Option<String>> = (0..12).map(|i| Some(code(i))).collect();
        codes[5] = None;
        let frame = render_case(&layout, &codes, 8, 7).unwrap();
        let reads = read_case(&frame, &layout).unwrap();
        assert_eq!(reads.len(), 12);
        for (i, read) in reads.iter().enumerate() {
            if i == 5 {
                assert!(matches!(read, CellRead::Empty), "{read:?}");
                continue;
            }
            let text = read.text().unwrap_or_else(|| panic!("cell {i}: {read:?}"));
            assert!(text.ends_with(&format!("S{i:05}")), "cell {i}: {text}");
        }
    }

    #[test]
    fn a_smudged_code_costs_its_cell_only() {
        let layout = CaseLayout {
            rows: 1,
            cols: 2,
            width: 600,
            height: 300,
        };
        let codes = vec![Some(code(1)), Some(code(2))];
        let mut frame = render_case(&layout, &codes, 8, 1).unwrap();
        // Ink over the middle of the second code.
        for y in 100..200 {
            for x in 380..520 {
                frame.put_pixel(x, y, image::Luma([20]));
            }
        }
        let reads = read_case(&frame, &layout).unwrap();
        assert!(reads[0].text().is_some(), "{:?}", reads[0]);
        assert!(
            matches!(reads[1], CellRead::Unreadable(_)),
            "{:?}",
            reads[1]
        );
    }

    #[test]
    fn a_layout_that_cannot_hold_the_codes_is_refused() {
        let layout = CaseLayout::five_megapixel(6, 8);
        let codes: Vec<Option<String>> = (0..49).map(|i| Some(code(i))).collect();
        assert!(render_case(&layout, &codes, 8, 1).is_err());
        assert!(
            render_case(&layout, &codes[..48], 60, 1).is_err(),
            "too large"
        );
        let wrong = GrayImage::new(100, 100);
        assert!(read_case(&wrong, &layout).is_err());
    }
}
