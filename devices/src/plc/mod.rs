//! The station PLC over Modbus/TCP: the register map (shared with the simulated
//! PLC) and the `LineIo` driver.

pub mod driver;
pub mod register_map;

pub use driver::{ModbusPlc, PlcConfig};
