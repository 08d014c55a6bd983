//! Decision statistics, mirroring `echo_core::engine::statistics` and `Echo::compare_runs`:
//! precision plans, visibility over time, and the comparison of two runs.

use echo_core::analysis::{PlanRequest, PrecisionScope};
use echo_core::model::{ExperimentId, RunId};
use pyo3::prelude::*;

use crate::auth::Principal;
use crate::convert::{self, Typed, core};
use crate::engine::echo_methods;
use crate::errors::to_py_err;

fn scope(py: Python<'_>, scope: &str) -> PyResult<PrecisionScope> {
    serde_json::from_value(serde_json::Value::String(scope.into())).map_err(|_| {
        to_py_err(
            py,
            &echo_core::Error::invalid("scope", format!("{scope:?} is not \"target\" or \"cell\"")),
        )
    })
}

echo_methods! {
    /// How many repeats the experiment needs for a visibility interval of ±`half_width`
    /// (0.05 for ±5 points), at `expected_rate` and at the worst case, what that costs, and
    /// the adaptive alternative (a `Plan`). `scope`: `"target"` (pooled over prompts) or
    /// `"cell"` (each prompt). Nothing is written or spent.
    #[pyo3(signature = (principal, experiment_id, half_width, *, expected_rate = None, scope = "target"))]
    fn plan(&self, echo, py, principal: &Principal, experiment_id: &Bound<'_, PyAny>, half_width: f64,
        expected_rate: Option<f64>, scope: &str) -> Typed {
        let p = principal.core().clone();
        let id = convert::id(experiment_id, ExperimentId::parse)?;
        let request = PlanRequest { half_width, expected_rate, scope: self::scope(py, scope)? };
        Ok::<_, PyErr>(async move { Typed::one(&core(echo.plan(&p, id, request).await)?, "Plan") })
    }

    /// Every brand's visibility, overall and per target, over the experiment's last `limit`
    /// finished runs (oldest first), each point with its interval and a flag on significant
    /// changes (a list of `VisibilitySeries`).
    #[pyo3(signature = (principal, experiment_id, *, limit = 10))]
    fn visibility_series(&self, echo, py, principal: &Principal, experiment_id: &Bound<'_, PyAny>, limit: u32)
        -> Typed {
        let p = principal.core().clone();
        let id = convert::id(experiment_id, ExperimentId::parse)?;
        Ok::<_, PyErr>(async move {
            Typed::list(&core(echo.visibility_series(&p, id, limit).await)?, "VisibilitySeries")
        })
    }

    /// Compares every brand's visibility between two runs (a `RunComparison`): Newcombe
    /// 95% intervals for the differences and a two-sided test, significant at `alpha`.
    #[pyo3(signature = (principal, before, after, *, alpha = 0.05))]
    fn compare_runs(&self, echo, py, principal: &Principal, before: &Bound<'_, PyAny>, after: &Bound<'_, PyAny>,
        alpha: f64) -> Typed {
        let p = principal.core().clone();
        let before = convert::id(before, RunId::parse)?;
        let after = convert::id(after, RunId::parse)?;
        Ok::<_, PyErr>(async move {
            Typed::one(&core(echo.compare_runs(&p, before, after, alpha).await)?, "RunComparison")
        })
    }
}
