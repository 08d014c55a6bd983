//! What the resilience layer does: attempts, backoff, timeouts, rate limits, concurrency.
//!
//! Every value has a default and a builder-style setter; [`ResiliencePolicy::for_provider`]
//! starts from conservative per-provider values (documented there) that hosts override with
//! the setters when their account allows more.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::Error;

/// Requests-per-minute and tokens-per-minute budgets of one model. `None` is unlimited.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ModelRates {
    /// Requests admitted per minute (each attempt, retries included, is a request).
    pub requests_per_minute: Option<u32>,
    /// Tokens admitted per minute, counted with the pre-call estimate (see
    /// [`estimate_tokens`](super::estimate_tokens)).
    pub tokens_per_minute: Option<u32>,
}

impl ModelRates {
    /// No limit on either.
    pub const UNLIMITED: ModelRates = ModelRates {
        requests_per_minute: None,
        tokens_per_minute: None,
    };

    pub fn new(requests_per_minute: Option<u32>, tokens_per_minute: Option<u32>) -> Self {
        Self {
            requests_per_minute,
            tokens_per_minute,
        }
    }

    /// Whether neither budget is set.
    pub fn is_unlimited(&self) -> bool {
        self.requests_per_minute.is_none() && self.tokens_per_minute.is_none()
    }
}

/// How [`Resilient`](super::Resilient) retries, waits, paces and bounds calls.
#[derive(Debug, Clone, PartialEq)]
pub struct ResiliencePolicy {
    /// Attempts per call, the first included (default 4). After the last one the last error
    /// is returned unchanged, so the sample records its class.
    pub max_attempts: u32,
    /// Upper bound of the wait before the first retry (default 500 ms); doubles per retry.
    pub base_backoff: Duration,
    /// Largest jittered backoff (default 20 s).
    pub max_backoff: Duration,
    /// Longest server-requested wait (`Retry-After` and kin) that is honoured (default 60 s).
    /// A server asking for more gets its error returned at once: a run should not stall for
    /// minutes on one call when the sample can be retried later.
    pub max_retry_after: Duration,
    /// Deadline of one attempt (default 120 s); an attempt over it fails with `Timeout`.
    pub attempt_timeout: Duration,
    /// Deadline of the whole call, retries, rate-limit waits and backoff included
    /// (default none).
    pub total_timeout: Option<Duration>,
    /// Budgets applied to every model without an entry in `model_rates`.
    pub rates: ModelRates,
    /// Per-model budgets, by the model name requests use.
    pub model_rates: BTreeMap<String, ModelRates>,
    /// How much of a per-minute budget may be spent at once, expressed as time (default 1 s:
    /// a burst of one second's worth, at least one request). Small bursts keep a run under
    /// providers that enforce per-minute limits over shorter windows; see
    /// [`RateLimits`](super::RateLimits).
    pub burst_window: Duration,
    /// Output tokens assumed for a request without `max_output_tokens` when estimating its
    /// token cost (default 512).
    pub default_output_tokens_estimate: u32,
    /// Attempts in flight at once through one wrapper (default none). Held only during an
    /// attempt, released while backing off.
    pub max_concurrency: Option<usize>,
    /// Seed of the backoff jitter, for reproducible tests (default: from OS entropy).
    pub jitter_seed: Option<u64>,
}

impl Default for ResiliencePolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(20),
            max_retry_after: Duration::from_secs(60),
            attempt_timeout: Duration::from_secs(120),
            total_timeout: None,
            rates: ModelRates::UNLIMITED,
            model_rates: BTreeMap::new(),
            burst_window: Duration::from_secs(1),
            default_output_tokens_estimate: 512,
            max_concurrency: None,
            jitter_seed: None,
        }
    }
}

