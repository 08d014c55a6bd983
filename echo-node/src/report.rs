//! Reports and the statistics around them, mirroring `echo_core::model::Report` and
//! `echo_core::analysis` (comparisons, series, plans) and `engine::Estimate`: plain
//! objects with the core's field names in camelCase. Formulas: `docs/metrics.md`.

use echo_core::analysis::PlanRequest as CorePlanRequest;
use echo_core::model::{self as core, ExperimentId, RunId};
use napi::Env;
use napi::bindgen_prelude::PromiseRaw;
use napi_derive::napi;
use serde::{Deserialize, Serialize};

use crate::adaptive::AdaptiveSummary;
use crate::convert::{out, parse, via_serde};
use crate::engine::{Echo, clone_parts};
use crate::model::{BrandSpec, SampleCounts, Target};
use crate::principal::Principal;
use crate::promise::{spawn, sync};

/// A two-sided 95% confidence interval for a proportion.
#[napi(object)]
#[derive(Serialize, Deserialize)]
pub struct Interval {
    pub lower: f64,
    pub upper: f64,
}

/// `successes / trials` with its Wilson 95% interval.
#[napi(object)]
#[derive(Serialize, Deserialize)]
pub struct Proportion {
    pub successes: i64,
    pub trials: i64,
    pub estimate: f64,
    pub interval: Interval,
}

/// The cluster-robust interval of a proportion pooled over prompts.
#[napi(object)]
#[derive(Serialize, Deserialize)]
pub struct ClusteredInterval {
    pub interval: Interval,
    pub clusters: u32,
    pub design_effect: f64,
    pub effective_trials: f64,
}

/// Metrics of one brand within one report group.
#[napi(object)]
#[derive(Serialize, Deserialize)]
pub struct BrandMetrics {
    pub brand: String,
    #[napi(ts_type = "'target' | 'competitor'")]
    pub role: String,
    /// Answers naming the brand / answered samples.
    pub visibility: Proportion,
    /// On roll-ups over two or more prompts: the cluster-robust interval.
    pub visibility_clustered: Option<ClusteredInterval>,
    pub mentions: i64,
    pub share_of_voice_mentions: f64,
    pub share_of_voice_answers: f64,
    pub mean_rank: Option<f64>,
    pub top1: Proportion,
    pub top3: Proportion,
    pub mean_list_position: Option<f64>,
}

/// The share of citations pointing at one domain.
#[napi(object)]
#[derive(Serialize, Deserialize)]
pub struct DomainShare {
    pub domain: String,
    pub citations: i64,
    pub share: f64,
    pub answers: i64,
}

/// What a slice's answers cost (unpriced answers counted apart, not as free).
#[napi(object)]
#[derive(Serialize, Deserialize)]
pub struct CostSummary {
    pub total_usd: f64,
    pub priced_samples: i64,
    pub unpriced_samples: i64,
}

/// The metrics of one slice: a (target, prompt) cell, a target, or the whole run.
#[napi(object)]
#[derive(Serialize, Deserialize)]
pub struct ReportGroup {
    pub target: Option<Target>,
    pub prompt_index: Option<u32>,
    pub answered: i64,
    pub failed: i64,
    pub brands: Vec<BrandMetrics>,
    pub citations: Vec<DomainShare>,
    pub cost: CostSummary,
}

/// The report of a run.
#[napi(object)]
#[derive(Serialize, Deserialize)]
pub struct Report {
    pub run_id: String,
    pub experiment_name: String,
    #[napi(ts_type = "'pending' | 'running' | 'completed' | 'partial' | 'failed' | 'cancelled'")]
    pub status: String,
    pub counts: SampleCounts,
    pub prompts: Vec<String>,
    pub cells: Vec<ReportGroup>,
    pub by_target: Vec<ReportGroup>,
    pub overall: ReportGroup,
    #[serde(deserialize_with = "crate::convert::iso")]
    pub generated_at: String,
    /// For an adaptive run: per target, how many answered, why sampling stopped and the
    /// widest interval. Absent for a fixed run.
    #[serde(default)]
    pub adaptive: Option<AdaptiveSummary>,
}

impl Report {
    pub fn from_core(report: &core::Report) -> echo_core::Result<Self> {
        out(report, "report")
    }
}

