//! Python bindings for Echo (issue 7), compiled as the extension module `echo_ai._native`.
//!
//! The bindings stay thin: every behaviour lives in `echo-core`; this crate only converts
//! arguments, results and errors. The pure-Python package in `python/echo_ai` re-exports
//! what is defined here and owns the exception classes (see [`errors`]).

pub mod errors;
pub mod target;

/// Native half of the `echo_ai` package. Import `echo_ai`, not this module.
#[pyo3::pymodule(name = "_native")]
mod native {
    use pyo3::prelude::*;

    #[pymodule_export]
    use crate::errors::error_kinds;
    #[pymodule_export]
    use crate::target::validate_target;

    #[pymodule_init]
    fn init(m: &Bound<'_, PyModule>) -> PyResult<()> {
        m.add("__version__", crate::VERSION)
    }
}

/// The package version, shared by the crate, the wheel and `echo_ai.__version__`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
