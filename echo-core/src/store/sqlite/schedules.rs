//! Schedules on SQLite. The creation of a scheduled run is one `BEGIN IMMEDIATE`
//! transaction: compare-and-set of `next_run_at`, then the run and its samples (yielding to
//! an existing run of the slot), so a crash leaves either both or neither.

use chrono::{DateTime, Utc};
use sqlx::Row;
use uuid::Uuid;

use super::SqliteStore;
use super::convert::{from_ms, ms};
use super::runs::insert_run;
use super::sql::{ADVANCE_SCHEDULE, DUE_SCHEDULES, GET_SCHEDULE, SCHEDULED_RUN, SET_SCHEDULE};
use crate::model::{AccountId, ExperimentId, RunId};
use crate::store::{DueSchedule, ScheduleKind, ScheduleStore, ScheduledRun, ScheduledRunOutcome, StoredSchedule};
use crate::{Error, Result};

fn stored(kind: Option<String>, expr: Option<String>, next: Option<i64>) -> Result<Option<StoredSchedule>> {
    match (kind, expr, next) {
        (Some(kind), Some(expr), Some(next)) => Ok(Some(StoredSchedule {
            kind: ScheduleKind::parse(&kind)?,
            expr,
            next_run_at: from_ms(next, "experiments.next_run_at")?,
        })),
        (None, _, None) => Ok(None),
        _ => Err(Error::Internal(
            "experiments row holds a partial schedule (kind, expr and next_run_at must be set together)".into(),
        )),
    }
}

#[async_trait::async_trait]
impl ScheduleStore for SqliteStore {
    async fn set_schedule(
        &self,
        account: AccountId,
        experiment: ExperimentId,
        schedule: Option<&StoredSchedule>,
    ) -> Result<()> {
        self.set_schedule_with(account, experiment, schedule, None).await
    }

    async fn get_schedule(&self, account: AccountId, experiment: ExperimentId) -> Result<Option<StoredSchedule>> {
        let row: Option<(Option<String>, Option<String>, Option<i64>)> = sqlx::query_as(GET_SCHEDULE)
            .bind(account.0)
            .bind(experiment.0)
            .fetch_optional(&self.pool)
            .await?;
        let Some((kind, expr, next)) = row else {
            return Err(Error::not_found("experiment", experiment));
        };
        stored(kind, expr, next)
    }

    async fn due_schedules(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<DueSchedule>> {
        let rows = sqlx::query(DUE_SCHEDULES)
            .bind(ms(now))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        let mut due = Vec::with_capacity(rows.len());
        for row in rows {
            let schedule = stored(
                row.try_get("schedule_kind")?,
                row.try_get("schedule_expr")?,
                row.try_get("next_run_at")?,
            )?
            .ok_or_else(|| Error::Internal("due scan returned an unscheduled experiment".into()))?;
            due.push(DueSchedule {
                account_id: row.try_get::<Uuid, _>("account_id")?.into(),
                experiment_id: row.try_get::<Uuid, _>("id")?.into(),
                schedule,
            });
        }
        Ok(due)
    }

    async fn create_scheduled_run(&self, s: ScheduledRun<'_>) -> Result<ScheduledRunOutcome> {
        self.create_scheduled_run_with(s, None).await
    }

    async fn scheduled_run(
        &self,
        account: AccountId,
        experiment: ExperimentId,
        slot: DateTime<Utc>,
    ) -> Result<Option<RunId>> {
        let visible = sqlx::query("SELECT 1 FROM experiments WHERE id = ?1 AND account_id = ?2")
            .bind(experiment.0)
            .bind(account.0)
            .fetch_optional(&self.pool)
            .await?;
        if visible.is_none() {
            return Err(Error::not_found("experiment", experiment));
        }
        let row: Option<(Uuid,)> = sqlx::query_as(SCHEDULED_RUN)
            .bind(account.0)
            .bind(experiment.0)
            .bind(ms(slot))
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|(id,)| id.into()))
    }
}

impl SqliteStore {
    /// Sets the schedule and, when given, appends its audit event in one transaction.
    pub(super) async fn set_schedule_with(
        &self,
        account: AccountId,
        experiment: ExperimentId,
        schedule: Option<&StoredSchedule>,
        audit: Option<&crate::audit::AuditRecord>,
    ) -> Result<()> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let changed = sqlx::query(SET_SCHEDULE)
            .bind(account.0)
            .bind(experiment.0)
            .bind(schedule.map(|s| s.kind.as_str()))
            .bind(schedule.map(|s| s.expr.as_str()))
            .bind(schedule.map(|s| ms(s.next_run_at)))
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if changed == 0 {
            return Err(Error::not_found("experiment", experiment));
        }
        super::audit::append_opt(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Creates the slot's run and, when it was created and `audit` is given, appends the
    /// event in the same transaction.
    pub(super) async fn create_scheduled_run_with(
        &self,
        s: ScheduledRun<'_>,
        audit: Option<&crate::audit::AuditRecord>,
    ) -> Result<ScheduledRunOutcome> {
        let run = s.run;
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let advanced = sqlx::query(ADVANCE_SCHEDULE)
            .bind(run.account_id.0)
            .bind(run.experiment_id.0)
            .bind(ms(s.due_at))
            .bind(ms(s.next_run_at))
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if advanced == 0 {
            // Another scheduler acted, the schedule changed, or the experiment is not this
            // account's: tell the last apart, it is a caller error.
            let visible = sqlx::query("SELECT 1 FROM experiments WHERE id = ?1 AND account_id = ?2")
                .bind(run.experiment_id.0)
                .bind(run.account_id.0)
                .fetch_optional(&mut *tx)
                .await?;
            if visible.is_none() {
                return Err(Error::not_found("experiment", run.experiment_id));
            }
            return Ok(ScheduledRunOutcome::Stale);
        }
        let created = insert_run(&mut tx, run, s.samples, Some(ms(s.slot))).await?;
        if created {
            super::audit::append_opt(&mut tx, audit).await?;
        }
        tx.commit().await?;
        Ok(if created {
            ScheduledRunOutcome::Created
        } else {
            ScheduledRunOutcome::SlotTaken
        })
    }
}
