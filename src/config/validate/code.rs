//! What the code on the pack carries: the product's code template
//! (`product[n].code_template`, the AIs in print order) and the values of its
//! national healthcare reimbursement numbers (`product[n].nhrn`), checked against
//! GS1's rules for each AI and, for the PZN, its check digit.

use std::collections::BTreeMap;
use std::ops::Range;

use toml::Spanned;

use crate::config::located::Locator;
use crate::config::markets;
use crate::config::model::TemplateAi;
use crate::config::raw::RawProduct;
use crate::gs1::{ElementString, Gtin};

use super::fields::span_of;
use super::markets::market_ais_present;

/// `product[n].code_template`: the AIs the station fills, each once, with AI 01 and
/// 21 and those the product's markets require.
pub(super) fn validate_template(
    raw: &Spanned<Vec<Spanned<String>>>,
    markets: &[String],
    field: &str,
    loc: &mut Locator<'_>,
) -> Option<Vec<TemplateAi>> {
    let mut template = Vec::new();
    let mut ok = true;
    for entry in raw.get_ref() {
        let ai = entry.get_ref();
        match TemplateAi::from_ai(ai) {
            Some(t) if template.contains(&t) => {
                ok = false;
                loc.error(span_of(entry), field, format!("AI {ai} is listed twice"));
            }
            Some(t) => template.push(t),
            None => {
                ok = false;
                loc.error(
                    span_of(entry),
                    field,
                    format!(
                        "AI {ai:?} is not one the station can fill: the code template may use {}",
                        TemplateAi::SUPPORTED
                    ),
                );
            }
        }
    }
    let has = |ai: &str| raw.get_ref().iter().any(|e| e.get_ref() == ai);
    for required_ai in ["01", "21"] {
        if !has(required_ai) {
            ok = false;
            loc.error(
                span_of(raw),
                field,
                format!("the code template must contain AI {required_ai}"),
            );
        }
    }
    if !market_ais_present(raw, markets, field, loc) {
        ok = false;
    }
    if ok && template.first() != Some(&TemplateAi::Gtin) {
        loc.warning(
            span_of(raw),
            field,
            "AI 01 is usually printed first; check the order the artwork expects",
        );
    }
    ok.then_some(template)
}

/// `product[n].nhrn`: a valid value for each national healthcare reimbursement
/// number AI (710 to 717) of the code template, and none for an AI not in it.
pub(super) fn validate_nhrn(
    p: &RawProduct,
    product_span: Range<usize>,
    gtin: Option<&Gtin>,
    template: Option<&[TemplateAi]>,
    markets: Option<&[String]>,
    field: &str,
    loc: &mut Locator<'_>,
) -> Option<BTreeMap<String, String>> {
    let f = format!("{field}.nhrn");
    let mut ok = true;
    let mut values = BTreeMap::new();
    for (ai, value) in &p.nhrn {
        let key_field = format!("{f}.{ai}");
        let in_template = template.is_some_and(|t| t.iter().any(|x| x.ai() == *ai));
        if !matches!(TemplateAi::from_ai(ai), Some(TemplateAi::Nhrn(_))) {
            ok = false;
            loc.error(
                span_of(value),
                &key_field,
                format!("{ai:?} is not an NHRN AI: use 710 to 717"),
            );
            continue;
        }
        if template.is_some() && !in_template {
            ok = false;
            loc.error(span_of(value), &key_field, format!("AI {ai} has a value but is not in the code template: add it to code_template or remove the value"));
        }
        let text = value.get_ref();
        if let Some(gtin) = gtin
            && let Err(e) =
                ElementString::from_pairs([("01", gtin.as_str()), (ai.as_str(), text.as_str())])
        {
            ok = false;
            loc.error(
                span_of(value),
                &key_field,
                format!("{text:?} is not a valid value for AI {ai}: {e}"),
            );
            continue;
        }
        if ai == "710"
            && let Some(problem) = pzn_problem(text)
        {
            ok = false;
            loc.error(span_of(value), &key_field, problem);
            continue;
        }
        if let (Some((country, scheme)), Some(markets)) = (markets::nhrn_market(ai), markets)
            && !markets.iter().any(|m| m == country)
        {
            loc.warning(
                span_of(value),
                &key_field,
                format!(
                    "AI {ai} is the {scheme} of {country}, but {country} is not among the product's markets"
                ),
            );
        }
        values.insert(ai.clone(), text.clone());
    }
    for t in template.unwrap_or(&[]) {
        if let TemplateAi::Nhrn(_) = t
            && !p.nhrn.contains_key(&t.ai())
        {
            ok = false;
            let span = p
                .code_template
                .as_ref()
                .map_or(product_span.clone(), span_of);
            loc.error(
                span,
                &f,
                format!(
                    "AI {t} is in the code template but has no value: add nhrn = {{ {t} = \"...\" }}"
                ),
            );
        }
    }
    ok.then_some(values)
}

