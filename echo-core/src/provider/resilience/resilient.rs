//! The wrapper every run's provider calls go through.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::time::Instant;

use super::backoff::{Backoff, GiveUp, next_wait};
use super::limiter::{RateLimits, estimate_tokens};
use super::policy::ResiliencePolicy;
use crate::provider::{ChatRequest, ChatResponse, DynProvider, LlmError, Provider, ProviderLimits};

/// A [`Provider`] that retries transient failures of another with full-jitter backoff,
/// honours the waits servers ask for, paces calls under per-model request and token
/// budgets, caps concurrent attempts and bounds every attempt (and optionally the whole
/// call) with a deadline. See [`ResiliencePolicy`] for every knob.
///
/// One attempt is: take a concurrency slot, wait for rate-limit admission, call the inner
/// provider under `attempt_timeout`, release the slot. The slot is held while waiting for
/// admission (sending is what the slot bounds, and admission waits only while the budget
/// refills) and released while backing off, so a call waiting to retry does not block
/// others. Every attempt counts against the rate budgets, as it does at the provider.
///
/// When the layer gives up it returns the last error unchanged, so the sample records the
/// class the provider reported. Each attempt emits a `tracing` event (target
/// `echo_core::provider::resilience`) with provider, model, attempt and error class: debug
/// on success, warn on a retry (with the wait) and on giving up (with the reason). Prompts,
/// answers, error messages and keys are never logged.
pub struct Resilient {
    inner: DynProvider,
    policy: ResiliencePolicy,
    backoff: Backoff,
    limits: RateLimits,
    slots: Option<Arc<Semaphore>>,
}

impl std::fmt::Debug for Resilient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resilient")
            .field("inner", &self.inner)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl Resilient {
    /// Wraps `inner` with a validated `policy` (`Error::InvalidInput` names the bad field).
    pub fn new(inner: DynProvider, policy: ResiliencePolicy) -> crate::Result<Self> {
        policy.validate()?;
        Ok(Self {
            backoff: Backoff::new(policy.base_backoff, policy.max_backoff, policy.jitter_seed),
            limits: RateLimits::new(&policy),
            slots: policy.max_concurrency.map(|n| Arc::new(Semaphore::new(n))),
            inner,
            policy,
        })
    }

    /// Wraps `inner` with [`ResiliencePolicy::for_provider`] of its id.
    pub fn with_defaults(inner: DynProvider) -> crate::Result<Self> {
        let policy = ResiliencePolicy::for_provider(inner.id());
        Self::new(inner, policy)
    }

    /// The policy in force.
    pub fn policy(&self) -> &ResiliencePolicy {
        &self.policy
    }

    /// The wrapped provider.
    pub fn inner(&self) -> &DynProvider {
        &self.inner
    }

    /// One attempt: slot, admission, call. Bounded by `deadline` as a whole.
    async fn attempt(
        &self,
        request: &ChatRequest,
        tokens: u64,
        deadline: Option<Instant>,
    ) -> Result<ChatResponse, LlmError> {
        let attempt = async {
            let _permit = match &self.slots {
                Some(slots) => Some(
                    slots
                        .acquire()
                        .await
                        .map_err(|_| LlmError::Transport("the concurrency limiter was closed".into()))?,
                ),
                None => None,
            };
            self.limits.acquire(&request.model, tokens).await;
            let timeout = self.policy.attempt_timeout;
            tokio::time::timeout(timeout, self.inner.complete(request))
                .await
                .unwrap_or(Err(LlmError::Timeout(timeout)))
        };
        match (deadline, self.policy.total_timeout) {
            (Some(deadline), Some(total)) => tokio::time::timeout_at(deadline, attempt)
                .await
                .unwrap_or(Err(LlmError::Timeout(total))),
            _ => attempt.await,
        }
    }
}

#[async_trait::async_trait]
impl Provider for Resilient {
    fn id(&self) -> &str {
        self.inner.id()
    }

    /// The inner provider's limits, narrowed by the policy's concurrency cap and default
    /// requests-per-minute budget when those are set.
    fn limits(&self) -> ProviderLimits {
        let mut limits = self.inner.limits();
        if let Some(cap) = self.policy.max_concurrency {
            limits.max_concurrency = limits.max_concurrency.min(cap);
        }
        if let Some(rpm) = self.policy.rates.requests_per_minute {
            limits.requests_per_minute = Some(limits.requests_per_minute.map_or(rpm, |r| r.min(rpm)));
        }
        limits
    }

    fn is_replay(&self) -> bool {
        self.inner.is_replay()
    }

    async fn complete(&self, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        let started = Instant::now();
        let deadline = self.policy.total_timeout.map(|t| started + t);
        let tokens = estimate_tokens(request, self.policy.default_output_tokens_estimate);
        let provider = self.inner.id();
        let model = request.model.as_str();
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let attempt_started = Instant::now();
            let error = match self.attempt(request, tokens, deadline).await {
                Ok(response) => {
                    tracing::debug!(
                        provider,
                        model,
                        attempt,
                        elapsed_ms = duration_ms(attempt_started.elapsed()),
                        "provider call succeeded"
                    );
                    return Ok(response);
                }
                Err(error) => error,
            };
            let remaining = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            match next_wait(&self.policy, &self.backoff, &error, attempt, remaining) {
                Ok(wait) => {
                    tracing::warn!(
                        provider,
                        model,
                        attempt,
                        error_class = error.class(),
                        wait_ms = duration_ms(wait),
                        "transient provider failure; retrying"
                    );
                    tokio::time::sleep(wait).await;
                }
                Err(reason) => {
                    log_give_up(provider, model, attempt, &error, reason);
                    return Err(error);
                }
            }
        }
    }
}

fn log_give_up(provider: &str, model: &str, attempt: u32, error: &LlmError, reason: GiveUp) {
    tracing::warn!(
        provider,
        model,
        attempt,
        error_class = error.class(),
        reason = reason.as_str(),
        retry_after_ms = error.retry_after().map(duration_ms),
        "provider call failed; giving up"
    );
}

fn duration_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
