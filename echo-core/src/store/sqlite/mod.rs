//! The SQLite backend: the embedded default. WAL journal, a configurable pool, claims
//! under `BEGIN IMMEDIATE`.
//!
//! Storage conventions (ids as 16-byte blobs, times as unix milliseconds) are described at
//! the top of `migrations/sqlite/0001_schema.sql`. Queries are checked at run time
//! (`sqlx::query` + `bind`), so building never needs a database; the statements that matter
//! for speed live in [`sql`] so the EXPLAIN tests check exactly what the store runs.
//!
//! Every write transaction starts with `BEGIN IMMEDIATE`: it takes the write lock up front,
//! waiting up to `busy_timeout` for it, instead of starting as a reader and failing with
//! `SQLITE_BUSY` when it later tries to write (which a deferred transaction does under WAL).

mod accounts;
pub(crate) mod adaptive;
pub(crate) mod audit;
pub(crate) mod convert;
mod dashboard;
pub(crate) mod experiments;
mod finalize;
mod gdpr;
mod keys;
pub(crate) mod leader;
mod leases;
mod queue;
mod quota;
mod rate_limit;
mod rows;
mod runs;
mod samples;
mod schedules;
pub mod sql;
// Privacy (issue 6).
pub mod consent;
mod privacy_settings;
pub mod retention;

use std::path::PathBuf;
use std::time::Duration;

use sqlx::sqlite::{Sqlite, SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

use super::Store;
use super::pool::{MeteredPool, PoolStats};
use crate::Result;

/// How to open a SQLite store.
#[derive(Debug, Clone)]
pub struct SqliteConfig {
    /// Database file; `None` for a private in-memory database.
    pub path: Option<PathBuf>,
    /// Maximum pooled connections (file databases; an in-memory database always uses one).
    pub max_connections: u32,
    /// Connections kept open even when idle (file databases).
    pub min_connections: u32,
    /// How long to wait for a pooled connection.
    pub acquire_timeout: Duration,
    /// How long a statement waits on a locked database before failing.
    pub busy_timeout: Duration,
    /// Idle connections above `min_connections` are closed after this long (file databases;
    /// `None` keeps them).
    pub idle_timeout: Option<Duration>,
    /// Connections are recycled after this long (file databases; `None` keeps them).
    pub max_lifetime: Option<Duration>,
}

impl SqliteConfig {
    /// A database file, created if missing.
    pub fn file(path: impl Into<PathBuf>) -> Self {
        Self {
            path: Some(path.into()),
            ..Self::memory()
        }
    }

    /// A private in-memory database (one connection; gone when the store is dropped).
    pub fn memory() -> Self {
        Self {
            path: None,
            max_connections: 8,
            min_connections: 0,
            acquire_timeout: Duration::from_secs(30),
            busy_timeout: Duration::from_secs(10),
            idle_timeout: Some(Duration::from_secs(600)),
            max_lifetime: Some(Duration::from_secs(1800)),
        }
    }

    /// Sets `max_connections`.
    pub fn max_connections(mut self, n: u32) -> Self {
        self.max_connections = n;
        self
    }

    /// Sets `busy_timeout`.
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    fn validate(&self) -> Result<()> {
        if self.path.is_some() {
            if self.max_connections == 0 {
                return Err(crate::Error::invalid("sqlite.max_connections", "must be at least 1"));
            }
            if self.min_connections > self.max_connections {
                return Err(crate::Error::invalid(
                    "sqlite.min_connections",
                    format!(
                        "is {} but max_connections is {}",
                        self.min_connections, self.max_connections
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// The SQLite store. Cheap to clone: clones share one connection pool.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    /// Used like a `SqlitePool` (it is an executor and has `begin_with`); it counts the
    /// acquisitions that had to wait (`Store::pool_stats`). Helpers take `&MeteredPool<Sqlite>`.
    pool: MeteredPool<Sqlite>,
}

impl SqliteStore {
    /// Opens (creating if needed) and migrates the database.
    ///
    /// A file database runs in WAL mode (readers never block the writer) with
    /// `synchronous = NORMAL` (durable across application crashes; a power loss may drop the
    /// last transactions but never corrupts) and a pool of `max_connections`.
    ///
    /// An in-memory database lives inside its single connection: the pool holds exactly one
    /// connection and never retires it, so every caller sees the same database until the
    /// store is closed or dropped. (The alternative, a shared-cache named memory database,
    /// would allow several connections but uses table-level locks whose `SQLITE_LOCKED`
    /// errors `busy_timeout` does not cover; one connection is simpler and is not slower for
    /// a database with no I/O.)
    pub async fn open(config: SqliteConfig) -> Result<Self> {
        config.validate()?;
        let options = SqliteConnectOptions::new()
            .foreign_keys(true)
            .busy_timeout(config.busy_timeout)
            .synchronous(SqliteSynchronous::Normal);
        let pool_options = SqlitePoolOptions::new().acquire_timeout(config.acquire_timeout);
        let pool = match &config.path {
            Some(path) => {
                let options = options
                    .filename(path)
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal);
                pool_options
                    .max_connections(config.max_connections)
                    .min_connections(config.min_connections)
                    .idle_timeout(config.idle_timeout)
                    .max_lifetime(config.max_lifetime)
                    .connect_with(options)
                    .await
                    .map_err(|e| open_error(path, e))?
            }
            None => {
                pool_options
                    .max_connections(1)
                    .min_connections(1)
                    .idle_timeout(None)
                    .max_lifetime(None)
                    .connect_with(options.in_memory(true))
                    .await?
            }
        };
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        tracing::debug!(path = ?config.path, "sqlite store opened and migrated");
        Ok(Self {
            pool: MeteredPool::new(pool),
        })
    }

    /// The connection pool, for tests and diagnostics (e.g. `EXPLAIN QUERY PLAN`).
    /// Acquisitions made through it are not counted in [`PoolStats::waits`].
    pub fn pool(&self) -> &SqlitePool {
        self.pool.inner()
    }
}

/// Opening a file fails mostly for reasons the user can fix (missing directory, permissions):
/// say which file.
fn open_error(path: &std::path::Path, e: sqlx::Error) -> crate::Error {
    match e {
        sqlx::Error::Database(db) => crate::Error::Config(format!(
            "cannot open SQLite database {}: {db} (check that the directory exists and is writable)",
            path.display()
        )),
        other => crate::Error::Storage(other),
    }
}

#[async_trait::async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    fn pool_stats(&self) -> PoolStats {
        self.pool.stats()
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}
