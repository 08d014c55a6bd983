//! The dispatcher: keeps every concurrency slot busy with claimed samples. One loop serves
//! both executions: an in-process run ([`super::executor`], claims from one run) and a
//! distributed worker ([`super::worker`], claims from any run); a [`WorkSource`] makes the
//! difference.
//!
//! Claims are write transactions, so they are batched, and they are made *ahead* of need:
//! the dispatcher holds a small buffer of claimed samples (about one wave of the
//! concurrency) and tops it up while calls are in flight. A slot that frees up starts its
//! next sample at once, without waiting on the database; this is what keeps a run with
//! real provider latency close to the ideal `concurrency / latency` throughput.
//!
//! Every claimed sample (buffered or running) is held by the [`LeaseKeeper`], which extends
//! its lease while the call is in flight. When the dispatcher stops, buffered samples and
//! abandoned calls are *released* (pending again, attempt given back) so nothing stays
//! leased and nobody waits for an expiry.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::{JoinError, JoinSet};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::lease_keeper::LeaseKeeper;
use super::persister::PersisterHandle;
use super::run_context::RunContext;
use super::sample_exec::{Executed, execute_sample};
use crate::clock::Clock;
use crate::model::SampleTask;
use crate::store::{Fence, SampleOutcome, Store};
use crate::{Error, Result};

/// A claimed sample with the context of its run.
pub(super) struct Claimed {
    pub ctx: Arc<RunContext>,
    pub task: SampleTask,
}

/// Where samples come from, and what to do when there are none.
#[async_trait::async_trait]
pub(super) trait WorkSource: Send + Sync {
    /// Claims up to `limit` samples.
    async fn claim(&self, limit: usize) -> Result<Vec<Claimed>>;

    /// Nothing is buffered or running and every outcome is committed. Returns `true` to
    /// stop, `false` to claim again (after waiting as long as the source sees fit, or
    /// until `stop`).
    async fn idle(&self, stop: &CancellationToken) -> Result<bool>;
}

/// Settings of one dispatcher.
pub(super) struct DispatchConfig {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    /// Calls in flight at most.
    pub concurrency: usize,
    /// Samples claimed per claim at most.
    pub claim_batch: usize,
    pub lease: Duration,
    pub heartbeat: Duration,
    /// After a short claim, how long to wait before claiming again while calls run.
    pub reclaim_after: Duration,
}

/// What a dispatcher did.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Dispatched {
    pub claimed: u64,
    /// Leases handed back (buffered or abandoned samples).
    pub released: u64,
}

/// Claims and runs samples until the source says stop or `stop` fires. In-flight calls
/// return at once when `abandon` fires. Every outcome goes to `persister`; returns once all
/// of them are committed and unfinished samples are released.
pub(super) async fn dispatch(
    config: DispatchConfig,
    source: &dyn WorkSource,
    persister: &mut PersisterHandle,
    stop: &CancellationToken,
    abandon: &CancellationToken,
) -> Result<Dispatched> {
    let keeper = LeaseKeeper::spawn(
        config.store.clone(),
        config.clock.clone(),
        config.lease,
        config.heartbeat,
    );
    let buffer_target = config.concurrency.min(config.claim_batch).max(1);
    let mut d = Dispatcher {
        config,
        source,
        keeper,
        running: JoinSet::new(),
        ready: VecDeque::new(),
        to_release: Vec::new(),
        drained: false,
        reclaim_at: Instant::now(),
        buffer_target,
        stats: Dispatched::default(),
    };
    let result = d.run(persister, stop, abandon).await;
    // However the loop ended, hand back what was claimed but never started, and let what
    // is in flight finish (or return at once once `abandon` fires).
    let cleanup = d.wind_down(persister).await;
    result.and(cleanup).map(|_| d.stats)
}

struct Dispatcher<'a> {
    config: DispatchConfig,
    source: &'a dyn WorkSource,
    keeper: LeaseKeeper,
    running: JoinSet<Executed>,
    /// Claimed samples not started yet.
    ready: VecDeque<Claimed>,
    /// Abandoned samples whose leases are to be handed back.
    to_release: Vec<Fence>,
    /// The last claim came back short: don't claim again before `reclaim_at`, unless
    /// something returned to the queue meanwhile.
    drained: bool,
    reclaim_at: Instant,
    /// How many claimed-but-unstarted samples to keep at hand.
    buffer_target: usize,
    stats: Dispatched,
}

