//! Zebra-style label printer over raw TCP (port 9100 on real printers): label
//! and host-status codecs (both directions), the logistic (container) label
//! codec (`logistic`), the pure inference of which labels
//! printed (`print_inference`), and the `Printer` driver.

pub mod driver;
pub mod host_status;
pub mod label;
pub mod logistic;
pub mod print_inference;

pub use driver::{LabelLayout, ZplPrinter};
pub use host_status::{HostStatus, HostStatusError};
pub use label::{ZplCommand, ZplError, ZplLabel};
pub use logistic::LogisticLabelFormat;
