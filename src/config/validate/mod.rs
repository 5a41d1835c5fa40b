//! Semantic checks of a client file: turns the file as written (`raw.rs`) into the
//! validated model ([`crate::config::model`]), recording every problem with its
//! location. Pure logic (GS1 rules come from the `gs1` crate, market rules from
//! [`crate::config::markets`]).
//!
//! One file per part of the client file, each checking what the file says there:
//! - `client.rs`: `[client]`, its id and name;
//! - `serial_source.rs`: `client.serial_source`, where serials come from;
//! - `sscc.rs`: `client.sscc`, the GS1 Company Prefix and extension digit of SSCCs;
//! - `upload.rs`: `client.upload`, where EPCIS documents go;
//! - `remote.rs`: what those two share, a server's URL and the name of the
//!   variable holding its secret;
//! - `product.rs`: one `[[product]]`;
//! - `markets.rs`: a product's markets and the AIs their regulations require;
//! - `code.rs`: a product's code template and NHRN values;
//! - `aggregation.rs`: a product's packaging hierarchy (`[[product.aggregation]]`);
//! - `fields.rs`: checks every table shares (required fields, names, plain values).
//!
//! Across the tables, [`validate`] checks that no GTIN is defined twice, that a
//! SerialBox source has a pool for every product, and that a product with a
//! packaging hierarchy has the client's GS1 Company Prefix for its SSCCs.

mod aggregation;
mod client;
mod code;
mod fields;
mod markets;
mod product;
mod remote;
mod serial_source;
mod sscc;
mod upload;

use std::collections::BTreeMap;

use crate::config::located::{Locator, Severity};
use crate::config::model::ClientConfig;
use crate::config::raw::RawFile;

use aggregation::check_sscc_prefix;
use client::validate_client;
use fields::span_of;
use product::validate_product;
use serial_source::check_serialbox_pools;

/// Validates the whole file; returns the model if every required part is present and
/// valid (the caller discards it if any error was recorded).
pub(crate) fn validate(raw: &RawFile, loc: &mut Locator<'_>) -> Option<ClientConfig> {
    let Some(raw_client) = &raw.client else {
        loc.push(
            Severity::Error,
            Some(0..0),
            "client",
            "the file has no [client] table: add one",
        );
        return None;
    };
    let client = validate_client(raw_client, loc);
    let client_id = client.as_ref().map(|c| c.id.clone()).unwrap_or_default();
    if raw.product.is_empty() {
        loc.warning(
            span_of(raw_client),
            "product",
            "the client has no [[product]]: nothing can run for it",
        );
    }
    let sscc = client.as_ref().and_then(|c| c.sscc.as_ref());
    let sscc_written = raw_client.get_ref().sscc.is_some();
    let mut seen_gtins: BTreeMap<String, usize> = BTreeMap::new();
    let mut products = Vec::new();
    for (i, p) in raw.product.iter().enumerate() {
        let field = format!("product[{}]", i + 1);
        if let Some(product) = validate_product(p.get_ref(), span_of(p), &field, &client_id, loc) {
            check_sscc_prefix(
                sscc,
                sscc_written,
                &product,
                p.get_ref(),
                span_of(p),
                &field,
                loc,
            );
            if let Some(first) = seen_gtins.insert(product.gtin.to_string(), i + 1) {
                let span = p
                    .get_ref()
                    .gtin
                    .as_ref()
                    .map_or_else(|| span_of(p), span_of);
                loc.error(
                    span,
                    &format!("{field}.gtin"),
                    format!(
                        "GTIN {} is already defined by product[{first}]",
                        product.gtin
                    ),
                );
            }
            products.push(product);
        }
    }
    if let Some(client) = &client {
        check_serialbox_pools(&client.serial_source, &products, raw_client, loc);
    }
    let all_products_valid = products.len() == raw.product.len();
    match client {
        Some(client) if all_products_valid => Some(ClientConfig { client, products }),
        _ => None,
    }
}
