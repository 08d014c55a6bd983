//! Recurring runs, mirroring `echo_core::engine::{Schedule, ScheduleInfo}`: the host sets
//! an experiment's schedule; workers running the scheduler create one run per slot.

use echo_core::engine::Schedule as CoreSchedule;
use echo_core::model::ExperimentId;
use echo_core::{Error, Result};
use napi::Env;
use napi::bindgen_prelude::PromiseRaw;
use napi_derive::napi;

use crate::convert::{parse, seconds, time, time_string};
use crate::engine::{Echo, clone_parts};
use crate::principal::Principal;
use crate::promise::{spawn, sync};

/// Every `intervalSecs` (at least 60), or at the matches of a five-field UTC `cron`
/// expression. Give exactly one.
#[napi(object)]
pub struct Schedule {
    pub interval_secs: Option<f64>,
    pub cron: Option<String>,
}

impl Schedule {
    fn to_core(&self) -> Result<CoreSchedule> {
        match (self.interval_secs, &self.cron) {
            (Some(secs), None) => Ok(CoreSchedule::Interval(seconds(secs, "schedule.intervalSecs")?)),
            (None, Some(cron)) => Ok(CoreSchedule::Cron(cron.clone())),
            _ => Err(Error::invalid(
                "schedule",
                "give exactly one of intervalSecs (e.g. 3600) or cron (e.g. '0 6 * * 1')",
            )),
        }
    }

    fn from_core(schedule: &CoreSchedule) -> Self {
        match schedule {
            CoreSchedule::Interval(d) => Self {
                interval_secs: Some(d.as_secs_f64()),
                cron: None,
            },
            CoreSchedule::Cron(expr) => Self {
                interval_secs: None,
                cron: Some(expr.clone()),
            },
        }
    }
}

/// An experiment's schedule and its next due slot.
#[napi(object)]
pub struct ScheduleInfo {
    pub schedule: Schedule,
    /// When the next run is due (ISO 8601, UTC).
    pub next_run_at: String,
}

#[napi]
impl Echo {
    /// Sets (or with `null` removes) an experiment's schedule; resolves with the first
    /// slot (ISO 8601), or `null` when removed.
    #[napi(strict, ts_return_type = "Promise<string | null>")]
    pub fn set_schedule<'env>(
        &self,
        env: &'env Env,
        principal: &Principal,
        experiment_id: String,
        schedule: Option<Schedule>,
    ) -> napi::Result<PromiseRaw<'env, Option<String>>> {
        let id: ExperimentId = sync(env, parse(&experiment_id, "experimentId"))?;
        let schedule = sync(env, schedule.as_ref().map(Schedule::to_core).transpose())?;
        let (echo, principal) = clone_parts(self, principal);
        spawn(
            env,
            async move { echo.set_schedule(&principal, id, schedule).await },
            |next| Ok(next.map(time_string)),
        )
    }

    /// The experiment's schedule, `null` when it runs only on demand.
    #[napi(strict, ts_return_type = "Promise<ScheduleInfo | null>")]
    pub fn schedule<'env>(
        &self,
        env: &'env Env,
        principal: &Principal,
        experiment_id: String,
    ) -> napi::Result<PromiseRaw<'env, Option<ScheduleInfo>>> {
        let id: ExperimentId = sync(env, parse(&experiment_id, "experimentId"))?;
        let (echo, principal) = clone_parts(self, principal);
        spawn(env, async move { echo.schedule(&principal, id).await }, |info| {
            Ok(info.map(|i| ScheduleInfo {
                schedule: Schedule::from_core(&i.schedule),
                next_run_at: time_string(i.next_run_at),
            }))
        })
    }

    /// The id of the run the scheduler created for `slot` (ISO 8601), if any.
    #[napi(strict, ts_return_type = "Promise<string | null>")]
    pub fn scheduled_run<'env>(
        &self,
        env: &'env Env,
        principal: &Principal,
        experiment_id: String,
        slot: String,
    ) -> napi::Result<PromiseRaw<'env, Option<String>>> {
        let id: ExperimentId = sync(env, parse(&experiment_id, "experimentId"))?;
        let slot = sync(env, time(&slot, "slot"))?;
        let (echo, principal) = clone_parts(self, principal);
        spawn(
            env,
            async move { echo.scheduled_run(&principal, id, slot).await },
            |run| Ok(run.map(|r| r.to_string())),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exactly_one_kind_is_required() {
        let both = Schedule {
            interval_secs: Some(60.0),
            cron: Some("* * * * *".into()),
        };
        assert_eq!(both.to_core().unwrap_err().field(), Some("schedule"));
        let interval = Schedule {
            interval_secs: Some(3600.0),
            cron: None,
        };
        let core = interval.to_core().unwrap();
        assert_eq!(Schedule::from_core(&core).interval_secs, Some(3600.0));
    }
}
