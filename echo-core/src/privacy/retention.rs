//! Retention: raw answers are erased once they are older than the policy allows, while the
//! facts computed from them stay.
//!
//! Anonymizing a sample erases everything that holds answer text — `raw_answer`, the
//! provider's `raw_response`, and the `cited_text` of its citations — and sets
//! `anonymized_at`. It keeps `answer_sha256`, the mentions (brand, offset, count, rank,
//! list position), the citations' URL, domain and title, tokens, cost, latency and the
//! dashboard rollups (which hold counts only). Reports, dashboards and comparisons read
//! only those, so they compute exactly the same numbers after anonymization;
//! `Echo::reanalyze` needs the text and skips anonymized samples' answers.
//!
//! [`apply_retention`] works in bounded batches (one short transaction each, oldest
//! samples first) and stops after `max_batches`, so one call never holds the database for
//! long; the next call continues. It is idempotent: an anonymized sample is never a
//! candidate again.

use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::audit::{AuditAction, AuditRecord};
use crate::engine::MaintenanceTask;
use crate::store::Store;
use crate::{Error, Result};

const DAY: Duration = Duration::from_secs(24 * 3600);

/// How long Echo keeps what it keeps. All host-configurable (`EchoBuilder::retention_policy`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionPolicy {
    /// Raw answers (and the provider's raw responses and quoted citation text) are erased
    /// this long after the sample was answered. Default 90 days.
    pub raw_answer_ttl: Duration,
    /// Audit events older than this are purged. Default 2 years (730 days).
    pub audit_ttl: Duration,
    /// How long an account's deletion request waits before its data is erased (it can be
    /// cancelled meanwhile). Default 30 days.
    pub deletion_grace: Duration,
    /// Samples anonymized per transaction. Default 500.
    pub batch_size: u32,
    /// Batches per `apply_retention` call at most; the rest waits for the next call.
    /// Default 200 (100,000 samples).
    pub max_batches: u32,
}

impl Default for RetentionPolicy {
    fn default() -> Self {
        Self {
            raw_answer_ttl: DAY * 90,
            audit_ttl: DAY * 730,
            deletion_grace: DAY * 30,
            batch_size: 500,
            max_batches: 200,
        }
    }
}

/// Longer than any retention period anyone means (and safely inside chrono's range).
const MAX_TTL: Duration = Duration::from_secs(100 * 366 * 24 * 3600);

impl RetentionPolicy {
    /// Checks the policy: periods at least a day (the sweep runs daily; a shorter period
    /// would promise more than it does) and at most 100 years, batch limits in range.
    /// `InvalidInput` naming the field otherwise.
    pub fn validate(&self) -> Result<()> {
        for (field, ttl) in [
            ("retention.raw_answer_ttl", self.raw_answer_ttl),
            ("retention.audit_ttl", self.audit_ttl),
            ("retention.deletion_grace", self.deletion_grace),
        ] {
            if ttl < DAY {
                return Err(Error::invalid(
                    field,
                    format!(
                        "must be at least one day (got {} s); retention runs daily",
                        ttl.as_secs()
                    ),
                ));
            }
            if ttl > MAX_TTL {
                return Err(Error::invalid(field, "must be at most 100 years"));
            }
        }
        if !(1..=10_000).contains(&self.batch_size) {
            return Err(Error::invalid("retention.batch_size", "must be between 1 and 10000"));
        }
        if self.max_batches == 0 {
            return Err(Error::invalid("retention.max_batches", "must be at least 1"));
        }
        Ok(())
    }

    /// Samples answered before this instant are past the raw-answer TTL at `now`.
    pub fn raw_answer_cutoff(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now - chrono::Duration::from_std(self.raw_answer_ttl).unwrap_or(chrono::Duration::MAX)
    }

    /// Audit events recorded before this instant are past the audit TTL at `now`.
    pub fn audit_cutoff(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now - chrono::Duration::from_std(self.audit_ttl).unwrap_or(chrono::Duration::MAX)
    }
}

/// What one [`apply_retention`] call did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionReport {
    /// The time the policy was applied at.
    pub now: DateTime<Utc>,
    /// Samples answered before this were due for anonymization.
    pub raw_answer_cutoff: DateTime<Utc>,
    /// Samples anonymized by this call.
    pub samples_anonymized: u64,
    /// Transactions that anonymized something.
    pub batches: u32,
    /// Audit events recorded before this were due for purging.
    pub audit_cutoff: DateTime<Utc>,
    /// Audit events purged by this call.
    pub audit_events_purged: u64,
    /// False when the call stopped at `max_batches` with samples still due: call again.
    pub complete: bool,
}

