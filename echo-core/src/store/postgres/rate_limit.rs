//! GCRA buckets on PostgreSQL: one upsert decides and updates (see [`RATE_LIMIT_TAKE`]).

use chrono::{DateTime, Utc};

use super::PgStore;
use super::sql::{RATE_LIMIT_PURGE, RATE_LIMIT_READ, RATE_LIMIT_TAKE};
use crate::quota::{Gcra, RateLimitDecision, RateLimitPolicy, unix_micros};
use crate::store::RateLimitStore;
use crate::{Error, Result};

#[async_trait::async_trait]
impl RateLimitStore for PgStore {
    async fn check_rate_limit(
        &self,
        key: &str,
        policy: &RateLimitPolicy,
        cost: u32,
        now: DateTime<Utc>,
    ) -> Result<RateLimitDecision> {
        if key.trim().is_empty() {
            return Err(Error::invalid("rate_limit.key", "must not be blank"));
        }
        let gcra = Gcra::new(policy);
        let increment = gcra.increment(cost)?;
        let now = unix_micros(now);
        // A refused request reads the bucket to say when to retry. If the bucket vanished in
        // between (purged because it was full again), the request is simply asked again.
        for _ in 0..3 {
            let admitted: Option<i64> = sqlx::query_scalar(RATE_LIMIT_TAKE)
                .bind(key)
                .bind(policy.name())
                .bind(now)
                .bind(increment)
                .bind(gcra.tolerance_us)
                .fetch_optional(&self.pool)
                .await?;
            if let Some(tat) = admitted {
                return Ok(gcra.admitted(tat, now));
            }
            let tat: Option<i64> = sqlx::query_scalar(RATE_LIMIT_READ)
                .bind(key)
                .bind(policy.name())
                .fetch_optional(&self.pool)
                .await?;
            if let Some(tat) = tat {
                return Ok(gcra.refused(tat, now, cost));
            }
        }
        Err(Error::Internal(format!(
            "rate-limit bucket {key:?}/{} kept disappearing",
            policy.name()
        )))
    }

    async fn purge_rate_limits(&self, now: DateTime<Utc>) -> Result<u64> {
        Ok(sqlx::query(RATE_LIMIT_PURGE)
            .bind(unix_micros(now))
            .execute(&self.pool)
            .await?
            .rows_affected())
    }
}
