//! The one tokio runtime of the extension, and the two ways Python waits on it.
//!
//! - **Owned and fork-safe.** The runtime is created on first use and remembered with the
//!   id of the process that created it. After `fork()` the child has none of the parent's
//!   worker threads, so the inherited runtime is dead: the child's first use builds a new
//!   one (the check is the pid, so it works even if the at-fork hook did not run), and
//!   `echo_ai` also registers `os.register_at_fork(after_in_child=...)` to drop the
//!   reference eagerly. The dead runtime is leaked, never dropped: dropping it would try to
//!   join threads that do not exist in the child.
//! - **Blocking calls** ([`block_on`]) spawn the future on the runtime and wait for it with
//!   the GIL released, waking every [`SIGNAL_POLL`] to run Python's signal handlers: Ctrl-C
//!   raises `KeyboardInterrupt` and the Rust future is dropped (cancelled). They never touch
//!   asyncio, so they work inside Jupyter, where an event loop is already running.
//! - **Awaitables** ([`future_into_py`]) go through `pyo3-async-runtimes`' generic bridge
//!   with this runtime as its executor: cancelling the asyncio future drops the Rust future.
//! - **Drops** of objects holding core state happen inside the runtime's context
//!   ([`InRuntime`]), so nothing panics with "there is no reactor running" when Python
//!   frees an object outside any runtime; objects inherited across `fork()` are leaked.

use std::cell::OnceCell;
use std::future::Future;
use std::mem::ManuallyDrop;
use std::pin::Pin;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use pyo3::prelude::*;
use pyo3_async_runtimes::TaskLocals;
use pyo3_async_runtimes::generic::{ContextExt, JoinError, Runtime as GenericRuntime};
use tokio::runtime::Runtime;

/// How often a blocking call wakes up to let Python handle signals (Ctrl-C).
pub const SIGNAL_POLL: Duration = Duration::from_millis(50);

/// A runtime together with the process that created it.
struct Slot {
    pid: u32,
    runtime: Runtime,
}

/// The current slot; slots are leaked (one per process that used the extension), so a
/// `&'static Runtime` can be handed out without locks.
static SLOT: AtomicPtr<Slot> = AtomicPtr::new(std::ptr::null_mut());

/// The runtime of this process, created on first use (and again in a forked child).
pub fn runtime() -> &'static Runtime {
    let pid = std::process::id();
    loop {
        let current = SLOT.load(Ordering::Acquire);
        // SAFETY: slots are never freed, so a non-null pointer stays valid.
        if let Some(slot) = unsafe { current.as_ref() } {
            if slot.pid == pid {
                return &slot.runtime;
            }
        }
        let fresh = Box::into_raw(Box::new(Slot {
            pid,
            runtime: build_runtime(),
        }));
        match SLOT.compare_exchange(current, fresh, Ordering::AcqRel, Ordering::Acquire) {
            // The previous slot (if any) belonged to the parent process: leaked on purpose.
            Ok(_) => return unsafe { &(*fresh).runtime },
            // Another thread installed one first: use it and discard ours (safe to drop, it
            // never ran anything).
            Err(_) => drop(unsafe { Box::from_raw(fresh) }),
        }
    }
}

fn build_runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("echo-ai")
        .build()
        .expect("could not start the tokio runtime (out of threads or file descriptors?)")
}

/// Forgets the runtime after `fork()` in the child (registered with `os.register_at_fork`);
/// the next call builds a new one. The pid check in [`runtime`] makes this an optimisation,
/// not a requirement.
#[pyfunction]
pub fn _reset_runtime_after_fork() {
    let current = SLOT.load(Ordering::Acquire);
    // SAFETY: as in `runtime`.
    if let Some(slot) = unsafe { current.as_ref() } {
        if slot.pid != std::process::id() {
            let _ = SLOT.compare_exchange(current, std::ptr::null_mut(), Ordering::AcqRel, Ordering::Acquire);
        }
    }
}

/// The id of the process whose runtime is current (`None` before first use), for tests.
#[pyfunction]
pub fn _runtime_pid() -> Option<u32> {
    // SAFETY: as in `runtime`.
    unsafe { SLOT.load(Ordering::Acquire).as_ref() }.map(|s| s.pid)
}

