//! Progress of a run as an async iterator, mirroring `echo_core::engine::Progress` and
//! `RunHandle::progress_stream`.

use std::sync::Arc;

use echo_core::engine::Progress;
use pyo3::exceptions::PyStopAsyncIteration;
use pyo3::prelude::*;
use tokio::sync::{Mutex, watch};

use crate::convert::Typed;
use crate::runtime::future_into_py;

struct State {
    progress: watch::Receiver<Progress>,
    /// Whether the current snapshot was yielded yet (the first one is, at once).
    started: bool,
    /// Whether the snapshot with a terminal status was yielded: the iteration is over.
    finished: bool,
}

/// `async for progress in handle.updates(): ...` — `Progress` snapshots until the run ends.
#[pyclass(frozen, module = "echo_ai._native")]
pub struct ProgressUpdates {
    state: Arc<Mutex<State>>,
}

impl ProgressUpdates {
    pub fn new(progress: watch::Receiver<Progress>) -> Self {
        Self {
            state: Arc::new(Mutex::new(State {
                progress,
                started: false,
                finished: false,
            })),
        }
    }
}

#[pymethods]
impl ProgressUpdates {
    fn __aiter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __anext__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let state = self.state.clone();
        future_into_py(py, async move {
            let mut state = state.lock().await;
            if state.finished {
                return Err(PyStopAsyncIteration::new_err(()));
            }
            if state.started && state.progress.changed().await.is_err() {
                // The run's executor is gone and every snapshot was seen.
                state.finished = true;
                return Err(PyStopAsyncIteration::new_err(()));
            }
            state.started = true;
            let snapshot = state.progress.borrow_and_update().clone();
            state.finished = snapshot.is_finished();
            Typed::one(&snapshot, "Progress")
        })
    }
}
