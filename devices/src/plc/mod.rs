//! The station PLC over Modbus/TCP: the register map (shared with the simulated
//! PLC), the pure fate cursor (which fates to read and report next) and the
//! `LineIo` driver that does the Modbus I/O.

pub mod case_packer;
pub mod case_packer_link;
pub mod driver;
pub mod fate_cursor;
pub mod register_map;

pub use driver::{ModbusPlc, PlcConfig};
