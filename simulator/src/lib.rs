//! The simulated line.
