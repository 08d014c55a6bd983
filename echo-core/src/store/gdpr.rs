//! Data-subject rights: the [`GdprStore`] trait behind account export, deletion requests
//! and erasure (see `docs/privacy.md (Export and erasure)`).
//!
//! - **Export** reads an account's data in keyset pages (by id, or for samples by their
//!   natural key inside one run), so the engine can stream a bundle of any size with
//!   bounded memory. Every page filters on the account id in SQL.
//! - **Deletion** is two-phase. [`GdprStore::begin_deletion`] blocks the account, revokes
//!   its keys, pauses its schedules and records the request in ONE transaction;
//!   [`GdprStore::cancel_deletion`] undoes the block before the deadline. After the
//!   deadline the maintenance sweep calls [`GdprStore::erase_batch`] until nothing is left,
//!   then [`GdprStore::finish_erasure`], which counts every table for the account, deletes
//!   the account row and marks the request completed with the counts — the request row is
//!   the tombstone that outlives the account.
//!
//! Erasure is resumable: each batch deletes a bounded number of rows and adds what it
//! deleted to `erasure_progress` in the same transaction, so a crash between batches loses
//! nothing and counts nothing twice; the next pass simply continues.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{ApiKeyRecord, ScheduleKind};
use crate::auth::{ApiKey, KeyHash};
use crate::model::{Account, AccountId, ApiKeyId, Experiment, ExperimentId, Run, RunId, SampleRecord, Target};
use crate::{Error, Result};

/// Whether an account may act.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountStatus {
    /// Normal operation.
    Active,
    /// Blocked by the operator (set outside Echo's API today); every operation is refused.
    Blocked,
    /// Erasure requested and scheduled: every operation is refused until the request is
    /// cancelled (before its deadline) or the account is erased (after it).
    DeletionPending,
}

impl AccountStatus {
    /// The API name (`active`, `blocked`, `deletion_pending`).
    pub fn as_str(self) -> &'static str {
        match self {
            AccountStatus::Active => "active",
            AccountStatus::Blocked => "blocked",
            AccountStatus::DeletionPending => "deletion_pending",
        }
    }

    /// Reads `accounts.status`. Schema 0001 named the pending state `deleting` (its CHECK
    /// constraint cannot be changed in SQLite without rebuilding the table every other table
    /// references), so the stored name differs from the API name; `deleted` is never
    /// written (an erased account's row is deleted).
    pub(crate) fn from_stored(s: &str) -> Result<Self> {
        match s {
            "active" => Ok(AccountStatus::Active),
            "blocked" => Ok(AccountStatus::Blocked),
            "deleting" => Ok(AccountStatus::DeletionPending),
            other => Err(Error::Internal(format!(
                "accounts.status {other:?} is not written by this version of Echo"
            ))),
        }
    }
}

/// An account with its status.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountState {
    pub account: Account,
    pub status: AccountStatus,
    /// When erasure was requested (while `DeletionPending`).
    pub deletion_requested_at: Option<DateTime<Utc>>,
}

/// Lifecycle of a deletion request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeletionStatus {
    /// Waiting for its deadline; the account is blocked.
    Pending,
    /// The account was erased and the erasure verified.
    Completed,
    /// Cancelled before the deadline; the account is active again.
    Cancelled,
}

impl DeletionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeletionStatus::Pending => "pending",
            DeletionStatus::Completed => "completed",
            DeletionStatus::Cancelled => "cancelled",
        }
    }

    pub(crate) fn parse(s: &str) -> Result<Self> {
        match s {
            "pending" => Ok(DeletionStatus::Pending),
            "completed" => Ok(DeletionStatus::Completed),
            "cancelled" => Ok(DeletionStatus::Cancelled),
            other => Err(Error::Internal(format!(
                "unknown deletion_requests.status {other:?} in database"
            ))),
        }
    }
}

/// A stored deletion request (`deletion_requests`). Once completed it is the tombstone of
/// the erased account: it names only the account id, never personal data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeletionRecord {
    pub id: uuid::Uuid,
    pub account_id: AccountId,
    /// Who asked (`host`, `admin`), for the record.
    pub requested_by: String,
    pub requested_at: DateTime<Utc>,
    /// End of the grace period: cancellable before, erased after.
    pub deadline: DateTime<Utc>,
    pub status: DeletionStatus,
    /// When the erasure finished (status `completed`).
    pub completed_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub cancelled_by: Option<String>,
    /// For a completed request: the [`ErasureReport`] as JSON. `{}` otherwise.
    pub details: serde_json::Value,
}

/// What [`GdprStore::begin_deletion`] needs.
#[derive(Debug, Clone, PartialEq)]
pub struct NewDeletion {
    pub id: uuid::Uuid,
    pub account: AccountId,
    pub requested_by: String,
    pub now: DateTime<Utc>,
    pub deadline: DateTime<Utc>,
}

