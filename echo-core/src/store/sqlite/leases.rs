//! Lease upkeep on SQLite: heartbeat, release, expiry sweep. Each call is one write
//! transaction (`BEGIN IMMEDIATE`) with one fenced single-row UPDATE per sample: the
//! fences a worker holds number in the hundreds, and the statements hit the primary key.
//! Samples the expiry sweep fails are counted into the dashboard rollups in its transaction.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::SqliteStore;
use super::convert::{duration_ms, ms};
use super::sql::{EXTEND_LEASE, FAIL_EXHAUSTED_LEASES, RELEASE_LEASE, RETURN_EXPIRED_LEASES, ROLLUP_EXHAUSTED_LEASES};
use crate::store::rollup::day_of;
use crate::store::{ExpiredLeases, Fence, LeaseStore};
use crate::{Error, Result};

#[async_trait::async_trait]
impl LeaseStore for SqliteStore {
    async fn extend_leases(&self, fences: &[Fence], now: DateTime<Utc>, lease: Duration) -> Result<Vec<bool>> {
        if fences.is_empty() {
            return Ok(Vec::new());
        }
        let expires = ms(now).saturating_add(duration_ms(lease));
        let mut held = Vec::with_capacity(fences.len());
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        for f in fences {
            let changed = sqlx::query(EXTEND_LEASE)
                .bind(expires)
                .bind(f.sample_id.0)
                .bind(&f.owner)
                .bind(f.attempt)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            held.push(changed == 1);
        }
        tx.commit().await?;
        Ok(held)
    }

    async fn release_leases(&self, fences: &[Fence]) -> Result<Vec<bool>> {
        if fences.is_empty() {
            return Ok(Vec::new());
        }
        let mut released = Vec::with_capacity(fences.len());
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        for f in fences {
            let changed = sqlx::query(RELEASE_LEASE)
                .bind(f.sample_id.0)
                .bind(&f.owner)
                .bind(f.attempt)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            released.push(changed == 1);
        }
        tx.commit().await?;
        Ok(released)
    }

    async fn expire_leases(&self, now: DateTime<Utc>, max_attempts: u32) -> Result<ExpiredLeases> {
        if max_attempts == 0 {
            return Err(Error::invalid("max_attempts", "must be at least 1"));
        }
        let now = ms(now);
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        // Count what is about to fail into the dashboard rollups (same predicate, same
        // write transaction), as the claim's step 1 does.
        sqlx::query(ROLLUP_EXHAUSTED_LEASES)
            .bind(now)
            .bind(max_attempts)
            .bind(None::<uuid::Uuid>)
            .bind(day_of(now))
            .execute(&mut *tx)
            .await?;
        let failed = sqlx::query(FAIL_EXHAUSTED_LEASES)
            .bind(now)
            .bind(max_attempts)
            .bind(None::<uuid::Uuid>)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        let returned = sqlx::query(RETURN_EXPIRED_LEASES)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(ExpiredLeases { failed, returned })
    }
}
