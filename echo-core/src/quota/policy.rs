//! Tiers and the policy that maps an account's tier to its limits.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::{QuotaPeriod, RUN_START_POLICY, RateLimitPolicy};
use crate::model::MAX_SAMPLES_PER_RUN;

/// What one tier allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TierLimits {
    /// Samples (LLM calls) per quota period — a calendar month (UTC) by default.
    pub period_samples: u64,
    /// Samples in one run.
    pub max_samples_per_run: u64,
    /// Runs holding a reservation (enqueued or executing) at the same time.
    pub max_concurrent_runs: u32,
    /// Rate of run-starting operations (`enqueue_run`, `start_run`, `resume_run`) per API key
    /// (or per account when the principal did not come from a key); `None`: not limited.
    pub run_starts: Option<RateLimitPolicy>,
}

impl TierLimits {
    /// Limits with the default run-start rate (10 per minute).
    pub fn new(period_samples: u64, max_samples_per_run: u64, max_concurrent_runs: u32) -> Self {
        Self {
            period_samples,
            max_samples_per_run,
            max_concurrent_runs,
            run_starts: Some(RateLimitPolicy::per_minute(RUN_START_POLICY, 10).expect("a valid built-in policy")),
        }
    }

    /// Replaces the run-start rate: `per_minute` starts per minute.
    pub fn run_starts_per_minute(mut self, per_minute: u32) -> crate::Result<Self> {
        self.run_starts = Some(RateLimitPolicy::per_minute(RUN_START_POLICY, per_minute)?);
        Ok(self)
    }

    /// No limit on run starts.
    pub fn without_run_start_limit(mut self) -> Self {
        self.run_starts = None;
        self
    }
}

/// Maps an account's tier to its limits. The engine's default is
/// [`TieredQuotaPolicy::standard`]; a host replaces it with
/// [`EchoBuilder::quota_policy`](crate::engine::EchoBuilder::quota_policy) to define its own
/// tiers (or compute limits from its billing system).
pub trait QuotaPolicy: Send + Sync + std::fmt::Debug {
    /// The limits of `tier`; `None` for a tier the policy does not know (the engine then
    /// refuses to create an account with it, and refuses runs of an existing one).
    fn limits(&self, tier: &str) -> Option<TierLimits>;

    /// Tier names, for error messages.
    fn tier_names(&self) -> Vec<String> {
        Vec::new()
    }

    /// The quota period containing `now`; a calendar month (UTC) unless overridden (for
    /// example, to follow each customer's billing day).
    fn period(&self, now: DateTime<Utc>) -> QuotaPeriod {
        QuotaPeriod::calendar_month(now)
    }
}

/// A fixed table of tiers.
///
/// The standard tiers (all with 10 run starts per minute):
///
/// | tier | samples / month | samples / run | runs at once |
/// |---|---:|---:|---:|
/// | `free` | 1,000 | 500 | 2 |
/// | `pro` | 100,000 | 20,000 | 10 |
/// | `enterprise` | 5,000,000 | 100,000 | 50 |
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TieredQuotaPolicy {
    tiers: BTreeMap<String, TierLimits>,
}

impl TieredQuotaPolicy {
    /// No tiers at all: add them with [`TieredQuotaPolicy::tier`].
    pub fn empty() -> Self {
        Self::default()
    }

    /// The standard `free`, `pro` and `enterprise` tiers.
    pub fn standard() -> Self {
        Self::empty()
            .tier("free", TierLimits::new(1_000, 500, 2))
            .tier("pro", TierLimits::new(100_000, 20_000, 10))
            .tier("enterprise", TierLimits::new(5_000_000, MAX_SAMPLES_PER_RUN, 50))
    }

    /// Adds or replaces a tier.
    pub fn tier(mut self, name: impl Into<String>, limits: TierLimits) -> Self {
        self.tiers.insert(name.into(), limits);
        self
    }
}

impl QuotaPolicy for TieredQuotaPolicy {
    fn limits(&self, tier: &str) -> Option<TierLimits> {
        self.tiers.get(tier).cloned()
    }

    fn tier_names(&self) -> Vec<String> {
        self.tiers.keys().cloned().collect()
    }
}

/// Every tier is unlimited: no monthly or concurrency limit, no run-start rate limit (runs
/// are still capped at `MAX_SAMPLES_PER_RUN`, and reservations are still recorded, so
/// `quota_status` shows usage). For single-user notebooks, tests, and hosts that meter
/// elsewhere.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UnmeteredQuotaPolicy;

impl QuotaPolicy for UnmeteredQuotaPolicy {
    fn limits(&self, _tier: &str) -> Option<TierLimits> {
        Some(TierLimits {
            // The largest count every backend stores (a signed 64-bit integer).
            period_samples: i64::MAX as u64,
            max_samples_per_run: MAX_SAMPLES_PER_RUN,
            max_concurrent_runs: u32::MAX,
            run_starts: None,
        })
    }
}

/// The error for an account whose tier the policy does not define.
pub(crate) fn unknown_tier(policy: &dyn QuotaPolicy, tier: &str) -> String {
    let known = policy.tier_names();
    if known.is_empty() {
        format!("tier {tier:?} is not defined by the quota policy")
    } else {
        format!(
            "tier {tier:?} is not defined by the quota policy (defined: {})",
            known.join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_tiers_and_replacement() {
        let p = TieredQuotaPolicy::standard();
        assert_eq!(p.tier_names(), ["enterprise", "free", "pro"]);
        let free = p.limits("free").unwrap();
        assert_eq!(free.period_samples, 1_000);
        let starts = free.run_starts.unwrap();
        assert_eq!((starts.name(), starts.limit()), (RUN_START_POLICY, 10));
        assert!(p.limits("gold").is_none());
        assert!(unknown_tier(&p, "gold").contains("defined: enterprise, free, pro"));

        let p = p.tier("free", TierLimits::new(50, 10, 1).run_starts_per_minute(3).unwrap());
        assert_eq!(p.limits("free").unwrap().run_starts.unwrap().limit(), 3);
        assert!(UnmeteredQuotaPolicy.limits("anything").unwrap().run_starts.is_none());
    }
}
