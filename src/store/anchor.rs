//! The audit anchor: the audit trail's row count and head hash, written outside the
//! store so that rows cut off the end of the trail can be seen.
//!
//! The hash chain inside the store shows any row changed, inserted or removed in the
//! middle, but not rows removed from the end: the shorter chain is still a valid
//! chain. So the store appends `rows=N head=HASH at=TIME` to an append-only text file
//! beside it (`<store>.anchor`, fsynced) whenever a command that changed the trail
//! ends, when the daemon stops, and every few seconds while the daemon runs; every
//! batch report prints the same pair. `audit verify` then checks that row N of the
//! trail still exists and still has hash HASH, for every anchor line.
//!
//! What it cannot see: rows removed that were written after the last anchor (at
//! most the daemon's anchor interval), and an attacker who rewrites the anchor file
//! too. A backup carries its own anchor file (`store backup`), so a restored store
//! checks against the anchors of the moment it was copied.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension};

use crate::store::audit::GENESIS_HASH;
use crate::store::clock;
use crate::store::error::{SqlContext, StoreError, StoreResult};

/// The anchor file that belongs to the store at `db`.
pub fn anchor_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_os_string();
    name.push(".anchor");
    PathBuf::from(name)
}

/// One line of the anchor file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Anchor {
    /// Rows in the trail when the anchor was written (the id of its last row).
    pub rows: u64,
    /// Hash of row `rows` (the genesis hash when `rows` is 0).
    pub head: String,
    /// UTC time the anchor was written.
    pub at: String,
}

impl Anchor {
    fn line(&self) -> String {
        format!("rows={} head={} at={}\n", self.rows, self.head, self.at)
    }

    fn parse(line: &str) -> Option<Anchor> {
        let mut rows = None;
        let mut head = None;
        let mut at = None;
        for field in line.split_whitespace() {
            let (key, value) = field.split_once('=')?;
            match key {
                "rows" => rows = value.parse::<u64>().ok(),
                "head" if value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit()) => {
                    head = Some(value.to_string());
                }
                "at" => at = Some(value.to_string()),
                _ => return None,
            }
        }
        Some(Anchor {
            rows: rows?,
            head: head?,
            at: at?,
        })
    }
}

/// The trail's current head: (rows, hash of the last row).
pub(crate) fn head(conn: &Connection) -> StoreResult<(u64, String)> {
    let last: Option<(i64, String)> = conn
        .prepare_cached("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1")
        .context("reading the audit trail's head")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()
        .context("reading the audit trail's head")?;
    Ok(match last {
        Some((id, hash)) => (u64::try_from(id).unwrap_or(0), hash),
        None => (0, GENESIS_HASH.to_string()),
    })
}

/// Appends one anchor line and makes it durable.
pub(crate) fn append(path: &Path, rows: u64, head: &str) -> StoreResult<Anchor> {
    let anchor = Anchor {
        rows,
        head: head.to_string(),
        at: clock::now(),
    };
    let io = |e: std::io::Error| {
        StoreError::Invalid(format!(
            "cannot write the audit anchor file {}: {e} (check the permissions of the store's folder)",
            path.display()
        ))
    };
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(io)?;
    file.write_all(anchor.line().as_bytes()).map_err(io)?;
    file.sync_data().map_err(io)?;
    Ok(anchor)
}

/// What checking the trail against its anchor file found.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct AnchorCheck {
    /// Anchor lines read.
    pub anchors: u64,
    /// The last anchor, if any.
    pub last: Option<Anchor>,
    /// The first problem, in words: rows missing at the end, a rewritten row, a
    /// missing or unreadable anchor file.
    pub problem: Option<String>,
}

