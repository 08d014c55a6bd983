//! GCRA rate limits per model: requests per minute and tokens per minute.
//!
//! Each model a wrapper sees gets its own pair of `governor` limiters (created on first
//! use, kept in a map behind a mutex held only for the lookup). A request is admitted when
//! the request limiter grants one cell and the token limiter grants its estimated token
//! cost.
//!
//! **Burst.** A limiter's burst is `burst_window` worth of its per-minute budget (default
//! one second, at least one unit). Providers enforce "per minute" limits over shorter
//! windows too (OpenAI documents that 60,000 RPM may be enforced as 1,000 per second), so
//! a whole minute's budget sent at once would earn 429s; a small burst also keeps the
//! admitted rate over any minute within `1 + burst_window/60 s` of the configured rate.
//!
//! **Requests bigger than the burst.** A request whose estimated token cost exceeds the
//! token burst is still admitted, alone: its cost is charged in burst-sized pieces, each
//! waiting for the budget to refill, so it waits as long as its tokens take to earn at the
//! configured rate and is never refused. (Clamping the cost to the burst instead would let
//! large requests run far over the token budget.)
//!
//! **Clock.** Waiting uses `tokio::time::sleep` rather than governor's `until_ready`,
//! whose timer (`futures-timer`) ignores tokio's clock; with [`TokioClock`] (the default)
//! the limiter follows tokio time, so paused-time tests see exact waits. Any governor
//! clock whose instant is [`Nanos`] can be injected, e.g. [`ManualClock`] for simulating a
//! minute without waiting one.

use std::collections::HashMap;
use std::future::Future;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::clock::Clock;
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};

use super::policy::{ModelRates, ResiliencePolicy};
use crate::provider::ChatRequest;

pub use governor::clock::FakeRelativeClock as ManualClock;

/// A governor clock reading tokio's clock, so limiter decisions and the sleeps that honour
/// them use the same time (and paused tokio time in tests).
#[derive(Debug, Clone)]
pub struct TokioClock {
    origin: tokio::time::Instant,
}

impl TokioClock {
    pub fn new() -> Self {
        Self {
            origin: tokio::time::Instant::now(),
        }
    }
}

impl Default for TokioClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for TokioClock {
    type Instant = Nanos;

    fn now(&self) -> Nanos {
        Nanos::from(self.origin.elapsed())
    }
}

/// The estimated token cost of a request, charged before the call: `ceil(characters of all
/// messages / 4) + max_output_tokens` (or `default_output` when the request sets none).
/// Four characters per token is the usual English average; the output term is an upper
/// bound, so the estimate errs on the side of staying under the provider's limit.
pub fn estimate_tokens(request: &ChatRequest, default_output: u32) -> u64 {
    let chars: u64 = request.messages.iter().map(|m| m.content.chars().count() as u64).sum();
    chars.div_ceil(4) + u64::from(request.max_output_tokens.unwrap_or(default_output))
}

type Gcra<C> = RateLimiter<NotKeyed, InMemoryState, C, NoOpMiddleware<Nanos>>;

/// One GCRA limiter and its burst.
struct Bucket<C: Clock<Instant = Nanos>> {
    limiter: Gcra<C>,
    burst: NonZeroU32,
}

impl<C: Clock<Instant = Nanos>> Bucket<C> {
    fn new(per_minute: u32, burst_window: Duration, clock: C) -> Option<Self> {
        let per_minute = NonZeroU32::new(per_minute)?;
        let period = Duration::from_secs(60) / per_minute.get();
        let burst_units = (u128::from(per_minute.get()) * burst_window.as_nanos()) / Duration::from_secs(60).as_nanos();
        let burst = NonZeroU32::new(u32::try_from(burst_units).unwrap_or(u32::MAX)).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::with_period(period)?.allow_burst(burst);
        Some(Self {
            limiter: RateLimiter::direct_with_clock(quota, clock),
            burst,
        })
    }
}

/// The two limiters of one model.
struct ModelBuckets<C: Clock<Instant = Nanos>> {
    requests: Option<Bucket<C>>,
    tokens: Option<Bucket<C>>,
}

/// Rate limits of one provider, per model. See the module documentation for the burst
/// and large-request rules.
pub struct RateLimits<C: Clock<Instant = Nanos> + Clone = TokioClock> {
    default_rates: ModelRates,
    model_rates: HashMap<String, ModelRates>,
    burst_window: Duration,
    clock: C,
    models: Mutex<HashMap<String, Arc<ModelBuckets<C>>>>,
}

