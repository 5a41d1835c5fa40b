//! Image camera streaming framed grayscale images: the frame codec (both
//! directions) and the `Camera` driver, which decodes and grades every image
//! with the vision module; [`snapshot`] takes one picture on demand (the case
//! camera).

pub mod analysis;
pub mod driver;
pub mod frame;
pub mod snapshot;

pub use driver::ImageCamera;
pub use frame::{FrameError, GrayImage, ImageFrame};
