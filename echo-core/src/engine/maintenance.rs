//! Maintenance: periodic chores over the whole database, run by the leader worker only.
//!
//! A [`MaintenanceTask`] is a name and an idempotent `run(store, now)`. The worker holding
//! the leader lease runs every registered task each `WorkerConfig::maintenance_interval`
//! (measured on the injected clock), one after the other; a failing task is logged and
//! retried next time, and does not stop the others. Tasks must be safe to run twice (a
//! leader that lost its lease mid-pass may overlap with the next one) and should bound the
//! work of one pass (a batch limit), since the next pass continues.
//!
//! Built in: [`LeaseSweep`] (expired leases back to the queue or failed, and runs left
//! unfinalized by a crash finalized) and [`QuotaSweep`] (stale quota reservations released,
//! idle rate-limit buckets purged); the leader also registers
//! [`RetentionSweep`](crate::privacy::RetentionSweep) (daily retention). Deletion sweeps
//! plug in here as further tasks.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::Result;
use crate::store::Store;

/// A periodic chore run by the leader.
#[async_trait::async_trait]
pub trait MaintenanceTask: Send + Sync {
    /// Short stable name, for logs.
    fn name(&self) -> &str;
    /// One pass. Idempotent; bounded work.
    async fn run(&self, store: &dyn Store, now: DateTime<Utc>) -> Result<()>;
}

/// Shared handle on a task.
pub type DynMaintenanceTask = Arc<dyn MaintenanceTask>;

/// Returns expired leases to the queue (or fails samples on their last attempt), then
/// finalizes runs whose samples are all terminal but whose status is not: the state a
/// crash between the last commit and the finalization leaves, or a run whose last samples
/// were failed by the sweep itself.
#[derive(Debug, Clone)]
pub struct LeaseSweep {
    /// As the engine's `max_attempts`.
    pub max_attempts: u32,
    /// Runs finalized per pass at most.
    pub finalize_batch: u32,
}

#[async_trait::async_trait]
impl MaintenanceTask for LeaseSweep {
    fn name(&self) -> &str {
        "lease_sweep"
    }

    async fn run(&self, store: &dyn Store, now: DateTime<Utc>) -> Result<()> {
        let expired = store.expire_leases(now, self.max_attempts).await?;
        if expired.failed + expired.returned > 0 {
            tracing::warn!(
                returned = expired.returned,
                failed = expired.failed,
                "expired leases swept"
            );
        }
        for u in store.unfinalized_runs(self.finalize_batch).await? {
            if let Some(status) = super::finalize::finalize_run(store, u.account_id, u.run_id, now).await? {
                tracing::info!(run_id = %u.run_id, status = status.as_str(), "unfinalized run finalized by maintenance");
            }
        }
        Ok(())
    }
}

/// Releases quota reservations held past their hold (runs that never finished: their
/// samples return to the account's allowance) and deletes rate-limit buckets that are full
/// again (they carry no information). Both statements are bounded and idempotent.
#[derive(Debug, Clone, Default)]
pub struct QuotaSweep;

#[async_trait::async_trait]
impl MaintenanceTask for QuotaSweep {
    fn name(&self) -> &str {
        "quota_sweep"
    }

    async fn run(&self, store: &dyn Store, now: DateTime<Utc>) -> Result<()> {
        let expired = store.expire_reservations(now).await?;
        if expired > 0 {
            tracing::warn!(expired, "stale quota reservations released");
        }
        let purged = store.purge_rate_limits(now).await?;
        tracing::debug!(purged, "idle rate-limit buckets purged");
        Ok(())
    }
}
