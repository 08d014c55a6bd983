//! Planning a run from a precision: how many answers per target, and what they cost.
//!
//! Users ask for "visibility to within ±5 points", not for a repeat count. A plan turns the
//! precision into repeats per prompt for an experiment's shape, at the rate the user expects
//! and at the worst case (50%), and prices both with the engine's cost estimator, so the
//! numbers agree with `Echo::estimate` for the same repeats.

use serde::{Deserialize, Serialize};

use super::plan::samples_for_half_width;
use super::sequential::AdaptiveGoal;
use crate::engine::{Estimate, estimate};
use crate::model::{ExperimentSpec, MAX_SAMPLES_PER_RUN};
use crate::provider::PricingTable;
use crate::{Error, Result};

/// Which interval the precision is for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrecisionScope {
    /// Each target's visibility pooled over its prompts (the report's `by_target`): the
    /// answers needed are spread over the prompts.
    #[default]
    Target,
    /// Each (target, prompt) cell: every prompt gets all the answers needed.
    Cell,
}

/// What precision to plan for.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PlanRequest {
    /// The Wilson 95% half-width wanted, as a proportion (0.05 for ±5 points), in (0, 0.5].
    pub half_width: f64,
    /// The visibility expected, in [0, 1]; `None` plans for the worst case, 0.5.
    #[serde(default)]
    pub expected_rate: Option<f64>,
    #[serde(default)]
    pub scope: PrecisionScope,
}

/// The run that delivers the precision at one assumed rate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanPoint {
    /// The rate assumed.
    pub rate: f64,
    /// Answers needed per interval (per target, or per cell) for the half-width at `rate`.
    pub samples_needed: u64,
    /// Repeats per prompt that deliver them (rounded up, so each prompt gets the same share).
    pub repeats: u32,
    /// Samples and cost of one run of the experiment with `repeats` (the engine's estimate:
    /// see [`Estimate`] for how tokens are counted). Assumes every sample is answered.
    pub estimate: Estimate,
    /// Whether one run may hold this many samples (the per-run limit is
    /// [`MAX_SAMPLES_PER_RUN`]); if not, split the study over several runs.
    pub fits_one_run: bool,
}

/// A precision plan for an experiment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub request: PlanRequest,
    /// At `request.expected_rate` (the worst case when none was given). If the true rate is
    /// nearer 50% than expected, the interval comes out wider.
    pub expected: PlanPoint,
    /// At the worst case, 50%: the precision is delivered whatever the rates.
    pub worst_case: PlanPoint,
    /// The adaptive alternative: sample each target until every tracked brand meets the
    /// precision, at most the worst case (see `analysis::sequential`). It costs at most
    /// `worst_case` and, when every brand is far from 50%, much less.
    pub adaptive: AdaptiveGoal,
}

/// Plans runs of `spec` (its targets and prompts; its repeats are ignored) for the precision
/// in `request`, priced with `pricing`.
///
/// Errors: `half_width` outside (0, 0.5], `expected_rate` outside [0, 1] (fields
/// `request.half_width`, `request.expected_rate`); a spec without targets or prompts; a
/// precision needing more than 2³² repeats.
pub fn plan_run(spec: &ExperimentSpec, request: PlanRequest, pricing: &PricingTable) -> Result<Plan> {
    if spec.prompts.is_empty() || spec.targets.is_empty() {
        return Err(Error::invalid(
            "spec",
            "needs at least one prompt and one target to plan for",
        ));
    }
    let named = |e: Error| match e {
        Error::InvalidInput { field, message } => Error::invalid(format!("request.{field}"), message),
        other => other,
    };
    let worst = point(spec, &request, 0.5, pricing).map_err(named)?;
    let expected = match request.expected_rate {
        Some(rate) => point(spec, &request, rate, pricing).map_err(named)?,
        None => worst.clone(),
    };
    let adaptive = AdaptiveGoal::new(request.half_width).map_err(named)?;
    Ok(Plan {
        request,
        expected,
        worst_case: worst,
        adaptive,
    })
}

