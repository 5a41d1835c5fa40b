//! Planning and generating serials for a pool (pure logic; the store inserts them).
//!
//! The EU FMD rule (Delegated Regulation (EU) 2016/161, Art. 4) says the chance of
//! guessing a valid serial must be below 1 in 10,000. With `valid` serials in the pool
//! (those already there plus the new ones) drawn from `alphabet^length` possible ones,
//! that chance is `valid / alphabet^length`; a plan at or above 1 in 10,000 is refused
//! with the numbers and the smallest length that would pass. Sequential serials are
//! predictable whatever the odds, so they are refused for EU FMD markets.
//!
//! Random serials come from a cryptographically secure generator (ChaCha12 seeded from
//! the operating system); every character is drawn uniformly from the alphabet.

use rand::rngs::{StdRng, SysRng};
use rand::{CryptoRng, RngExt, SeedableRng};

use crate::config::markets;

/// The guess-probability limit is 1 in this many.
pub const GUESS_LIMIT: u128 = 10_000;

/// Characters a generated serial is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alphabet {
    /// `0-9`.
    Numeric,
    /// `0-9A-Z` (upper case only, so that printed codes read the same to people).
    Alphanumeric,
}

impl Alphabet {
    pub fn chars(self) -> &'static [u8] {
        match self {
            Alphabet::Numeric => b"0123456789",
            Alphabet::Alphanumeric => b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ",
        }
    }

    pub fn size(self) -> u128 {
        self.chars().len() as u128
    }

    pub fn name(self) -> &'static str {
        match self {
            Alphabet::Numeric => "numeric",
            Alphabet::Alphanumeric => "alphanumeric",
        }
    }

    /// SQLite GLOB pattern matching one character of the alphabet.
    pub fn glob_class(self) -> &'static str {
        match self {
            Alphabet::Numeric => "[0-9]",
            Alphabet::Alphanumeric => "[0-9A-Z]",
        }
    }
}

/// Random or sequential serials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SerialOrder {
    Random,
    Sequential,
}

/// What `pool generate` is asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GenerationPlan {
    pub count: u64,
    pub order: SerialOrder,
    pub alphabet: Alphabet,
    pub length: u8,
}

/// The guess odds of an accepted plan: 1 in `possible / valid`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuessOdds {
    pub valid: u128,
    pub possible: u128,
}

impl GuessOdds {
    /// `n` in "1 in n".
    pub fn one_in(&self) -> u128 {
        self.possible / self.valid.max(1)
    }
}

/// `alphabet^length`, or `None` if it does not fit (it always fits for length <= 20).
fn space(alphabet: Alphabet, length: u8) -> Option<u128> {
    alphabet.size().checked_pow(u32::from(length))
}

fn passes(valid: u128, alphabet: Alphabet, length: u8) -> bool {
    space(alphabet, length).is_some_and(|s| valid.saturating_mul(GUESS_LIMIT) < s)
}

/// The shortest length (<= 20) at which `valid` serials pass the guess rule.
pub fn shortest_safe_length(valid: u128, alphabet: Alphabet) -> Option<u8> {
    (1..=crate::pool::MAX_SERIAL_LENGTH as u8).find(|&l| passes(valid, alphabet, l))
}

