//! Leadership: the one worker that runs the scheduler and maintenance.
//!
//! Every worker with `run_scheduler` on tries, each `leader_poll`, to acquire (or, when it
//! holds it, renew) the leader lease `echo.leader`. The holder scans due schedules on each
//! poll and runs maintenance every `maintenance_interval` of the engine's clock. When the
//! leader dies its lease expires after `leader_lease` and another worker takes over; a
//! leader shutting down releases it so the takeover is immediate.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use super::WorkerConfig;
use super::report::WorkerStats;
use crate::engine::Echo;
use crate::engine::maintenance::{DynMaintenanceTask, LeaseSweep, QuotaSweep};

/// The name of the leader lease in `leader_leases`.
pub const LEADER_LEASE: &str = "echo.leader";

/// Runs until `stop`; releases the lease on the way out if it holds it.
pub(super) async fn lead(
    echo: Echo,
    config: WorkerConfig,
    owner: String,
    stats: Arc<WorkerStats>,
    stop: CancellationToken,
) {
    let mut tasks: Vec<DynMaintenanceTask> = vec![
        Arc::new(LeaseSweep {
            max_attempts: echo.config().max_attempts,
            finalize_batch: 100,
        }),
        Arc::new(QuotaSweep),
        Arc::new(crate::privacy::RetentionSweep::daily(echo.config().retention.clone())),
        Arc::new(crate::gdpr::ErasureSweep {
            batch_size: echo.config().erasure_batch,
            ..Default::default()
        }),
    ];
    tasks.extend(config.maintenance.iter().cloned());
    let maintenance_every = chrono::Duration::from_std(config.maintenance_interval).unwrap_or(chrono::Duration::MAX);
    let mut last_maintenance: Option<DateTime<Utc>> = None;
    let mut leading = false;
    let store = echo.store().clone();

    while !stop.is_cancelled() {
        let now = echo.clock().now();
        let was_leading = leading;
        leading = match store
            .try_acquire_leader(LEADER_LEASE, &owner, now, config.leader_lease)
            .await
        {
            Ok(held) => held,
            Err(e) => {
                tracing::warn!(error = %e, "leader lease check failed");
                false
            }
        };
        if leading != was_leading {
            tracing::info!(owner = %owner, leading, "leadership changed");
        }
        if leading {
            match crate::engine::scheduler::run_due(&echo, now).await {
                Ok(n) => WorkerStats::add(&stats.scheduled_runs, n),
                Err(e) => tracing::warn!(error = %e, "scanning due schedules failed"),
            }
            if last_maintenance.is_none_or(|t| now - t >= maintenance_every || now < t) {
                for task in &tasks {
                    if let Err(e) = task.run(&*store, now).await {
                        tracing::warn!(task = task.name(), error = %e, "maintenance task failed; retried next pass");
                    }
                }
                last_maintenance = Some(now);
                WorkerStats::add(&stats.maintenance_passes, 1);
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(config.leader_poll) => {}
            _ = stop.cancelled() => {}
        }
    }
    if leading {
        if let Err(e) = store.release_leader(LEADER_LEASE, &owner).await {
            tracing::warn!(error = %e, "releasing the leader lease failed; it expires on its own");
        }
    }
}
