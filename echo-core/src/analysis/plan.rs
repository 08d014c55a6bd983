//! Planning how many samples a run needs.
//!
//! Users think in precision ("visibility to within ±5 points"), not in sample counts. These
//! functions turn a precision or a change worth detecting into a count, using the same Wilson
//! interval the reports show, so a planned run delivers the interval it promised.

use crate::analysis::compare::{normal_cdf, normal_quantile};
use crate::analysis::stats::WILSON_Z;
use crate::{Error, Result};

/// Above this many samples per target the plan is not useful (and the search would overflow):
/// half-widths that small are reported as an error rather than an absurd count.
const MAX_PLANNED_SAMPLES: u64 = 1 << 40;

/// The half-width of the Wilson 95% interval at an estimated rate `rate` (real-valued
/// successes `rate·n`) after `n` trials.
#[cfg(test)]
fn wilson_half_width(rate: f64, n: f64) -> f64 {
    wilson_half_width_z(rate, n, WILSON_Z)
}

/// The same with normal quantile `z`.
fn wilson_half_width_z(rate: f64, n: f64, z: f64) -> f64 {
    let z2 = z * z;
    z * (rate * (1.0 - rate) / n + z2 / (4.0 * n * n)).sqrt() / (1.0 + z2 / n)
}

/// The smallest number of samples n ≥ 1 whose Wilson score 95% interval (E. B. Wilson,
/// "Probable inference, the law of succession, and statistical inference", JASA 22:209–212,
/// 1927 — the interval the reports use) has a half-width ≤ `half_width` when the observed
/// rate equals `expected_rate` (default 0.5, the worst case: p(1−p) is largest there).
///
/// Method: the Wilson half-width z·√(p(1−p)/n + z²/4n²)/(1 + z²/n) decreases strictly in n for
/// every p in [0, 1] (its derivative in n has the sign of p(1−p)(z²/2 − n) − z²/4 < 0), so the
/// answer is found by doubling then bisection over integers.
///
/// Errors: `half_width` outside (0, 0.5]; `expected_rate` outside [0, 1]; a half-width so
/// small that more than 2⁴⁰ samples would be needed.
pub fn samples_for_half_width(half_width: f64, expected_rate: Option<f64>) -> Result<u64> {
    samples_for_half_width_z(half_width, expected_rate.unwrap_or(0.5), WILSON_Z)
}

/// [`samples_for_half_width`] for a Wilson interval with normal quantile `z` (another
/// confidence level), at rate `rate`.
pub(crate) fn samples_for_half_width_z(half_width: f64, rate: f64, z: f64) -> Result<u64> {
    if !(half_width > 0.0 && half_width <= 0.5) {
        return Err(Error::invalid(
            "half_width",
            format!("must be in (0, 0.5] as a proportion (0.05 for ±5 points), got {half_width}"),
        ));
    }
    if !(0.0..=1.0).contains(&rate) {
        return Err(Error::invalid(
            "expected_rate",
            format!("must be a proportion in [0, 1] (0.3 for 30%), got {rate}"),
        ));
    }
    let fits = |n: u64| wilson_half_width_z(rate, n as f64, z) <= half_width;
    // Invariant: !fits(lo) (or lo = 0, treated as not fitting), fits(hi).
    let mut hi = 1u64;
    while !fits(hi) {
        if hi >= MAX_PLANNED_SAMPLES {
            return Err(Error::invalid(
                "half_width",
                format!("±{half_width} would need more than {MAX_PLANNED_SAMPLES} samples; ask for a wider interval"),
            ));
        }
        hi *= 2;
    }
    let mut lo = hi / 2;
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if fits(mid) { hi = mid } else { lo = mid }
    }
    Ok(hi)
}