impl<C: Clock<Instant = Nanos> + Clone> std::fmt::Debug for RateLimits<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimits")
            .field("default_rates", &self.default_rates)
            .field("model_rates", &self.model_rates)
            .field("burst_window", &self.burst_window)
            .finish_non_exhaustive()
    }
}

impl RateLimits<TokioClock> {
    /// Limits from `policy`, on tokio's clock.
    pub fn new(policy: &ResiliencePolicy) -> Self {
        Self::with_clock(policy, TokioClock::new())
    }
}

impl<C: Clock<Instant = Nanos> + Clone> RateLimits<C> {
    /// Limits from `policy` on an injected clock. The policy is not validated here (zero
    /// budgets count as unlimited); [`Resilient::new`](super::Resilient::new) validates it.
    pub fn with_clock(policy: &ResiliencePolicy, clock: C) -> Self {
        Self {
            default_rates: policy.rates,
            model_rates: policy.model_rates.iter().map(|(k, v)| (k.clone(), *v)).collect(),
            burst_window: policy.burst_window,
            clock,
            models: Mutex::new(HashMap::new()),
        }
    }

    /// Whether no model has any budget, so admission is always immediate.
    pub fn is_unlimited(&self) -> bool {
        self.default_rates.is_unlimited() && self.model_rates.values().all(ModelRates::is_unlimited)
    }

    /// Waits (on tokio time) until a request to `model` costing `tokens` is admitted;
    /// returns the time waited.
    pub async fn acquire(&self, model: &str, tokens: u64) -> Duration {
        self.acquire_with(model, tokens, tokio::time::sleep).await
    }

    /// [`acquire`](Self::acquire) with the sleeping supplied: with a [`ManualClock`], pass
    /// a closure that advances the clock and returns a ready future to simulate time.
    pub async fn acquire_with<S, F>(&self, model: &str, tokens: u64, mut sleep: S) -> Duration
    where
        S: FnMut(Duration) -> F,
        F: Future<Output = ()>,
    {
        if self.is_unlimited() {
            return Duration::ZERO;
        }
        let buckets = self.buckets(model);
        let mut waited = Duration::ZERO;
        if let Some(requests) = &buckets.requests {
            waited += self.take(requests, NonZeroU32::MIN, &mut sleep).await;
        }
        if let Some(bucket) = &buckets.tokens {
            let mut left = tokens;
            while let Some(n) = NonZeroU32::new(u32::try_from(left.min(u64::from(bucket.burst.get()))).unwrap_or(0)) {
                waited += self.take(bucket, n, &mut sleep).await;
                left -= u64::from(n.get());
            }
        }
        waited
    }

    /// Takes `n` cells (`n` never exceeds the burst), sleeping until the limiter says they
    /// conform; never spins: each sleep lasts until the earliest conforming instant.
    async fn take<S, F>(&self, bucket: &Bucket<C>, n: NonZeroU32, sleep: &mut S) -> Duration
    where
        S: FnMut(Duration) -> F,
        F: Future<Output = ()>,
    {
        let mut waited = Duration::ZERO;
        loop {
            match bucket.limiter.check_n(n) {
                Ok(Ok(())) => return waited,
                Ok(Err(not_until)) => {
                    let wait = not_until.wait_time_from(self.clock.now());
                    waited += wait;
                    sleep(wait).await;
                }
                // Unreachable: callers never ask for more than the burst. Admitting is the
                // safe answer (the alternative is never admitting).
                Err(_) => return waited,
            }
        }
    }

    fn buckets(&self, model: &str) -> Arc<ModelBuckets<C>> {
        let mut models = self.models.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(b) = models.get(model) {
            return Arc::clone(b);
        }
        let rates = self.model_rates.get(model).copied().unwrap_or(self.default_rates);
        let make =
            |per_minute: Option<u32>| per_minute.and_then(|pm| Bucket::new(pm, self.burst_window, self.clock.clone()));
        let buckets = Arc::new(ModelBuckets {
            requests: make(rates.requests_per_minute),
            tokens: make(rates.tokens_per_minute),
        });
        models.insert(model.to_string(), Arc::clone(&buckets));
        buckets
    }
}
