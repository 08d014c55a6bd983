//! Connection-pool statistics for the host, and the metered pool the backends use to
//! count acquisitions that had to wait.
//!
//! sqlx reports a pool's size and idle connections but not how often callers queued for a
//! connection, which is the number that says "the pool is too small". [`MeteredPool`] wraps
//! a `sqlx::Pool` and counts, at every acquisition, whether the pool was exhausted at that
//! moment: no idle connection and no room to open one. Such an acquisition waits in sqlx's
//! queue until another caller returns a connection (or `acquire_timeout` passes). The check
//! and the acquisition are two steps, so a connection returned in between makes a counted
//! wait a very short one; the count is exact otherwise. (sqlx returns a dropped connection
//! to the pool in a task of its own; an acquisition in that instant does wait for it, and
//! is counted.) Acquisitions that merely open a new connection (the pool below its
//! maximum) are not waits.
//!
//! `&MeteredPool` is an [`sqlx::Executor`] like `&Pool`, and has `begin` / `begin_with`, so
//! store code uses it exactly like a pool; every statement and transaction is counted.
//! Helper functions should take `&MeteredPool<DB>`, not `&Pool<DB>`: an acquisition made
//! through the inner pool (the `Deref` target) is not counted.

use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures::future::BoxFuture;
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use sqlx::pool::PoolConnection;
use sqlx::{Database, Describe, Either, Execute, Executor, Pool, Transaction};

/// A snapshot of a store's connection pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PoolStats {
    /// Open connections (idle + in use).
    pub size: u32,
    /// Open connections not in use.
    pub idle: u32,
    /// Connections handed out right now.
    pub in_use: u32,
    /// The pool's ceiling (`max_connections`).
    pub max_connections: u32,
    /// Acquisitions since the store opened that found every connection in use and the pool
    /// at its maximum, so waited for one to be returned. Growing steadily means the pool is
    /// too small for the load (or connections are held too long).
    pub waits: u64,
}

/// A `sqlx::Pool` that counts acquisitions that had to wait (see the module docs).
/// Cheap to clone: clones share the pool and the counter.
#[derive(Debug)]
pub struct MeteredPool<DB: Database> {
    pool: Pool<DB>,
    waits: Arc<AtomicU64>,
}

impl<DB: Database> Clone for MeteredPool<DB> {
    fn clone(&self) -> Self {
        Self {
            pool: self.pool.clone(),
            waits: Arc::clone(&self.waits),
        }
    }
}

impl<DB: Database> MeteredPool<DB> {
    pub fn new(pool: Pool<DB>) -> Self {
        Self {
            pool,
            waits: Arc::new(AtomicU64::new(0)),
        }
    }

    /// The wrapped pool (acquisitions made through it directly are not counted).
    pub fn inner(&self) -> &Pool<DB> {
        &self.pool
    }

    /// A pooled connection, counting the acquisition as a wait if the pool is exhausted.
    pub async fn acquire(&self) -> Result<PoolConnection<DB>, sqlx::Error> {
        self.count_if_exhausted();
        self.pool.acquire().await
    }