/// Runs `fut` to completion on the runtime while the GIL is released, polling for signals.
///
/// `KeyboardInterrupt` (or any exception a signal handler raises) aborts the task, which
/// drops the future: the operation stops where it was, as the core's cancellation allows.
pub fn block_on<F, T>(py: Python<'_>, fut: F) -> PyResult<T>
where
    F: Future<Output = PyResult<T>> + Send + 'static,
    T: Send + 'static,
{
    let (tx, rx) = mpsc::sync_channel(1);
    let task = runtime().spawn(async move {
        // The receiver is gone only if the caller was interrupted; nothing to report then.
        let _ = tx.send(fut.await);
    });
    let mut rx = rx;
    loop {
        // The receiver moves in and out of the closure: it is `Send` but not `Sync`.
        let (received, back) = py.detach(move || (rx.recv_timeout(SIGNAL_POLL), rx));
        rx = back;
        match received {
            Ok(result) => return result,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if let Err(interrupt) = py.check_signals() {
                    task.abort();
                    return Err(interrupt);
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(pyo3::exceptions::PyRuntimeError::new_err(
                    "the Echo runtime dropped an operation before it finished (did it panic? see stderr)",
                ));
            }
        }
    }
}

/// An asyncio awaitable for `fut`, executed on the runtime. Must be called with a running
/// event loop (from a coroutine); cancelling the awaitable drops `fut`.
pub fn future_into_py<'py, F, T>(py: Python<'py>, fut: F) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = PyResult<T>> + Send + 'static,
    T: for<'a> IntoPyObject<'a> + Send + 'static,
{
    pyo3_async_runtimes::generic::future_into_py::<EchoRuntime, F, T>(py, fut)
}

/// The runtime as `pyo3-async-runtimes` sees it.
pub struct EchoRuntime;

/// Wrapper so the bridge can inspect failed tasks.
pub struct TaskError(tokio::task::JoinError);

impl JoinError for TaskError {
    fn is_panic(&self) -> bool {
        self.0.is_panic()
    }
    fn into_panic(self) -> Box<dyn std::any::Any + Send + 'static> {
        self.0.into_panic()
    }
}

tokio::task_local! {
    /// The asyncio event loop and context of the coroutine awaiting a task.
    static TASK_LOCALS: OnceCell<TaskLocals>;
}

type Joined = Pin<Box<dyn Future<Output = Result<(), TaskError>> + Send>>;

impl GenericRuntime for EchoRuntime {
    type JoinError = TaskError;
    type JoinHandle = Joined;

    fn spawn<F>(fut: F) -> Self::JoinHandle
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let handle = runtime().spawn(fut);
        Box::pin(async move { handle.await.map_err(TaskError) })
    }

    fn spawn_blocking<F>(f: F) -> Self::JoinHandle
    where
        F: FnOnce() + Send + 'static,
    {
        let handle = runtime().spawn_blocking(f);
        Box::pin(async move { handle.await.map_err(TaskError) })
    }
}

impl ContextExt for EchoRuntime {
    fn scope<F, R>(locals: TaskLocals, fut: F) -> Pin<Box<dyn Future<Output = R> + Send>>
    where
        F: Future<Output = R> + Send + 'static,
    {
        let cell = OnceCell::new();
        let _ = cell.set(locals);
        Box::pin(TASK_LOCALS.scope(cell, fut))
    }

    fn get_task_locals() -> Option<TaskLocals> {
        TASK_LOCALS.try_with(|c| c.get().cloned()).unwrap_or_default()
    }
}

/// Holds a value whose destructor may need the runtime (sqlx pools, tokio handles), and
/// refuses to use it in a process other than the one that created it.
///
/// Dropped inside the runtime's context in the creating process; leaked in a forked child,
/// where its connections and tasks belong to the parent.
pub struct InRuntime<T> {
    value: ManuallyDrop<T>,
    pid: u32,
}

impl<T> InRuntime<T> {
    pub fn new(value: T) -> Self {
        Self {
            value: ManuallyDrop::new(value),
            pid: std::process::id(),
        }
    }

    /// The value, or a `ConfigError` after `fork()`: the child must open its own.
    pub fn get(&self, what: &str) -> Result<&T, echo_core::Error> {
        if self.pid == std::process::id() {
            Ok(&self.value)
        } else {
            Err(echo_core::Error::Config(format!(
                "this {what} was created in process {} and cannot be used after fork(): its database \
                 connections and tasks belong to the parent. Open a new one in the child process",
                self.pid
            )))
        }
    }
}

impl<T> InRuntime<T> {
    /// Takes the value out (to be dropped by its new owner on the runtime), or
    /// `ConfigError` after `fork()`.
    pub fn into_inner(self, py: Python<'_>) -> PyResult<T> {
        if let Err(e) = self.get("object") {
            return Err(crate::errors::to_py_err(py, &e));
        }
        let mut me = ManuallyDrop::new(self);
        // SAFETY: `me` is never dropped, so the value is taken exactly once.
        Ok(unsafe { ManuallyDrop::take(&mut me.value) })
    }
}

impl<T> Drop for InRuntime<T> {
    fn drop(&mut self) {
        if self.pid == std::process::id() {
            let _guard = runtime().enter();
            // SAFETY: dropped exactly once, here.
            unsafe { ManuallyDrop::drop(&mut self.value) };
        }
        // In a forked child the value is leaked on purpose (see the type's docs).
    }
}
