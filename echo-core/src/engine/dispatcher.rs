//! The dispatcher: keeps every concurrency slot busy with claimed samples.
//!
//! Claims are write transactions, so they are batched, and they are made *ahead* of need:
//! the dispatcher holds a small buffer of claimed samples (about one wave of the run's
//! concurrency) and tops it up while calls are in flight. A slot that frees up starts its
//! next sample at once, without waiting on the database; this is what keeps a run with
//! real provider latency close to the ideal `concurrency / latency` throughput.
//!
//! Buffered samples are leased like running ones; on cancellation they are handed back
//! (returned to pending, then marked cancelled) so nothing stays leased.

use std::collections::VecDeque;
use std::sync::Arc;

use tokio::sync::{mpsc, watch};
use tokio::task::{JoinError, JoinSet};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::executor::{send, wait_persisted};
use super::run_context::RunContext;
use super::sample_exec::{CANCELLED_CLASS, execute_sample};
use crate::model::SampleTask;
use crate::store::{ClaimRequest, Fence, SampleOutcome};
use crate::{Error, Result};

/// Claims and runs samples until the run's queue is empty (or cancellation). Every outcome
/// is forwarded to the persister; returns once all of them are persisted.
pub(super) async fn dispatch(
    ctx: &Arc<RunContext>,
    outcomes: &mpsc::Sender<SampleOutcome>,
    persisted: &mut watch::Receiver<u64>,
    cancel: &CancellationToken,
) -> Result<()> {
    let mut d = Dispatcher {
        ctx,
        outcomes,
        running: JoinSet::new(),
        ready: VecDeque::new(),
        sent: 0,
        drained: false,
        buffer_target: ctx.concurrency.min(ctx.config.claim_batch as usize).max(1),
    };
    let result = d.run(persisted, cancel).await;
    // However the loop ended, hand back what was claimed but never started, and let what
    // is in flight finish (on cancellation, in-flight calls return at once).
    let cleanup = d.wind_down(persisted).await;
    result.and(cleanup)
}

struct Dispatcher<'a> {
    ctx: &'a Arc<RunContext>,
    outcomes: &'a mpsc::Sender<SampleOutcome>,
    running: JoinSet<SampleOutcome>,
    /// Claimed samples not started yet.
    ready: VecDeque<SampleTask>,
    /// Outcomes handed to the persister.
    sent: u64,
    /// The last claim came back short: don't claim again until something may have
    /// returned to the queue.
    drained: bool,
    /// How many claimed-but-unstarted samples to keep at hand.
    buffer_target: usize,
}

impl Dispatcher<'_> {
    async fn run(&mut self, persisted: &mut watch::Receiver<u64>, cancel: &CancellationToken) -> Result<()> {
        let run = &self.ctx.run;
        loop {
            while let Some(done) = self.running.try_join_next() {
                self.forward(done).await?;
            }
            if cancel.is_cancelled() {
                return Ok(());
            }
            self.start_ready(cancel);

            if !self.drained && self.ready.len() <= self.buffer_target / 2 {
                let want = self.buffer_target - self.ready.len();
                let claimed = self.claim(want).await?;
                self.drained = claimed.len() < want;
                self.ready.extend(claimed);
                self.start_ready(cancel);
            }

            if self.running.is_empty() && self.ready.is_empty() {
                // Nothing here: once our outcomes are on disk, the counts say whether the
                // run is done, has samples back in the queue (retries), or has samples
                // leased elsewhere (another worker, or a dead one whose lease must expire).
                wait_persisted(persisted, self.sent).await?;
                let counts = self.ctx.store.sample_counts(run.account_id, run.id).await?;
                if counts.pending == 0 && counts.leased == 0 {
                    return Ok(());
                }
                if counts.pending == 0 {
                    tokio::select! {
                        _ = tokio::time::sleep(self.ctx.config.idle_poll) => {}
                        _ = cancel.cancelled() => {}
                    }
                }
                self.drained = false;
                continue;
            }

            if self.running.len() >= self.ctx.concurrency || self.drained || !self.ready.is_empty() {
                // Slots full, or nothing more to claim for now: wait for a call to finish.
                tokio::select! {
                    Some(done) = self.running.join_next() => self.forward(done).await?,
                    _ = cancel.cancelled() => {}
                }
            }
        }
    }

    /// Starts buffered samples while slots are free.
    fn start_ready(&mut self, cancel: &CancellationToken) {
        while self.running.len() < self.ctx.concurrency {
            let Some(task) = self.ready.pop_front() else { break };
            let span = tracing::debug_span!("sample", sample_id = %task.id, run_id = %task.run_id,
                target = %task.target, attempt = task.attempt);
            self.running
                .spawn(execute_sample(self.ctx.clone(), task, cancel.clone()).instrument(span));
        }
    }

    async fn claim(&self, limit: usize) -> Result<Vec<SampleTask>> {
        let ctx = self.ctx;
        ctx.store
            .claim_samples(&ClaimRequest {
                run_id: Some(ctx.run.id),
                owner: &ctx.owner,
                limit: u32::try_from(limit).unwrap_or(u32::MAX),
                now: ctx.clock.now(),
                lease: ctx.config.lease,
                max_attempts: ctx.config.max_attempts,
            })
            .await
    }

    async fn forward(&mut self, done: std::result::Result<SampleOutcome, JoinError>) -> Result<()> {
        let outcome = done.map_err(|e| Error::Internal(format!("sample task panicked: {e}")))?;
        if matches!(outcome, SampleOutcome::Retry { .. }) {
            // The sample goes back to the queue: there is something to claim again.
            self.drained = false;
        }
        send(self.outcomes, outcome).await?;
        self.sent += 1;
        Ok(())
    }

    async fn wind_down(&mut self, persisted: &mut watch::Receiver<u64>) -> Result<()> {
        let now = self.ctx.clock.now();
        while let Some(task) = self.ready.pop_front() {
            let outcome = SampleOutcome::Retry {
                fence: Fence::from(&task),
                error_class: CANCELLED_CLASS.to_string(),
                error_message: "claimed but not started before the execution stopped".into(),
                at: now,
            };
            send(self.outcomes, outcome).await?;
            self.sent += 1;
        }
        while let Some(done) = self.running.join_next().await {
            self.forward(done).await?;
        }
        wait_persisted(persisted, self.sent).await
    }
}
