//! A product's packaging hierarchy (`[[product.aggregation]]`, one table per
//! container level above the pack, lowest first): each level once and in order
//! (bundle, case, pallet), its capacity, whether a partial container may close at
//! batch end, and what its logistic label carries (checked against the GS1 AI
//! table's association rules). Across the file: a product with a hierarchy needs
//! the client's GS1 Company Prefix (`[client.sscc]`), and a prefix that is not its
//! GTIN's is worth a warning.

use std::ops::Range;

use toml::Spanned;

use crate::aggregation::Level;
use crate::config::located::Locator;
use crate::config::model::{
    AggregationLevel, DEFAULT_PARTIAL_AT_BATCH_END, LOGISTIC_LABEL_AIS, LabelLayout,
    MAX_CONTAINER_CAPACITY, Product, SsccSettings,
};
use crate::config::raw::{RawLabel, RawLevel, RawProduct};
use crate::gs1::ai::{ai_matches_pattern, lookup};

use super::fields::{required, span_of};

/// `product[n].aggregation` (`field`): the levels above the pack, lowest first.
pub(super) fn validate_hierarchy(
    raw: &Spanned<Vec<Spanned<RawLevel>>>,
    field: &str,
    loc: &mut Locator<'_>,
) -> Option<Vec<AggregationLevel>> {
    let mut ok = true;
    let mut levels = Vec::new();
    // Every level named so far with its entry number, and the highest of them: what
    // the next level holds.
    let mut seen: Vec<(Level, usize)> = Vec::new();
    let mut highest: Option<Level> = None;
    for (i, entry) in raw.get_ref().iter().enumerate() {
        let number = i + 1;
        let f = |name: &str| format!("{field}[{number}].{name}");
        let e = entry.get_ref();
        let child = highest.unwrap_or(Level::Pack);
        let level = required(&e.level, span_of(entry), &f("level"), loc)
            .and_then(|l| level_name(l, &f("level"), loc));
        let level = match (level, e.level.as_ref()) {
            (Some(level), Some(written)) => {
                if let Some((_, at)) = seen.iter().find(|(l, _)| *l == level) {
                    loc.error(
                        span_of(written),
                        &f("level"),
                        format!(
                            "{level} is already level {at} of the hierarchy: list each level once"
                        ),
                    );
                    None
                } else if let Some(above) = highest.filter(|h| *h > level) {
                    loc.error(
                        span_of(written),
                        &f("level"),
                        format!(
                            "{level} cannot come after {above}: list the levels from the smallest up (bundle, case, pallet)"
                        ),
                    );
                    seen.push((level, number));
                    None
                } else {
                    seen.push((level, number));
                    highest = Some(level);
                    Some(level)
                }
            }
            _ => None,
        };
        let capacity = required(&e.capacity, span_of(entry), &f("capacity"), loc).and_then(|n| {
            let v = u64::try_from(*n.get_ref())
                .ok()
                .filter(|v| (1..=MAX_CONTAINER_CAPACITY).contains(v));
            if v.is_none() {
                let holds = match level {
                    Some(level) => {
                        format!("a {level} holds 1 to {MAX_CONTAINER_CAPACITY} {child}s")
                    }
                    None => format!("a container holds 1 to {MAX_CONTAINER_CAPACITY} children"),
                };
                loc.error(
                    span_of(n),
                    &f("capacity"),
                    format!("{} is out of range: {holds}", n.get_ref()),
                );
            }
            v
        });
        let partial_at_batch_end = e
            .partial_at_batch_end
            .as_ref()
            .map_or(DEFAULT_PARTIAL_AT_BATCH_END, |b| *b.get_ref());
        let label = match &e.label {
            None => Some(LabelLayout::default()),
            Some(label) => validate_label(label, &f("label"), loc),
        };
        match (level, capacity, label) {
            (Some(level), Some(capacity), Some(label)) => levels.push(AggregationLevel {
                level,
                capacity,
                partial_at_batch_end,
                label,
            }),
            _ => ok = false,
        }
    }
    ok.then_some(levels)
}

