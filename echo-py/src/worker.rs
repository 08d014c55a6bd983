//! Running a worker in this process, mirroring `echo_core::engine::worker`: it executes the
//! samples of every run in the database (runs enqueued by any process), and as leader
//! creates scheduled runs and runs maintenance.

use std::sync::{Arc, Mutex};

use echo_core::engine::{WorkerConfig, WorkerHandle as CoreWorkerHandle, WorkerReport};
use pyo3::prelude::*;

use crate::convert::{self, Typed, core};
use crate::engine::Engine;
use crate::errors::to_py_err;
use crate::runtime::{InRuntime, block_on, future_into_py, runtime};

/// A running worker. `shutdown` stops it gracefully and returns its `WorkerReport`.
#[pyclass(frozen, module = "echo_ai._native")]
pub struct WorkerHandle {
    owner: String,
    /// `None` once shut down.
    handle: Arc<Mutex<Option<InRuntime<CoreWorkerHandle>>>>,
    /// The report of the shutdown, once it happened.
    last: Arc<Mutex<Option<WorkerReport>>>,
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn config(
    concurrency: Option<usize>,
    owner: Option<String>,
    poll_interval: Option<&Bound<'_, PyAny>>,
    shutdown_grace: Option<&Bound<'_, PyAny>>,
    run_scheduler: bool,
    maintenance_interval: Option<&Bound<'_, PyAny>>,
) -> PyResult<WorkerConfig> {
    let mut config = WorkerConfig::default().run_scheduler(run_scheduler);
    if let Some(n) = concurrency {
        config = config.concurrency(n);
    }
    if let Some(owner) = owner {
        config = config.owner(owner);
    }
    if let Some(every) = poll_interval {
        config = config.poll_interval(convert::duration(every, "worker.poll_interval")?);
    }
    if let Some(grace) = shutdown_grace {
        config = config.shutdown_grace(convert::duration(grace, "worker.shutdown_grace")?);
    }
    if let Some(every) = maintenance_interval {
        config = config.maintenance_interval(convert::duration(every, "worker.maintenance_interval")?);
    }
    Ok(config)
}

pub(crate) fn start(py: Python<'_>, engine: &impl Engine, config: WorkerConfig) -> PyResult<WorkerHandle> {
    let echo = engine.core(py)?;
    let worker = echo.worker(config).map_err(|e| to_py_err(py, &e))?;
    let owner = worker.owner().to_string();
    // `start` spawns the worker's tasks: it needs the runtime's context.
    let handle = {
        let _guard = runtime().enter();
        worker.start()
    };
    Ok(WorkerHandle {
        owner,
        handle: Arc::new(Mutex::new(Some(InRuntime::new(handle)))),
        last: Arc::new(Mutex::new(None)),
    })
}

impl WorkerHandle {
    fn shutdown_future(
        &self,
        py: Python<'_>,
        grace: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<impl Future<Output = PyResult<Typed>> + Send + 'static> {
        let grace = match grace {
            Some(g) => convert::duration(g, "grace")?,
            None => std::time::Duration::from_secs(30),
        };
        let taken = self.handle.lock().expect("worker handle poisoned").take();
        let last = self.last.clone();
        let handle = match taken {
            Some(h) => Some(h.into_inner(py)?),
            None => None,
        };
        Ok(async move {
            let report = match handle {
                Some(handle) => core(handle.shutdown(grace).await)?,
                None => last.lock().expect("worker report poisoned").clone().unwrap_or_default(),
            };
            *last.lock().expect("worker report poisoned") = Some(report.clone());
            Typed::one(&report, "WorkerReport")
        })
    }
}

#[pymethods]
impl WorkerHandle {
    /// The worker's lease owner id.
    #[getter]
    fn owner(&self) -> String {
        self.owner.clone()
    }

    /// Whether `shutdown` has been called.
    #[getter]
    fn stopped(&self) -> bool {
        self.handle.lock().expect("worker handle poisoned").is_none()
    }

    /// What the worker has done so far (a `WorkerReport`).
    fn report(&self, py: Python<'_>) -> PyResult<Typed> {
        let guard = self.handle.lock().expect("worker handle poisoned");
        let report = match guard.as_ref() {
            Some(h) => h.get("worker").map_err(|e| to_py_err(py, &e))?.report(),
            None => self
                .last
                .lock()
                .expect("worker report poisoned")
                .clone()
                .unwrap_or_default(),
        };
        Typed::one(&report, "WorkerReport")
    }

    /// Graceful shutdown: stops claiming, hands back unstarted samples, gives calls in
    /// flight `grace` (seconds or timedelta, default 30 s) to finish, then releases the
    /// rest. Returns the final `WorkerReport`. Calling it again returns the same report.
    #[pyo3(signature = (grace = None))]
    fn shutdown(&self, py: Python<'_>, grace: Option<&Bound<'_, PyAny>>) -> PyResult<Typed> {
        let fut = self.shutdown_future(py, grace)?;
        block_on(py, fut)
    }

    /// Awaitable `shutdown`.
    #[pyo3(signature = (grace = None))]
    fn shutdown_async<'py>(&self, py: Python<'py>, grace: Option<&Bound<'_, PyAny>>) -> PyResult<Bound<'py, PyAny>> {
        let fut = self.shutdown_future(py, grace)?;
        future_into_py(py, fut)
    }

    fn __repr__(&self) -> String {
        format!("WorkerHandle(owner={:?}, stopped={})", self.owner, self.stopped())
    }
}
