//! Smart camera speaking a DMCC-style protocol (decoded data, symbology
//! identifier and ISO/IEC 15415 grade per trigger): the wire codec (both
//! directions) and the `Camera` driver.

pub mod codec;
pub mod driver;

pub use codec::{DmccCodecError, DmccCommand, DmccMessage, DmccRequest, DmccStatus};
pub use driver::DmccCamera;
