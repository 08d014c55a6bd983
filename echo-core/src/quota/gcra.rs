//! The GCRA arithmetic, shared by every store backend.
//!
//! State per bucket: the *theoretical arrival time* `tat` (unix microseconds), the instant
//! at which the bucket would be full again. With emission interval `T = window / limit` and
//! tolerance `τ = T × limit`, a request of cost `c` at `now` is admitted iff
//!
//! ```text
//! max(tat, now) + c·T − τ <= now          then  tat := max(tat, now) + c·T
//! ```
//!
//! A backend evaluates that condition and the update in ONE atomic statement (for example
//! `INSERT … ON CONFLICT DO UPDATE SET tat = … WHERE <condition> RETURNING tat`): an empty
//! result means refused. [`Gcra::admitted`] and [`Gcra::refused`] then turn the stored
//! `tat` into a [`RateLimitDecision`].

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{RateLimitDecision, RateLimitPolicy};
use crate::{Error, Result};

/// The parameters of one policy in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gcra {
    limit: u32,
    /// `T`: microseconds between requests at the sustained rate.
    pub emission_us: i64,
    /// `τ`: how far `tat` may run ahead of `now` (`T × limit`, the whole burst).
    pub tolerance_us: i64,
}

impl Gcra {
    pub fn new(policy: &RateLimitPolicy) -> Self {
        let window_us = i64::try_from(policy.window().as_micros()).unwrap_or(i64::MAX);
        let emission_us = (window_us / i64::from(policy.limit())).max(1);
        Self {
            limit: policy.limit(),
            emission_us,
            tolerance_us: emission_us * i64::from(policy.limit()),
        }
    }

    /// `c·T` for a request of `cost` units; `InvalidInput` when the cost is zero or larger
    /// than the whole burst (it could never be admitted).
    pub fn increment(&self, cost: u32) -> Result<i64> {
        if cost == 0 || cost > self.limit {
            return Err(Error::invalid(
                "rate_limit.cost",
                format!("must be between 1 and the policy's limit ({}), got {cost}", self.limit),
            ));
        }
        Ok(self.emission_us * i64::from(cost))
    }

    /// The decision for an admitted request whose update left the bucket at `new_tat`.
    pub fn admitted(&self, new_tat_us: i64, now_us: i64) -> RateLimitDecision {
        RateLimitDecision {
            allowed: true,
            limit: self.limit,
            remaining: self.remaining(new_tat_us, now_us),
            retry_after: Duration::ZERO,
            reset_after: micros(new_tat_us - now_us),
        }
    }

    /// The decision for a refused request of `cost`, given the bucket's current `tat`.
    pub fn refused(&self, tat_us: i64, now_us: i64, cost: u32) -> RateLimitDecision {
        let tat = tat_us.max(now_us);
        let admit_at = tat + self.emission_us * i64::from(cost) - self.tolerance_us;
        RateLimitDecision {
            allowed: false,
            limit: self.limit,
            remaining: self.remaining(tat, now_us),
            // At least a microsecond: a refusal never says "retry now".
            retry_after: micros((admit_at - now_us).max(1)),
            reset_after: micros(tat - now_us),
        }
    }

    fn remaining(&self, tat_us: i64, now_us: i64) -> u32 {
        let free = now_us + self.tolerance_us - tat_us.max(now_us);
        u32::try_from((free / self.emission_us).clamp(0, i64::from(self.limit))).unwrap_or(0)
    }
}

/// A time as GCRA stores it: unix microseconds.
pub fn unix_micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

fn micros(us: i64) -> Duration {
    Duration::from_micros(u64::try_from(us).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference model: the same rule over an in-memory `tat`.
    fn check(g: &Gcra, tat: &mut Option<i64>, now: i64, cost: u32) -> RateLimitDecision {
        let inc = g.increment(cost).unwrap();
        let base = tat.unwrap_or(now).max(now);
        if base + inc - g.tolerance_us <= now {
            *tat = Some(base + inc);
            g.admitted(base + inc, now)
        } else {
            g.refused(tat.unwrap(), now, cost)
        }
    }

    #[test]
    fn ten_per_minute_admits_ten_then_paces_at_six_seconds() {
        let g = Gcra::new(&RateLimitPolicy::per_minute("p", 10).unwrap());
        assert_eq!(g.emission_us, 6_000_000);
        let mut tat = None;
        for i in 0..10 {
            let d = check(&g, &mut tat, 0, 1);
            assert!(d.allowed, "request {i}");
            assert_eq!(d.remaining, 9 - i);
        }
        let refused = check(&g, &mut tat, 0, 1);
        assert!(!refused.allowed);
        assert_eq!(refused.retry_after, Duration::from_secs(6));
        assert_eq!(refused.reset_after, Duration::from_secs(60));
        assert_eq!(refused.remaining, 0);
        // 6 s later exactly one more fits.
        assert!(check(&g, &mut tat, 6_000_000, 1).allowed);
        assert!(!check(&g, &mut tat, 6_000_000, 1).allowed);
        // After a full idle window the whole burst is back.
        let d = check(&g, &mut tat, 200_000_000, 1);
        assert_eq!(d.remaining, 9);
    }

    #[test]
    fn costs_outside_the_burst_are_rejected() {
        let g = Gcra::new(&RateLimitPolicy::per_minute("p", 10).unwrap());
        assert!(g.increment(0).is_err());
        assert!(g.increment(11).is_err());
        let mut tat = None;
        assert!(check(&g, &mut tat, 0, 10).allowed);
        let d = check(&g, &mut tat, 0, 3);
        assert_eq!(d.retry_after, Duration::from_secs(18));
    }
}
