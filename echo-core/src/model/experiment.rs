//! Experiments: which question(s) to ask, of which models, how often, about which brands.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{AccountId, BrandSpec, ExperimentId};

/// The largest number of samples one run may plan (targets × prompts × repeats).
/// Larger studies are split into several runs; the limit keeps one run's enqueue
/// transaction and its report comfortably in memory.
pub const MAX_SAMPLES_PER_RUN: u64 = 100_000;

/// The longest prompt accepted, in bytes.
pub const MAX_PROMPT_BYTES: usize = 32 * 1024;

/// One model at one provider, e.g. `openai/gpt-4o-mini`. Metrics are reported per target.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Target {
    /// The provider id as registered with the engine (`simulated`, `replay`, `openai`...).
    pub provider: String,
    /// The model name passed to the provider.
    pub model: String,
}

impl Target {
    pub fn new(provider: impl Into<String>, model: impl Into<String>) -> Self {
        Self {
            provider: provider.into(),
            model: model.into(),
        }
    }

    /// Parses `provider/model` (the model part may itself contain `/`).
    pub fn parse(s: &str) -> crate::Result<Self> {
        match s.split_once('/') {
            Some((p, m)) if !p.trim().is_empty() && !m.trim().is_empty() => Ok(Self::new(p.trim(), m.trim())),
            _ => Err(crate::Error::invalid(
                "target",
                format!("{s:?} is not of the form provider/model"),
            )),
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.provider, self.model)
    }
}

/// Everything that defines an experiment. Validated by
/// [`ExperimentSpec::validate`] before anything is stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExperimentSpec {
    /// A name for people.
    pub name: String,
    /// The buyer questions, asked verbatim.
    pub prompts: Vec<String>,
    /// The tracked brands: at least one with role `target`, plus competitors.
    pub brands: Vec<BrandSpec>,
    /// The models to ask.
    pub targets: Vec<Target>,
    /// How many times each prompt is asked of each target.
    pub repeats: u32,
    /// Optional system prompt sent before each question.
    #[serde(default)]
    pub system_prompt: Option<String>,
    /// Sampling temperature passed to providers; `None` uses each provider's default.
    #[serde(default)]
    pub temperature: Option<f32>,
    /// Output token cap per answer; `None` uses each provider's default.
    #[serde(default)]
    pub max_output_tokens: Option<u32>,
    /// Ask providers that support it to search the web (and return citations).
    #[serde(default)]
    pub web_search: bool,
}

impl ExperimentSpec {
    /// Number of samples one run of this experiment plans.
    pub fn planned_samples(&self) -> u64 {
        self.targets.len() as u64 * self.prompts.len() as u64 * u64::from(self.repeats)
    }

    /// Checks the structure of the spec (brands are checked further when the catalog
    /// is compiled). Errors name the offending field.
    pub fn validate(&self) -> crate::Result<()> {
        use crate::Error;
        if self.name.trim().is_empty() {
            return Err(Error::invalid("spec.name", "must not be blank"));
        }
        if self.prompts.is_empty() {
            return Err(Error::invalid("spec.prompts", "at least one prompt is required"));
        }
        for (i, p) in self.prompts.iter().enumerate() {
            if p.trim().is_empty() {
                return Err(Error::invalid(format!("spec.prompts[{i}]"), "must not be blank"));
            }
            if p.len() > MAX_PROMPT_BYTES {
                return Err(Error::invalid(
                    format!("spec.prompts[{i}]"),
                    format!("is {} bytes; the maximum is {MAX_PROMPT_BYTES}", p.len()),
                ));
            }
        }
        if self.brands.is_empty() {
            return Err(Error::invalid(
                "spec.brands",
                "at least one brand (your own, with role target) is required",
            ));
        }
        if !self.brands.iter().any(|b| b.role == super::BrandRole::Target) {
            return Err(Error::invalid(
                "spec.brands",
                "no target brand: mark your own brand with role `target` (BrandSpec::target)",
            ));
        }
        if self.targets.is_empty() {
            return Err(Error::invalid(
                "spec.targets",
                "at least one provider/model target is required",
            ));
        }
        for (i, t) in self.targets.iter().enumerate() {
            if t.provider.trim().is_empty() {
                return Err(Error::invalid(
                    format!("spec.targets[{i}].provider"),
                    "must not be blank",
                ));
            }
            if t.model.trim().is_empty() {
                return Err(Error::invalid(format!("spec.targets[{i}].model"), "must not be blank"));
            }
            if self.targets[..i].contains(t) {
                return Err(Error::invalid(
                    format!("spec.targets[{i}]"),
                    format!("{t} is listed twice"),
                ));
            }
        }
        if self.repeats == 0 {
            return Err(Error::invalid(
                "spec.repeats",
                "must be at least 1 (0 samples would be planned)",
            ));
        }
        let n = self.planned_samples();
        if n > MAX_SAMPLES_PER_RUN {
            return Err(Error::invalid(
                "spec.repeats",
                format!("the run would plan {n} samples; the maximum per run is {MAX_SAMPLES_PER_RUN}"),
            ));
        }
        if let Some(t) = self.temperature {
            if !(0.0..=2.0).contains(&t) {
                return Err(Error::invalid("spec.temperature", "must be between 0 and 2"));
            }
        }
        if self.max_output_tokens == Some(0) {
            return Err(Error::invalid("spec.max_output_tokens", "must be at least 1"));
        }
        Ok(())
    }
}

/// A stored experiment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Experiment {
    pub id: ExperimentId,
    pub account_id: AccountId,
    pub spec: ExperimentSpec,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A page of a keyset-paginated listing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `after` to get the next page; `None` on the last page.
    pub next_cursor: Option<String>,
}

/// Keyset pagination request: newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageRequest {
    /// Page size; default 50, at most 500.
    pub limit: Option<u32>,
    /// Cursor from the previous page.
    pub after: Option<String>,
}

impl PageRequest {
    pub const DEFAULT_LIMIT: u32 = 50;
    pub const MAX_LIMIT: u32 = 500;

    /// The effective limit, validated.
    pub fn effective_limit(&self) -> crate::Result<u32> {
        match self.limit {
            None => Ok(Self::DEFAULT_LIMIT),
            Some(0) => Err(crate::Error::invalid("page.limit", "must be at least 1")),
            Some(n) if n > Self::MAX_LIMIT => Err(crate::Error::invalid(
                "page.limit",
                format!("must be at most {}", Self::MAX_LIMIT),
            )),
            Some(n) => Ok(n),
        }
    }
}
