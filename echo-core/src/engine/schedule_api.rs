//! The host's side of recurring runs: set, read and clear an experiment's schedule, and
//! find the run of a slot. The scheduler that creates the runs lives in
//! [`super::scheduler`] and runs inside workers.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Echo, Schedule};
use crate::Result;
use crate::audit::{AuditAction, AuditTarget};
use crate::auth::{Principal, Scope};
use crate::model::{ExperimentId, RunId};

/// An experiment's schedule and its next due slot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleInfo {
    pub schedule: Schedule,
    /// When the next run is due (UTC). Runs are created by a worker with the scheduler on.
    pub next_run_at: DateTime<Utc>,
}

impl Echo {
    /// Sets (or with `None` removes) the schedule of an experiment and returns the first
    /// slot, computed from the engine's clock: one interval from now, or the cron
    /// expression's next match after now (UTC). Setting a schedule again restarts it from
    /// now. Invalid schedules fail with `InvalidInput` naming the field
    /// (`schedule.interval`, `schedule.cron.hour`...); nothing is written.
    ///
    /// Runs are created by workers running the scheduler ([`WorkerConfig::run_scheduler`](super::WorkerConfig)),
    /// one per slot; see `docs/operations.md` for the rule on slots missed during downtime.
    #[tracing::instrument(skip_all, fields(account_id = %principal.account_id(), experiment_id = %experiment))]
    pub async fn set_schedule(
        &self,
        principal: &Principal,
        experiment: ExperimentId,
        schedule: Option<Schedule>,
    ) -> Result<Option<DateTime<Utc>>> {
        let action = match schedule {
            Some(_) => AuditAction::ScheduleSet,
            None => AuditAction::ScheduleClear,
        };
        let audit = self.audit_record(principal, action).target("experiment", experiment);
        self.audited(audit.clone(), async {
            principal.require(Scope::ExperimentsWrite)?;
            self.ensure_active(principal).await?;
            let account = principal.account_id();
            match schedule {
                Some(schedule) => {
                    schedule.validate()?;
                    let next = schedule.next_after(self.now())?;
                    let stored = schedule.to_stored(next);
                    let audit = audit
                        .detail("kind", stored.kind.as_str())
                        .detail("expr", &stored.expr)
                        .detail("next_run_at", next);
                    self.store()
                        .set_schedule_audited(account, experiment, Some(&stored), &audit)
                        .await?;
                    tracing::info!(next_run_at = %next, "schedule set");
                    Ok(Some(next))
                }
                None => {
                    self.store()
                        .set_schedule_audited(account, experiment, None, &audit)
                        .await?;
                    tracing::info!("schedule removed");
                    Ok(None)
                }
            }
        })
        .await
    }

    /// The experiment's schedule, `None` when it runs only on demand.
    #[tracing::instrument(skip_all, fields(account_id = %principal.account_id(), experiment_id = %experiment))]
    pub async fn schedule(&self, principal: &Principal, experiment: ExperimentId) -> Result<Option<ScheduleInfo>> {
        principal.require(Scope::ExperimentsRead)?;
        self.ensure_active(principal).await?;
        let stored = self.store().get_schedule(principal.account_id(), experiment).await?;
        self.audit_admin_read(principal, "schedule", Some(AuditTarget::new("experiment", experiment)))
            .await?;
        let Some(stored) = stored else {
            return Ok(None);
        };
        Ok(Some(ScheduleInfo {
            schedule: Schedule::from_stored(stored.kind, &stored.expr)?,
            next_run_at: stored.next_run_at,
        }))
    }

    /// The run the scheduler created for `slot` of the experiment, if any.
    #[tracing::instrument(skip_all, fields(account_id = %principal.account_id(), experiment_id = %experiment))]
    pub async fn scheduled_run(
        &self,
        principal: &Principal,
        experiment: ExperimentId,
        slot: DateTime<Utc>,
    ) -> Result<Option<RunId>> {
        principal.require(Scope::ExperimentsRead)?;
        self.ensure_active(principal).await?;
        let run = self
            .store()
            .scheduled_run(principal.account_id(), experiment, slot)
            .await?;
        self.audit_admin_read(
            principal,
            "scheduled_run",
            Some(AuditTarget::new("experiment", experiment)),
        )
        .await?;
        Ok(run)
    }
}
