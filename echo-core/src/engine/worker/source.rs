//! The worker's side of the shared pipeline: claims from any run (with a cache of run
//! contexts), and after each committed batch, counts and finalizes the runs it finished.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use tokio_util::sync::CancellationToken;

use super::report::WorkerStats;
use crate::engine::Echo;
use crate::engine::dispatcher::{Claimed, WorkSource};
use crate::engine::persister::BatchObserver;
use crate::engine::run_context::RunContext;
use crate::model::{AccountId, RunId, RunStatus, SampleId, SampleTask};
use crate::store::{ClaimRequest, Fence, SampleOutcome};
use crate::{ErrorKind, Result};

/// Contexts cached at most; beyond, the cache starts over (contexts are rebuilt on demand).
const MAX_CACHED_RUNS: usize = 256;

/// What the source and the observer share: run contexts by run, and the run of every
/// sample in flight (outcomes carry only the sample id).
#[derive(Default)]
pub(super) struct Runs {
    contexts: HashMap<RunId, Arc<RunContext>>,
    in_flight: HashMap<SampleId, (AccountId, RunId)>,
}

pub(super) type SharedRuns = Arc<Mutex<Runs>>;

fn lock(runs: &SharedRuns) -> std::sync::MutexGuard<'_, Runs> {
    runs.lock().expect("worker run cache poisoned")
}

/// Claims samples of any run, oldest run first.
pub(super) struct AnyRunSource {
    pub echo: Echo,
    pub owner: String,
    pub concurrency: usize,
    pub poll_interval: std::time::Duration,
    pub runs: SharedRuns,
    pub stats: Arc<WorkerStats>,
}

impl AnyRunSource {
    /// The cached context of the task's run, or a fresh one (and the run marked running).
    async fn context(&self, task: &SampleTask) -> Result<Arc<RunContext>> {
        if let Some(ctx) = lock(&self.runs).contexts.get(&task.run_id) {
            return Ok(ctx.clone());
        }
        let store = self.echo.store();
        let run = store.get_run(task.account_id, task.run_id).await?;
        if run.status == RunStatus::Pending {
            store
                .set_run_status(run.account_id, run.id, RunStatus::Running, self.echo.clock().now())
                .await?;
        }
        let ctx = self.echo.run_context(run, self.concurrency, &self.owner).await?;
        let mut runs = lock(&self.runs);
        if runs.contexts.len() >= MAX_CACHED_RUNS {
            runs.contexts.clear();
        }
        runs.contexts.insert(task.run_id, ctx.clone());
        Ok(ctx)
    }
}

#[async_trait::async_trait]
impl WorkSource for AnyRunSource {
    async fn claim(&self, limit: usize) -> Result<Vec<Claimed>> {
        let config = self.echo.config();
        let claimed = self
            .echo
            .store()
            .claim_samples(&ClaimRequest {
                run_id: None,
                owner: &self.owner,
                limit: u32::try_from(limit).unwrap_or(u32::MAX),
                now: self.echo.clock().now(),
                lease: config.lease,
                max_attempts: config.max_attempts,
            })
            .await;
        let tasks = match claimed {
            Ok(tasks) => tasks,
            // The database is unreachable (restarting, failing over): keep the worker up
            // and try again after the poll interval.
            Err(e) if e.kind() == ErrorKind::Storage => {
                tracing::warn!(error = %e, "claiming failed; retrying after the poll interval");
                return Ok(Vec::new());
            }
            Err(e) => return Err(e),
        };
        WorkerStats::add(&self.stats.claimed, tasks.len() as u64);

        let mut ready = Vec::with_capacity(tasks.len());
        let mut unusable = Vec::new();
        let mut broken = Vec::new();
        for task in tasks {
            match self.context(&task).await {
                Ok(ctx) => {
                    lock(&self.runs)
                        .in_flight
                        .insert(task.id, (task.account_id, task.run_id));
                    ready.push(Claimed { ctx, task });
                }
                // Transient: hand the sample back for a later claim.
                Err(e) if e.kind() == ErrorKind::Storage => {
                    tracing::warn!(error = %e, run_id = %task.run_id, "cannot load the run; sample handed back");
                    unusable.push(Fence::from(&task));
                }
                // The run cannot be executed (e.g. an unreadable spec): fail the sample with
                // the reason rather than hand it round forever.
                Err(e) => {
                    tracing::error!(error = %e, run_id = %task.run_id, "cannot execute the run's samples");
                    broken.push(SampleOutcome::Failed {
                        fence: Fence::from(&task),
                        error_class: "config".into(),
                        error_message: format!("the run cannot be executed: {e}"),
                        at: self.echo.clock().now(),
                    });
                }
            }
        }
        if !unusable.is_empty() {
            if let Err(e) = self.echo.store().release_leases(&unusable).await {
                tracing::warn!(error = %e, "releasing failed; the samples return when their leases expire");
            }
        }
        if !broken.is_empty() {
            if let Err(e) = self.echo.store().complete_samples(&broken).await {
                tracing::warn!(error = %e, "recording unusable samples failed; they return when their leases expire");
            }
        }
        Ok(ready)
    }

