//! The PostgreSQL backend: many worker processes on one database.
//!
//! Storage conventions (uuid ids, times as `bigint` unix milliseconds, `jsonb` specs) are
//! described at the top of `migrations/postgres/0001_schema.sql`; they keep the keyset
//! cursors and the millisecond semantics identical to SQLite's, so the same conformance
//! suite judges both backends. Queries are checked at run time (`sqlx::query` + `bind`), so
//! building never needs a database; the statements that matter for speed live in [`sql`] so
//! the EXPLAIN tests check exactly what the store runs.
//!
//! Concurrency: claims pick rows with `FOR UPDATE SKIP LOCKED`, so concurrent workers never
//! wait on each other's candidates and never receive the same sample; completions are
//! fenced by `(lease_owner, attempt)` in the UPDATE's WHERE clause. Multi-row work
//! (enqueue, batched completion, mentions and citations) binds whole columns as arrays and
//! expands them with `UNNEST`: one statement per table whatever the batch size.
//!
//! One file per concern (accounts, experiments, runs, queue, samples, dashboard, keys, quota,
//! rate_limit, and for distributed execution leases, finalize, schedules, leader), like the
//! SQLite backend; a new store trait adds its own file here.

mod accounts;
mod adaptive;
pub(crate) mod audit;
mod config;
mod convert;
mod dashboard;
mod experiments;
mod finalize;
mod gdpr;
mod keys;
mod leader;
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

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, Postgres};

pub use config::PgConfig;

use super::Store;
use super::pool::{MeteredPool, PoolStats};
use crate::{Error, Result};

/// The PostgreSQL store. Cheap to clone: clones share one connection pool.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: MeteredPool<Postgres>,
}

impl PgStore {
    /// Connects and migrates the database (`migrations/postgres`).
    ///
    /// Several processes may open the same database at once: sqlx serializes migrations
    /// with an advisory lock, and an applied migration is never run twice.
    pub async fn open(config: PgConfig) -> Result<Self> {
        config.validate()?;
        let mut options: PgConnectOptions = config.url.parse().map_err(|e| {
            Error::invalid(
                "postgres.url",
                format!("is not a PostgreSQL URL ({e}); expected postgres://user@host:5432/database"),
            )
        })?;
        options = options.application_name(&config.application_name);
        if let Some(timeout) = config.statement_timeout {
            // A server-side guard against runaway statements (milliseconds).
            options = options.options([("statement_timeout", timeout.as_millis().to_string())]);
        }
        let pool = PgPoolOptions::new()
            .max_connections(config.max_connections)
            .min_connections(config.min_connections)
            .acquire_timeout(config.acquire_timeout)
            .idle_timeout(config.idle_timeout)
            .max_lifetime(config.max_lifetime)
            .connect_with(options)
            .await
            .map_err(|e| connect_error(&config, e))?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        tracing::debug!(url = %config.redacted_url(), "postgres store opened and migrated");
        Ok(Self {
            pool: MeteredPool::new(pool),
        })
    }

    /// The connection pool, for tests and diagnostics (e.g. `EXPLAIN`). Acquisitions made
    /// through it are not counted in [`PoolStats::waits`].
    pub fn pool(&self) -> &PgPool {
        self.pool.inner()
    }
}

/// A failed connection is mostly something the operator can fix: say where we tried.
fn connect_error(config: &PgConfig, e: sqlx::Error) -> Error {
    match e {
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::PoolTimedOut | sqlx::Error::Database(_) => {
            Error::Config(format!(
                "cannot connect to PostgreSQL at {}: {e} (check that the server is running, the URL, \
                 the credentials and that the database exists)",
                config.redacted_url()
            ))
        }
        other => Error::Storage(other),
    }
}

#[async_trait::async_trait]
impl Store for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    fn pool_stats(&self) -> PoolStats {
        self.pool.stats()
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}
