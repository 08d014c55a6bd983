//! Did a proportion change between two runs?
//!
//! LLM answers are random, so a brand's visibility moves between two runs even when nothing
//! changed. A change is reported as significant only when a test says so, never by a fixed
//! threshold: the difference gets Newcombe's hybrid score interval (built from the two Wilson
//! intervals, so it behaves near 0 and 1 where the Wald difference interval fails) and a
//! two-sided p-value — Fisher's exact test when any expected cell count is below 5 (where the
//! normal approximation is poor), the pooled two-proportion z-test otherwise.
//!
//! The small numerical helpers here (`erfc`, the normal CDF and quantile, `ln_gamma`) are
//! shared with the sample-size planner; they are implemented in place to avoid a dependency.

use crate::analysis::stats::proportion;
use crate::model::{Interval, Proportion};
use crate::{Error, Result};

/// Which test produced [`ProportionChange::p_value`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeTest {
    /// Pooled two-proportion z-test (two-sided), used when every expected cell count is ≥ 5.
    TwoProportionZ,
    /// Fisher's exact test (two-sided), used when any expected cell count is < 5.
    FisherExact,
}

/// The change of a proportion between two independent samples ("before" and "after").
///
/// Method: difference `after − before` with Newcombe's hybrid score 95% interval (method 10 of
/// R. G. Newcombe, "Interval estimation for the difference between independent proportions:
/// comparison of eleven methods", Statistics in Medicine 17:873–890, 1998) and a two-sided
/// p-value from [`ChangeTest`].
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ProportionChange {
    pub before: Proportion,
    pub after: Proportion,
    /// `after.estimate − before.estimate`.
    pub difference: f64,
    /// Newcombe hybrid score 95% interval for `difference` (always 95%, whatever `alpha`).
    pub interval: Interval,
    /// Two-sided p-value of the test of "no change".
    pub p_value: f64,
    pub test: ChangeTest,
    /// `p_value < alpha` **and** `interval` excludes 0. Requiring both keeps the flag
    /// consistent with what a reader sees: a "significant" change never has an interval
    /// straddling zero.
    pub significant: bool,
}

/// Compares two independent proportions, e.g. a brand's visibility in run A (`before`) and
/// run B (`after`).
///
/// Interval: Newcombe (1998) method 10, from the Wilson intervals `[l₁,u₁]`, `[l₂,u₂]` of
/// before (p₁) and after (p₂), with d = p₂ − p₁:
/// `[d − √((p₂−l₂)² + (u₁−p₁)²),  d + √((u₂−p₂)² + (p₁−l₁)²)]`.
///
/// Test: if any expected count of the 2×2 table (row total × column total / N) is < 5,
/// Fisher's exact test (two-sided: the sum of the hypergeometric probabilities of all tables
/// with the same margins that are no more likely than the observed one — R. A. Fisher,
/// *Statistical Methods for Research Workers*, 1925; the convention of R's `fisher.test` and
/// SciPy's `fisher_exact`); otherwise the pooled two-proportion z-test,
/// z = (p₂ − p₁) / √(p̄(1−p̄)(1/n₁ + 1/n₂)), p = erfc(|z|/√2) (e.g. Agresti, *Categorical Data
/// Analysis*, 3rd ed., §3.1).
///
/// `InvalidInput` naming `alpha` unless it is strictly between 0 and 1.
pub(crate) fn check_alpha(alpha: f64) -> Result<()> {
    if alpha > 0.0 && alpha < 1.0 {
        Ok(())
    } else {
        Err(Error::invalid(
            "alpha",
            format!("must be strictly between 0 and 1 (e.g. 0.05), got {alpha}"),
        ))
    }
}

