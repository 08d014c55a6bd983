//! What calls cost: a pricing table of USD per million tokens per model.
//!
//! The built-in table lists list prices of common models at the time of writing; prices
//! change, so hosts override or extend it ([`PricingTable::set`]). A model is matched by
//! its longest priced prefix, so dated snapshots (`gpt-4o-mini-2024-07-18`) use the price
//! of their family (`gpt-4o-mini`). Unknown models cost `None`, never a made-up 0.
//!
//! Token accounting differs by provider, and the cost follows each provider's meaning of
//! its usage fields (see [`Usage`]):
//! - OpenAI-style (`openai`, `openai_compatible`, `perplexity`): input tokens *include*
//!   cached ones; those are charged at the cached rate, the rest at the input rate.
//! - `anthropic`: input tokens *exclude* cache reads; cache reads are charged on top at the
//!   cached rate.
//! - `gemini` and `perplexity`: output tokens *exclude* thinking/reasoning tokens, which
//!   are billed as output, so reasoning tokens are added to output.
//!
//! Request fees (e.g. Perplexity's per-search fee) and cache-write surcharges are not
//! modelled; costs are estimates for budgeting, not invoices.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Usage;

/// USD per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ModelPrice {
    pub input_per_mtok: f64,
    pub output_per_mtok: f64,
    /// Cached input tokens; the input rate when `None`.
    pub cached_input_per_mtok: Option<f64>,
}

impl ModelPrice {
    pub const fn new(input_per_mtok: f64, output_per_mtok: f64) -> Self {
        Self {
            input_per_mtok,
            output_per_mtok,
            cached_input_per_mtok: None,
        }
    }

    pub const fn with_cached(mut self, cached_input_per_mtok: f64) -> Self {
        self.cached_input_per_mtok = Some(cached_input_per_mtok);
        self
    }
}

/// Prices by provider and model prefix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PricingTable {
    /// provider id → model prefix → price.
    prices: BTreeMap<String, BTreeMap<String, ModelPrice>>,
}

/// List prices used by [`PricingTable::default`] (USD per million tokens, input / output
/// / cached input). Check the providers' pricing pages before relying on them.
const BUILT_IN: &[(&str, &str, f64, f64, Option<f64>)] = &[
    ("openai", "gpt-4o", 2.50, 10.00, Some(1.25)),
    ("openai", "gpt-4o-mini", 0.15, 0.60, Some(0.075)),
    ("openai", "gpt-4o-search-preview", 2.50, 10.00, None),
    ("openai", "gpt-4o-mini-search-preview", 0.15, 0.60, None),
    ("openai", "gpt-4.1", 2.00, 8.00, Some(0.50)),
    ("openai", "gpt-4.1-mini", 0.40, 1.60, Some(0.10)),
    ("openai", "gpt-4.1-nano", 0.10, 0.40, Some(0.025)),
    ("openai", "gpt-5", 1.25, 10.00, Some(0.125)),
    ("openai", "gpt-5-mini", 0.25, 2.00, Some(0.025)),
    ("openai", "gpt-5-nano", 0.05, 0.40, Some(0.005)),
    ("openai", "o3-mini", 1.10, 4.40, Some(0.55)),
    ("openai", "o4-mini", 1.10, 4.40, Some(0.275)),
    ("anthropic", "claude-3-5-haiku", 0.80, 4.00, Some(0.08)),
    ("anthropic", "claude-haiku-4-5", 1.00, 5.00, Some(0.10)),
    ("anthropic", "claude-3-7-sonnet", 3.00, 15.00, Some(0.30)),
    ("anthropic", "claude-sonnet-4", 3.00, 15.00, Some(0.30)),
    ("anthropic", "claude-opus-4", 15.00, 75.00, Some(1.50)),
    ("gemini", "gemini-2.0-flash", 0.10, 0.40, Some(0.025)),
    ("gemini", "gemini-2.5-flash-lite", 0.10, 0.40, Some(0.025)),
    ("gemini", "gemini-2.5-flash", 0.30, 2.50, Some(0.075)),
    ("gemini", "gemini-2.5-pro", 1.25, 10.00, Some(0.31)),
    ("perplexity", "sonar", 1.00, 1.00, None),
    ("perplexity", "sonar-pro", 3.00, 15.00, None),
];

impl Default for PricingTable {
    fn default() -> Self {
        let mut table = Self::empty();
        for &(provider, model, input, output, cached) in BUILT_IN {
            let mut price = ModelPrice::new(input, output);
            price.cached_input_per_mtok = cached;
            table.set(provider, model, price);
        }
        table
    }
}

impl PricingTable {
    /// A table with no prices (every cost is `None` until set).
    pub fn empty() -> Self {
        Self {
            prices: BTreeMap::new(),
        }
    }

    /// Sets the price of `model` (and every model it is the longest prefix of) at `provider`.
    pub fn set(&mut self, provider: &str, model: &str, price: ModelPrice) -> &mut Self {
        self.prices
            .entry(provider.to_string())
            .or_default()
            .insert(model.to_string(), price);
        self
    }

