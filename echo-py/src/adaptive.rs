//! Adaptive runs, mirroring `echo_core::engine::adaptive` and `adaptive_estimate`: the
//! `adaptive=` run option (sample each target to a precision instead of the spec's repeats)
//! and the cost of such a run before it starts.

use echo_core::analysis::sequential::AdaptiveGoal;
use echo_core::engine::Echo as CoreEcho;
use echo_core::model::{AdaptiveOptions, ExperimentId};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt};

use crate::auth::Principal;
use crate::convert::{self, Typed, core};
use crate::errors::to_py_err;

/// The core's `AdaptiveOptions` from the `adaptive=` argument:
///
/// - a number: the half-width (0.05 for ±5 points), with the core's defaults for the rest
///   (`AdaptiveOptions::new`: 95%, from 20 answers per target up to the worst-case fixed plan);
/// - an `AdaptiveGoal` (e.g. `echo.plan(...).adaptive`, or one with your own `min_samples` /
///   `max_samples`), applied to every brand;
/// - an `AdaptiveOptions` (a goal, which `brands` it applies to, and the `method`), or the
///   equivalent dict.
///
/// The core validates the result when the run starts, naming `options.adaptive.goal.*`.
pub(crate) fn options(value: Option<&Bound<'_, PyAny>>) -> PyResult<Option<AdaptiveOptions>> {
    let Some(value) = value.filter(|v| !v.is_none()) else {
        return Ok(None);
    };
    let py = value.py();
    if (value.is_instance_of::<PyFloat>() || value.is_instance_of::<PyInt>()) && !value.is_instance_of::<PyBool>() {
        let half_width: f64 = value.extract()?;
        return AdaptiveOptions::new(half_width)
            .map(Some)
            .map_err(|e| to_py_err(py, &named(e)));
    }
    let has_goal = match value.cast::<PyDict>() {
        Ok(dict) => dict.contains("goal")?,
        Err(_) => value.hasattr("goal")?,
    };
    if has_goal {
        return convert::from_py(value, "adaptive").map(Some);
    }
    let goal: AdaptiveGoal = convert::from_py(value, "adaptive.goal")?;
    Ok(Some(AdaptiveOptions {
        goal,
        brands: Default::default(),
        method: Default::default(),
    }))
}

/// Errors of `AdaptiveOptions::new` name `half_width` or `goal.*`; say they are about the
/// `adaptive` argument.
fn named(e: echo_core::Error) -> echo_core::Error {
    match e {
        echo_core::Error::InvalidInput { field, message } if !field.starts_with("adaptive") => {
            echo_core::Error::invalid(format!("adaptive.{field}"), message)
        }
        other => other,
    }
}

/// The work of `Echo.estimate_adaptive` / `AsyncEcho.estimate_adaptive` (documented in `api.rs`).
#[allow(unused_variables)]
pub(crate) fn estimate_adaptive(
    echo: CoreEcho,
    py: Python<'_>,
    principal: &Principal,
    experiment_id: &Bound<'_, PyAny>,
    adaptive: &Bound<'_, PyAny>,
    expected_rate: f64,
) -> PyResult<impl Future<Output = PyResult<Typed>> + Send + 'static + use<>> {
    let p = principal.core().clone();
    let id = convert::id(experiment_id, ExperimentId::parse)?;
    let options = options(Some(adaptive))?.ok_or_else(|| {
        to_py_err(
            py,
            &echo_core::Error::invalid("adaptive", "is required: a half-width such as 0.05, or an AdaptiveGoal"),
        )
    })?;
    Ok::<_, PyErr>(async move {
        Typed::one(
            &core(echo.estimate_adaptive(&p, id, &options, expected_rate).await)?,
            "AdaptiveEstimate",
        )
    })
}
