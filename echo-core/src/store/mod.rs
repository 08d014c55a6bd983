//! Persistence.
//!
//! The store is split into focused traits ([`AccountStore`], [`ExperimentStore`],
//! [`RunStore`]) that every backend implements; [`Store`] is all of them. Every method
//! that touches tenant data takes the account id and filters on it **in the query**, so
//! isolation never depends on the caller's care: another account's object answers
//! `NotFound`.
//!
//! The `samples` table is the work queue: `pending → leased(owner, expiry) → succeeded |
//! failed`. Claims bump `attempt`; completions are fenced by `(lease_owner, attempt)` so a
//! worker whose lease was taken over cannot overwrite the newer result. Persistence is
//! idempotent on `(run, target, prompt_index, repeat_index)`.
//!
//! [`conformance`] holds the behaviour every backend must show; each backend runs it.

pub mod conformance;
pub mod sqlite;

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::Result;
use crate::model::{
    Account, AccountId, Citation, Experiment, ExperimentId, ExperimentSpec, Mention, Page, PageRequest, Run,
    RunId, RunStatus, SampleCounts, SampleId, SampleRecord, SampleTask, Target,
};

pub use sqlite::{SqliteConfig, SqliteStore};

/// A sample to enqueue with its run.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSample {
    pub id: SampleId,
    pub target: Target,
    pub prompt_index: u32,
    pub repeat_index: u32,
}

/// Identifies one claim of a sample: completion is applied only if the sample is still
/// leased by `owner` at `attempt`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fence {
    pub sample_id: SampleId,
    pub owner: String,
    pub attempt: u32,
}

impl From<&SampleTask> for Fence {
    fn from(t: &SampleTask) -> Self {
        Fence { sample_id: t.id, owner: t.lease_owner.clone(), attempt: t.attempt }
    }
}

/// A successful answer with its extracted facts, persisted atomically.
#[derive(Debug, Clone, PartialEq)]
pub struct AnsweredSample {
    pub fence: Fence,
    pub raw_answer: String,
    /// SHA-256 hex of `raw_answer`.
    pub answer_sha256: String,
    pub served_model: Option<String>,
    pub request_id: Option<String>,
    pub finish_reason: Option<String>,
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    pub latency_ms: u64,
    pub mentions: Vec<Mention>,
    pub citations: Vec<Citation>,
    pub completed_at: DateTime<Utc>,
}

/// What became of one claimed sample.
#[derive(Debug, Clone, PartialEq)]
pub enum SampleOutcome {
    /// Answered: store the answer, mentions and citations; status `succeeded`.
    Succeeded(AnsweredSample),
    /// Failed for good: status `failed` with the error.
    Failed { fence: Fence, error_class: String, error_message: String, at: DateTime<Utc> },
    /// Failed transiently: back to `pending` (lease cleared, attempt kept) with the error
    /// recorded, to be claimed again.
    Retry { fence: Fence, error_class: String, error_message: String, at: DateTime<Utc> },
}

impl SampleOutcome {
    pub fn fence(&self) -> &Fence {
        match self {
            SampleOutcome::Succeeded(a) => &a.fence,
            SampleOutcome::Failed { fence, .. } | SampleOutcome::Retry { fence, .. } => fence,
        }
    }
}

/// Parameters of a claim.
#[derive(Debug, Clone)]
pub struct ClaimRequest<'a> {
    /// Only claim samples of this run; `None` claims from any run (distributed workers).
    pub run_id: Option<RunId>,
    /// Lease owner id (unique per worker).
    pub owner: &'a str,
    /// Maximum number of samples to claim.
    pub limit: u32,
    pub now: DateTime<Utc>,
    /// Lease length: the sample returns to the queue if not completed by `now + lease`.
    pub lease: Duration,
    /// A sample whose expired lease had already reached this many attempts is marked
    /// `failed` instead of being claimed again.
    pub max_attempts: u32,
}

