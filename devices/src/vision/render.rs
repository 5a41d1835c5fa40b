//! Rendering a module matrix to an 8-bit grayscale image: module size in pixels,
//! quiet zone in modules, polarity.

use image::GrayImage;

use super::types::{ModuleMatrix, Polarity};

/// Gray level of ink and of the substrate in rendered images.
pub const DARK_LEVEL: u8 = 0;
pub const LIGHT_LEVEL: u8 = 255;

/// How to draw modules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RenderOptions {
    /// Pixels per module (X dimension), at least 1.
    pub module_px: u32,
    /// Quiet zone on every side, in modules.
    pub quiet_zone_modules: u32,
    pub polarity: Polarity,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            module_px: 10,
            quiet_zone_modules: 2,
            polarity: Polarity::DarkOnLight,
        }
    }
}

/// Draws `matrix` as square modules.
pub fn render(matrix: &ModuleMatrix, options: &RenderOptions) -> GrayImage {
    let px = options.module_px.max(1) as usize;
    let quiet = options.quiet_zone_modules as usize * px;
    let width = matrix.cols * px + 2 * quiet;
    let height = matrix.rows * px + 2 * quiet;
    let (ink, substrate) = match options.polarity {
        Polarity::DarkOnLight => (DARK_LEVEL, LIGHT_LEVEL),
        Polarity::LightOnDark => (LIGHT_LEVEL, DARK_LEVEL),
    };
    let mut pixels = vec![substrate; width * height];
    let mut row_buffer = vec![substrate; width];
    for row in 0..matrix.rows {
        for col in 0..matrix.cols {
            let value = if matrix.get(row, col) { ink } else { substrate };
            let start = quiet + col * px;
            row_buffer[start..start + px].fill(value);
        }
        for y in 0..px {
            let offset = (quiet + row * px + y) * width;
            pixels[offset..offset + width].copy_from_slice(&row_buffer);
        }
    }
    // Dimensions come from a matrix of at most 144 modules and a caller-chosen
    // module size; the buffer length matches width * height by construction.
    GrayImage::from_raw(width as u32, height as u32, pixels).unwrap_or_default()
}
