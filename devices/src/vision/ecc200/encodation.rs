//! ASCII encodation of GS1 data for ECC 200: FNC1 in first position, digit pairs,
//! GS (0x1D) as FNC1, upper shift for bytes above 127, and the pseudo-random pad.

/// The FNC1 codeword (GS1 mode in first position, separator elsewhere).
pub const FNC1_CODEWORD: u8 = 232;
const UPPER_SHIFT: u8 = 235;
const PAD: u8 = 129;
const GROUP_SEPARATOR: u8 = 0x1D;

/// ASCII-encodes GS1 encoder data (no leading FNC1; GS where a separator is
/// required) into data codewords, starting with FNC1. Digits are paired.
pub fn encode_gs1_ascii(data: &[u8]) -> Vec<u8> {
    encode_ascii(data, true)
}

/// ASCII-encodes `data`; with `gs1_mode` the first codeword is FNC1 (a GS1 symbol),
/// without it the symbol is plain Data Matrix (`]d1`).
pub fn encode_ascii(data: &[u8], gs1_mode: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 1);
    if gs1_mode {
        out.push(FNC1_CODEWORD);
    }
    let mut i = 0;
    while i < data.len() {
        let c = data[i];
        if c.is_ascii_digit() && i + 1 < data.len() && data[i + 1].is_ascii_digit() {
            out.push(130 + (c - b'0') * 10 + (data[i + 1] - b'0'));
            i += 2;
            continue;
        }
        if c == GROUP_SEPARATOR && gs1_mode {
            out.push(FNC1_CODEWORD);
        } else if c > 127 {
            out.push(UPPER_SHIFT);
            out.push(c - 128 + 1);
        } else {
            out.push(c + 1);
        }
        i += 1;
    }
    out
}

/// Pads `codewords` to `capacity` data codewords (first pad 129, then the 253-state
/// randomised pad of ISO/IEC 16022).
pub fn pad_codewords(codewords: &mut Vec<u8>, capacity: usize) {
    if codewords.len() < capacity {
        codewords.push(PAD);
    }
    while codewords.len() < capacity {
        let position = codewords.len() + 1; // 1-based position of this pad
        let pseudo_random = ((149 * position) % 253) + 1;
        let mut value = PAD as usize + pseudo_random;
        if value > 254 {
            value -= 254;
        }
        codewords.push(value as u8);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carton_code_codewords() {
        let cw = encode_gs1_ascii(b"01095060001343521727013110ABC123".as_slice());
        assert_eq!(cw[0], FNC1_CODEWORD);
        assert_eq!(cw[1], 131); // "01"
        assert_eq!(cw[2], 139); // "09"
    }

    #[test]
    fn gs_becomes_fnc1_and_odd_digit_is_ascii() {
        assert_eq!(
            encode_gs1_ascii(b"10A1\x1d21"),
            vec![232, 140, 66, 50, 232, 151]
        );
    }
}
