//! Reed–Solomon error-correction codewords for ECC 200: GF(256) with the prime
//! polynomial 0x12D, generator roots α¹..αⁿ, and block interleaving.

use super::symbol_size::SymbolSize;

const PRIME_POLYNOMIAL: u16 = 0x12D;

struct GaloisField {
    exp: [u8; 512],
    log: [u8; 256],
}

const fn build_field() -> GaloisField {
    let mut exp = [0u8; 512];
    let mut log = [0u8; 256];
    let mut x: u16 = 1;
    let mut i = 0;
    while i < 255 {
        exp[i] = x as u8;
        log[x as usize] = i as u8;
        x <<= 1;
        if x & 0x100 != 0 {
            x ^= PRIME_POLYNOMIAL;
        }
        i += 1;
    }
    while i < 512 {
        exp[i] = exp[i - 255];
        i += 1;
    }
    GaloisField { exp, log }
}

static FIELD: GaloisField = build_field();

fn multiply(a: u8, b: u8) -> u8 {
    if a == 0 || b == 0 {
        return 0;
    }
    FIELD.exp[FIELD.log[a as usize] as usize + FIELD.log[b as usize] as usize]
}

/// Generator polynomial coefficients (highest degree first, leading 1 omitted) for
/// `degree` error-correction codewords.
fn generator(degree: usize) -> Vec<u8> {
    // poly holds coefficients, lowest degree first, with poly[degree] = 1.
    let mut poly = vec![0u8; degree + 1];
    poly[0] = 1;
    for i in 1..=degree {
        let root = FIELD.exp[i];
        // multiply by (x + root)
        for j in (1..=i).rev() {
            poly[j] = poly[j - 1] ^ multiply(poly[j], root);
        }
        poly[0] = multiply(poly[0], root);
    }
    // Return highest-degree-first without the leading 1.
    (0..degree).rev().map(|j| poly[j]).collect()
}

/// The error-correction codewords of one block of data codewords.
pub fn error_correction_for_block(data: &[u8], ecc_len: usize) -> Vec<u8> {
    let generator = generator(ecc_len);
    let mut remainder = vec![0u8; ecc_len];
    for &d in data {
        let feedback = d ^ remainder[0];
        remainder.rotate_left(1);
        if let Some(last) = remainder.last_mut() {
            *last = 0;
        }
        if feedback != 0 {
            for (r, &g) in remainder.iter_mut().zip(&generator) {
                *r ^= multiply(feedback, g);
            }
        }
    }
    remainder
}

/// Appends the interleaved error-correction codewords of `size` to its data
/// codewords (`codewords.len()` must equal `size.data_codewords`).
pub fn append_error_correction(codewords: &mut Vec<u8>, size: &SymbolSize) {
    let blocks = size.blocks;
    let ecc_per_block = size.block_ecc_codewords();
    let data_len = size.data_codewords;
    codewords.resize(size.total_codewords(), 0);
    for block in 0..blocks {
        let block_data: Vec<u8> = (block..data_len)
            .step_by(blocks)
            .map(|i| codewords[i])
            .collect();
        let ecc = error_correction_for_block(&block_data, ecc_per_block);
        for (k, e) in ecc.into_iter().enumerate() {
            codewords[data_len + block + k * blocks] = e;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_example_from_iso_16022_annex_o() {
        // "123456" in a 10x10 symbol: data 142 164 186, ECC 114 25 5 88 102.
        let ecc = error_correction_for_block(&[142, 164, 186], 5);
        assert_eq!(ecc, vec![114, 25, 5, 88, 102]);
    }
}
