//! Executing runs in this process, mirroring `Echo::start_run`, `resume_run`, and the
//! start-and-wait the quickstart does.

use echo_core::model::{ExperimentId, RunId};
use pyo3::prelude::*;

use crate::auth::Principal;
use crate::convert::{self, Typed, core};
use crate::engine::{AsyncEcho, Echo, Engine, echo_methods, run_options};
use crate::handle::RunHandle;
use crate::runtime::{block_on, future_into_py};

echo_methods! {
    /// Enqueues a run and executes it in this process; returns a `RunHandle` to watch
    /// progress, wait for the report, or cancel. Quota and rate limits are checked first.
    #[pyo3(signature = (principal, experiment_id, *, seed = None, concurrency = None))]
    fn start_run(&self, echo, py, principal: &Principal, experiment_id: &Bound<'_, PyAny>, seed: Option<u64>,
        concurrency: Option<usize>) -> RunHandle {
        let p = principal.core().clone();
        let id = convert::id(experiment_id, ExperimentId::parse)?;
        Ok::<_, PyErr>(async move {
            let handle = core(echo.start_run(&p, id, run_options(seed, concurrency)).await)?;
            Ok(RunHandle::spawn(echo, p, handle))
        })
    }

    /// Executes the unfinished samples of an existing run (after a crash, or one only
    /// enqueued); answered samples are not asked again.
    fn resume_run(&self, echo, py, principal: &Principal, run_id: &Bound<'_, PyAny>) -> RunHandle {
        let p = principal.core().clone();
        let id = convert::id(run_id, RunId::parse)?;
        Ok::<_, PyErr>(async move {
            let handle = core(echo.resume_run(&p, id).await)?;
            Ok(RunHandle::spawn(echo, p, handle))
        })
    }
}

#[pymethods]
impl Echo {
    /// Starts a run and waits for its `Report`: `start_run(...).wait(progress)`.
    /// `progress`: a callable receiving `Progress` snapshots, or `True` for a tqdm bar.
    #[pyo3(signature = (principal, experiment_id, *, seed = None, concurrency = None, progress = None))]
    fn run(
        &self,
        py: Python<'_>,
        principal: &Principal,
        experiment_id: &Bound<'_, PyAny>,
        seed: Option<u64>,
        concurrency: Option<usize>,
        progress: Option<Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let echo = self.core(py)?;
        let p = principal.core().clone();
        let id = convert::id(experiment_id, ExperimentId::parse)?;
        let handle = block_on(py, async move {
            let handle = core(echo.start_run(&p, id, run_options(seed, concurrency)).await)?;
            Ok(RunHandle::spawn(echo, p, handle))
        })?;
        let handle = Bound::new(py, handle)?;
        handle
            .call_method1("wait", (progress,))
            .map(Bound::unbind)
    }
}

#[pymethods]
impl AsyncEcho {
    /// Starts a run and resolves to its `Report` (awaitable). For progress, use
    /// `start_run` and iterate `handle.updates()`.
    #[pyo3(signature = (principal, experiment_id, *, seed = None, concurrency = None))]
    fn run<'py>(
        &self,
        py: Python<'py>,
        principal: &Principal,
        experiment_id: &Bound<'_, PyAny>,
        seed: Option<u64>,
        concurrency: Option<usize>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let echo = self.core(py)?;
        let p = principal.core().clone();
        let id = convert::id(experiment_id, ExperimentId::parse)?;
        future_into_py(py, async move {
            let handle = core(echo.start_run(&p, id, run_options(seed, concurrency)).await)?;
            Typed::one(&core(handle.wait().await)?, "Report")
        })
    }
}
