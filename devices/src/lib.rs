//! Device drivers and wire codecs for the station's equipment (printers, cameras,
//! PLC I/O), and the vision module that encodes, renders, decodes and grades
//! GS1 DataMatrix symbols. Wire codecs and vision are pure functions; drivers do
//! the I/O.

pub mod vision;
