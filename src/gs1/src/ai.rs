//! The Application Identifier table model: what the GS1 Barcode Syntax Dictionary says
//! about each AI (format components, FNC1 need, Digital Link role, linters,
//! association rules, title), and fast lookup of an AI in the generated table
//! ([`crate::ai_table`]).

use crate::cset::Charset;
use crate::lint::Linter;

/// One component of an AI's data format, e.g. `N14,csum,gcppos2` or `[X..17]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AiComponent {
    pub charset: Charset,
    /// Minimum length (equal to `max_len` for fixed-length components, 1 for `..n`).
    pub min_len: u8,
    pub max_len: u8,
    /// Written `[...]` in the dictionary: may be absent once the data is exhausted.
    pub optional: bool,
    /// Linters applied to this component, in dictionary order.
    pub linters: &'static [Linter],
}

impl AiComponent {
    /// True for `..n` components.
    pub fn is_variable(&self) -> bool {
        self.min_len != self.max_len
    }
}

/// One requirement alternative: AI patterns that must all be present (`01+21`).
pub type AiGroup = &'static [&'static str];

/// Everything the dictionary says about one AI (ranges are expanded, one entry per AI).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AiEntry {
    pub ai: &'static str,
    /// False when the dictionary flags the AI `*` (predefined length, no FNC1 separator).
    pub fnc1_required: bool,
    /// Flag `?`: allowed as a GS1 Digital Link data attribute (query parameter).
    pub dl_data_attribute: bool,
    pub components: &'static [AiComponent],
    /// Each `req=` key (all must hold); each key lists alternatives (any may hold);
    /// each alternative is a `+` group of patterns (all must be present).
    /// Patterns use `n` for any digit (`31nn`).
    pub req: &'static [&'static [AiGroup]],
    /// Each `ex=` key: patterns of AIs that may not appear together with this AI.
    pub ex: &'static [&'static [&'static str]],
    /// `dlpkey`: `Some` if the AI is a Digital Link primary key; the alternatives of
    /// ordered optional qualifier AIs (empty list for a plain `dlpkey`).
    pub dl_primary_key: Option<&'static [&'static [&'static str]]>,
    pub title: &'static str,
}

impl AiEntry {
    /// Minimum and maximum total value length.
    pub fn length_range(&self) -> (usize, usize) {
        let min = self
            .components
            .iter()
            .filter(|c| !c.optional)
            .map(|c| usize::from(c.min_len))
            .sum();
        let max = self.components.iter().map(|c| usize::from(c.max_len)).sum();
        (min, max)
    }

    /// The value length when the AI has predefined length (flag `*`).
    pub fn predefined_length(&self) -> Option<usize> {
        if self.fnc1_required {
            None
        } else {
            Some(self.length_range().1)
        }
    }

    /// True if `qualifier` may follow this primary key in a Digital Link path.
    pub fn has_dl_qualifier(&self, qualifier: &str) -> bool {
        self.dl_primary_key
            .is_some_and(|paths| paths.iter().any(|path| path.contains(&qualifier)))
    }
}

/// True if `ai` matches `pattern`, where `n` in the pattern stands for any digit.
pub fn ai_matches_pattern(ai: &str, pattern: &str) -> bool {
    ai.len() == pattern.len()
        && ai
            .bytes()
            .zip(pattern.bytes())
            .all(|(a, p)| a == p || (p == b'n' && a.is_ascii_digit()))
}

/// Slot of an AI in [`AI_INDEX`]: 2-digit AIs at 0..100, 3-digit at 100..1100,
/// 4-digit at 1100..11100. `None` if `ai` is not 2 to 4 digits.
#[inline]
const fn index_slot(ai: &[u8]) -> Option<usize> {
    let base = match ai.len() {
        2 => 0,
        3 => 100,
        4 => 1100,
        _ => return None,
    };
    let mut n = 0usize;
    let mut i = 0;
    while i < ai.len() {
        let b = ai[i];
        if !b.is_ascii_digit() {
            return None;
        }
        n = n * 10 + (b - b'0') as usize;
        i += 1;
    }
    Some(base + n)
}

const INDEX_SLOTS: usize = 11_100;

/// Table position + 1 of every AI by its slot (0 = no such AI), built at compile time.
static AI_INDEX: [u16; INDEX_SLOTS] = build_index();

const fn build_index() -> [u16; INDEX_SLOTS] {
    let table = crate::ai_table::AI_TABLE;
    let mut index = [0u16; INDEX_SLOTS];
    let mut i = 0;
    while i < table.len() {
        if let Some(slot) = index_slot(table[i].ai.as_bytes()) {
            index[slot] = (i + 1) as u16;
        }
        i += 1;
    }
    index
}

/// Looks up an AI (e.g. `"01"`, `"3103"`) in constant time.
#[inline]
pub fn lookup(ai: &str) -> Option<&'static AiEntry> {
    let slot = index_slot(ai.as_bytes())?;
    match AI_INDEX[slot] {
        0 => None,
        n => crate::ai_table::AI_TABLE.get(usize::from(n) - 1),
    }
}

/// The AI length implied by the first two digits (GS1 AIs are prefix-free), or `None`
/// if no AI starts with these two digits.
#[inline]
pub fn ai_length_for_prefix(first_two_digits: &[u8]) -> Option<usize> {
    match first_two_digits {
        [a @ b'0'..=b'9', b @ b'0'..=b'9', ..] => {
            let index = usize::from(a - b'0') * 10 + usize::from(b - b'0');
            match crate::ai_table::AI_LENGTH_BY_PREFIX[index] {
                0 => None,
                n => Some(usize::from(n)),
            }
        }
        _ => None,
    }
}

/// All AIs of the table, in lexical order.
pub fn all() -> &'static [AiEntry] {
    crate::ai_table::AI_TABLE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_prefix_free() {
        let table = all();
        assert!(table.windows(2).all(|w| w[0].ai < w[1].ai));
        for e in table {
            assert_eq!(
                ai_length_for_prefix(e.ai.as_bytes()),
                Some(e.ai.len()),
                "AI {}",
                e.ai
            );
        }
    }

    #[test]
    fn index_finds_every_ai() {
        for e in all() {
            assert_eq!(lookup(e.ai).map(|f| f.ai), Some(e.ai));
        }
        assert!(lookup("1").is_none());
        assert!(lookup("12345").is_none());
        assert!(lookup("0a").is_none());
    }

    #[test]
    fn lookups() {
        let gtin = lookup("01").unwrap();
        assert!(!gtin.fnc1_required);
        assert_eq!(gtin.predefined_length(), Some(14));
        assert_eq!(lookup("3103").unwrap().title, "NET WEIGHT (kg)");
        assert!(lookup("3106").is_none());
        assert!(lookup("95").is_some());
        assert!(ai_matches_pattern("3103", "31nn"));
        assert!(!ai_matches_pattern("3103", "32nn"));
    }
}
