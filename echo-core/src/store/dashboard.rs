//! Dashboard aggregations: an account's totals and its brands' visibility per target over
//! the whole account (not one run), so a host's dashboard needs no export of samples.
//!
//! Finished samples are read from rollups the store keeps per run, target and UTC day
//! (`store::rollup`): a dashboard costs a few milliseconds whatever the number of samples,
//! and time filters work in whole UTC days.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use crate::Result;
use crate::model::{AccountId, RunStatus, SampleCounts, SampleStatus, Target};

/// Runs of an account by status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RunCounts {
    pub pending: u64,
    pub running: u64,
    pub completed: u64,
    pub partial: u64,
    pub failed: u64,
    pub cancelled: u64,
}

impl RunCounts {
    pub fn total(&self) -> u64 {
        self.pending + self.running + self.completed + self.partial + self.failed + self.cancelled
    }

    /// Adds `n` runs of `status`.
    pub fn add(&mut self, status: RunStatus, n: u64) {
        let slot = match status {
            RunStatus::Pending => &mut self.pending,
            RunStatus::Running => &mut self.running,
            RunStatus::Completed => &mut self.completed,
            RunStatus::Partial => &mut self.partial,
            RunStatus::Failed => &mut self.failed,
            RunStatus::Cancelled => &mut self.cancelled,
        };
        *slot += n;
    }
}

/// Adds `n` samples of `status` to `counts`.
pub(crate) fn add_samples(counts: &mut SampleCounts, status: SampleStatus, n: u64) {
    let slot = match status {
        SampleStatus::Pending => &mut counts.pending,
        SampleStatus::Leased => &mut counts.leased,
        SampleStatus::Succeeded => &mut counts.succeeded,
        SampleStatus::Failed => &mut counts.failed,
        SampleStatus::Cancelled => &mut counts.cancelled,
    };
    *slot += n;
}

/// An account's totals over all its runs.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AccountSummary {
    pub runs: RunCounts,
    pub samples: SampleCounts,
    /// Sum of the cost of every answered sample that had a price, in USD (summed exactly
    /// in nano-USD by the database).
    pub cost_usd: f64,
    /// Answered samples without a price (unknown model or no usage reported): the cost
    /// above does not include them, rather than counting them as free.
    pub unpriced_answers: u64,
}

/// How often each brand was named in one target's answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetVisibility {
    pub target: Target,
    /// Answered (succeeded) samples of the target.
    pub answered: u64,
    /// Per brand, the answered samples naming it at least once (brands never named are
    /// absent). Visibility = `mentioned / answered`.
    pub mentioned: BTreeMap<String, u64>,
}

/// Dashboard aggregations, always scoped to an account.
#[async_trait::async_trait]
pub trait DashboardStore: Send + Sync {
    /// Runs by status, samples by status, total cost. NotFound if the account does not exist.
    async fn account_summary(&self, account: AccountId) -> Result<AccountSummary>;

    /// Per target (ordered by provider, then model), answered samples and the samples
    /// naming each brand, over the account's samples answered on or after the UTC day
    /// `since` (all of them when `None`). Targets without answers are absent. NotFound if
    /// the account does not exist.
    async fn visibility_by_target(&self, account: AccountId, since: Option<NaiveDate>)
    -> Result<Vec<TargetVisibility>>;
}

/// A row of the backends' `ACCOUNT_SUMMARY` statement: kind (`account`, `run`, `sample`),
/// status, count, summed cost in nano-USD, priced samples.
pub(crate) type SummaryRow = (String, Option<String>, i64, Option<i64>, i64);

/// A row of the backends' `VISIBILITY_BY_TARGET` statement: provider, model, answered,
/// brand (NULL for a target without mentions), samples naming the brand.
pub(crate) type VisibilityRow = (String, String, i64, Option<String>, Option<i64>);

/// The first millisecond of the UTC day `since`, or `i64::MIN` (every day) for `None`: the
/// bound the backends compare rollup days with.
pub(crate) fn first_day_ms(since: Option<NaiveDate>) -> i64 {
    since
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp_millis())
        .unwrap_or(i64::MIN)
}

/// A count from the database (never negative) as u64.
fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// Folds the summary rows; NotFound when the account row says the account does not exist.
pub(crate) fn fold_summary(account: AccountId, rows: Vec<SummaryRow>) -> Result<AccountSummary> {
    let mut summary = AccountSummary::default();
    let mut cost_nanos = 0i64;
    let mut exists = false;
    for (kind, status, n, cost, priced) in rows {
        match (kind.as_str(), status) {
            ("account", _) => exists = n > 0,
            ("run", Some(status)) => summary.runs.add(RunStatus::parse(&status)?, count(n)),
            ("sample", Some(status)) => {
                let status = SampleStatus::parse(&status)?;
                add_samples(&mut summary.samples, status, count(n));
                cost_nanos = cost_nanos.saturating_add(cost.unwrap_or(0));
                if status == SampleStatus::Succeeded {
                    summary.unpriced_answers = count(n - priced);
                }
            }
            (other, status) => {
                return Err(crate::Error::Internal(format!(
                    "unexpected account summary row {other:?} / {status:?}"
                )));
            }
        }
    }
    if !exists {
        return Err(crate::Error::not_found("account", account));
    }
    summary.cost_usd = crate::store::nanos_to_usd(cost_nanos);
    Ok(summary)
}

/// Folds the visibility rows (ordered by target) into one entry per target.
pub(crate) fn fold_visibility(rows: Vec<VisibilityRow>) -> Vec<TargetVisibility> {
    let mut out: Vec<TargetVisibility> = Vec::new();
    for (provider, model, answered, brand, mentioned) in rows {
        let target = Target { provider, model };
        if out.last().is_none_or(|t| t.target != target) {
            out.push(TargetVisibility {
                target,
                answered: count(answered),
                mentioned: BTreeMap::new(),
            });
        }
        if let (Some(brand), Some(n), Some(t)) = (brand, mentioned, out.last_mut()) {
            t.mentioned.insert(brand, count(n));
        }
    }
    out
}