/// Errors: zero trials, successes above trials, or `alpha` outside (0, 1).
pub fn compare_proportions(
    before_successes: u64,
    before_trials: u64,
    after_successes: u64,
    after_trials: u64,
    alpha: f64,
) -> Result<ProportionChange> {
    check_counts("before", before_successes, before_trials)?;
    check_counts("after", after_successes, after_trials)?;
    check_alpha(alpha)?;
    let before = proportion(before_successes, before_trials);
    let after = proportion(after_successes, after_trials);
    let difference = after.estimate - before.estimate;
    let interval = newcombe_interval(&before, &after);

    let (p_value, test) = if min_expected_count(before_successes, before_trials, after_successes, after_trials) < 5.0 {
        (
            fisher_exact_two_sided(before_successes, before_trials, after_successes, after_trials),
            ChangeTest::FisherExact,
        )
    } else {
        (
            two_proportion_z_test(before_successes, before_trials, after_successes, after_trials),
            ChangeTest::TwoProportionZ,
        )
    };
    let significant = p_value < alpha && !interval.contains(0.0);
    Ok(ProportionChange {
        before,
        after,
        difference,
        interval,
        p_value,
        test,
        significant,
    })
}

fn check_counts(which: &str, successes: u64, trials: u64) -> Result<()> {
    if trials == 0 {
        return Err(Error::invalid(
            format!("{which}_trials"),
            "must be at least 1: a proportion with no trials cannot be compared",
        ));
    }
    if successes > trials {
        return Err(Error::invalid(
            format!("{which}_successes"),
            format!("{successes} successes exceed {trials} trials; pass successes ≤ trials"),
        ));
    }
    Ok(())
}

/// Newcombe's hybrid score interval for `after − before`.
fn newcombe_interval(before: &Proportion, after: &Proportion) -> Interval {
    let (p1, l1, u1) = (before.estimate, before.interval.lower, before.interval.upper);
    let (p2, l2, u2) = (after.estimate, after.interval.lower, after.interval.upper);
    let d = p2 - p1;
    Interval {
        lower: (d - ((p2 - l2).powi(2) + (u1 - p1).powi(2)).sqrt()).max(-1.0),
        upper: (d + ((u2 - p2).powi(2) + (p1 - l1).powi(2)).sqrt()).min(1.0),
    }
}

/// The smallest expected cell count of the 2×2 table under "no change".
fn min_expected_count(s1: u64, n1: u64, s2: u64, n2: u64) -> f64 {
    let total = (n1 + n2) as f64;
    let hits = (s1 + s2) as f64;
    let misses = total - hits;
    let (n1, n2) = (n1 as f64, n2 as f64);
    [n1 * hits, n1 * misses, n2 * hits, n2 * misses]
        .into_iter()
        .map(|x| x / total)
        .fold(f64::INFINITY, f64::min)
}

/// Two-sided p-value of the pooled two-proportion z-test. A pooled rate of 0 or 1 (no
/// variation at all) means the data cannot contradict "no change": p = 1.
fn two_proportion_z_test(s1: u64, n1: u64, s2: u64, n2: u64) -> f64 {
    let (n1f, n2f) = (n1 as f64, n2 as f64);
    let pooled = (s1 + s2) as f64 / (n1f + n2f);
    let se = (pooled * (1.0 - pooled) * (1.0 / n1f + 1.0 / n2f)).sqrt();
    if se == 0.0 {
        return 1.0;
    }
    let z = (s2 as f64 / n2f - s1 as f64 / n1f) / se;
    erfc(z.abs() / std::f64::consts::SQRT_2).min(1.0)
}

/// Two-sided Fisher exact p-value for the table `[[s1, n1−s1], [s2, n2−s2]]`.
///
/// With the margins fixed, the count in the top-left cell is hypergeometric; the p-value sums
/// the probabilities of every table no more likely than the observed one. A relative tolerance
/// of 1e-7 (as in R and SciPy) keeps tables tied in exact arithmetic from being dropped by
/// rounding. Probabilities are computed in log space so large counts do not overflow.
fn fisher_exact_two_sided(s1: u64, n1: u64, s2: u64, n2: u64) -> f64 {
    let hits = s1 + s2;
    let lo = hits.saturating_sub(n2);
    let hi = hits.min(n1);
    let ln_choose = |n: u64, k: u64| ln_factorial(n) - ln_factorial(k) - ln_factorial(n - k);
    let ln_total = ln_choose(n1 + n2, hits);
    let ln_prob = |x: u64| ln_choose(n1, x) + ln_choose(n2, hits - x) - ln_total;
    let observed = ln_prob(s1);
    let threshold = observed + (1.0f64 + 1e-7).ln();
    let p: f64 = (lo..=hi).map(ln_prob).filter(|&lp| lp <= threshold).map(f64::exp).sum();
    p.min(1.0)
}

