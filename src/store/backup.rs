//! Online backup: a consistent copy of the store while the daemon keeps running.
//!
//! SQLite's backup API copies every page inside one read transaction of the source
//! (write-ahead logging lets the line keep committing meanwhile), so the copy is the
//! store as of one instant. The copy is written beside the destination under a
//! temporary name, checked (pages and mark), synced, and only then renamed into
//! place with its own anchor file, so a backup that exists is a complete one.
//! Restoring is a file copy while the daemon is stopped; README, "Restoring a store", says how.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::Connection;
use rusqlite::backup::{Backup, StepResult};

use crate::store::Store;
use crate::store::anchor;
use crate::store::error::{SqlContext, StoreError, StoreResult};
use crate::store::integrity;

/// How often a backup step that found the source busy is tried again.
const BUSY_RETRIES: u32 = 600;
const BUSY_PAUSE: Duration = Duration::from_millis(50);

/// What a finished backup holds.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BackupOutcome {
    pub path: PathBuf,
    pub anchor_path: PathBuf,
    pub bytes: u64,
    pub audit_rows: u64,
    pub audit_head: String,
}

impl Store {
    /// Copies the store to `destination` (which must not exist yet) and writes the
    /// copy's anchor file beside it.
    pub fn backup_to(&self, destination: &Path) -> StoreResult<BackupOutcome> {
        let shown = destination.display().to_string();
        let anchor_file = anchor::anchor_path(destination);
        for existing in [destination, anchor_file.as_path()] {
            if existing.exists() {
                return Err(StoreError::Invalid(format!(
                    "{} already exists: a backup never overwrites a file; choose a new name",
                    existing.display()
                )));
            }
        }
        let partial = partial_path(destination);
        remove_if_present(&partial)?;
        let result = self.copy_to(&partial, &shown);
        let (audit_rows, audit_head) = match result {
            Ok(head) => head,
            Err(e) => {
                let _ = std::fs::remove_file(&partial);
                return Err(e);
            }
        };
        let io =
            |what: &str, e: std::io::Error| StoreError::Invalid(format!("{what} {shown}: {e}"));
        File::open(&partial)
            .and_then(|f| f.sync_all())
            .map_err(|e| io("cannot sync the backup", e))?;
        std::fs::rename(&partial, destination).map_err(|e| io("cannot move the backup to", e))?;
        anchor::append(&anchor_file, audit_rows, &audit_head)?;
        if let Some(folder) = destination.parent().filter(|p| !p.as_os_str().is_empty()) {
            // The rename is durable once the folder is synced.
            let _ = File::open(folder).and_then(|f| f.sync_all());
        }
        let bytes = std::fs::metadata(destination)
            .map(|m| m.len())
            .map_err(|e| io("cannot read the size of", e))?;
        Ok(BackupOutcome {
            path: destination.to_path_buf(),
            anchor_path: anchor_file,
            bytes,
            audit_rows,
            audit_head,
        })
    }

    /// Copies every page to `partial`, checks the copy and returns its audit head.
    fn copy_to(&self, partial: &Path, shown: &str) -> StoreResult<(u64, String)> {
        let what = format!("backing the store up to {shown}");
        let mut copy = Connection::open(partial).context(&what)?;
        {
            let backup = Backup::new(&self.conn, &mut copy).context(&what)?;
            let mut busy = 0;
            loop {
                match backup.step(-1).context(&what)? {
                    StepResult::Done => break,
                    StepResult::More => {}
                    StepResult::Busy | StepResult::Locked => {
                        busy += 1;
                        if busy > BUSY_RETRIES {
                            return Err(StoreError::Invalid(format!(
                                "{what}: the store stayed locked for {} s; try again",
                                (BUSY_PAUSE * BUSY_RETRIES).as_secs()
                            )));
                        }
                        std::thread::sleep(BUSY_PAUSE);
                    }
                    // StepResult is non-exhaustive; any other answer is treated as busy.
                    _ => std::thread::sleep(BUSY_PAUSE),
                }
            }
        }
        let problems = integrity::pragma_check(&copy, "quick_check", shown)?;
        if !problems.is_empty() {
            return Err(integrity::damaged(shown, &problems));
        }
        if integrity::identify(&copy, shown)? != integrity::Identity::Station {
            return Err(StoreError::Corrupt(format!(
                "{what}: the copy does not carry the station's mark"
            )));
        }
        let head = anchor::head(&copy)?;
        copy.close()
            .map_err(|(_, e)| e)
            .context(&format!("closing the backup {shown}"))?;
        Ok(head)
    }
}

fn partial_path(destination: &Path) -> PathBuf {
    let mut name = destination.as_os_str().to_os_string();
    name.push(".partial");
    PathBuf::from(name)
}

fn remove_if_present(path: &Path) -> StoreResult<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(StoreError::Invalid(format!(
            "cannot remove the unfinished backup {}: {e}",
            path.display()
        ))),
    }
}
