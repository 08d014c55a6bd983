//! The resilience layer: one wrapper, [`Resilient`], that every run's provider calls go
//! through. Providers never retry; this layer decides, the same way for all of them:
//!
//! - **Retries** only transient classes ([`LlmError::is_transient`](crate::provider::LlmError::is_transient):
//!   rate limited, overloaded, server, timeout, transport), up to `max_attempts`, then the
//!   last error is returned unchanged.
//! - **Backoff** is full-jitter exponential ([`Backoff`]); a server-requested wait
//!   (`retry-after-ms`, `retry-after`, Gemini `RetryInfo`, parsed by the providers) wins
//!   when longer, unless it exceeds `max_retry_after`, in which case the call gives up at
//!   once rather than stall a run.
//! - **Rate limits**: GCRA budgets per model for requests and (estimated) tokens per
//!   minute ([`RateLimits`]), waited for asynchronously.
//! - **Concurrency cap** and **deadlines** per attempt and, optionally, per call.
//!
//! All waiting uses `tokio::time`, so tests run on paused time and assert exact waits.

mod backoff;
mod limiter;
mod policy;
mod resilient;

#[cfg(test)]
mod tests;

pub use backoff::Backoff;
pub use limiter::{ManualClock, RateLimits, TokioClock, estimate_tokens};
pub use policy::{ModelRates, ResiliencePolicy};
pub use resilient::Resilient;
