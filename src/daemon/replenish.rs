//! Automatic replenishment: while a batch is active, its pool is topped up from the
//! client's serial source (site server, SerialBox) whenever it falls below the
//! product's low-water mark. Runs on its own thread with its own store connection,
//! so a slow serial server never delays the line.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::pool::request::{replenishment_needed, request_serials};
use crate::store::{Actor, Store};

/// How often the pools of active batches are checked.
const CHECK_EVERY: Duration = Duration::from_secs(5);
/// After a failed request, the same GTIN waits this long.
const AFTER_FAILURE: Duration = Duration::from_secs(30);

/// Starts the replenisher thread; it runs until `stop` turns true.
pub fn spawn(
    db: PathBuf,
    stop: watch::Receiver<bool>,
) -> Result<std::thread::JoinHandle<()>, String> {
    std::thread::Builder::new()
        .name("replenisher".to_string())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(e) => {
                    tracing::error!("the replenisher cannot start its runtime: {e}");
                    return;
                }
            };
            runtime.block_on(run(db, stop));
        })
        .map_err(|e| format!("cannot start the replenisher thread: {e}"))
}

async fn run(db: PathBuf, mut stop: watch::Receiver<bool>) {
    let mut store = match Store::open_another(&db) {
        Ok(store) => store,
        Err(e) => {
            tracing::error!("the replenisher cannot open the store: {e}");
            return;
        }
    };
    if let Err(e) = store.set_page_cache_kib(8 * 1024) {
        tracing::warn!("replenisher: {e}");
    }
    let actor = Actor::new("replenisher");
    let mut not_before: HashMap<String, Instant> = HashMap::new();
    while !*stop.borrow() {
        if let Err(e) = check_once(&mut store, &actor, &mut not_before).await {
            tracing::warn!("replenisher: {e}");
        }
        tokio::select! {
            _ = stop.changed() => {}
            _ = tokio::time::sleep(CHECK_EVERY) => {}
        }
    }
}

async fn check_once(
    store: &mut Store,
    actor: &Actor,
    not_before: &mut HashMap<String, Instant>,
) -> Result<(), String> {
    let batches = store.unfinished_line_batches().map_err(|e| e.to_string())?;
    for (line, state) in batches {
        if !matches!(state.as_str(), "running" | "paused" | "challenge") {
            continue;
        }
        let gtin = line.gtin.to_string();
        if not_before.get(&gtin).is_some_and(|t| Instant::now() < *t) {
            continue;
        }
        let Some(product) = store.product(&line.gtin).map_err(|e| e.to_string())? else {
            continue;
        };
        let Some(client) = store.client(&line.client_id).map_err(|e| e.to_string())? else {
            continue;
        };
        let Some(pool) = store
            .pool_status(Some(&line.gtin))
            .map_err(|e| e.to_string())?
            .into_iter()
            .next()
        else {
            continue;
        };
        let Some(count) = replenishment_needed(&pool, &product, &client.serial_source) else {
            continue;
        };
        tracing::info!(%gtin, count, batch = line.batch.0, "pool below its low-water mark: requesting serials");
        match request_serials(store, &client, &line.gtin, count, actor).await {
            Ok(outcome) => {
                tracing::info!(
                    %gtin,
                    imported = outcome.imported,
                    requested = outcome.requested,
                    "serials requested from {}",
                    outcome.source
                );
                if !outcome.fulfilled {
                    tracing::warn!(%gtin, "the serial server granted fewer serials than asked: its pool is running out");
                    not_before.insert(gtin, Instant::now() + AFTER_FAILURE);
                }
            }
            Err(e) => {
                tracing::warn!(%gtin, "requesting serials failed: {e}");
                not_before.insert(gtin, Instant::now() + AFTER_FAILURE);
            }
        }
    }
    Ok(())
}
