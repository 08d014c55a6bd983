//! The audit trail, mirroring `echo_core::engine::audit_api`: the operator's query,
//! verification of the hash chain (optionally against a head the host anchored elsewhere),
//! the head to anchor, and the retention and erasure hooks.

use echo_core::audit::{AuditAction, AuditHead, AuditQuery, AuditVerification};
use echo_core::engine::Echo as CoreEcho;
use echo_core::model::AccountId;
use pyo3::prelude::*;

use crate::auth::Principal;
use crate::convert::{self, Typed, core};
use crate::errors::to_py_err;

/// Every audit action's wire name (`experiment.create`, ...), the values `audit_events`
/// filters on.
#[pyfunction]
pub fn audit_actions() -> Vec<&'static str> {
    AuditAction::ALL.iter().map(|a| a.as_str()).collect()
}

/// A verification with the core's own sentence for the first broken link (its `Display`),
/// so an operator reads what is wrong without decoding the problem's fields.
fn verification(v: &AuditVerification) -> PyResult<Typed> {
    let mut value = serde_json::to_value(v).map_err(|e| {
        Python::attach(|py| {
            to_py_err(
                py,
                &echo_core::Error::Internal(format!("could not serialize a verification: {e}")),
            )
        })
    })?;
    if let (Some(link), Some(out)) = (&v.first_broken, value.get_mut("first_broken")) {
        out["description"] = link.to_string().into();
    }
    Typed::one(&value, "AuditVerification")
}

/// The work of `Echo.audit_events` / `AsyncEcho.audit_events` (documented in `api.rs`).
#[allow(unused_variables, clippy::too_many_arguments)]
pub(crate) fn audit_events(
    echo: CoreEcho,
    py: Python<'_>,
    principal: &Principal,
    account: Option<&Bound<'_, PyAny>>,
    action: Option<&str>,
    since: Option<&Bound<'_, PyAny>>,
    before: Option<&Bound<'_, PyAny>>,
    after_seq: Option<i64>,
    limit: Option<u32>,
) -> PyResult<impl Future<Output = PyResult<Typed>> + Send + 'static + use<>> {
    let p = principal.core().clone();
    let query = AuditQuery {
        account: account.map(|a| convert::id(a, AccountId::parse)).transpose()?,
        action: action
            .map(|a| a.parse::<AuditAction>())
            .transpose()
            .map_err(|e| to_py_err(py, &e))?,
        from: since.map(|t| convert::datetime(t, "audit.since")).transpose()?,
        to: before.map(|t| convert::datetime(t, "audit.before")).transpose()?,
        after_seq,
        limit,
    };
    Ok::<_, PyErr>(async move { Typed::one(&core(echo.audit_events(&p, &query).await)?, "AuditPage") })
}

/// The work of `Echo.verify_audit_chain` / `AsyncEcho.verify_audit_chain` (documented in `api.rs`).
#[allow(unused_variables)]
pub(crate) fn verify_audit_chain(
    echo: CoreEcho,
    py: Python<'_>,
    principal: &Principal,
    anchor: Option<&Bound<'_, PyAny>>,
) -> PyResult<impl Future<Output = PyResult<Typed>> + Send + 'static + use<>> {
    let p = principal.core().clone();
    let anchor: Option<AuditHead> = anchor
        .filter(|a| !a.is_none())
        .map(|a| convert::from_py(a, "anchor"))
        .transpose()?;
    Ok::<_, PyErr>(async move {
        let checked = match &anchor {
            Some(anchor) => echo.verify_audit_chain_against(&p, anchor).await,
            None => echo.verify_audit_chain(&p).await,
        };
        verification(&core(checked)?)
    })
}

/// The work of `Echo.audit_head` / `AsyncEcho.audit_head` (documented in `api.rs`).
#[allow(unused_variables)]
pub(crate) fn audit_head(
    echo: CoreEcho,
    py: Python<'_>,
    principal: &Principal,
) -> PyResult<impl Future<Output = PyResult<Typed>> + Send + 'static + use<>> {
    let p = principal.core().clone();
    Ok::<_, PyErr>(async move { Typed::one(&core(echo.audit_head(&p).await)?, "AuditHead") })
}

/// The work of `Echo.purge_audit_events` / `AsyncEcho.purge_audit_events` (documented in `api.rs`).
#[allow(unused_variables)]
pub(crate) fn purge_audit_events(
    echo: CoreEcho,
    py: Python<'_>,
    before: &Bound<'_, PyAny>,
) -> PyResult<impl Future<Output = PyResult<Typed>> + Send + 'static + use<>> {
    let before = convert::datetime(before, "audit.purge.before")?;
    Ok::<_, PyErr>(async move { Typed::one(&core(echo.purge_audit_events(before).await)?, "AuditPurgeReport") })
}

/// The work of `Echo.erase_audit_personal_data` / `AsyncEcho.erase_audit_personal_data`
/// (documented in `api.rs`).
#[allow(unused_variables)]
pub(crate) fn erase_audit_personal_data(
    echo: CoreEcho,
    py: Python<'_>,
    account_id: &Bound<'_, PyAny>,
) -> PyResult<impl Future<Output = PyResult<u64>> + Send + 'static + use<>> {
    let account = convert::id(account_id, AccountId::parse)?;
    Ok::<_, PyErr>(async move { core(echo.erase_audit_personal_data(account).await) })
}
