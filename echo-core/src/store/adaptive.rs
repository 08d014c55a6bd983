//! The store's side of adaptive runs: each target's progress in one consistent read, and
//! appending the next wave of samples to a target.
//!
//! Several processes may look at a run whose last samples of a wave they just persisted,
//! all at once. The engine's decision is a pure function of a drained target's stored
//! counts, so every looker computes the same wave; the append is then made safe twice
//! over: it is a compare-and-set on the target's state (the run not terminal, exactly
//! `expected_enqueued` samples, none pending or leased), taken under the run's write lock,
//! so a looker that read an older state appends nothing; and its rows are keyed by the
//! natural key `(run, provider, model, prompt_index, repeat_index)` with
//! `ON CONFLICT DO NOTHING`, so a sample can never be enqueued twice.

use chrono::{DateTime, Utc};

use super::NewSample;
use crate::Result;
use crate::model::{AccountId, RunId, RunStatus, Target};

/// Where one target of a run stands, from the samples queue (open samples) and the
/// rollups (finished samples and the brands their answers named).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetProgress {
    pub target: Target,
    /// Samples pending or leased.
    pub open: u64,
    /// Samples answered.
    pub answered: u64,
    pub failed: u64,
    pub cancelled: u64,
    /// Per brand (canonical name, sorted): answered samples naming it. Brands no answer
    /// named are absent.
    pub brands: Vec<(String, u64)>,
}

impl TargetProgress {
    /// A target with no sample yet.
    pub fn new(target: Target) -> Self {
        Self {
            target,
            open: 0,
            answered: 0,
            failed: 0,
            cancelled: 0,
            brands: Vec::new(),
        }
    }

    /// Every sample enqueued for the target.
    pub fn enqueued(&self) -> u64 {
        self.open + self.answered + self.failed + self.cancelled
    }

    /// Answered samples naming `brand` (0 if none did).
    pub fn naming(&self, brand: &str) -> u64 {
        self.brands
            .binary_search_by(|(b, _)| b.as_str().cmp(brand))
            .map_or(0, |i| self.brands[i].1)
    }
}

/// A run's status and per-target progress, read in one snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunProgress {
    pub status: RunStatus,
    /// Every target with at least one sample, ordered by (provider, model).
    pub targets: Vec<TargetProgress>,
}

impl RunProgress {
    /// The progress of `target` (zeros when it has no sample).
    pub fn target(&self, target: &Target) -> TargetProgress {
        self.targets
            .iter()
            .find(|t| &t.target == target)
            .cloned()
            .unwrap_or_else(|| TargetProgress::new(target.clone()))
    }
}

/// The next wave of one target.
#[derive(Debug, Clone, PartialEq)]
pub struct Wave {
    pub target: Target,
    /// The samples the target must hold, all finished, for the wave to be appended: the
    /// state the decision was made on.
    pub expected_enqueued: u64,
    /// The new samples (all of `target`).
    pub samples: Vec<NewSample>,
    pub now: DateTime<Utc>,
}

/// Adaptive runs' reads and writes.
#[async_trait::async_trait]
pub trait AdaptiveStore: Send + Sync {
    /// The run's status and each target's progress, in ONE snapshot (one statement), so
    /// the open, finished and brand counts agree with each other. NotFound if the run is
    /// absent or another account's.
    async fn run_progress(&self, account: AccountId, run: RunId) -> Result<RunProgress>;

    /// Appends `wave` atomically if, under the run's write lock, the run is not terminal
    /// and `wave.target` has exactly `wave.expected_enqueued` samples, none pending or
    /// leased; samples whose natural key exists are skipped (`ON CONFLICT DO NOTHING`).
    /// Returns how many samples were inserted: 0 when the state moved on (another process
    /// appended this wave first) or the run ended. NotFound as for `run_progress`.
    async fn append_wave(&self, account: AccountId, run: RunId, wave: &Wave) -> Result<u64>;
}
