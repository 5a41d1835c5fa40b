//! The SQLite store: schema, migrations, and every read and write of state.
//!
//! [`Store`] is the one entry point; its methods are split by concern:
//! - [`schema`]: versioned migrations and the rules the database enforces itself;
//! - [`state`]: the OPEN-SCS serial states and the allowed-transition table (pure);
//! - [`products`]: clients and products (the product master);
//! - [`serials`]: pools, import, generation, block allocation, state changes, status;
//! - [`batches`]: batches and items (minimal; the line engine extends them);
//! - [`audit`]: the hash-chained audit trail and its verification;
//! - [`anchor`]: the trail's head written outside the file, so truncation shows;
//! - [`integrity`]: whose file this is, page checks, the full store check;
//! - [`backup`]: online backups through SQLite's backup API;
//! - [`containers`]: aggregation: containers and their children;
//! - [`outbox`]: work for the uploader (minimal);
//! - [`users`]: enrolled users, roles, password hashes and signatures;
//! - [`sscc_pool`]: the SSCCs containers are labelled with (generated, imported,
//!   requested);
//!
//! Durability: WAL with `synchronous=FULL`, so a committed transaction survives power
//! loss (state here decides whether a serial may ever be printed). The one exception
//! is asked for explicitly: line records no action outside the process waits on
//! commit with [`Durability::Deferred`] and become power-safe with the next synced
//! commit (ARCHITECTURE.md, "Durability"). Foreign keys on; a busy timeout so that
//! the CLI and the daemon can share the file. Every method that changes state writes its audit row in the same transaction.

pub mod actor;
pub mod anchor;
pub mod audit;
pub mod backup;
pub mod batches;
pub mod clock;
pub mod containers;
pub mod decommission;
pub mod error;
pub mod integrity;
pub mod line_records;
pub mod outbox;
pub mod products;
pub mod record_reads;
pub mod recovery_reads;
pub mod schema;
pub mod serials;
pub mod sscc_pool;
pub mod state;
pub mod users;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};

pub use actor::Actor;
pub use audit::{AuditEntry, AuditVerification, BrokenAuditRow};
pub use batches::{Batch, BatchId, BatchState, NewBatch};
pub use error::{StoreError, StoreResult};
pub use outbox::{ClientOutboxStatus, OutboxEntry, OutboxId};
pub use serials::{
    AllocatedSerial, GenerateOutcome, ImportOutcome, ImportProblem, LineProblem, PoolStatus,
    PrinterProof, SerialId, SerialLine,
};
pub use state::{SerialState, can_transition};

use error::SqlContext;

/// Page cache ceiling per connection, in KiB (256 MiB).
const PAGE_CACHE_KIB: i64 = 256 * 1024;

/// How long a writer waits for another process's transaction before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Whether opening checks the store's pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PageCheck {
    Quick,
    AlreadyDone,
    /// Checked beside the caller ([`Store::check_pages`]), unless a migration is
    /// due: then at once, since a migration writes.
    Aside,
}

/// The station's store: one SQLite file.
pub struct Store {
    conn: Connection,
    path: PathBuf,
    /// The audit trail's head as last written to the anchor file; `None` when this
    /// store keeps no anchor file (it had audit rows but no anchor file when opened:
    /// `audit verify` reports that, and writing a new one would hide it).
    anchored: Option<(u64, String)>,
    /// Called before every write transaction begins (the whole-station simulation's
    /// crash point); `None` outside the simulation.
    write_hook: Option<WriteHook>,
    /// Commits are never synced (the whole-station simulation only).
    unsynced: bool,
}

/// When a write transaction's commit reaches the disk (ARCHITECTURE.md,
/// "Durability"). Every commit is atomic and survives a crash of the process; the
/// difference is power loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Synced before the commit returns (`synchronous=FULL`): what it records may
    /// be acted on outside the process at once. Every method of the store commits so.
    Synced,
    /// Written to the WAL without a sync of its own (`synchronous=NORMAL` for that
    /// commit): it survives a power loss from the next synced commit on, whose sync
    /// covers every frame written before it. Only for records no action outside the
    /// process waits on.
    Deferred,
}

/// A test hook run at the start of every write transaction ([`Store::set_write_hook`]).
#[doc(hidden)]
pub type WriteHook = Arc<dyn Fn() + Send + Sync>;

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

impl Store {
    /// Opens (creating if missing) the store at `path` and migrates it to the
    /// current schema. Refuses a store written by a newer program.
    pub fn open(path: impl AsRef<Path>) -> StoreResult<Store> {
        Store::open_with(path, PageCheck::Quick)
    }

    /// A further connection of a process that already opened the store with its
    /// page check (the daemon's uploader, replenisher and access threads): the
    /// mark is still checked, the pages are not checked again (see BENCHMARKS.md,
    /// "Store integrity", for what that saves on a large store).
    pub fn open_another(path: impl AsRef<Path>) -> StoreResult<Store> {
        Store::open_with(path, PageCheck::AlreadyDone)
    }

