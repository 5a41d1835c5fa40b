//! The demo's packing step by hand: where no station builds a level (a product
//! with bundles has no case station), its containers are built level by level as
//! the product's hierarchy says, each closed, labelled and its label read back,
//! through the same store calls as `serialstation container`, as a packing
//! operator with a handheld scanner would. It also provides the SSCCs and sums up
//! what was built. Cases of packs are built by the real case station
//! (`case_line.rs`), pallets by the real pallet station (`pallet_line.rs`).

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
    /// What the case station did, when it built the cases.
    pub case_station: Option<String>,
    /// What the pallet station did, when it built the pallets.
    pub pallet_station: Option<String>,
}

fn product_of(store: &Store, gtin: &Gtin) -> Result<crate::config::Product, String> {
    store
        .product(gtin)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("GTIN {gtin} is not in the product master"))
}

/// Makes sure the client's SSCC pool holds enough for every container the batch
/// can fill, with room for labels that go to rework.
pub fn provide_ssccs(db: &Path, batch: BatchId, gtin: &Gtin) -> Result<(), String> {
    let mut store = Store::open_another(db).map_err(|e| e.to_string())?;
    let actor = Actor::new("demo-packer");
    let product = product_of(&store, gtin)?;
    if product.aggregation.is_empty() {
        return Ok(());
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
    let packs = store
        .loose_commissioned_serials(batch)
        .map_err(|e| e.to_string())?;
    let mut needed = 0u64;
    let mut children = packs.len() as u64;
    for level in &product.aggregation {
        children = children.div_ceil(level.capacity.max(1));
        needed += children;
    }
    // Containers sent to rework never give their SSCC back.
    needed += needed / 4 + 4;
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
    Ok(())
}

/// Packs `batch` of `gtin` by its product's hierarchy, up to (not including)
/// `stop_before`; with `cases_done` the case station has built the cases and
/// packing starts above them. `Ok(None)` when the product has none.
pub fn pack_batch(
    db: &Path,
    batch: BatchId,
    gtin: &Gtin,
    cases_done: bool,
    stop_before: Option<Level>,
) -> Result<Option<Packed>, String> {
    provide_ssccs(db, batch, gtin)?;
    let mut store = Store::open_another(db).map_err(|e| e.to_string())?;
    let actor = Actor::new("demo-packer");
    let product = product_of(&store, gtin)?;
    if product.aggregation.is_empty() {
        return Ok(None);
    }
    let packs = store
        .loose_commissioned_serials(batch)
        .map_err(|e| e.to_string())?;

    let mut built = Vec::new();
    let mut below = Level::Pack;
    for level in &product.aggregation {
        if Some(level.level) == stop_before {
            break;
        }
        if cases_done && level.level == Level::Case {
            let verified = store
                .aggregation_reconciliation(batch)
                .map_err(|e| e.to_string())?
                .levels
                .iter()
                .find(|l| l.level == Level::Case.as_str())
                .map_or(0, |l| l.verified);
            built.push((Level::Case, verified));
            below = Level::Case;
            continue;
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
        case_station: None,
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
    let how = if packed.case_station.is_some() {
        "cases on the case station; pallets on the pallet station"
    } else {
        "cases as a packing operator with a handheld scanner; pallets on the pallet station"
    };
    let mut text = format!("aggregation: {built}, each labelled and its label read back ({how})\n");
    if let Some(station) = &packed.case_station {
        text.push_str(&format!("  {station}\n"));
    }
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
