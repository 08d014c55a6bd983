//! Exact coverage and sample use of a stopping rule, by dynamic programming.
//!
//! Simulation estimates coverage with noise (±1.4 points at 1,000 runs); for one brand the
//! rule's behaviour can be computed exactly instead. The rule only sees (answers, successes),
//! so the probability of every path's stopping point follows from the binomial recursion
//! P(n, s) = P(n−1, s)(1−p) + P(n−1, s−1)p over the paths still running: at each look, the
//! mass at stopping states is removed, and its coverage and sample size recorded. This is
//! how Frey ("Fixed-width sequential confidence intervals for a proportion", The American
//! Statistician 64:242–249, 2010) evaluates such rules. With several brands the rule stops
//! later (when the *widest* interval is narrow enough), which the simulation study covers.

use serde::{Deserialize, Serialize};

use super::rule::{StoppingRule, TargetCounts};
use crate::model::Interval;
use crate::{Error, Result};

/// How a rule behaves for one brand with a given true visibility.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct OperatingPoint {
    /// The true visibility.
    pub rate: f64,
    /// Probability that the interval reported at the stop contains `rate`.
    pub coverage: f64,
    /// Expected answers at the stop.
    pub expected_samples: f64,
    /// Probability of stopping at `max_samples` (goal not necessarily reached).
    pub max_reached: f64,
}

/// The most (answers, successes) states the exact computation tabulates (about 100 MB):
/// the table grows with the square of the latest possible stop, so goals that can run past
/// ~2,800 answers (±1.8 points at 95%) are refused; simulate those instead.
const MAX_TABLE_STATES: u64 = 4_000_000;

/// Exact operating characteristics of `rule` for a single tracked brand at each true rate in
/// `rates`, with looks at `min_samples`, then every `look_every` answers, and at
/// `max_samples`.
///
/// Paths still running with probability below 1e-15 are dropped (coverage is exact to that).
/// Errors: `look_every` = 0, a rate outside [0, 1], a rule that can run so long the table
/// of its states would exceed 4 million entries (`goal.max_samples`).
pub fn operating_characteristics(rule: &StoppingRule, rates: &[f64], look_every: u64) -> Result<Vec<OperatingPoint>> {
    if look_every == 0 {
        return Err(Error::invalid(
            "look_every",
            "must be at least 1 (1 = look after every answer)",
        ));
    }
    for (i, r) in rates.iter().enumerate() {
        if !(0.0..=1.0).contains(r) {
            return Err(Error::invalid(
                format!("rates[{i}]"),
                format!("must be a proportion in [0, 1], got {r}"),
            ));
        }
    }
    // Every outcome stops by the first n where the widest case, p̂ = ½, does (or at the
    // maximum): refuse up front when the table up to there would be too large.
    let latest = latest_stop(rule);
    if latest * (latest + 3) / 2 > MAX_TABLE_STATES {
        return Err(too_long(latest));
    }
    let table = StopTable::new(rule, look_every)?;
    Ok(rates
        .iter()
        .map(|&p| table.evaluate(p, rule.goal().max_samples))
        .collect())
}

fn too_long(n: u64) -> Error {
    Error::invalid(
        "goal.max_samples",
        format!(
            "the rule can run to {n} answers, too long for the exact computation; lower max_samples \
             (or widen the goal) or simulate"
        ),
    )
}

/// The answers by which the rule stops when the observed rate is ½ (the widest interval):
/// doubling then bisection over n, capped at `max_samples`.
fn latest_stop(rule: &StoppingRule) -> u64 {
    let max = rule.goal().max_samples;
    let stops = |n: u64| {
        n >= max
            || rule.should_stop(&TargetCounts {
                answered: n,
                brands: vec![n / 2, n.div_ceil(2)],
            })
    };
    let mut hi = rule.goal().min_samples.max(1);
    while !stops(hi) {
        hi = (hi * 2).min(max);
    }
    let mut lo = hi / 2;
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if stops(mid) { hi = mid } else { lo = mid }
    }
    hi
}

/// For each look n (index n), the interval reported at each s where the rule stops.
struct StopTable {
    looks: Vec<Option<Vec<Option<Interval>>>>,
}

impl StopTable {
    fn new(rule: &StoppingRule, look_every: u64) -> Result<Self> {
        let goal = rule.goal();
        let mut looks = Vec::new();
        looks.push(None);
        let mut states = 0u64;
        for n in 1..=goal.max_samples {
            states += n + 1;
            if states > MAX_TABLE_STATES {
                return Err(too_long(n));
            }
            let is_look = n == goal.max_samples || (n >= goal.min_samples && (n - goal.min_samples) % look_every == 0);
            if !is_look {
                looks.push(None);
                continue;
            }
            let row: Vec<Option<Interval>> = (0..=n)
                .map(|s| {
                    let counts = TargetCounts {
                        answered: n,
                        brands: vec![s],
                    };
                    rule.should_stop(&counts).then(|| rule.interval(s, n))
                })
                .collect();
            let all_stop = row.iter().all(Option::is_some);
            looks.push(Some(row));
            if all_stop {
                break;
            }
        }
        Ok(Self { looks })
    }

