//! Experiments, always scoped to an account.

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use uuid::Uuid;

use super::PgStore;
use super::convert::{map_db_error, ms};
use super::rows;
use super::sql::{EXPERIMENT_COLUMNS, LIST_EXPERIMENTS};
use crate::audit::AuditRecord;
use crate::model::{AccountId, Experiment, ExperimentId, ExperimentSpec, Page, PageRequest};
use crate::store::sqlite::experiments::{into_page, keyset_bound};
use crate::store::{ExperimentStore, KeysetCursor};
use crate::{Error, Result};

#[async_trait::async_trait]
impl ExperimentStore for PgStore {
    async fn insert_experiment(&self, experiment: &Experiment) -> Result<()> {
        self.insert_experiment_with(experiment, None).await
    }

    async fn get_experiment(&self, account: AccountId, id: ExperimentId) -> Result<Experiment> {
        let sql = format!("SELECT {EXPERIMENT_COLUMNS} FROM experiments WHERE id = $1 AND account_id = $2");
        let row = sqlx::query(&sql)
            .bind(id.0)
            .bind(account.0)
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(row) => rows::experiment(&row),
            None => Err(Error::not_found("experiment", id)),
        }
    }

    async fn list_experiments(&self, account: AccountId, page: &PageRequest) -> Result<Page<Experiment>> {
        let limit = page.effective_limit()?;
        let (after_ms, after_id) = keyset_bound(page)?;
        let items = sqlx::query(LIST_EXPERIMENTS)
            .bind(account.0)
            .bind(after_ms)
            .bind(after_id)
            .bind(i64::from(limit) + 1)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(rows::experiment)
            .collect::<Result<Vec<_>>>()?;
        Ok(into_page(items, limit, |e| KeysetCursor::new(e.created_at, e.id.0)))
    }

    async fn update_experiment(
        &self,
        account: AccountId,
        id: ExperimentId,
        spec: &ExperimentSpec,
        now: DateTime<Utc>,
    ) -> Result<Experiment> {
        self.update_experiment_with(account, id, spec, now, None).await
    }

    async fn delete_experiment(&self, account: AccountId, id: ExperimentId) -> Result<()> {
        self.delete_experiment_with(account, id, None).await
    }
}

impl PgStore {
    /// Inserts the experiment and, when given, its audit event in one transaction.
    pub(super) async fn insert_experiment_with(
        &self,
        experiment: &Experiment,
        audit: Option<&AuditRecord>,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO experiments (id, account_id, name, spec, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(experiment.id.0)
        .bind(experiment.account_id.0)
        .bind(&experiment.spec.name)
        .bind(Json(&experiment.spec))
        .bind(ms(experiment.created_at))
        .bind(ms(experiment.updated_at))
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            map_db_error(
                e,
                || Error::Conflict(format!("experiment {} already exists", experiment.id)),
                || Error::not_found("account", experiment.account_id),
            )
        })?;
        super::audit::append_opt(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Updates the experiment and, when given, appends its audit event in one transaction.
    pub(super) async fn update_experiment_with(
        &self,
        account: AccountId,
        id: ExperimentId,
        spec: &ExperimentSpec,
        now: DateTime<Utc>,
        audit: Option<&AuditRecord>,
    ) -> Result<Experiment> {
        let mut tx = self.pool.begin().await?;
        let sql = format!(
            "UPDATE experiments SET name = $1, spec = $2, updated_at = $3 WHERE id = $4 AND account_id = $5 \
             RETURNING {EXPERIMENT_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(&spec.name)
            .bind(Json(spec))
            .bind(ms(now))
            .bind(id.0)
            .bind(account.0)
            .fetch_optional(&mut *tx)
            .await?;
        let experiment = match row {
            Some(row) => rows::experiment(&row)?,
            None => return Err(Error::not_found("experiment", id)),
        };
        super::audit::append_opt(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(experiment)
    }

    /// Deletes the experiment and, when given, appends its audit event in one transaction.
    pub(super) async fn delete_experiment_with(
        &self,
        account: AccountId,
        id: ExperimentId,
        audit: Option<&AuditRecord>,
    ) -> Result<()> {
        // Lock the experiment row first: an enqueue_run of this experiment either committed
        // before (its run is seen below) or waits on this lock and then finds no experiment
        // (enqueue locks the row FOR KEY SHARE, which FOR UPDATE excludes).
        let mut tx = self.pool.begin().await?;
        let exists = sqlx::query("SELECT 1 FROM experiments WHERE id = $1 AND account_id = $2 FOR UPDATE")
            .bind(id.0)
            .bind(account.0)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_none() {
            return Err(Error::not_found("experiment", id));
        }
        let active: Option<(Uuid, String)> = sqlx::query_as(
            "SELECT id, status FROM runs WHERE experiment_id = $1 AND account_id = $2 \
             AND status IN ('pending', 'running') LIMIT 1",
        )
        .bind(id.0)
        .bind(account.0)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some((run, status)) = active {
            return Err(Error::Conflict(format!(
                "experiment {id} still has run {run} {status}; cancel the run or wait for it to finish, then delete"
            )));
        }
        // ON DELETE CASCADE removes runs, samples, mentions and citations.
        sqlx::query("DELETE FROM experiments WHERE id = $1 AND account_id = $2")
            .bind(id.0)
            .bind(account.0)
            .execute(&mut *tx)
            .await?;
        super::audit::append_opt(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }
}
