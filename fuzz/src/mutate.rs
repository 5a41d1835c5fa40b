//! A small deterministic mutator: an xorshift64* generator and [`mutate`], which
//! applies one to four random edits to an input (bit flips, random or "interesting"
//! bytes and tokens, insertions, deletions, duplications, splices with another
//! corpus entry, small arithmetic, truncation). Pure: the same generator state and
//! inputs always give the same output.

/// Single bytes that often sit on a parser's decision points: the ends of the byte
/// range, ASCII DEL, GS (the GS1 FNC1 separator), brackets, separators, escapes,
/// line ends, quotes and digits.
pub const INTERESTING_BYTES: &[u8] = &[
    0x00, 0xFF, 0x7F, 0x80, 0x1D, 0x02, 0x03, b'(', b')', b'/', b'%', b'"', b'{', b'}', b'[', b']',
    b',', b';', b'|', b'\\', b'\n', b'\r', b'\t', b' ', b'^', b'~', b'_', b'=', b'&', b'?', b'.',
    b':', b'#', b'-', b'0', b'1', b'2', b'3', b'5', b'7', b'9',
];

/// Short sequences that mean something to one of the parsers under test.
pub const INTERESTING_TOKENS: &[&[u8]] = &[
    b"\r\n",
    b"]d2",
    b"]d1",
    b"]C1",
    b"]Q3",
    b"(01)",
    b"(21)",
    b"https://",
    b"%2F",
    b"%",
    b"%00",
    b"\\x1D",
    b"\xEF\xBB\xBF",
    b"\xE2\x82\xAC",
    b"null",
    b"true",
    b"[]",
    b"{}",
    b"\"\"",
    b"-1",
    b"0",
    b"65535",
    b"65536",
    b"4294967295",
    b"4294967296",
    b"18446744073709551615",
    b"18446744073709551616",
    b"9223372036854775808",
    b"1e999",
    b"NaN",
    b"inf",
    b"=",
    b"[[",
    b"]]",
    b"^XA",
    b"^XZ",
    b"^FD",
    b"^FS",
    b"||",
    b"SSIF",
];

/// xorshift64* (Vigna), seeded through one SplitMix64 step so that nearby seeds
/// give unrelated streams.
#[derive(Debug, Clone)]
pub struct Rng {
    state: u64,
}

impl Rng {
    pub fn new(seed: u64) -> Rng {
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        // The xorshift state must never be zero.
        let state = if z == 0 { 0x2545_F491_4F6C_DD1D } else { z };
        Rng { state }
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        (self.next_u64() % n as u64) as usize
    }

    /// True one time in `n`.
    pub fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }

    pub fn byte(&mut self) -> u8 {
        (self.next_u64() >> 56) as u8
    }
}

/// Returns `input` with one to four random edits, at most `max_len` bytes long.
/// `corpus` supplies material for splicing (it may be empty).
pub fn mutate(rng: &mut Rng, input: &[u8], corpus: &[Vec<u8>], max_len: usize) -> Vec<u8> {
    let mut out = input.to_vec();
    out.truncate(max_len);
    let edits = 1 + rng.below(4);
    for _ in 0..edits {
        edit(rng, &mut out, corpus);
        out.truncate(max_len);
    }
    out
}

/// Inserts `bytes` at `at` (`at <= out.len()`).
fn insert_slice(out: &mut Vec<u8>, at: usize, bytes: &[u8]) {
    let tail = out.split_off(at);
    out.extend_from_slice(bytes);
    out.extend_from_slice(&tail);
}

fn interesting_byte(rng: &mut Rng) -> u8 {
    INTERESTING_BYTES[rng.below(INTERESTING_BYTES.len())]
}

