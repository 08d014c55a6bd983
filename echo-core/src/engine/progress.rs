//! Progress of a run, published after every persisted batch.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::model::{RunId, RunStatus};

/// A snapshot of a run's progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    pub run_id: RunId,
    pub status: RunStatus,
    /// Samples the run planned.
    pub planned: u64,
    /// Samples answered so far (including those finished before a resume).
    pub succeeded: u64,
    /// Samples failed for good so far.
    pub failed: u64,
    /// Samples cancelled.
    pub cancelled: u64,
    /// Time since this execution started.
    pub elapsed: Duration,
    /// Samples finished per second in this execution.
    pub rate_per_sec: f64,
    /// Estimated time to finish at the current rate; `None` before any sample finished.
    pub eta: Option<Duration>,
}

impl Progress {
    /// Samples in a final state.
    pub fn done(&self) -> u64 {
        self.succeeded + self.failed + self.cancelled
    }

    /// Samples not yet in a final state.
    pub fn remaining(&self) -> u64 {
        self.planned.saturating_sub(self.done())
    }

    /// Whether the run reached a terminal status.
    pub fn is_finished(&self) -> bool {
        self.status.is_terminal()
    }

    pub(crate) fn recompute_rate(&mut self, finished_this_execution: u64) {
        let secs = self.elapsed.as_secs_f64();
        self.rate_per_sec = if secs > 0.0 {
            finished_this_execution as f64 / secs
        } else {
            0.0
        };
        self.eta = if self.rate_per_sec > 0.0 {
            Some(Duration::from_secs_f64(self.remaining() as f64 / self.rate_per_sec))
        } else {
            None
        };
    }
}