/// Checks a plan against the serial rules, the guess-probability rule and the
/// markets' rules; `existing` is the number of serials already in the pool.
/// The error says why, with the numbers, and what to change.
pub fn check_plan(
    plan: &GenerationPlan,
    existing: u64,
    market_codes: &[String],
) -> Result<GuessOdds, String> {
    let max_len = crate::pool::MAX_SERIAL_LENGTH;
    if plan.length == 0 || usize::from(plan.length) > max_len {
        return Err(format!(
            "--length {} is not possible: a GS1 serial has 1 to {max_len} characters",
            plan.length
        ));
    }
    if plan.count == 0 {
        return Err("--count 0 generates nothing: give the number of serials to add".to_string());
    }
    crate::limits::check_count(
        "--count",
        plan.count,
        crate::limits::MAX_GENERATE_COUNT,
        "run the command several times for more",
    )?;
    if plan.order == SerialOrder::Sequential {
        let eu: Vec<&str> = market_codes
            .iter()
            .map(String::as_str)
            .filter(|m| markets::regime(m).is_some_and(|r| r.requires_random_serials()))
            .collect();
        if !eu.is_empty() {
            return Err(format!(
                "sequential serials are predictable, and this product is sold in {} where EU FMD \
                 requires randomised serials: add --random",
                eu.join(", ")
            ));
        }
    }
    let valid = u128::from(existing) + u128::from(plan.count);
    let possible = space(plan.alphabet, plan.length).unwrap_or(u128::MAX);
    if passes(valid, plan.alphabet, plan.length) {
        return Ok(GuessOdds { valid, possible });
    }
    let odds = if valid >= possible {
        format!(
            "there are only {possible} possible {} serials of length {}",
            plan.alphabet.name(),
            plan.length
        )
    } else {
        format!(
            "the chance of guessing a valid serial would be 1 in {}",
            possible / valid
        )
    };
    let mut advice = Vec::new();
    if let Some(l) = shortest_safe_length(valid, plan.alphabet) {
        advice.push(format!("use --length {l} or more"));
    }
    if plan.alphabet == Alphabet::Numeric
        && let Some(l) = shortest_safe_length(valid, Alphabet::Alphanumeric)
    {
        advice.push(format!(
            "use --alphabet alphanumeric with --length {l} or more"
        ));
    }
    if advice.is_empty() {
        advice.push("generate fewer serials".to_string());
    }
    Err(format!(
        "refused: {valid} serials ({existing} already in the pool + {} new) out of {}^{} = {possible} possible \
         {} serials: {odds}, which is not below 1 in {GUESS_LIMIT} (EU FMD). To fix: {}",
        plan.count,
        plan.alphabet.size(),
        plan.length,
        plan.alphabet.name(),
        advice.join(", or ")
    ))
}

/// Uniformly random serials of one alphabet and length, from a CSPRNG.
pub struct RandomSerials<R: CryptoRng> {
    rng: R,
    alphabet: Alphabet,
    length: u8,
}

impl RandomSerials<StdRng> {
    /// A generator seeded from the operating system's secure random source.
    pub fn from_os(alphabet: Alphabet, length: u8) -> Result<RandomSerials<StdRng>, String> {
        let rng = StdRng::try_from_rng(&mut SysRng)
            .map_err(|e| format!("the operating system's secure random source failed: {e}"))?;
        Ok(RandomSerials {
            rng,
            alphabet,
            length,
        })
    }
}

impl<R: CryptoRng> RandomSerials<R> {
    pub fn with_rng(rng: R, alphabet: Alphabet, length: u8) -> RandomSerials<R> {
        RandomSerials {
            rng,
            alphabet,
            length,
        }
    }

    pub fn next_serial(&mut self) -> String {
        let chars = self.alphabet.chars();
        (0..self.length)
            .map(|_| char::from(chars[self.rng.random_range(0..chars.len())]))
            .collect()
    }
}

/// Serials counting up in the alphabet's base, zero-padded to the length.
pub struct SequentialSerials {
    alphabet: Alphabet,
    length: u8,
    next: u128,
    end: u128,
}

impl SequentialSerials {
    /// Starts after `highest_existing` (the largest serial of this alphabet and length
    /// already in the pool), or at 1.
    pub fn after(
        highest_existing: Option<&str>,
        alphabet: Alphabet,
        length: u8,
    ) -> SequentialSerials {
        let next = highest_existing
            .and_then(|s| decode(s, alphabet))
            .map_or(1, |n| n.saturating_add(1));
        SequentialSerials {
            alphabet,
            length,
            next,
            end: space(alphabet, length).unwrap_or(u128::MAX),
        }
    }

    /// The next serial, or `None` when the length is used up.
    pub fn next_serial(&mut self) -> Option<String> {
        if self.next >= self.end {
            return None;
        }
        let value = self.next;
        self.next += 1;
        Some(encode(value, self.alphabet, self.length))
    }
}

