//! `RunHandle`, mirroring `echo_core::engine::RunHandle`: a run executing in this process.
//!
//! The core handle is consumed by waiting, so it is handed at once to a task on the runtime
//! that waits for the report and publishes it; progress snapshots are forwarded into a
//! watch channel first. The Python object then only reads those two channels, so any
//! number of callers may wait, poll or iterate, blocking or async.

use std::sync::Arc;

use echo_core::Error;
use echo_core::auth::Principal as CorePrincipal;
use echo_core::engine::{Echo as CoreEcho, Progress, RunHandle as CoreRunHandle};
use echo_core::model::{Report, RunId};
use futures::StreamExt;
use pyo3::prelude::*;
use tokio::sync::watch;

use crate::convert::{Typed, core};
use crate::errors::to_py_err;
use crate::progress::ProgressUpdates;
use crate::runtime::{InRuntime, SIGNAL_POLL, block_on, future_into_py, runtime};

/// How a run ended: its report, or the error that stopped the execution.
pub type Outcome = Result<Arc<Report>, Arc<Error>>;

/// A run executing in this process: watch its progress, wait for its report, or cancel it.
/// Dropping the handle does not stop the run.
#[pyclass(frozen, module = "echo_ai._native")]
pub struct RunHandle {
    run_id: RunId,
    /// For `cancel`, which goes through `Echo::cancel_run` (the core handle is consumed
    /// by the waiting task).
    echo: Arc<InRuntime<CoreEcho>>,
    principal: CorePrincipal,
    progress: watch::Receiver<Progress>,
    outcome: watch::Receiver<Option<Outcome>>,
}

impl RunHandle {
    /// Takes over a core handle; must be called on the runtime (it spawns the waiter).
    pub fn spawn(echo: CoreEcho, principal: CorePrincipal, handle: CoreRunHandle) -> Self {
        let run_id = handle.run_id();
        let (progress_tx, progress) = watch::channel(handle.progress());
        let (outcome_tx, outcome) = watch::channel(None);
        let mut stream = handle.progress_stream();
        let forward = tokio::spawn(async move {
            while let Some(p) = stream.next().await {
                progress_tx.send_replace(p);
            }
        });
        tokio::spawn(async move {
            let result = handle.wait().await;
            // The last snapshot (terminal status) is published before the report.
            let _ = forward.await;
            outcome_tx.send_replace(Some(result.map(Arc::new).map_err(Arc::new)));
        });
        Self {
            run_id,
            echo: Arc::new(InRuntime::new(echo)),
            principal,
            progress,
            outcome,
        }
    }

    fn load(outcome: &Outcome) -> PyResult<Typed> {
        match outcome {
            Ok(report) => Typed::one(&**report, "Report"),
            Err(e) => Err(Python::attach(|py| to_py_err(py, e))),
        }
    }

    fn cancel_future(&self, py: Python<'_>) -> PyResult<impl Future<Output = PyResult<()>> + Send + 'static> {
        let echo = self.echo.get("RunHandle").cloned().map_err(|e| to_py_err(py, &e))?;
        let principal = self.principal.clone();
        let run_id = self.run_id;
        Ok(async move { core(echo.cancel_run(&principal, run_id).await) })
    }
}

/// Calls the progress sink with a snapshot.
fn publish(py: Python<'_>, sink: &Bound<'_, PyAny>, p: &Progress) -> PyResult<()> {
    sink.call1((Typed::one(p, "Progress")?.into_pyobject(py)?,))?;
    Ok(())
}

#[pymethods]
impl RunHandle {
    /// The run's id.
    #[getter]
    fn run_id(&self) -> String {
        self.run_id.to_string()
    }

    /// The latest progress snapshot (a `Progress`).
    fn progress(&self) -> PyResult<Typed> {
        Typed::one(&*self.progress.borrow(), "Progress")
    }

