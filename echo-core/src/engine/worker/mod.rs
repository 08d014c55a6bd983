//! Distributed execution: a [`Worker`] executes samples of ANY run in the database, so
//! web servers enqueue ([`Echo::enqueue_run`]) and a fleet of worker processes executes.
//!
//! ```text
//! Worker::start
//!   dispatcher   claim from any run (batched, ahead of need) → sample tasks → persister
//!                (the same pipeline as Echo::start_run; run contexts cached per run)
//!   heartbeat    extends the leases of claimed samples every lease/3
//!   persister    group commit; finalizes the runs whose last sample it wrote
//!   leader       (run_scheduler) leader lease → due schedules → runs; maintenance
//! WorkerHandle::shutdown(grace)
//!   stop claiming → buffered samples released → in-flight calls get `grace` to finish →
//!   the rest are abandoned and released (pending again, attempt given back) → report
//! ```
//!
//! Any number of workers may share a database: claims are exclusive, completions fenced,
//! leases kept alive while calls run, and a dead worker's samples return to the queue one
//! lease after its last heartbeat. See `docs/operations.md`.

mod config;
mod leader;
mod report;
mod source;

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

pub use config::WorkerConfig;
pub use leader::LEADER_LEASE;
pub use report::WorkerReport;

use self::report::WorkerStats;
use self::source::{AnyRunSource, WorkerObserver};
use super::Echo;
use super::dispatcher::{DispatchConfig, dispatch};
use super::persister::PersisterHandle;
use crate::{Error, Result};

impl Echo {
    /// A worker executing samples of every run in this engine's database with this engine's
    /// providers (every provider a run targets must be registered). Fails with
    /// `InvalidInput` on a bad configuration.
    pub fn worker(&self, config: WorkerConfig) -> Result<Worker> {
        config.validate(self.config().lease)?;
        let owner = config.owner_id();
        Ok(Worker {
            echo: self.clone(),
            config,
            owner,
        })
    }
}

/// A configured worker, not started yet.
#[derive(Debug)]
pub struct Worker {
    echo: Echo,
    config: WorkerConfig,
    owner: String,
}

impl Worker {
    /// The lease owner id this worker claims under.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// Starts working in the background; the handle shuts it down.
    pub fn start(self) -> WorkerHandle {
        let stop = CancellationToken::new();
        let abandon = CancellationToken::new();
        let stats = Arc::new(WorkerStats::new());
        let owner = self.owner.clone();
        let span = tracing::info_span!("worker", owner = %owner, concurrency = self.config.concurrency);
        let task = tokio::spawn(tracing::Instrument::instrument(
            work(self, stats.clone(), stop.clone(), abandon.clone()),
            span,
        ));
        WorkerHandle {
            owner,
            stop,
            abandon,
            stats,
            task: Mutex::new(Some(task)),
        }
    }

    /// Works until `shutdown` completes (e.g. `tokio::signal::ctrl_c()`), then shuts down
    /// gracefully within `WorkerConfig::shutdown_grace` and returns the report.
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) -> Result<WorkerReport> {
        let grace = self.config.shutdown_grace;
        let handle = self.start();
        tokio::select! {
            _ = shutdown => {}
            // The worker stopped on its own (an unrecoverable error): report it.
            _ = handle.finished() => {}
        }
        handle.shutdown(grace).await
    }
}

/// A running worker.
#[derive(Debug)]
pub struct WorkerHandle {
    owner: String,
    stop: CancellationToken,
    abandon: CancellationToken,
    stats: Arc<WorkerStats>,
    task: Mutex<Option<JoinHandle<Result<WorkerReport>>>>,
}

impl WorkerHandle {
    /// The lease owner id of the worker.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// What the worker has done so far.
    pub fn report(&self) -> WorkerReport {
        self.stats.snapshot(&self.owner)
    }

    /// Resolves when the worker task has ended (only on an unrecoverable error before a
    /// shutdown is asked for).
    async fn finished(&self) {
        loop {
            let done = self
                .task
                .lock()
                .expect("worker handle poisoned")
                .as_ref()
                .is_none_or(JoinHandle::is_finished);
            if done {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Graceful shutdown: stops claiming at once and hands back claimed samples not yet
    /// started; calls in flight get `grace` to finish and be persisted; after that they
    /// are abandoned and their samples released (pending again, attempt given back, so
    /// another worker takes them at once). Returns the worker's report, or the error that
    /// stopped it.
    pub async fn shutdown(self, grace: Duration) -> Result<WorkerReport> {
        self.stop.cancel();
        let task = self.task.lock().expect("worker handle poisoned").take();
        let Some(mut task) = task else {
            return Ok(self.report());
        };
        let joined = tokio::select! {
            joined = &mut task => joined,
            _ = tokio::time::sleep(grace) => {
                tracing::warn!(grace = ?grace, "shutdown grace over; abandoning calls in flight");
                self.abandon.cancel();
                task.await
            }
        };
        joined.map_err(|e| Error::Internal(format!("worker task failed: {e}")))?
    }
}

/// The worker's life: the leader loop beside the dispatch pipeline, until `stop`.
async fn work(
    worker: Worker,
    stats: Arc<WorkerStats>,
    stop: CancellationToken,
    abandon: CancellationToken,
) -> Result<WorkerReport> {
    let Worker { echo, config, owner } = worker;
    tracing::info!("worker started");
    let leader = config.run_scheduler.then(|| {
        tokio::spawn(
            leader::lead(echo.clone(), config.clone(), owner.clone(), stats.clone(), stop.clone()).in_current_span(),
        )
    });

    let runs = source::SharedRuns::default();
    let source = AnyRunSource {
        echo: echo.clone(),
        owner: owner.clone(),
        concurrency: config.concurrency,
        poll_interval: config.poll_interval,
        runs: runs.clone(),
        stats: stats.clone(),
    };
    let observer = WorkerObserver {
        echo: echo.clone(),
        runs,
        stats: stats.clone(),
    };
    let engine = echo.config();
    // A worker rides out a database restart or failover: a batch is retried for half a
    // lease (its samples' leases outlive that), then the worker stops with the error.
    let mut persister = PersisterHandle::spawn(echo.store().clone(), engine.persist_batch, engine.lease / 2, observer);
    let dispatch_config = DispatchConfig {
        store: echo.store().clone(),
        clock: echo.clock().clone(),
        concurrency: config.concurrency,
        claim_batch: engine.claim_batch as usize,
        lease: engine.lease,
        heartbeat: config.heartbeat_interval.unwrap_or_else(|| engine.heartbeat_interval()),
        reclaim_after: config.poll_interval,
    };
    let dispatched = dispatch(dispatch_config, &source, &mut persister, &stop, &abandon).await;
    // An error ends the worker: stop the leader too.
    stop.cancel();
    let result = match dispatched {
        Ok(d) => {
            WorkerStats::add(&stats.released, d.released);
            persister.finish(Ok(())).await
        }
        Err(e) => persister.finish(Err(e)).await,
    };
    if let Some(leader) = leader {
        if let Err(e) = leader.await {
            tracing::warn!(error = %e, "leader task failed");
        }
    }
    let report = stats.snapshot(&owner);
    match &result {
        Ok(()) => tracing::info!(
            claimed = report.claimed,
            succeeded = report.succeeded,
            released = report.released,
            "worker stopped"
        ),
        Err(e) => tracing::error!(error = %e, "worker failed; its leased samples return when their leases expire"),
    }
    result.map(|()| report)
}