/// Accounts.
#[async_trait::async_trait]
pub trait AccountStore: Send + Sync {
    /// Inserts an account. Fails with `Conflict` if `external_id` is taken.
    async fn insert_account(&self, account: &Account) -> Result<()>;
    /// NotFound if absent.
    async fn get_account(&self, id: AccountId) -> Result<Account>;
}

/// Experiments, always scoped to an account.
#[async_trait::async_trait]
pub trait ExperimentStore: Send + Sync {
    async fn insert_experiment(&self, experiment: &Experiment) -> Result<()>;
    /// NotFound if absent or owned by another account.
    async fn get_experiment(&self, account: AccountId, id: ExperimentId) -> Result<Experiment>;
    /// Newest first, keyset-paginated on `(created_at, id)`.
    async fn list_experiments(&self, account: AccountId, page: &PageRequest) -> Result<Page<Experiment>>;
    /// Replaces the spec; returns the updated experiment. NotFound as for `get`.
    async fn update_experiment(
        &self,
        account: AccountId,
        id: ExperimentId,
        spec: &ExperimentSpec,
        now: DateTime<Utc>,
    ) -> Result<Experiment>;
    /// Deletes the experiment with its runs, samples, mentions and citations.
    /// `Conflict` if one of its runs is not terminal. NotFound as for `get`.
    async fn delete_experiment(&self, account: AccountId, id: ExperimentId) -> Result<()>;
}

/// Runs and the sample work queue.
#[async_trait::async_trait]
pub trait RunStore: Send + Sync {
    /// Inserts the run and all its pending samples in ONE transaction.
    async fn enqueue_run(&self, run: &Run, samples: &[NewSample]) -> Result<()>;
    /// NotFound if absent or owned by another account.
    async fn get_run(&self, account: AccountId, id: RunId) -> Result<Run>;
    /// Runs of an experiment, newest first, keyset-paginated.
    async fn list_runs(&self, account: AccountId, experiment: ExperimentId, page: &PageRequest) -> Result<Page<Run>>;
    /// Sets the status. `started_at` is set on the first move to `running`; `finished_at`
    /// when the status becomes terminal. A terminal status is never overwritten (returns
    /// `Ok(false)`); returns `Ok(true)` when the status changed.
    async fn set_run_status(&self, account: AccountId, id: RunId, status: RunStatus, now: DateTime<Utc>) -> Result<bool>;
    /// Claims up to `limit` samples that are pending, or leased with an expired lease,
    /// oldest first; sets owner, expiry and `attempt + 1`. Atomic against concurrent
    /// claimers: a sample is never handed to two owners at once.
    async fn claim_samples(&self, request: &ClaimRequest<'_>) -> Result<Vec<SampleTask>>;
    /// Applies outcomes in one transaction. Each is applied only if its fence still holds
    /// (sample leased by that owner at that attempt); returns, per outcome, whether it was
    /// applied. An applied success writes the sample, its mentions and citations together.
    async fn complete_samples(&self, outcomes: &[SampleOutcome]) -> Result<Vec<bool>>;
    /// Marks the run's pending samples `cancelled`; returns how many. Leased samples are
    /// left to finish.
    async fn cancel_pending_samples(&self, account: AccountId, run: RunId, now: DateTime<Utc>) -> Result<u64>;
    /// Counts of the run's samples by status.
    async fn sample_counts(&self, account: AccountId, run: RunId) -> Result<SampleCounts>;
    /// Every sample of the run with its mentions and citations, ordered by
    /// (target, prompt_index, repeat_index).
    async fn load_samples(&self, account: AccountId, run: RunId) -> Result<Vec<SampleRecord>>;
}

/// Everything a backend provides.
#[async_trait::async_trait]
pub trait Store: AccountStore + ExperimentStore + RunStore + std::fmt::Debug {
    /// Backend name (`sqlite`, `postgres`).
    fn backend(&self) -> &'static str;
    /// Closes the pool, waiting for connections to be returned.
    async fn close(&self);
}
