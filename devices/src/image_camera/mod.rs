//! Image camera streaming framed grayscale images: the frame codec (both
//! directions) and the `Camera` driver, which decodes and grades every image
//! with the vision module.

pub mod analysis;
pub mod driver;
pub mod frame;

pub use driver::ImageCamera;
pub use frame::{FrameError, GrayImage, ImageFrame};
