//! What an adaptive run aims for.

use serde::{Deserialize, Serialize};

use crate::analysis::compare::normal_quantile;
use crate::analysis::plan::samples_for_half_width_z;
use crate::{Error, Result};

/// The smallest `min_samples` [`AdaptiveGoal::new`] picks. Below about 20 answers the
/// rule can stop on a handful of answers whose Wilson interval is at its most discrete, and
/// the exact study (`docs/metrics.md`) shows coverage dipping under 93% at some rates.
pub const DEFAULT_MIN_SAMPLES: u64 = 20;

/// The precision an adaptive run samples each target to.
///
/// The run keeps sampling a target until every tracked brand's visibility interval (at
/// `confidence`) has half-width ≤ `half_width`, but never stops before `min_samples` answers
/// and never goes past `max_samples`. At `max_samples` it stops whatever the widths, and the
/// intervals reported are wider than the goal.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AdaptiveGoal {
    /// The "±" wanted, as a proportion (0.05 for ±5 points), in (0, 0.5].
    pub half_width: f64,
    /// Answers per target before the rule may stop (≥ 1; with the default Wilson method
    /// ≥ [`AdaptiveGoal::verified_min_samples`], 20 unless the goal is very wide, or equal to
    /// `max_samples`).
    pub min_samples: u64,
    /// Answers per target after which the rule stops whatever the widths (≥ `min_samples`).
    pub max_samples: u64,
    /// Confidence level of the intervals, in [0.5, 1) (0.95 for the reports' 95%).
    pub confidence: f64,
}

/// How a [`StoppingRule`](super::StoppingRule) turns counts into intervals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SequentialMethod {
    /// Fixed-width sequential Wilson intervals: stop when every Wilson interval is narrow
    /// enough and report those intervals — the same intervals the reports show. Coverage at
    /// the stopping time is close to nominal (checked exactly by
    /// [`operating_characteristics`](super::operating_characteristics)), not guaranteed
    /// at every rate: like the fixed-n Wilson interval, it dips to about 93% at some rates.
    #[default]
    Wilson,
    /// A beta-binomial mixture confidence sequence
    /// ([`beta_binomial_confidence_sequence`](super::beta_binomial_confidence_sequence)):
    /// coverage ≥ `confidence` at any stopping time whatsoever, at the price of much wider
    /// intervals (≈3.5× the samples for the same half-width at ±5 points).
    ConfidenceSequence,
}

impl AdaptiveGoal {
    /// ±`half_width` at 95%, from [`DEFAULT_MIN_SAMPLES`] answers (fewer if the worst case
    /// needs fewer) up to the worst-case fixed plan: the sample size at which *any* outcome
    /// has a Wilson half-width ≤ `half_width` (381 for ±5 points). With that maximum the
    /// rule always reaches the goal, and never samples more than the fixed plan would.
    pub fn new(half_width: f64) -> Result<Self> {
        let confidence = 0.95;
        let worst = samples_for_half_width_z(half_width, 0.5, z_for(confidence))?;
        Ok(Self {
            half_width,
            min_samples: DEFAULT_MIN_SAMPLES.min(worst),
            max_samples: worst,
            confidence,
        })
    }

    /// Checks every field; errors name it (`goal.half_width`, ...).
    pub fn validate(&self) -> Result<()> {
        if !(self.half_width > 0.0 && self.half_width <= 0.5) {
            return Err(Error::invalid(
                "goal.half_width",
                format!(
                    "must be in (0, 0.5] as a proportion (0.05 for ±5 points), got {}",
                    self.half_width
                ),
            ));
        }
        if !(self.confidence >= 0.5 && self.confidence < 1.0) {
            return Err(Error::invalid(
                "goal.confidence",
                format!("must be in [0.5, 1) (0.95 for 95%), got {}", self.confidence),
            ));
        }
        if self.min_samples == 0 {
            return Err(Error::invalid(
                "goal.min_samples",
                format!("must be at least 1 (at least {DEFAULT_MIN_SAMPLES} is recommended)"),
            ));
        }
        if self.max_samples < self.min_samples {
            return Err(Error::invalid(
                "goal.max_samples",
                format!(
                    "{} is below min_samples {}; pass max_samples ≥ min_samples",
                    self.max_samples, self.min_samples
                ),
            ));
        }
        Ok(())
    }

    /// The smallest `min_samples` at which the default rule ([`SequentialMethod::Wilson`])
    /// is verified for this goal: [`DEFAULT_MIN_SAMPLES`], or the worst-case fixed plan when
    /// that is smaller (at that many answers every outcome meets the goal, so the rule stops
    /// there whatever happens: a fixed-n Wilson interval).
    pub fn verified_min_samples(&self) -> Result<u64> {
        self.validate()?;
        Ok(DEFAULT_MIN_SAMPLES.min(samples_for_half_width_z(self.half_width, 0.5, self.z())?))
    }

