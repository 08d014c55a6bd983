//! What an adaptive run may cost before it starts: the worst case (every target sampled to
//! `max_samples`, which is what quota reserves) and the expected case at a visibility the
//! user expects for the goal brand closest to ½.

use serde::{Deserialize, Serialize};

use super::Echo;
use super::estimate::{EXPECTED_OUTPUT_TOKENS, Estimate, TargetEstimate, tokens_of};
use crate::analysis::sequential::{StoppingRule, operating_characteristics};
use crate::auth::{Principal, Scope};
use crate::model::{AdaptiveOptions, ExperimentId, ExperimentSpec};
use crate::provider::PricingTable;
use crate::{Error, Result};

/// The cost of an adaptive run at its maximum and at an expected visibility.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdaptiveEstimate {
    /// Every target sampled to `goal.max_samples`: the most the run can cost, and what
    /// quota reserves.
    pub worst_case: Estimate,
    /// The visibility assumed for the expected case.
    pub expected_rate: f64,
    /// Answers per target expected at `expected_rate` (the exact expected stopping time of
    /// the rule for one brand at that rate, looking after every answer; waves add a few).
    pub expected_samples_per_target: f64,
    /// The cost at `expected_samples_per_target` (rounded up) per target.
    pub expected: Estimate,
}

impl Echo {
    /// The worst-case and expected cost of an adaptive run of an experiment. The expected
    /// case assumes the goal brand closest to ½ has visibility `expected_rate` (pass 0.5
    /// when unknown: the worst case; the answers needed grow with p(1 − p)). Errors:
    /// `InvalidInput` for bad options (as `start_run`) or a rate outside [0, 1].
    #[tracing::instrument(skip_all, fields(account_id = %principal.account_id(), experiment_id = %experiment_id))]
    pub async fn estimate_adaptive(
        &self,
        principal: &Principal,
        experiment_id: ExperimentId,
        options: &AdaptiveOptions,
        expected_rate: f64,
    ) -> Result<AdaptiveEstimate> {
        principal.require(Scope::ExperimentsRead)?;
        self.ensure_active(principal).await?;
        let experiment = self
            .store()
            .get_experiment(principal.account_id(), experiment_id)
            .await?;
        self.audit_admin_read(
            principal,
            "estimate_adaptive",
            Some(crate::audit::AuditTarget::new("experiment", experiment_id)),
        )
        .await?;
        estimate_adaptive(&experiment.spec, options, expected_rate, self.pricing())
    }
}

/// [`Echo::estimate_adaptive`] without the store.
pub fn estimate_adaptive(
    spec: &ExperimentSpec,
    options: &AdaptiveOptions,
    expected_rate: f64,
    pricing: &PricingTable,
) -> Result<AdaptiveEstimate> {
    super::adaptive::validate(options, spec)?;
    if !(0.0..=1.0).contains(&expected_rate) {
        return Err(Error::invalid(
            "expected_rate",
            format!("must be a proportion in [0, 1] (0.5 when unknown), got {expected_rate}"),
        ));
    }
    let goal = options.goal;
    let rule = StoppingRule::with_method(goal, options.method)?;
    // Goals that can run past ~2,800 answers are too long to compute exactly: assume the
    // maximum.
    let expected_n = operating_characteristics(&rule, &[expected_rate], 1)
        .ok()
        .and_then(|points| points.first().map(|p| p.expected_samples))
        .unwrap_or(goal.max_samples as f64);
    Ok(AdaptiveEstimate {
        worst_case: with_samples(spec, goal.max_samples, pricing),
        expected_rate,
        expected_samples_per_target: expected_n,
        expected: with_samples(spec, (expected_n.ceil() as u64).min(goal.max_samples), pricing),
    })
}

/// The estimate of `per_target` samples per target, prompts asked in turn (the k-th sample
/// asks prompt `k % prompts`), tokens estimated as [`super::estimate`] does.
fn with_samples(spec: &ExperimentSpec, per_target: u64, pricing: &PricingTable) -> Estimate {
    let system = spec.system_prompt.as_deref().map_or(0, tokens_of);
    let per_prompt: Vec<u64> = spec.prompts.iter().map(|p| system + tokens_of(p)).collect();
    let prompts = per_prompt.len().max(1) as u64;
    let rounds = per_target / prompts;
    let rest = (per_target % prompts) as usize;
    let input_tokens = rounds * per_prompt.iter().sum::<u64>() + per_prompt[..rest].iter().sum::<u64>();
    let output_tokens = spec.max_output_tokens.map_or(EXPECTED_OUTPUT_TOKENS, u64::from) * per_target;
    let targets: Vec<TargetEstimate> = spec
        .targets
        .iter()
        .map(|target| TargetEstimate {
            target: target.clone(),
            samples: per_target,
            input_tokens,
            output_tokens,
            cost_usd: pricing.estimate(&target.provider, &target.model, input_tokens, output_tokens),
        })
        .collect();
    Estimate {
        planned_samples: per_target * spec.targets.len() as u64,
        total_cost_usd: targets.iter().map(|t| t.cost_usd).sum::<Option<f64>>(),
        priced_cost_usd: targets.iter().filter_map(|t| t.cost_usd).sum(),
        targets,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{BrandSpec, Target};

    #[test]
    fn worst_case_is_the_maximum_and_expected_is_smaller_away_from_half() {
        let spec = ExperimentSpec {
            name: "e".into(),
            prompts: vec!["x".repeat(400), "y".repeat(38)], // 100 and 10 tokens
            brands: vec![BrandSpec::target("Acme")],
            targets: vec![Target::new("openai", "gpt-4o-mini")],
            repeats: 1,
            system_prompt: None,
            temperature: None,
            max_output_tokens: None,
            web_search: false,
        };
        let options = AdaptiveOptions::new(0.05).unwrap();
        let e = estimate_adaptive(&spec, &options, 0.1, &PricingTable::default()).unwrap();
        assert_eq!(e.worst_case.planned_samples, 381);
        // 190 rounds of both prompts and one more of the first.
        assert_eq!(e.worst_case.targets[0].input_tokens, 190 * 110 + 100);
        assert!(e.expected_samples_per_target > 100.0 && e.expected_samples_per_target < 200.0);
        assert!(e.expected.priced_cost_usd < e.worst_case.priced_cost_usd);
        let at_half = estimate_adaptive(&spec, &options, 0.5, &PricingTable::default()).unwrap();
        assert!(
            at_half.expected_samples_per_target > 370.0,
            "{}",
            at_half.expected_samples_per_target
        );
        let err = estimate_adaptive(&spec, &options, 1.5, &PricingTable::default()).unwrap_err();
        assert_eq!(err.field(), Some("expected_rate"));
    }
}
