//! Adaptive runs: sample a target until every tracked brand's visibility is known to the
//! precision asked for, instead of a fixed number of times.
//!
//! Stopping when an interval looks narrow enough is *optional stopping*: the decision to
//! stop depends on the data, so the interval reported at the stop is not automatically the
//! interval it would be at a planned sample size. This module provides the stopping rule and
//! the interval to report at the stop, and the tools to check, exactly, what coverage that
//! interval has under the rule (see `docs/metrics.md`, "Adaptive runs", for the study).
//!
//! Two methods (see [`SequentialMethod`]):
//! - [`SequentialMethod::Wilson`] (default): a fixed-width sequential rule in the spirit of
//!   Chow & Robbins (1965) — stop at the first look where every brand's Wilson interval has
//!   half-width ≤ the goal, report that Wilson interval. Its coverage at the stopping time is
//!   computed exactly (for one brand) by [`operating_characteristics`]: 95.1% on average over
//!   true rates 0.02–0.98 at ±5 points, never below 93%, as close to nominal as the fixed-n
//!   Wilson interval the reports use.
//! - [`SequentialMethod::ConfidenceSequence`]: a beta-binomial mixture confidence sequence,
//!   valid at *any* stopping time (Ville's inequality) whatever rule or schedule decided it,
//!   but conservative: ≈99.9% coverage and about 3.5× the samples for the same half-width.
//!
//! The engine feeds a [`StoppingRule`] each target's [`TargetCounts`] after each look and
//! asks [`StoppingRule::decide`]; when it says stop, the interval to report for each brand is
//! [`StoppingRule::interval`].

mod confidence_sequence;
mod goal;
mod operating;
mod rule;

pub use confidence_sequence::beta_binomial_confidence_sequence;
pub use goal::{AdaptiveGoal, DEFAULT_MIN_SAMPLES, SequentialMethod};
pub use operating::{OperatingPoint, operating_characteristics};
pub use rule::{Decision, StopReason, StoppingRule, TargetCounts};