/// What [`GdprStore::begin_deletion`] did, in its one transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct DeletionStarted {
    pub request: DeletionRecord,
    /// Keys revoked now (keys already revoked keep their `revoked_at`).
    pub keys_revoked: u64,
    /// Scheduled experiments whose `next_run_at` was cleared.
    pub schedules_paused: u64,
    /// Runs still pending or running, for the engine to cancel (settling their quota).
    pub unfinished_runs: Vec<RunId>,
}

/// A schedule paused by a deletion request, to re-arm when it is cancelled.
///
/// A stored schedule is all three columns or none (the schedule store refuses a partial
/// one), so pausing clears them and keeps `(kind, expr)` in the request's `details`
/// (`{"paused_schedules": [...]}`) until a cancellation hands them back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PausedSchedule {
    pub experiment_id: ExperimentId,
    pub kind: ScheduleKind,
    pub expr: String,
}

#[derive(Serialize, Deserialize)]
struct PausedScheduleJson {
    experiment_id: uuid::Uuid,
    kind: String,
    expr: String,
}

/// The `details` of a new request holding the schedules it paused.
pub(crate) fn paused_details(paused: &[PausedSchedule]) -> serde_json::Value {
    let list: Vec<PausedScheduleJson> = paused
        .iter()
        .map(|p| PausedScheduleJson {
            experiment_id: p.experiment_id.0,
            kind: p.kind.as_str().to_string(),
            expr: p.expr.clone(),
        })
        .collect();
    serde_json::json!({ "paused_schedules": list })
}

/// The schedules a request paused, from its `details`.
pub(crate) fn paused_from_details(details: &serde_json::Value) -> Result<Vec<PausedSchedule>> {
    let Some(list) = details.get("paused_schedules") else {
        return Ok(Vec::new());
    };
    let list: Vec<PausedScheduleJson> = serde_json::from_value(list.clone())
        .map_err(|e| Error::Internal(format!("deletion_requests.details holds bad paused_schedules: {e}")))?;
    list.into_iter()
        .map(|p| {
            Ok(PausedSchedule {
                experiment_id: ExperimentId(p.experiment_id),
                kind: ScheduleKind::parse(&p.kind)?,
                expr: p.expr,
            })
        })
        .collect()
}

/// What [`GdprStore::cancel_deletion`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct DeletionCancelled {
    pub request: DeletionRecord,
    /// The account's schedules, paused at the request; the engine computes their next slot.
    pub paused_schedules: Vec<PausedSchedule>,
}

/// The tables an erasure empties, in the order batches empty them (children first).
/// `mentions` and `citations` have no account column: they are reached, and verified,
/// through the account's samples (their foreign key guarantees no orphans).
pub const ERASED_TABLES: [&str; 12] = [
    "mentions",
    "citations",
    "samples",
    "sample_rollups",
    "mention_rollups",
    "runs",
    "reservations",
    "quota_periods",
    "experiments",
    "rate_limits",
    "api_keys",
    "accounts",
];

/// Tables that keep rows about an erased account, on purpose: the audit trail (its own
/// helper removes erasable personal fields), proof of consent, and the deletion request
/// itself (the tombstone).
pub const RETAINED_TABLES: [&str; 3] = ["audit_events", "consents", "deletion_requests"];

/// What one [`GdprStore::erase_batch`] deleted, per table. Empty: nothing of the account
/// is left to delete (call [`GdprStore::finish_erasure`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErasureBatch {
    pub deleted: BTreeMap<&'static str, u64>,
}

impl ErasureBatch {
    /// Whether nothing was left to delete.
    pub fn is_empty(&self) -> bool {
        self.deleted.is_empty()
    }

    /// Rows deleted by this batch, all tables.
    pub fn total(&self) -> u64 {
        self.deleted.values().sum()
    }
}

/// The verified end of an erasure, stored as the completed request's `details`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErasureReport {
    pub request_id: uuid::Uuid,
    pub account_id: AccountId,
    pub requested_at: DateTime<Utc>,
    pub erased_at: DateTime<Utc>,
    /// Rows deleted per table over all batches (exact across crashes and resumes).
    pub rows_deleted: BTreeMap<String, u64>,
    /// Rows of the account counted per table after the last batch, in the transaction that
    /// deleted the account row: all zero, or the erasure would not have completed.
    pub remaining: BTreeMap<String, u64>,
    /// Tables deliberately kept (see [`RETAINED_TABLES`]).
    pub retained: Vec<String>,
}

impl ErasureReport {
    /// The tables whose count was verified to be zero.
    pub fn tables_verified(&self) -> Vec<&str> {
        self.remaining.keys().map(String::as_str).collect()
    }
}

/// An experiment as exported: with its stored schedule.
#[derive(Debug, Clone, PartialEq)]
pub struct ExperimentExport {
    pub experiment: Experiment,
    pub schedule_kind: Option<ScheduleKind>,
    pub schedule_expr: Option<String>,
    pub next_run_at: Option<DateTime<Utc>>,
}

