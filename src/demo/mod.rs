//! The line demo (being written).