/// The power of the two-sided pooled two-proportion z-test at level `alpha` to detect rates
/// `p1` versus `p2` with `n_per_group` samples in each group.
///
/// Method: the normal approximation (Fleiss, Levin & Paik, *Statistical Methods for Rates and
/// Proportions*, 3rd ed., §4.2, without continuity correction): with p̄ = (p1+p2)/2,
/// σ₀ = √(2p̄(1−p̄)/n) under "no change" and σ₁ = √((p1(1−p1) + p2(1−p2))/n) under the
/// alternative, power = Φ((|p1−p2| − z₁₋α/₂σ₀)/σ₁) + Φ((−|p1−p2| − z₁₋α/₂σ₀)/σ₁)
/// (the second term is the negligible wrong-direction rejection).
///
/// Errors: `p1`, `p2` outside [0, 1]; `n_per_group` = 0; `alpha` outside (0, 1).
/// Equal rates give power = `alpha` (the false-positive rate), as they should.
pub fn power_two_proportions(p1: f64, p2: f64, n_per_group: u64, alpha: f64) -> Result<f64> {
    for (field, p) in [("p1", p1), ("p2", p2)] {
        if !(0.0..=1.0).contains(&p) {
            return Err(Error::invalid(
                field,
                format!("must be a proportion in [0, 1], got {p}"),
            ));
        }
    }
    if n_per_group == 0 {
        return Err(Error::invalid("n_per_group", "must be at least 1"));
    }
    if !(alpha > 0.0 && alpha < 1.0) {
        return Err(Error::invalid(
            "alpha",
            format!("must be strictly between 0 and 1 (e.g. 0.05), got {alpha}"),
        ));
    }
    let n = n_per_group as f64;
    let pooled = (p1 + p2) / 2.0;
    let sigma0 = (2.0 * pooled * (1.0 - pooled) / n).sqrt();
    let sigma1 = ((p1 * (1.0 - p1) + p2 * (1.0 - p2)) / n).sqrt();
    let delta = (p1 - p2).abs();
    if sigma1 == 0.0 {
        // Both rates are 0 or 1: the outcome is deterministic. Different rates are always
        // detected; equal ones never vary, so the test never rejects.
        return Ok(if delta > 0.0 { 1.0 } else { 0.0 });
    }
    let z = normal_quantile(1.0 - alpha / 2.0);
    let power = normal_cdf((delta - z * sigma0) / sigma1) + normal_cdf((-delta - z * sigma0) / sigma1);
    Ok(power.clamp(0.0, 1.0))
}

