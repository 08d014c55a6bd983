//! Executing a run in this process: claim its samples, run them with bounded concurrency,
//! persist outcomes in group-committed batches, finalize, report.
//!
//! The parts are shared with the distributed worker: the dispatcher
//! ([`super::dispatcher`]) with a [`WorkSource`] that claims only this run's samples, the
//! sample tasks ([`super::sample_exec`]), the persister ([`super::persister`]) with an
//! observer that publishes progress, and the finalization ([`super::finalize`]).
//!
//! Delivery is at-least-once and completion is fenced by (owner, attempt), so a crash at
//! any point loses nothing and doubles nothing: unfinished samples stay leased until the
//! lease expires, then any executor (a resumed run, another worker) claims them again.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::Progress;
use super::dispatcher::{Claimed, DispatchConfig, WorkSource, dispatch};
use super::handle::HandleCancel;
use super::persister::{BatchObserver, PersisterHandle};
use super::run_context::RunContext;
use crate::model::{Report, RunStatus, SampleCounts};
use crate::store::{ClaimRequest, SampleOutcome};
use crate::{Error, Result};

/// Runs `ctx.run` until no sample is left (or cancellation), then finalizes it and returns
/// its report.
/// `handle_cancel` says whether the run's handle asked for the cancellation (then its
/// `run.cancel` event is written here).
pub(crate) async fn execute_run(
    ctx: Arc<RunContext>,
    progress: watch::Sender<Progress>,
    cancel: CancellationToken,
    handle_cancel: Arc<HandleCancel>,
) -> Result<Report> {
    let run = &ctx.run;
    let account = run.account_id;
    let started = Instant::now();

    let initial = ctx.store.sample_counts(account, run.id).await?;
    let changed = ctx
        .store
        .set_run_status(account, run.id, RunStatus::Running, ctx.clock.now())
        .await?;
    if !changed {
        // Already terminal (e.g. resuming a finished run): nothing to execute.
        let current = ctx.store.get_run(account, run.id).await?;
        if current.status.is_terminal() {
            // Settling is idempotent: this completes a settlement a crash interrupted.
            super::finalize::settle_quota(&*ctx.store, account, current.id, ctx.clock.now()).await?;
            publish(&progress, &ctx, current.status, initial, started, 0);
            return super::report::build(&*ctx.store, &current, ctx.extractor.catalog(), ctx.clock.now()).await;
        }
    }
    publish(&progress, &ctx, RunStatus::Running, initial, started, 0);

    let observer = ProgressObserver {
        ctx: ctx.clone(),
        progress: progress.clone(),
        counts: initial,
        started,
        finished_here: 0,
    };
    // A busy database gets a moment; a lasting failure fails the execution (it can be
    // resumed) rather than leaving the caller's handle hanging.
    let mut persister = PersisterHandle::spawn(
        ctx.store.clone(),
        ctx.config.persist_batch,
        std::time::Duration::from_millis(650),
        observer,
    );
    let source = RunSource { ctx: ctx.clone() };
    let config = DispatchConfig {
        store: ctx.store.clone(),
        clock: ctx.clock.clone(),
        concurrency: ctx.concurrency,
        claim_batch: ctx.config.claim_batch as usize,
        lease: ctx.config.lease,
        heartbeat: ctx.config.heartbeat_interval(),
        // While the last calls run, look for samples coming back (expired leases of a dead
        // worker) now and then, not on every poll: each look is a write transaction.
        reclaim_after: ctx.config.idle_poll * 10,
    };
    let dispatched = dispatch(config, &source, &mut persister, &cancel, &cancel).await;
    persister.finish(dispatched.map(|_| ())).await?;

    let now = ctx.clock.now();
    if cancel.is_cancelled() {
        if let Some(request) = handle_cancel.requested_record(now) {
            ctx.store.append_audit(&request).await?;
        }
        let audit = super::finalize::finish_record(account, run.id, now).detail("status", "cancelled");
        super::finalize::cancel_run(&*ctx.store, account, run.id, now, &audit).await?;
    } else {
        super::finalize::finalize_run(&*ctx.store, account, run.id, now).await?;
    }
    // Whoever made the transition (this execution, a worker, a cancellation elsewhere),
    // the stored run says how it ended.
    let run = ctx.store.get_run(account, run.id).await?;
    let counts = ctx.store.sample_counts(account, run.id).await?;
    let finished_here = counts.finished().saturating_sub(initial.finished());
    publish(&progress, &ctx, run.status, counts, started, finished_here);
    tracing::info!(run_id = %run.id, status = run.status.as_str(), succeeded = counts.succeeded, failed = counts.failed,
        cancelled = counts.cancelled, "run finished");
    if !run.status.is_terminal() {
        return Err(Error::Internal(format!(
            "run {} has no sample left but is still {}",
            run.id,
            run.status.as_str()
        )));
    }
    super::report::build(&*ctx.store, &run, ctx.extractor.catalog(), now).await
}