/// PZN8 (AI 710): 8 digits; the 8th is the sum of digit i times i (i = 1..7) mod 11,
/// and a remainder of 10 is never issued.
fn pzn_problem(value: &str) -> Option<String> {
    if value.len() != 8 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Some(format!("{value:?} is not a PZN: a PZN has 8 digits"));
    }
    let digits: Vec<u32> = value.bytes().map(|b| u32::from(b - b'0')).collect();
    let sum: u32 = digits[..7].iter().zip(1..).map(|(d, w)| d * w).sum();
    let check = sum % 11;
    (check == 10 || check != digits[7])
        .then(|| format!("{value:?} is not a valid PZN: its check digit is wrong"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct Template {
        code_template: Spanned<Vec<Spanned<String>>>,
    }

    /// What `validate_template` accepts from the TOML array `list` for `markets`, and
    /// the messages it records.
    fn template(list: &str, markets: &[&str]) -> (Option<Vec<TemplateAi>>, Vec<String>) {
        let toml = format!("code_template = {list}\n");
        let raw: Template = toml::from_str(&toml).unwrap();
        let codes: Vec<String> = markets.iter().map(ToString::to_string).collect();
        let mut loc = Locator::new("t.toml", &toml);
        let accepted = validate_template(&raw.code_template, &codes, "t", &mut loc);
        let messages = loc.issues.iter().map(|i| i.message.clone()).collect();
        (accepted, messages)
    }

    #[test]
    fn a_template_lists_fillable_ais_once_with_gtin_serial_and_what_markets_require() {
        assert_eq!(
            template(r#"["01", "17", "10", "21", "710"]"#, &["DE"]),
            (
                Some(vec![
                    TemplateAi::Gtin,
                    TemplateAi::Expiry,
                    TemplateAi::Lot,
                    TemplateAi::Serial,
                    TemplateAi::Nhrn(710),
                ]),
                vec![]
            )
        );
        let (accepted, messages) = template(r#"["01", "21", "21", "99"]"#, &["CH"]);
        assert_eq!(accepted, None);
        assert_eq!(
            messages,
            [
                "AI 21 is listed twice",
                "AI \"99\" is not one the station can fill: the code template may use 01, 11, 17, 10, 21, 710-717",
            ]
        );
        let (accepted, messages) = template(r#"["17"]"#, &["CH"]);
        assert_eq!(accepted, None);
        assert_eq!(
            messages,
            [
                "the code template must contain AI 01",
                "the code template must contain AI 21",
            ]
        );
        let (accepted, messages) = template(r#"["01", "21"]"#, &["US"]);
        assert_eq!(accepted, None);
        assert_eq!(
            messages,
            [
                "market US (US DSCSA) requires AI 10 in the code template",
                "market US (US DSCSA) requires AI 17 in the code template",
            ]
        );
        // Another order is accepted, with a warning.
        let (accepted, messages) = template(r#"["21", "01"]"#, &["CH"]);
        assert_eq!(accepted, Some(vec![TemplateAi::Serial, TemplateAi::Gtin]));
        assert_eq!(
            messages,
            ["AI 01 is usually printed first; check the order the artwork expects"]
        );
    }

    /// What `validate_nhrn` accepts from a product written in TOML as `product` (its
    /// code template taken as valid) for `markets`, and the fields and messages it
    /// records.
    type NhrnOutcome = (Option<BTreeMap<String, String>>, Vec<(String, String)>);

    fn nhrn(product: &str, markets: &[&str]) -> NhrnOutcome {
        let raw: RawProduct = toml::from_str(product).unwrap();
        let template: Vec<TemplateAi> = raw
            .code_template
            .as_ref()
            .map(|t| {
                t.get_ref()
                    .iter()
                    .filter_map(|ai| TemplateAi::from_ai(ai.get_ref()))
                    .collect()
            })
            .unwrap_or_default();
        let codes: Vec<String> = markets.iter().map(ToString::to_string).collect();
        let gtin = Gtin::parse("09506000134352").unwrap();
        let mut loc = Locator::new("t.toml", product);
        let accepted = validate_nhrn(
            &raw,
            0..0,
            Some(&gtin),
            Some(template.as_slice()),
            Some(codes.as_slice()),
            "product[1]",
            &mut loc,
        );
        let issues = loc
            .issues
            .iter()
            .map(|i| (i.field.clone(), i.message.clone()))
            .collect();
        (accepted, issues)
    }

    #[test]
    fn nhrn_values_fit_the_template_the_ai_and_the_markets() {
        let (accepted, issues) = nhrn(
            "code_template = [\"01\", \"21\", \"710\"]\nnhrn = { 710 = \"12345678\" }\n",
            &["DE"],
        );
        assert!(issues.is_empty(), "{issues:?}");
        assert_eq!(
            accepted,
            Some(BTreeMap::from([(
                "710".to_string(),
                "12345678".to_string()
            )]))
        );

        let (accepted, issues) = nhrn(
            "code_template = [\"01\", \"21\", \"710\", \"711\"]\nnhrn = { 710 = \"12345679\", 712 = \"1\", 999 = \"x\" }\n",
            &["DE"],
        );
        assert_eq!(accepted, None);
        let expected = [
            (
                "product[1].nhrn.710",
                "\"12345679\" is not a valid PZN: its check digit is wrong",
            ),
            (
                "product[1].nhrn.712",
                "AI 712 has a value but is not in the code template: add it to code_template or remove the value",
            ),
            (
                "product[1].nhrn.712",
                "AI 712 is the CN of ES, but ES is not among the product's markets",
            ),
            (
                "product[1].nhrn.999",
                "\"999\" is not an NHRN AI: use 710 to 717",
            ),
            (
                "product[1].nhrn",
                "AI 711 is in the code template but has no value: add nhrn = { 711 = \"...\" }",
            ),
        ];
        let expected: Vec<(String, String)> = expected
            .iter()
            .map(|(f, m)| (f.to_string(), m.to_string()))
            .collect();
        assert_eq!(issues, expected);
    }

    #[test]
    fn pzn_check_digit() {
        assert_eq!(pzn_problem("12345678"), None);
        assert!(pzn_problem("12345679").is_some());
        assert!(pzn_problem("1234567").is_some());
        assert!(pzn_problem("1234567a").is_some());
        // Weights 1 to 7: 1*1 + 3*7 = 22 leaves 0, so the check digit is 0.
        assert_eq!(pzn_problem("10000030"), None);
        // 6*1 + 2*2 = 10 leaves 10, which no PZN is issued with: every check digit
        // is refused.
        for last in '0'..='9' {
            assert!(pzn_problem(&format!("6200000{last}")).is_some(), "{last}");
        }
    }
}
