//! What a worker did: live counters and the report returned at shutdown.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use serde::{Deserialize, Serialize};

/// A worker's account of its work (a snapshot while it runs, final after shutdown).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerReport {
    /// The worker's lease owner id.
    pub owner: String,
    /// Samples claimed.
    pub claimed: u64,
    /// Answers persisted (fence held).
    pub succeeded: u64,
    /// Final failures persisted.
    pub failed: u64,
    /// Samples returned to the queue after a transient failure (resilience layer off).
    pub retried: u64,
    /// Outcomes discarded because the lease had been taken over meanwhile.
    pub not_applied: u64,
    /// Leases handed back unfinished (shutdown).
    pub released: u64,
    /// Runs this worker finalized.
    pub runs_finalized: u64,
    /// Scheduled runs this worker created as leader.
    pub scheduled_runs: u64,
    /// Maintenance passes this worker ran as leader.
    pub maintenance_passes: u64,
    /// How long the worker ran.
    pub elapsed_ms: u64,
}

/// Live counters, shared by the worker's tasks.
#[derive(Debug)]
pub(super) struct WorkerStats {
    pub started: Instant,
    pub claimed: AtomicU64,
    pub succeeded: AtomicU64,
    pub failed: AtomicU64,
    pub retried: AtomicU64,
    pub not_applied: AtomicU64,
    pub released: AtomicU64,
    pub runs_finalized: AtomicU64,
    pub scheduled_runs: AtomicU64,
    pub maintenance_passes: AtomicU64,
}

impl WorkerStats {
    pub(super) fn new() -> Self {
        Self {
            started: Instant::now(),
            claimed: AtomicU64::new(0),
            succeeded: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            retried: AtomicU64::new(0),
            not_applied: AtomicU64::new(0),
            released: AtomicU64::new(0),
            runs_finalized: AtomicU64::new(0),
            scheduled_runs: AtomicU64::new(0),
            maintenance_passes: AtomicU64::new(0),
        }
    }

    pub(super) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub(super) fn snapshot(&self, owner: &str) -> WorkerReport {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        WorkerReport {
            owner: owner.to_string(),
            claimed: get(&self.claimed),
            succeeded: get(&self.succeeded),
            failed: get(&self.failed),
            retried: get(&self.retried),
            not_applied: get(&self.not_applied),
            released: get(&self.released),
            runs_finalized: get(&self.runs_finalized),
            scheduled_runs: get(&self.scheduled_runs),
            maintenance_passes: get(&self.maintenance_passes),
            elapsed_ms: u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX),
        }
    }
}
