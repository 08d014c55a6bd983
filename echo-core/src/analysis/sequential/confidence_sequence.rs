//! An anytime-valid interval for a proportion: the beta-binomial mixture confidence sequence.

use crate::analysis::compare::ln_gamma;
use crate::model::Interval;

/// Parameters of the Beta(a, b) mixing distribution: Jeffreys' Beta(½, ½), which favours no
/// rate, so the sequence is about as tight near 0.02 as near 0.5.
const PRIOR_A: f64 = 0.5;
const PRIOR_B: f64 = 0.5;

/// The beta-binomial mixture confidence sequence for a proportion after `successes` out of
/// `trials`, at level `confidence`.
///
/// Method (H. Robbins, "Statistical methods related to the law of the iterated logarithm",
/// Ann. Math. Statist. 41:1397–1409, 1970; S. R. Howard, A. Ramdas, J. McAuliffe, J. Sekhon,
/// "Time-uniform, nonparametric, nonasymptotic confidence sequences", Ann. Statist.
/// 49:1055–1080, 2021, §3): for every candidate rate p the mixture likelihood ratio
///
/// M_n(p) = B(a + s, b + n − s) / B(a, b) / (p^s (1 − p)^(n − s))
///
/// is a nonnegative martingale with M_0 = 1 when p is the true rate, so by Ville's inequality
/// P(M_n(p) ≥ 1/α for some n) ≤ α. The set {p : M_n(p) < 1/α}, α = 1 − confidence, therefore
/// covers the true rate at *every* n simultaneously with probability ≥ `confidence` — in
/// particular at any stopping time, whatever rule or look schedule chose it. ln M_n(p) is
/// convex in p with its minimum at p̂ = s/n (where M_n ≤ 1), so the set is an interval; its
/// ends are found by bisection. a = b = ½ (Jeffreys).
///
/// The price of validity at every n is width: at n = 381 and p̂ = ½ it is ±0.089 where the
/// Wilson interval is ±0.050 (docs/metrics.md, "Adaptive runs").
///
/// No trials gives [0, 1]. `successes` above `trials` is a caller bug and is treated as
/// `trials`; `confidence` must be in (0, 1).
pub fn beta_binomial_confidence_sequence(successes: u64, trials: u64, confidence: f64) -> Interval {
    debug_assert!(successes <= trials, "{successes} successes out of {trials} trials");
    debug_assert!(confidence > 0.0 && confidence < 1.0, "confidence {confidence}");
    if trials == 0 {
        return Interval { lower: 0.0, upper: 1.0 };
    }
    let s = successes.min(trials) as f64;
    let n = trials as f64;
    let threshold = (1.0 / (1.0 - confidence)).ln();
    let ln_mixture = ln_beta(PRIOR_A + s, PRIOR_B + n - s) - ln_beta(PRIOR_A, PRIOR_B);
    // ln M_n(p) − ln(1/α): ≥ 0 outside the sequence, < 0 inside.
    let excess = |p: f64| ln_mixture - x_ln_y(s, p) - x_ln_y(n - s, 1.0 - p) - threshold;
    let estimate = s / n;
    let lower = if s == 0.0 {
        0.0
    } else {
        // excess decreases on (0, p̂]: find where it crosses 0.
        bisect(0.0, estimate, |p| excess(p) >= 0.0)
    };
    let upper = if s == n {
        1.0
    } else {
        // excess increases on [p̂, 1): the crossing, approached from inside.
        1.0 - bisect(0.0, 1.0 - estimate, |q| excess(1.0 - q) >= 0.0)
    };
    Interval { lower, upper }
}

/// For `outside` true on [lo, x*] and false on (x*, hi], returns x* (within the bracket's
/// width / 2⁶⁴, on the outside side).
fn bisect(mut lo: f64, mut hi: f64, outside: impl Fn(f64) -> bool) -> f64 {
    for _ in 0..64 {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        if outside(mid) { lo = mid } else { hi = mid }
    }
    lo
}

fn ln_beta(a: f64, b: f64) -> f64 {
    ln_gamma(a) + ln_gamma(b) - ln_gamma(a + b)
}

/// x·ln y with 0·ln 0 = 0.
fn x_ln_y(x: f64, y: f64) -> f64 {
    if x == 0.0 { 0.0 } else { x * y.ln() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::wilson_interval;

    #[test]
    fn bounds_are_where_the_martingale_reaches_one_over_alpha() {
        // 10/40 at 95%: at each bound, ln M(p) = ln 20 (checked from the definition).
        let i = beta_binomial_confidence_sequence(10, 40, 0.95);
        let ln_m = |p: f64| ln_beta(10.5, 30.5) - ln_beta(0.5, 0.5) - 10.0 * p.ln() - 30.0 * (1.0 - p).ln();
        for p in [i.lower, i.upper] {
            assert!((ln_m(p) - 20f64.ln()).abs() < 1e-6, "{p}: {}", ln_m(p));
        }
        assert!(i.lower < 0.25 && 0.25 < i.upper);
    }

    #[test]
    fn wider_than_wilson_and_shrinking() {
        for (s, n) in [(0, 30), (3, 30), (15, 30), (190, 381), (30, 381), (381, 381)] {
            let cs = beta_binomial_confidence_sequence(s, n, 0.95);
            let w = wilson_interval(s, n);
            assert!(
                cs.lower <= w.lower + 1e-12 && cs.upper >= w.upper - 1e-12,
                "{s}/{n}: {cs:?} vs {w:?}"
            );
        }
        // ±0.089 at 190/381 (vs Wilson's ±0.050).
        let hw = beta_binomial_confidence_sequence(190, 381, 0.95).half_width();
        assert!((0.088..0.091).contains(&hw), "{hw}");
        assert!(beta_binomial_confidence_sequence(1900, 3810, 0.95).half_width() < hw);
        assert_eq!(
            beta_binomial_confidence_sequence(0, 0, 0.95),
            Interval { lower: 0.0, upper: 1.0 }
        );
    }

    #[test]
    fn extremes_touch_the_boundary() {
        let zero = beta_binomial_confidence_sequence(0, 50, 0.95);
        assert_eq!(zero.lower, 0.0);
        assert!(zero.upper > 0.0 && zero.upper < 0.2);
        let all = beta_binomial_confidence_sequence(50, 50, 0.95);
        assert_eq!(all.upper, 1.0);
        assert!((all.lower - (1.0 - zero.upper)).abs() < 1e-9, "mirror image");
    }
}
