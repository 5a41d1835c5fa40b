//! GS1 character sets: CSET 82 (`X`), CSET 39 (`Y`), CSET 64 (`Z`, base64url).

/// True if every character of `s` is in GS1 CSET 82.
pub fn is_cset82(s: &str) -> bool {
    let _ = s;
    unimplemented!("gs1::cset::is_cset82")
}

/// Byte offset of the first character not in CSET 82, if any.
pub fn first_non_cset82(s: &str) -> Option<usize> {
    let _ = s;
    unimplemented!("gs1::cset::first_non_cset82")
}
