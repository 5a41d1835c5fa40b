//! Simulated cameras: the worker that renders, decodes and grades every triggered
//! item, and the two camera servers (smart DMCC-style, framed image stream).

pub mod dmcc_server;
pub mod image_server;
pub mod worker;