    /// Opens the store like [`Store::open`] (mark, schema, WAL) but leaves its page
    /// check to [`Store::check_pages`], which the caller runs beside it: the daemon,
    /// whose restart must not wait for a check that grows with the file (about 4 ms
    /// per MiB), and which writes nothing until that check has passed. A store with
    /// a migration due is checked here first, since migrating writes.
    pub fn open_checking_pages_aside(path: impl AsRef<Path>) -> StoreResult<Store> {
        Store::open_with(path, PageCheck::Aside)
    }

    /// SQLite's `quick_check` of the store's pages on a read-only connection of its
    /// own (a read transaction: writers go on meanwhile). The error says what is
    /// damaged and what to do, as at [`Store::open`].
    pub fn check_pages(path: impl AsRef<Path>) -> StoreResult<()> {
        let path = path.as_ref();
        let shown = path.display().to_string();
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .context(&format!(
            "opening the store {shown} to check its pages (check the path and its permissions)"
        ))?;
        conn.busy_timeout(BUSY_TIMEOUT)
            .context("setting the busy timeout")?;
        integrity::quick_check(&conn, &shown)
    }

    fn open_with(path: impl AsRef<Path>, check: PageCheck) -> StoreResult<Store> {
        let path = path.as_ref().to_path_buf();
        let shown = path.display().to_string();
        let mut conn = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .context(&format!(
            "opening the store {shown} (check the path and its permissions)"
        ))?;
        conn.busy_timeout(BUSY_TIMEOUT)
            .context("setting the busy timeout")?;
        // Whose file it is and whether its pages are sound, before anything (even the
        // switch to WAL) writes to it.
        let identity = integrity::identify(&conn, &shown)?;
        if let integrity::Identity::Foreign {
            application_id,
            tables,
        } = &identity
        {
            return Err(integrity::foreign_error(&shown, *application_id, tables));
        }
        let migration_due =
            || schema::current_version(&conn).map_or(true, |found| found < schema::LATEST_VERSION);
        if identity != integrity::Identity::Empty
            && (check == PageCheck::Quick || (check == PageCheck::Aside && migration_due()))
        {
            integrity::quick_check(&conn, &shown)?;
        }
        configure(&conn, &shown)?;
        schema::migrate(&mut conn, &shown)?;
        schema::check_transition_table(&conn)?;
        let anchored = start_anchor(&conn, &path, &identity)?;
        Ok(Store {
            conn,
            path,
            anchored,
            write_hook: None,
            unsynced: false,
        })
    }

    /// Opens an existing store; refuses to create one (for commands that only read,
    /// where a new empty store would hide a wrong path).
    pub fn open_existing(path: impl AsRef<Path>) -> StoreResult<Store> {
        let path = path.as_ref();
        if !path.is_file() {
            return Err(StoreError::NotFound(format!(
                "there is no store at {}: check --db (or SERIALSTATION_DB)",
                path.display()
            )));
        }
        Store::open(path)
    }

    /// The file this store lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes the audit trail's head to the anchor file if it moved since the last
    /// anchor. Commands do this when they end (on drop); the daemon also every few
    /// seconds. Does nothing for a store that keeps no anchor file.
    pub fn anchor_audit(&mut self) -> StoreResult<()> {
        let Some((rows, hash)) = &self.anchored else {
            return Ok(());
        };
        let now = anchor::head(&self.conn)?;
        if now.0 == *rows && now.1 == *hash {
            return Ok(());
        }
        anchor::append(&anchor::anchor_path(&self.path), now.0, &now.1)?;
        self.anchored = Some(now);
        Ok(())
    }

    /// The schema version of the open store.
    pub fn schema_version(&self) -> StoreResult<i64> {
        schema::current_version(&self.conn)
    }

    /// Opens the store like [`Store::open`], then turns off SQLite's syncing to disk
    /// (`PRAGMA synchronous=OFF`). For the whole-station simulation only
    /// (`tests/station_simulation.rs`): its crashes happen inside the process, so
    /// what a transaction committed is in the file whether or not it was synced, and
    /// durability against power loss is not what it tests; syncing every commit would
    /// make a simulation of a million items far too slow. Pages are not checked at
    /// each restart either: an in-process crash cannot damage them, and the check
    /// reads the whole file. Never use it for a station.
    #[doc(hidden)]
    pub fn open_for_simulation(path: impl AsRef<Path>) -> StoreResult<Store> {
        let mut store = Store::open_with(path, PageCheck::AlreadyDone)?;
        store
            .conn
            .pragma_update(None, "synchronous", "OFF")
            .context("setting synchronous=OFF for the simulation")?;
        store.unsynced = true;
        Ok(store)
    }

