//! Zebra-style label printer over raw TCP (port 9100 on real printers): label
//! and host-status codecs (both directions) and the `Printer` driver.

pub mod driver;
pub mod host_status;
pub mod label;

pub use driver::{LabelLayout, ZplPrinter};
pub use host_status::{HostStatus, HostStatusError};
pub use label::{ZplCommand, ZplError, ZplLabel};