/// The smallest number of samples per run (per group) at which the change test detects a
/// change of visibility from `p1` to `p2` with probability ≥ `power` at level `alpha`, by
/// [`power_two_proportions`] (increasing in n, so found by doubling then bisection).
///
/// 356 per run detect 30% → 40% with 80% power at α = 0.05. The actual test (Fisher's exact
/// test for small counts, and requiring the Newcombe interval to exclude 0) is slightly
/// more conservative than the z-test approximation; `docs/metrics.md` reports simulated power.
///
/// Errors: the arguments of [`power_two_proportions`]; `p1` = `p2` (no change to detect);
/// `power` outside (`alpha`, 1); more than 2⁴⁰ samples needed.
pub fn samples_for_change(p1: f64, p2: f64, alpha: f64, power: f64) -> Result<u64> {
    power_two_proportions(p1, p2, 1, alpha)?;
    if p1 == p2 {
        return Err(Error::invalid(
            "p2",
            "equals p1: there is no change to detect; pass the smallest change worth detecting",
        ));
    }
    if !(power > alpha && power < 1.0) {
        return Err(Error::invalid(
            "power",
            format!("must be between alpha and 1 (0.8 is usual), got {power}"),
        ));
    }
    let fits = |n: u64| power_two_proportions(p1, p2, n, alpha).is_ok_and(|pw| pw >= power);
    let mut hi = 1u64;
    while !fits(hi) {
        if hi >= MAX_PLANNED_SAMPLES {
            return Err(Error::invalid(
                "p2",
                format!("detecting {p1} → {p2} would need more than {MAX_PLANNED_SAMPLES} samples per run"),
            ));
        }
        hi *= 2;
    }
    let mut lo = hi / 2;
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if fits(mid) { hi = mid } else { lo = mid }
    }
    Ok(hi)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_points_at_worst_case() {
        // At p = 0.5 the Wilson half-width simplifies: p(1−p) = 1/4, so
        // h = z·√(n/4 + z²/4)/(n + z²) = z / (2√(n + z²)), hence h ≤ 0.05 ⇔ n ≥ z²/(4h²) − z²
        // = 3.841459/0.01 − 3.841459 = 384.146 − 3.841 = 380.30 → 381 (the Wald formula
        // z²/(4h²) gives 385; Wilson's pull towards ½ narrows the interval by z² samples' worth).
        assert_eq!(samples_for_half_width(0.05, None).unwrap(), 381);
        assert_eq!(samples_for_half_width(0.05, Some(0.5)).unwrap(), 381);
        // 380 just misses: z/(2√(383.84)) = 0.050020.
        assert!(wilson_half_width(0.5, 380.0) > 0.05);
        assert!(wilson_half_width(0.5, 381.0) <= 0.05);
    }

    #[test]
    fn ten_points_at_worst_case() {
        // 3.841459/0.04 − 3.841459 = 96.036 − 3.841 = 92.19 → 93.
        assert_eq!(samples_for_half_width(0.1, None).unwrap(), 93);
    }

    #[test]
    fn rarer_rates_need_fewer_samples() {
        let worst = samples_for_half_width(0.05, None).unwrap();
        let rare = samples_for_half_width(0.05, Some(0.1)).unwrap();
        assert!(rare < worst, "{rare} vs {worst}");
        // Wald would say z²·0.09/0.0025 = 138.3 → 139; Wilson adds the z²/4n² term, which
        // matters away from ½: at n = 141, z·√(0.09/141 + 3.841459/79524)/(1 + 3.841459/141)
        // = 1.959964·0.0262031/1.027244 = 0.049995 ≤ 0.05, while n = 140 gives 0.050176.
        assert_eq!(rare, 141);
        // Symmetric in p ↔ 1 − p.
        assert_eq!(rare, samples_for_half_width(0.05, Some(0.9)).unwrap());
        // The returned n is minimal.
        assert!(wilson_half_width(0.1, rare as f64) <= 0.05);
        assert!(wilson_half_width(0.1, (rare - 1) as f64) > 0.05);
    }

    #[test]
    fn widest_half_width_needs_one_sample() {
        assert_eq!(samples_for_half_width(0.5, None).unwrap(), 1);
    }

    #[test]
    fn planning_rejects_bad_input() {
        for h in [0.0, -0.1, 0.51, f64::NAN] {
            assert!(samples_for_half_width(h, None).is_err(), "{h}");
        }
        assert!(samples_for_half_width(0.05, Some(1.2)).is_err());
        assert!(samples_for_half_width(1e-9, None).is_err(), "needs ~10¹⁸ samples");
    }

    #[test]
    fn power_of_a_ten_point_change() {
        // p̄ = 0.35: σ₀√n = √(2·0.2275) = 0.674537, σ₁√n = √(0.21 + 0.24) = 0.670820, √356 = 18.86796.
        // (0.1·18.86796 − 1.959964·0.674537)/0.670820 = (1.886796 − 1.322068)/0.670820 = 0.841848;
        // Φ(0.841848) = 0.80008 (the wrong-direction term is ~1e-9).
        let power = power_two_proportions(0.3, 0.4, 356, 0.05).unwrap();
        assert!((power - 0.80008).abs() < 2e-4, "{power}");
        // Symmetric in the two rates, increasing in n.
        assert_eq!(power, power_two_proportions(0.4, 0.3, 356, 0.05).unwrap());
        assert!(power_two_proportions(0.3, 0.4, 100, 0.05).unwrap() < power);
        assert!(power_two_proportions(0.3, 0.4, 1000, 0.05).unwrap() > 0.99);
    }

    #[test]
    fn no_change_has_power_alpha() {
        let p = power_two_proportions(0.3, 0.3, 200, 0.05).unwrap();
        assert!((p - 0.05).abs() < 1e-6, "{p}");
        assert!(power_two_proportions(0.3, 0.4, 0, 0.05).is_err());
        assert!(power_two_proportions(1.3, 0.4, 10, 0.05).is_err());
        assert!(power_two_proportions(0.3, 0.4, 10, 1.0).is_err());
    }

    #[test]
    fn samples_for_a_ten_point_change() {
        // power(0.3, 0.4, 356) = 0.80008 (above); 355 falls just short.
        assert_eq!(samples_for_change(0.3, 0.4, 0.05, 0.8).unwrap(), 356);
        assert!(power_two_proportions(0.3, 0.4, 355, 0.05).unwrap() < 0.8);
        assert!(samples_for_change(0.3, 0.3, 0.05, 0.8).is_err());
        assert!(samples_for_change(0.3, 0.4, 0.05, 1.0).is_err());
        assert!(samples_for_change(0.3, 0.4, 0.05, 0.01).is_err());
    }
}