    /// Sets (or removes) a hook called at the start of every write transaction, before
    /// the transaction begins. The whole-station simulation crashes the station from
    /// it: everything committed before survives, nothing of the transaction exists.
    /// Test use only.
    #[doc(hidden)]
    pub fn set_write_hook(&mut self, hook: Option<WriteHook>) {
        self.write_hook = hook;
    }

    /// Starts a write transaction that takes the write lock at once, so it never
    /// fails half-way with "database is locked".
    fn write_tx(&mut self, what: &str) -> StoreResult<Transaction<'_>> {
        if let Some(hook) = &self.write_hook {
            hook();
        }
        self.conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .context(what)
    }

    /// Runs `write` (one or more write transactions) with commits of `durability`,
    /// then sets the connection back to synced commits, whatever `write` returned.
    fn with_durability<T>(
        &mut self,
        durability: Durability,
        write: impl FnOnce(&mut Store) -> StoreResult<T>,
    ) -> StoreResult<T> {
        if durability == Durability::Synced || self.unsynced {
            return write(self);
        }
        self.conn
            .pragma_update(None, "synchronous", "NORMAL")
            .context("setting synchronous=NORMAL for a deferred commit")?;
        let result = write(self);
        let restored = self
            .conn
            .pragma_update(None, "synchronous", "FULL")
            .context("setting synchronous=FULL after a deferred commit");
        let value = result?;
        restored?;
        Ok(value)
    }

    /// Raw connection for tests and for modules being migrated into the store.
    /// Everything that changes state must go through the typed methods.
    #[doc(hidden)]
    pub fn raw_connection(&self) -> &Connection {
        &self.conn
    }
}

impl Store {
    /// Starts a new anchor file for a store whose anchor file is lost, recording who
    /// and why in the audit trail first. Refused while an anchor file exists.
    pub fn start_new_anchor(&mut self, actor: &Actor, reason: &str) -> StoreResult<(u64, String)> {
        let file = anchor::anchor_path(&self.path);
        if file.exists() {
            return Err(StoreError::Invalid(format!(
                "the anchor file {} exists: a new one is started only when it is lost",
                file.display()
            )));
        }
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(StoreError::Invalid(
                "--reason is empty: say why the anchor file is gone".to_string(),
            ));
        }
        self.record_action(
            actor,
            "audit.anchor_new",
            "audit trail",
            serde_json::json!({ "reason": reason, "anchor_file": file.display().to_string() }),
        )?;
        let head = anchor::head(&self.conn)?;
        anchor::append(&file, head.0, &head.1)?;
        self.anchored = Some(head.clone());
        Ok(head)
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        if let Err(e) = self.anchor_audit() {
            tracing::warn!("{e}");
        }
    }
}

/// Starts the anchor file of a new store, or of one written before anchors existed,
/// and returns the head it records; for a store that has one, the current head. A
/// store with audit rows but no anchor file keeps none (see [`Store::anchored`]).
fn start_anchor(
    conn: &Connection,
    path: &Path,
    identity: &integrity::Identity,
) -> StoreResult<Option<(u64, String)>> {
    let file = anchor::anchor_path(path);
    let head = anchor::head(conn)?;
    if file.exists() {
        return Ok(Some(head));
    }
    let new_store = matches!(
        identity,
        integrity::Identity::Empty | integrity::Identity::UnmarkedStation
    );
    if new_store || head.0 == 0 {
        anchor::append(&file, head.0, &head.1)?;
        return Ok(Some(head));
    }
    Ok(None)
}

/// Cached prepared statements per connection (see [`configure`]).
const STATEMENT_CACHE: usize = 128;

fn configure(conn: &Connection, shown: &str) -> StoreResult<()> {
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .context(&format!("switching {shown} to WAL"))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Invalid(format!(
            "the store {shown} cannot use write-ahead logging (journal mode is {mode}); \
             put it on a local file system"
        )));
    }
    conn.pragma_update(None, "synchronous", "FULL")
        .context("setting synchronous=FULL")?;
    // A page cache that holds the serials and indexes of a large import keeps its
    // transaction from spilling to the WAL before commit. It is a ceiling, filled only
    // as pages are used.
    conn.pragma_update(None, "cache_size", -PAGE_CACHE_KIB)
        .context("setting the page cache size")?;
    conn.pragma_update(None, "temp_store", "MEMORY")
        .context("setting temp_store")?;
    conn.pragma_update(None, "foreign_keys", true)
        .context("enabling foreign keys")?;
    // The line path, recovery and the audit chain use a few dozen cached statements
    // between them; rusqlite's default of 16 made them evict each other, and an
    // evicted statement is compiled again (its triggers with it) on its next use.
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    let fk: i64 = conn
        .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
        .context("checking foreign keys")?;
    if fk != 1 {
        return Err(StoreError::Invalid(
            "this SQLite build cannot enforce foreign keys".to_string(),
        ));
    }
    Ok(())
}
