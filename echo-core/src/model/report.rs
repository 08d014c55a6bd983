//! Reports: the numbers a run produces. Formulas are in `docs/metrics.md`; metric names
//! are part of the API and never silently change meaning.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{BrandRole, RunId, RunStatus, SampleCounts, Target};

/// A two-sided 95% confidence interval for a proportion.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    pub lower: f64,
    pub upper: f64,
}

impl Interval {
    /// Half the width: the "±" a reader sees.
    pub fn half_width(&self) -> f64 {
        (self.upper - self.lower) / 2.0
    }

    pub fn contains(&self, p: f64) -> bool {
        self.lower <= p && p <= self.upper
    }
}

/// A proportion `successes / trials` with its Wilson 95% interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Proportion {
    pub successes: u64,
    pub trials: u64,
    /// `successes / trials`, or 0 when there are no trials.
    pub estimate: f64,
    pub interval: Interval,
}

/// The cluster-robust 95% interval of a proportion pooled over prompts (the clusters):
/// what the roll-up says about questions *like* the prompts asked, not only those prompts.
/// Method: `analysis::clustered_interval` and `docs/metrics.md`, "Several prompts".
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ClusteredInterval {
    /// The cluster-robust 95% interval.
    pub interval: Interval,
    /// Clusters (prompts) with at least one answer.
    pub clusters: u32,
    /// Estimated design effect: the cluster-robust variance over the binomial one (below 1
    /// when the prompts agree more closely than chance would have them).
    pub design_effect: f64,
    /// The answers the interval is "worth": answers / design effect, shrunk by (z/t)² for
    /// the few degrees of freedom, at most the answers (the n of the Wilson interval).
    pub effective_trials: f64,
}

/// Metrics of one brand within one [`ReportGroup`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BrandMetrics {
    pub brand: String,
    pub role: BrandRole,
    /// `visibility`: answers naming the brand / answered samples, with a Wilson interval.
    pub visibility: Proportion,
    /// The cluster-robust interval of `visibility` on roll-ups over two or more prompts
    /// (`by_target`, `overall`); `None` on cells and single-prompt roll-ups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visibility_clustered: Option<ClusteredInterval>,
    /// Total occurrences of the brand over the group's answers.
    pub mentions: u64,
    /// `sov_mentions`: the brand's occurrences / occurrences of all tracked brands.
    pub share_of_voice_mentions: f64,
    /// `sov_answers`: answers naming the brand / answers naming any tracked brand.
    pub share_of_voice_answers: f64,
    /// `mean_rank`: mean first-mention rank over answers naming the brand (1 = named first).
    pub mean_rank: Option<f64>,
    /// `top1_rate`: answers where the brand is named first / answered samples.
    pub top1: Proportion,
    /// `top3_rate`: answers where the brand is among the first three named / answered samples.
    pub top3: Proportion,
    /// `mean_list_position`: mean list item index over mentions that sit in a list.
    pub mean_list_position: Option<f64>,
}

/// The share of citations pointing at one domain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DomainShare {
    pub domain: String,
    /// Citations of this domain.
    pub citations: u64,
    /// `citation_share`: citations of this domain / all citations in the group.
    pub share: f64,
    /// Answers citing this domain at least once.
    pub answers: u64,
}

/// The metrics of one slice of a run: a (target, prompt) cell, a target over all
/// prompts, or the whole run (both `None`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportGroup {
    pub target: Option<Target>,
    pub prompt_index: Option<u32>,
    /// Samples in the slice that produced an answer.
    pub answered: u64,
    /// Samples in the slice that failed.
    pub failed: u64,
    /// One entry per catalog brand, in catalog order.
    pub brands: Vec<BrandMetrics>,
    /// Cited domains, most cited first.
    pub citations: Vec<DomainShare>,
    /// What the slice's answers cost.
    pub cost: CostSummary,
}

/// The cost of a slice's answered samples, from the pricing table in force when each was
/// answered. Samples of unpriced models (or whose provider reported no usage) are counted
/// apart rather than as free.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct CostSummary {
    pub total_usd: f64,
    /// Answered samples with a cost.
    pub priced_samples: u64,
    /// Answered samples without one.
    pub unpriced_samples: u64,
}

/// The report of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub run_id: RunId,
    pub experiment_name: String,
    pub status: RunStatus,
    pub counts: SampleCounts,
    pub prompts: Vec<String>,
    /// Per (target, prompt) cell, targets in spec order then prompts in order.
    pub cells: Vec<ReportGroup>,
    /// Per target, rolled up over prompts (answers pooled).
    pub by_target: Vec<ReportGroup>,
    /// The whole run, rolled up over targets and prompts (answers pooled).
    pub overall: ReportGroup,
    pub generated_at: DateTime<Utc>,
    /// For an adaptive run: per target, how many answered, why sampling stopped and the
    /// widest interval. `None` for a fixed run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adaptive: Option<super::AdaptiveSummary>,
}

impl Report {
    /// The per-target group of `target`.
    pub fn target(&self, target: &Target) -> Option<&ReportGroup> {
        self.by_target.iter().find(|g| g.target.as_ref() == Some(target))
    }
}

impl ReportGroup {
    /// The metrics of `brand` (canonical name) in this group.
    pub fn brand(&self, brand: &str) -> Option<&BrandMetrics> {
        self.brands.iter().find(|b| b.brand == brand)
    }
}