/// The change of a proportion between two runs, with its interval and test.
#[napi(object)]
#[derive(Serialize, Deserialize)]
pub struct ProportionChange {
    pub before: Proportion,
    pub after: Proportion,
    pub difference: f64,
    /// Newcombe 95% interval of the difference.
    pub interval: Interval,
    pub p_value: f64,
    #[napi(ts_type = "'two_proportion_z' | 'fisher_exact'")]
    pub test: String,
    pub significant: bool,
}

/// One brand's visibility change, overall (no target) or for one target.
#[napi(object)]
#[derive(Serialize, Deserialize)]
pub struct BrandChange {
    pub brand: String,
    pub target: Option<Target>,
    pub visibility: ProportionChange,
}

/// How stable the brands' order is between two runs.
#[napi(object)]
#[derive(Serialize, Deserialize)]
pub struct RankStability {
    pub target: Option<Target>,
    pub before: Vec<String>,
    pub after: Vec<String>,
    pub kendall_tau_b: Option<f64>,
    pub rank_biased_overlap: Option<f64>,
}

/// Every brand's visibility compared between two runs.
#[napi(object)]
#[derive(Serialize, Deserialize)]
pub struct RunComparison {
    pub before: String,
    pub after: String,
    pub alpha: f64,
    pub changes: Vec<BrandChange>,
    pub rank_stability: Vec<RankStability>,
}

/// One run's point of a visibility series.
#[napi(object)]
#[derive(Serialize, Deserialize)]
pub struct SeriesPoint {
    pub run_id: String,
    #[serde(deserialize_with = "crate::convert::iso")]
    pub at: String,
    pub visibility: Proportion,
    pub visibility_clustered: Option<ClusteredInterval>,
    /// The change from the previous point (absent on the first).
    pub change: Option<ProportionChange>,
}

/// A brand's visibility over an experiment's runs, overall or for one target.
#[napi(object)]
#[derive(Serialize, Deserialize)]
pub struct VisibilitySeries {
    pub brand: String,
    pub target: Option<Target>,
    pub points: Vec<SeriesPoint>,
}

/// The expected cost of one target's samples.
#[napi(object)]
#[derive(Serialize, Deserialize)]
pub struct TargetEstimate {
    pub target: Target,
    pub samples: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    /// Absent when the model has no price.
    pub cost_usd: Option<f64>,
}

/// The expected cost of a run before anything is spent.
#[napi(object)]
#[derive(Serialize, Deserialize)]
pub struct Estimate {
    pub planned_samples: i64,
    pub targets: Vec<TargetEstimate>,
    /// Absent when some target has no price.
    pub total_cost_usd: Option<f64>,
    /// The cost of the priced targets.
    pub priced_cost_usd: f64,
}