impl Dispatcher<'_> {
    async fn run(
        &mut self,
        persister: &mut PersisterHandle,
        stop: &CancellationToken,
        abandon: &CancellationToken,
    ) -> Result<()> {
        loop {
            while let Some(done) = self.running.try_join_next() {
                self.forward(done, persister).await?;
            }
            if stop.is_cancelled() {
                return Ok(());
            }
            self.start_ready(abandon);

            if !self.drained && self.ready.len() <= self.buffer_target / 2 {
                let want = self.buffer_target - self.ready.len();
                let claimed = self.source.claim(want).await?;
                self.stats.claimed += claimed.len() as u64;
                self.drained = claimed.len() < want;
                if self.drained {
                    self.reclaim_at = Instant::now() + self.config.reclaim_after;
                }
                for c in claimed {
                    self.keeper.hold(Fence::from(&c.task));
                    self.ready.push_back(c);
                }
                self.start_ready(abandon);
            }

            if self.running.is_empty() && self.ready.is_empty() {
                // Nothing here: once our outcomes are on disk, the source decides whether
                // to stop or to wait for work (retries, other workers' expiring leases,
                // new runs).
                persister.flush().await?;
                self.release_abandoned().await;
                if self.source.idle(stop).await? {
                    return Ok(());
                }
                self.drained = false;
                continue;
            }

            if self.running.len() >= self.config.concurrency || self.drained {
                // Slots full, or nothing more to claim for now: wait for a call to finish
                // (or, when drained, for the time to look for new work).
                let drained = self.drained;
                tokio::select! {
                    Some(done) = self.running.join_next() => self.forward(done, persister).await?,
                    _ = tokio::time::sleep_until(self.reclaim_at), if drained => self.drained = false,
                    _ = stop.cancelled() => {}
                }
            }
        }
    }

    /// Starts buffered samples while slots are free.
    fn start_ready(&mut self, abandon: &CancellationToken) {
        while self.running.len() < self.config.concurrency {
            let Some(Claimed { ctx, task }) = self.ready.pop_front() else {
                break;
            };
            let span = super::trace::sample_span(&ctx, &task);
            self.running
                .spawn(execute_sample(ctx, task, abandon.clone()).instrument(span));
        }
    }

    async fn forward(
        &mut self,
        done: std::result::Result<Executed, JoinError>,
        persister: &mut PersisterHandle,
    ) -> Result<()> {
        let executed = done.map_err(|e| Error::Internal(format!("sample task panicked: {e}")))?;
        match executed {
            Executed::Outcome(outcome) => {
                self.keeper.forget(outcome.fence().sample_id);
                if matches!(outcome, SampleOutcome::Retry { .. }) {
                    // The sample goes back to the queue: there is something to claim again.
                    self.drained = false;
                }
                persister.send(outcome).await
            }
            Executed::Abandoned(fence) => {
                self.keeper.forget(fence.sample_id);
                self.to_release.push(fence);
                Ok(())
            }
        }
    }

    async fn wind_down(&mut self, persister: &mut PersisterHandle) -> Result<()> {
        while let Some(Claimed { task, .. }) = self.ready.pop_front() {
            self.keeper.forget(task.id);
            self.to_release.push(Fence::from(&task));
        }
        let mut first_error = Ok(());
        while let Some(done) = self.running.join_next().await {
            if let Err(e) = self.forward(done, persister).await {
                first_error = first_error.and(Err(e));
            }
        }
        self.release_abandoned().await;
        first_error?;
        persister.flush().await
    }

    /// Hands abandoned leases back. A failure only delays those samples until their lease
    /// expires, so it is logged, not raised.
    async fn release_abandoned(&mut self) {
        if self.to_release.is_empty() {
            return;
        }
        let fences = std::mem::take(&mut self.to_release);
        match self.config.store.release_leases(&fences).await {
            Ok(released) => {
                let n = released.iter().filter(|r| **r).count() as u64;
                self.stats.released += n;
                tracing::debug!(released = n, "leases handed back");
            }
            Err(e) => tracing::warn!(error = %e, samples = fences.len(),
                "releasing leases failed; the samples return to the queue when their leases expire"),
        }
    }
}