/// Claims only this run's samples; stops once none is pending or leased.
struct RunSource {
    ctx: Arc<RunContext>,
}

#[async_trait::async_trait]
impl WorkSource for RunSource {
    async fn claim(&self, limit: usize) -> Result<Vec<Claimed>> {
        let ctx = &self.ctx;
        let tasks = ctx
            .store
            .claim_samples(&ClaimRequest {
                run_id: Some(ctx.run.id),
                owner: &ctx.owner,
                limit: u32::try_from(limit).unwrap_or(u32::MAX),
                now: ctx.clock.now(),
                lease: ctx.config.lease,
                max_attempts: ctx.config.max_attempts,
            })
            .await?;
        Ok(tasks
            .into_iter()
            .map(|task| Claimed { ctx: ctx.clone(), task })
            .collect())
    }

    async fn idle(&self, stop: &CancellationToken) -> Result<bool> {
        // The counts say whether the run is done, has samples back in the queue (retries),
        // or has samples leased elsewhere (another worker, or a dead one whose lease must
        // expire).
        let run = &self.ctx.run;
        let counts = self.ctx.store.sample_counts(run.account_id, run.id).await?;
        if counts.pending == 0 && counts.leased == 0 {
            // An adaptive run may have a next wave due rather than be over.
            let advanced = super::adaptive::advance(&*self.ctx.store, run, self.ctx.clock.now()).await?;
            if advanced.done {
                return Ok(true);
            }
            if advanced.appended == 0 {
                // Another process appended it (or is finishing what it claimed): look again.
                tokio::select! {
                    _ = tokio::time::sleep(self.ctx.config.idle_poll) => {}
                    _ = stop.cancelled() => {}
                }
            }
            return Ok(false);
        }
        if counts.pending == 0 {
            tokio::select! {
                _ = tokio::time::sleep(self.ctx.config.idle_poll) => {}
                _ = stop.cancelled() => {}
            }
        }
        Ok(false)
    }
}

/// Publishes progress after each committed batch.
struct ProgressObserver {
    ctx: Arc<RunContext>,
    progress: watch::Sender<Progress>,
    counts: SampleCounts,
    started: Instant,
    finished_here: u64,
}

#[async_trait::async_trait]
impl BatchObserver for ProgressObserver {
    async fn persisted(&mut self, batch: &[SampleOutcome], applied: &[bool]) -> Result<()> {
        for (outcome, ok) in batch.iter().zip(applied) {
            if !ok {
                continue;
            }
            match outcome {
                SampleOutcome::Succeeded(_) => {
                    self.counts.succeeded += 1;
                    self.finished_here += 1;
                }
                SampleOutcome::Failed { .. } => {
                    self.counts.failed += 1;
                    self.finished_here += 1;
                }
                SampleOutcome::Retry { .. } => {}
            }
        }
        publish(
            &self.progress,
            &self.ctx,
            RunStatus::Running,
            self.counts,
            self.started,
            self.finished_here,
        );
        if self.ctx.run.adaptive.is_some() {
            // A target whose wave just drained gets its next one while the others run. A
            // failed look is not this batch's failure: the next look (at the latest when
            // the run runs out of work) makes it again.
            if let Err(e) = super::adaptive::advance(&*self.ctx.store, &self.ctx.run, self.ctx.clock.now()).await {
                tracing::warn!(error = %e, run_id = %self.ctx.run.id, "adaptive look failed; retried on the next batch");
            }
        }
        Ok(())
    }
}

fn publish(
    progress: &watch::Sender<Progress>,
    ctx: &RunContext,
    status: RunStatus,
    counts: SampleCounts,
    started: Instant,
    finished_here: u64,
) {
    let mut p = Progress {
        run_id: ctx.run.id,
        status,
        planned: ctx.run.planned_samples,
        succeeded: counts.succeeded,
        failed: counts.failed,
        cancelled: counts.cancelled,
        elapsed: started.elapsed(),
        rate_per_sec: 0.0,
        eta: None,
    };
    p.recompute_rate(finished_here);
    progress.send_replace(p);
}

#[cfg(test)]
mod tests {
    use crate::model::{RunStatus, SampleCounts};

    #[test]
    fn final_status_rules() {
        let c = |s, f, x| SampleCounts {
            succeeded: s,
            failed: f,
            cancelled: x,
            ..Default::default()
        };
        assert_eq!(c(10, 0, 0).final_status(), Some(RunStatus::Completed));
        assert_eq!(c(7, 3, 0).final_status(), Some(RunStatus::Partial));
        assert_eq!(c(0, 10, 0).final_status(), Some(RunStatus::Failed));
        assert_eq!(c(5, 0, 5).final_status(), Some(RunStatus::Cancelled));
        assert_eq!(c(0, 0, 5).final_status(), Some(RunStatus::Cancelled));
        let open = SampleCounts {
            leased: 1,
            ..c(5, 0, 0)
        };
        assert_eq!(open.final_status(), None);
    }
}
