//! Quotas and rate limits, mirroring `echo_core::quota`: the account's allowance, the
//! database-backed rate limiter hosts use for their own endpoints, and the maintenance
//! operations.

use echo_core::quota::{QuotaDenial as CoreDenial, RateLimitDecision as CoreDecision, RateLimitPolicy as CorePolicy};
use napi::Env;
use napi::bindgen_prelude::PromiseRaw;
use napi_derive::napi;
use serde::{Deserialize, Serialize};

use crate::convert::{out, seconds};
use crate::engine::Echo;
use crate::principal::Principal;
use crate::promise::{spawn, sync};

/// Why a quota refused: carried by `QuotaExceededError.quota`.
#[napi(object)]
#[derive(Clone, Serialize, Deserialize)]
pub struct QuotaDenial {
    /// Which limit: `period_samples`, `samples_per_run` or `concurrent_runs`.
    #[napi(ts_type = "'period_samples' | 'samples_per_run' | 'concurrent_runs'")]
    pub limit_kind: String,
    pub requested: i64,
    pub remaining: i64,
    pub limit: i64,
    /// When the period's allowance resets (ISO 8601), for period limits.
    #[serde(default, deserialize_with = "crate::convert::iso_opt")]
    pub resets_at: Option<String>,
}

impl QuotaDenial {
    pub fn from_core(denial: &CoreDenial) -> Self {
        out(denial, "quota denial").unwrap_or_else(|_| QuotaDenial {
            limit_kind: "unknown".into(),
            requested: denial.requested as i64,
            remaining: denial.remaining as i64,
            limit: denial.limit as i64,
            resets_at: None,
        })
    }
}

/// The account's allowance in the current period.
#[napi(object)]
#[derive(Serialize, Deserialize)]
pub struct QuotaStatus {
    pub tier: String,
    /// Samples charged by settled runs this period.
    pub used: i64,
    /// Samples held by runs in progress.
    pub reserved: i64,
    pub limit: i64,
    pub remaining: i64,
    #[serde(deserialize_with = "crate::convert::iso")]
    pub period_start: String,
    #[serde(deserialize_with = "crate::convert::iso")]
    pub resets_at: String,
    pub active_runs: i64,
    pub max_concurrent_runs: u32,
    pub max_samples_per_run: i64,
}

/// A rate limit: `limit` requests per `windowSecs`, shared by every process on the database.
#[napi(object)]
pub struct RateLimitPolicy {
    /// The bucket's name, e.g. `api.reports` (1 to 100 characters).
    pub name: String,
    pub limit: u32,
    /// The window in seconds (default 60).
    pub window_secs: Option<f64>,
}

impl RateLimitPolicy {
    fn to_core(&self) -> echo_core::Result<CorePolicy> {
        let window = seconds(self.window_secs.unwrap_or(60.0), "rateLimit.windowSecs")?;
        CorePolicy::new(self.name.clone(), self.limit, window)
    }
}

/// The answer of the rate limiter to one request.
#[napi(object)]
pub struct RateLimitDecision {
    /// Whether the request may proceed (its cost was taken).
    pub allowed: bool,
    pub limit: u32,
    /// Requests still admitted right now, after this one.
    pub remaining: u32,
    /// When refused: seconds until this request would be admitted (0 when allowed).
    pub retry_after: f64,
    /// Seconds until the whole allowance is back.
    pub reset_after: f64,
    /// The HTTP headers to send: `RateLimit-Limit`, `RateLimit-Remaining`,
    /// `RateLimit-Reset`, and `Retry-After` when refused (whole seconds, rounded up).
    pub headers: std::collections::HashMap<String, String>,
}

impl From<CoreDecision> for RateLimitDecision {
    fn from(d: CoreDecision) -> Self {
        Self {
            allowed: d.allowed,
            limit: d.limit,
            remaining: d.remaining,
            retry_after: d.retry_after.as_secs_f64(),
            reset_after: d.reset_after.as_secs_f64(),
            headers: d.headers().into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
        }
    }
}

#[napi]
impl Echo {
    /// The principal's allowance this period: used, reserved, limit, remaining, reset.
    #[napi(strict, ts_return_type = "Promise<QuotaStatus>")]
    pub fn quota_status<'env>(
        &self,
        env: &'env Env,
        principal: &Principal,
    ) -> napi::Result<PromiseRaw<'env, QuotaStatus>> {
        let (echo, principal) = (self.inner.clone(), principal.inner.clone());
        spawn(env, async move { echo.quota_status(&principal).await }, |s| {
            out(&s, "quota status")
        })
    }

    /// Takes one request from the principal's bucket of `policy` (per API key, or per
    /// account for host principals) and returns the decision, allowed or not, with the
    /// headers to send. Run starts are limited automatically; this is for the host's own
    /// endpoints.
    #[napi(strict, ts_return_type = "Promise<RateLimitDecision>")]
    pub fn check_rate_limit<'env>(
        &self,
        env: &'env Env,
        principal: &Principal,
        policy: RateLimitPolicy,
    ) -> napi::Result<PromiseRaw<'env, RateLimitDecision>> {
        let policy = sync(env, policy.to_core())?;
        let (echo, principal) = (self.inner.clone(), principal.inner.clone());
        spawn(
            env,
            async move { echo.check_rate_limit(&principal, &policy).await },
            |d| Ok(RateLimitDecision::from(d)),
        )
    }

    /// Maintenance: releases quota reservations held past their hold; returns how many.
    #[napi(ts_return_type = "Promise<number>")]
    pub fn expire_reservations<'env>(&self, env: &'env Env) -> napi::Result<PromiseRaw<'env, i64>> {
        let echo = self.inner.clone();
        spawn(env, async move { echo.expire_reservations().await }, |n| Ok(n as i64))
    }

    /// Maintenance: deletes rate-limit buckets that are full again; returns how many.
    #[napi(ts_return_type = "Promise<number>")]
    pub fn purge_rate_limits<'env>(&self, env: &'env Env) -> napi::Result<PromiseRaw<'env, i64>> {
        let echo = self.inner.clone();
        spawn(env, async move { echo.purge_rate_limits().await }, |n| Ok(n as i64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn refused_decision_carries_retry_after_header() {
        let d = RateLimitDecision::from(CoreDecision {
            allowed: false,
            limit: 2,
            remaining: 0,
            retry_after: Duration::from_millis(1200),
            reset_after: Duration::from_secs(3),
        });
        assert_eq!(d.headers.get("Retry-After").map(String::as_str), Some("2"));
        assert_eq!(d.headers.get("RateLimit-Limit").map(String::as_str), Some("2"));
        assert_eq!(d.retry_after, 1.2);
    }

    #[test]
    fn policies_are_validated_by_the_core() {
        let bad = RateLimitPolicy {
            name: " ".into(),
            limit: 1,
            window_secs: None,
        };
        assert_eq!(bad.to_core().unwrap_err().kind(), echo_core::ErrorKind::InvalidInput);
        let bad = RateLimitPolicy {
            name: "x".into(),
            limit: 1,
            window_secs: Some(-1.0),
        };
        assert_eq!(bad.to_core().unwrap_err().field(), Some("rateLimit.windowSecs"));
    }
}