    /// The price of `model` at `provider`: exact name, else the longest priced prefix that
    /// ends at a `-` boundary (so `gpt-4o` does not price `gpt-4o1`).
    pub fn price(&self, provider: &str, model: &str) -> Option<ModelPrice> {
        let models = self.prices.get(provider)?;
        let model = model.strip_prefix("models/").unwrap_or(model);
        if let Some(p) = models.get(model) {
            return Some(*p);
        }
        models
            .iter()
            .filter(|(prefix, _)| model.starts_with(prefix.as_str()) && model[prefix.len()..].starts_with('-'))
            .max_by_key(|(prefix, _)| prefix.len())
            .map(|(_, p)| *p)
    }

    /// The cost in USD of one call with `usage`, or `None` when the model has no price or
    /// the provider reported no token counts.
    pub fn cost(&self, provider: &str, model: &str, usage: &Usage) -> Option<f64> {
        let price = self.price(provider, model)?;
        if usage.input_tokens.is_none() && usage.output_tokens.is_none() {
            return None;
        }
        let input = usage.input_tokens.unwrap_or(0) as f64;
        let output = usage.output_tokens.unwrap_or(0) as f64;
        let cached = usage.cached_input_tokens.unwrap_or(0) as f64;
        let cached_rate = price.cached_input_per_mtok.unwrap_or(price.input_per_mtok);
        let (input_cost, output_tokens) = match provider {
            "anthropic" => (input * price.input_per_mtok + cached * cached_rate, output),
            "gemini" | "perplexity" => {
                let uncached = (input - cached).max(0.0);
                let thinking = usage.reasoning_tokens.unwrap_or(0) as f64;
                (
                    uncached * price.input_per_mtok + cached * cached_rate,
                    output + thinking,
                )
            }
            _ => {
                let uncached = (input - cached).max(0.0);
                (uncached * price.input_per_mtok + cached * cached_rate, output)
            }
        };
        Some((input_cost + output_tokens * price.output_per_mtok) / 1_000_000.0)
    }

    /// The cost of `input` and `output` tokens at list price (for estimates).
    pub fn estimate(&self, provider: &str, model: &str, input: u64, output: u64) -> Option<f64> {
        let price = self.price(provider, model)?;
        Some((input as f64 * price.input_per_mtok + output as f64 * price.output_per_mtok) / 1_000_000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(input: u64, output: u64, cached: Option<u64>, reasoning: Option<u64>) -> Usage {
        Usage {
            input_tokens: Some(input),
            output_tokens: Some(output),
            cached_input_tokens: cached,
            reasoning_tokens: reasoning,
        }
    }

    #[test]
    fn prefixes_match_families_not_lookalikes() {
        let t = PricingTable::default();
        assert_eq!(
            t.price("openai", "gpt-4o-mini-2024-07-18"),
            t.price("openai", "gpt-4o-mini")
        );
        assert_ne!(t.price("openai", "gpt-4o-mini"), t.price("openai", "gpt-4o"));
        assert!(t.price("openai", "gpt-4o1").is_none());
        assert_eq!(
            t.price("gemini", "models/gemini-2.5-flash"),
            t.price("gemini", "gemini-2.5-flash")
        );
        assert!(t.price("gemini", "gemini-2.5-flash-lite-001").unwrap().input_per_mtok < 0.2);
        assert!(t.price("nobody", "x").is_none());
    }

    #[test]
    fn costs_follow_each_providers_usage_meaning() {
        let t = PricingTable::default();
        // OpenAI gpt-4o-mini: 1,000 input of which 200 cached, 500 output.
        // 800 × 0.15 + 200 × 0.075 + 500 × 0.60 = 120 + 15 + 300 = 435 per million → 0.000435
        let c = t
            .cost("openai", "gpt-4o-mini", &usage(1000, 500, Some(200), None))
            .unwrap();
        assert!((c - 0.000_435).abs() < 1e-12, "{c}");
        // Anthropic claude-3-5-haiku: input excludes cache reads: 1,000 × 0.80 + 200 × 0.08 + 500 × 4 = 2,816
        let c = t
            .cost(
                "anthropic",
                "claude-3-5-haiku-20241022",
                &usage(1000, 500, Some(200), None),
            )
            .unwrap();
        assert!((c - 0.002_816).abs() < 1e-12, "{c}");
        // Gemini 2.5 flash: thinking billed as output: 1,000 × 0.30 + (500 + 300) × 2.50 = 2,300
        let c = t
            .cost("gemini", "gemini-2.5-flash", &usage(1000, 500, None, Some(300)))
            .unwrap();
        assert!((c - 0.002_3).abs() < 1e-12, "{c}");
        // Not reported → None, not 0.
        assert!(t.cost("openai", "gpt-4o", &Usage::default()).is_none());
        assert!(t.cost("openai", "unknown-model", &usage(1, 1, None, None)).is_none());
    }

    #[test]
    fn hosts_override_prices() {
        let mut t = PricingTable::empty();
        t.set("openai_compatible", "llama3", ModelPrice::new(0.0, 0.0));
        assert_eq!(
            t.cost("openai_compatible", "llama3", &usage(10, 10, None, None)),
            Some(0.0)
        );
        t.set("openai", "gpt-4o", ModelPrice::new(1.0, 2.0));
        assert_eq!(t.estimate("openai", "gpt-4o-2024-08-06", 1_000_000, 500_000), Some(2.0));
    }
}