/// A level's name as the file writes it: `bundle`, `case` or `pallet`.
fn level_name(value: &Spanned<String>, field: &str, loc: &mut Locator<'_>) -> Option<Level> {
    let level = match value.get_ref().as_str() {
        "bundle" => Some(Level::Bundle),
        "case" => Some(Level::Case),
        "pallet" => Some(Level::Pallet),
        _ => None,
    };
    if level.is_none() {
        let word = value.get_ref();
        let message = if word == "pack" {
            "the pack is the product itself, below every level: list only the containers above it (bundle, case, pallet)".to_string()
        } else {
            format!("{word:?} is not a container level: use \"bundle\", \"case\" or \"pallet\"")
        };
        loc.error(span_of(value), field, message);
    }
    level
}

/// `label = { ais = [...] }` (`field` is `...label`): the AIs a logistic label
/// carries, each once, each one the station fills, with the SSCC, and with every AI
/// that one of them needs beside it (the GS1 AI table's `req` rules).
fn validate_label(
    raw: &Spanned<RawLabel>,
    field: &str,
    loc: &mut Locator<'_>,
) -> Option<LabelLayout> {
    let f = format!("{field}.ais");
    let ais = required(&raw.get_ref().ais, span_of(raw), &f, loc)?;
    let allowed = LOGISTIC_LABEL_AIS.join(", ");
    let mut ok = true;
    let mut accepted: Vec<String> = Vec::new();
    for entry in ais.get_ref() {
        let ai = entry.get_ref();
        if accepted.contains(ai) {
            ok = false;
            loc.error(span_of(entry), &f, format!("AI {ai} is listed twice"));
        } else if lookup(ai).is_none() {
            ok = false;
            loc.error(
                span_of(entry),
                &f,
                format!(
                    "{ai:?} is not a GS1 Application Identifier: a logistic label here may carry {allowed}"
                ),
            );
        } else if !LOGISTIC_LABEL_AIS.contains(&ai.as_str()) {
            ok = false;
            loc.error(
                span_of(entry),
                &f,
                format!("AI {ai} is not one the station fills on a logistic label: use {allowed}"),
            );
        } else {
            accepted.push(ai.clone());
        }
    }
    if !ais.get_ref().iter().any(|e| e.get_ref() == "00") {
        ok = false;
        loc.error(
            span_of(ais),
            &f,
            "a logistic label carries the container's SSCC: add AI 00",
        );
    }
    if ok {
        for message in missing_companions(&accepted) {
            ok = false;
            loc.error(span_of(ais), &f, message);
        }
    }
    ok.then_some(LabelLayout { ais: accepted })
}

/// For each AI of `ais` that needs another beside it (the AI table's `req` rules)
/// and does not have it, what to add. (No two of [`LOGISTIC_LABEL_AIS`] exclude
/// each other, so the `ex` rules never apply here; a test checks it.)
fn missing_companions(ais: &[String]) -> Vec<String> {
    let present = |pattern: &str| ais.iter().any(|a| ai_matches_pattern(a, pattern));
    let fillable = |pattern: &str| {
        LOGISTIC_LABEL_AIS
            .iter()
            .any(|a| ai_matches_pattern(a, pattern))
    };
    let mut out = Vec::new();
    for ai in ais {
        let Some(entry) = lookup(ai) else {
            continue;
        };
        for req in entry.req {
            if req.iter().any(|group| group.iter().all(|&p| present(p))) {
                continue;
            }
            let choices: Vec<String> = req
                .iter()
                .filter(|group| group.iter().all(|&p| fillable(p)))
                .map(|group| group.join(" and "))
                .collect();
            out.push(if choices.is_empty() {
                format!(
                    "AI {ai} ({}) needs an AI beside it that a label here cannot carry: remove AI {ai}",
                    entry.title
                )
            } else {
                format!(
                    "AI {ai} ({}) needs AI {} on the same label: add it, or remove AI {ai}",
                    entry.title,
                    choices.join(" or ")
                )
            });
        }
    }
    out
}