fn decode(s: &str, alphabet: Alphabet) -> Option<u128> {
    let chars = alphabet.chars();
    s.bytes().try_fold(0u128, |acc, b| {
        let digit = chars.iter().position(|&c| c == b)? as u128;
        acc.checked_mul(alphabet.size())?.checked_add(digit)
    })
}

fn encode(mut value: u128, alphabet: Alphabet, length: u8) -> String {
    let chars = alphabet.chars();
    let mut out = vec![b'0'; usize::from(length)];
    for slot in out.iter_mut().rev() {
        *slot = chars[(value % alphabet.size()) as usize];
        value /= alphabet.size();
    }
    out.into_iter().map(char::from).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(count: u64, order: SerialOrder, alphabet: Alphabet, length: u8) -> GenerationPlan {
        GenerationPlan {
            count,
            order,
            alphabet,
            length,
        }
    }

    #[test]
    fn guess_rule_boundary() {
        // 10^8 possible: 9,999 serials pass (1 in 10,001), 10,000 do not (1 in 10,000).
        let none: Vec<String> = vec![];
        assert!(
            check_plan(
                &plan(9_999, SerialOrder::Random, Alphabet::Numeric, 8),
                0,
                &none
            )
            .is_ok()
        );
        let err = check_plan(
            &plan(10_000, SerialOrder::Random, Alphabet::Numeric, 8),
            0,
            &none,
        );
        assert!(
            err.as_ref()
                .is_err_and(|e| e.contains("1 in 10000") && e.contains("--length 9")),
            "{err:?}"
        );
        // Existing serials count too.
        assert!(
            check_plan(
                &plan(9_000, SerialOrder::Random, Alphabet::Numeric, 8),
                1_000,
                &none
            )
            .is_err()
        );
    }

    #[test]
    fn sequential_is_refused_for_eu_markets_only() {
        let de = vec!["DE".to_string()];
        let us = vec!["US".to_string()];
        let p = plan(10, SerialOrder::Sequential, Alphabet::Numeric, 12);
        assert!(check_plan(&p, 0, &de).is_err_and(|e| e.contains("--random")));
        assert!(check_plan(&p, 0, &us).is_ok());
    }

    #[test]
    fn lengths_and_counts_are_checked() {
        let none: Vec<String> = vec![];
        assert!(
            check_plan(
                &plan(1, SerialOrder::Random, Alphabet::Numeric, 21),
                0,
                &none
            )
            .is_err()
        );
        assert!(
            check_plan(
                &plan(1, SerialOrder::Random, Alphabet::Numeric, 0),
                0,
                &none
            )
            .is_err()
        );
        assert!(
            check_plan(
                &plan(0, SerialOrder::Random, Alphabet::Numeric, 12),
                0,
                &none
            )
            .is_err()
        );
        assert!(
            check_plan(
                &plan(1, SerialOrder::Random, Alphabet::Alphanumeric, 20),
                0,
                &none
            )
            .is_ok()
        );
    }

    #[test]
    fn random_serials_have_the_shape_asked_for() {
        let mut g = match RandomSerials::from_os(Alphabet::Alphanumeric, 12) {
            Ok(g) => g,
            Err(e) => panic!("{e}"),
        };
        for _ in 0..1000 {
            let s = g.next_serial();
            assert_eq!(s.len(), 12);
            assert!(
                s.bytes()
                    .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
            );
        }
    }

    #[test]
    fn sequential_counts_in_base_and_stops_at_the_end() {
        let mut g = SequentialSerials::after(Some("0009"), Alphabet::Numeric, 4);
        assert_eq!(g.next_serial().as_deref(), Some("0010"));
        let mut g = SequentialSerials::after(Some("0Z"), Alphabet::Alphanumeric, 2);
        assert_eq!(g.next_serial().as_deref(), Some("10"));
        let mut g = SequentialSerials::after(Some("98"), Alphabet::Numeric, 2);
        assert_eq!(g.next_serial().as_deref(), Some("99"));
        assert_eq!(g.next_serial(), None);
        let mut g = SequentialSerials::after(None, Alphabet::Numeric, 3);
        assert_eq!(g.next_serial().as_deref(), Some("001"));
    }
}
