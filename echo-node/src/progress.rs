//! Runs executing in this process: `RunHandle` with progress, mirroring
//! `echo_core::engine::{RunHandle, Progress}`.
//!
//! The core publishes progress on a watch channel. The handle forwards it into one of its
//! own, so that JavaScript can (a) read the latest value (`progress`), (b) pull changes
//! (`nextProgress`, which the package turns into an async iterator) and (c) register a
//! callback (`onProgress`). The callback is a *weak* thread-safe function: it never keeps
//! the Node process alive by itself — awaiting `wait()` (or the iterator) does.

use std::sync::{Arc, Mutex};

use echo_core::Error;
use echo_core::engine::{Progress as CoreProgress, RunHandle as CoreRunHandle};
use futures::StreamExt;
use napi::Env;
use napi::bindgen_prelude::{Function, PromiseRaw, Unknown};
use napi::threadsafe_function::ThreadsafeFunctionCallMode;
use napi_derive::napi;
use tokio::sync::watch;

use crate::promise::spawn;
use crate::report::Report;

/// Where a run stands.
#[napi(object)]
#[derive(Clone)]
pub struct Progress {
    pub run_id: String,
    #[napi(ts_type = "'pending' | 'running' | 'completed' | 'partial' | 'failed' | 'cancelled'")]
    pub status: String,
    pub planned: i64,
    pub succeeded: i64,
    pub failed: i64,
    pub cancelled: i64,
    /// succeeded + failed + cancelled.
    pub done: i64,
    pub remaining: i64,
    /// Seconds since this execution started.
    pub elapsed_secs: f64,
    /// Samples finished per second by this execution.
    pub rate_per_sec: f64,
    /// Estimated seconds left; absent until a rate is known.
    pub eta_secs: Option<f64>,
    /// Whether the run reached a final status.
    pub finished: bool,
}

impl From<&CoreProgress> for Progress {
    fn from(p: &CoreProgress) -> Self {
        Self {
            run_id: p.run_id.to_string(),
            status: serde_json::to_value(p.status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            planned: p.planned as i64,
            succeeded: p.succeeded as i64,
            failed: p.failed as i64,
            cancelled: p.cancelled as i64,
            done: p.done() as i64,
            remaining: p.remaining() as i64,
            elapsed_secs: p.elapsed.as_secs_f64(),
            rate_per_sec: p.rate_per_sec,
            eta_secs: p.eta.map(|d| d.as_secs_f64()),
            finished: p.is_finished(),
        }
    }
}

/// A run executing in this process: progress, the final report, cancellation.
#[napi]
pub struct RunHandle {
    run_id: String,
    /// The core handle until `wait` takes it.
    core: Arc<Mutex<Option<CoreRunHandle>>>,
    /// Latest progress, fed by a forwarding task; closed when the run's execution ends.
    latest: watch::Receiver<Progress>,
    /// The position of `nextProgress` callers (one shared cursor per handle).
    cursor: Arc<tokio::sync::Mutex<watch::Receiver<Progress>>>,
}

impl RunHandle {
    /// Wraps a core handle. Must run inside the tokio runtime (it spawns the forwarder).
    pub fn new(handle: CoreRunHandle) -> Self {
        let (tx, rx) = watch::channel(Progress::from(&handle.progress()));
        let mut stream = handle.progress_stream();
        tokio::spawn(async move {
            while let Some(p) = stream.next().await {
                if tx.send(Progress::from(&p)).is_err() {
                    break;
                }
            }
        });
        let mut cursor = rx.clone();
        cursor.mark_changed();
        Self {
            run_id: handle.run_id().to_string(),
            core: Arc::new(Mutex::new(Some(handle))),
            latest: rx,
            cursor: Arc::new(tokio::sync::Mutex::new(cursor)),
        }
    }
}

#[napi]
impl RunHandle {
    /// The run's id.
    #[napi(getter)]
    pub fn run_id(&self) -> String {
        self.run_id.clone()
    }

    /// The latest progress.
    #[napi]
    pub fn progress(&self) -> Progress {
        self.latest.borrow().clone()
    }

    /// The next progress not yet returned by this method (the current one on the first
    /// call), or `null` once the execution ended and its last progress was returned.
    /// `for await (const p of handle)` uses it.
    #[napi(ts_return_type = "Promise<Progress | null>")]
    pub fn next_progress<'env>(&self, env: &'env Env) -> napi::Result<PromiseRaw<'env, Option<Progress>>> {
        let cursor = self.cursor.clone();
        spawn(
            env,
            async move {
                let mut rx = cursor.lock().await;
                Ok(match rx.changed().await {
                    Ok(()) => Some(rx.borrow_and_update().clone()),
                    Err(_) => None,
                })
            },
            Ok,
        )
    }

    /// Calls `callback(progress)` on each change until the run ends. The callback does not
    /// keep the process alive: await `wait()` for that. Errors thrown by the callback are
    /// reported as uncaught exceptions, as for any event listener.
    #[napi(ts_args_type = "callback: (progress: Progress) => void")]
    pub fn on_progress(&self, callback: Function<'_, Progress, Unknown<'static>>) -> napi::Result<()> {
        let tsfn = callback
            .build_threadsafe_function::<Progress>()
            .callee_handled::<false>()
            .weak::<true>()
            .build()?;
        let mut rx = self.latest.clone();
        rx.mark_changed();
        napi::bindgen_prelude::spawn(async move {
            while rx.changed().await.is_ok() {
                let p = rx.borrow_and_update().clone();
                tsfn.call(p, ThreadsafeFunctionCallMode::NonBlocking);
            }
        });
        Ok(())
    }

    /// Stops the run: in-flight calls are abandoned (their samples return to pending),
    /// pending samples are cancelled; `wait()` then resolves with a `cancelled` report.
    #[napi]
    pub fn cancel(&self) {
        if let Some(h) = self.core.lock().expect("run handle poisoned").as_ref() {
            h.cancel();
        }
    }

    /// Waits for the run to end and resolves with its report. Call it once; afterwards use
    /// `echo.report(principal, runId)`.
    #[napi(ts_return_type = "Promise<Report>")]
    pub fn wait<'env>(&self, env: &'env Env) -> napi::Result<PromiseRaw<'env, Report>> {
        let handle = self.core.lock().expect("run handle poisoned").take();
        let run_id = self.run_id.clone();
        spawn(
            env,
            async move {
                match handle {
                    Some(h) => h.wait().await,
                    None => Err(Error::Conflict(format!(
                        "wait() was already called on the handle of run {run_id}; read the report with \
                         echo.report(principal, runId)"
                    ))),
                }
            },
            |r| Report::from_core(&r),
        )
    }
}