/// Checks every anchor line against the trail. A missing file is a problem only when
/// the trail has rows (a store with no audit rows has nothing to anchor yet).
pub(crate) fn check(conn: &Connection, path: &Path) -> StoreResult<AnchorCheck> {
    let (rows_now, _) = head(conn)?;
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let problem = (rows_now > 0).then(|| {
                format!(
                    "the anchor file {} is missing, so rows cut off the end of the trail cannot be ruled out: \
                     copy it back from where the store came from (a backup has its own), or, if it is known \
                     to be lost, start a new one with `serialstation audit anchor --new --reason \"...\"`",
                    path.display()
                )
            });
            return Ok(AnchorCheck {
                problem,
                ..AnchorCheck::default()
            });
        }
        Err(e) => {
            return Ok(AnchorCheck {
                problem: Some(format!(
                    "cannot read the anchor file {}: {e}",
                    path.display()
                )),
                ..AnchorCheck::default()
            });
        }
    };
    let mut result = AnchorCheck::default();
    let mut missing: Option<Anchor> = None;
    let mut stmt = conn
        .prepare_cached("SELECT hash FROM audit WHERE id = ?1")
        .context("reading the audit trail")?;
    for (index, line) in BufReader::new(file).lines().enumerate() {
        let number = index + 1;
        let line = match line {
            Ok(l) => l,
            Err(e) => {
                result.problem = Some(format!(
                    "cannot read line {number} of the anchor file {}: {e}",
                    path.display()
                ));
                return Ok(result);
            }
        };
        if line.trim().is_empty() {
            continue;
        }
        let Some(anchor) = Anchor::parse(&line) else {
            result.problem = Some(format!(
                "line {number} of the anchor file {} is not an anchor (expected `rows=N head=HASH at=TIME`): \
                 the file was edited",
                path.display()
            ));
            return Ok(result);
        };
        result.anchors += 1;
        if anchor.rows > 0 {
            let id = i64::try_from(anchor.rows).unwrap_or(i64::MAX);
            let hash: Option<String> = stmt
                .query_row([id], |r| r.get(0))
                .optional()
                .context("reading the audit trail")?;
            match hash {
                None => {
                    // Keep reading: the latest anchor names everything that is gone.
                    if missing
                        .as_ref()
                        .is_none_or(|m: &Anchor| anchor.rows > m.rows)
                    {
                        missing = Some(anchor.clone());
                    }
                }
                Some(hash) if hash != anchor.head => {
                    result.problem = Some(format!(
                        "row {} of the trail is not the row anchored at {} (its hash was {}, now {}): \
                         the trail was rewritten",
                        anchor.rows, anchor.at, anchor.head, hash
                    ));
                    result.last = Some(anchor);
                    return Ok(result);
                }
                Some(_) => {}
            }
        }
        result.last = Some(anchor);
    }
    if let Some(anchor) = missing {
        let gone = if rows_now + 1 == anchor.rows {
            format!("row {} was removed from the end", anchor.rows)
        } else {
            format!(
                "rows {} to {} were removed from the end",
                rows_now + 1,
                anchor.rows
            )
        };
        result.problem = Some(format!(
            "the trail ends at row {rows_now}, but the anchor written at {} records row {} (hash {}): {gone}",
            anchor.at, anchor.rows, anchor.head
        ));
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_anchor_line_reads_back() {
        let a = Anchor {
            rows: 12,
            head: "ab".repeat(32),
            at: "2026-12-04T18:00:00.000Z".to_string(),
        };
        assert_eq!(Anchor::parse(a.line().trim_end()), Some(a));
    }

    #[test]
    fn edited_lines_are_not_anchors() {
        assert_eq!(Anchor::parse("rows=12 head=xyz at=now"), None);
        assert_eq!(Anchor::parse("rows=twelve"), None);
        assert_eq!(Anchor::parse("hello"), None);
    }

    #[test]
    fn the_anchor_file_sits_beside_the_store() {
        assert_eq!(
            anchor_path(Path::new("/x/serialstation.sqlite")),
            PathBuf::from("/x/serialstation.sqlite.anchor")
        );
    }
}
