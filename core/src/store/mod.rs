//! The shared SQLite store: one database file used by the kiosk, the sync agent and the
//! reception console. Each process owns its tables' writes; the schema and its migrations
//! live only in [`schema`].
//!
//! Pragmas are set in one place ([`Store::open`]): WAL so readers never block the writer,
//! `busy_timeout` so two processes wait for each other instead of failing with
//! `SQLITE_BUSY`, foreign keys on, and `synchronous=FULL` because a receipt is printed only
//! after the appeal's commit has reached the disk.
//!
//! Writes go through [`Store::write`], which opens a `BEGIN IMMEDIATE` transaction: taking the
//! write lock up front means a busy writer waits in `busy_timeout` instead of hitting the
//! deadlock-avoidance `SQLITE_BUSY` of a deferred transaction upgrading its lock.

pub mod appeals;
pub mod kiosk;
pub mod outbox;
pub mod receipts;
pub mod reception;
pub mod schema;
pub mod sync;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};

pub use appeals::NewAppeal;
pub use outbox::{OutboxItem, OutboxState};

/// How long a writer waits for another process's transaction before giving up.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Store failures.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite reported an error.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The database was written by a newer program version.
    #[error("database schema version {found} is newer than this program supports ({supported})")]
    SchemaTooNew {
        /// Version in the file.
        found: u32,
        /// Highest version this program knows.
        supported: u32,
    },
    /// An outbox transition that the state machine forbids.
    #[error("outbox item {appeal_id}: illegal transition {from} → {to}")]
    IllegalTransition {
        /// Appeal.
        appeal_id: String,
        /// Current state.
        from: String,
        /// Requested state.
        to: String,
    },
    /// A row that should exist does not.
    #[error("{what} {id} not found")]
    NotFound {
        /// Kind of row.
        what: &'static str,
        /// Its id.
        id: String,
    },
    /// Stored JSON or text that no longer parses (a bug or tampering).
    #[error("stored {what} is corrupt: {detail}")]
    Corrupt {
        /// Column.
        what: &'static str,
        /// Parse error.
        detail: String,
    },
    /// A damaged database file was moved aside and a new one created.
    #[error("database file was damaged and moved to {moved_to}; a fresh database was created")]
    Recovered {
        /// Where the damaged file now is.
        moved_to: PathBuf,
    },
    /// File-system error around the database (moving a damaged file aside).
    #[error("file error on {path}: {source}")]
    Io {
        /// Path.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
}

impl StoreError {
    /// Whether the disk (or the database's size limit) is full: the citizen is told to call
    /// staff, and the sealed recording is kept for a retry.
    pub fn is_disk_full(&self) -> bool {
        match self {
            StoreError::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => {
                e.code == rusqlite::ErrorCode::DiskFull
            }
            StoreError::Io { source, .. } => source.kind() == std::io::ErrorKind::StorageFull,
            _ => false,
        }
    }

    /// Whether the database was busy past the timeout (the caller may retry later).
    pub fn is_busy(&self) -> bool {
        matches!(self, StoreError::Sqlite(rusqlite::Error::SqliteFailure(e, _))
            if matches!(e.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked))
    }
}

/// A connection to the shared database. Not `Sync`: each thread or task opens its own, or
/// wraps one in a mutex.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

fn configure(conn: &Connection) -> Result<(), StoreError> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // journal_mode returns a row; the others do not.
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") && !mode.eq_ignore_ascii_case("memory") {
        tracing::warn!(mode, "database is not in WAL mode");
    }
    conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")?;
    Ok(())
}

impl Store {
    /// Opens (creating if needed) and migrates the database at `path`.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if let Some(dir) = path.parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
                    path: dir.to_owned(),
                    source,
                })?;
            }
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        configure(&conn)?;
        let mut store = Store {
            conn,
            path: path.to_owned(),
        };
        store.write(|tx| schema::migrate(tx).map(|_| ()))?;
        Ok(store)
    }

    /// Opens the database; if it is damaged (not a database, or `integrity_check` fails),
    /// moves it aside with a timestamp, reports where, and starts a fresh one. Never deletes it:
    /// the caller then re-indexes the sealed recordings on disk
    /// ([`outbox::reindex_orphans`]) so no recording is forgotten.
    pub fn open_or_recover(path: &Path) -> Result<(Store, Option<PathBuf>), StoreError> {
        let damaged = match Store::open(path) {
            Ok(s) => match s.integrity_check() {
                Ok(true) => return Ok((s, None)),
                Ok(false) => true,
                Err(_) => true,
            },
            Err(StoreError::Sqlite(rusqlite::Error::SqliteFailure(e, _)))
                if matches!(
                    e.code,
                    rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt
                ) =>
            {
                true
            }
            Err(e) => return Err(e),
        };
        debug_assert!(damaged);
        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
        let moved_to = path.with_extension(format!("sqlite3.damaged-{stamp}"));
        std::fs::rename(path, &moved_to).map_err(|source| StoreError::Io {
            path: path.to_owned(),
            source,
        })?;
        for suffix in ["-wal", "-shm"] {
            let side = PathBuf::from(format!("{}{suffix}", path.display()));
            if side.exists() {
                let to = PathBuf::from(format!("{}{suffix}", moved_to.display()));
                std::fs::rename(&side, &to).map_err(|source| StoreError::Io {
                    path: side.clone(),
                    source,
                })?;
            }
        }
        tracing::error!(moved_to = %moved_to.display(), "damaged database moved aside; starting a fresh one");
        Ok((Store::open(path)?, Some(moved_to)))
    }

    /// Path of the database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `PRAGMA integrity_check` == "ok".
    pub fn integrity_check(&self) -> Result<bool, StoreError> {
        let r: String = self
            .conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
        Ok(r == "ok")
    }

    /// Runs `f` in a write transaction (`BEGIN IMMEDIATE`) and commits it; rolls back on error.
    pub fn write<T, E>(&mut self, f: impl FnOnce(&Transaction<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| E::from(StoreError::from(e)))?;
        let out = f(&tx)?;
        tx.commit().map_err(|e| E::from(StoreError::from(e)))?;
        Ok(out)
    }

    /// Runs `f` in a read transaction (a consistent snapshot).
    pub fn read<T, E>(&mut self, f: impl FnOnce(&Transaction<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Deferred)
            .map_err(|e| E::from(StoreError::from(e)))?;
        let out = f(&tx)?;
        tx.commit().map_err(|e| E::from(StoreError::from(e)))?;
        Ok(out)
    }

    /// The raw connection, for crates that own tables (reception, sync agent) and keep their
    /// queries next to their code. Writes must still go through [`Store::write`].
    pub fn connection(&self) -> &Connection {
        &self.conn
    }
}

/// Reads a value of the key-value table (sync cursors, ETags, central config).
pub fn kv_get(tx: &Transaction<'_>, key: &str) -> Result<Option<String>, StoreError> {
    use rusqlite::OptionalExtension;
    Ok(tx
        .query_row("SELECT value FROM kv WHERE key = ?1", [key], |r| r.get(0))
        .optional()?)
}

/// Writes a value of the key-value table.
pub fn kv_set(tx: &Transaction<'_>, key: &str, value: &str) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO kv(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [key, value],
    )?;
    Ok(())
}

/// Current time as stored text (RFC 3339, UTC, milliseconds).
pub fn ts(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Parses stored time text.
pub fn parse_ts(what: &'static str, s: &str) -> Result<chrono::DateTime<chrono::Utc>, StoreError> {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|e| StoreError::Corrupt {
            what,
            detail: e.to_string(),
        })
}
