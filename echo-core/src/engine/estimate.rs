//! Cost estimates of a run before it starts.

use serde::{Deserialize, Serialize};

use crate::model::{ExperimentSpec, Target};
use crate::provider::PricingTable;

/// Output tokens assumed per answer when the spec sets no `max_output_tokens`: a typical
/// buyer-question answer (a list of 5–8 products with a sentence each) is 300–600 tokens.
pub const EXPECTED_OUTPUT_TOKENS: u64 = 500;

/// The expected cost of one target's share of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetEstimate {
    pub target: Target,
    pub samples: u64,
    /// Input tokens over all of the target's samples.
    pub input_tokens: u64,
    /// Output tokens over all of the target's samples.
    pub output_tokens: u64,
    /// `None` when the pricing table has no price for the model.
    pub cost_usd: Option<f64>,
}

/// The expected cost of a run, before anything is spent.
///
/// Input tokens are estimated as ⌈bytes / 4⌉ of the system prompt plus each prompt (the
/// usual rule of thumb for English; exact counts need the provider's tokenizer). Output
/// tokens are `max_output_tokens` when set (an upper bound), else
/// [`EXPECTED_OUTPUT_TOKENS`]. Web search and per-request fees are not included.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    pub planned_samples: u64,
    pub targets: Vec<TargetEstimate>,
    /// Sum over targets; `None` if any target is unpriced.
    pub total_cost_usd: Option<f64>,
    /// Sum over the priced targets only.
    pub priced_cost_usd: f64,
}

/// Estimates the cost of one run of `spec` with `pricing`.
pub fn estimate(spec: &ExperimentSpec, pricing: &PricingTable) -> Estimate {
    let system = spec.system_prompt.as_deref().map_or(0, tokens_of);
    let input_per_round: u64 = spec.prompts.iter().map(|p| system + tokens_of(p)).sum();
    let repeats = u64::from(spec.repeats);
    let output_per_answer = spec.max_output_tokens.map_or(EXPECTED_OUTPUT_TOKENS, u64::from);
    let targets: Vec<TargetEstimate> = spec
        .targets
        .iter()
        .map(|target| {
            let samples = spec.prompts.len() as u64 * repeats;
            let input_tokens = input_per_round * repeats;
            let output_tokens = output_per_answer * samples;
            TargetEstimate {
                target: target.clone(),
                samples,
                input_tokens,
                output_tokens,
                cost_usd: pricing.estimate(&target.provider, &target.model, input_tokens, output_tokens),
            }
        })
        .collect();
    let total_cost_usd = targets.iter().map(|t| t.cost_usd).sum::<Option<f64>>();
    let priced_cost_usd = targets.iter().filter_map(|t| t.cost_usd).sum();
    Estimate {
        planned_samples: spec.planned_samples(),
        targets,
        total_cost_usd,
        priced_cost_usd,
    }
}

pub(super) fn tokens_of(text: &str) -> u64 {
    (text.len() as u64).div_ceil(4)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::BrandSpec;

    #[test]
    fn estimates_add_up_by_hand() {
        let spec = ExperimentSpec {
            name: "e".into(),
            prompts: vec!["x".repeat(400), "y".repeat(38)], // 100 and 10 tokens
            brands: vec![BrandSpec::target("Acme")],
            targets: vec![Target::new("openai", "gpt-4o-mini"), Target::new("simulated", "m")],
            repeats: 10,
            system_prompt: Some("z".repeat(40)), // 10 tokens per prompt
            temperature: None,
            max_output_tokens: None,
            web_search: false,
        };
        let e = estimate(&spec, &PricingTable::default());
        assert_eq!(e.planned_samples, 40);
        let openai = &e.targets[0];
        assert_eq!(openai.samples, 20);
        assert_eq!(openai.input_tokens, (110 + 20) * 10);
        assert_eq!(openai.output_tokens, 500 * 20);
        // 1,300 × 0.15 + 10,000 × 0.60 = 195 + 6,000 = 6,195 per million.
        assert!((openai.cost_usd.unwrap() - 0.006_195).abs() < 1e-12);
        assert_eq!(e.targets[1].cost_usd, None, "the simulator has no price");
        assert_eq!(e.total_cost_usd, None);
        assert!((e.priced_cost_usd - 0.006_195).abs() < 1e-12);
    }
}
