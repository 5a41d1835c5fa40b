//! Store integrity: whose file this is, whether its pages are sound, and the full
//! check behind `serialstation store check`.
//!
//! A station store is marked in the SQLite header: `application_id` is
//! [`APPLICATION_ID`] and `user_version` is the schema version. Opening classifies the
//! file first ([`identify`]): an empty file becomes a new store; a marked store, or
//! one written before the mark existed (it has the station's own tables), is the
//! station's; anything else is another application's database and is refused before
//! a single byte is written to it.
//!
//! Every open then runs SQLite's `quick_check` (page structure, record formats,
//! NOT NULL and CHECK constraints; not index contents), so a damaged page refuses the
//! store before any write; `store check` adds the full `integrity_check` (indexes
//! too), the foreign keys, the audit chain and its anchors. See ARCHITECTURE.md,
//! "Store integrity".

use rusqlite::{Connection, ErrorCode};

use crate::store::error::{StoreError, StoreResult};

/// `PRAGMA application_id` of every station store: "SSN1" in ASCII.
pub const APPLICATION_ID: i32 = 0x5353_4E31;

/// How many of SQLite's problem lines a message quotes.
const QUOTED_PROBLEMS: usize = 5;

/// What an opened SQLite file turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Identity {
    /// No tables and no schema version: a new file, to become a store.
    Empty,
    /// Carries the station's mark.
    Station,
    /// The station's tables without the mark: written before the mark existed; the
    /// next migration marks it.
    UnmarkedStation,
    /// Someone else's database.
    Foreign {
        application_id: i32,
        tables: Vec<String>,
    },
}

/// Reads the header and the table list, without writing anything.
pub(crate) fn identify(conn: &Connection, shown: &str) -> StoreResult<Identity> {
    let read = |e: rusqlite::Error| classify_open_error(e, shown);
    let application_id: i32 = conn
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .map_err(read)?;
    let user_version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(read)?;
    let mut stmt = conn
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
        )
        .map_err(read)?;
    let tables = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .map_err(read)?
        .collect::<Result<Vec<String>, _>>()
        .map_err(read)?;
    if application_id == APPLICATION_ID {
        return Ok(Identity::Station);
    }
    if application_id == 0 {
        if tables.is_empty() && user_version == 0 {
            return Ok(Identity::Empty);
        }
        let ours = ["schema_migrations", "serials", "audit", "batches"];
        if ours.iter().all(|t| tables.iter().any(|have| have == t)) {
            return Ok(Identity::UnmarkedStation);
        }
    }
    Ok(Identity::Foreign {
        application_id,
        tables,
    })
}

/// The error for a foreign database: what it is and what to do.
pub(crate) fn foreign_error(shown: &str, application_id: i32, tables: &[String]) -> StoreError {
    let what = if application_id != 0 {
        format!("its header carries application id {application_id:#010x}, not the station's")
    } else {
        let mut listed: Vec<&str> = tables.iter().take(5).map(String::as_str).collect();
        if tables.len() > listed.len() {
            listed.push("…");
        }
        format!("it holds other tables ({})", listed.join(", "))
    };
    StoreError::Foreign(format!(
        "{shown} is another application's SQLite database, not a serialstation store ({what}); \
         nothing was written to it. Point --db (or SERIALSTATION_DB) at the station's store, \
         or at a new file name to create one"
    ))
}

/// Turns an error met while first reading a file into the message an operator needs.
pub(crate) fn classify_open_error(e: rusqlite::Error, shown: &str) -> StoreError {
    match e.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) => StoreError::Foreign(format!(
            "{shown} is not an SQLite database (or it is encrypted or damaged beyond its header): \
             point --db at the station's store; if this is the store, restore it from its last backup \
             (README: \"Restoring a store\")"
        )),
        Some(ErrorCode::DatabaseCorrupt) => damaged(shown, &[e.to_string()]),
        _ => StoreError::Sqlite {
            context: format!("reading the header of {shown}"),
            source: e,
        },
    }
}

/// The error for a store whose pages are damaged.
pub(crate) fn damaged(shown: &str, problems: &[String]) -> StoreError {
    let mut quoted: Vec<String> = problems.iter().take(QUOTED_PROBLEMS).cloned().collect();
    if problems.len() > QUOTED_PROBLEMS {
        quoted.push(format!("and {} more", problems.len() - QUOTED_PROBLEMS));
    }
    StoreError::Damaged(format!(
        "the store {shown} is damaged ({}); nothing was written to it. Stop the daemon, keep the \
         damaged file for investigation, and restore the last backup (README: \"Restoring a store\"); `serialstation store check` lists every problem",
        quoted.join("; ")
    ))
}

/// SQLite's quick check: every page's structure and every row's format. Cost grows
/// with the file (see BENCHMARKS.md, "Store integrity"), no index contents.
pub(crate) fn quick_check(conn: &Connection, shown: &str) -> StoreResult<()> {
    let problems = pragma_check(conn, "quick_check", shown)?;
    if problems.is_empty() {
        Ok(())
    } else {
        Err(damaged(shown, &problems))
    }
}

/// Runs `PRAGMA <which>` (quick_check or integrity_check) and returns the problems it
/// lists (empty when it says "ok").
pub(crate) fn pragma_check(
    conn: &Connection,
    which: &str,
    shown: &str,
) -> StoreResult<Vec<String>> {
    let run = || -> rusqlite::Result<Vec<String>> {
        let mut stmt = conn.prepare(&format!("PRAGMA {which}"))?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        rows.collect()
    };
    match run() {
        Ok(lines) if lines.len() == 1 && lines[0] == "ok" => Ok(Vec::new()),
        Ok(lines) => Ok(lines),
        Err(e) => match e.sqlite_error_code() {
            Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => Ok(vec![e.to_string()]),
            _ => Err(StoreError::Sqlite {
                context: format!("checking the pages of {shown}"),
                source: e,
            }),
        },
    }
}