    /// Whether the run has finished executing (`wait` returns at once).
    fn done(&self) -> bool {
        self.outcome.borrow().is_some()
    }

    /// Waits for the run to finish and returns its `Report`, releasing the GIL.
    ///
    /// `progress`: a callable receiving each `Progress` snapshot, or `True` for a tqdm bar
    /// (when tqdm is installed). Ctrl-C raises `KeyboardInterrupt` and, with
    /// `cancel_on_interrupt` (the default), cancels the run.
    #[pyo3(signature = (progress = None, *, cancel_on_interrupt = true))]
    fn wait(&self, py: Python<'_>, progress: Option<Bound<'_, PyAny>>, cancel_on_interrupt: bool) -> PyResult<Typed> {
        let sink = match progress {
            Some(p) if !p.is_none() => {
                Some(py.import("echo_ai.progress")?.call_method1("_resolve_sink", (p,))?).filter(|sink| !sink.is_none())
            }
            _ => None,
        };
        let mut progress_rx = self.progress.clone();
        let mut outcome_rx = self.outcome.clone();
        let mut last: Option<Progress> = None;
        let result = loop {
            if let Some(sink) = &sink {
                let now = progress_rx.borrow_and_update().clone();
                if last.as_ref() != Some(&now) {
                    publish(py, sink, &now)?;
                    last = Some(now);
                }
            }
            if let Some(outcome) = outcome_rx.borrow_and_update().clone() {
                if let Some(sink) = &sink {
                    let now = progress_rx.borrow().clone();
                    if last.as_ref() != Some(&now) {
                        publish(py, sink, &now)?;
                    }
                }
                break Self::load(&outcome);
            }
            let (p, o) = py.detach(move || {
                runtime().block_on(async {
                    tokio::select! {
                        _ = progress_rx.changed() => {}
                        _ = outcome_rx.changed() => {}
                        _ = tokio::time::sleep(SIGNAL_POLL) => {}
                    }
                });
                (progress_rx, outcome_rx)
            });
            progress_rx = p;
            outcome_rx = o;
            if let Err(interrupt) = py.check_signals() {
                if cancel_on_interrupt {
                    let cancel = self.cancel_future(py)?;
                    // Best effort: the interrupt is what the caller must see.
                    let _ = py.detach(|| runtime().block_on(cancel));
                }
                break Err(interrupt);
            }
        };
        if let Some(sink) = &sink {
            if sink.hasattr("close")? {
                sink.call_method0("close")?;
            }
        }
        result
    }

    /// Awaitable of the run's `Report`.
    fn wait_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let mut outcome = self.outcome.clone();
        future_into_py(py, async move {
            let done = outcome
                .wait_for(Option::is_some)
                .await
                .map_err(|_| Python::attach(|py| to_py_err(py, &Error::Internal("run waiter vanished".into()))))?
                .clone();
            Self::load(done.as_ref().expect("waited for Some"))
        })
    }

    /// An async iterator of `Progress` snapshots: the current one at once, then one per
    /// change (intermediate ones may be skipped when the reader is slow), ending after the
    /// snapshot with a terminal status.
    fn updates(&self) -> ProgressUpdates {
        ProgressUpdates::new(self.progress.clone())
    }

    /// Cancels the run: no new sample starts, samples not yet answered are cancelled;
    /// `wait` then returns the report of what was answered.
    fn cancel(&self, py: Python<'_>) -> PyResult<()> {
        let fut = self.cancel_future(py)?;
        block_on(py, fut)
    }

    /// Awaitable `cancel`.
    fn cancel_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let fut = self.cancel_future(py)?;
        future_into_py(py, fut)
    }

    fn __repr__(&self) -> String {
        let p = self.progress.borrow();
        format!(
            "RunHandle(run_id={:?}, status={:?}, done={}/{})",
            self.run_id.to_string(),
            p.status.as_str(),
            p.done(),
            p.planned
        )
    }
}
