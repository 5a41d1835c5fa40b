//! Simulated printers: the protocol-independent printer model, and the TIJ and
//! ZPL servers that speak the devices crate's codecs over TCP.

pub mod model;
pub mod tij_server;
pub mod zpl_server;