/// A product with a hierarchy (`product` as validated, `raw` as written, `field`
/// is `product[n]`) needs the client's GS1 Company Prefix: its containers' SSCCs
/// are built from it. `sscc` is the client's valid `[client.sscc]`; `sscc_written`
/// says whether the file has one at all (an invalid one is reported where it is).
/// A prefix other than the one in the product's GTIN is a warning: SSCCs may be
/// the packer's, but usually they are the brand owner's.
pub(super) fn check_sscc_prefix(
    sscc: Option<&SsccSettings>,
    sscc_written: bool,
    product: &Product,
    raw: &RawProduct,
    product_span: Range<usize>,
    field: &str,
    loc: &mut Locator<'_>,
) {
    if product.aggregation.is_empty() {
        return;
    }
    let span = raw.aggregation.as_ref().map_or(product_span, span_of);
    let f = format!("{field}.aggregation");
    let Some(sscc) = sscc else {
        if !sscc_written {
            loc.error(
                span,
                &f,
                "the product's containers are identified by SSCCs, built from the client's GS1 Company Prefix, which this file does not give: add a [client.sscc] table with company_prefix = \"...\" (4 to 12 digits, as GS1 issued it) and, if it is not 0, extension_digit",
            );
        }
        return;
    };
    let len = usize::from(product.company_prefix_length);
    let gtin = product.gtin.as_str();
    let gtin_prefix = gtin.get(1..1 + len).unwrap_or(gtin);
    if gtin_prefix != sscc.company_prefix {
        loc.warning(
            span,
            &f,
            format!(
                "the client's SSCCs are built from GS1 Company Prefix {} (client.sscc.company_prefix), but GTIN {gtin} is under prefix {gtin_prefix}: right only if the packer labels containers under its own prefix; check it",
                sscc.company_prefix
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct Hierarchy {
        aggregation: Spanned<Vec<Spanned<RawLevel>>>,
    }

    type Outcome = (Option<Vec<AggregationLevel>>, Vec<(usize, String, String)>);

    /// What `validate_hierarchy` accepts from `text` (TOML with
    /// `[[aggregation]]` tables), and the line, field and message of each issue.
    fn hierarchy(text: &str) -> Outcome {
        let raw: Hierarchy = toml::from_str(text).unwrap();
        let mut loc = Locator::new("t.toml", text);
        let accepted = validate_hierarchy(&raw.aggregation, "product[1].aggregation", &mut loc);
        let issues = loc
            .issues
            .iter()
            .map(|i| (i.line, i.field.clone(), i.message.clone()))
            .collect();
        (accepted, issues)
    }

    fn level(level: Level, capacity: u64) -> AggregationLevel {
        AggregationLevel {
            level,
            capacity,
            partial_at_batch_end: true,
            label: LabelLayout::default(),
        }
    }

    fn one_issue(text: &str) -> (usize, String, String) {
        let (accepted, mut issues) = hierarchy(text);
        assert_eq!(accepted, None);
        assert_eq!(issues.len(), 1, "{issues:?}");
        issues.remove(0)
    }

    #[test]
    fn levels_in_order_with_their_defaults() {
        let (accepted, issues) = hierarchy(
            "[[aggregation]]\nlevel = \"case\"\ncapacity = 12\n\n[[aggregation]]\nlevel = \"pallet\"\ncapacity = 4\n",
        );
        assert!(issues.is_empty(), "{issues:?}");
        assert_eq!(
            accepted,
            Some(vec![level(Level::Case, 12), level(Level::Pallet, 4)])
        );
        assert_eq!(
            accepted.unwrap()[0].label.ais,
            ["00", "02", "37", "10", "17"]
        );

        // Everything given, a bundle below the case.
        let (accepted, issues) = hierarchy(
            "[[aggregation]]\nlevel = \"bundle\"\ncapacity = 10\npartial_at_batch_end = false\nlabel = { ais = [\"00\"] }\n\
             [[aggregation]]\nlevel = \"case\"\ncapacity = 100000\nlabel = { ais = [\"00\", \"02\", \"37\", \"10\", \"11\", \"17\"] }\n",
        );
        assert!(issues.is_empty(), "{issues:?}");
        let accepted = accepted.unwrap();
        assert_eq!(accepted[0].level, Level::Bundle);
        assert!(!accepted[0].partial_at_batch_end);
        assert_eq!(accepted[0].label.ais, ["00"]);
        assert_eq!(accepted[1].capacity, 100_000);
        assert_eq!(accepted[1].label.ais.len(), 6);
    }

    #[test]
    fn a_level_is_named_once_and_in_order() {
        let (line, field, msg) = one_issue(
            "[[aggregation]]\nlevel = \"pallet\"\ncapacity = 4\n[[aggregation]]\nlevel = \"case\"\ncapacity = 12\n",
        );
        assert_eq!(
            (line, field.as_str()),
            (5, "product[1].aggregation[2].level")
        );
        assert_eq!(
            msg,
            "case cannot come after pallet: list the levels from the smallest up (bundle, case, pallet)"
        );

        let (line, field, msg) = one_issue(
            "[[aggregation]]\nlevel = \"case\"\ncapacity = 4\n[[aggregation]]\nlevel = \"case\"\ncapacity = 12\n",
        );
        assert_eq!(
            (line, field.as_str()),
            (5, "product[1].aggregation[2].level")
        );
        assert_eq!(
            msg,
            "case is already level 1 of the hierarchy: list each level once"
        );

        let (line, field, msg) = one_issue("[[aggregation]]\nlevel = \"pack\"\ncapacity = 4\n");
        assert_eq!(
            (line, field.as_str()),
            (2, "product[1].aggregation[1].level")
        );
        assert!(msg.starts_with("the pack is the product itself"), "{msg}");

        let (_, _, msg) = one_issue("[[aggregation]]\nlevel = \"crate\"\ncapacity = 4\n");
        assert_eq!(
            msg,
            "\"crate\" is not a container level: use \"bundle\", \"case\" or \"pallet\""
        );

        let (line, field, msg) = one_issue("[[aggregation]]\ncapacity = 4\n");
        assert_eq!(
            (line, field.as_str()),
            (1, "product[1].aggregation[1].level")
        );
        assert_eq!(msg, "missing: add `level`");
    }

    #[test]
    fn capacities_are_in_range() {
        let (line, field, msg) = one_issue(
            "[[aggregation]]\nlevel = \"case\"\ncapacity = 12\n[[aggregation]]\nlevel = \"pallet\"\ncapacity = 0\n",
        );
        assert_eq!(
            (line, field.as_str()),
            (6, "product[1].aggregation[2].capacity")
        );
        assert_eq!(msg, "0 is out of range: a pallet holds 1 to 100000 cases");

        let (_, _, msg) = one_issue("[[aggregation]]\nlevel = \"case\"\ncapacity = 100001\n");
        assert_eq!(
            msg,
            "100001 is out of range: a case holds 1 to 100000 packs"
        );

        let (_, field, msg) = one_issue("[[aggregation]]\nlevel = \"case\"\n");
        assert_eq!(field, "product[1].aggregation[1].capacity");
        assert_eq!(msg, "missing: add `capacity`");
    }

    #[test]
    fn a_label_carries_the_sscc_and_only_what_the_station_fills() {
        let case = |ais: &str| {
            one_issue(&format!(
                "[[aggregation]]\nlevel = \"case\"\ncapacity = 12\nlabel = {{ ais = {ais} }}\n"
            ))
        };
        let (line, field, msg) = case(r#"["02", "37", "10"]"#);
        assert_eq!(
            (line, field.as_str()),
            (4, "product[1].aggregation[1].label.ais")
        );
        assert_eq!(
            msg,
            "a logistic label carries the container's SSCC: add AI 00"
        );

        let (_, _, msg) = case(r#"["00", "400"]"#);
        assert_eq!(
            msg,
            "AI 400 is not one the station fills on a logistic label: use 00, 02, 37, 10, 11, 17"
        );
        let (_, _, msg) = case(r#"["00", "99x"]"#);
        assert!(
            msg.starts_with("\"99x\" is not a GS1 Application Identifier"),
            "{msg}"
        );
        let (_, _, msg) = case(r#"["00", "00"]"#);
        assert_eq!(msg, "AI 00 is listed twice");

        // The AI table's rules: the content GTIN needs its count, lot and expiry
        // need the content GTIN.
        let (_, _, msg) = case(r#"["00", "02"]"#);
        assert_eq!(
            msg,
            "AI 02 (CONTENT) needs AI 37 on the same label: add it, or remove AI 02"
        );
        let (_, _, msg) = case(r#"["00", "17"]"#);
        assert_eq!(
            msg,
            "AI 17 (USE BY or EXPIRY) needs AI 02 on the same label: add it, or remove AI 17"
        );

        let (_, field, msg) =
            one_issue("[[aggregation]]\nlevel = \"case\"\ncapacity = 12\nlabel = {}\n");
        assert_eq!(field, "product[1].aggregation[1].label.ais");
        assert_eq!(msg, "missing: add `ais`");
    }

    #[test]
    fn every_label_ai_is_in_the_gs1_table_and_none_excludes_another() {
        for ai in LOGISTIC_LABEL_AIS {
            let entry = lookup(ai).unwrap_or_else(|| panic!("AI {ai} is not in the table"));
            for ex in entry.ex {
                for pattern in *ex {
                    assert!(
                        !LOGISTIC_LABEL_AIS
                            .iter()
                            .any(|b| *b != ai && ai_matches_pattern(b, pattern)),
                        "AI {ai} excludes {pattern}"
                    );
                }
            }
        }
        let all: Vec<String> = LOGISTIC_LABEL_AIS.iter().map(ToString::to_string).collect();
        assert!(missing_companions(&all).is_empty());
        let default = LabelLayout::default();
        assert!(missing_companions(&default.ais).is_empty());
    }

    /// The issues `check_sscc_prefix` records for the product of `text` (a client
    /// file) with client settings `sscc`.
    fn prefix_issues(
        sscc: Option<&SsccSettings>,
        sscc_written: bool,
        prefix_length: u8,
    ) -> Vec<(crate::config::Severity, usize, String, String)> {
        let text = "[[product]]\ngtin = \"09506000134352\"\n[[product.aggregation]]\nlevel = \"case\"\ncapacity = 12\n";
        #[derive(serde::Deserialize)]
        struct File {
            product: Vec<Spanned<RawProduct>>,
        }
        let raw: File = toml::from_str(text).unwrap();
        let raw = &raw.product[0];
        let product = Product {
            gtin: crate::gs1::Gtin::parse("09506000134352").unwrap(),
            client_id: "acme".into(),
            name: "p".into(),
            company_prefix_length: prefix_length,
            markets: vec!["DE".into()],
            code_template: Vec::new(),
            nhrn: Default::default(),
            min_grade: 1.5,
            low_water_mark: 0,
            consecutive_reject_limit: 3,
            aggregation: vec![level(Level::Case, 12)],
        };
        let mut loc = Locator::new("t.toml", text);
        check_sscc_prefix(
            sscc,
            sscc_written,
            &product,
            raw.get_ref(),
            span_of(raw),
            "product[1]",
            &mut loc,
        );
        loc.issues
            .iter()
            .map(|i| (i.severity, i.line, i.field.clone(), i.message.clone()))
            .collect()
    }

    #[test]
    fn a_hierarchy_needs_the_client_prefix_and_a_foreign_prefix_is_a_warning() {
        use crate::config::Severity;
        let own = SsccSettings {
            company_prefix: "9506000".into(),
            extension_digit: 0,
            serialbox_pool: None,
        };
        assert!(prefix_issues(Some(&own), true, 7).is_empty());

        let issues = prefix_issues(None, false, 7);
        assert_eq!(issues.len(), 1, "{issues:?}");
        let (severity, line, field, msg) = &issues[0];
        assert_eq!(
            (*severity, *line, field.as_str()),
            (Severity::Error, 3, "product[1].aggregation")
        );
        assert!(msg.contains("add a [client.sscc] table"), "{msg}");

        // Written but invalid: reported where it is written, not here.
        assert!(prefix_issues(None, true, 7).is_empty());

        // A prefix the GTIN is not under: a warning.
        let packer = SsccSettings {
            company_prefix: "0614141".into(),
            extension_digit: 3,
            serialbox_pool: None,
        };
        let issues = prefix_issues(Some(&packer), true, 7);
        assert_eq!(issues.len(), 1, "{issues:?}");
        assert_eq!(issues[0].0, Severity::Warning);
        assert!(
            issues[0]
                .3
                .contains("GTIN 09506000134352 is under prefix 9506000"),
            "{issues:?}"
        );
        // The same prefix read with another length is another prefix.
        assert_eq!(prefix_issues(Some(&own), true, 8).len(), 1);
    }
}
