//! Quotas and rate limits, mirroring `echo_core::engine::quotas`.

use echo_core::engine::Echo as CoreEcho;
use echo_core::quota::{RateLimitDecision, RateLimitPolicy};
use pyo3::prelude::*;
use serde::Serialize;

use crate::auth::Principal;
use crate::convert::{self, Typed, core};

use crate::errors::to_py_err;

/// A decision with the HTTP headers the core computes for it
/// (`RateLimitDecision::headers`), so Python does not re-derive them.
#[derive(Serialize)]
struct DecisionOut {
    #[serde(flatten)]
    decision: RateLimitDecision,
    headers: Vec<(&'static str, String)>,
}

/// A `RateLimitPolicy` (or any object with `name`, `limit` and `window`) through the core's
/// validating constructor.
fn policy(value: &Bound<'_, PyAny>) -> PyResult<RateLimitPolicy> {
    let py = value.py();
    let invalid = |field: &str, msg: &str| to_py_err(py, &echo_core::Error::invalid(field, msg));
    let name: String = value
        .getattr("name")
        .and_then(|v| v.extract())
        .map_err(|_| invalid("rate_limit.name", "is required (pass a RateLimitPolicy)"))?;
    let limit: u32 = value
        .getattr("limit")
        .and_then(|v| v.extract())
        .map_err(|_| invalid("rate_limit.limit", "must be a positive integer"))?;
    let window = value
        .getattr("window")
        .map_err(|_| invalid("rate_limit.window", "is required"))?;
    let window = convert::duration(&window, "rate_limit.window")?;
    RateLimitPolicy::new(name, limit, window).map_err(|e| to_py_err(py, &e))
}

/// The work of `Echo.quota_status` / `AsyncEcho.quota_status` (documented in `api.rs`).
#[allow(unused_variables)]
pub(crate) fn quota_status(
    echo: CoreEcho,
    py: Python<'_>,
    principal: &Principal,
) -> PyResult<impl Future<Output = PyResult<Typed>> + Send + 'static + use<>> {
    let p = principal.core().clone();
    Ok::<_, PyErr>(async move { Typed::one(&core(echo.quota_status(&p).await)?, "QuotaStatus") })
}

/// The work of `Echo.check_rate_limit` / `AsyncEcho.check_rate_limit` (documented in `api.rs`).
#[allow(unused_variables)]
pub(crate) fn check_rate_limit(
    echo: CoreEcho,
    py: Python<'_>,
    principal: &Principal,
    policy: &Bound<'_, PyAny>,
) -> PyResult<impl Future<Output = PyResult<Typed>> + Send + 'static + use<>> {
    let p = principal.core().clone();
    let policy = self::policy(policy)?;
    Ok::<_, PyErr>(async move {
        let decision = core(echo.check_rate_limit(&p, &policy).await)?;
        let headers = decision.headers();
        Typed::one(&DecisionOut { decision, headers }, "RateLimitDecision")
    })
}

/// The work of `Echo.expire_reservations` / `AsyncEcho.expire_reservations` (documented in `api.rs`).
#[allow(unused_variables)]
pub(crate) fn expire_reservations(
    echo: CoreEcho,
    py: Python<'_>,
) -> PyResult<impl Future<Output = PyResult<u64>> + Send + 'static + use<>> {
    Ok::<_, PyErr>(async move { core(echo.expire_reservations().await) })
}

/// The work of `Echo.purge_rate_limits` / `AsyncEcho.purge_rate_limits` (documented in `api.rs`).
#[allow(unused_variables)]
pub(crate) fn purge_rate_limits(
    echo: CoreEcho,
    py: Python<'_>,
) -> PyResult<impl Future<Output = PyResult<u64>> + Send + 'static + use<>> {
    Ok::<_, PyErr>(async move { core(echo.purge_rate_limits().await) })
}
