//! Adaptive runs as data: what a run asks for (a precision instead of a count), persisted on
//! the run so any process can continue it, and how each target's sampling went.
//!
//! The statistics (the stopping rule and its coverage) live in
//! [`crate::analysis::sequential`]; the engine's side (waves, finalization) in
//! `engine::adaptive`; the story in `docs/metrics.md`, "Adaptive runs".

use serde::{Deserialize, Serialize};

use super::Target;
use crate::analysis::sequential::{AdaptiveGoal, SequentialMethod};

/// Which tracked brands an adaptive run's goal applies to.
///
/// The answers a target needs grow with p(1 − p) of the brand closest to 50%, so a
/// competitor near 50% can cost the whole saving. With [`GoalBrands::Targets`] only the
/// user's own brands (role `target`) must reach the precision; the others are still
/// measured on the same answers, with whatever interval those give.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GoalBrands {
    /// Every brand of the spec (the default).
    #[default]
    All,
    /// Only the brands with role `target`.
    Targets,
}

/// A run that samples each target until the goal's precision is reached, between
/// `goal.min_samples` and `goal.max_samples` answers per target.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AdaptiveOptions {
    pub goal: AdaptiveGoal,
    #[serde(default)]
    pub brands: GoalBrands,
    /// How intervals are computed and the stop decided (default: sequential Wilson, whose
    /// intervals are the report's).
    #[serde(default)]
    pub method: SequentialMethod,
}

impl AdaptiveOptions {
    /// ±`half_width` at 95% on every brand, from 20 answers per target up to the
    /// worst-case fixed plan (see [`AdaptiveGoal::new`]).
    pub fn new(half_width: f64) -> crate::Result<Self> {
        Ok(Self {
            goal: AdaptiveGoal::new(half_width)?,
            brands: GoalBrands::All,
            method: SequentialMethod::Wilson,
        })
    }
}

/// Where one target of an adaptive run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdaptiveState {
    /// Samples are still pending or running, or the next wave is due.
    Sampling,
    /// Every goal brand's interval is within the goal (and `min_samples` answered).
    GoalReached,
    /// `max_samples` were asked (answered, or failed); intervals may be wider than the goal.
    MaxSamples,
    /// The run was cancelled before the target stopped.
    Cancelled,
}

/// How one target's sampling went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdaptiveTargetSummary {
    pub target: Target,
    pub state: AdaptiveState,
    /// Samples enqueued for the target (all waves).
    pub enqueued: u64,
    /// Of them, answered.
    pub answered: u64,
    /// Of them, failed for good.
    pub failed: u64,
    /// The widest interval half-width among the goal brands on all answers (0.5 with
    /// none), with the run's method and confidence.
    pub widest_half_width: f64,
}

/// The adaptive part of a run's report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdaptiveSummary {
    pub options: AdaptiveOptions,
    /// Per target, in spec order.
    pub targets: Vec<AdaptiveTargetSummary>,
}
