//! A stored container's logistic label: the facts from the store (the batch's
//! GTIN, lot, expiry and start date, the packs under the container, the label
//! AIs of the product's level) made into the label content
//! (`aggregation::logistic_label`) and its ZPL (`devices::zpl::logistic`).

use crate::aggregation::logistic_label::{self, LabelFacts, LogisticLabel};
use crate::config::LabelLayout;
use crate::gs1::{Gtin, Sscc};
use crate::store::Store;
use serialstation_devices::zpl::LogisticLabelFormat;

/// The label of container `sscc` as it stands now, and its ZPL.
pub fn container_label(
    store: &Store,
    sscc: &Sscc,
) -> Result<(LogisticLabel, LogisticLabelFormat), String> {
    let tree = store.container_tree(sscc).map_err(|e| e.to_string())?;
    let container = &tree.container;
    let batch = store
        .batch(container.batch)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("batch {} is not in this store", container.batch.0))?;
    let gtin = Gtin::parse(&container.gtin).map_err(|e| e.message)?;
    let layout = store
        .product(&gtin)
        .map_err(|e| e.to_string())?
        .and_then(|p| {
            p.aggregation_level(container.level)
                .map(|l| l.label.clone())
        })
        .unwrap_or_else(LabelLayout::default);
    let produced = logistic_label::yymmdd(&batch.created_at).ok_or_else(|| {
        format!(
            "batch {} has no readable start date ({}): the store is damaged",
            batch.id.0, batch.created_at
        )
    })?;
    let facts = LabelFacts {
        sscc,
        gtin: &gtin,
        lot: &batch.lot,
        expiry: &batch.expiry,
        produced: &produced,
        packs: tree.pack_total(),
    };
    let label = logistic_label::build(&facts, &layout.ais)?;
    let format = LogisticLabelFormat {
        text: label.lines.clone(),
        linear: label.linear.to_encoder_data().into_bytes(),
        linear_text: format!("(00) {}", label.sscc.as_str()),
        matrix: label.matrix.to_encoder_data().into_bytes(),
    };
    Ok((label, format))
}
