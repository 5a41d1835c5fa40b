//! Data Matrix ECC 200 symbol structure, written for this project: the symbol size
//! table, ASCII encodation with FNC1 (GS1 mode), Reed–Solomon error correction over
//! GF(256) with the Data Matrix polynomial 0x12D, and the module placement algorithm.
//!
//! The encoder builds symbols from it, and the grader uses the same pieces to rebuild
//! the ideal symbol from decoded data codewords and count codeword errors.

pub mod encodation;
pub mod placement;
pub mod reed_solomon;
pub mod symbol_size;

pub use encodation::{FNC1_CODEWORD, encode_ascii, encode_gs1_ascii, pad_codewords};
pub use placement::{ModuleRole, SymbolLayout};
pub use reed_solomon::{append_error_correction, error_correction_for_block};
pub use symbol_size::{SYMBOL_SIZES, SymbolSize};
