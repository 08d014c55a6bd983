//! Keeping and handing back sample leases: the heartbeat of a worker with calls in flight,
//! the release of a worker shutting down, and the expiry sweep of the maintenance task.
//!
//! A claim leases a sample for `lease`; a provider call may take longer than that (slow
//! models, retries with backoff), so a live worker extends the leases it still holds every
//! fraction of the lease. Only a dead worker's leases then expire, and only those samples
//! are taken over. Every operation is fenced by `(lease_owner, attempt)`, the same fence as
//! completion: a worker whose sample was already taken over cannot extend or release the
//! new holder's lease.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::Fence;
use crate::Result;

/// What an expiry sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExpiredLeases {
    /// Samples whose lease expired on their last allowed attempt: failed with `lease_expired`.
    pub failed: u64,
    /// Samples whose lease expired with attempts left: back to `pending`.
    pub returned: u64,
}

/// Lease upkeep of the sample queue.
#[async_trait::async_trait]
pub trait LeaseStore: Send + Sync {
    /// Extends to `now + lease` the lease of every sample still held under its fence
    /// (leased, same owner, same attempt), even one past its expiry that nobody took over
    /// yet. Returns, per fence, whether the lease is still held; `false` means the sample
    /// was taken over or finished, and the caller's outcome for it will not be applied.
    async fn extend_leases(&self, fences: &[Fence], now: DateTime<Utc>, lease: Duration) -> Result<Vec<bool>>;

    /// Hands leases back (graceful shutdown): each sample still held under its fence returns
    /// to `pending` with its lease cleared and its `attempt` decremented, because the claim
    /// is given back unfinished, not lost: a sample released by every worker that stops
    /// must not creep towards `max_attempts` and fail without any attempt having failed.
    /// (The fence stays unique: the releasing worker no longer runs the sample, and the next
    /// claim's owner differs or its attempt is issued again to a new task.) Returns, per
    /// fence, whether it was released.
    async fn release_leases(&self, fences: &[Fence]) -> Result<Vec<bool>>;

    /// The maintenance sweep over every run: a lease expired before `now` fails its sample
    /// with `lease_expired` when its attempt reached `max_attempts`, and otherwise returns
    /// it to `pending` (attempt kept: the dead worker's claim counts).
    async fn expire_leases(&self, now: DateTime<Utc>, max_attempts: u32) -> Result<ExpiredLeases>;
}
