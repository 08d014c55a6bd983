//! Shared rate-limit state: one GCRA bucket per (key, policy).

use chrono::{DateTime, Utc};

use crate::Result;
use crate::quota::{RateLimitDecision, RateLimitPolicy};

/// GCRA buckets kept in the database, so every process sharing it shares the limits.
#[async_trait::async_trait]
pub trait RateLimitStore: Send + Sync {
    /// Takes `cost` requests from the bucket `(key, policy.name())` if the policy admits
    /// them at `now`, and says so. The check and the update are ONE atomic statement (see
    /// [`Gcra`](crate::quota::Gcra)): concurrent callers can never be admitted beyond the
    /// limit. A refusal changes nothing.
    ///
    /// `InvalidInput` when `key` is blank or `cost` is 0 or above the policy's limit.
    async fn check_rate_limit(
        &self,
        key: &str,
        policy: &RateLimitPolicy,
        cost: u32,
        now: DateTime<Utc>,
    ) -> Result<RateLimitDecision>;

    /// Deletes buckets that are full again at `now` (equivalent to having no row); returns
    /// how many. For the maintenance sweep.
    async fn purge_rate_limits(&self, now: DateTime<Utc>) -> Result<u64>;
}
