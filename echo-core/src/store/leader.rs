//! Named leader leases: at most one holder per name at any instant of the store's clock.
//!
//! Singletons that run inside every worker (the scheduler, maintenance) act only while
//! they hold the lease. The holder renews it well before it expires; when the holder dies,
//! the lease expires and another worker acquires it. Every change is fenced on the owner,
//! so a holder that lost the lease (paused too long) cannot renew or release the new
//! holder's.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::Result;

/// Leader election.
#[async_trait::async_trait]
pub trait LeaderStore: Send + Sync {
    /// Takes the lease `name` for `owner` until `now + ttl` when nobody holds it, its
    /// holder's lease expired (`expires_at <= now`), or `owner` already holds it (then it
    /// is renewed). Returns whether `owner` holds it now. Atomic: two contenders never both
    /// get `true` for overlapping periods.
    async fn try_acquire_leader(&self, name: &str, owner: &str, now: DateTime<Utc>, ttl: Duration) -> Result<bool>;

    /// Extends the lease to `now + ttl` only if `owner` still holds it (expired or not, as
    /// long as nobody took it over). Returns whether it did; `false` means leadership is lost.
    async fn renew_leader(&self, name: &str, owner: &str, now: DateTime<Utc>, ttl: Duration) -> Result<bool>;

    /// Gives the lease up if `owner` holds it, so another worker takes over at once instead
    /// of waiting for expiry. Returns whether it was held.
    async fn release_leader(&self, name: &str, owner: &str) -> Result<bool>;
}
