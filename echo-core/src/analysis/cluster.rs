//! Intervals for roll-ups over several prompts, where answers are clustered by prompt.
//!
//! Answers to one prompt share that prompt's wording, so they are more alike than answers to
//! different prompts: a brand named in 90% of the answers to "best CRM for startups" and 10%
//! of those to "CRM for enterprises" is not a brand named in 50% of answers at random. A
//! roll-up's Wilson interval treats every answer as independent, which describes the
//! *fixed* prompts asked. To speak for questions *like* these — the prompts as a sample of
//! the questions buyers ask — the interval must count prompts, not answers: with three
//! prompts there are three independent observations of the between-prompt variation, however
//! many times each was asked.

use crate::analysis::stats::{WILSON_Z, wilson_interval_z};
use crate::analysis::student_t::t_quantile;
use serde::{Deserialize, Serialize};

use crate::model::{ClusteredInterval, Report, ReportGroup, Target};

/// The cluster-robust 95% interval of the pooled proportion Σ successes / Σ trials over
/// `clusters` = (successes, trials) per prompt, or `None` with fewer than two clusters that
/// have answers (the between-prompt variation cannot be estimated from one).
///
/// Method: Wilson's interval at an effective sample size (E. L. Korn and B. I. Graubard,
/// "Confidence intervals for proportions with small expected number of positive counts
/// estimated from survey data", Survey Methodology 24:193–201, 1998), which keeps Wilson's
/// behaviour near 0 and 1 where a cluster-robust Wald interval fails:
///
/// 1. p̂ = Σy_g / M, M = Σm_g over the G clusters with answers.
/// 2. The cluster-robust (linearization, "sandwich") variance of the ratio estimator, with the
///    usual small-sample factor: V = G/(G−1) · Σ_g (y_g − p̂·m_g)² / M².
/// 3. Design effect d = V / (p̂(1−p̂)/M) (1 when p̂ is 0 or 1, where both are 0).
/// 4. Effective sample size n* = min(M, (M / d) · (z / t_{G−1})²), z = Φ⁻¹(0.975): the t
///    factor accounts for V being estimated from only G clusters (with 3 prompts t₂ = 4.30,
///    so n* is a fifth of M/d); the cap keeps the interval from ever being narrower than the
///    answers-as-independent Wilson interval (prompts that happen to agree closely, V ≈ 0,
///    are no evidence of more than M answers' worth of precision).
/// 5. The Wilson 95% interval of p̂ with n* trials.
///
/// Coverage (docs/metrics.md, "Several prompts"): close to 95% with 10+ prompts and
/// moderate prompt-to-prompt variation; conservative with few prompts (the price of
/// estimating between-prompt variation from 3–5 of them); below nominal at rates near 0
/// or 1 when prompts differ strongly (the cluster means are then very skewed).
pub fn clustered_interval(clusters: &[(u64, u64)]) -> Option<ClusteredInterval> {
    let used: Vec<(f64, f64)> = clusters
        .iter()
        .filter(|(_, m)| *m > 0)
        .map(|&(y, m)| (y.min(m) as f64, m as f64))
        .collect();
    let g = used.len();
    if g < 2 {
        return None;
    }
    let total: f64 = used.iter().map(|(_, m)| m).sum();
    let hits: f64 = used.iter().map(|(y, _)| y).sum();
    let p = hits / total;
    let gf = g as f64;
    let variance = gf / (gf - 1.0) * used.iter().map(|(y, m)| (y - p * m).powi(2)).sum::<f64>() / (total * total);
    let binomial = p * (1.0 - p) / total;
    let design_effect = if binomial > 0.0 { variance / binomial } else { 1.0 };
    let t = t_quantile(0.975, gf - 1.0);
    let effective_trials = if design_effect > 0.0 {
        (total / design_effect * (WILSON_Z / t).powi(2)).min(total)
    } else {
        total
    };
    Some(ClusteredInterval {
        interval: wilson_interval_z(p * effective_trials, effective_trials, WILSON_Z),
        clusters: u32::try_from(g).unwrap_or(u32::MAX),
        design_effect,
        effective_trials,
    })
}

/// The fewest prompts with which the clustered interval's coverage was measured within
/// 95 ± 2% (`docs/metrics.md`, "Several prompts"); with fewer it is conservative.
pub const CLUSTERED_MIN_PROMPTS: u32 = 10;

/// The fewest informative prompts (see [`ClusteredCaveat::FewInformativePrompts`]) with
/// which the clustered interval's coverage was measured within 95 ± 2%.
pub const CLUSTERED_MIN_INFORMATIVE_PROMPTS: u32 = 5;