/// One random edit. Edits that need a non-empty input fall back to inserting an
/// interesting byte, so that every call changes something.
fn edit(rng: &mut Rng, out: &mut Vec<u8>, corpus: &[Vec<u8>]) {
    let len = out.len();
    match rng.below(20) {
        // Flip one bit.
        0..=2 if len > 0 => {
            let at = rng.below(len);
            out[at] ^= 1 << rng.below(8);
        }
        // Set one byte to a random value.
        3..=4 if len > 0 => {
            let at = rng.below(len);
            out[at] = rng.byte();
        }
        // Insert random bytes (usually a few, sometimes a run).
        5..=6 => {
            let at = rng.below(len + 1);
            let limit = if rng.one_in(8) { 64 } else { 4 };
            let count = 1 + rng.below(limit);
            let bytes: Vec<u8> = (0..count).map(|_| rng.byte()).collect();
            insert_slice(out, at, &bytes);
        }
        // Delete a range.
        7..=8 if len > 0 => {
            let start = rng.below(len);
            let count = 1 + rng.below((len - start).min(32));
            out.drain(start..start + count);
        }
        // Duplicate a range somewhere else.
        9..=10 if len > 0 => {
            let start = rng.below(len);
            let count = 1 + rng.below((len - start).min(64));
            let chunk = out[start..start + count].to_vec();
            let at = rng.below(len + 1);
            insert_slice(out, at, &chunk);
        }
        // Splice with another corpus entry: cross over at a point, or insert a piece.
        11..=12 if corpus.iter().any(|c| !c.is_empty()) => {
            let other = &corpus[rng.below(corpus.len())];
            if other.is_empty() {
                let at = rng.below(len + 1);
                out.insert(at, interesting_byte(rng));
                return;
            }
            let from = rng.below(other.len());
            let to = from + 1 + rng.below(other.len() - from);
            let at = rng.below(len + 1);
            if rng.one_in(2) {
                out.truncate(at);
                out.extend_from_slice(&other[from..]);
            } else {
                insert_slice(out, at, &other[from..to]);
            }
        }
        // Overwrite or insert an interesting byte.
        13..=14 => {
            let byte = interesting_byte(rng);
            if len > 0 && rng.one_in(2) {
                let at = rng.below(len);
                out[at] = byte;
            } else {
                let at = rng.below(len + 1);
                out.insert(at, byte);
            }
        }
        // Insert an interesting token, or write it over what is there.
        15..=16 => {
            let token = INTERESTING_TOKENS[rng.below(INTERESTING_TOKENS.len())];
            let at = rng.below(len + 1);
            if rng.one_in(2) {
                let end = (at + token.len()).min(len);
                out.drain(at..end);
            }
            insert_slice(out, at, token);
        }
        // Small arithmetic on one byte (walks digits and lengths).
        17..=18 if len > 0 => {
            let at = rng.below(len);
            let delta = 1 + rng.below(16) as u8;
            out[at] = if rng.one_in(2) {
                out[at].wrapping_add(delta)
            } else {
                out[at].wrapping_sub(delta)
            };
        }
        // Truncate.
        19 if len > 0 => out.truncate(rng.below(len)),
        _ => {
            let at = rng.below(len + 1);
            out.insert(at, interesting_byte(rng));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generator_is_deterministic_and_varied() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        let first: Vec<u64> = (0..100).map(|_| a.next_u64()).collect();
        let second: Vec<u64> = (0..100).map(|_| b.next_u64()).collect();
        assert_eq!(first, second);
        let mut c = Rng::new(8);
        assert_ne!(first[0], c.next_u64());
        let mut distinct = first.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), first.len());
        // Seed 0 works (the state is never zero).
        let mut zero = Rng::new(0);
        assert_ne!(zero.next_u64(), zero.next_u64());
    }

    #[test]
    fn below_stays_in_range() {
        let mut rng = Rng::new(1);
        assert_eq!(rng.below(0), 0);
        for n in 1..50 {
            for _ in 0..50 {
                assert!(rng.below(n) < n);
            }
        }
    }

    #[test]
    fn mutation_is_deterministic() {
        let corpus = vec![b"(01)09506000134352".to_vec(), b"SLI|1|x|\r".to_vec()];
        let mut a = Rng::new(42);
        let mut b = Rng::new(42);
        for _ in 0..500 {
            let x = mutate(&mut a, b"hello world", &corpus, 64);
            let y = mutate(&mut b, b"hello world", &corpus, 64);
            assert_eq!(x, y);
        }
    }

    #[test]
    fn mutation_respects_the_length_bound_and_changes_things() {
        let corpus = vec![vec![b'A'; 300], Vec::new()];
        let mut rng = Rng::new(3);
        let mut changed = 0;
        for round in 0..2000 {
            let input = vec![b'x'; round % 40];
            let out = mutate(&mut rng, &input, &corpus, 32);
            assert!(out.len() <= 32, "{} bytes", out.len());
            if out != input {
                changed += 1;
            }
        }
        // An edit can undo another (or truncate to the same bytes), but rarely.
        assert!(
            changed > 1800,
            "only {changed} of 2000 mutations changed the input"
        );
    }

    #[test]
    fn empty_inputs_and_an_empty_corpus_work() {
        let mut rng = Rng::new(9);
        for _ in 0..500 {
            let out = mutate(&mut rng, b"", &[], 16);
            assert!(out.len() <= 16);
        }
        assert!(mutate(&mut rng, b"abc", &[], 0).is_empty());
    }

    #[test]
    fn every_kind_of_byte_shows_up() {
        let mut rng = Rng::new(11);
        let mut seen = [false; 256];
        let mut input = b"(01)09506000134352(21)ABC".to_vec();
        for _ in 0..20_000 {
            input = mutate(&mut rng, &input, &[], 256);
            for &b in &input {
                seen[usize::from(b)] = true;
            }
            if input.is_empty() {
                input = b"seed".to_vec();
            }
        }
        let count = seen.iter().filter(|s| **s).count();
        assert!(count > 250, "only {count} distinct byte values");
    }
}
