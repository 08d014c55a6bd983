//! Recurring runs, mirroring `echo_core::engine::schedule_api`.

use echo_core::engine::Schedule;
use echo_core::model::ExperimentId;
use pyo3::prelude::*;

use crate::auth::Principal;
use crate::convert::{self, Typed, core};
use crate::engine::echo_methods;
use crate::errors::to_py_err;

/// A core `Schedule` from an `echo_ai.schedule.Schedule` (exactly one of `interval`, a
/// duration, and `cron`, an expression).
fn schedule(value: &Bound<'_, PyAny>) -> PyResult<Schedule> {
    let py = value.py();
    let get = |name: &str| -> PyResult<Option<Bound<'_, PyAny>>> {
        Ok(if value.hasattr(name)? {
            Some(value.getattr(name)?).filter(|v| !v.is_none())
        } else {
            None
        })
    };
    match (get("interval")?, get("cron")?) {
        (Some(interval), None) => Ok(Schedule::Interval(convert::duration(&interval, "schedule.interval")?)),
        (None, Some(cron)) => Ok(Schedule::Cron(cron.extract()?)),
        _ => Err(to_py_err(
            py,
            &echo_core::Error::invalid(
                "schedule",
                "give exactly one of interval and cron (Schedule.every(...) or Schedule.from_cron(...))",
            ),
        )),
    }
}

echo_methods! {
    /// Sets (or with `None` removes) the schedule of an experiment; returns the first slot
    /// (a UTC datetime) or `None`. Runs are created by workers with the scheduler on.
    fn set_schedule(&self, echo, py, principal: &Principal, experiment_id: &Bound<'_, PyAny>,
        schedule: Option<&Bound<'_, PyAny>>) -> Typed {
        let p = principal.core().clone();
        let id = convert::id(experiment_id, ExperimentId::parse)?;
        let schedule = schedule.filter(|s| !s.is_none()).map(self::schedule).transpose()?;
        Ok::<_, PyErr>(async move { Typed::one(&core(echo.set_schedule(&p, id, schedule).await)?, "datetime") })
    }

    /// The experiment's `ScheduleInfo`, or `None` when it runs only on demand.
    fn schedule(&self, echo, py, principal: &Principal, experiment_id: &Bound<'_, PyAny>) -> Typed {
        let p = principal.core().clone();
        let id = convert::id(experiment_id, ExperimentId::parse)?;
        Ok::<_, PyErr>(async move { Typed::one(&core(echo.schedule(&p, id).await)?, "ScheduleInfo") })
    }

    /// The id of the run the scheduler created for `slot` (a datetime), if any.
    fn scheduled_run(&self, echo, py, principal: &Principal, experiment_id: &Bound<'_, PyAny>,
        slot: &Bound<'_, PyAny>) -> Option<String> {
        let p = principal.core().clone();
        let id = convert::id(experiment_id, ExperimentId::parse)?;
        let slot = convert::datetime(slot, "slot")?;
        Ok::<_, PyErr>(async move { Ok(core(echo.scheduled_run(&p, id, slot).await)?.map(|r| r.to_string())) })
    }
}
