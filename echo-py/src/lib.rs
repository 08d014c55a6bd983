//! Python bindings for Echo (issue 7), compiled as the extension module `echo_ai._native`.
//!
//! The bindings stay thin: every behaviour lives in `echo-core`; this crate only converts
//! arguments, results and errors, and owns the runtime that drives the core's futures.
//! Modules mirror the core's: `engine` (the `Echo` facade: accounts, experiments, runs as
//! stored objects, reports), `run` and `handle` (executing runs), `adaptive`, `progress`,
//! `keys`, `auth`, `quota`, `schedule`, `statistics`, `worker`, `provider`, `audit`,
//! `gdpr` (export and deletion), `privacy` (settings, consent, retention) and `clock`; plus
//! `runtime` (the one tokio runtime), `convert` (values across the boundary) and `errors`.
//! The pure-Python package in `python/echo_ai` holds the typed result classes and the
//! exception classes.

pub mod adaptive;
pub mod api;
pub mod audit;
pub mod auth;
pub mod clock;
pub mod convert;
pub mod engine;
pub mod errors;
pub mod gdpr;
pub mod handle;
pub mod keys;
pub mod privacy;
pub mod progress;
pub mod provider;
pub mod quota;
pub mod run;
pub mod runtime;
pub mod schedule;
pub mod statistics;
pub mod target;
pub mod worker;

/// Native half of the `echo_ai` package. Import `echo_ai`, not this module.
#[pyo3::pymodule(name = "_native")]
mod native {
    use pyo3::prelude::*;

    #[pymodule_export]
    use crate::audit::audit_actions;
    #[pymodule_export]
    use crate::auth::{Principal, scopes};
    #[pymodule_export]
    use crate::clock::ManualClock;
    #[pymodule_export]
    use crate::engine::{AsyncEcho, Echo};
    #[pymodule_export]
    use crate::errors::error_kinds;
    #[pymodule_export]
    use crate::handle::RunHandle;
    #[pymodule_export]
    use crate::progress::ProgressUpdates;
    #[pymodule_export]
    use crate::provider::Provider;
    #[pymodule_export]
    use crate::runtime::{_reset_runtime_after_fork, _runtime_pid};
    #[pymodule_export]
    use crate::target::validate_target;
    #[pymodule_export]
    use crate::worker::WorkerHandle;

    #[pymodule_init]
    fn init(m: &Bound<'_, PyModule>) -> PyResult<()> {
        m.add("__version__", crate::VERSION)
    }
}

/// The package version, shared by the crate, the wheel and `echo_ai.__version__`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
