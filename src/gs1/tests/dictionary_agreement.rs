//! The checked-in AI table (`src/ai_table.rs`) must agree entry for entry with the GS1
//! Barcode Syntax Dictionary in `../shared/gs1/` (when that directory is present).
//! Set `SERIALSTATION_REGENERATE_AI_TABLE=1` to rewrite the table from the dictionary.

use std::path::PathBuf;

use serialstation_gs1::ai;
use serialstation_gs1::dictionary::{DictEntry, parse_dictionary, render_ai_table};

fn dictionary_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/gs1/gs1-syntax-dictionary.txt")
}

fn read_dictionary() -> Option<(String, Vec<DictEntry>)> {
    let path = dictionary_path();
    let Ok(text) = std::fs::read_to_string(&path) else {
        println!(
            "skipped: ../shared not present ({} not found)",
            path.display()
        );
        return None;
    };
    let entries = match parse_dictionary(&text) {
        Ok(e) => e,
        Err(e) => panic!("the dictionary could not be read: {e}"),
    };
    Some((text, entries))
}

#[test]
fn table_agrees_with_dictionary_entry_for_entry() {
    let Some((text, entries)) = read_dictionary() else {
        return;
    };
    let table = ai::all();
    assert_eq!(table.len(), entries.len(), "number of AIs");
    for (e, t) in entries.iter().zip(table) {
        assert_eq!(e.ai, t.ai);
        assert_eq!(e.fnc1_required, t.fnc1_required, "AI {} FNC1 flag", e.ai);
        assert_eq!(
            e.dl_data_attribute, t.dl_data_attribute,
            "AI {} DL attribute flag",
            e.ai
        );
        assert_eq!(e.title, t.title, "AI {} title", e.ai);
        assert_eq!(
            e.components.len(),
            t.components.len(),
            "AI {} components",
            e.ai
        );
        for (c, tc) in e.components.iter().zip(t.components) {
            assert_eq!(
                (
                    c.charset,
                    c.min_len,
                    c.max_len,
                    c.optional,
                    c.linters.as_slice()
                ),
                (tc.charset, tc.min_len, tc.max_len, tc.optional, tc.linters),
                "AI {} component",
                e.ai
            );
        }
        let req: Vec<Vec<Vec<String>>> = t
            .req
            .iter()
            .map(|alts| {
                alts.iter()
                    .map(|g| g.iter().map(|s| s.to_string()).collect())
                    .collect()
            })
            .collect();
        assert_eq!(e.req, req, "AI {} req", e.ai);
        let ex: Vec<Vec<String>> =
            t.ex.iter()
                .map(|l| l.iter().map(|s| s.to_string()).collect())
                .collect();
        assert_eq!(e.ex, ex, "AI {} ex", e.ai);
        let dl = t.dl_primary_key.map(|paths| {
            paths
                .iter()
                .map(|p| p.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                .collect::<Vec<_>>()
        });
        assert_eq!(e.dl_primary_key, dl, "AI {} dlpkey", e.ai);
    }

    // The source text itself is what the generator writes today.
    let release = text
        .lines()
        .find_map(|l| {
            l.trim_start_matches('#')
                .trim()
                .strip_prefix("Release:")
                .map(str::trim)
        })
        .unwrap_or("unknown release");
    let rendered = render_ai_table(
        &entries,
        &format!("GS1 Barcode Syntax Dictionary, release {release}"),
    )
    .unwrap_or_else(|e| panic!("cannot render the table: {e}"));
    let table_path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/ai_table.rs");
    if std::env::var_os("SERIALSTATION_REGENERATE_AI_TABLE").is_some() {
        std::fs::write(&table_path, &rendered)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", table_path.display()));
        println!("regenerated {}", table_path.display());
        return;
    }
    let checked_in = std::fs::read_to_string(&table_path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", table_path.display()));
    assert!(
        checked_in == rendered,
        "src/ai_table.rs is stale: run `cargo run -p serialstation-gs1 --example generate_ai_table`"
    );
}

#[test]
fn every_dictionary_linter_is_implemented() {
    let Some((text, _)) = read_dictionary() else {
        return;
    };
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let body = line.split('#').next().unwrap_or("");
        for token in body.split_whitespace() {
            if token.starts_with(['N', 'X', 'Y', 'Z', '[']) {
                for name in token.split(',').skip(1) {
                    let name = name.trim_end_matches(']');
                    assert!(
                        serialstation_gs1::lint::Linter::from_name(name).is_some(),
                        "linter {name}"
                    );
                }
            }
        }
    }
}
