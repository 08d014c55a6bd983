//! Tuning of the run engine. Defaults suit an embedded SQLite deployment; every value can
//! be changed through [`EchoBuilder`](super::EchoBuilder).

use std::time::Duration;

/// Engine settings.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Provider calls in flight per run. `None` derives it from the providers' advertised
    /// limits (see [`ProviderRegistry::default_concurrency`](super::ProviderRegistry::default_concurrency)).
    pub concurrency: Option<usize>,
    /// Samples claimed from the queue per claim.
    pub claim_batch: u32,
    /// Finished samples persisted per transaction (group commit).
    pub persist_batch: usize,
    /// How long a claimed sample stays leased before another worker may take it over.
    pub lease: Duration,
    /// Attempts per sample before it is failed for good.
    pub max_attempts: u32,
    /// Deadline of one provider call.
    pub request_timeout: Duration,
    /// First backoff after a transient failure; doubles per attempt, capped at 10 s, with
    /// the provider's `retry_after` taking precedence when larger.
    pub retry_backoff: Duration,
    /// How often an idle executor re-checks the queue while other workers hold leases.
    pub idle_poll: Duration,
    /// Wrap every provider in the resilience layer (in-call retries with backoff and
    /// Retry-After, rate limits, concurrency cap). When on, a transient failure that
    /// outlasts the layer's retries fails the sample with its class; when off, transient
    /// failures return the sample to the queue, up to `max_attempts` claims.
    pub resilience: bool,
    /// How often API key uses are written to `api_keys.last_used_at` (batched, so each
    /// key's row is written at most once per interval; see `auth::usage`).
    pub key_usage_flush: Duration,
    /// How long a run's quota reservation is held before the maintenance sweep
    /// (`Echo::expire_reservations`) releases it: a safety net for runs that never finish.
    /// Longer than any run should take; a run that settles after its hold expired is still
    /// charged for what it answered.
    pub reservation_hold: Duration,
    /// How long raw answers, audit events and deletion requests are kept (privacy); applied
    /// by `Echo::apply_retention` and the leader's daily `RetentionSweep`.
    pub retention: crate::privacy::RetentionPolicy,
    /// Consent purposes an account must have granted (its latest record for each) before
    /// its runs start; empty by default.
    pub required_consents: Vec<String>,
    /// Rows per erasure batch (one transaction each) for `Echo::erase_due_accounts` and the
    /// leader's erasure sweep.
    pub erasure_batch: u32,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            concurrency: None,
            claim_batch: 256,
            persist_batch: 256,
            lease: Duration::from_secs(300),
            max_attempts: 3,
            request_timeout: Duration::from_secs(120),
            retry_backoff: Duration::from_millis(250),
            idle_poll: Duration::from_millis(100),
            resilience: true,
            key_usage_flush: Duration::from_secs(60),
            reservation_hold: Duration::from_secs(24 * 3600),
            retention: crate::privacy::RetentionPolicy::default(),
            required_consents: Vec::new(),
            erasure_batch: 1_000,
        }
    }
}

impl EngineConfig {
    pub(crate) fn validate(&self) -> crate::Result<()> {
        use crate::Error;
        if self.concurrency == Some(0) {
            return Err(Error::invalid("concurrency", "must be at least 1"));
        }
        if self.claim_batch == 0 {
            return Err(Error::invalid("claim_batch", "must be at least 1"));
        }
        if self.persist_batch == 0 {
            return Err(Error::invalid("persist_batch", "must be at least 1"));
        }
        if self.max_attempts == 0 {
            return Err(Error::invalid("max_attempts", "must be at least 1"));
        }
        if self.lease < Duration::from_secs(1) {
            return Err(Error::invalid("lease", "must be at least one second"));
        }
        if self.reservation_hold < Duration::from_secs(60) {
            return Err(Error::invalid("reservation_hold", "must be at least one minute"));
        }
        if self.request_timeout.is_zero() {
            return Err(Error::invalid("request_timeout", "must be positive"));
        }
        self.retention.validate()?;
        for purpose in &self.required_consents {
            if purpose.trim().is_empty() || purpose.trim() != purpose {
                return Err(Error::invalid(
                    "require_consent",
                    format!("{purpose:?} is not a consent purpose: it must be non-blank, without surrounding spaces"),
                ));
            }
        }
        if self.erasure_batch == 0 {
            return Err(Error::invalid("erasure_batch", "must be at least 1"));
        }
        Ok(())
    }

    /// The deadline the engine puts around one provider call. With the resilience layer
    /// the call includes its retries, so the deadline is 90% of the lease (the layer's
    /// own total deadline defaults to 80%): a call never outlives its lease, so no other
    /// worker can take the sample over and make a duplicate call.
    pub(crate) fn call_timeout(&self) -> Duration {
        if self.resilience {
            self.lease.mul_f64(0.9)
        } else {
            self.request_timeout
        }
    }

    /// How often an executor extends the leases it holds: a third of the lease, so two
    /// missed beats still leave it alive.
    pub(crate) fn heartbeat_interval(&self) -> Duration {
        self.lease / 3
    }

    /// The resilience layer's total deadline (retries included) for a lease.
    pub(crate) fn resilience_deadline(&self) -> Duration {
        self.lease.mul_f64(0.8)
    }

    /// Backoff before retrying after the `attempt`-th failure.
    pub(crate) fn backoff(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let exp = self
            .retry_backoff
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        let capped = exp.min(Duration::from_secs(10));
        retry_after.map_or(capped, |r| r.max(capped))
    }
}
