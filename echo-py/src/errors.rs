//! Mapping of core errors onto the Python exception hierarchy.
//!
//! The classes live in Python (`echo_ai/errors.py`) rather than being created with
//! `create_exception!`: Python-defined classes can use multiple inheritance
//! (`InvalidInputError` is also a `ValueError`), carry typed attributes, pickle, and are
//! visible to type checkers and documentation tools without stubs drifting from reality.
//! The class for each kind is chosen by `echo_ai.errors.error_class_for_kind`, the one
//! table of that mapping (unknown kinds get the base `EchoError`, whose `kind` attribute
//! still carries the real kind); this module supplies the message and the attributes.

use echo_core::{Error, ErrorKind};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// Every [`ErrorKind`] the core defines ([`ErrorKind::ALL`]): the Python tests check that
/// each has its own exception class, so a kind added to the core fails them until
/// `python/echo_ai/errors.py` gives it one.
pub const ALL_KINDS: [ErrorKind; ErrorKind::ALL.len()] = ErrorKind::ALL;

/// The Python module that defines the exception classes.
const ERRORS_MODULE: &str = "echo_ai.errors";

/// The names of all error kinds (`"invalid_input"`, `"not_found"`, ...), as carried by the
/// `kind` attribute of every `EchoError`.
#[pyfunction]
pub fn error_kinds() -> Vec<&'static str> {
    ALL_KINDS.iter().map(|k| k.as_str()).collect()
}

/// The error's message followed by its cause chain, so Python users see *why* (a provider's
/// HTTP error, the database's complaint) without a Rust traceback. Causes already quoted
/// by the message itself are not repeated.
pub fn message_with_causes(err: &Error) -> String {
    let mut message = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}

/// Converts a core error into the matching `echo_ai.errors` exception.
///
/// Never fails: if the exception class cannot be built (the Python package is broken or was
/// not imported through `echo_ai`), a `RuntimeError` carrying the original message is
/// returned instead, so the user still sees what went wrong.
pub fn to_py_err(py: Python<'_>, err: &Error) -> PyErr {
    let message = message_with_causes(err);
    build(py, err, &message).unwrap_or_else(|build_err| {
        PyRuntimeError::new_err(format!("{message} (and echo_ai.errors could not be used: {build_err})"))
    })
}

fn build(py: Python<'_>, err: &Error, message: &str) -> PyResult<PyErr> {
    let class = py
        .import(ERRORS_MODULE)?
        .call_method1("error_class_for_kind", (err.kind().as_str(),))?;
    let kwargs = PyDict::new(py);
    kwargs.set_item("kind", err.kind().as_str())?;
    if let Some(field) = err.field() {
        kwargs.set_item("field", field)?;
    }
    match err {
        Error::RateLimited {
            retry_after,
            policy,
            limit,
            window,
        } => {
            kwargs.set_item("retry_after", retry_after.as_secs_f64())?;
            kwargs.set_item("policy", policy)?;
            kwargs.set_item("limit", limit)?;
            kwargs.set_item("window", window.as_secs_f64())?;
        }
        Error::Provider { provider, .. } => kwargs.set_item("provider", provider)?,
        Error::ConsentRequired { purpose, withdrawn } => {
            kwargs.set_item("purpose", purpose)?;
            kwargs.set_item("withdrawn", withdrawn)?;
        }
        // A permission refusal because of the account's state, not the principal's scopes:
        // the host tells the two apart (and shows the erasure deadline) with these.
        Error::AccountBlocked { status, deadline, .. } => {
            kwargs.set_item("account_status", status.as_str())?;
            kwargs.set_item("deadline", deadline.map(|t| t.to_rfc3339()))?;
        }
        Error::QuotaExceeded(denial) => {
            kwargs.set_item("limit_kind", denial.limit_kind.as_str())?;
            kwargs.set_item("requested", denial.requested)?;
            kwargs.set_item("remaining", denial.remaining)?;
            kwargs.set_item("limit", denial.limit)?;
            // RFC 3339 text; the exception class turns it into a datetime.
            kwargs.set_item("resets_at", denial.resets_at.map(|t| t.to_rfc3339()))?;
        }
        _ => {}
    }
    if let Some(reason) = err.auth_failure() {
        kwargs.set_item("reason", reason.as_str())?;
    }
    let instance = class.call((message,), Some(&kwargs))?;
    Ok(PyErr::from_value(instance))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn every_kind_is_listed_once() {
        let names: HashSet<_> = ALL_KINDS.iter().map(|k| k.as_str()).collect();
        assert_eq!(names.len(), ALL_KINDS.len());
    }

    #[test]
    fn consent_required_carries_its_purpose() {
        let err = Error::ConsentRequired {
            purpose: "data_processing".into(),
            withdrawn: true,
        };
        assert_eq!(err.kind().as_str(), "consent_required");
        assert!(message_with_causes(&err).contains("withdrawn its consent"));
    }

    #[test]
    fn error_kinds_lists_snake_case_names() {
        let kinds = error_kinds();
        assert_eq!(kinds.first(), Some(&"invalid_input"));
        assert!(kinds.contains(&"rate_limited"));
        assert!(
            kinds
                .iter()
                .all(|k| k.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
        );
    }

    #[test]
    fn message_includes_field_and_reason() {
        let err = Error::invalid("spec.prompts[2]", "must not be blank");
        assert_eq!(message_with_causes(&err), "invalid spec.prompts[2]: must not be blank");
    }

    #[test]
    fn cause_already_in_the_message_is_not_repeated() {
        let err = Error::Provider {
            provider: "openai".into(),
            source: echo_core::provider::LlmError::Auth("key revoked".into()),
        };
        assert_eq!(
            message_with_causes(&err),
            "provider openai failed: authentication failed (check the API key): key revoked"
        );
    }
}
