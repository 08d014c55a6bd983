//! Lease upkeep on PostgreSQL: heartbeat, release, expiry sweep.
//!
//! Heartbeat and release take a worker's fences as arrays and apply them in one fenced
//! UPDATE (`UNNEST`), so a worker holding hundreds of leases pays one round trip; the
//! answer is per fence, from the rows the statement returns. The expiry sweep locks its
//! candidates with `FOR UPDATE SKIP LOCKED`: a row a claimer or a completion holds right
//! now is left to them (or to the next sweep) instead of being waited for.

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::postgres::Postgres;
use uuid::Uuid;

use super::PgStore;
use super::convert::{duration_ms, ms, u32_to_i64};
use super::sql::{EXTEND_LEASES, FAIL_EXHAUSTED_LEASES, RELEASE_LEASES, RETURN_EXPIRED_LEASES};
use crate::store::pool::MeteredPool;
use crate::store::rollup::day_of;
use crate::store::{ExpiredLeases, Fence, LeaseStore};
use crate::{Error, Result};

/// A fence as bound (and returned) by the statements.
type FenceRow = (Uuid, String, i64);

/// Runs a fenced batch statement (`$1` ids, `$2` owners, `$3` attempts, then `extra`) and
/// answers, per fence in order, whether the statement applied it: the answers of the
/// fences applied one by one, as SQLite does. A fence repeated in one call matches its row
/// once; with `moves_out` (the statement takes the sample out of `leased`) only its first
/// copy is applied, otherwise every copy is.
async fn fenced(
    pool: &MeteredPool<Postgres>,
    sql: &'static str,
    fences: &[Fence],
    extra: Option<i64>,
    moves_out: bool,
) -> Result<Vec<bool>> {
    if fences.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = fences.iter().map(|f| f.sample_id.0).collect();
    let owners: Vec<&str> = fences.iter().map(|f| f.owner.as_str()).collect();
    let attempts: Vec<i64> = fences.iter().map(|f| u32_to_i64(f.attempt)).collect();
    let mut query = sqlx::query_as::<_, FenceRow>(sql).bind(ids).bind(owners).bind(attempts);
    if let Some(extra) = extra {
        query = query.bind(extra);
    }
    let applied: HashSet<FenceRow> = query.fetch_all(pool).await?.into_iter().collect();
    let mut answered = HashSet::new();
    Ok(fences
        .iter()
        .map(|f| {
            let key = (f.sample_id.0, f.owner.clone(), u32_to_i64(f.attempt));
            applied.contains(&key) && (!moves_out || answered.insert(key))
        })
        .collect())
}

#[async_trait::async_trait]
impl LeaseStore for PgStore {
    async fn extend_leases(&self, fences: &[Fence], now: DateTime<Utc>, lease: Duration) -> Result<Vec<bool>> {
        let expires = ms(now).saturating_add(duration_ms(lease));
        fenced(&self.pool, EXTEND_LEASES, fences, Some(expires), false).await
    }

    async fn release_leases(&self, fences: &[Fence]) -> Result<Vec<bool>> {
        fenced(&self.pool, RELEASE_LEASES, fences, None, true).await
    }

    async fn expire_leases(&self, now: DateTime<Utc>, max_attempts: u32) -> Result<ExpiredLeases> {
        if max_attempts == 0 {
            return Err(Error::invalid("max_attempts", "must be at least 1"));
        }
        let now = ms(now);
        let max_attempts = u32_to_i64(max_attempts);
        let mut tx = self.pool.begin().await?;
        // Exhausted leases fail and are counted into the dashboard rollups (one statement).
        let failed: i64 = sqlx::query_scalar(FAIL_EXHAUSTED_LEASES)
            .bind(now)
            .bind(max_attempts)
            .bind(None::<Uuid>)
            .bind(day_of(now))
            .fetch_one(&mut *tx)
            .await?;
        let returned = sqlx::query(RETURN_EXPIRED_LEASES)
            .bind(now)
            .bind(max_attempts)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(ExpiredLeases {
            failed: u64::try_from(failed).unwrap_or(0),
            returned,
        })
    }
}
