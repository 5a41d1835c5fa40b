//! The client's SSCC settings (`[client.sscc]`): the GS1 Company Prefix and the
//! extension digit the SSCCs of its containers are built from. Optional: only a
//! client whose products have a packaging hierarchy needs them (that check is in
//! `aggregation.rs`).

use toml::Spanned;

use crate::config::located::Locator;
use crate::config::model::SsccSettings;
use crate::config::raw::RawSscc;
use crate::gs1::key::sscc_reference_digits;

use super::fields::{required, span_of};
use super::serial_source::check_pool_name;

/// The shortest company prefix an EPC URI takes (GS1 Tag Data Standard partitions).
pub(crate) const MIN_EPC_PREFIX_DIGITS: usize = 6;

/// `[client.sscc]`: `company_prefix` (6 to 12 digits, required) and
/// `extension_digit` (0 to 9, default 0).
pub(super) fn validate_sscc(raw: &Spanned<RawSscc>, loc: &mut Locator<'_>) -> Option<SsccSettings> {
    let field = "client.sscc";
    let s = raw.get_ref();
    let prefix_field = format!("{field}.company_prefix");
    let company_prefix =
        required(&s.company_prefix, span_of(raw), &prefix_field, loc).and_then(|p| {
            let text = p.get_ref();
            if sscc_reference_digits(text).is_err() {
                loc.error(
                    span_of(p),
                    &prefix_field,
                    format!(
                        "{text:?} is not a GS1 Company Prefix: write the 4 to 12 digits GS1 issued, in quotes (leading zeros are part of it)"
                    ),
                );
                return None;
            }
            if text.len() < MIN_EPC_PREFIX_DIGITS {
                loc.error(
                    span_of(p),
                    &prefix_field,
                    format!(
                        "{text:?} has {} digits: SSCCs are reported to the site server as EPC URIs, which need a GS1 Company Prefix of 6 to 12 digits; use such a prefix for the SSCCs",
                        text.len()
                    ),
                );
                return None;
            }
            Some(text.clone())
        });
    let extension_digit = match &s.extension_digit {
        None => Some(0),
        Some(n) => {
            let v = u8::try_from(*n.get_ref()).ok().filter(|v| *v <= 9);
            if v.is_none() {
                loc.error(
                    span_of(n),
                    &format!("{field}.extension_digit"),
                    format!(
                        "{} is out of range: the extension digit is one digit, 0 to 9",
                        n.get_ref()
                    ),
                );
            }
            v
        }
    };
    let serialbox_pool = match &s.serialbox_pool {
        None => Some(None),
        Some(name) => check_pool_name(name, &format!("{field}.serialbox_pool"), loc).map(Some),
    };
    Some(SsccSettings {
        company_prefix: company_prefix?,
        extension_digit: extension_digit?,
        serialbox_pool: serialbox_pool?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct Client {
        sscc: Spanned<RawSscc>,
    }

    /// What `validate_sscc` accepts from `sscc = <table>`, and the fields and
    /// messages it records.
    fn sscc(table: &str) -> (Option<SsccSettings>, Vec<(String, String)>) {
        let text = format!("sscc = {table}\n");
        let raw: Client = toml::from_str(&text).unwrap();
        let mut loc = Locator::new("t.toml", &text);
        let accepted = validate_sscc(&raw.sscc, &mut loc);
        let issues = loc
            .issues
            .iter()
            .map(|i| (i.field.clone(), i.message.clone()))
            .collect();
        (accepted, issues)
    }

    #[test]
    fn a_prefix_of_6_to_12_digits_and_one_extension_digit() {
        assert_eq!(
            sscc(r#"{ company_prefix = "9506000" }"#),
            (
                Some(SsccSettings {
                    company_prefix: "9506000".into(),
                    extension_digit: 0,
                    serialbox_pool: None,
                }),
                vec![]
            )
        );
        assert_eq!(
            sscc(r#"{ company_prefix = "0614141", extension_digit = 9 }"#).0,
            Some(SsccSettings {
                company_prefix: "0614141".into(),
                extension_digit: 9,
                serialbox_pool: None,
            })
        );
        let (pooled, issues) =
            sscc(r#"{ company_prefix = "0614141", serialbox_pool = "sscc-0614141" }"#);
        assert_eq!(
            pooled.and_then(|s| s.serialbox_pool).as_deref(),
            Some("sscc-0614141"),
            "{issues:?}"
        );
        let (refused, issues) = sscc(r#"{ company_prefix = "0614141", serialbox_pool = "a/b" }"#);
        assert_eq!(refused, None);
        assert!(issues[0].1.contains("pool machine name"), "{issues:?}");
        let (accepted, issues) = sscc(r#"{ company_prefix = "12345" }"#);
        assert_eq!(accepted, None);
        assert!(issues[0].1.contains("6 to 12 digits"), "{issues:?}");
        assert!(sscc(r#"{ company_prefix = "123456" }"#).0.is_some());
        assert!(sscc(r#"{ company_prefix = "123456789012" }"#).0.is_some());
    }

    #[test]
    fn a_bad_prefix_or_digit_is_refused_naming_the_field() {
        for bad in ["123", "1234567890123", "95O6000", ""] {
            let (accepted, issues) = sscc(&format!("{{ company_prefix = {bad:?} }}"));
            assert_eq!(accepted, None, "{bad}");
            assert_eq!(issues.len(), 1, "{issues:?}");
            assert_eq!(issues[0].0, "client.sscc.company_prefix");
            assert!(
                issues[0].1.contains("is not a GS1 Company Prefix"),
                "{issues:?}"
            );
        }
        let (accepted, issues) = sscc(r#"{ company_prefix = "9506000", extension_digit = 10 }"#);
        assert_eq!(accepted, None);
        assert_eq!(
            issues,
            [(
                "client.sscc.extension_digit".to_string(),
                "10 is out of range: the extension digit is one digit, 0 to 9".to_string()
            )]
        );
        let (accepted, issues) = sscc(r#"{ extension_digit = -1 }"#);
        assert_eq!(accepted, None);
        let fields: Vec<&str> = issues.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(
            fields,
            ["client.sscc.company_prefix", "client.sscc.extension_digit"]
        );
        assert_eq!(issues[0].1, "missing: add `company_prefix`");
    }
}
