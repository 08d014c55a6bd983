//! Recurring runs, mirroring `echo_core::engine::schedule_api`.

use echo_core::engine::Echo as CoreEcho;
use echo_core::engine::Schedule;
use echo_core::model::ExperimentId;
use pyo3::prelude::*;

use crate::auth::Principal;
use crate::convert::{self, Typed, core};

use crate::errors::to_py_err;

/// A core `Schedule` from an `echo_ai.schedule.Schedule` (exactly one of `interval`, a
/// duration, and `cron`, an expression).
fn to_core(value: &Bound<'_, PyAny>) -> PyResult<Schedule> {
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

/// The work of `Echo.set_schedule` / `AsyncEcho.set_schedule` (documented in `api.rs`).
#[allow(unused_variables)]
pub(crate) fn set_schedule(
    echo: CoreEcho,
    py: Python<'_>,
    principal: &Principal,
    experiment_id: &Bound<'_, PyAny>,
    schedule: Option<&Bound<'_, PyAny>>,
) -> PyResult<impl Future<Output = PyResult<Typed>> + Send + 'static + use<>> {
    let p = principal.core().clone();
    let id = convert::id(experiment_id, ExperimentId::parse)?;
    let schedule = schedule.filter(|s| !s.is_none()).map(to_core).transpose()?;
    Ok::<_, PyErr>(async move { Typed::one(&core(echo.set_schedule(&p, id, schedule).await)?, "datetime") })
}

/// The work of `Echo.schedule` / `AsyncEcho.schedule` (documented in `api.rs`).
#[allow(unused_variables)]
pub(crate) fn schedule(
    echo: CoreEcho,
    py: Python<'_>,
    principal: &Principal,
    experiment_id: &Bound<'_, PyAny>,
) -> PyResult<impl Future<Output = PyResult<Typed>> + Send + 'static + use<>> {
    let p = principal.core().clone();
    let id = convert::id(experiment_id, ExperimentId::parse)?;
    Ok::<_, PyErr>(async move { Typed::one(&core(echo.schedule(&p, id).await)?, "ScheduleInfo") })
}

/// The work of `Echo.scheduled_run` / `AsyncEcho.scheduled_run` (documented in `api.rs`).
#[allow(unused_variables)]
pub(crate) fn scheduled_run(
    echo: CoreEcho,
    py: Python<'_>,
    principal: &Principal,
    experiment_id: &Bound<'_, PyAny>,
    slot: &Bound<'_, PyAny>,
) -> PyResult<impl Future<Output = PyResult<Option<String>>> + Send + 'static + use<>> {
    let p = principal.core().clone();
    let id = convert::id(experiment_id, ExperimentId::parse)?;
    let slot = convert::datetime(slot, "slot")?;
    Ok::<_, PyErr>(async move { Ok(core(echo.scheduled_run(&p, id, slot).await)?.map(|r| r.to_string())) })
}
