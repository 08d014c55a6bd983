//! The stopping rule the engine consults after each look at a target's answers.

use serde::{Deserialize, Serialize};

use super::confidence_sequence::beta_binomial_confidence_sequence;
use super::goal::{AdaptiveGoal, SequentialMethod};
use crate::Result;
use crate::analysis::plan::samples_for_half_width_z;
use crate::analysis::stats::wilson_interval_z;
use crate::model::Interval;

/// What one target's answers so far say about the tracked brands: the counts the rule needs,
/// nothing else (the rule is a pure function of them).
///
/// With several prompts the engine pools the target's answers over prompts, asking them in
/// turn so each prompt gets an equal share; see `docs/metrics.md` for what the interval then
/// means.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetCounts {
    /// Answers received (succeeded samples).
    pub answered: u64,
    /// Per tracked brand (catalog order): answers naming it. Each ≤ `answered`.
    pub brands: Vec<u64>,
}

impl TargetCounts {
    /// No answers yet, `brands` tracked brands.
    pub fn new(brands: usize) -> Self {
        Self {
            answered: 0,
            brands: vec![0; brands],
        }
    }

    /// Counts one more answer naming the brands at `named` (catalog indexes; repeats and
    /// indexes past the tracked brands are ignored).
    pub fn record_answer(&mut self, named: impl IntoIterator<Item = usize>) {
        self.answered += 1;
        let mut seen: Vec<usize> = Vec::new();
        for i in named {
            if i < self.brands.len() && !seen.contains(&i) {
                seen.push(i);
                self.brands[i] += 1;
            }
        }
    }
}

/// Why a rule said stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// Every tracked brand's interval has half-width ≤ the goal (and `min_samples` reached).
    GoalReached,
    /// `max_samples` reached; some interval may still be wider than the goal.
    MaxSamples,
}

/// The answer to "keep sampling this target?".
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    Continue {
        /// The largest half-width among the brands' current intervals (1 with no answers).
        widest_half_width: f64,
        /// A guess of how many more answers reach the goal, from the current estimates
        /// (≥ 1, within `max_samples`): useful to size the next batch, not a promise.
        estimated_remaining: u64,
    },
    Stop {
        reason: StopReason,
        widest_half_width: f64,
    },
}

impl Decision {
    pub fn is_stop(&self) -> bool {
        matches!(self, Decision::Stop { .. })
    }
}

/// "Sample until every tracked brand's visibility interval is narrower than the goal, between
/// `min_samples` and `max_samples`", with the interval to report at the stop.
///
/// Looks may come after every answer or after batches; the coverage figures in
/// `docs/metrics.md` hold for fixed batch sizes and for batches sized from
/// [`Decision::Continue::estimated_remaining`]. Answers that arrive after a stop (requests
/// already in flight) belong in the final counts: report [`StoppingRule::interval`] on all of
/// them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StoppingRule {
    goal: AdaptiveGoal,
    method: SequentialMethod,
    z: f64,
}

impl StoppingRule {
    /// The default rule ([`SequentialMethod::Wilson`]) for `goal`. Errors name the bad
    /// `goal.*` field.
    pub fn new(goal: AdaptiveGoal) -> Result<Self> {
        Self::with_method(goal, SequentialMethod::default())
    }

    /// The rule with `method` for `goal`. Errors name the bad `goal.*` field; in particular
    /// it refuses (`InvalidInput` naming `goal.min_samples`) a Wilson-method goal whose
    /// `min_samples` is below [`AdaptiveGoal::verified_min_samples`], where the rule's
    /// coverage has not been verified (see [`AdaptiveGoal::check_verified`]).
    pub fn with_method(goal: AdaptiveGoal, method: SequentialMethod) -> Result<Self> {
        goal.check_verified(method)?;
        Self::unverified(goal, method)
    }

