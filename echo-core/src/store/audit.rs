//! Storage of the audit trail, and the audited forms of the writes the facade makes.
//!
//! [`AuditStore`] appends, reads, verifies (by handing rows to
//! [`Verifier`](crate::audit::Verifier)), purges and erases. [`AuditedWrites`] holds the
//! state-changing operations of the other traits with an [`AuditRecord`] that the backend
//! appends **inside the same transaction** as the change, as its last statement: either
//! both are committed or neither. The plain forms of those methods stay for internal
//! machinery and tests; the facade uses the audited ones.
//!
//! Appends are serialized on the single `audit_chain_head` row (SQLite: the write
//! transaction, `BEGIN IMMEDIATE`; PostgreSQL: `SELECT ... FOR UPDATE` on it), so seqs are
//! gap-free and every event links to the one committed before it. Being the last
//! statement, the append holds that lock only until the commit.

use chrono::{DateTime, Utc};

use crate::Result;
use crate::audit::{AuditCheckpoint, AuditEvent, AuditHead, AuditPage, AuditPurgeReport, AuditQuery, AuditRecord};
use crate::audit::{StoredAuditRow, Verifier};
use crate::auth::ApiKey;
use crate::model::{Account, AccountId, ApiKeyId, Experiment, ExperimentId, ExperimentSpec, Run, RunId, RunStatus};

use super::{ApiKeyRecord, NewSample, ScheduledRun, ScheduledRunOutcome, StoredSchedule};

/// Rows read per round trip while verifying.
pub const VERIFY_PAGE: u32 = 1000;

/// The audit trail.
#[async_trait::async_trait]
pub trait AuditStore: Send + Sync {
    /// Appends one event in its own transaction (refusals, reads, requests that change
    /// nothing in the store) and returns it as stored.
    async fn append_audit(&self, record: &AuditRecord) -> Result<AuditEvent>;
    /// The newest event's seq and hash (seq 0 before the first event).
    async fn audit_head(&self) -> Result<AuditHead>;
    /// The newest retention checkpoint, if retention ever purged.
    async fn audit_checkpoint(&self) -> Result<Option<AuditCheckpoint>>;
    /// Events matching the query, oldest first, keyset-paginated by seq.
    async fn audit_events(&self, query: &AuditQuery) -> Result<AuditPage>;
    /// Up to `limit` stored rows with `seq >= from_seq`, in seq order, exactly as stored.
    async fn audit_rows(&self, from_seq: i64, limit: u32) -> Result<Vec<StoredAuditRow>>;
    /// Deletes the oldest events, those before the first event at or after `before` (so
    /// only a whole prefix goes), in transactions of `batch` events, each recording a
    /// checkpoint; then appends an `audit.purge` event. Idempotent.
    async fn purge_audit_before(
        &self,
        before: DateTime<Utc>,
        batch: u32,
        now: DateTime<Utc>,
    ) -> Result<AuditPurgeReport>;
    /// Clears ip, user agent and salt of every event of `account` and appends `record`
    /// (an `audit.erase_personal_data` event) in the same transaction. Returns how many
    /// events were cleared.
    async fn erase_audit_personal_data(&self, account: AccountId, record: &AuditRecord) -> Result<u64>;
}

/// The state-changing store operations the facade performs, each with the audit event
/// appended in the change's own transaction.
#[async_trait::async_trait]
pub trait AuditedWrites: Send + Sync {
    async fn insert_account_audited(&self, account: &Account, audit: &AuditRecord) -> Result<()>;
    async fn insert_experiment_audited(&self, experiment: &Experiment, audit: &AuditRecord) -> Result<()>;
    async fn update_experiment_audited(
        &self,
        account: AccountId,
        id: ExperimentId,
        spec: &ExperimentSpec,
        now: DateTime<Utc>,
        audit: &AuditRecord,
    ) -> Result<Experiment>;
    async fn delete_experiment_audited(&self, account: AccountId, id: ExperimentId, audit: &AuditRecord) -> Result<()>;
    async fn set_schedule_audited(
        &self,
        account: AccountId,
        experiment: ExperimentId,
        schedule: Option<&StoredSchedule>,
        audit: &AuditRecord,
    ) -> Result<()>;
    async fn enqueue_run_audited(&self, run: &Run, samples: &[NewSample], audit: &AuditRecord) -> Result<()>;
    /// As `set_run_status`; the event is appended only when the status changed.
    async fn set_run_status_audited(
        &self,
        account: AccountId,
        id: RunId,
        status: RunStatus,
        now: DateTime<Utc>,
        audit: &AuditRecord,
    ) -> Result<bool>;
    /// As `finalize_run`; on a transition, `audit` with detail `status` is appended.
    async fn finalize_run_audited(
        &self,
        account: AccountId,
        run: RunId,
        now: DateTime<Utc>,
        audit: &AuditRecord,
    ) -> Result<Option<RunStatus>>;
    /// As `create_scheduled_run`; the event (target: the run) is appended when created.
    async fn create_scheduled_run_audited(
        &self,
        scheduled: ScheduledRun<'_>,
        audit: &AuditRecord,
    ) -> Result<ScheduledRunOutcome>;
    async fn insert_api_key_audited(&self, record: &ApiKeyRecord, audit: &AuditRecord) -> Result<()>;
    async fn revoke_api_key_audited(
        &self,
        account: AccountId,
        id: ApiKeyId,
        now: DateTime<Utc>,
        audit: &AuditRecord,
    ) -> Result<ApiKey>;
}

/// Walks the chain from the newest checkpoint with a [`Verifier`], page by page.
pub async fn verify_chain<S: AuditStore + ?Sized>(
    store: &S,
    anchor: Option<AuditHead>,
) -> Result<crate::audit::AuditVerification> {
    let checkpoint = store.audit_checkpoint().await?;
    let mut head = store.audit_head().await?;
    let start = match &checkpoint {
        Some(cp) => Some((
            cp.seq,
            hex::decode(&cp.hash).map_err(|e| crate::Error::Internal(e.to_string()))?,
        )),
        None => None,
    };
    let mut verifier = Verifier::new(start, anchor);
    loop {
        let rows = store.audit_rows(verifier.next_seq(), VERIFY_PAGE).await?;
        let n = rows.len();
        for row in &rows {
            if row.seq > head.seq {
                // Appended after we read the head, or slipped in behind its back: every
                // committed append advanced the head in its own transaction, so a fresh
                // head covers the first kind and not the second.
                head = store.audit_head().await?;
            }
            if !verifier.push(row) {
                return Ok(verifier.finish(&head));
            }
        }
        if n < VERIFY_PAGE as usize {
            break;
        }
    }
    Ok(verifier.finish(&head))
}
