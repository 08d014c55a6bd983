//! Quotas and rate limits, mirroring `echo_core::engine::quotas`.

use echo_core::quota::{RateLimitDecision, RateLimitPolicy};
use pyo3::prelude::*;
use serde::Serialize;

use crate::auth::Principal;
use crate::convert::{self, Typed, core};
use crate::engine::echo_methods;
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

echo_methods! {
    /// The principal's allowance this period (a `QuotaStatus`): used, reserved by runs in
    /// progress, the limit, what is left and when it resets.
    fn quota_status(&self, echo, py, principal: &Principal) -> Typed {
        let p = principal.core().clone();
        Ok::<_, PyErr>(async move { Typed::one(&core(echo.quota_status(&p).await)?, "QuotaStatus") })
    }

    /// Takes one request from the principal's bucket of `policy` (per API key, else per
    /// account) and returns the `RateLimitDecision`, allowed or not, with its HTTP headers.
    /// Shared by every process on the database.
    fn check_rate_limit(&self, echo, py, principal: &Principal, policy: &Bound<'_, PyAny>) -> Typed {
        let p = principal.core().clone();
        let policy = self::policy(policy)?;
        Ok::<_, PyErr>(async move {
            let decision = core(echo.check_rate_limit(&p, &policy).await)?;
            let headers = decision.headers();
            Typed::one(&DecisionOut { decision, headers }, "RateLimitDecision")
        })
    }

    /// Maintenance: releases quota reservations held past their hold; returns how many.
    fn expire_reservations(&self, echo, py) -> u64 {
        Ok::<_, PyErr>(async move { core(echo.expire_reservations().await) })
    }

    /// Maintenance: deletes rate-limit buckets that are full again; returns how many.
    fn purge_rate_limits(&self, echo, py) -> u64 {
        Ok::<_, PyErr>(async move { core(echo.purge_rate_limits().await) })
    }
}
