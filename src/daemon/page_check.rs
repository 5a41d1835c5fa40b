//! The store's page check beside the daemon's start. `Store::open` checks every page
//! before anything else, which grows with the file (about 4 ms per MiB: 328 ms for a
//! store of a million serials); the daemon instead opens the store without it and
//! runs it here, on a thread and a read-only connection of its own, while it
//! connects the devices and recovers. Until the check has passed, the daemon holds
//! back every request that would start production (a batch start or resume) and
//! answers it afterwards; a damaged store stops the daemon as any store failure does.
//! See ARCHITECTURE.md, "Store integrity".

use std::path::PathBuf;

use tokio::sync::oneshot;

use crate::control::protocol::Request;
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

/// Whether `request` starts production, and so waits for the check to pass.
pub fn waits_for_check(request: &Request) -> bool {
    matches!(
        request,
        Request::BatchStart { .. } | Request::BatchResume { .. }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_requests_that_start_production_wait() {
        let start = Request::BatchStart {
            gtin: "09506000134352".to_string(),
            lot: "L1".to_string(),
            expiry: "391231".to_string(),
            quantity: 1,
            client: None,
            challenge: 0,
        };
        let resume = Request::BatchResume {
            batch: None,
            signature: None,
        };
        assert!(waits_for_check(&start));
        assert!(waits_for_check(&resume));
        assert!(!waits_for_check(&Request::Status));
        assert!(!waits_for_check(&Request::Whoami));
    }
}
