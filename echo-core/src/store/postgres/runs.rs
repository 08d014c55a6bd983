//! Runs: enqueue (run + samples in one transaction), reads, status; the sample work queue
//! and per-run sample reads are delegated to [`super::queue`] and [`super::samples`].

use chrono::{DateTime, Utc};
use sqlx::postgres::PgConnection;
use sqlx::types::Json;

use super::PgStore;
use super::convert::{map_db_error, ms, opt_ms, seed_to_i64, u32_to_i64, u64_to_i64};
use super::sql::{INSERT_SAMPLES, LIST_RUNS, RUN_COLUMNS};
use super::{queue, rows, samples};
use crate::model::{
    AccountId, ExperimentId, Page, PageRequest, Run, RunId, RunStatus, SampleCounts, SampleId, SampleRecord, SampleTask,
};
use crate::store::sqlite::experiments::{into_page, keyset_bound};
use crate::store::{ClaimRequest, KeysetCursor, NewSample, RunStore, SampleOutcome};
use crate::{Error, Result};

/// Samples per INSERT statement: arrays of this many elements keep each message a few MB
/// at most, and a 100,000-sample run takes ten statements.
const SAMPLE_CHUNK_ROWS: usize = 10_000;

/// SQL list of the terminal run statuses, kept in step with `RunStatus::is_terminal`.
const TERMINAL_STATUSES: &str = "('completed', 'partial', 'failed', 'cancelled')";

/// Inserts a run and its samples inside the caller's transaction, after checking (and
/// KEY SHARE-locking) that the run's account owns its experiment. With a `slot` (scheduled
/// runs) nothing is inserted when the experiment already has a run for that slot, and
/// `Ok(false)` says so; a concurrent insert of the same slot waits for the first
/// transaction and then yields to it (`ON CONFLICT DO NOTHING`).
pub(super) async fn insert_run(
    conn: &mut PgConnection,
    run: &Run,
    samples: &[NewSample],
    slot: Option<i64>,
) -> Result<bool> {
    let planned = u64_to_i64(run.planned_samples, "run.planned_samples")?;
    let created_at = ms(run.created_at);

    // The tenant check: a run may only be attached to its own account's experiment. The
    // row lock (KEY SHARE) keeps a concurrent delete_experiment from removing the
    // experiment under this enqueue.
    let owned = sqlx::query("SELECT 1 FROM experiments WHERE id = $1 AND account_id = $2 FOR KEY SHARE")
        .bind(run.experiment_id.0)
        .bind(run.account_id.0)
        .fetch_optional(&mut *conn)
        .await?;
    if owned.is_none() {
        return Err(Error::not_found("experiment", run.experiment_id));
    }

    // A scheduled run yields to an existing run of its slot (the partial unique index).
    let on_slot_conflict = if slot.is_some() {
        " ON CONFLICT (experiment_id, scheduled_slot) WHERE scheduled_slot IS NOT NULL DO NOTHING"
    } else {
        ""
    };
    let sql = format!(
        "INSERT INTO runs ({RUN_COLUMNS}, scheduled_slot) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)\
         {on_slot_conflict}"
    );
    let inserted = sqlx::query(&sql)
        .bind(run.id.0)
        .bind(run.account_id.0)
        .bind(run.experiment_id.0)
        .bind(Json(&run.spec))
        .bind(run.status.as_str())
        .bind(planned)
        .bind(seed_to_i64(run.seed))
        .bind(created_at)
        .bind(opt_ms(run.started_at))
        .bind(opt_ms(run.finished_at))
        .bind(run.adaptive.as_ref().map(Json))
        .bind(run.correlation_id.as_deref())
        .bind(slot)
        .execute(&mut *conn)
        .await
        .map_err(|e| {
            map_db_error(
                e,
                || Error::Conflict(format!("run {} already exists", run.id)),
                || Error::not_found("experiment", run.experiment_id),
            )
        })?
        .rows_affected();
    if inserted == 0 {
        return Ok(false);
    }

    for chunk in samples.chunks(SAMPLE_CHUNK_ROWS) {
        let ids: Vec<_> = chunk.iter().map(|s| s.id.0).collect();
        let providers: Vec<&str> = chunk.iter().map(|s| s.target.provider.as_str()).collect();
        let models: Vec<&str> = chunk.iter().map(|s| s.target.model.as_str()).collect();
        let prompts: Vec<i64> = chunk.iter().map(|s| u32_to_i64(s.prompt_index)).collect();
        let repeats: Vec<i64> = chunk.iter().map(|s| u32_to_i64(s.repeat_index)).collect();
        sqlx::query(INSERT_SAMPLES)
            .bind(ids)
            .bind(providers)
            .bind(models)
            .bind(prompts)
            .bind(repeats)
            .bind(run.id.0)
            .bind(run.account_id.0)
            .bind(created_at)
            .execute(&mut *conn)
            .await
            .map_err(|e| {
                map_db_error(
                    e,
                    || {
                        Error::invalid(
                            "samples",
                            "two samples share an id or the same (target, prompt_index, repeat_index); \
                             each planned sample must be unique",
                        )
                    },
                    || Error::Internal("sample insert violated a foreign key inside its own transaction".into()),
                )
            })?;
    }
    Ok(true)
}

impl PgStore {
    pub(super) async fn enqueue(
        &self,
        run: &Run,
        samples: &[NewSample],
        audit: Option<&crate::audit::AuditRecord>,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        insert_run(&mut tx, run, samples, None).await?;
        super::audit::append_opt(&mut tx, audit).await?;
        tx.commit().await?;
        tracing::debug!(run_id = %run.id, samples = samples.len(), "run enqueued");
        Ok(())
    }

