//! The engine's side of quotas and rate limits: the checks before a run starts, and the
//! host-facing status, rate-limit and maintenance operations.
//!
//! Order before a run is enqueued (bad input and cheap checks first, so a refused request
//! spends nothing it need not): authorize → validate the spec → tier limits → run size →
//! rate limit (takes a token) → reserve (takes quota) → enqueue (refunds if it fails).

use super::Echo;
use crate::auth::{Actor, Principal, Scope};
use crate::model::{Account, Run};
use crate::quota::{
    QuotaPolicy, QuotaStatus, RateLimitDecision, RateLimitPolicy, ReserveRequest, TierLimits, check_run_size,
};
use crate::{Error, Result};

/// The rate-limit bucket of a principal: its API key when it came from one (each key has
/// its own allowance), else its account.
pub(crate) fn rate_limit_key(principal: &Principal) -> String {
    match principal.actor() {
        Actor::ApiKey(id) => format!("key:{id}"),
        #[allow(unreachable_patterns)] // more actors may come; they share the account's bucket
        _ => format!("account:{}", principal.account_id()),
    }
}

impl Echo {
    /// The quota policy in use.
    pub fn quota_policy(&self) -> &dyn QuotaPolicy {
        &**self.quota()
    }

    /// The principal's allowance in the current quota period: used, reserved by runs in
    /// progress, the limit, what is left, and when it resets.
    #[tracing::instrument(skip_all, fields(account_id = %principal.account_id()))]
    pub async fn quota_status(&self, principal: &Principal) -> Result<QuotaStatus> {
        principal.require(Scope::ExperimentsRead)?;
        self.ensure_active(principal).await?;
        let account = self.store().get_account(principal.account_id()).await?;
        let limits = self.tier_limits(&account)?;
        let now = self.clock().now();
        let period = self.quota().period(now);
        let usage = self.store().quota_usage(account.id, period.start, now).await?;
        self.audit_admin_read(principal, "quota_status", None).await?;
        Ok(QuotaStatus {
            tier: account.tier,
            used: usage.used,
            reserved: usage.reserved,
            limit: limits.period_samples,
            remaining: limits
                .period_samples
                .saturating_sub(usage.used.saturating_add(usage.reserved)),
            period_start: period.start,
            resets_at: period.end,
            active_runs: usage.active_reservations,
            max_concurrent_runs: limits.max_concurrent_runs,
            max_samples_per_run: limits.max_samples_per_run,
        })
    }

    /// Takes one request from the principal's bucket of `policy` (per API key, or per
    /// account for host principals) and returns the decision, allowed or not, so a host can
    /// rate-limit its own endpoints with the database-backed limiter and send
    /// [`RateLimitDecision::headers`]. Run-starting operations are limited automatically;
    /// this is for everything else.
    #[tracing::instrument(skip_all, fields(account_id = %principal.account_id()))]
    pub async fn check_rate_limit(&self, principal: &Principal, policy: &RateLimitPolicy) -> Result<RateLimitDecision> {
        self.ensure_active(principal).await?;
        self.store()
            .check_rate_limit(&rate_limit_key(principal), policy, 1, self.clock().now())
            .await
    }

    /// Maintenance: releases quota reservations held past their hold (runs that never
    /// finished). Returns how many. Run it periodically (e.g. hourly) in one process.
    #[tracing::instrument(skip_all)]
    pub async fn expire_reservations(&self) -> Result<u64> {
        self.store().expire_reservations(self.clock().now()).await
    }

    /// Maintenance: deletes rate-limit buckets that are full again (they hold no
    /// information). Returns how many.
    #[tracing::instrument(skip_all)]
    pub async fn purge_rate_limits(&self) -> Result<u64> {
        self.store().purge_rate_limits(self.clock().now()).await
    }

    /// The limits of the account's tier; a `Config` error when the policy does not define
    /// the tier (the host changed the policy under existing accounts).
    pub(super) fn tier_limits(&self, account: &Account) -> Result<TierLimits> {
        self.quota().limits(&account.tier).ok_or_else(|| {
            Error::Config(format!(
                "account {} has {}; give the account a defined tier or add the tier to the quota policy \
                 (EchoBuilder::quota_policy)",
                account.id,
                crate::quota::policy_unknown_tier(&**self.quota(), &account.tier)
            ))
        })
    }

    /// Checks run size and the run-start rate limit for `principal`, before anything is
    /// reserved or written. Returns the tier's limits for the reservation.
    pub(super) async fn admit_run_start(&self, principal: &Principal, planned: Option<u64>) -> Result<TierLimits> {
        let account = self.store().get_account(principal.account_id()).await?;
        let limits = self.tier_limits(&account)?;
        if let Some(planned) = planned {
            check_run_size(planned, &limits)?;
        }
        if let Some(policy) = &limits.run_starts {
            let decision = self
                .store()
                .check_rate_limit(&rate_limit_key(principal), policy, 1, self.clock().now())
                .await?;
            if !decision.allowed {
                return Err(Error::rate_limited(policy, &decision));
            }
        }
        Ok(limits)
    }

    /// Reserves `run`'s planned samples in the current period (reservation id = run id).
    pub(super) async fn reserve_run(&self, run: &Run, limits: &TierLimits) -> Result<()> {
        let hold = chrono::Duration::from_std(self.config().reservation_hold)
            .map_err(|_| Error::invalid("reservation_hold", "is too long"))?;
        self.store()
            .reserve(&ReserveRequest {
                account: run.account_id,
                id: run.id.into(),
                samples: run.planned_samples,
                period: self.quota().period(run.created_at),
                period_limit: limits.period_samples,
                max_concurrent: limits.max_concurrent_runs,
                now: run.created_at,
                expires_at: run.created_at + hold,
            })
            .await?;
        Ok(())
    }

    /// Gives back the reservation of a run whose enqueue failed.
    pub(super) async fn refund_run(&self, run: &Run) {
        if let Err(e) = self
            .store()
            .settle_reservation(run.account_id, run.id.into(), 0, run.created_at)
            .await
        {
            tracing::error!(run_id = %run.id, error = %e,
                "could not refund the reservation of a run that failed to enqueue; it is released when its hold expires");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::AccountId;

    #[test]
    fn api_keys_have_their_own_bucket() {
        let account = AccountId::new();
        let host = Principal::host(account);
        assert_eq!(rate_limit_key(&host), format!("account:{account}"));
        let key = Principal::with_scopes(account, [Scope::RunsWrite], Actor::ApiKey("k1".into()));
        assert_eq!(rate_limit_key(&key), "key:k1");
    }
}