    /// A connection with a transaction begun on it (`BEGIN`).
    pub async fn begin(&self) -> Result<Transaction<'static, DB>, sqlx::Error> {
        let conn = self.acquire().await?;
        Transaction::begin(conn, None).await
    }

    /// A connection with a transaction begun by `statement` (e.g. `BEGIN IMMEDIATE`).
    pub async fn begin_with(
        &self,
        statement: impl Into<Cow<'static, str>>,
    ) -> Result<Transaction<'static, DB>, sqlx::Error> {
        let conn = self.acquire().await?;
        Transaction::begin(conn, Some(statement.into())).await
    }

    /// Size, idle, in use, ceiling and the wait count.
    pub fn stats(&self) -> PoolStats {
        let size = self.pool.size();
        let idle = u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX).min(size);
        PoolStats {
            size,
            idle,
            in_use: size - idle,
            max_connections: self.pool.options().get_max_connections(),
            waits: self.waits.load(Ordering::Relaxed),
        }
    }

    /// Closes the pool, waiting for connections to be returned.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    fn count_if_exhausted(&self) {
        if self.pool.num_idle() == 0 && self.pool.size() >= self.pool.options().get_max_connections() {
            self.waits.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl<DB: Database> std::ops::Deref for MeteredPool<DB> {
    type Target = Pool<DB>;

    fn deref(&self) -> &Pool<DB> {
        &self.pool
    }
}

/// Like `impl Executor for &Pool`: each call acquires a connection (counted) and runs the
/// query on it. `fetch_many` collects the results before yielding them (the connection
/// cannot be borrowed by a stream that also owns it); the store only runs queries whose
/// results it collects anyway.
impl<'p, DB: Database> Executor<'p> for &'_ MeteredPool<DB>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    type Database = DB;

    fn fetch_many<'e, 'q: 'e, E>(self, query: E) -> BoxStream<'e, Result<Either<DB::QueryResult, DB::Row>, sqlx::Error>>
    where
        E: 'q + Execute<'q, DB>,
    {
        let pool = self.clone();
        stream::once(async move {
            let mut conn = pool.acquire().await?;
            conn.fetch_many(query).try_collect::<Vec<_>>().await
        })
        .map_ok(|items| stream::iter(items.into_iter().map(Ok)))
        .try_flatten()
        .boxed()
    }

    fn fetch_optional<'e, 'q: 'e, E>(self, query: E) -> BoxFuture<'e, Result<Option<DB::Row>, sqlx::Error>>
    where
        E: 'q + Execute<'q, DB>,
    {
        let pool = self.clone();
        Box::pin(async move { pool.acquire().await?.fetch_optional(query).await })
    }

    fn prepare_with<'e, 'q: 'e>(
        self,
        sql: &'q str,
        parameters: &'e [DB::TypeInfo],
    ) -> BoxFuture<'e, Result<DB::Statement<'q>, sqlx::Error>> {
        let pool = self.clone();
        Box::pin(async move { pool.acquire().await?.prepare_with(sql, parameters).await })
    }

    fn describe<'e, 'q: 'e>(self, sql: &'q str) -> BoxFuture<'e, Result<Describe<DB>, sqlx::Error>> {
        let pool = self.clone();
        Box::pin(async move { pool.acquire().await?.describe(sql).await })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use sqlx::sqlite::SqlitePoolOptions;

    use super::*;

    /// Waits until the pool has `idle` idle connections (a dropped connection goes back to
    /// the pool in a task of its own; an acquisition before that really does wait for it).
    async fn settle(pool: &MeteredPool<sqlx::Sqlite>, idle: u32) {
        for _ in 0..200 {
            if pool.stats().idle == idle {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("the pool never had {idle} idle connections: {:?}", pool.stats());
    }

    async fn one_connection_pool() -> MeteredPool<sqlx::Sqlite> {
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect("sqlite::memory:")
            .await
            .expect("pool");
        MeteredPool::new(pool)
    }

    #[tokio::test]
    async fn an_acquisition_of_an_exhausted_pool_counts_as_a_wait() {
        let pool = one_connection_pool().await;
        sqlx::query("SELECT 1").execute(&pool).await.expect("warm up");
        settle(&pool, 1).await;
        let stats = pool.stats();
        assert_eq!(
            (stats.size, stats.idle, stats.in_use, stats.waits),
            (1, 1, 0, 0),
            "{stats:?}"
        );

        let held = pool.acquire().await.expect("take the only connection");
        let stats = pool.stats();
        assert_eq!(
            (stats.in_use, stats.idle, stats.waits),
            (1, 0, 0),
            "an idle connection was there"
        );

        let waiter = {
            let pool = pool.clone();
            tokio::spawn(async move { sqlx::query("SELECT 2").execute(&pool).await.map(|_| ()) })
        };
        // The waiter counts itself as soon as it asks; give it the chance to ask.
        for _ in 0..100 {
            if pool.stats().waits == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(pool.stats().waits, 1, "the pool was exhausted when it asked");
        drop(held);
        waiter
            .await
            .expect("join")
            .expect("the waiter ran once the connection came back");
        settle(&pool, 1).await;

        let mut tx = pool.begin().await.expect("begin");
        sqlx::query("SELECT 3").execute(&mut *tx).await.expect("in tx");
        tx.commit().await.expect("commit");
        assert_eq!(pool.stats().waits, 1, "uncontended acquisitions are not waits");
    }
}