    fn evaluate(&self, p: f64, max_samples: u64) -> OperatingPoint {
        let last = self.looks.len() - 1;
        let mut mass = vec![0.0f64; last + 1];
        mass[0] = 1.0;
        let (mut coverage, mut expected, mut at_max) = (0.0, 0.0, 0.0);
        for n in 1..=last {
            // Advance one answer, in place from the top.
            for s in (0..=n).rev() {
                let stay = if s < n { mass[s] * (1.0 - p) } else { 0.0 };
                let up = if s > 0 { mass[s - 1] * p } else { 0.0 };
                mass[s] = stay + up;
            }
            let Some(row) = &self.looks[n] else { continue };
            let mut alive = 0.0;
            for (s, stop) in row.iter().enumerate() {
                let m = mass[s];
                if m == 0.0 {
                    continue;
                }
                match stop {
                    Some(interval) => {
                        if interval.contains(p) {
                            coverage += m;
                        }
                        expected += m * n as f64;
                        if n as u64 == max_samples {
                            at_max += m;
                        }
                        mass[s] = 0.0;
                    }
                    None => alive += m,
                }
            }
            if alive < 1e-15 {
                break;
            }
        }
        OperatingPoint {
            rate: p,
            coverage,
            expected_samples: expected,
            max_reached: at_max,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::sequential::{AdaptiveGoal, SequentialMethod};

    fn binomial_pmf(n: u64, s: u64, p: f64) -> f64 {
        use crate::analysis::compare::ln_gamma;
        let ln_choose = ln_gamma(n as f64 + 1.0) - ln_gamma(s as f64 + 1.0) - ln_gamma((n - s) as f64 + 1.0);
        (ln_choose + s as f64 * p.ln() + (n - s) as f64 * (1.0 - p).ln()).exp()
    }

    #[test]
    fn fixed_sample_size_reduces_to_binomial_coverage() {
        // min = max = 30: the rule always stops at 30, so coverage is Σ over s with p in the
        // Wilson interval of the Binomial(30, p) probabilities.
        let rule = StoppingRule::new(AdaptiveGoal {
            half_width: 0.01,
            min_samples: 30,
            max_samples: 30,
            confidence: 0.95,
        })
        .unwrap();
        for p in [0.1, 0.37, 0.5] {
            let want: f64 = (0..=30u64)
                .filter(|&s| crate::analysis::wilson_interval(s, 30).contains(p))
                .map(|s| binomial_pmf(30, s, p))
                .sum();
            let got = operating_characteristics(&rule, &[p], 1).unwrap()[0];
            assert!((got.coverage - want).abs() < 1e-12, "{p}: {} vs {want}", got.coverage);
            assert!((got.expected_samples - 30.0).abs() < 1e-9);
            assert!((got.max_reached - 1.0).abs() < 1e-12);
        }
    }

    #[test]
    fn two_look_rule_by_hand() {
        // ±0.25 between 5 and 6 answers, one brand at p = 0.3. At n = 5, Wilson half-widths:
        // s = 0 or 5: 0.2174 (stop); s = 1..4: ≥ 0.29 (continue). At n = 6 (max) everyone stops.
        let rule = StoppingRule::unverified(
            AdaptiveGoal {
                half_width: 0.25,
                min_samples: 5,
                max_samples: 6,
                confidence: 0.95,
            },
            SequentialMethod::Wilson,
        )
        .unwrap();
        let p: f64 = 0.3;
        let stop5 = p.powi(5) + (1.0 - p).powi(5);
        let got = operating_characteristics(&rule, &[p], 1).unwrap()[0];
        assert!((got.expected_samples - (5.0 * stop5 + 6.0 * (1.0 - stop5))).abs() < 1e-12);
        assert!((got.max_reached - (1.0 - stop5)).abs() < 1e-12);
        // Coverage: 0/5 → [0, 0.4345] covers 0.3, 5/5 does not; at n = 6 the s values with 0.3
        // in their Wilson interval, reached through paths that did not stop at 5 (s₅ in 1..4).
        let mut want = (1.0 - p).powi(5);
        for s6 in 0..=6u64 {
            if !crate::analysis::wilson_interval(s6, 6).contains(p) {
                continue;
            }
            // P(s₆ = s6 and 1 ≤ s₅ ≤ 4) = Σ over the last answer.
            let mut m = 0.0;
            for (s5, last) in [(s6, 1.0 - p), (s6.wrapping_sub(1), p)] {
                if (1..=4).contains(&s5) {
                    m += binomial_pmf(5, s5, p) * last;
                }
            }
            want += m;
        }
        assert!((got.coverage - want).abs() < 1e-12, "{} vs {want}", got.coverage);
    }

    #[test]
    fn rejects_bad_input() {
        let rule = StoppingRule::new(AdaptiveGoal::new(0.1).unwrap()).unwrap();
        assert!(operating_characteristics(&rule, &[0.5], 0).is_err());
        assert!(operating_characteristics(&rule, &[1.5], 1).is_err());
        // ±0.5 points can run to 38,000 answers: refused rather than tabulated.
        let long = StoppingRule::new(AdaptiveGoal::new(0.005).unwrap()).unwrap();
        let err = operating_characteristics(&long, &[0.5], 1).unwrap_err();
        assert_eq!(err.field(), Some("goal.max_samples"));
    }
}
