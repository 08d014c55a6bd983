//! Run finalization on SQLite: counts and the status change in one `BEGIN IMMEDIATE`
//! transaction, so no sample can change between reading the counts and writing the status,
//! and the status guard (`pending`/`running` only) makes the transition happen once.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::SqliteStore;
use super::convert::ms;
use super::sql::{FINALIZE_RUN, SAMPLE_COUNTS, UNFINALIZED_RUNS};
use crate::model::{AccountId, RunId, RunStatus, SampleCounts, SampleStatus};
use crate::store::{FinalizeStore, UnfinalizedRun};
use crate::{Error, Result};

#[async_trait::async_trait]
impl FinalizeStore for SqliteStore {
    async fn finalize_run(&self, account: AccountId, run: RunId, now: DateTime<Utc>) -> Result<Option<RunStatus>> {
        self.finalize_run_with(account, run, now, None).await
    }

    async fn unfinalized_runs(&self, limit: u32) -> Result<Vec<UnfinalizedRun>> {
        let rows: Vec<(Uuid, Uuid)> = sqlx::query_as(UNFINALIZED_RUNS)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .into_iter()
            .map(|(run, account)| UnfinalizedRun {
                account_id: account.into(),
                run_id: run.into(),
            })
            .collect())
    }
}

impl SqliteStore {
    /// Finalizes the run and, on a transition with `audit` given, appends the event (with
    /// detail `status`) in the same transaction.
    pub(super) async fn finalize_run_with(
        &self,
        account: AccountId,
        run: RunId,
        now: DateTime<Utc>,
        audit: Option<&crate::audit::AuditRecord>,
    ) -> Result<Option<RunStatus>> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let groups: Vec<(Option<String>, i64)> = sqlx::query_as(SAMPLE_COUNTS)
            .bind(account.0)
            .bind(run.0)
            .fetch_all(&mut *tx)
            .await?;
        if groups.is_empty() {
            return Err(Error::not_found("run", run));
        }
        let mut counts = SampleCounts::default();
        for (status, n) in groups {
            let Some(status) = status else { continue };
            let n = u64::try_from(n).unwrap_or(0);
            match SampleStatus::parse(&status)? {
                SampleStatus::Pending => counts.pending = n,
                SampleStatus::Leased => counts.leased = n,
                SampleStatus::Succeeded => counts.succeeded = n,
                SampleStatus::Failed => counts.failed = n,
                SampleStatus::Cancelled => counts.cancelled = n,
            }
        }
        let Some(status) = counts.final_status() else {
            return Ok(None);
        };
        let changed = sqlx::query(FINALIZE_RUN)
            .bind(account.0)
            .bind(run.0)
            .bind(status.as_str())
            .bind(ms(now))
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if changed == 1
            && let Some(audit) = audit
        {
            super::audit::append(&mut tx, &audit.clone().detail("status", status.as_str())).await?;
        }
        tx.commit().await?;
        Ok((changed == 1).then_some(status))
    }
}
