//! Interval estimates.
//!
//! Visibility and top-k rates are proportions estimated from a few dozen to a few
//! thousand answers, often near 0 or 1. The Wilson score interval keeps its nominal
//! coverage there, where the textbook normal ("Wald") interval collapses to zero width
//! at 0/n and n/n and undercovers for small n.

use crate::model::{Interval, Proportion};

/// The standard normal quantile for a two-sided 95% interval (Φ⁻¹(0.975)).
pub const WILSON_Z: f64 = 1.959_963_984_540_054;

/// The Wilson score 95% interval for `successes` out of `trials`.
///
/// With p̂ = s/n and z = [`WILSON_Z`]:
/// centre = (p̂ + z²/2n) / (1 + z²/n),
/// half-width = z·√(p̂(1−p̂)/n + z²/4n²) / (1 + z²/n),
/// clamped to [0, 1]. No trials gives the uninformative [0, 1]. `successes` above
/// `trials` is a caller bug and is treated as `trials`.
pub fn wilson_interval(successes: u64, trials: u64) -> Interval {
    debug_assert!(successes <= trials, "{successes} successes out of {trials} trials");
    wilson_interval_z(successes.min(trials) as f64, trials as f64, WILSON_Z)
}

/// The Wilson score interval with normal quantile `z` for `successes` (possibly fractional:
/// an effective count) out of `trials` (possibly an effective sample size). Same formula
/// as [`wilson_interval`]; `trials` ≤ 0 gives [0, 1].
pub(crate) fn wilson_interval_z(successes: f64, trials: f64, z: f64) -> Interval {
    if trials <= 0.0 {
        return Interval { lower: 0.0, upper: 1.0 };
    }
    let n = trials;
    let p = (successes / n).clamp(0.0, 1.0);
    let z2 = z * z;
    let denom = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denom;
    let half = z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / denom;
    Interval {
        lower: (centre - half).clamp(0.0, 1.0),
        upper: (centre + half).clamp(0.0, 1.0),
    }
}

/// `successes / trials` (0 when there are no trials) with its Wilson 95% interval.
pub fn proportion(successes: u64, trials: u64) -> Proportion {
    let estimate = if trials == 0 {
        0.0
    } else {
        successes as f64 / trials as f64
    };
    Proportion {
        successes,
        trials,
        estimate,
        interval: wilson_interval(successes, trials),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 5e-5
    }

    fn check(s: u64, n: u64, lower: f64, upper: f64) {
        let i = wilson_interval(s, n);
        assert!(
            close(i.lower, lower) && close(i.upper, upper),
            "{s}/{n}: got {i:?}, want [{lower}, {upper}]"
        );
    }

    #[test]
    fn hand_computed_values() {
        // z² = 3.841459. 0/10: centre = 0.192073/1.384146 = 0.138766, half the same → [0, 0.277533].
        check(0, 10, 0.0, 0.277533);
        // 10/10 mirrors 0/10.
        check(10, 10, 0.722467, 1.0);
        // 5/10: centre 0.5; half = 1.959964·√(0.025 + 0.0096036)/1.384146 = 0.263407.
        check(5, 10, 0.236593, 0.763407);
        // 81/263: p̂ = 0.307985, z²/2n = 0.007303, denom = 1.014606 → centre 0.310749;
        // half = 1.959964·√(0.00081043 + 0.00001388)/1.014606 = 0.055461.
        check(81, 263, 0.255289, 0.366210);
        // 1/1: centre = (1 + 1.920730)/4.841459 = 0.603275, half = 1.959964·√0.960365/4.841459 = 0.396725.
        check(1, 1, 0.206549, 1.0);
    }

    #[test]
    fn no_trials_is_uninformative() {
        assert_eq!(wilson_interval(0, 0), Interval { lower: 0.0, upper: 1.0 });
        let p = proportion(0, 0);
        assert_eq!((p.estimate, p.interval.lower, p.interval.upper), (0.0, 0.0, 1.0));
    }

    #[test]
    fn interval_contains_estimate_and_shrinks_with_n() {
        let mut last = f64::INFINITY;
        for n in [10, 100, 1000, 10_000] {
            let p = proportion(n * 3 / 10, n);
            assert!(p.interval.contains(p.estimate));
            assert!(p.interval.half_width() < last);
            last = p.interval.half_width();
        }
    }
}