    /// Checks the goal (as [`validate`](Self::validate)) and that `method` is verified to
    /// keep its coverage with it. The confidence sequence is valid at any stopping time, so
    /// any `min_samples` goes. The sequential Wilson rule's coverage at the stop was
    /// computed exactly (`docs/metrics.md`, "Adaptive runs") from [`DEFAULT_MIN_SAMPLES`]
    /// answers: with fewer it can stop on a handful of answers, where Wilson intervals are
    /// at their most discrete, and its coverage dips below 93% at some rates. So a Wilson
    /// goal needs `min_samples` ≥ [`verified_min_samples`](Self::verified_min_samples), or
    /// `min_samples` = `max_samples` (a fixed sample size, no optional stopping).
    pub fn check_verified(&self, method: SequentialMethod) -> Result<()> {
        self.validate()?;
        let floor = self.verified_min_samples()?;
        if method == SequentialMethod::Wilson && self.min_samples < floor && self.min_samples < self.max_samples {
            return Err(Error::invalid(
                "goal.min_samples",
                format!(
                    "{} is below {floor}: the sequential Wilson rule's coverage is verified from {floor} answers \
                     (stopping on fewer can leave intervals that cover well under 95%); pass min_samples ≥ {floor}, \
                     min_samples = max_samples for a fixed sample size, or the confidence_sequence method",
                    self.min_samples
                ),
            ));
        }
        Ok(())
    }

    /// The normal quantile of the two-sided `confidence` level.
    pub(crate) fn z(&self) -> f64 {
        z_for(self.confidence)
    }

    /// The answers per target at which any outcome meets the goal with Wilson intervals
    /// (the fixed plan at the worst case, rate ½), capped at `max_samples`.
    pub fn worst_case_samples(&self) -> Result<u64> {
        self.validate()?;
        Ok(samples_for_half_width_z(self.half_width, 0.5, self.z())?.min(self.max_samples))
    }
}

/// Φ⁻¹(1 − (1 − c)/2), exact for the reports' 95% (the Wilson constant, not a rounded
/// quantile, so a 95% goal reproduces the report's intervals bit for bit).
pub(crate) fn z_for(confidence: f64) -> f64 {
    if confidence == 0.95 {
        crate::analysis::stats::WILSON_Z
    } else {
        normal_quantile(1.0 - (1.0 - confidence) / 2.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_goal_spans_min_to_worst_case_plan() {
        let g = AdaptiveGoal::new(0.05).unwrap();
        assert_eq!((g.min_samples, g.max_samples, g.confidence), (20, 381, 0.95));
        assert_eq!(g.worst_case_samples().unwrap(), 381);
        // ±40 points: 3.841459/0.64 − 3.841459 = 2.16 → 3 answers; min is capped to 3.
        let wide = AdaptiveGoal::new(0.4).unwrap();
        assert_eq!((wide.min_samples, wide.max_samples), (3, 3));
        assert!(AdaptiveGoal::new(0.0).is_err());
    }

    #[test]
    fn validation_names_the_field() {
        let field = |g: AdaptiveGoal| g.validate().unwrap_err().field().map(str::to_string);
        let ok = AdaptiveGoal::new(0.05).unwrap();
        assert!(ok.validate().is_ok());
        for (g, f) in [
            (AdaptiveGoal { half_width: 0.6, ..ok }, "goal.half_width"),
            (
                AdaptiveGoal {
                    half_width: f64::NAN,
                    ..ok
                },
                "goal.half_width",
            ),
            (AdaptiveGoal { confidence: 1.0, ..ok }, "goal.confidence"),
            (AdaptiveGoal { confidence: 0.3, ..ok }, "goal.confidence"),
            (AdaptiveGoal { min_samples: 0, ..ok }, "goal.min_samples"),
            (AdaptiveGoal { max_samples: 10, ..ok }, "goal.max_samples"),
        ] {
            assert_eq!(field(g).as_deref(), Some(f));
        }
    }

    #[test]
    fn wilson_goals_below_the_verified_minimum_are_refused() {
        let ok = AdaptiveGoal::new(0.05).unwrap();
        assert_eq!(ok.verified_min_samples().unwrap(), 20);
        assert!(ok.check_verified(SequentialMethod::Wilson).is_ok());
        for min in [1, 10, 19] {
            let g = AdaptiveGoal { min_samples: min, ..ok };
            let e = g.check_verified(SequentialMethod::Wilson).unwrap_err();
            assert_eq!(e.field(), Some("goal.min_samples"));
            assert!(e.to_string().contains("below 20"), "{e}");
            // The confidence sequence is valid at any stopping time.
            assert!(g.check_verified(SequentialMethod::ConfidenceSequence).is_ok());
            // A fixed sample size is not optional stopping.
            assert!(
                AdaptiveGoal { max_samples: min, ..g }
                    .check_verified(SequentialMethod::Wilson)
                    .is_ok()
            );
        }
        // A goal so wide that the worst-case plan is under 20: that plan is the floor.
        let wide = AdaptiveGoal::new(0.25).unwrap();
        assert_eq!(wide.verified_min_samples().unwrap(), wide.max_samples);
        assert!(wide.check_verified(SequentialMethod::Wilson).is_ok());
    }

    #[test]
    fn ninety_five_percent_uses_the_reports_constant() {
        assert_eq!(z_for(0.95), crate::analysis::stats::WILSON_Z);
        assert!((z_for(0.9) - 1.644_853_6).abs() < 1e-6);
    }
}