    /// `SELECT 1` on the run with the account in the WHERE clause: tells "not yours / not
    /// there" (NotFound) apart from "nothing to do".
    pub(super) async fn run_visible(&self, account: AccountId, run: RunId) -> Result<bool> {
        let visible = sqlx::query("SELECT 1 FROM runs WHERE id = $1 AND account_id = $2")
            .bind(run.0)
            .bind(account.0)
            .fetch_optional(&self.pool)
            .await?;
        Ok(visible.is_some())
    }
}

#[async_trait::async_trait]
impl RunStore for PgStore {
    async fn enqueue_run(&self, run: &Run, samples: &[NewSample]) -> Result<()> {
        self.enqueue(run, samples, None).await
    }

    async fn get_run(&self, account: AccountId, id: RunId) -> Result<Run> {
        let sql = format!("SELECT {RUN_COLUMNS} FROM runs WHERE id = $1 AND account_id = $2");
        let row = sqlx::query(&sql)
            .bind(id.0)
            .bind(account.0)
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(row) => rows::run(&row),
            None => Err(Error::not_found("run", id)),
        }
    }

    async fn list_runs(&self, account: AccountId, experiment: ExperimentId, page: &PageRequest) -> Result<Page<Run>> {
        let limit = page.effective_limit()?;
        let (after_ms, after_id) = keyset_bound(page)?;
        let items = sqlx::query(LIST_RUNS)
            .bind(account.0)
            .bind(experiment.0)
            .bind(after_ms)
            .bind(after_id)
            .bind(i64::from(limit) + 1)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(rows::run)
            .collect::<Result<Vec<_>>>()?;
        Ok(into_page(items, limit, |r| KeysetCursor::new(r.created_at, r.id.0)))
    }

    async fn set_run_status(
        &self,
        account: AccountId,
        id: RunId,
        status: RunStatus,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        self.set_run_status_with(account, id, status, now, None).await
    }

    async fn claim_samples(&self, request: &ClaimRequest<'_>) -> Result<Vec<SampleTask>> {
        queue::claim(&self.pool, request).await
    }

    async fn complete_samples(&self, outcomes: &[SampleOutcome]) -> Result<Vec<bool>> {
        queue::complete(&self.pool, outcomes).await
    }

    async fn cancel_pending_samples(&self, account: AccountId, run: RunId, now: DateTime<Utc>) -> Result<u64> {
        let cancelled = queue::cancel_pending(&self.pool, account, run, now).await?;
        // Nothing pending, or not this account's run: only the latter is an error.
        if cancelled == 0 && !self.run_visible(account, run).await? {
            return Err(Error::not_found("run", run));
        }
        Ok(cancelled)
    }

    async fn sample_counts(&self, account: AccountId, run: RunId) -> Result<SampleCounts> {
        samples::counts(&self.pool, account, run).await
    }

    async fn load_samples(&self, account: AccountId, run: RunId) -> Result<Vec<SampleRecord>> {
        samples::load(&self.pool, account, run).await
    }

    async fn raw_response(&self, account: AccountId, sample: SampleId) -> Result<Option<serde_json::Value>> {
        let row: Option<(Option<String>,)> = sqlx::query_as(super::sql::RAW_RESPONSE)
            .bind(account.0)
            .bind(sample.0)
            .fetch_optional(&self.pool)
            .await?;
        let Some((text,)) = row else {
            return Err(Error::not_found("sample", sample));
        };
        text.map(|t| {
            serde_json::from_str(&t)
                .map_err(|e| Error::Internal(format!("sample {sample} holds an unreadable raw response: {e}")))
        })
        .transpose()
    }
}

impl PgStore {
    /// Sets the status and, when it changed and `audit` is given, appends the event in the
    /// same transaction.
    pub(super) async fn set_run_status_with(
        &self,
        account: AccountId,
        id: RunId,
        status: RunStatus,
        now: DateTime<Utc>,
        audit: Option<&crate::audit::AuditRecord>,
    ) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        // One statement: the terminal guard and the timestamps are decided by the row's
        // current values (re-read under the row lock by a concurrent update), so concurrent
        // callers cannot overwrite a terminal status.
        let sql = format!(
            "UPDATE runs SET status = $3, \
                started_at = CASE WHEN $3 = 'running' AND started_at IS NULL THEN $4 ELSE started_at END, \
                finished_at = CASE WHEN $3 IN {TERMINAL_STATUSES} THEN $4 ELSE finished_at END \
             WHERE id = $2 AND account_id = $1 AND status <> $3 AND status NOT IN {TERMINAL_STATUSES}"
        );
        let changed = sqlx::query(&sql)
            .bind(account.0)
            .bind(id.0)
            .bind(status.as_str())
            .bind(ms(now))
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if changed == 1 {
            super::audit::append_opt(&mut tx, audit).await?;
            tx.commit().await?;
            return Ok(true);
        }
        tx.rollback().await?;
        // Unchanged: either the run is not visible (NotFound) or the status could not move.
        if self.run_visible(account, id).await? {
            Ok(false)
        } else {
            Err(Error::not_found("run", id))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_status_list_matches_the_model() {
        for status in [
            RunStatus::Pending,
            RunStatus::Running,
            RunStatus::Completed,
            RunStatus::Partial,
            RunStatus::Failed,
            RunStatus::Cancelled,
        ] {
            let listed = TERMINAL_STATUSES.contains(&format!("'{}'", status.as_str()));
            assert_eq!(listed, status.is_terminal(), "{status:?}");
        }
    }
}
