//! Persistence.
//!
//! The store is split into focused traits ([`AccountStore`], [`ExperimentStore`],
//! [`RunStore`], [`DashboardStore`], [`KeyStore`], [`QuotaStore`], [`RateLimitStore`], and for
//! distributed execution [`LeaseStore`], [`FinalizeStore`], [`ScheduleStore`], [`LeaderStore`])
//! that every backend implements; [`Store`] is all of them. Every method
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
//! Backends: [`sqlite`] (embedded, the default) and [`postgres`] (many worker processes).

pub mod adaptive;
pub mod audit;
pub mod conformance;
pub mod dashboard;
mod finalize;
pub mod gdpr;
mod keys;
mod leader;
mod leases;
pub mod pool;
pub mod postgres;
mod quota;
mod rate_limit;
pub(crate) mod rollup;
mod schedules;
pub mod sqlite;
// Privacy (issue 6): retention, consent records, per-account privacy settings.
mod consent;
mod privacy_settings;
mod retention;

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::Result;
use crate::model::{
    Account, AccountId, Citation, Experiment, ExperimentId, ExperimentSpec, Mention, Page, PageRequest, Run, RunId,
    RunStatus, SampleCounts, SampleId, SampleRecord, SampleTask, Target,
};

pub use adaptive::{AdaptiveStore, RunProgress, TargetProgress, Wave};
pub use audit::{AuditStore, AuditedWrites, verify_chain};
pub use consent::ConsentStore;
pub use dashboard::{AccountSummary, DashboardStore, RunCounts, TargetVisibility};
pub use finalize::{FinalizeStore, UnfinalizedRun};
pub use gdpr::{AccountState, AccountStatus, GdprStore};
pub use keys::{ApiKeyRecord, KeyStore, KeyTouch};
pub use leader::LeaderStore;
pub use leases::{ExpiredLeases, LeaseStore};
pub use pool::PoolStats;
pub use postgres::{PgConfig, PgStore};
pub use privacy_settings::PrivacySettingsStore;
pub use quota::QuotaStore;
pub use rate_limit::RateLimitStore;
pub use retention::RetentionStore;
pub use schedules::{DueSchedule, ScheduleKind, ScheduleStore, ScheduledRun, ScheduledRunOutcome, StoredSchedule};
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
        Fence {
            sample_id: t.id,
            owner: t.lease_owner.clone(),
            attempt: t.attempt,
        }
    }
}

/// A successful answer with its extracted facts, persisted atomically.
#[derive(Debug, Clone, PartialEq)]
pub struct AnsweredSample {
    pub fence: Fence,
    pub raw_answer: String,
    /// The provider's raw response body (JSON text), when it gave one.
    pub raw_response: Option<String>,
    /// SHA-256 hex of `raw_answer`.
    pub answer_sha256: String,
    pub served_model: Option<String>,
    pub request_id: Option<String>,
    pub finish_reason: Option<String>,
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    pub latency_ms: u64,
    /// Cost of the call in USD from the pricing table; `None` when the model has no price
    /// or the provider reported no usage.
    pub cost_usd: Option<f64>,
    pub mentions: Vec<Mention>,
    pub citations: Vec<Citation>,
    pub completed_at: DateTime<Utc>,
    /// What PII redaction replaced in the stored text (stored as `samples.redactions`);
    /// `None` when the account does not redact.
    pub redactions: Option<crate::privacy::RedactionCounts>,
}

/// What became of one claimed sample.
// Nearly every outcome is a success, so boxing the large variant would allocate per
// sample without saving anything.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum SampleOutcome {
    /// Answered: store the answer, mentions and citations; status `succeeded`.
    Succeeded(AnsweredSample),
    /// Failed for good: status `failed` with the error.
    Failed {
        fence: Fence,
        error_class: String,
        error_message: String,
        at: DateTime<Utc>,
    },
    /// Failed transiently: back to `pending` (lease cleared, attempt kept) with the error
    /// recorded, to be claimed again.
    Retry {
        fence: Fence,
        error_class: String,
        error_message: String,
        at: DateTime<Utc>,
    },
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
    async fn set_run_status(
        &self,
        account: AccountId,
        id: RunId,
        status: RunStatus,
        now: DateTime<Utc>,
    ) -> Result<bool>;
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
    /// The provider's raw response body of one sample (`None` when the provider gave none
    /// or retention erased it). NotFound if the sample is absent or another account's.
    async fn raw_response(&self, account: AccountId, sample: SampleId) -> Result<Option<serde_json::Value>>;
}

