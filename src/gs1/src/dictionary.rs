//! Reader of the GS1 Barcode Syntax Dictionary text format and writer of the Rust AI
//! table generated from it ([`crate::ai_table`]). Pure text in, text out: the program
//! never reads the dictionary at run time; the generator example and the agreement
//! test do.

use crate::cset::Charset;
use crate::lint::Linter;

/// One component as written in the dictionary, e.g. `[N3],iso3166`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DictComponent {
    pub charset: Charset,
    pub min_len: u8,
    pub max_len: u8,
    pub optional: bool,
    pub linters: Vec<Linter>,
}

/// One AI with its dictionary line's data (ranges are expanded, one entry per AI).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DictEntry {
    pub ai: String,
    pub fnc1_required: bool,
    pub dl_data_attribute: bool,
    pub components: Vec<DictComponent>,
    pub req: Vec<Vec<Vec<String>>>,
    pub ex: Vec<Vec<String>>,
    pub dl_primary_key: Option<Vec<Vec<String>>>,
    pub title: String,
}

/// A dictionary line that could not be read, with its 1-based line number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DictError {
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for DictError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "dictionary line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for DictError {}

const FLAG_CHARACTERS: &str = "*!?\"$%&'()+,-./:;<=>@[\\]^_`{|}~";

/// Parses the whole dictionary text into one entry per AI, in file order.
pub fn parse_dictionary(text: &str) -> Result<Vec<DictEntry>, DictError> {
    let mut entries = Vec::new();
    for (index, raw_line) in text.lines().enumerate() {
        let line_no = index + 1;
        let (body, title) = match raw_line.split_once('#') {
            Some((b, t)) => (b, t.trim()),
            None => (raw_line, ""),
        };
        if body.trim().is_empty() {
            continue;
        }
        let err = |message: String| DictError {
            line: line_no,
            message,
        };
        let mut tokens = body.split_whitespace().peekable();
        let ai_token = tokens.next().ok_or_else(|| err("missing AI".into()))?;
        let ais = expand_ai_range(ai_token).map_err(err)?;
        let mut flags = "";
        if let Some(t) = tokens.peek()
            && !t.starts_with('[')
            && t.chars().all(|c| FLAG_CHARACTERS.contains(c))
        {
            flags = t;
            tokens.next();
        }
        let mut components = Vec::new();
        let mut req = Vec::new();
        let mut ex = Vec::new();
        let mut dl_primary_key = None;
        for token in tokens {
            if token.starts_with(['N', 'X', 'Y', 'Z', '[']) {
                if !req.is_empty() || !ex.is_empty() || dl_primary_key.is_some() {
                    return Err(err(format!("component {token:?} after the attributes")));
                }
                components.push(parse_component(token).map_err(err)?);
            } else if let Some(v) = token.strip_prefix("req=") {
                req.push(parse_alternatives(v));
            } else if let Some(v) = token.strip_prefix("ex=") {
                ex.push(v.split(',').map(str::to_string).collect());
            } else if token == "dlpkey" {
                dl_primary_key = Some(Vec::new());
            } else if let Some(v) = token.strip_prefix("dlpkey=") {
                dl_primary_key = Some(
                    v.split('|')
                        .map(|p| p.split(',').map(str::to_string).collect())
                        .collect(),
                );
            } else {
                return Err(err(format!("unknown attribute {token:?}")));
            }
        }
        if components.is_empty() {
            return Err(err("no format specification".into()));
        }
        for ai in ais {
            entries.push(DictEntry {
                ai,
                fnc1_required: !flags.contains('*'),
                dl_data_attribute: flags.contains('?'),
                components: components.clone(),
                req: req.clone(),
                ex: ex.clone(),
                dl_primary_key: dl_primary_key.clone(),
                title: title.to_string(),
            });
        }
    }
    Ok(entries)
}

fn parse_alternatives(v: &str) -> Vec<Vec<String>> {
    v.split(',')
        .map(|alt| alt.split('+').map(str::to_string).collect())
        .collect()
}

fn expand_ai_range(token: &str) -> Result<Vec<String>, String> {
    let is_ai = |s: &str| (2..=4).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit());
    match token.split_once('-') {
        None if is_ai(token) => Ok(vec![token.to_string()]),
        Some((first, last)) if is_ai(first) && is_ai(last) && first.len() == last.len() => {
            let (a, b): (u32, u32) = (
                first.parse().map_err(|_| token.to_string())?,
                last.parse().map_err(|_| token.to_string())?,
            );
            if a > b {
                return Err(format!("AI range {token} runs backwards"));
            }
            Ok((a..=b)
                .map(|n| format!("{n:0width$}", width = first.len()))
                .collect())
        }
        _ => Err(format!("{token:?} is not an AI or AI range")),
    }
}