fn point(spec: &ExperimentSpec, request: &PlanRequest, rate: f64, pricing: &PricingTable) -> Result<PlanPoint> {
    let needed = samples_for_half_width(request.half_width, Some(rate))?;
    let prompts = spec.prompts.len() as u64;
    let repeats = match request.scope {
        PrecisionScope::Target => needed.div_ceil(prompts),
        PrecisionScope::Cell => needed,
    };
    let repeats = u32::try_from(repeats).map_err(|_| {
        Error::invalid(
            "half_width",
            format!("needs {repeats} repeats per prompt, beyond any run; ask for a wider interval"),
        )
    })?;
    let planned = ExperimentSpec {
        repeats,
        ..spec.clone()
    };
    let estimate = estimate(&planned, pricing);
    Ok(PlanPoint {
        rate,
        samples_needed: needed,
        repeats,
        fits_one_run: estimate.planned_samples <= MAX_SAMPLES_PER_RUN,
        estimate,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{BrandSpec, Target};

    fn spec(prompts: usize) -> ExperimentSpec {
        ExperimentSpec {
            name: "e".into(),
            prompts: (0..prompts).map(|i| "x".repeat(400 + i)).collect(),
            brands: vec![BrandSpec::target("Acme")],
            targets: vec![Target::new("openai", "gpt-4o-mini"), Target::new("simulated", "m")],
            repeats: 1,
            system_prompt: None,
            temperature: None,
            max_output_tokens: None,
            web_search: false,
        }
    }

    #[test]
    fn plan_by_hand() {
        // ±5 points at an expected 10%: 141 answers per target (plan.rs); over 2 prompts,
        // 71 repeats each = 142 answers per target. Worst case: 381 → 191 repeats.
        let request = PlanRequest {
            half_width: 0.05,
            expected_rate: Some(0.1),
            scope: PrecisionScope::Target,
        };
        let p = plan_run(&spec(2), request, &PricingTable::default()).unwrap();
        assert_eq!((p.expected.samples_needed, p.expected.repeats), (141, 71));
        assert_eq!((p.worst_case.samples_needed, p.worst_case.repeats), (381, 191));
        assert_eq!(p.expected.estimate.planned_samples, 2 * 2 * 71);
        assert!(p.expected.fits_one_run);
        // Cost of gpt-4o-mini at 71 repeats: input (100 + 101 tokens) × 71 = 14,271; output
        // 500 × 142 = 71,000 → 14,271 × 0.15 + 71,000 × 0.60 per million = $0.0447407.
        let openai = &p.expected.estimate.targets[0];
        assert_eq!((openai.input_tokens, openai.output_tokens), (14_271, 71_000));
        assert!((openai.cost_usd.unwrap() - 0.044_740_65).abs() < 1e-9);
        // The simulator has no price, so the total is unknown but the priced part is given.
        assert_eq!(p.expected.estimate.total_cost_usd, None);
        assert!(p.worst_case.estimate.priced_cost_usd > p.expected.estimate.priced_cost_usd);
        assert_eq!(p.adaptive.max_samples, 381);
    }

    #[test]
    fn cell_scope_and_worst_case_default() {
        let request = PlanRequest {
            half_width: 0.1,
            expected_rate: None,
            scope: PrecisionScope::Cell,
        };
        let p = plan_run(&spec(3), request, &PricingTable::default()).unwrap();
        assert_eq!(p.expected, p.worst_case);
        assert_eq!((p.worst_case.samples_needed, p.worst_case.repeats), (93, 93));
        assert_eq!(p.worst_case.estimate.planned_samples, 2 * 3 * 93);
    }

    #[test]
    fn huge_plans_do_not_fit_one_run_and_bad_requests_name_the_field() {
        let request = PlanRequest {
            half_width: 0.002,
            expected_rate: None,
            scope: PrecisionScope::Cell,
        };
        let p = plan_run(&spec(1), request, &PricingTable::default()).unwrap();
        assert!(!p.worst_case.fits_one_run);
        let bad = |half_width, expected_rate| {
            let r = PlanRequest {
                half_width,
                expected_rate,
                scope: PrecisionScope::Target,
            };
            plan_run(&spec(1), r, &PricingTable::default())
                .unwrap_err()
                .field()
                .map(str::to_string)
        };
        assert_eq!(bad(0.0, None).as_deref(), Some("request.half_width"));
        assert_eq!(bad(0.05, Some(1.5)).as_deref(), Some("request.expected_rate"));
    }
}