    async fn idle(&self, stop: &CancellationToken) -> Result<bool> {
        tokio::select! {
            _ = tokio::time::sleep(self.poll_interval) => Ok(false),
            _ = stop.cancelled() => Ok(true),
        }
    }
}

/// Counts committed outcomes and finalizes the runs whose last sample this worker
/// persisted.
pub(super) struct WorkerObserver {
    pub echo: Echo,
    pub runs: SharedRuns,
    pub stats: Arc<WorkerStats>,
}

#[async_trait::async_trait]
impl BatchObserver for WorkerObserver {
    async fn persisted(&mut self, batch: &[SampleOutcome], applied: &[bool]) -> Result<()> {
        let mut touched: HashSet<(AccountId, RunId)> = HashSet::new();
        {
            let mut runs = lock(&self.runs);
            for (outcome, ok) in batch.iter().zip(applied) {
                let run = runs.in_flight.remove(&outcome.fence().sample_id);
                let counter = match (ok, outcome) {
                    (false, _) => &self.stats.not_applied,
                    (true, SampleOutcome::Succeeded(_)) => &self.stats.succeeded,
                    (true, SampleOutcome::Failed { .. }) => &self.stats.failed,
                    (true, SampleOutcome::Retry { .. }) => &self.stats.retried,
                };
                WorkerStats::add(counter, 1);
                if *ok && !matches!(outcome, SampleOutcome::Retry { .. }) {
                    touched.extend(run);
                }
            }
        }
        for (account, run) in touched {
            // Finalization failing is not this batch's failure: maintenance finalizes any
            // run left behind.
            if let Err(e) = self.finalize_if_done(account, run).await {
                tracing::warn!(error = %e, run_id = %run, "finalizing failed; maintenance will retry");
            }
        }
        Ok(())
    }
}

impl WorkerObserver {
    async fn finalize_if_done(&self, account: AccountId, run: RunId) -> Result<()> {
        let store = self.echo.store();
        // An adaptive run's drained targets get their next wave now, not when the whole
        // run drains (engine/adaptive.rs).
        let cached = lock(&self.runs).contexts.get(&run).map(|ctx| ctx.run.clone());
        let run_row = match cached {
            Some(r) => r,
            None => store.get_run(account, run).await?,
        };
        if run_row.adaptive.is_some() {
            crate::engine::adaptive::advance(&**store, &run_row, self.echo.clock().now()).await?;
        }
        // A cheap read first: most batches do not finish their run.
        let counts = store.sample_counts(account, run).await?;
        if counts.pending > 0 || counts.leased > 0 {
            return Ok(());
        }
        let now = self.echo.clock().now();
        if let Some(status) = crate::engine::finalize::finalize_run(&**store, account, run, now).await? {
            WorkerStats::add(&self.stats.runs_finalized, 1);
            tracing::info!(run_id = %run, status = status.as_str(), "run finished");
        }
        lock(&self.runs).contexts.remove(&run);
        Ok(())
    }
}