/// Why a clustered interval is outside the range where its coverage was measured at
/// 95 ± 2% (`docs/metrics.md`, "Several prompts"). Read the interval with this in mind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "caveat", rename_all = "snake_case")]
pub enum ClusteredCaveat {
    /// Fewer than [`CLUSTERED_MIN_INFORMATIVE_PROMPTS`] prompts (or, with fewer prompts,
    /// not every prompt) name the brand at all, or as few leave it out at least once: a rare (or near-universal) brand
    /// whose between-prompt spread rests on a handful of prompts. When prompts differ
    /// strongly the interval can then cover far less than 95% (80–87% measured with strong
    /// prompt effects).
    FewInformativePrompts { informative: u32 },
    /// Fewer than [`CLUSTERED_MIN_PROMPTS`] prompts with answers: the between-prompt
    /// variation is estimated from few prompts and allowed for generously, so the interval
    /// is conservative (96–99% measured when prompts are alike) and wide.
    FewPrompts { clusters: u32 },
}

/// The caveat of the clustered interval over `clusters` = (successes, trials) per prompt,
/// `None` inside the measured range (at least [`CLUSTERED_MIN_PROMPTS`] prompts with answers,
/// at least [`CLUSTERED_MIN_INFORMATIVE_PROMPTS`] informative ones) or when there is no
/// clustered interval (fewer than two prompts with answers).
pub fn clustered_caveat(clusters: &[(u64, u64)]) -> Option<ClusteredCaveat> {
    let used: Vec<(u64, u64)> = clusters
        .iter()
        .filter(|(_, m)| *m > 0)
        .map(|&(y, m)| (y.min(m), m))
        .collect();
    if used.len() < 2 {
        return None;
    }
    let naming = used.iter().filter(|(y, _)| *y > 0).count();
    let leaving_out = used.iter().filter(|(y, m)| y < m).count();
    let informative = u32::try_from(naming.min(leaving_out)).unwrap_or(u32::MAX);
    let prompts = u32::try_from(used.len()).unwrap_or(u32::MAX);
    // With fewer than 5 prompts, "rare" means some prompts inform nothing.
    if informative < CLUSTERED_MIN_INFORMATIVE_PROMPTS.min(prompts) {
        Some(ClusteredCaveat::FewInformativePrompts { informative })
    } else if prompts < CLUSTERED_MIN_PROMPTS {
        Some(ClusteredCaveat::FewPrompts { clusters: prompts })
    } else {
        None
    }
}

/// A roll-up brand whose `visibility_clustered` has a caveat.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RollupCaveat {
    /// The `by_target` roll-up of this target, or `overall` (`None`).
    pub target: Option<Target>,
    pub brand: String,
    pub caveat: ClusteredCaveat,
}