fn ln_factorial(n: u64) -> f64 {
    ln_gamma(n as f64 + 1.0)
}

/// ln Γ(x) for x > 0 by the Lanczos approximation (g = 7, 9 coefficients; relative error
/// around 1e-15), with the reflection formula below 0.5. Coefficients as in Numerical
/// Recipes 3rd ed. / the widely used Godfrey set.
pub(crate) fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const COEFFS: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Γ(x)Γ(1−x) = π / sin(πx)
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).abs().ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut sum = COEFFS[0];
    for (i, c) in COEFFS.iter().enumerate().skip(1) {
        sum += c / (x + i as f64);
    }
    let t = x + G + 0.5;
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + sum.ln()
}

/// The complementary error function, by the Chebyshev fit `erfcc` of Numerical Recipes
/// (Press et al., 2nd ed., §6.2): fractional error below 1.2e-7 everywhere.
pub(crate) fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98 + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

/// Φ(x), the standard normal CDF: erfc(−x/√2)/2.
pub(crate) fn normal_cdf(x: f64) -> f64 {
    0.5 * erfc(-x / std::f64::consts::SQRT_2)
}

/// Φ⁻¹(p) for p in (0, 1): P. J. Acklam's rational approximation (relative error 1.15e-9),
/// refined by one Halley step against [`normal_cdf`]. Returns ±∞ at 0 and 1, NaN outside.
pub(crate) fn normal_quantile(p: f64) -> f64 {
    if p.is_nan() || !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    if p == 0.0 {
        return f64::NEG_INFINITY;
    }
    if p == 1.0 {
        return f64::INFINITY;
    }
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    const P_LOW: f64 = 0.024_25;
    let x = if p < P_LOW {
        let q = (-2.0 * p.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else if p <= 1.0 - P_LOW {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        let q = (-2.0 * (1.0 - p).ln()).sqrt();
        -(((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    // One Halley step; its accuracy is bounded by erfc's (~1e-7 relative).
    let e = normal_cdf(x) - p;
    let u = e * (2.0 * std::f64::consts::PI).sqrt() * (x * x / 2.0).exp();
    x - u / (1.0 + x * u / 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_close(got: f64, want: f64, tol: f64, what: &str) {
        assert!((got - want).abs() < tol, "{what}: got {got}, want {want} ± {tol}");
    }

    #[test]
    fn newcombe_paper_example() {
        // Newcombe (1998), example (a): 56/70 vs 48/80 → 0.2, method 10 interval (0.0524, 0.3339).
        let c = compare_proportions(48, 80, 56, 70, 0.05).unwrap();
        assert_close(c.difference, 0.2, 1e-12, "difference");
        assert_close(c.interval.lower, 0.0524, 5e-5, "lower");
        assert_close(c.interval.upper, 0.3339, 5e-5, "upper");
        assert_eq!(c.test, ChangeTest::TwoProportionZ);
        assert!(c.significant);
        // Swapping the runs mirrors the interval.
        let m = compare_proportions(56, 70, 48, 80, 0.05).unwrap();
        assert_close(m.interval.lower, -c.interval.upper, 1e-12, "mirrored lower");
        assert_close(m.interval.upper, -c.interval.lower, 1e-12, "mirrored upper");
        assert_close(m.p_value, c.p_value, 1e-12, "same p");
    }

    #[test]
    fn z_test_reference_value() {
        // 30/100 vs 45/100: pooled p̄ = 75/200 = 0.375; se = √(0.375·0.625·(1/100 + 1/100))
        // = √0.0046875 = 0.0684653; z = 0.15/0.0684653 = 2.190890; p = erfc(2.190890/√2)
        // = 2·(1 − Φ(2.19089)) = 0.028460 (Python: math.erfc(2.1908902300/math.sqrt(2))
        // = 0.0284597; statsmodels' pooled `proportions_ztest` gives the same). The unpooled
        // variant would give 0.0266, so this pins the pooled statistic.
        let c = compare_proportions(30, 100, 45, 100, 0.05).unwrap();
        assert_eq!(c.test, ChangeTest::TwoProportionZ);
        assert_close(c.p_value, 0.028_459_7, 2e-7, "p");
        assert!(c.significant);
        assert!(c.interval.lower > 0.0);
    }

    #[test]
    fn fisher_reference_value() {
        // 1/10 vs 7/10: expected hits per row = 10·8/20 = 4 < 5 → Fisher. Margins: 8 hits of 20.
        // P(x) = C(10,x)C(10,8−x)/C(20,8), C(20,8) = 125970. Tables no likelier than x=1
        // (P = 10·120/125970 = 0.009526): x = 0,1,7,8 → (45 + 1200 + 1200 + 45)/125970
        // = 2490/125970 = 0.0197666 (scipy.stats.fisher_exact([[1,9],[7,3]]) = 0.01977).
        let c = compare_proportions(1, 10, 7, 10, 0.05).unwrap();
        assert_eq!(c.test, ChangeTest::FisherExact);
        assert_close(c.p_value, 2490.0 / 125_970.0, 1e-10, "p");
        assert!(c.significant);
    }

    #[test]
    fn identical_proportions_are_not_significant() {
        for (s, n) in [(30, 100), (2, 10), (0, 50), (50, 50)] {
            let c = compare_proportions(s, n, s, n, 0.05).unwrap();
            assert_eq!(c.difference, 0.0);
            assert_close(c.p_value, 1.0, 1e-9, "p");
            assert!(!c.significant, "{s}/{n}");
            assert!(c.interval.contains(0.0));
        }
    }

    #[test]
    fn small_change_is_not_significant() {
        // 40% vs 45% of 100: z ≈ 0.72, p ≈ 0.47.
        let c = compare_proportions(40, 100, 45, 100, 0.05).unwrap();
        assert!(!c.significant);
        assert!(c.p_value > 0.4 && c.p_value < 0.55, "p = {}", c.p_value);
    }

    #[test]
    fn bad_input_names_the_argument() {
        let field = |r: Result<ProportionChange>| match r {
            Err(Error::InvalidInput { field, .. }) => field,
            other => panic!("expected InvalidInput, got {other:?}"),
        };
        assert_eq!(field(compare_proportions(0, 0, 1, 2, 0.05)), "before_trials");
        assert_eq!(field(compare_proportions(1, 2, 3, 2, 0.05)), "after_successes");
        assert_eq!(field(compare_proportions(1, 2, 1, 2, 0.0)), "alpha");
        assert_eq!(field(compare_proportions(1, 2, 1, 2, 1.0)), "alpha");
        assert_eq!(field(compare_proportions(1, 2, 1, 2, f64::NAN)), "alpha");
    }

    #[test]
    fn numerical_helpers_match_known_values() {
        // ln Γ(n+1) = ln n!
        assert_close(ln_gamma(1.0), 0.0, 1e-13, "lnΓ(1)");
        assert_close(ln_gamma(11.0), 3_628_800f64.ln(), 1e-11, "ln 10!");
        assert_close(ln_gamma(0.5), std::f64::consts::PI.sqrt().ln(), 1e-13, "lnΓ(1/2)");
        // erfc(0) = 1, erfc(1) = 0.157299207, erfc(−1) = 1.842700793.
        assert_close(erfc(0.0), 1.0, 2e-7, "erfc 0");
        assert_close(erfc(1.0), 0.157_299_207, 2e-8, "erfc 1");
        assert_close(erfc(-1.0), 1.842_700_793, 2e-7, "erfc −1");
        assert_close(normal_cdf(1.959_963_984_540_054), 0.975, 1e-7, "Φ(1.96)");
        assert_close(normal_quantile(0.975), WILSON_Z_FOR_TEST, 1e-6, "Φ⁻¹(0.975)");
        assert_close(normal_quantile(0.8), 0.841_621_234, 1e-6, "Φ⁻¹(0.8)");
        assert_close(normal_quantile(0.001), -3.090_232_306, 1e-5, "Φ⁻¹(0.001)");
    }

    const WILSON_Z_FOR_TEST: f64 = crate::analysis::stats::WILSON_Z;
}
