//! The demo's packing step: once the batch is closed, its commissioned packs go into
//! containers level by level as the product's hierarchy says (cases of 12 for the
//! example client), each closed, labelled and its label read back, through the
//! same store calls as `serialstation container`. It stands in for a packing
//! operator with a handheld scanner below the pallet: the line's case station is
//! not built yet (ARCHITECTURE.md, "Aggregation"). Pallets are built by the real
//! pallet station (`pallet_line.rs`).

use std::path::Path;

use crate::aggregation::{Level, Scanned};
use crate::gs1::{Gtin, Sscc};
use crate::store::containers::AggregationReconciliation;
use crate::store::{Actor, BatchId, Store};

/// What the packing step built.
#[derive(Debug, Clone)]
pub struct Packed {
    /// Containers built per level, lowest first.
    pub built: Vec<(Level, u64)>,
    pub reconciliation: AggregationReconciliation,
    /// What the pallet station did, when it built the pallets.
    pub pallet_station: Option<String>,
}

/// Packs `batch` of `gtin` by its product's hierarchy, up to (not including)
/// `stop_before`. `Ok(None)` when the product has none.
pub fn pack_batch(
    db: &Path,
    batch: BatchId,
    gtin: &Gtin,
    stop_before: Option<Level>,
) -> Result<Option<Packed>, String> {
    let mut store = Store::open_another(db).map_err(|e| e.to_string())?;
    let actor = Actor::new("demo-packer");
    let product = store
        .product(gtin)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("GTIN {gtin} is not in the product master"))?;
    if product.aggregation.is_empty() {
        return Ok(None);
    }
    let client = store
        .client(&product.client_id)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("client {} is not in the store", product.client_id))?;
    let sscc = client.sscc.ok_or_else(|| {
        format!(
            "client {} has a packaging hierarchy but no [client.sscc]",
            client.id
        )
    })?;

    // Enough SSCCs for every container this batch can fill.
    let packs = store
        .loose_commissioned_serials(batch)
        .map_err(|e| e.to_string())?;
    let mut needed = 0u64;
    let mut children = packs.len() as u64;
    for level in &product.aggregation {
        children = children.div_ceil(level.capacity.max(1));
        needed += children;
    }
    let available = store
        .sscc_pool_status(&client.id)
        .map_err(|e| e.to_string())?
        .available;
    if available < needed {
        store
            .generate_ssccs(
                &client.id,
                sscc.extension_digit,
                &sscc.company_prefix,
                needed - available,
                &actor,
            )
            .map_err(|e| e.to_string())?;
    }

    let mut built = Vec::new();
    let mut below = Level::Pack;
    for level in &product.aggregation {
        if Some(level.level) == stop_before {
            break;
        }
        let loose: Vec<Scanned> = if below == Level::Pack {
            packs
                .iter()
                .map(|serial| Scanned::Pack {
                    gtin: gtin.clone(),
                    serial: serial.clone(),
                })
                .collect()
        } else {
            store
                .loose_verified_containers(batch, below)
                .map_err(|e| e.to_string())?
                .iter()
                .map(|text| Sscc::parse(text).map(Scanned::Container))
                .collect::<Result<_, _>>()
                .map_err(|e| e.message)?
        };
        let mut count = 0u64;
        for group in loose.chunks(level.capacity.max(1) as usize) {
            let partial = (group.len() as u64) < level.capacity;
            if partial && !level.partial_at_batch_end {
                // The client keeps these loose rather than ship a short container.
                break;
            }
            let container = store
                .open_container(batch, level.level, below, level.capacity, &actor)
                .map_err(|e| e.to_string())?;
            let id = Sscc::parse(&container.sscc).map_err(|e| e.message)?;
            store.pack(&id, group, &actor).map_err(|e| e.to_string())?;
            store
                .close_container(&id, partial, &actor)
                .map_err(|e| e.to_string())?;
            store
                .container_label_printed(&id, "demo label printer", &actor)
                .map_err(|e| e.to_string())?;
            store
                .container_label_verified(&id, &format!("]C100{}", container.sscc), &actor)
                .map_err(|e| e.to_string())?;
            count += 1;
        }
        built.push((level.level, count));
        below = level.level;
    }
    let reconciliation = store
        .aggregation_reconciliation(batch)
        .map_err(|e| e.to_string())?;
    Ok(Some(Packed {
        built,
        reconciliation,
        pallet_station: None,
    }))
}

/// Adds the pallets the pallet station built and the reconciliation after them.
pub fn add_pallets(
    db: &Path,
    batch: BatchId,
    packed: &mut Packed,
    run: &super::pallet_line::PalletRun,
) -> Result<(), String> {
    let store = Store::open_another(db).map_err(|e| e.to_string())?;
    packed.reconciliation = store
        .aggregation_reconciliation(batch)
        .map_err(|e| e.to_string())?;
    let verified = packed
        .reconciliation
        .levels
        .iter()
        .find(|l| l.level == Level::Pallet.as_str())
        .map_or(0, |l| l.verified);
    packed.built.push((Level::Pallet, verified));
    packed.pallet_station = Some(format!(
        "pallet station: {} cases over the stacker, {} diverted, {} label reprints (log {})",
        run.cases,
        run.truth.diverted.len(),
        run.reprints,
        run.log.display()
    ));
    Ok(())
}

/// The packing step in a few lines, with the reconciliation at every level.
pub fn describe(packed: &Packed) -> String {
    let r = &packed.reconciliation;
    let built = packed
        .built
        .iter()
        .map(|(level, n)| format!("{n} {level}(s)"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut text = format!(
        "aggregation: {built}, each labelled and its label read back (cases as a packing operator with a handheld scanner; pallets on the pallet station)\n"
    );
    if let Some(station) = &packed.pallet_station {
        text.push_str(&format!("  {station}\n"));
    }
    text.push_str(&format!(
        "  packs: {} commissioned = {} aggregated + {} loose{}\n",
        r.commissioned_packs,
        r.packs_aggregated,
        r.packs_loose,
        if r.packs_balance() {
            ""
        } else {
            "  DOES NOT BALANCE"
        }
    ));
    for level in &r.levels {
        text.push_str(&format!(
            "  {}s: {} verified holding {} children, {} labelled, {} closed, {} open, {} reworked\n",
            level.level,
            level.verified,
            level.children_in_verified,
            level.labelled,
            level.closed,
            level.open,
            level.rework
        ));
    }
    text.push_str(&format!(
        "  SSCCs: {} allocated = {} used + {} invalidated + {} in progress{}\n",
        r.ssccs_allocated,
        r.ssccs_used,
        r.ssccs_invalidated,
        r.ssccs_in_progress,
        if r.ssccs_balance() {
            ""
        } else {
            "  DOES NOT BALANCE"
        }
    ));
    text
}