    /// The rule for any valid `goal`, without the [`AdaptiveGoal::check_verified`] floor on
    /// `min_samples`: for studying rules outside the verified range with
    /// [`operating_characteristics`](super::operating_characteristics), and for honouring
    /// a goal that was admitted earlier. Runs should use [`with_method`](Self::with_method).
    pub fn unverified(goal: AdaptiveGoal, method: SequentialMethod) -> Result<Self> {
        goal.validate()?;
        Ok(Self {
            goal,
            method,
            z: goal.z(),
        })
    }

    pub fn goal(&self) -> &AdaptiveGoal {
        &self.goal
    }

    pub fn method(&self) -> SequentialMethod {
        self.method
    }

    /// The interval to report for a brand named in `successes` of `trials` answers, at the
    /// goal's confidence: the Wilson interval (exactly the report's at 95%) or the confidence
    /// sequence, per the method.
    pub fn interval(&self, successes: u64, trials: u64) -> Interval {
        debug_assert!(successes <= trials, "{successes} successes out of {trials} trials");
        let successes = successes.min(trials);
        match self.method {
            SequentialMethod::Wilson => wilson_interval_z(successes as f64, trials as f64, self.z),
            SequentialMethod::ConfidenceSequence => {
                beta_binomial_confidence_sequence(successes, trials, self.goal.confidence)
            }
        }
    }

    /// Whether to stop sampling the target with these counts.
    pub fn should_stop(&self, counts: &TargetCounts) -> bool {
        self.decide(counts).is_stop()
    }

    /// Stop at `max_samples`; else stop once `min_samples` are in and every brand's
    /// [`interval`](Self::interval) has half-width ≤ the goal; else continue.
    pub fn decide(&self, counts: &TargetCounts) -> Decision {
        let n = counts.answered;
        let widest = self.widest_half_width(counts);
        if n >= self.goal.max_samples {
            return Decision::Stop {
                reason: StopReason::MaxSamples,
                widest_half_width: widest,
            };
        }
        if n >= self.goal.min_samples && widest <= self.goal.half_width {
            return Decision::Stop {
                reason: StopReason::GoalReached,
                widest_half_width: widest,
            };
        }
        // The answers needed grow with p̂(1 − p̂), so the brand closest to ½ decides.
        let needed = if n == 0 {
            self.samples_at_rate(0.5)
        } else {
            counts
                .brands
                .iter()
                .map(|&s| s.min(n) as f64 / n as f64)
                .min_by(|a, b| (a - 0.5).abs().total_cmp(&(b - 0.5).abs()))
                .map_or(0, |rate| self.samples_at_rate(rate))
        };
        let target = needed.max(self.goal.min_samples).min(self.goal.max_samples);
        Decision::Continue {
            widest_half_width: widest,
            estimated_remaining: target.saturating_sub(n).max(1),
        }
    }

    fn widest_half_width(&self, counts: &TargetCounts) -> f64 {
        if counts.answered == 0 {
            return 0.5;
        }
        counts
            .brands
            .iter()
            .map(|&s| self.interval(s.min(counts.answered), counts.answered).half_width())
            .fold(0.0, f64::max)
    }

