//! What a container's logistic label says, pure: the SSCC as a GS1-128 symbol
//! (AI 00 alone, the symbol a scanner at a dock reads first), a GS1 DataMatrix
//! with every AI the product's label layout names (by default the content of a
//! homogeneous logistic unit: 00, 02, 37, 10, 17), and the human-readable lines
//! under their GS1 data titles. Every container here holds one product and one
//! lot, so AI 02 is the pack GTIN and AI 37 the packs under the container, at any
//! level. How the label reaches paper (ZPL) is `devices/src/zpl/logistic.rs`;
//! ARCHITECTURE.md, "Aggregation", has the flow.

use crate::gs1::{ElementString, Gtin, Sscc};

/// Facts a label is made from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelFacts<'a> {
    pub sscc: &'a Sscc,
    /// The pack GTIN every child carries.
    pub gtin: &'a Gtin,
    pub lot: &'a str,
    /// YYMMDD.
    pub expiry: &'a str,
    /// YYMMDD: the day the batch started.
    pub produced: &'a str,
    /// Packs anywhere under the container.
    pub packs: u64,
}

/// One container label's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogisticLabel {
    pub sscc: Sscc,
    /// The GS1-128 symbol: (00) only.
    pub linear: ElementString,
    /// The GS1 DataMatrix: every AI of the layout, fixed-length AIs first.
    pub matrix: ElementString,
    /// Human-readable lines, one per AI, in the layout's order.
    pub lines: Vec<String>,
}

/// Builds the label for `facts` with the AIs of `ais` (digits, as in the client
/// file; AI 00 is always on it). The element strings are validated by the GS1
/// syntax engine, so an AI the data cannot fill (a lot with a character AI 10
/// does not allow) is an error naming it.
pub fn build(facts: &LabelFacts<'_>, ais: &[String]) -> Result<LogisticLabel, String> {
    let mut pairs: Vec<(&str, String)> = vec![("00", facts.sscc.as_str().to_string())];
    let mut lines = vec![format!("SSCC {}", facts.sscc.as_str())];
    for ai in ais {
        let (value, title) = match ai.as_str() {
            "00" => continue,
            "02" => (facts.gtin.as_str().to_string(), "CONTENT"),
            "37" => (facts.packs.to_string(), "COUNT"),
            "10" => (facts.lot.to_string(), "BATCH/LOT"),
            "17" => (facts.expiry.to_string(), "USE BY"),
            "11" => (facts.produced.to_string(), "PROD DATE"),
            other => {
                return Err(format!(
                    "AI ({other}) cannot go on a logistic label here: use 00, 02, 37, 10, 11 or 17"
                ));
            }
        };
        lines.push(format!("{title} ({ai}) {}", human_value(ai, &value)));
        pairs.push((ai.as_str(), value));
    }
    let linear = ElementString::from_pairs([("00", facts.sscc.as_str())])
        .map_err(|e| format!("SSCC {}: {}", facts.sscc.as_str(), e.message))?;
    let matrix = ElementString::from_pairs(pairs.iter().map(|(a, v)| (*a, v.clone())))
        .map_err(|e| {
            format!(
                "the label of SSCC {} cannot be encoded: {}",
                facts.sscc.as_str(),
                e.message
            )
        })?
        .with_fixed_length_first();
    Ok(LogisticLabel {
        sscc: facts.sscc.clone(),
        linear,
        matrix,
        lines,
    })
}

/// A date AI's YYMMDD as DD.MM.YY (the logistic label's human form); the rest as is.
fn human_value(ai: &str, value: &str) -> String {
    if matches!(ai, "11" | "17") && value.len() == 6 {
        format!("{}.{}.{}", &value[4..6], &value[2..4], &value[0..2])
    } else {
        value.to_string()
    }
}

/// `YYMMDD` of an RFC 3339 UTC time as the store writes it (`2026-12-05T…`).
pub fn yymmdd(rfc3339: &str) -> Option<String> {
    let date = rfc3339.get(..10)?;
    let bytes = date.as_bytes();
    let digits = |range: std::ops::Range<usize>| {
        bytes[range.clone()]
            .iter()
            .all(u8::is_ascii_digit)
            .then(|| &date[range])
    };
    if bytes.get(4) != Some(&b'-') || bytes.get(7) != Some(&b'-') {
        return None;
    }
    Some(format!(
        "{}{}{}",
        digits(2..4)?,
        digits(5..7)?,
        digits(8..10)?
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::DEFAULT_LABEL_AIS;

    fn facts<'a>(sscc: &'a Sscc, gtin: &'a Gtin) -> LabelFacts<'a> {
        LabelFacts {
            sscc,
            gtin,
            lot: "LOT-7",
            expiry: "281130",
            produced: "261205",
            packs: 48,
        }
    }

    #[test]
    fn a_homogeneous_case_label_carries_00_02_37_10_17() {
        let sscc = Sscc::parse("095060000000000015").unwrap();
        let gtin = Gtin::parse("09506000134352").unwrap();
        let ais: Vec<String> = DEFAULT_LABEL_AIS.iter().map(ToString::to_string).collect();
        let label = build(&facts(&sscc, &gtin), &ais).unwrap();
        assert_eq!(label.linear.to_hri(), "(00)095060000000000015");
        assert_eq!(
            label.matrix.to_hri(),
            "(00)095060000000000015(02)09506000134352(17)281130(37)48(10)LOT-7"
        );
        assert_eq!(
            label.lines,
            [
                "SSCC 095060000000000015",
                "CONTENT (02) 09506000134352",
                "COUNT (37) 48",
                "BATCH/LOT (10) LOT-7",
                "USE BY (17) 30.11.28",
            ]
        );
    }

    #[test]
    fn only_logistic_ais_and_valid_values_make_a_label() {
        let sscc = Sscc::parse("095060000000000015").unwrap();
        let gtin = Gtin::parse("09506000134352").unwrap();
        let err = build(&facts(&sscc, &gtin), &["21".to_string()]).unwrap_err();
        assert!(err.contains("(21)"), "{err}");
        let bad_lot = LabelFacts {
            lot: "LOT\u{e9}",
            ..facts(&sscc, &gtin)
        };
        let err = build(&bad_lot, &["10".to_string()]).unwrap_err();
        assert!(err.contains("095060000000000015"), "{err}");
    }

    #[test]
    fn production_date_comes_from_the_batch_start() {
        assert_eq!(yymmdd("2026-12-05T17:02:19Z").as_deref(), Some("261205"));
        assert_eq!(yymmdd("yesterday"), None);
    }
}
