//! The erasure of accounts whose deletion grace period is over.
//!
//! [`erase_due`] takes the due requests oldest deadline first and, for each, calls
//! [`GdprStore::erase_batch`](crate::store::GdprStore::erase_batch) until it reports nothing
//! left, then [`GdprStore::finish_erasure`](crate::store::GdprStore::finish_erasure), which
//! verifies in one transaction that every table is empty for the account, deletes the
//! account row and records the [`ErasureReport`]. A pass stops after `max_batches`
//! batches; the next pass continues where it stopped, because every batch is its own
//! committed transaction that also records its counts. A crash anywhere therefore costs at
//! most the batch in flight, which is rolled back and done again.
//!
//! [`ErasureSweep`] runs this under the worker leader; hosts without workers call
//! [`Echo::erase_due_accounts`](crate::engine::Echo::erase_due_accounts) on a timer.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::Result;
use crate::audit::{AuditAction, AuditRecord};
use crate::engine::MaintenanceTask;
use crate::store::Store;
use crate::store::gdpr::ErasureReport;

/// Due requests taken per pass.
const DUE_PER_PASS: u32 = 16;

/// What one pass of [`erase_due`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErasurePass {
    /// Batches committed.
    pub batches: u32,
    /// Rows deleted by those batches.
    pub rows_deleted: u64,
    /// Erasures completed and verified in this pass.
    pub completed: Vec<ErasureReport>,
    /// Whether the pass stopped at `max_batches` with work left.
    pub more: bool,
}

/// Erases due accounts: at most `max_batches` batches of about `batch_size` rows each,
/// then verifies and completes every account that has nothing left.
pub async fn erase_due(
    store: &dyn Store,
    now: DateTime<Utc>,
    batch_size: u32,
    max_batches: u32,
) -> Result<ErasurePass> {
    let mut pass = ErasurePass::default();
    for request in store.due_deletions(now, DUE_PER_PASS).await? {
        loop {
            if pass.batches >= max_batches {
                pass.more = true;
                return Ok(pass);
            }
            let batch = store.erase_batch(request.id, now, batch_size).await?;
            if batch.is_empty() {
                break;
            }
            pass.batches += 1;
            pass.rows_deleted += batch.total();
            tracing::debug!(account_id = %request.account_id, deleted = ?batch.deleted, "erasure batch");
        }
        // The account's audit events stay (they are the record of what happened, and the
        // chain must keep verifying); their personal data (ip, user agent) goes now. Done
        // again if a crash stops the pass before the erasure is finished: it is idempotent.
        let record = AuditRecord::system(
            "erasure",
            Some(request.account_id),
            AuditAction::AuditErasePersonalData,
            now,
        )
        .target("account", request.account_id);
        store.erase_audit_personal_data(request.account_id, &record).await?;
        let erased = AuditRecord::system("erasure", Some(request.account_id), AuditAction::AccountErase, now)
            .target("account", request.account_id);
        if let Some(report) = store.finish_erasure(request.id, now, Some(&erased)).await? {
            tracing::info!(
                account_id = %report.account_id,
                request_id = %report.request_id,
                rows_deleted = report.rows_deleted.values().sum::<u64>(),
                "account erased; verified that no rows remain"
            );
            pass.completed.push(report);
        }
    }
    Ok(pass)
}

/// The maintenance task that erases due accounts (registered on every worker leader).
#[derive(Debug, Clone)]
pub struct ErasureSweep {
    /// Rows per batch (per transaction), about.
    pub batch_size: u32,
    /// Batches per pass at most; the next pass continues.
    pub max_batches: u32,
}

impl Default for ErasureSweep {
    fn default() -> Self {
        Self {
            batch_size: 1_000,
            max_batches: 100,
        }
    }
}

#[async_trait::async_trait]
impl MaintenanceTask for ErasureSweep {
    fn name(&self) -> &str {
        "erasure_sweep"
    }

    async fn run(&self, store: &dyn Store, now: DateTime<Utc>) -> Result<()> {
        let pass = erase_due(store, now, self.batch_size, self.max_batches).await?;
        if pass.batches > 0 || !pass.completed.is_empty() {
            tracing::info!(
                batches = pass.batches,
                rows_deleted = pass.rows_deleted,
                completed = pass.completed.len(),
                more = pass.more,
                "erasure sweep"
            );
        }
        Ok(())
    }
}
