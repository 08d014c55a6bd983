//! Why a quota refused: the structured payload of `Error::QuotaExceeded`.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

/// Which limit of the tier was hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum QuotaLimit {
    /// Samples per quota period (calendar month by default).
    PeriodSamples,
    /// Samples in one run.
    SamplesPerRun,
    /// Runs holding a reservation at the same time.
    ConcurrentRuns,
}

impl QuotaLimit {
    pub fn as_str(self) -> &'static str {
        match self {
            QuotaLimit::PeriodSamples => "period_samples",
            QuotaLimit::SamplesPerRun => "samples_per_run",
            QuotaLimit::ConcurrentRuns => "concurrent_runs",
        }
    }
}

/// A refused reservation, with what a host needs to explain it: what was asked, what is
/// left, the limit, and when it resets. Carried by `Error::QuotaExceeded`
/// (`Error::quota_denial()`); its `Display` is the user-facing message.
///
/// Units follow `limit`: samples for [`QuotaLimit::PeriodSamples`] and
/// [`QuotaLimit::SamplesPerRun`], runs for [`QuotaLimit::ConcurrentRuns`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuotaDenial {
    pub limit_kind: QuotaLimit,
    /// What the operation needed (samples, or 1 run).
    pub requested: u64,
    /// What is still available now.
    pub remaining: u64,
    /// The tier's limit.
    pub limit: u64,
    /// When the allowance resets (the period's end); `None` for limits that do not reset
    /// with time (samples per run, concurrent runs).
    pub resets_at: Option<DateTime<Utc>>,
}

impl std::fmt::Display for QuotaDenial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.limit_kind {
            QuotaLimit::PeriodSamples => {
                write!(
                    f,
                    "needs {} samples, {} left of {} this month",
                    self.requested, self.remaining, self.limit
                )?;
                if let Some(reset) = self.resets_at {
                    write!(f, "; resets {}", reset.to_rfc3339_opts(SecondsFormat::Secs, true))?;
                }
                write!(
                    f,
                    " (run fewer prompts, targets or repeats, or move the account to a larger tier)"
                )
            }
            QuotaLimit::SamplesPerRun => write!(
                f,
                "needs {} samples in one run, the tier allows at most {} per run; split the experiment into \
                 smaller runs",
                self.requested, self.limit
            ),
            QuotaLimit::ConcurrentRuns => write!(
                f,
                "{} of {} runs allowed at once are already in progress; wait for one to finish or cancel it",
                self.limit.saturating_sub(self.remaining),
                self.limit
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_say_what_is_left_and_when_it_resets() {
        let d = QuotaDenial {
            limit_kind: QuotaLimit::PeriodSamples,
            requested: 500,
            remaining: 120,
            limit: 1000,
            resets_at: Some(DateTime::parse_from_rfc3339("2026-12-01T00:00:00Z").unwrap().to_utc()),
        };
        assert!(
            d.to_string()
                .starts_with("needs 500 samples, 120 left of 1000 this month; resets 2026-12-01T00:00:00Z"),
            "{d}"
        );
        let c = QuotaDenial {
            limit_kind: QuotaLimit::ConcurrentRuns,
            requested: 1,
            remaining: 0,
            limit: 2,
            resets_at: None,
        };
        assert!(c.to_string().starts_with("2 of 2 runs allowed at once"), "{c}");
    }
}