/// A sample as exported: the record reports use, plus the provider's raw response text
/// (`None` when there was none or retention erased it).
#[derive(Debug, Clone, PartialEq)]
pub struct SampleExport {
    pub record: SampleRecord,
    pub raw_response: Option<String>,
}

/// The keyset position inside one run's samples: their natural key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SampleKey {
    pub target: Target,
    pub prompt_index: u32,
    pub repeat_index: u32,
}

/// Export, deletion requests and erasure.
#[async_trait::async_trait]
pub trait GdprStore: Send + Sync {
    /// The account with its status. NotFound if absent (or erased).
    async fn account_state(&self, account: AccountId) -> Result<AccountState>;

    /// The key with this hash and the status of its account, in one indexed lookup
    /// (authentication refuses keys of accounts that are not active).
    async fn find_api_key_for_auth(&self, hash: &KeyHash) -> Result<Option<(ApiKeyRecord, AccountStatus)>>;

    /// In one transaction: the account (which must be `active`: `Conflict` otherwise,
    /// `NotFound` if absent) becomes deletion-pending, every unrevoked key of it is revoked at
    /// `now`, its schedules are paused, and the request is recorded. Returns the runs still
    /// unfinished, for the engine to cancel.
    async fn begin_deletion(
        &self,
        new: &NewDeletion,
        audit: Option<&crate::audit::AuditRecord>,
    ) -> Result<DeletionStarted>;

    /// In one transaction: the account's pending request is cancelled and the account is
    /// active again. `Conflict` if no request is pending or its deadline is not after `now`.
    /// Keys stay revoked.
    async fn cancel_deletion(
        &self,
        account: AccountId,
        by: &str,
        now: DateTime<Utc>,
        audit: Option<&crate::audit::AuditRecord>,
    ) -> Result<DeletionCancelled>;

    /// The account's deletion requests, newest first (they outlive the account).
    async fn deletion_requests(&self, account: AccountId) -> Result<Vec<DeletionRecord>>;

    /// Pending requests whose deadline is at or before `now`, earliest first.
    async fn due_deletions(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<DeletionRecord>>;

    /// Deletes up to about `batch` rows of the request's account — from the first table of
    /// [`ERASED_TABLES`] that still has some — and adds the counts to the request's progress,
    /// in one transaction. Does nothing (empty batch) unless the request is pending and due at
    /// `now`, or when nothing is left.
    async fn erase_batch(&self, request: uuid::Uuid, now: DateTime<Utc>, batch: u32) -> Result<ErasureBatch>;

    /// In one transaction: counts every table of [`ERASED_TABLES`] for the account, deletes
    /// the account row, and marks the request completed with the [`ErasureReport`]. `Ok(None)`
    /// if the request is no longer pending (another sweep finished it); `Internal` naming
    /// the tables if rows remain (nothing is changed; the next pass erases them).
    async fn finish_erasure(
        &self,
        request: uuid::Uuid,
        now: DateTime<Utc>,
        audit: Option<&crate::audit::AuditRecord>,
    ) -> Result<Option<ErasureReport>>;

    /// The account's API keys with ids after `after`, in id order (no hashes).
    async fn export_api_keys(&self, account: AccountId, after: Option<ApiKeyId>, limit: u32) -> Result<Vec<ApiKey>>;

    /// The account's experiments with ids after `after`, in id order.
    async fn export_experiments(
        &self,
        account: AccountId,
        after: Option<ExperimentId>,
        limit: u32,
    ) -> Result<Vec<ExperimentExport>>;

    /// The account's runs with ids after `after`, in id order.
    async fn export_runs(&self, account: AccountId, after: Option<RunId>, limit: u32) -> Result<Vec<Run>>;

    /// The samples of one run of the account after `after` in natural-key order, each with
    /// its mentions, citations and raw response.
    async fn export_samples(
        &self,
        account: AccountId,
        run: RunId,
        after: Option<&SampleKey>,
        limit: u32,
    ) -> Result<Vec<SampleExport>>;
}

/// Refusal of a deletion request for an account that is not active.
pub(crate) fn not_active_conflict(account: AccountId, status: AccountStatus) -> Error {
    match status {
        AccountStatus::DeletionPending => Error::Conflict(format!(
            "the deletion of account {account} was already requested; cancel it (Echo::cancel_deletion) or let \
             the erasure run"
        )),
        other => Error::Conflict(format!(
            "account {account} is {}; only an active account can request its deletion",
            other.as_str()
        )),
    }
}

/// Refusal of a cancellation after the deadline.
pub(crate) fn deadline_passed(account: AccountId, deadline: DateTime<Utc>) -> Error {
    Error::Conflict(format!(
        "the grace period of the deletion of account {account} ended at {deadline}; it can no longer be cancelled \
         and the account will be erased"
    ))
}
