//! Executing a run: claim samples from the queue, run them with bounded concurrency,
//! persist outcomes in group-committed batches, finalize.
//!
//! Three cooperating parts:
//! - the **dispatcher** ([`super::dispatcher`]) keeps a small buffer of claimed samples
//!   ahead of the free concurrency and spawns one task per sample;
//! - **sample tasks** call the provider and extract mentions ([`execute_sample`]);
//! - the **persister** writes finished samples in batches (one transaction per batch,
//!   each sample with its mentions), so provider calls never wait on the disk.
//!
//! Delivery is at-least-once and completion is fenced by (owner, attempt), so a crash at
//! any point loses nothing and doubles nothing: unfinished samples stay leased until the
//! lease expires, then any executor (a resumed run, another worker) claims them again.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use super::Progress;
use super::run_context::RunContext;
use crate::model::{Report, RunStatus, SampleCounts};
use crate::store::{SampleOutcome, Store};
use crate::{Error, Result};

/// Runs `ctx.run` until no sample is left (or cancellation), then finalizes it and returns
/// its report.
pub(crate) async fn execute_run(
    ctx: Arc<RunContext>,
    progress: watch::Sender<Progress>,
    cancel: CancellationToken,
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
            crate::quota::settle_run(&*ctx.store, &current, &initial, ctx.clock.now()).await?;
            publish(&progress, &ctx, current.status, initial, started, 0);
            return super::report::build(&*ctx.store, &current, ctx.extractor.catalog(), ctx.clock.now()).await;
        }
    }
    publish(&progress, &ctx, RunStatus::Running, initial, started, 0);

    let (outcome_tx, outcome_rx) = mpsc::channel::<SampleOutcome>(ctx.config.persist_batch * 4);
    let (persisted_tx, mut persisted_rx) = watch::channel(0u64);
    let persister = tokio::spawn(persist_loop(
        ctx.clone(),
        outcome_rx,
        persisted_tx,
        progress.clone(),
        initial,
        started,
    ));

    let dispatch = super::dispatcher::dispatch(&ctx, &outcome_tx, &mut persisted_rx, &cancel).await;
    drop(outcome_tx);
    let persisted = persister
        .await
        .map_err(|e| Error::Internal(format!("persister task failed: {e}")))?;
    // The persister's error is the root cause when both failed.
    persisted?;
    dispatch?;

    let now = ctx.clock.now();
    let cancelled = cancel.is_cancelled();
    if cancelled {
        ctx.store.cancel_pending_samples(account, run.id, now).await?;
    }
    let counts = ctx.store.sample_counts(account, run.id).await?;
    let status = final_status(cancelled, &counts);
    ctx.store.set_run_status(account, run.id, status, now).await?;
    crate::quota::settle_run(&*ctx.store, run, &counts, now).await?;
    let finished_here = counts.finished().saturating_sub(initial.finished());
    publish(&progress, &ctx, status, counts, started, finished_here);
    tracing::info!(run_id = %run.id, status = status.as_str(), succeeded = counts.succeeded, failed = counts.failed,
        cancelled = counts.cancelled, "run finished");

    let run = ctx.store.get_run(account, run.id).await?;
    super::report::build(&*ctx.store, &run, ctx.extractor.catalog(), now).await
}

/// The status a run ends with, given its final counts.
fn final_status(cancelled: bool, counts: &SampleCounts) -> RunStatus {
    if cancelled {
        RunStatus::Cancelled
    } else if counts.failed == 0 && counts.cancelled == 0 {
        RunStatus::Completed
    } else if counts.succeeded == 0 {
        RunStatus::Failed
    } else {
        RunStatus::Partial
    }
}

/// A closed channel means the persister stopped on an error; the caller then reports
/// the persister's own error.
const PERSISTER_STOPPED: &str = "the persister stopped";

pub(super) async fn send(outcomes: &mpsc::Sender<SampleOutcome>, outcome: SampleOutcome) -> Result<()> {
    outcomes
        .send(outcome)
        .await
        .map_err(|_| Error::Internal(PERSISTER_STOPPED.into()))
}

pub(super) async fn wait_persisted(persisted: &mut watch::Receiver<u64>, sent: u64) -> Result<()> {
    persisted
        .wait_for(|&n| n >= sent)
        .await
        .map(|_| ())
        .map_err(|_| Error::Internal(PERSISTER_STOPPED.into()))
}

/// Writes outcomes in batches and publishes progress after each batch.
async fn persist_loop(
    ctx: Arc<RunContext>,
    mut outcomes: mpsc::Receiver<SampleOutcome>,
    persisted: watch::Sender<u64>,
    progress: watch::Sender<Progress>,
    initial: SampleCounts,
    started: Instant,
) -> Result<()> {
    let batch_size = ctx.config.persist_batch;
    let mut batch = Vec::with_capacity(batch_size);
    let mut counts = initial;
    let mut finished_here = 0u64;
    let mut total = 0u64;
    while outcomes.recv_many(&mut batch, batch_size).await > 0 {
        let applied = complete_with_retry(&*ctx.store, &batch).await?;
        for (outcome, ok) in batch.iter().zip(applied) {
            if !ok {
                tracing::warn!(sample_id = %outcome.fence().sample_id, "outcome not applied: the lease was taken over");
                continue;
            }
            match outcome {
                SampleOutcome::Succeeded(_) => {
                    counts.succeeded += 1;
                    finished_here += 1;
                }
                SampleOutcome::Failed { .. } => {
                    counts.failed += 1;
                    finished_here += 1;
                }
                SampleOutcome::Retry { .. } => {}
            }
        }
        total += batch.len() as u64;
        batch.clear();
        persisted.send_replace(total);
        publish(&progress, &ctx, RunStatus::Running, counts, started, finished_here);
    }
    Ok(())
}

/// Persists a batch, retrying briefly when the database is busy. The batch is idempotent
/// (fenced), so a retry after an ambiguous failure cannot double anything.
async fn complete_with_retry(store: &dyn Store, batch: &[SampleOutcome]) -> Result<Vec<bool>> {
    let mut delay = Duration::from_millis(20);
    let mut attempt = 0;
    loop {
        match store.complete_samples(batch).await {
            Ok(applied) => return Ok(applied),
            Err(e) if attempt < 5 && e.kind() == crate::ErrorKind::Storage => {
                tracing::warn!(error = %e, attempt, "persisting a batch failed; retrying");
                tokio::time::sleep(delay).await;
                delay *= 2;
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
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
    use super::*;

    #[test]
    fn final_status_rules() {
        let c = |s, f, x| SampleCounts {
            succeeded: s,
            failed: f,
            cancelled: x,
            ..Default::default()
        };
        assert_eq!(final_status(false, &c(10, 0, 0)), RunStatus::Completed);
        assert_eq!(final_status(false, &c(7, 3, 0)), RunStatus::Partial);
        assert_eq!(final_status(false, &c(0, 10, 0)), RunStatus::Failed);
        assert_eq!(final_status(true, &c(5, 0, 5)), RunStatus::Cancelled);
    }
}