impl ResiliencePolicy {
    /// Conservative defaults for a provider id; unknown ids get [`Default`]. The rate budgets
    /// are the lowest paid tier of each provider (as published in 2025) for its mainstream
    /// models, so a new account is not rate-limited into a storm of 429s. Accounts on higher
    /// tiers raise them with [`requests_per_minute`](Self::requests_per_minute),
    /// [`tokens_per_minute`](Self::tokens_per_minute) or [`model_rates`](Self::model_rates).
    ///
    /// | id | requests/min | tokens/min | why |
    /// |---|---|---|---|
    /// | `openai` | 500 | 30,000 | tier 1 of gpt-4o / gpt-4.1 (gpt-4o-mini allows 200,000 TPM) |
    /// | `anthropic` | 50 | 40,000 | tier 1: 50 RPM, ~30k input + 8k output tokens/min (Sonnet) |
    /// | `gemini` | 150 | 1,000,000 | tier 1 of 2.5 Pro (Flash allows more; the free tier less) |
    /// | `perplexity` | 50 | none | tier 0 of `sonar` models; no token limit is published |
    /// | `openai_compatible` | none | none | local or self-hosted servers set their own pace |
    /// | `simulated`, `replay` | none | none | offline; backoff 1 ms doubling to at most 50 ms |
    ///
    /// Everything else (attempts, timeouts, backoff) keeps the [`Default`] values.
    pub fn for_provider(id: &str) -> Self {
        let base = Self::default();
        match id {
            "openai" => base.requests_per_minute(Some(500)).tokens_per_minute(Some(30_000)),
            "anthropic" => base.requests_per_minute(Some(50)).tokens_per_minute(Some(40_000)),
            "gemini" => base.requests_per_minute(Some(150)).tokens_per_minute(Some(1_000_000)),
            "perplexity" => base.requests_per_minute(Some(50)),
            "simulated" | "replay" => base
                .base_backoff(Duration::from_millis(1))
                .max_backoff(Duration::from_millis(50)),
            _ => base,
        }
    }

    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts;
        self
    }

    pub fn base_backoff(mut self, base: Duration) -> Self {
        self.base_backoff = base;
        self
    }

    pub fn max_backoff(mut self, cap: Duration) -> Self {
        self.max_backoff = cap;
        self
    }

    pub fn max_retry_after(mut self, max: Duration) -> Self {
        self.max_retry_after = max;
        self
    }

    pub fn attempt_timeout(mut self, timeout: Duration) -> Self {
        self.attempt_timeout = timeout;
        self
    }

    pub fn total_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.total_timeout = timeout;
        self
    }

    /// Requests per minute for models without their own entry (`None`: unlimited).
    pub fn requests_per_minute(mut self, rpm: Option<u32>) -> Self {
        self.rates.requests_per_minute = rpm;
        self
    }

    /// Tokens per minute for models without their own entry (`None`: unlimited).
    pub fn tokens_per_minute(mut self, tpm: Option<u32>) -> Self {
        self.rates.tokens_per_minute = tpm;
        self
    }

    /// Budgets of one model, replacing the provider-wide ones for it.
    pub fn model_rates(mut self, model: impl Into<String>, rates: ModelRates) -> Self {
        self.model_rates.insert(model.into(), rates);
        self
    }

    pub fn burst_window(mut self, window: Duration) -> Self {
        self.burst_window = window;
        self
    }

    pub fn default_output_tokens_estimate(mut self, tokens: u32) -> Self {
        self.default_output_tokens_estimate = tokens;
        self
    }

    pub fn max_concurrency(mut self, cap: Option<usize>) -> Self {
        self.max_concurrency = cap;
        self
    }

    pub fn jitter_seed(mut self, seed: Option<u64>) -> Self {
        self.jitter_seed = seed;
        self
    }

    /// The budgets that apply to `model`.
    pub fn rates_for(&self, model: &str) -> ModelRates {
        self.model_rates.get(model).copied().unwrap_or(self.rates)
    }

    /// Checks every field; the error names the offending one.
    pub fn validate(&self) -> crate::Result<()> {
        if self.max_attempts == 0 {
            return Err(Error::invalid(
                "policy.max_attempts",
                "must be at least 1 (1 means no retries)",
            ));
        }
        if self.base_backoff > self.max_backoff {
            return Err(Error::invalid(
                "policy.base_backoff",
                format!(
                    "{:?} exceeds max_backoff {:?}; lower it or raise max_backoff",
                    self.base_backoff, self.max_backoff
                ),
            ));
        }
        if self.attempt_timeout.is_zero() {
            return Err(Error::invalid("policy.attempt_timeout", "must be positive"));
        }
        if self.total_timeout.is_some_and(|t| t.is_zero()) {
            return Err(Error::invalid(
                "policy.total_timeout",
                "must be positive (use None for no overall deadline)",
            ));
        }
        if self.burst_window.is_zero() || self.burst_window > Duration::from_secs(60) {
            return Err(Error::invalid(
                "policy.burst_window",
                "must be between 1 ns and 60 s (60 s allows a whole minute's budget at once)",
            ));
        }
        if self.max_concurrency == Some(0) {
            return Err(Error::invalid(
                "policy.max_concurrency",
                "must be at least 1 (use None for no cap)",
            ));
        }
        check_rates("policy.rates", &self.rates)?;
        for (model, rates) in &self.model_rates {
            check_rates(&format!("policy.model_rates[{model:?}]"), rates)?;
        }
        Ok(())
    }
}

fn check_rates(field: &str, rates: &ModelRates) -> crate::Result<()> {
    if rates.requests_per_minute == Some(0) {
        return Err(Error::invalid(
            format!("{field}.requests_per_minute"),
            "must be at least 1 (use None for unlimited)",
        ));
    }
    if rates.tokens_per_minute == Some(0) {
        return Err(Error::invalid(
            format!("{field}.tokens_per_minute"),
            "must be at least 1 (use None for unlimited)",
        ));
    }
    Ok(())
}
