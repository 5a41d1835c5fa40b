//! One product (`[[product]]`): its GTIN, name and GS1 Company Prefix length, its
//! markets and code (see `markets.rs` and `code.rs`), the print quality it needs,
//! when its pool runs low, how many rejects in a row stop the line, and its
//! packaging hierarchy (see `aggregation.rs`).

use std::ops::Range;

use crate::config::located::Locator;
use crate::config::model::Product;
use crate::config::raw::RawProduct;
use crate::gs1::Gtin;

use super::aggregation::validate_hierarchy;
use super::code::{validate_nhrn, validate_template};
use super::fields::{operator_text, required, span_of};
use super::markets::validate_markets;

/// GS1 healthcare's minimum print quality for GS1 DataMatrix (1.5/08/660).
pub const HEALTHCARE_MIN_GRADE: f64 = 1.5;

/// One `[[product]]` (`field` is `product[n]`, counted from 1) of the client
/// `client_id`, located in `span`.
pub(super) fn validate_product(
    p: &RawProduct,
    span: Range<usize>,
    field: &str,
    client_id: &str,
    loc: &mut Locator<'_>,
) -> Option<Product> {
    let f = |name: &str| format!("{field}.{name}");
    let gtin = required(&p.gtin, span.clone(), &f("gtin"), loc).and_then(|g| {
        match Gtin::parse(g.get_ref()) {
            Ok(gtin) => Some(gtin),
            Err(e) => {
                loc.error(
                    span_of(g),
                    &f("gtin"),
                    format!("{:?} is not a valid GTIN: {e}", g.get_ref()),
                );
                None
            }
        }
    });
    let name = required(&p.name, span.clone(), &f("name"), loc)
        .and_then(|n| operator_text(n, &f("name"), loc));
    let gcp_len = required(
        &p.company_prefix_length,
        span.clone(),
        &f("company_prefix_length"),
        loc,
    )
    .and_then(|n| {
        let v = u8::try_from(*n.get_ref())
            .ok()
            .filter(|v| (6..=12).contains(v));
        if v.is_none() {
            loc.error(
                span_of(n),
                &f("company_prefix_length"),
                format!(
                    "{} is out of range: a GS1 Company Prefix has 6 to 12 digits",
                    n.get_ref()
                ),
            );
        }
        if let (Some(len), Some(gtin)) = (v, &gtin)
            && let Err(e) = crate::gs1::epc::sgtin_uri(gtin, usize::from(len), "1")
        {
            loc.error(
                span_of(n),
                &f("company_prefix_length"),
                format!("does not fit GTIN {gtin}: {e}"),
            );
            return None;
        }
        v
    });
    let markets = required(&p.markets, span.clone(), &f("markets"), loc)
        .and_then(|m| validate_markets(m, &f("markets"), loc));
    let template =
        required(&p.code_template, span.clone(), &f("code_template"), loc).and_then(|t| {
            validate_template(
                t,
                markets.as_deref().unwrap_or(&[]),
                &f("code_template"),
                loc,
            )
        });
    let nhrn = validate_nhrn(
        p,
        span.clone(),
        gtin.as_ref(),
        template.as_deref(),
        markets.as_deref(),
        field,
        loc,
    );
    let min_grade = required(&p.min_grade, span.clone(), &f("min_grade"), loc).and_then(|g| {
        let v = *g.get_ref();
        if !(0.0..=4.0).contains(&v) {
            loc.error(
                span_of(g),
                &f("min_grade"),
                format!("{v} is out of range: an ISO/IEC 15415 grade is 0.0 to 4.0"),
            );
            return None;
        }
        if v < HEALTHCARE_MIN_GRADE {
            loc.warning(
                span_of(g),
                &f("min_grade"),
                format!("{v} is below {HEALTHCARE_MIN_GRADE}, the GS1 healthcare minimum grade"),
            );
        }
        Some(v)
    });
    let low_water = required(&p.low_water_mark, span.clone(), &f("low_water_mark"), loc).and_then(|n| {
        let v = u64::try_from(*n.get_ref()).ok();
        if v.is_none() {
            loc.error(span_of(n), &f("low_water_mark"), format!("{} is negative: give the number of unallocated serials below which to warn", n.get_ref()));
        }
        v
    });
    let aggregation = match &p.aggregation {
        None => Some(Vec::new()),
        Some(levels) => validate_hierarchy(levels, &f("aggregation"), loc),
    };
    let reject_limit = required(
        &p.consecutive_reject_limit,
        span,
        &f("consecutive_reject_limit"),
        loc,
    )
    .and_then(|n| {
        let v = u32::try_from(*n.get_ref())
            .ok()
            .filter(|v| (1..=1000).contains(v));
        if v.is_none() {
            loc.error(
                span_of(n),
                &f("consecutive_reject_limit"),
                format!("{} is out of range: use 1 to 1000", n.get_ref()),
            );
        }
        v
    });
    Some(Product {
        gtin: gtin?,
        client_id: client_id.to_string(),
        name: name?,
        company_prefix_length: gcp_len?,
        markets: markets?,
        code_template: template?,
        nhrn: nhrn?,
        min_grade: min_grade?,
        low_water_mark: low_water?,
        consecutive_reject_limit: reject_limit?,
        aggregation: aggregation?,
    })
}
