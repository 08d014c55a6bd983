//! Full-jitter exponential backoff and the retry decision.
//!
//! Full jitter (a uniform wait in `[0, min(cap, base · 2^(k-1))]` before retry `k`) spreads
//! the retries of many concurrent calls that failed together, so they do not return to an
//! overloaded provider in lockstep (see "Exponential Backoff And Jitter", AWS Architecture
//! Blog, 2015). A wait the server asked for takes precedence when it is longer.

use std::sync::Mutex;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::policy::ResiliencePolicy;
use crate::provider::LlmError;

/// Full-jitter exponential backoff with a seedable random source.
#[derive(Debug)]
pub struct Backoff {
    base: Duration,
    cap: Duration,
    rng: Mutex<StdRng>,
}

impl Backoff {
    /// `seed: None` draws the seed from OS entropy, so wrappers in different processes do
    /// not jitter alike.
    pub fn new(base: Duration, cap: Duration, seed: Option<u64>) -> Self {
        let rng = match seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => StdRng::from_os_rng(),
        };
        Self {
            base,
            cap,
            rng: Mutex::new(rng),
        }
    }

    /// The largest wait before retry `retry` (1 for the first retry):
    /// `min(cap, base · 2^(retry-1))`.
    pub fn ceiling(&self, retry: u32) -> Duration {
        let doublings = retry.saturating_sub(1).min(31);
        self.base.saturating_mul(1u32 << doublings).min(self.cap)
    }

    /// A uniform random wait in `[0, ceiling(retry)]`.
    pub fn jittered(&self, retry: u32) -> Duration {
        let ceiling = u64::try_from(self.ceiling(retry).as_nanos()).unwrap_or(u64::MAX);
        // A poisoned lock only means another thread panicked mid-draw; the generator state
        // is still a valid generator state.
        let mut rng = self.rng.lock().unwrap_or_else(|p| p.into_inner());
        Duration::from_nanos(rng.random_range(0..=ceiling))
    }
}

/// Why the wrapper stops retrying a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GiveUp {
    /// The error class is final (quota, auth, invalid request...).
    NotRetryable,
    /// `max_attempts` attempts were made.
    AttemptsExhausted,
    /// The server asked for a wait longer than `max_retry_after`.
    RetryAfterTooLong,
    /// The next attempt could not start before `total_timeout`.
    Deadline,
}

impl GiveUp {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            GiveUp::NotRetryable => "not_retryable",
            GiveUp::AttemptsExhausted => "attempts_exhausted",
            GiveUp::RetryAfterTooLong => "retry_after_too_long",
            GiveUp::Deadline => "total_timeout",
        }
    }
}

/// Decides what follows failed attempt number `attempt` (1-based): the wait before the
/// next one, or why there is none. `remaining` is the time left before the overall
/// deadline, if there is one.
pub(crate) fn next_wait(
    policy: &ResiliencePolicy,
    backoff: &Backoff,
    error: &LlmError,
    attempt: u32,
    remaining: Option<Duration>,
) -> Result<Duration, GiveUp> {
    if !error.is_transient() {
        return Err(GiveUp::NotRetryable);
    }
    if attempt >= policy.max_attempts {
        return Err(GiveUp::AttemptsExhausted);
    }
    let asked = error.retry_after();
    if asked.is_some_and(|a| a > policy.max_retry_after) {
        return Err(GiveUp::RetryAfterTooLong);
    }
    let jittered = backoff.jittered(attempt);
    let wait = asked.map_or(jittered, |a| a.max(jittered));
    if remaining.is_some_and(|r| wait >= r) {
        return Err(GiveUp::Deadline);
    }
    Ok(wait)
}