/// Every clustered interval of `report` (its `by_target` and `overall` roll-ups) outside the
/// range where its coverage was measured, with the reason: the clusters are recovered from
/// the report's cells exactly as the report built them (per target: its prompts; overall:
/// each prompt pooled over targets).
pub fn clustered_caveats(report: &Report) -> Vec<RollupCaveat> {
    let mut out = Vec::new();
    let prompts = report.prompts.len();
    let cell = |target: &Option<Target>, p: usize| {
        report
            .cells
            .iter()
            .find(|c| &c.target == target && c.prompt_index == u32::try_from(p).ok())
    };
    let mut check =
        |target: Option<Target>, brands: &[crate::model::BrandMetrics], clusters: &dyn Fn(&str) -> Vec<(u64, u64)>| {
            for b in brands.iter().filter(|b| b.visibility_clustered.is_some()) {
                if let Some(caveat) = clustered_caveat(&clusters(&b.brand)) {
                    out.push(RollupCaveat {
                        target: target.clone(),
                        brand: b.brand.clone(),
                        caveat,
                    });
                }
            }
        };
    let counts = |c: Option<&ReportGroup>, brand: &str| {
        c.and_then(|c| c.brand(brand))
            .map_or((0, 0), |m| (m.visibility.successes, m.visibility.trials))
    };
    check(None, &report.overall.brands, &|brand| {
        (0..prompts)
            .map(|p| {
                report.by_target.iter().fold((0, 0), |(y, m), g| {
                    let (dy, dm) = counts(cell(&g.target, p), brand);
                    (y + dy, m + dm)
                })
            })
            .collect()
    });
    for g in &report.by_target {
        check(g.target.clone(), &g.brands, &|brand| {
            (0..prompts).map(|p| counts(cell(&g.target, p), brand)).collect()
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::wilson_interval;

    #[test]
    fn one_cluster_has_no_clustered_interval() {
        assert_eq!(clustered_interval(&[]), None);
        assert_eq!(clustered_interval(&[(3, 10)]), None);
        assert_eq!(clustered_interval(&[(3, 10), (0, 0)]), None);
    }

    #[test]
    fn worked_example() {
        // Two prompts: 18/20 and 2/20. p̂ = 0.5, M = 40, G = 2.
        // V = 2 · ((18 − 10)² + (2 − 10)²) / 1600 = 2 · 128 / 1600 = 0.16.
        // Binomial 0.25/40 = 0.00625 → d = 25.6. t₁ = 12.7062 → (1.95996/12.7062)² = 0.023793;
        // n* = 40/25.6 · 0.023793 = 0.037177.
        let c = clustered_interval(&[(18, 20), (2, 20)]).unwrap();
        assert_eq!(c.clusters, 2);
        assert!((c.design_effect - 25.6).abs() < 1e-9, "{}", c.design_effect);
        assert!((c.effective_trials - 0.037_177).abs() < 1e-5, "{}", c.effective_trials);
        // Wilson at p̂ = ½ is centred at ½ with half-width z/(2√(n + z²)) = 1.95996/(2·1.96944) = 0.4976.
        assert!((c.interval.lower - 0.0024).abs() < 1e-3 && (c.interval.upper - 0.9976).abs() < 1e-3);
    }

    #[test]
    fn identical_prompts_fall_back_to_the_pooled_wilson_interval() {
        // Identical prompts: V = 0, so the cap applies: n* = M and the interval is the
        // answers-as-independent one.
        let c = clustered_interval(&[(10, 50); 10]).unwrap();
        assert_eq!(c.design_effect, 0.0);
        assert_eq!(c.effective_trials, 500.0);
        assert_eq!(c.interval, wilson_interval(100, 500));
        // Binomial-like spread across 10 prompts: d near 1, widened by (t₉/z)² = 1.332.
        let c = clustered_interval(&[
            (8, 50),
            (12, 50),
            (10, 50),
            (7, 50),
            (13, 50),
            (10, 50),
            (9, 50),
            (11, 50),
            (14, 50),
            (6, 50),
        ])
        .unwrap();
        // V = 10/9 · (4+4+0+9+9+0+1+1+16+16)/250000 = 10/9 · 60/250000 = 0.000266667;
        // binomial 0.16/500 = 0.00032 → d = 0.83333; n* = 500/0.83333 · (1.959964/2.2621572)² = 450.41.
        assert!((c.design_effect - 0.833_333).abs() < 1e-5, "{}", c.design_effect);
        assert!((c.effective_trials - 450.41).abs() < 0.05, "{}", c.effective_trials);
    }

    #[test]
    fn caveats_flag_few_prompts_and_rare_brands() {
        assert_eq!(clustered_caveat(&[(3, 10)]), None);
        assert_eq!(
            clustered_caveat(&[(3, 10); 5]),
            Some(ClusteredCaveat::FewPrompts { clusters: 5 })
        );
        assert_eq!(clustered_caveat(&[(3, 10); 10]), None);
        // Named by 4 of 12 prompts: rare.
        let mut rare = vec![(0, 20); 8];
        rare.extend([(1, 20), (2, 20), (9, 20), (1, 20)]);
        assert_eq!(
            clustered_caveat(&rare),
            Some(ClusteredCaveat::FewInformativePrompts { informative: 4 })
        );
        // Left out by only 3 of 10 prompts: near-universal.
        let mut common = vec![(20, 20); 7];
        common.extend([(19, 20), (15, 20), (18, 20)]);
        assert_eq!(
            clustered_caveat(&common),
            Some(ClusteredCaveat::FewInformativePrompts { informative: 3 })
        );
        // Prompts without answers do not count.
        let mut sparse = vec![(3, 10); 9];
        sparse.push((0, 0));
        assert_eq!(
            clustered_caveat(&sparse),
            Some(ClusteredCaveat::FewPrompts { clusters: 9 })
        );
    }

    #[test]
    fn zero_successes_keep_a_wilson_interval() {
        let c = clustered_interval(&[(0, 30), (0, 30), (0, 30)]).unwrap();
        assert_eq!(c.interval.lower, 0.0);
        assert!(c.interval.upper > wilson_interval(0, 90).upper);
        assert!(c.interval.upper < 0.3);
    }

    #[test]
    fn more_heterogeneous_prompts_give_wider_intervals() {
        let even = clustered_interval(&[(15, 30), (14, 30), (16, 30), (15, 30), (15, 30)]).unwrap();
        let uneven = clustered_interval(&[(29, 30), (1, 30), (25, 30), (5, 30), (15, 30)]).unwrap();
        assert!(uneven.interval.half_width() > 2.0 * even.interval.half_width());
        assert!(uneven.design_effect > 10.0);
    }
}
