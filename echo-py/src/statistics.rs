//! Decision statistics, mirroring `echo_core::engine::statistics` and `Echo::compare_runs`:
//! precision plans, visibility over time, and the comparison of two runs.

use echo_core::analysis::{PlanRequest, PrecisionScope};
use echo_core::engine::Echo as CoreEcho;
use echo_core::model::{ExperimentId, RunId};
use pyo3::prelude::*;

use crate::auth::Principal;
use crate::convert::{self, Typed, core};

use crate::errors::to_py_err;

fn scope(py: Python<'_>, scope: &str) -> PyResult<PrecisionScope> {
    serde_json::from_value(serde_json::Value::String(scope.into())).map_err(|_| {
        to_py_err(
            py,
            &echo_core::Error::invalid("scope", format!("{scope:?} is not \"target\" or \"cell\"")),
        )
    })
}

/// The work of `Echo.plan` / `AsyncEcho.plan` (documented in `api.rs`).
#[allow(unused_variables)]
pub(crate) fn plan(
    echo: CoreEcho,
    py: Python<'_>,
    principal: &Principal,
    experiment_id: &Bound<'_, PyAny>,
    half_width: f64,
    expected_rate: Option<f64>,
    scope: &str,
) -> PyResult<impl Future<Output = PyResult<Typed>> + Send + 'static + use<>> {
    let p = principal.core().clone();
    let id = convert::id(experiment_id, ExperimentId::parse)?;
    let request = PlanRequest {
        half_width,
        expected_rate,
        scope: self::scope(py, scope)?,
    };
    Ok::<_, PyErr>(async move { Typed::one(&core(echo.plan(&p, id, request).await)?, "Plan") })
}

/// The work of `Echo.visibility_series` / `AsyncEcho.visibility_series` (documented in `api.rs`).
#[allow(unused_variables)]
pub(crate) fn visibility_series(
    echo: CoreEcho,
    py: Python<'_>,
    principal: &Principal,
    experiment_id: &Bound<'_, PyAny>,
    limit: u32,
) -> PyResult<impl Future<Output = PyResult<Typed>> + Send + 'static + use<>> {
    let p = principal.core().clone();
    let id = convert::id(experiment_id, ExperimentId::parse)?;
    Ok::<_, PyErr>(async move { Typed::list(&core(echo.visibility_series(&p, id, limit).await)?, "VisibilitySeries") })
}

/// The work of `Echo.compare_runs` / `AsyncEcho.compare_runs` (documented in `api.rs`).
#[allow(unused_variables)]
pub(crate) fn compare_runs(
    echo: CoreEcho,
    py: Python<'_>,
    principal: &Principal,
    before: &Bound<'_, PyAny>,
    after: &Bound<'_, PyAny>,
    alpha: f64,
) -> PyResult<impl Future<Output = PyResult<Typed>> + Send + 'static + use<>> {
    let p = principal.core().clone();
    let before = convert::id(before, RunId::parse)?;
    let after = convert::id(after, RunId::parse)?;
    Ok::<_, PyErr>(async move {
        Typed::one(
            &core(echo.compare_runs(&p, before, after, alpha).await)?,
            "RunComparison",
        )
    })
}
