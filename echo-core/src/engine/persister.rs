//! The persister: writes finished samples in group-committed batches (one transaction per
//! batch, each sample with its mentions and citations), so provider calls never wait on the
//! disk. Shared by the in-process executor and the distributed worker; what happens after
//! a batch (progress events, run finalization, counters) is the [`BatchObserver`]'s job.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tracing::Instrument;

use crate::store::{SampleOutcome, Store};
use crate::{Error, Result};

/// Told about every batch once it is committed.
#[async_trait::async_trait]
pub(super) trait BatchObserver: Send {
    /// `applied[i]` says whether `batch[i]`'s fence still held (a lost fence means another
    /// worker took the sample over, and this outcome was discarded).
    async fn persisted(&mut self, batch: &[SampleOutcome], applied: &[bool]) -> Result<()>;
}

/// The sending side of a persister: outcomes in, a running count of persisted outcomes out.
pub(super) struct PersisterHandle {
    outcomes: mpsc::Sender<SampleOutcome>,
    persisted: watch::Receiver<u64>,
    /// Outcomes handed over so far.
    sent: u64,
    task: tokio::task::JoinHandle<Result<()>>,
}

/// A closed channel means the persister stopped on an error; the caller then reports the
/// persister's own error (see [`PersisterHandle::finish`]).
const PERSISTER_STOPPED: &str = "the persister stopped";

impl PersisterHandle {
    /// Starts a persister writing up to `batch_size` outcomes per transaction. A batch the
    /// database refuses with a storage error (busy, restarting) is retried with backoff for
    /// up to `retry_for` before the persister gives up.
    pub(super) fn spawn(
        store: Arc<dyn Store>,
        batch_size: usize,
        retry_for: Duration,
        observer: impl BatchObserver + 'static,
    ) -> Self {
        let (outcome_tx, outcome_rx) = mpsc::channel::<SampleOutcome>(batch_size * 4);
        let (persisted_tx, persisted_rx) = watch::channel(0u64);
        // In the caller's span (the run's or the worker's), so its logs carry their ids.
        let task = tokio::spawn(
            persist_loop(store, batch_size, retry_for, outcome_rx, persisted_tx, observer).in_current_span(),
        );
        Self {
            outcomes: outcome_tx,
            persisted: persisted_rx,
            sent: 0,
            task,
        }
    }

    /// Hands one outcome over (waits when the persister is a few batches behind).
    pub(super) async fn send(&mut self, outcome: SampleOutcome) -> Result<()> {
        self.outcomes
            .send(outcome)
            .await
            .map_err(|_| Error::Internal(PERSISTER_STOPPED.into()))?;
        self.sent += 1;
        Ok(())
    }

    /// Waits until everything handed over so far is committed.
    pub(super) async fn flush(&mut self) -> Result<()> {
        let sent = self.sent;
        self.persisted
            .wait_for(|&n| n >= sent)
            .await
            .map(|_| ())
            .map_err(|_| Error::Internal(PERSISTER_STOPPED.into()))
    }

    /// Closes the channel and waits for the persister to write what it holds. Its error,
    /// if any, is the root cause of a failed execution and wins over the caller's own.
    pub(super) async fn finish(self, dispatched: Result<()>) -> Result<()> {
        drop(self.outcomes);
        let persisted = self
            .task
            .await
            .map_err(|e| Error::Internal(format!("persister task failed: {e}")))?;
        persisted?;
        dispatched
    }
}

async fn persist_loop(
    store: Arc<dyn Store>,
    batch_size: usize,
    retry_for: Duration,
    mut outcomes: mpsc::Receiver<SampleOutcome>,
    persisted: watch::Sender<u64>,
    mut observer: impl BatchObserver,
) -> Result<()> {
    let mut batch = Vec::with_capacity(batch_size);
    let mut total = 0u64;
    while outcomes.recv_many(&mut batch, batch_size).await > 0 {
        let applied = complete_with_retry(&*store, &batch, retry_for).await?;
        for (outcome, ok) in batch.iter().zip(&applied) {
            if !ok {
                tracing::warn!(sample_id = %outcome.fence().sample_id, "outcome not applied: the lease was taken over");
            }
        }
        observer.persisted(&batch, &applied).await?;
        total += batch.len() as u64;
        batch.clear();
        persisted.send_replace(total);
    }
    Ok(())
}

/// Persists a batch, retrying with backoff (20 ms doubling, capped at 5 s) while the
/// database answers with storage errors, for up to `retry_for`. The batch is idempotent
/// (fenced), so a retry after an ambiguous failure cannot double anything.
async fn complete_with_retry(store: &dyn Store, batch: &[SampleOutcome], retry_for: Duration) -> Result<Vec<bool>> {
    let started = tokio::time::Instant::now();
    let mut delay = Duration::from_millis(20);
    let mut attempt = 0u32;
    loop {
        match store.complete_samples(batch).await {
            Ok(applied) => return Ok(applied),
            Err(e) if e.kind() == crate::ErrorKind::Storage && started.elapsed() + delay <= retry_for => {
                tracing::warn!(error = %e, attempt, "persisting a batch failed; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}