fn parse_component(token: &str) -> Result<DictComponent, String> {
    let mut parts = token.split(',');
    let head = parts.next().unwrap_or_default();
    let optional = head.starts_with('[');
    let mut linter_names: Vec<&str> = Vec::new();
    let head = head.trim_start_matches('[');
    let head = match head.split_once(']') {
        Some((h, "")) => h,
        Some(_) => return Err(format!("component {token:?} is malformed")),
        None => head,
    };
    for name in parts {
        linter_names.push(name.trim_end_matches(']'));
    }
    let mut chars = head.chars();
    let charset = match chars.next() {
        Some('N') => Charset::Numeric,
        Some('X') => Charset::Cset82,
        Some('Y') => Charset::Cset39,
        Some('Z') => Charset::Cset64,
        _ => return Err(format!("component {token:?} has an unknown type")),
    };
    let length = chars.as_str();
    let (min_len, max_len) = match length.strip_prefix("..") {
        Some(max) => (
            1,
            max.parse::<u8>()
                .map_err(|_| format!("bad length in {token:?}"))?,
        ),
        None => {
            let n = length
                .parse::<u8>()
                .map_err(|_| format!("bad length in {token:?}"))?;
            (n, n)
        }
    };
    let linters = linter_names
        .into_iter()
        .map(|n| {
            Linter::from_name(n)
                .ok_or_else(|| format!("unknown linter {n:?} in {token:?}; implement it first"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(DictComponent {
        charset,
        min_len,
        max_len,
        optional,
        linters,
    })
}

/// Writes the Rust source of `ai_table.rs` for these entries. Fails if the entries
/// are not in lexical order or two AIs with the same two-digit prefix differ in length.
pub fn render_ai_table(entries: &[DictEntry], source_note: &str) -> Result<String, String> {
    let mut prefix_lengths = [0u8; 100];
    for w in entries.windows(2) {
        if w[0].ai >= w[1].ai {
            return Err(format!("AIs out of order: {} then {}", w[0].ai, w[1].ai));
        }
    }
    for e in entries {
        let b = e.ai.as_bytes();
        let index = usize::from(b[0] - b'0') * 10 + usize::from(b[1] - b'0');
        let len = e.ai.len() as u8;
        if prefix_lengths[index] != 0 && prefix_lengths[index] != len {
            return Err(format!(
                "AIs starting {} have different lengths",
                &e.ai[..2]
            ));
        }
        prefix_lengths[index] = len;
    }
    let mut out = String::new();
    out.push_str(
        "//! The Application Identifier table: one entry per AI of the GS1 Barcode Syntax\n",
    );
    out.push_str("//! Dictionary. GENERATED by `cargo run -p serialstation-gs1 --example generate_ai_table`;\n");
    out.push_str("//! do not edit by hand. The test `dictionary_agreement` checks it against the dictionary.\n");
    out.push_str(&format!("//! Source: {source_note}\n\n"));
    out.push_str("use crate::ai::{AiComponent, AiEntry};\nuse crate::cset::Charset;\nuse crate::lint::Linter;\n\n");
    out.push_str("/// AI length by its first two digits (0 = no AI starts with them).\n");
    out.push_str("#[rustfmt::skip]\npub const AI_LENGTH_BY_PREFIX: [u8; 100] = [\n");
    for row in prefix_lengths.chunks(10) {
        let cells: Vec<String> = row.iter().map(u8::to_string).collect();
        out.push_str(&format!("    {},\n", cells.join(", ")));
    }
    out.push_str("];\n\n");
    out.push_str(
        "/// Every AI, in lexical order.\n#[rustfmt::skip]\npub static AI_TABLE: &[AiEntry] = &[\n",
    );
    for e in entries {
        out.push_str(&render_entry(e));
    }
    out.push_str("];\n");
    Ok(out)
}

fn string_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| format!("{s:?}")).collect();
    format!("&[{}]", quoted.join(", "))
}

fn render_entry(e: &DictEntry) -> String {
    let components: Vec<String> = e
        .components
        .iter()
        .map(|c| {
            let linters: Vec<String> = c.linters.iter().map(|l| l.rust_variant()).collect();
            format!(
                "AiComponent {{ charset: Charset::{:?}, min_len: {}, max_len: {}, optional: {}, linters: &[{}] }}",
                c.charset,
                c.min_len,
                c.max_len,
                c.optional,
                linters.join(", ")
            )
        })
        .collect();
    let req: Vec<String> = e
        .req
        .iter()
        .map(|alts| {
            format!(
                "&[{}]",
                alts.iter()
                    .map(|g| string_list(g))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
        .collect();
    let ex: Vec<String> = e.ex.iter().map(|list| string_list(list)).collect();
    let dl = match &e.dl_primary_key {
        None => "None".to_string(),
        Some(paths) => format!(
            "Some(&[{}])",
            paths
                .iter()
                .map(|p| string_list(p))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    format!(
        "    AiEntry {{ ai: {:?}, fnc1_required: {}, dl_data_attribute: {}, components: &[{}], req: &[{}], ex: &[{}], dl_primary_key: {}, title: {:?} }},\n",
        e.ai,
        e.fnc1_required,
        e.dl_data_attribute,
        components.join(", "),
        req.join(", "),
        ex.join(", "),
        dl,
        e.title
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_range_with_optional_components() {
        let text = "3100-3102  *?  N6   req=01,02 ex=310n   # NET WEIGHT (kg)\n423  ?  N3,iso3166 [N3],iso3166  req=01,02 ex=426  # COUNTRY\n";
        let entries = parse_dictionary(text).unwrap();
        assert_eq!(entries.len(), 4);
        assert_eq!(entries[2].ai, "3102");
        assert!(!entries[0].fnc1_required);
        assert_eq!(
            entries[0].req,
            vec![vec![vec!["01".to_string()], vec!["02".to_string()]]]
        );
        let c = &entries[3].components[1];
        assert!(c.optional);
        assert_eq!(c.linters, vec![Linter::Iso3166]);
    }

    #[test]
    fn refuses_unknown_linters() {
        assert!(parse_dictionary("99  ?  X..90,nosuchlinter  # X\n").is_err());
    }
}