/// Rows that break a foreign key, as "table row N refers to a missing parent".
pub(crate) fn foreign_key_problems(conn: &Connection, shown: &str) -> StoreResult<Vec<String>> {
    let run = || -> rusqlite::Result<Vec<String>> {
        let mut stmt = conn.prepare("PRAGMA foreign_key_check")?;
        let rows = stmt.query_map([], |r| {
            let table: String = r.get(0)?;
            let rowid: Option<i64> = r.get(1)?;
            let parent: String = r.get(2)?;
            Ok(match rowid {
                Some(id) => format!("{table} row {id} refers to a missing row of {parent}"),
                None => format!("a row of {table} refers to a missing row of {parent}"),
            })
        })?;
        rows.collect()
    };
    run().or_else(|e| match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseCorrupt) => Ok(vec![e.to_string()]),
        _ => Err(StoreError::Sqlite {
            context: format!("checking the foreign keys of {shown}"),
            source: e,
        }),
    })
}

/// What `serialstation store check` found.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct StoreCheck {
    pub path: String,
    pub schema_version: i64,
    /// SQLite's `integrity_check` lines (empty when sound).
    pub page_problems: Vec<String>,
    /// Rows that break a foreign key.
    pub foreign_key_problems: Vec<String>,
    /// The audit chain and its anchors (None when the pages are too damaged to
    /// read it).
    pub audit: Option<crate::store::AuditVerification>,
    /// Any other reason the check could not finish.
    pub other_problems: Vec<String>,
}

impl StoreCheck {
    pub fn is_sound(&self) -> bool {
        self.page_problems.is_empty()
            && self.foreign_key_problems.is_empty()
            && self.other_problems.is_empty()
            && self.audit.as_ref().is_some_and(|a| a.is_intact())
    }
}

/// The full check of the store at `path`, read-only (it never migrates or writes,
/// so it runs on a damaged store, and beside a running daemon).
pub fn full_check(path: &std::path::Path) -> StoreResult<StoreCheck> {
    let shown = path.display().to_string();
    if !path.is_file() {
        return Err(StoreError::NotFound(format!(
            "there is no store at {shown}: check --db (or SERIALSTATION_DB)"
        )));
    }
    let conn = Connection::open_with_flags(
        path,
        // Read-write without create, so that a write-ahead-logged store opens even
        // when its shared-memory file is not there yet; nothing here writes.
        rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| classify_open_error(e, &shown))?;
    let _ = conn.busy_timeout(std::time::Duration::from_secs(10));
    let mut check = StoreCheck {
        path: shown.clone(),
        ..StoreCheck::default()
    };
    match identify(&conn, &shown) {
        Ok(Identity::Station | Identity::UnmarkedStation) => {}
        Ok(Identity::Empty) => {
            check
                .other_problems
                .push(format!("{shown} is an empty database, not a store"));
            return Ok(check);
        }
        Ok(Identity::Foreign {
            application_id,
            tables,
        }) => return Err(foreign_error(&shown, application_id, &tables)),
        Err(StoreError::Damaged(message)) => {
            check.page_problems.push(message);
            return Ok(check);
        }
        Err(e) => return Err(e),
    }
    check.schema_version = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap_or(0);
    check.page_problems = pragma_check(&conn, "integrity_check", &shown)?;
    check.foreign_key_problems = foreign_key_problems(&conn, &shown)?;
    match crate::store::audit::verify(&conn) {
        Ok(mut v) => {
            match crate::store::anchor::check(&conn, &crate::store::anchor::anchor_path(path)) {
                Ok(a) => v.anchor = Some(a),
                Err(e) => check
                    .other_problems
                    .push(format!("the audit anchors cannot be checked: {e}")),
            }
            check.audit = Some(v);
        }
        Err(e) => check
            .other_problems
            .push(format!("the audit trail cannot be read: {e}")),
    }
    Ok(check)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn memory() -> Connection {
        Connection::open_in_memory().unwrap()
    }

    #[test]
    fn an_empty_database_is_empty() {
        assert_eq!(identify(&memory(), "m").unwrap(), Identity::Empty);
    }

    #[test]
    fn another_applications_tables_are_foreign() {
        let c = memory();
        c.execute_batch("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT);")
            .unwrap();
        let Identity::Foreign { tables, .. } = identify(&c, "m").unwrap() else {
            panic!("not foreign")
        };
        assert_eq!(tables, vec!["customers".to_string()]);
        let message = foreign_error("m", 0, &tables).to_string();
        assert!(message.contains("customers"), "{message}");
        assert!(message.contains("nothing was written"), "{message}");
    }

    #[test]
    fn another_applications_mark_is_foreign_even_without_tables() {
        let c = memory();
        c.pragma_update(None, "application_id", 0x0f05_5112)
            .unwrap();
        assert!(matches!(
            identify(&c, "m").unwrap(),
            Identity::Foreign {
                application_id: 0x0f05_5112,
                ..
            }
        ));
    }

    #[test]
    fn the_station_mark_is_recognised() {
        let c = memory();
        c.pragma_update(None, "application_id", APPLICATION_ID)
            .unwrap();
        assert_eq!(identify(&c, "m").unwrap(), Identity::Station);
    }

    #[test]
    fn a_sound_database_passes_the_checks() {
        let c = memory();
        c.execute_batch("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1);")
            .unwrap();
        assert!(quick_check(&c, "m").is_ok());
        assert!(pragma_check(&c, "integrity_check", "m").unwrap().is_empty());
        assert!(foreign_key_problems(&c, "m").unwrap().is_empty());
    }
}
