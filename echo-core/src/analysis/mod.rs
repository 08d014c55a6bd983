//! Turning answers into numbers: the brand catalog, the dictionary extractor, answer
//! structure (lists, rank) and metrics with confidence intervals.

mod catalog;
mod cluster;
mod common_words;
mod compare;
mod extractor;
mod metrics;
mod plan;
mod rank_stats;
mod report_compare;
mod run_plan;
pub mod sequential;
mod series;
mod stats;
mod structure;
mod student_t;
mod surface;
mod top_k;

pub use catalog::BrandCatalog;
pub use cluster::{
    CLUSTERED_MIN_INFORMATIVE_PROMPTS, CLUSTERED_MIN_PROMPTS, ClusteredCaveat, RollupCaveat, clustered_caveat,
    clustered_caveats, clustered_interval,
};
pub use compare::{ChangeTest, ProportionChange, compare_proportions};
pub use extractor::{DictionaryExtractor, Extractor};
pub use metrics::build_report;
pub use plan::{power_two_proportions, samples_for_change, samples_for_half_width};
pub use rank_stats::{kendall_tau_b, rank_biased_overlap};
pub use report_compare::{
    BrandChange, RANK_STABILITY_RBO_P, RankStability, RunComparison, TargetComparison, TargetDifference,
    compare_reports, compare_targets,
};
pub use run_plan::{Plan, PlanPoint, PlanRequest, PrecisionScope, plan_run};
pub use series::{SeriesPoint, VisibilitySeries, visibility_series};
pub use stats::{WILSON_Z, proportion, wilson_interval};
pub use structure::list_item_index;
pub use top_k::{RankDistribution, rank_distributions};
