//! Rate-limit policies and decisions (GCRA; the state lives in the store).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The policy name under which run-starting operations (`enqueue_run`, `start_run`,
/// `resume_run`) are limited per principal.
pub const RUN_START_POLICY: &str = "runs.start";

/// A rate limit: at most `limit` requests per `window`, as a GCRA bucket.
///
/// GCRA spaces requests one *emission interval* (`window / limit`) apart on average and
/// tolerates a burst of up to `limit` at once: a fresh client may spend the whole window's
/// allowance immediately, then gets one more request per interval. Unlike a fixed window it
/// has no boundary at which `2 × limit` requests can pass, and unlike a sliding log it keeps
/// one number per key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimitPolicy {
    name: String,
    limit: u32,
    window: Duration,
}

impl RateLimitPolicy {
    /// A policy named `name` (the bucket's namespace in the store, e.g. `runs.start`)
    /// admitting `limit` requests per `window`.
    pub fn new(name: impl Into<String>, limit: u32, window: Duration) -> Result<Self> {
        let name = name.into();
        if name.trim().is_empty() || name.len() > 100 {
            return Err(Error::invalid(
                "rate_limit.name",
                "must be 1 to 100 characters, e.g. \"runs.start\"",
            ));
        }
        if limit == 0 {
            return Err(Error::invalid(
                "rate_limit.limit",
                "must be at least 1 (to refuse everything, do not grant the scope instead)",
            ));
        }
        if window < Duration::from_millis(1) || window > Duration::from_secs(366 * 24 * 3600) {
            return Err(Error::invalid("rate_limit.window", "must be between 1 ms and one year"));
        }
        // The emission interval is kept in whole microseconds.
        if window.as_micros() < u128::from(limit) {
            return Err(Error::invalid(
                "rate_limit.limit",
                format!("{limit} per {window:?} is more than one request per microsecond"),
            ));
        }
        Ok(Self { name, limit, window })
    }

    /// `limit` requests per minute under `name`.
    pub fn per_minute(name: impl Into<String>, limit: u32) -> Result<Self> {
        Self::new(name, limit, Duration::from_secs(60))
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Requests admitted per window (also the largest burst).
    pub fn limit(&self) -> u32 {
        self.limit
    }

    pub fn window(&self) -> Duration {
        self.window
    }

    /// The same limits under another name.
    pub fn renamed(mut self, name: impl Into<String>) -> Result<Self> {
        self.name = name.into();
        Self::new(self.name, self.limit, self.window)
    }
}

/// The answer of a rate limiter to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimitDecision {
    /// Whether the request may proceed (its cost was taken from the bucket).
    pub allowed: bool,
    /// Requests per window of the policy.
    pub limit: u32,
    /// Requests that would still be admitted right now, after this one.
    pub remaining: u32,
    /// When refused: how long until this request would be admitted. Zero when allowed.
    pub retry_after: Duration,
    /// How long until the bucket is full again (the whole `limit` available).
    pub reset_after: Duration,
}

impl RateLimitDecision {
    /// HTTP response headers for this decision: `RateLimit-Limit`, `RateLimit-Remaining`,
    /// `RateLimit-Reset` (seconds until the bucket is full again) as in the IETF
    /// RateLimit-header drafts, plus `Retry-After` (seconds) when refused. Seconds are
    /// rounded up, so a client that waits as told is admitted.
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        let mut headers = vec![
            ("RateLimit-Limit", self.limit.to_string()),
            ("RateLimit-Remaining", self.remaining.to_string()),
            ("RateLimit-Reset", ceil_secs(self.reset_after).to_string()),
        ];
        if !self.allowed {
            headers.push(("Retry-After", ceil_secs(self.retry_after).max(1).to_string()));
        }
        headers
    }
}

fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_are_validated() {
        assert!(RateLimitPolicy::per_minute("runs.start", 10).is_ok());
        let field = |r: Result<RateLimitPolicy>| r.unwrap_err().field().map(str::to_string);
        assert_eq!(
            field(RateLimitPolicy::per_minute("", 10)).as_deref(),
            Some("rate_limit.name")
        );
        assert_eq!(
            field(RateLimitPolicy::per_minute("x", 0)).as_deref(),
            Some("rate_limit.limit")
        );
        assert_eq!(
            field(RateLimitPolicy::new("x", 10, Duration::ZERO)).as_deref(),
            Some("rate_limit.window")
        );
        assert_eq!(
            field(RateLimitPolicy::new("x", 2_000, Duration::from_millis(1))).as_deref(),
            Some("rate_limit.limit")
        );
    }

    #[test]
    fn headers_round_seconds_up() {
        let refused = RateLimitDecision {
            allowed: false,
            limit: 10,
            remaining: 0,
            retry_after: Duration::from_millis(5_001),
            reset_after: Duration::from_secs(60),
        };
        assert_eq!(
            refused.headers(),
            vec![
                ("RateLimit-Limit", "10".to_string()),
                ("RateLimit-Remaining", "0".to_string()),
                ("RateLimit-Reset", "60".to_string()),
                ("Retry-After", "6".to_string()),
            ]
        );
        let allowed = RateLimitDecision {
            allowed: true,
            remaining: 9,
            retry_after: Duration::ZERO,
            reset_after: Duration::from_secs(6),
            ..refused
        };
        assert_eq!(allowed.headers().len(), 3);
    }
}
