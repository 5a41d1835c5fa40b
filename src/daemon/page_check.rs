//! The store's page check beside the daemon's start. `Store::open` checks every page
//! before anything else, which grows with the file (about 4 ms per MiB: 328 ms for a
//! store of a million serials); the daemon instead opens the store without it and
//! runs it here, on a thread and a read-only connection of its own, while it answers
//! its socket and connects the devices. Until the check has passed, the daemon
//! writes nothing: recovery waits, the uploader and replenisher are not started, and
//! every request that could change something is held back and answered afterwards,
//! in order; a damaged store stops the daemon as any store failure does. See
//! ARCHITECTURE.md, "Store integrity".

use std::path::PathBuf;

use tokio::sync::oneshot;

use crate::store::{Store, StoreResult};

/// The check's answer, once it has one.
pub type PageCheckResult = oneshot::Receiver<StoreResult<()>>;

/// Starts the check of the store at `db` on its own thread.
pub fn spawn(db: PathBuf) -> Result<PageCheckResult, String> {
    let (tx, rx) = oneshot::channel();
    std::thread::Builder::new()
        .name("page-check".to_string())
        .spawn(move || {
            let _ = tx.send(Store::check_pages(&db));
        })
        .map_err(|e| format!("cannot start the store's page check: {e}"))?;
    Ok(rx)
}
