//! GS1 DataMatrix: encode, render, decode and ISO/IEC 15415 grading. Pure functions
//! over images, no I/O (reading and writing files belongs to the callers).
//!
//! - [`encode`]: GS1 element string → ECC 200 symbol → grayscale image.
//! - [`defects`]: print-defect models for the simulator (fade, growth, dead nozzle…).
//! - [`decode`]: locate and decode a symbol in a camera frame, classify its content.
//! - [`grade`]: ISO/IEC 15415 print quality parameters and the overall grade.
//! - [`case_image`]: a case seen from above: render a frame of many codes, read
//!   every code in it, place by place.

pub mod case_image;
pub mod decode;
pub mod defects;
pub mod ecc200;
pub mod encode;
pub mod geometry;
pub mod grade;
pub mod locate;
pub mod render;
pub mod sampling;
pub mod types;

pub use decode::{DecodedSymbol, Gs1Content, NoRead, decode_image, decode_luma};
pub use encode::{EncodeOptions, EncodedSymbol, encode, encode_text};
pub use grade::{GradeOptions, GradeReport, grade};
pub use render::RenderOptions;
pub use types::{ModuleMatrix, Polarity, SymbolShape, VisionError};
