//! Model targets (`provider/model`), mirroring `echo_core::model::Target`.

use echo_core::model::Target;
use pyo3::prelude::*;

use crate::errors::to_py_err;

/// Parses `"provider/model"` into `(provider, model)` with the core's rules: both parts are
/// trimmed and must be non-empty; the model part may itself contain `/`.
///
/// Raises `InvalidInputError` (a `ValueError`) naming the `target` field otherwise.
#[pyfunction]
pub fn validate_target(py: Python<'_>, target: &str) -> PyResult<(String, String)> {
    Target::parse(target)
        .map(|t| (t.provider, t.model))
        .map_err(|e| to_py_err(py, &e))
}
