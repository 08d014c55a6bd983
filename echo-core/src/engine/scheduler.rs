//! The scheduler: turns due schedules into runs. It runs inside workers, only on the one
//! holding the leader lease (see [`super::worker`]), but its correctness does not depend
//! on that: each run is created together with advancing the schedule in one transaction
//! that compares `next_run_at` with what the scan saw, and the store refuses a second run
//! for a slot. Two schedulers racing over the same slot create one run.

use chrono::{DateTime, Utc};

use super::Echo;
use super::plan::{new_run, plan_samples};
use super::schedule::Schedule;
use crate::Result;
use crate::store::{DueSchedule, ScheduledRun, ScheduledRunOutcome};

/// Due schedules handled per scan; the rest wait for the next scan (moments later).
pub(crate) const DUE_SCAN_LIMIT: u32 = 100;

/// Creates the runs of every schedule due at `now` (up to [`DUE_SCAN_LIMIT`]). Returns how
/// many runs were created. A schedule that cannot be served is logged and skipped; the
/// others still run.
pub(crate) async fn run_due(echo: &Echo, now: DateTime<Utc>) -> Result<u64> {
    let due = echo.store().due_schedules(now, DUE_SCAN_LIMIT).await?;
    let mut created = 0;
    for d in &due {
        match create_due_run(echo, d, now).await {
            Ok(ScheduledRunOutcome::Created) => created += 1,
            Ok(outcome) => tracing::debug!(experiment_id = %d.experiment_id, ?outcome, "slot already served"),
            Err(e) if e.kind() == crate::ErrorKind::ConsentRequired => {
                tracing::warn!(experiment_id = %d.experiment_id, error = %e, "scheduled run waits for consent")
            }
            Err(e) if e.kind() == crate::ErrorKind::QuotaExceeded => {
                tracing::warn!(experiment_id = %d.experiment_id, error = %e, "scheduled run waits for quota")
            }
            Err(e) => tracing::error!(experiment_id = %d.experiment_id, error = %e, "cannot create the scheduled run"),
        }
    }
    Ok(created)
}

async fn create_due_run(echo: &Echo, due: &DueSchedule, now: DateTime<Utc>) -> Result<ScheduledRunOutcome> {
    let schedule = Schedule::from_stored(due.schedule.kind, &due.schedule.expr)?;
    let (slot, next_run_at) = schedule.catch_up(due.schedule.next_run_at, now)?;
    let experiment = echo.store().get_experiment(due.account_id, due.experiment_id).await?;
    // The run measures what the experiment says now; like `enqueue_run`, the spec is
    // snapshotted into the run.
    experiment.spec.validate()?;
    let samples = plan_samples(&experiment.spec);
    let run = new_run(
        due.account_id,
        due.experiment_id,
        experiment.spec,
        samples.len(),
        rand::random(),
        crate::store::truncate_to_millis(now),
    );
    // A scheduled run spends quota like any other: its samples are reserved before it is
    // created, and given back if another scheduler served the slot first. A refusal leaves
    // the slot due, so the run is created once the quota allows (e.g. after the reset).
    // Like `enqueue_run`: without the consents the host requires, nothing is reserved or
    // created, and the slot stays due until the consent is recorded.
    echo.require_consents(due.account_id).await?;
    let account = echo.store().get_account(due.account_id).await?;
    let limits = echo.tier_limits(&account)?;
    crate::quota::check_run_size(run.planned_samples, &limits)?;
    echo.reserve_run(&run, &limits).await?;
    let created = echo
        .store()
        .create_scheduled_run_audited(
            ScheduledRun {
                run: &run,
                samples: &samples,
                due_at: due.schedule.next_run_at,
                slot,
                next_run_at,
            },
            &crate::audit::AuditRecord::system(
                "scheduler",
                Some(run.account_id),
                crate::audit::AuditAction::RunEnqueue,
                now,
            )
            .target("run", run.id)
            .detail("experiment_id", run.experiment_id)
            .detail("slot", slot)
            .detail("planned_samples", run.planned_samples),
        )
        .await;
    let outcome = match created {
        Ok(outcome) => outcome,
        Err(e) => {
            echo.refund_run(&run).await;
            return Err(e);
        }
    };
    if outcome != ScheduledRunOutcome::Created {
        echo.refund_run(&run).await;
    }
    if outcome == ScheduledRunOutcome::Created {
        if slot != due.schedule.next_run_at {
            tracing::warn!(experiment_id = %due.experiment_id, first_missed = %due.schedule.next_run_at, %slot,
                "slots were missed; one run is created for the latest");
        }
        tracing::info!(experiment_id = %due.experiment_id, run_id = %run.id, %slot, next_run_at = %next_run_at,
            "scheduled run created");
    }
    Ok(outcome)
}