/// What precision a plan aims for.
#[napi(object)]
#[derive(Serialize, Deserialize)]
pub struct PlanRequest {
    /// The "±" wanted, as a proportion (0.05 for ±5 points).
    pub half_width: f64,
    /// The visibility you expect, if you have an idea (else only the worst case, 50%).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_rate: Option<f64>,
    /// Precision per `target` (default) or per (target, prompt) `cell`.
    #[napi(ts_type = "'target' | 'cell'")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

/// Repeats needed at one rate, and what they cost.
#[napi(object)]
#[derive(Serialize, Deserialize)]
pub struct PlanPoint {
    pub rate: f64,
    pub samples_needed: i64,
    pub repeats: u32,
    pub estimate: Estimate,
    pub fits_one_run: bool,
}

/// The adaptive stopping goal that reaches the precision with fewer answers.
#[napi(object)]
#[derive(Serialize, Deserialize)]
pub struct AdaptiveGoal {
    pub half_width: f64,
    pub min_samples: i64,
    pub max_samples: i64,
    pub confidence: f64,
}

/// How many repeats an experiment needs for a precision, and the cost.
#[napi(object)]
#[derive(Serialize, Deserialize)]
pub struct Plan {
    pub request: PlanRequest,
    pub expected: PlanPoint,
    pub worst_case: PlanPoint,
    pub adaptive: AdaptiveGoal,
}

#[napi]
impl Echo {
    /// The report of a run, from its stored answers (during and after execution).
    #[napi(strict, ts_return_type = "Promise<Report>")]
    pub fn report<'env>(
        &self,
        env: &'env Env,
        principal: &Principal,
        run_id: String,
    ) -> napi::Result<PromiseRaw<'env, Report>> {
        let id: RunId = sync(env, parse(&run_id, "runId"))?;
        let (echo, principal) = clone_parts(self, principal);
        spawn(env, async move { echo.report(&principal, id).await }, |r| {
            Report::from_core(&r)
        })
    }

    /// Recomputes a run's report with another set of brands, from the stored answers: no
    /// provider is called and nothing is written.
    #[napi(strict, ts_return_type = "Promise<Report>")]
    pub fn reanalyze<'env>(
        &self,
        env: &'env Env,
        principal: &Principal,
        run_id: String,
        brands: Vec<BrandSpec>,
    ) -> napi::Result<PromiseRaw<'env, Report>> {
        let id: RunId = sync(env, parse(&run_id, "runId"))?;
        let brands: Vec<core::BrandSpec> = sync(env, via_serde(&brands, "brands"))?;
        let (echo, principal) = clone_parts(self, principal);
        spawn(env, async move { echo.reanalyze(&principal, id, brands).await }, |r| {
            Report::from_core(&r)
        })
    }

    /// Compares every brand's visibility between two runs (overall and per target), with
    /// a 95% interval of the difference and a test flagged significant at `alpha`
    /// (default 0.05).
    #[napi(
        strict,
        ts_args_type = "principal: Principal, before: string, after: string, alpha?: number",
        ts_return_type = "Promise<RunComparison>"
    )]
    pub fn compare_runs<'env>(
        &self,
        env: &'env Env,
        principal: &Principal,
        before: String,
        after: String,
        alpha: Option<f64>,
    ) -> napi::Result<PromiseRaw<'env, RunComparison>> {
        let before: RunId = sync(env, parse(&before, "before"))?;
        let after: RunId = sync(env, parse(&after, "after"))?;
        let (echo, principal) = clone_parts(self, principal);
        spawn(
            env,
            async move {
                echo.compare_runs(&principal, before, after, alpha.unwrap_or(0.05))
                    .await
            },
            |c| out(&c, "comparison"),
        )
    }

    /// Every brand's visibility over the experiment's last `limit` finished runs (1–100),
    /// with significant changes flagged.
    #[napi(strict, ts_return_type = "Promise<VisibilitySeries[]>")]
    pub fn visibility_series<'env>(
        &self,
        env: &'env Env,
        principal: &Principal,
        experiment_id: String,
        limit: u32,
    ) -> napi::Result<PromiseRaw<'env, Vec<VisibilitySeries>>> {
        let id: ExperimentId = sync(env, parse(&experiment_id, "experimentId"))?;
        let (echo, principal) = clone_parts(self, principal);
        spawn(
            env,
            async move { echo.visibility_series(&principal, id, limit).await },
            |s| out(&s, "visibility series"),
        )
    }

    /// How many repeats the experiment needs for ±`halfWidth`, and what that costs.
    #[napi(strict, ts_return_type = "Promise<Plan>")]
    pub fn plan<'env>(
        &self,
        env: &'env Env,
        principal: &Principal,
        experiment_id: String,
        request: PlanRequest,
    ) -> napi::Result<PromiseRaw<'env, Plan>> {
        let id: ExperimentId = sync(env, parse(&experiment_id, "experimentId"))?;
        let request: CorePlanRequest = sync(env, via_serde(&request, "request"))?;
        let (echo, principal) = clone_parts(self, principal);
        spawn(env, async move { echo.plan(&principal, id, request).await }, |p| {
            out(&p, "plan")
        })
    }

    /// The expected cost of one run of an experiment.
    #[napi(strict, ts_return_type = "Promise<Estimate>")]
    pub fn estimate<'env>(
        &self,
        env: &'env Env,
        principal: &Principal,
        experiment_id: String,
    ) -> napi::Result<PromiseRaw<'env, Estimate>> {
        let id: ExperimentId = sync(env, parse(&experiment_id, "experimentId"))?;
        let (echo, principal) = clone_parts(self, principal);
        spawn(env, async move { echo.estimate(&principal, id).await }, |e| {
            out(&e, "estimate")
        })
    }
}
