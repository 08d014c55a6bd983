//! Executing runs in this process, mirroring `Echo::start_run`, `resume_run`, and the
//! start-and-wait the quickstart does.

use echo_core::model::{ExperimentId, RunId};
use pyo3::prelude::*;

use crate::auth::Principal;
use crate::convert::{self, core};
use echo_core::engine::Echo as CoreEcho;

use crate::engine::run_options;
use crate::handle::RunHandle;

/// The work of `Echo.start_run` / `AsyncEcho.start_run` (documented in `api.rs`).
#[allow(unused_variables, clippy::too_many_arguments)]
pub(crate) fn start_run(
    echo: CoreEcho,
    py: Python<'_>,
    principal: &Principal,
    experiment_id: &Bound<'_, PyAny>,
    seed: Option<u64>,
    concurrency: Option<usize>,
    adaptive: Option<&Bound<'_, PyAny>>,
    correlation_id: Option<String>,
) -> PyResult<impl Future<Output = PyResult<RunHandle>> + Send + 'static + use<>> {
    let p = principal.core().clone();
    let id = convert::id(experiment_id, ExperimentId::parse)?;
    let options = run_options(seed, concurrency, adaptive, correlation_id)?;
    Ok::<_, PyErr>(async move {
        let handle = core(echo.start_run(&p, id, options).await)?;
        Ok(RunHandle::spawn(echo, p, handle))
    })
}

/// The work of `Echo.resume_run` / `AsyncEcho.resume_run` (documented in `api.rs`).
#[allow(unused_variables)]
pub(crate) fn resume_run(
    echo: CoreEcho,
    py: Python<'_>,
    principal: &Principal,
    run_id: &Bound<'_, PyAny>,
) -> PyResult<impl Future<Output = PyResult<RunHandle>> + Send + 'static + use<>> {
    let p = principal.core().clone();
    let id = convert::id(run_id, RunId::parse)?;
    Ok::<_, PyErr>(async move {
        let handle = core(echo.resume_run(&p, id).await)?;
        Ok(RunHandle::spawn(echo, p, handle))
    })
}
