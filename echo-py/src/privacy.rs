//! Privacy, mirroring `echo_core::engine::privacy_api`: per-account privacy settings (PII
//! redaction), consent records, and retention (the policy given to `open`, and applying it).

use std::time::Duration;

use echo_core::Error;
use echo_core::engine::Echo as CoreEcho;
use echo_core::privacy::{ConsentRecord, PrivacySettings, RetentionPolicy};
use pyo3::prelude::*;
use serde::Deserialize;

use crate::auth::Principal;
use crate::convert::{self, Typed, core};
use crate::errors::to_py_err;

/// `echo_ai.RetentionPolicy` as `open(retention=...)` receives it: every field optional,
/// durations in seconds (`_convert.dump` turns `timedelta`s into seconds).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RetentionIn {
    raw_answer_ttl: Option<f64>,
    audit_ttl: Option<f64>,
    deletion_grace: Option<f64>,
    batch_size: Option<u32>,
    max_batches: Option<u32>,
}

/// The core's `RetentionPolicy` from an `echo_ai.RetentionPolicy` (or an equivalent dict),
/// and whether it set `deletion_grace`. Fields left `None` keep the core's default; the core
/// checks the result on `open` (periods of at least a day, batch sizes in range), naming the
/// field.
pub(crate) fn retention_policy_from_py(value: &Bound<'_, PyAny>) -> PyResult<(RetentionPolicy, bool)> {
    let py = value.py();
    let given: RetentionIn = convert::from_py(value, "retention")?;
    let sets_grace = given.deletion_grace.is_some();
    let mut policy = RetentionPolicy::default();
    let secs = |v: Option<f64>, field: &str, default: Duration| -> PyResult<Duration> {
        match v {
            None => Ok(default),
            Some(s) => Duration::try_from_secs_f64(s).map_err(|_| {
                to_py_err(
                    py,
                    &Error::invalid(
                        format!("retention.{field}"),
                        format!("{s} is not a valid duration in seconds"),
                    ),
                )
            }),
        }
    };
    policy.raw_answer_ttl = secs(given.raw_answer_ttl, "raw_answer_ttl", policy.raw_answer_ttl)?;
    policy.audit_ttl = secs(given.audit_ttl, "audit_ttl", policy.audit_ttl)?;
    policy.deletion_grace = secs(given.deletion_grace, "deletion_grace", policy.deletion_grace)?;
    policy.batch_size = given.batch_size.unwrap_or(policy.batch_size);
    policy.max_batches = given.max_batches.unwrap_or(policy.max_batches);
    Ok((policy, sets_grace))
}

/// The work of `Echo.set_privacy_settings` / `AsyncEcho.set_privacy_settings` (documented in `api.rs`).
#[allow(unused_variables)]
pub(crate) fn set_privacy_settings(
    echo: CoreEcho,
    py: Python<'_>,
    principal: &Principal,
    redact_pii: bool,
    phone_regions: Option<Vec<String>>,
) -> PyResult<impl Future<Output = PyResult<Typed>> + Send + 'static + use<>> {
    let p = principal.core().clone();
    // Regions left out are the core's defaults, as for an account that never chose.
    let settings = PrivacySettings {
        redact_pii,
        phone_regions: phone_regions.unwrap_or_else(|| PrivacySettings::default().phone_regions),
    };
    Ok::<_, PyErr>(async move { Typed::one(&core(echo.set_privacy_settings(&p, settings).await)?, "PrivacySettings") })
}

/// The work of `Echo.privacy_settings` / `AsyncEcho.privacy_settings` (documented in `api.rs`).
#[allow(unused_variables)]
pub(crate) fn privacy_settings(
    echo: CoreEcho,
    py: Python<'_>,
    principal: &Principal,
) -> PyResult<impl Future<Output = PyResult<Typed>> + Send + 'static + use<>> {
    let p = principal.core().clone();
    Ok::<_, PyErr>(async move { Typed::one(&core(echo.privacy_settings(&p).await)?, "PrivacySettings") })
}

/// The work of `Echo.record_consent` / `AsyncEcho.record_consent` (documented in `api.rs`).
#[allow(unused_variables)]
pub(crate) fn record_consent(
    echo: CoreEcho,
    py: Python<'_>,
    principal: &Principal,
    purpose: String,
    policy_version: String,
    granted: bool,
    source: Option<String>,
) -> PyResult<impl Future<Output = PyResult<Typed>> + Send + 'static + use<>> {
    let p = principal.core().clone();
    let record = ConsentRecord {
        purpose,
        policy_version,
        granted,
        source,
    };
    Ok::<_, PyErr>(async move { Typed::one(&core(echo.record_consent(&p, record).await)?, "Consent") })
}

/// The work of `Echo.consents` / `AsyncEcho.consents` (documented in `api.rs`).
#[allow(unused_variables)]
pub(crate) fn consents(
    echo: CoreEcho,
    py: Python<'_>,
    principal: &Principal,
) -> PyResult<impl Future<Output = PyResult<Typed>> + Send + 'static + use<>> {
    let p = principal.core().clone();
    Ok::<_, PyErr>(async move { Typed::one(&core(echo.consents(&p).await)?, "Consents") })
}

/// `Echo.retention_policy` / `AsyncEcho.retention_policy`: the policy in force. Not an
/// operation (nothing is read from the store), so a plain method on both classes.
pub(crate) fn retention_policy(echo: &CoreEcho) -> PyResult<Typed> {
    Typed::one(echo.retention_policy(), "RetentionPolicy")
}

/// The work of `Echo.apply_retention` / `AsyncEcho.apply_retention` (documented in `api.rs`).
#[allow(unused_variables)]
pub(crate) fn apply_retention(
    echo: CoreEcho,
    py: Python<'_>,
    principal: &Principal,
    now: Option<&Bound<'_, PyAny>>,
) -> PyResult<impl Future<Output = PyResult<Typed>> + Send + 'static + use<>> {
    let p = principal.core().clone();
    // Without `now`, the engine's clock (a `ManualClock` given to `open` included).
    let now = match now.filter(|n| !n.is_none()) {
        Some(n) => convert::datetime(n, "now")?,
        None => echo.now(),
    };
    Ok::<_, PyErr>(async move { Typed::one(&core(echo.apply_retention(&p, now).await)?, "RetentionReport") })
}
