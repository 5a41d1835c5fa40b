//! The simulated PLC's Modbus face: the register view of the line model (as the
//! devices register map defines it) and the Modbus/TCP server with its faults.

pub mod registers;
pub mod server;
