//! Moving values between the core and Python.
//!
//! Core values are `serde` types. Results cross as JSON text, serialized on the runtime's
//! threads without the GIL, and become typed Python objects (dataclasses in
//! `echo_ai.model`, `echo_ai.report`, ...) through one function, `echo_ai._convert.load`.
//! Inputs such as an `ExperimentSpec` go the other way through `echo_ai._convert.dump`,
//! and the core's own deserialization and validation decide what is valid, so the binding
//! holds no second copy of the rules.

use std::time::Duration;

use chrono::{DateTime, Utc};
use echo_core::Error;
use pyo3::prelude::*;
use pyo3::types::PyString;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::errors::to_py_err;

/// The Python module with the conversion functions.
const CONVERT_MODULE: &str = "echo_ai._convert";

/// Turns a core result into a Python one, raising the mapped `echo_ai.errors` exception.
///
/// Usable without holding the GIL (on the runtime's threads): it attaches only to build
/// the exception.
pub fn core<T>(result: echo_core::Result<T>) -> PyResult<T> {
    result.map_err(|e| Python::attach(|py| to_py_err(py, &e)))
}

/// The Python type a result becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// One object.
    One,
    /// A list of objects.
    List,
    /// A page of objects (`echo_ai.model.Page`).
    Page,
}

/// A core value serialized for Python, to be loaded as `echo_ai` type `name`.
#[derive(Debug, Clone)]
pub struct Typed {
    json: String,
    name: &'static str,
    shape: Shape,
}

impl Typed {
    fn new<T: Serialize>(value: &T, name: &'static str, shape: Shape) -> PyResult<Self> {
        let json = serde_json::to_string(value).map_err(|e| {
            Python::attach(|py| {
                to_py_err(
                    py,
                    &Error::Internal(format!("could not serialize a {name} for Python: {e}")),
                )
            })
        })?;
        Ok(Self { json, name, shape })
    }

    /// One value, loaded as the Python type `name` (e.g. `"Report"`).
    pub fn one<T: Serialize>(value: &T, name: &'static str) -> PyResult<Self> {
        Self::new(value, name, Shape::One)
    }

    /// A list of values of type `name`.
    pub fn list<T: Serialize>(value: &[T], name: &'static str) -> PyResult<Self> {
        Self::new(&value, name, Shape::List)
    }

    /// A page of values of type `name`.
    pub fn page<T: Serialize>(value: &echo_core::model::Page<T>, name: &'static str) -> PyResult<Self> {
        Self::new(value, name, Shape::Page)
    }

    /// The JSON text (for the benchmark and tests).
    pub fn json(&self) -> &str {
        &self.json
    }
}

impl<'py> IntoPyObject<'py> for Typed {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let shape = match self.shape {
            Shape::One => "one",
            Shape::List => "list",
            Shape::Page => "page",
        };
        py.import(CONVERT_MODULE)?
            .call_method1("load", (self.json, self.name, shape))
    }
}

/// Deserializes a Python value (a dataclass of `echo_ai`, or plain dicts and lists) into a
/// core type; a value the core cannot read is `InvalidInputError` naming `field`.
pub fn from_py<T: DeserializeOwned>(value: &Bound<'_, PyAny>, field: &str) -> PyResult<T> {
    let py = value.py();
    let dumped = py.import(CONVERT_MODULE)?.call_method1("dump", (value,))?;
    let text = dumped.cast::<PyString>()?.to_cow()?;
    serde_json::from_str(&text).map_err(|e| to_py_err(py, &Error::invalid(field, e.to_string())))
}

/// Parses an id (a `str` or a `uuid.UUID`) with the core's parser.
pub fn id<T>(value: &Bound<'_, PyAny>, parse: fn(&str) -> echo_core::Result<T>) -> PyResult<T> {
    let text = value.str()?;
    parse(&text.to_cow()?).map_err(|e| to_py_err(value.py(), &e))
}

/// A duration given in seconds (`int` or `float`) or as a `datetime.timedelta`.
pub fn duration(value: &Bound<'_, PyAny>, field: &str) -> PyResult<Duration> {
    let py = value.py();
    let secs: f64 = if value.hasattr("total_seconds")? {
        value.call_method0("total_seconds")?.extract()?
    } else {
        value
            .extract()
            .map_err(|_| to_py_err(py, &Error::invalid(field, "must be a number of seconds or a timedelta")))?
    };
    Duration::try_from_secs_f64(secs).map_err(|_| {
        to_py_err(
            py,
            &Error::invalid(field, format!("{secs} is not a valid duration in seconds")),
        )
    })
}

/// A timezone-aware `datetime.datetime`, as UTC.
pub fn datetime(value: &Bound<'_, PyAny>, field: &str) -> PyResult<DateTime<Utc>> {
    let py = value.py();
    let invalid = |msg: &str| to_py_err(py, &Error::invalid(field, msg));
    if !value.hasattr("utcoffset")? || !value.hasattr("isoformat")? {
        return Err(invalid("must be a datetime.datetime"));
    }
    if value.call_method0("utcoffset")?.is_none() {
        return Err(invalid(
            "must be timezone-aware (e.g. datetime.now(timezone.utc)); a naive datetime is ambiguous",
        ));
    }
    let text: String = value.call_method0("isoformat")?.extract()?;
    DateTime::parse_from_rfc3339(&text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| invalid(&format!("{text:?} could not be read: {e}")))
}
