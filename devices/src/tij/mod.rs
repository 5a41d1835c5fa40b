//! TIJ/TTO printer speaking the serialization text protocol: the wire codec
//! (both directions) and the `Printer` driver.

pub mod codec;
pub mod driver;

pub use codec::{
    TijCodecError, TijCommand, TijErrorCode, TijErrorLevel, TijFault, TijReply, TijState, TijStatus,
};
pub use driver::TijPrinter;
