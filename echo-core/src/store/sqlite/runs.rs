//! Runs: enqueue (run + samples in one transaction), reads, status; the sample work queue
//! and per-run sample reads are delegated to [`super::queue`] and [`super::samples`].

use chrono::{DateTime, Utc};
use sqlx::sqlite::SqliteConnection;

use super::SqliteStore;
use super::convert::{map_db_error, ms, opt_ms, seed_to_i64, to_json, u64_to_i64};
use super::experiments::{into_page, keyset_bound};
use super::sql::{
    LIST_RUNS, MAX_BOUND_PARAMETERS, RUN_COLUMNS, SAMPLE_INSERT_COLUMNS, SAMPLE_INSERT_WIDTH, multi_row, pow2_chunks,
};
use super::{queue, rows, samples};
use crate::model::{
    AccountId, ExperimentId, Page, PageRequest, Run, RunId, RunStatus, SampleCounts, SampleId, SampleRecord, SampleTask,
};
use crate::store::{ClaimRequest, KeysetCursor, NewSample, RunStore, SampleOutcome};
use crate::{Error, Result};

/// Rows per multi-row sample INSERT: the largest power of two whose parameters fit SQLite's
/// limit (2048 × 8 = 16,384 ≤ 32,766). 100,000 samples take 49 full statements plus a few
/// smaller ones.
const SAMPLE_CHUNK_ROWS: usize = {
    let mut rows = 1;
    while rows * 2 * SAMPLE_INSERT_WIDTH <= MAX_BOUND_PARAMETERS {
        rows *= 2;
    }
    rows
};

const _: () = assert!(SAMPLE_CHUNK_ROWS * SAMPLE_INSERT_WIDTH <= MAX_BOUND_PARAMETERS);

/// SQL list of the terminal run statuses, kept in step with `RunStatus::is_terminal`.
const TERMINAL_STATUSES: &str = "('completed', 'partial', 'failed', 'cancelled')";

impl SqliteStore {
    pub(super) async fn enqueue(
        &self,
        run: &Run,
        samples: &[NewSample],
        audit: Option<&crate::audit::AuditRecord>,
    ) -> Result<()> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        insert_run(&mut tx, run, samples, None).await?;
        super::audit::append_opt(&mut tx, audit).await?;
        tx.commit().await?;
        tracing::debug!(run_id = %run.id, samples = samples.len(), "run enqueued");
        Ok(())
    }
}

/// Inserts a run and its samples inside the caller's write transaction, after checking that
/// the run's account owns its experiment. With a `slot` (scheduled runs) nothing is inserted
/// when the experiment already has a run for that slot, and `Ok(false)` says so.
pub(super) async fn insert_run(
    conn: &mut SqliteConnection,
    run: &Run,
    samples: &[NewSample],
    slot: Option<i64>,
) -> Result<bool> {
    let spec = to_json(&run.spec, "run spec")?;
    let adaptive = run
        .adaptive
        .as_ref()
        .map(|a| to_json(a, "run adaptive options"))
        .transpose()?;
    let planned = u64_to_i64(run.planned_samples, "run.planned_samples")?;
    let created_at = ms(run.created_at);

    // The tenant check: a run may only be attached to its own account's experiment.
    let owned = sqlx::query("SELECT 1 FROM experiments WHERE id = ?1 AND account_id = ?2")
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
        "INSERT INTO runs ({RUN_COLUMNS}, scheduled_slot) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)\
         {on_slot_conflict}"
    );
    let inserted = sqlx::query(&sql)
        .bind(run.id.0)
        .bind(run.account_id.0)
        .bind(run.experiment_id.0)
        .bind(spec)
        .bind(run.status.as_str())
        .bind(planned)
        .bind(seed_to_i64(run.seed))
        .bind(created_at)
        .bind(opt_ms(run.started_at))
        .bind(opt_ms(run.finished_at))
        .bind(adaptive)
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

    let mut rest = samples;
    for rows in pow2_chunks(samples.len(), SAMPLE_CHUNK_ROWS) {
        let (chunk, tail) = rest.split_at(rows);
        rest = tail;
        let sql = multi_row(SAMPLE_INSERT_COLUMNS, rows, SAMPLE_INSERT_WIDTH);
        let mut query = sqlx::query(&sql);
        for s in chunk {
            query = query
                .bind(s.id.0)
                .bind(run.id.0)
                .bind(run.account_id.0)
                .bind(&s.target.provider)
                .bind(&s.target.model)
                .bind(s.prompt_index)
                .bind(s.repeat_index)
                .bind(created_at);
        }
        query.execute(&mut *conn).await.map_err(|e| {
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

#[async_trait::async_trait]
impl RunStore for SqliteStore {
    async fn enqueue_run(&self, run: &Run, samples: &[NewSample]) -> Result<()> {
        self.enqueue(run, samples, None).await
    }

    async fn get_run(&self, account: AccountId, id: RunId) -> Result<Run> {
        let sql = format!("SELECT {RUN_COLUMNS} FROM runs WHERE id = ?1 AND account_id = ?2");
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
        queue::cancel_pending(&self.pool, account, run, now).await
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

impl SqliteStore {
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
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        // One statement: the terminal guard and the timestamps are decided by the row's
        // current values, so concurrent callers cannot overwrite a terminal status.
        let sql = format!(
            "UPDATE runs SET status = ?3, \
                started_at = CASE WHEN ?3 = 'running' AND started_at IS NULL THEN ?4 ELSE started_at END, \
                finished_at = CASE WHEN ?3 IN {TERMINAL_STATUSES} THEN ?4 ELSE finished_at END \
             WHERE id = ?2 AND account_id = ?1 AND status <> ?3 AND status NOT IN {TERMINAL_STATUSES}"
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
        // Unchanged: either the run is not visible (NotFound) or the status could not move.
        let visible = sqlx::query("SELECT 1 FROM runs WHERE id = ?1 AND account_id = ?2")
            .bind(id.0)
            .bind(account.0)
            .fetch_optional(&mut *tx)
            .await?;
        match visible {
            Some(_) => Ok(false),
            None => Err(Error::not_found("run", id)),
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
