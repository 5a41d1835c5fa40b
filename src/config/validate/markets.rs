//! A product's markets (`product[n].markets`): known market codes, each named once,
//! and the AIs their regulations require in the product's code template. What each
//! market requires comes from [`crate::config::markets`].

use std::collections::BTreeSet;

use toml::Spanned;

use crate::config::located::Locator;
use crate::config::markets::{self, Regime};

use super::fields::span_of;

pub(super) fn validate_markets(
    raw: &Spanned<Vec<Spanned<String>>>,
    field: &str,
    loc: &mut Locator<'_>,
) -> Option<Vec<String>> {
    if raw.get_ref().is_empty() {
        loc.error(
            span_of(raw),
            field,
            "name at least one market, e.g. [\"DE\"]",
        );
        return None;
    }
    let mut seen = BTreeSet::new();
    let mut ok = true;
    for m in raw.get_ref() {
        let code = m.get_ref();
        if markets::regime(code).is_none() {
            ok = false;
            let upper = code.to_ascii_uppercase();
            let hint = if markets::regime(&upper).is_some() {
                format!("market codes are upper case: {upper:?}")
            } else {
                format!("known markets are {}", markets::known_markets().join(", "))
            };
            loc.error(
                span_of(m),
                field,
                format!("{code:?} is not a known market: {hint}"),
            );
        } else if !seen.insert(code.clone()) {
            ok = false;
            loc.error(span_of(m), field, format!("{code:?} is listed twice"));
        }
    }
    ok.then(|| raw.get_ref().iter().map(|m| m.get_ref().clone()).collect())
}

/// Checks that the code template `raw` (at `field`) holds every AI the regulation of
/// each of the product's `markets` requires, beyond AI 01 and 21 (which every
/// template must hold, checked with the template). Each regulation is checked once,
/// named by its first market; each missing AI is an error at the template. True
/// when none is missing.
pub(super) fn market_ais_present(
    raw: &Spanned<Vec<Spanned<String>>>,
    markets: &[String],
    field: &str,
    loc: &mut Locator<'_>,
) -> bool {
    let has = |ai: &str| raw.get_ref().iter().any(|e| e.get_ref() == ai);
    let mut ok = true;
    let mut regimes: Vec<(Regime, &str)> = Vec::new();
    for m in markets {
        if let Some(r) = markets::regime(m).filter(|r| !regimes.iter().any(|(seen, _)| seen == r)) {
            regimes.push((r, m.as_str()));
        }
    }
    for (regime, market) in regimes {
        for ai in regime.required_ais() {
            if !has(ai) && !["01", "21"].contains(ai) {
                ok = false;
                loc.error(
                    span_of(raw),
                    field,
                    format!(
                        "market {market} ({}) requires AI {ai} in the code template",
                        regime.name()
                    ),
                );
            }
        }
    }
    ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct Value {
        v: Spanned<Vec<Spanned<String>>>,
    }

    /// Runs `check` on the list written in TOML as `list`; what it returned and the
    /// messages it recorded.
    fn with_list<T>(
        list: &str,
        check: impl FnOnce(&Spanned<Vec<Spanned<String>>>, &mut Locator<'_>) -> T,
    ) -> (T, Vec<String>) {
        let toml = format!("v = {list}\n");
        let value: Value = toml::from_str(&toml).unwrap();
        let mut loc = Locator::new("t.toml", &toml);
        let out = check(&value.v, &mut loc);
        (out, loc.issues.iter().map(|i| i.message.clone()).collect())
    }

    #[test]
    fn markets_are_known_codes_each_named_once() {
        let check = |list: &str| with_list(list, |raw, loc| validate_markets(raw, "m", loc));
        assert_eq!(
            check(r#"["DE", "US"]"#),
            (Some(vec!["DE".to_string(), "US".to_string()]), vec![])
        );
        let (accepted, messages) = check("[]");
        assert_eq!(accepted, None);
        assert_eq!(messages, ["name at least one market, e.g. [\"DE\"]"]);
        let (accepted, messages) = check(r#"["de"]"#);
        assert_eq!(accepted, None);
        assert_eq!(
            messages,
            ["\"de\" is not a known market: market codes are upper case: \"DE\""]
        );
        let (_, messages) = check(r#"["ZZ"]"#);
        assert!(
            messages[0].starts_with("\"ZZ\" is not a known market: known markets are "),
            "{messages:?}"
        );
        let (accepted, messages) = check(r#"["DE", "FR", "DE"]"#);
        assert_eq!(accepted, None);
        assert_eq!(messages, ["\"DE\" is listed twice"]);
    }

    #[test]
    fn each_regulation_asks_for_its_ais_once() {
        let check = |template: &str, list: &[&str]| {
            let codes: Vec<String> = list.iter().map(ToString::to_string).collect();
            with_list(template, |raw, loc| {
                market_ais_present(raw, &codes, "t", loc)
            })
        };
        // The station's own minimum asks nothing beyond 01 and 21.
        assert_eq!(check(r#"["01", "21"]"#, &[]), (true, vec![]));
        assert_eq!(
            check(r#"["01", "17", "10", "21"]"#, &["DE", "US"]),
            (true, vec![])
        );
        // Two EU FMD markets: one message per missing AI, named by the first market.
        let (ok, messages) = check(r#"["01", "21", "17"]"#, &["DE", "FR"]);
        assert!(!ok);
        assert_eq!(
            messages,
            ["market DE (EU FMD) requires AI 10 in the code template"]
        );
        // Missing 01 and 21 are the template's own errors, not the markets'.
        assert_eq!(check(r#"["17", "10"]"#, &["DE"]), (true, vec![]));
    }
}