/// Applies `policy` at `now`: anonymizes samples answered before `now - raw_answer_ttl`,
/// oldest first, `batch_size` per transaction, at most `max_batches` transactions; then
/// purges audit events past `audit_ttl`. Idempotent; safe to run concurrently with runs
/// (only finished samples are touched) and with another `apply_retention` (a sample is
/// anonymized once; PostgreSQL batches skip rows another batch holds).
pub async fn apply_retention(
    store: &dyn Store,
    policy: &RetentionPolicy,
    now: DateTime<Utc>,
) -> Result<RetentionReport> {
    policy.validate()?;
    let now = crate::store::truncate_to_millis(now);
    let raw_answer_cutoff = policy.raw_answer_cutoff(now);
    let mut samples_anonymized = 0;
    let mut batches = 0;
    let mut complete = false;
    // Each batch records itself in its own transaction (`samples.anonymize`).
    let batch_record = AuditRecord::system("retention", None, AuditAction::SamplesAnonymize, now)
        .detail("raw_answer_cutoff", raw_answer_cutoff);
    for _ in 0..policy.max_batches {
        let n = store
            .anonymize_samples(raw_answer_cutoff, now, policy.batch_size, &batch_record)
            .await?;
        if n > 0 {
            batches += 1;
            samples_anonymized += n;
        }
        if n < u64::from(policy.batch_size) {
            complete = true;
            break;
        }
    }
    let audit_cutoff = policy.audit_cutoff(now);
    let audit_events_purged = purge_audit_events(store, audit_cutoff, now).await?;
    let report = RetentionReport {
        now,
        raw_answer_cutoff,
        samples_anonymized,
        batches,
        audit_cutoff,
        audit_events_purged,
        complete,
    };
    // The pass itself is on the record (an auditor asks when retention last ran and what it
    // did), after its batches; each batch wrote its own `samples.anonymize` event with its
    // erasure.
    let record = AuditRecord::system("retention", None, AuditAction::RetentionApply, now)
        .detail("samples_anonymized", samples_anonymized)
        .detail("batches", batches)
        .detail("audit_events_purged", audit_events_purged)
        .detail("complete", complete);
    store.append_audit(&record).await?;
    tracing::info!(
        samples_anonymized,
        batches,
        audit_events_purged,
        complete,
        "retention applied"
    );
    Ok(report)
}

/// The audit log's share of retention: deletes the whole prefix of audit events recorded
/// before `cutoff`, leaving a checkpoint so that what remains still verifies
/// (`docs/audit.md`), and returns how many events went.
async fn purge_audit_events(store: &dyn Store, cutoff: DateTime<Utc>, now: DateTime<Utc>) -> Result<u64> {
    let report = store
        .purge_audit_before(cutoff, crate::engine::AUDIT_PURGE_BATCH, now)
        .await?;
    Ok(report.events_deleted)
}

/// Runs [`apply_retention`] once a day under the worker leader (registered by default with
/// the engine's policy). A pass that stopped at `max_batches` is continued on the next
/// maintenance pass rather than the next day, so a backlog drains at maintenance speed.
#[derive(Debug)]
pub struct RetentionSweep {
    policy: RetentionPolicy,
    /// How often a complete pass is repeated (default one day).
    every: chrono::Duration,
    /// When the last complete pass ran (in this process; a new leader runs one at once,
    /// which is harmless: retention is idempotent).
    last_complete: Mutex<Option<DateTime<Utc>>>,
}

impl RetentionSweep {
    /// A daily sweep applying `policy`.
    pub fn daily(policy: RetentionPolicy) -> Self {
        Self {
            policy,
            every: chrono::Duration::days(1),
            last_complete: Mutex::new(None),
        }
    }

    fn due(&self, now: DateTime<Utc>) -> bool {
        let last = *self.last_complete.lock().expect("retention sweep poisoned");
        last.is_none_or(|t| now - t >= self.every || now < t)
    }
}

#[async_trait::async_trait]
impl MaintenanceTask for RetentionSweep {
    fn name(&self) -> &str {
        "retention_sweep"
    }

    async fn run(&self, store: &dyn Store, now: DateTime<Utc>) -> Result<()> {
        if !self.due(now) {
            return Ok(());
        }
        let report = apply_retention(store, &self.policy, now).await?;
        if report.complete {
            *self.last_complete.lock().expect("retention sweep poisoned") = Some(now);
        }
        Ok(())
    }
}