    /// Answers needed for the goal's half-width if the observed rate stayed at `rate`
    /// (`max_samples` when out of reach).
    fn samples_at_rate(&self, rate: f64) -> u64 {
        let max = self.goal.max_samples;
        match self.method {
            SequentialMethod::Wilson => samples_for_half_width_z(self.goal.half_width, rate, self.z).unwrap_or(max),
            SequentialMethod::ConfidenceSequence => {
                let fits = |n: u64| {
                    let s = (rate * n as f64).round() as u64;
                    self.interval(s.min(n), n).half_width() <= self.goal.half_width
                };
                if !fits(max) {
                    return max;
                }
                let (mut lo, mut hi) = (0u64, max);
                while hi - lo > 1 {
                    let mid = lo + (hi - lo) / 2;
                    if fits(mid) { hi = mid } else { lo = mid }
                }
                hi
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::wilson_interval;

    fn rule(h: f64, min: u64, max: u64) -> StoppingRule {
        StoppingRule::new(AdaptiveGoal {
            half_width: h,
            min_samples: min,
            max_samples: max,
            confidence: 0.95,
        })
        .unwrap()
    }

    fn counts(answered: u64, brands: &[u64]) -> TargetCounts {
        TargetCounts {
            answered,
            brands: brands.to_vec(),
        }
    }

    #[test]
    fn stops_when_every_brand_is_narrow_enough() {
        let r = rule(0.05, 20, 1000);
        // 0/40: Wilson [0, 0.0876], ±0.044 ≤ 0.05; 10/40 is ±0.13: continue.
        assert!(!r.should_stop(&counts(40, &[0, 10])));
        assert!(r.should_stop(&counts(40, &[0])));
        // 30/300 (±0.034) and 150/300 (±0.056): the widest decides.
        match r.decide(&counts(300, &[30, 150])) {
            Decision::Continue {
                widest_half_width,
                estimated_remaining,
            } => {
                assert!((widest_half_width - wilson_interval(150, 300).half_width()).abs() < 1e-12);
                // At p̂ = ½ the plan is 381: 81 more.
                assert_eq!(estimated_remaining, 81);
            }
            d => panic!("{d:?}"),
        }
        let stop = r.decide(&counts(381, &[30, 190]));
        assert!(matches!(
            stop,
            Decision::Stop {
                reason: StopReason::GoalReached,
                ..
            }
        ));
    }

    #[test]
    fn min_and_max_bound_the_run() {
        let r = rule(0.1, 30, 50);
        // 0/25 is ±0.067, but fewer than 30 answers: continue, 5 more at least.
        assert_eq!(
            r.decide(&counts(25, &[0])),
            Decision::Continue {
                widest_half_width: wilson_interval(0, 25).half_width(),
                estimated_remaining: 5,
            }
        );
        // At max, stop whatever the width.
        assert!(matches!(
            r.decide(&counts(50, &[25])),
            Decision::Stop {
                reason: StopReason::MaxSamples,
                ..
            }
        ));
        // No answers: the worst-case plan (93 for ±10), capped at max.
        assert_eq!(
            r.decide(&counts(0, &[0, 0])),
            Decision::Continue {
                widest_half_width: 0.5,
                estimated_remaining: 50,
            }
        );
    }

    #[test]
    fn default_rule_reports_the_reports_interval() {
        let r = StoppingRule::new(AdaptiveGoal::new(0.05).unwrap()).unwrap();
        for (s, n) in [(0, 20), (7, 33), (190, 381)] {
            assert_eq!(r.interval(s, n), wilson_interval(s, n));
        }
        // No brands tracked: the goal holds as soon as min_samples are in.
        assert!(!r.should_stop(&counts(19, &[])));
        assert!(r.should_stop(&counts(20, &[])));
        // The worst-case plan always stops, whatever the outcome.
        assert!((0..=381).all(|s| r.should_stop(&counts(381, &[s]))));
    }

    #[test]
    fn confidence_sequence_needs_more_answers() {
        let goal = AdaptiveGoal {
            max_samples: 10_000,
            ..AdaptiveGoal::new(0.05).unwrap()
        };
        let cs = StoppingRule::with_method(goal, SequentialMethod::ConfidenceSequence).unwrap();
        assert!(!cs.should_stop(&counts(381, &[190])));
        match cs.decide(&counts(381, &[190])) {
            Decision::Continue {
                estimated_remaining, ..
            } => assert!(estimated_remaining > 800, "{estimated_remaining}"),
            d => panic!("{d:?}"),
        }
        assert!(cs.should_stop(&counts(1500, &[750])));
    }

    #[test]
    fn record_answer_counts_each_brand_once() {
        let mut c = TargetCounts::new(3);
        c.record_answer([0, 2, 2, 7]);
        c.record_answer([]);
        assert_eq!(c, counts(2, &[1, 0, 1]));
    }
}
