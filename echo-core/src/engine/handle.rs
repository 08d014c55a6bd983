//! A handle on an executing run.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, Utc};
use futures::Stream;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::WatchStream;
use tokio_util::sync::CancellationToken;

use super::Progress;
use crate::audit::AuditRecord;
use crate::model::{Report, RunId};
use crate::{Error, Result};

/// A cancellation asked through [`RunHandle::cancel`], with the `run.cancel` event naming
/// the principal that started the execution. `cancel` is not async and holds no store, so
/// the execution writes the event when it stops (as `Echo::cancel_run` writes its own).
#[derive(Debug)]
pub(crate) struct HandleCancel {
    requested: AtomicBool,
    record: AuditRecord,
}

impl HandleCancel {
    pub(crate) fn new(record: AuditRecord) -> Arc<Self> {
        Arc::new(Self {
            requested: AtomicBool::new(false),
            record,
        })
    }

    /// The event to write, dated `now`, if the handle asked for the cancellation.
    pub(crate) fn requested_record(&self, now: DateTime<Utc>) -> Option<AuditRecord> {
        self.requested.load(Ordering::SeqCst).then(|| {
            let mut record = self.record.clone();
            record.occurred_at = crate::store::truncate_to_millis(now);
            record
        })
    }
}

/// An executing run: watch its progress, wait for its report, or cancel it.
///
/// Dropping the handle does not stop the run; call [`RunHandle::cancel`] for that.
#[derive(Debug)]
pub struct RunHandle {
    run_id: RunId,
    progress: watch::Receiver<Progress>,
    cancel: CancellationToken,
    handle_cancel: Arc<HandleCancel>,
    task: JoinHandle<Result<Report>>,
}

impl RunHandle {
    pub(crate) fn new(
        run_id: RunId,
        progress: watch::Receiver<Progress>,
        cancel: CancellationToken,
        handle_cancel: Arc<HandleCancel>,
        task: JoinHandle<Result<Report>>,
    ) -> Self {
        Self {
            run_id,
            progress,
            cancel,
            handle_cancel,
            task,
        }
    }

    /// The run's id.
    pub fn run_id(&self) -> RunId {
        self.run_id
    }

    /// The latest progress snapshot.
    pub fn progress(&self) -> Progress {
        self.progress.borrow().clone()
    }

    /// A stream of progress snapshots: the current one at once, then one after each
    /// persisted batch (intermediate snapshots may be skipped when the reader is slow;
    /// the last one, with a terminal status, is always delivered).
    pub fn progress_stream(&self) -> impl Stream<Item = Progress> + Send + 'static + use<> {
        WatchStream::new(self.progress.clone())
    }

    /// Asks the run to stop: no new sample starts, in-flight calls are abandoned, and
    /// samples not yet answered are marked cancelled. `wait` then returns the report of
    /// what was answered, with status `cancelled`. The request is audited (`run.cancel`,
    /// detail `via: run_handle`, by the principal that started the execution) when the
    /// execution stops; a run that had already finished records nothing.
    pub fn cancel(&self) {
        self.handle_cancel.requested.store(true, Ordering::SeqCst);
        self.cancel.cancel();
    }

    /// Waits for the run to finish and returns its report.
    pub async fn wait(self) -> Result<Report> {
        self.task
            .await
            .map_err(|e| Error::Internal(format!("run task failed: {e}")))?
    }

    /// Stops the execution abruptly without finalizing, as a crash would: samples in
    /// flight stay leased until their lease expires. For tests of crash recovery.
    #[doc(hidden)]
    pub fn abort(self) {
        self.task.abort();
    }
}
