//! Quotas and rate limits: what an account may spend, and how fast it may ask.
//!
//! **Quotas** are counted in samples (one LLM call each) per period (a calendar month, UTC,
//! by default). An account's tier (`Account::tier`) selects its [`TierLimits`] from the
//! engine's [`QuotaPolicy`]: samples per month, samples per run, runs at once, and the
//! rate of run starts. The books live in the store ([`QuotaStore`](crate::store::QuotaStore)):
//!
//! ```text
//! reserve(n)   one conditional UPDATE on the period row:
//!              used + reserved + n <= limit  AND  held reservations < max concurrent
//!              → reserved += n, a reservation row `held`
//! settle(k)    held → committed (at most once):  reserved -= n, used += k (k answered),
//!              the n - k failed or cancelled samples are refunded
//! expire       held past its hold → expired:    reserved -= n (the safety net for a run
//!              that never finished); a late settle still charges what was answered
//! ```
//!
//! A run reserves its planned samples before anything is enqueued and is settled once, when
//! it reaches a terminal status ([`settle_run`]).
//!
//! **Rate limits** use GCRA (the generic cell rate algorithm): one "theoretical arrival
//! time" per (key, policy) in the store, updated by one atomic statement, so every process
//! sharing the database shares the limit. See [`RateLimitPolicy`] and [`RateLimitDecision`].

mod denial;
mod gcra;
mod period;
mod policy;
mod rate_limit;
mod reservation;
mod settle;

pub use denial::{QuotaDenial, QuotaLimit};
pub use gcra::{Gcra, unix_micros};
pub use period::QuotaPeriod;
pub(crate) use policy::unknown_tier as policy_unknown_tier;
pub use policy::{QuotaPolicy, TierLimits, TieredQuotaPolicy, UnmeteredQuotaPolicy};
pub use rate_limit::{RUN_START_POLICY, RateLimitDecision, RateLimitPolicy};
pub use reservation::{QuotaStatus, QuotaUsage, Reservation, ReservationStatus, ReserveRequest};
pub(crate) use settle::check_run_size;
pub use settle::settle_run;