/// Everything a backend provides.
#[async_trait::async_trait]
pub trait Store:
    AccountStore
    + ExperimentStore
    + RunStore
    + DashboardStore
    + KeyStore
    + QuotaStore
    + RateLimitStore
    + LeaseStore
    + FinalizeStore
    + ScheduleStore
    + LeaderStore
    + AdaptiveStore
    + AuditStore
    + AuditedWrites
    + RetentionStore
    + ConsentStore
    + PrivacySettingsStore
    + GdprStore
    + std::fmt::Debug
{
    /// Backend name (`sqlite`, `postgres`).
    fn backend(&self) -> &'static str;
    /// The connection pool's size, idle and busy connections, and how many acquisitions had
    /// to wait for a connection (see [`PoolStats`]).
    fn pool_stats(&self) -> PoolStats;
    /// Closes the pool, waiting for connections to be returned.
    async fn close(&self);
}

/// Truncates a timestamp to whole milliseconds: the precision every backend keeps. A value
/// truncated before it is stored reads back equal, so callers that return what they wrote
/// (e.g. a freshly created experiment) should truncate `now` first.
pub fn truncate_to_millis(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(t.timestamp_millis()).unwrap_or(t)
}

/// The position of a keyset-paginated listing: the `(created_at, id)` of the last item of
/// the previous page. Listings run newest first, so the next page holds the items strictly
/// before this key. Every backend uses this encoding, so a cursor stays valid whichever
/// backend serves it.
///
/// The text form is opaque to callers: 48 lowercase hex digits (8 bytes of big-endian
/// milliseconds, then the 16 bytes of the id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeysetCursor {
    /// `created_at` of the last item, in unix milliseconds.
    pub created_at_ms: i64,
    /// Id of the last item.
    pub id: uuid::Uuid,
}

impl KeysetCursor {
    /// The cursor pointing after `(created_at, id)`.
    pub fn new(created_at: DateTime<Utc>, id: uuid::Uuid) -> Self {
        Self {
            created_at_ms: created_at.timestamp_millis(),
            id,
        }
    }

    /// The opaque text form handed to callers as `Page::next_cursor`.
    pub fn encode(&self) -> String {
        let mut bytes = [0u8; 24];
        bytes[..8].copy_from_slice(&self.created_at_ms.to_be_bytes());
        bytes[8..].copy_from_slice(self.id.as_bytes());
        hex::encode(bytes)
    }

    /// Parses a cursor received as `PageRequest::after`; an error names `page.after`.
    pub fn decode(s: &str) -> Result<Self> {
        let invalid = || {
            crate::Error::invalid(
                "page.after",
                format!("{s:?} is not a cursor returned by this listing; pass a `next_cursor` unchanged"),
            )
        };
        let bytes = hex::decode(s.trim()).map_err(|_| invalid())?;
        let bytes: [u8; 24] = bytes.try_into().map_err(|_| invalid())?;
        let (ms, id) = bytes.split_at(8);
        let ms = i64::from_be_bytes(ms.try_into().map_err(|_| invalid())?);
        let id = uuid::Uuid::from_slice(id).map_err(|_| invalid())?;
        Ok(Self { created_at_ms: ms, id })
    }

    /// The cursor of a page request: `None` for the first page.
    pub fn from_request(page: &PageRequest) -> Result<Option<Self>> {
        page.after.as_deref().map(Self::decode).transpose()
    }
}

/// Costs are stored as integer nano-USD: exact sums in SQL, and precise enough for the
/// cheapest calls (a 10-token call to a $0.05/Mtok model is 500 nano-USD).
pub fn usd_to_nanos(usd: f64) -> i64 {
    (usd * 1e9).round() as i64
}

/// The inverse of [`usd_to_nanos`].
pub fn nanos_to_usd(nanos: i64) -> f64 {
    nanos as f64 / 1e9
}

#[cfg(test)]
mod cursor_tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        let c = KeysetCursor {
            created_at_ms: 1_700_000_000_123,
            id: uuid::Uuid::now_v7(),
        };
        let text = c.encode();
        assert_eq!(text.len(), 48);
        assert_eq!(KeysetCursor::decode(&text).unwrap(), c);
        for bad in ["", "zz", &text[..46], &format!("{text}00")] {
            let err = KeysetCursor::decode(bad).unwrap_err();
            assert_eq!(err.field(), Some("page.after"), "{bad:?}");
        }
    }

    #[test]
    fn truncation_keeps_whole_milliseconds() {
        let t = DateTime::from_timestamp(1_700_000_000, 123_456_789).unwrap();
        let m = truncate_to_millis(t);
        assert_eq!(m.timestamp_subsec_nanos(), 123_000_000);
        assert_eq!(truncate_to_millis(m), m);
    }
}
