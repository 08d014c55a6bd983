//! Student's t distribution, for intervals whose variance is estimated from few clusters.

use crate::analysis::compare::{ln_gamma, normal_quantile};

/// The `p` quantile of Student's t with `df` > 0 degrees of freedom (`df` may be
/// fractional), for p in (0, 1). Bisection on [`t_cdf`], started from a bracket around the
/// normal quantile; accurate to ~1e-10.
pub(crate) fn t_quantile(p: f64, df: f64) -> f64 {
    debug_assert!(p > 0.0 && p < 1.0 && df > 0.0, "t_quantile({p}, {df})");
    if p == 0.5 {
        return 0.0;
    }
    if p < 0.5 {
        return -t_quantile(1.0 - p, df);
    }
    // The t quantile is above the normal one; double the upper end until it brackets.
    let mut lo = normal_quantile(p).max(0.0);
    let mut hi = (2.0 * lo).max(1.0);
    while t_cdf(hi, df) < p {
        lo = hi;
        hi *= 2.0;
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if t_cdf(mid, df) < p {
            lo = mid
        } else {
            hi = mid
        }
        if hi - lo < 1e-12 * hi {
            break;
        }
    }
    0.5 * (lo + hi)
}

/// P(T ≤ t) for Student's t with `df` degrees of freedom:
/// 1 − ½·I_{df/(df+t²)}(df/2, ½) for t ≥ 0, by symmetry below.
pub(crate) fn t_cdf(t: f64, df: f64) -> f64 {
    let tail = 0.5 * regularized_incomplete_beta(df / (df + t * t), df / 2.0, 0.5);
    if t >= 0.0 { 1.0 - tail } else { tail }
}

/// The regularized incomplete beta function I_x(a, b), by the continued fraction of
/// Numerical Recipes (Press et al., 3rd ed., §6.4, `betai`/`betacf`), using the symmetry
/// I_x(a, b) = 1 − I_{1−x}(b, a) where the fraction converges slowly.
fn regularized_incomplete_beta(x: f64, a: f64, b: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let ln_front = ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln();
    if x < (a + 1.0) / (a + b + 2.0) {
        ln_front.exp() * beta_continued_fraction(x, a, b) / a
    } else {
        1.0 - ln_front.exp() * beta_continued_fraction(1.0 - x, b, a) / b
    }
}

/// Lentz's evaluation of the continued fraction for I_x(a, b).
fn beta_continued_fraction(x: f64, a: f64, b: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..=300 {
        let m = f64::from(m);
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = 1.0 + aa / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = 1.0 + aa / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        let delta = d * c;
        h *= delta;
        if (delta - 1.0).abs() < 1e-15 {
            break;
        }
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_match_tables() {
        // Two-sided 95% critical values (t_{0.975, df}) from standard tables.
        for (df, want) in [
            (1.0, 12.706_204_7),
            (2.0, 4.302_652_7),
            (3.0, 3.182_446_3),
            (4.0, 2.776_445_1),
            (9.0, 2.262_157_2),
            (29.0, 2.045_229_6),
            (1000.0, 1.962_339_1),
        ] {
            let got = t_quantile(0.975, df);
            assert!((got - want).abs() < 1e-6, "df {df}: {got} vs {want}");
        }
        // df = 1 is Cauchy: quantile tan(π(p − ½)).
        let p: f64 = 0.9;
        assert!((t_quantile(p, 1.0) - (std::f64::consts::PI * (p - 0.5)).tan()).abs() < 1e-8);
        assert!((t_quantile(0.025, 4.0) + 2.776_445_1).abs() < 1e-6);
    }

    #[test]
    fn cdf_by_hand() {
        // df = 2 has a closed form: F(t) = ½ + t / (2√(2 + t²)).
        for t in [-3.0f64, -0.5, 0.0, 1.0, 4.0] {
            let want = 0.5 + t / (2.0 * (2.0 + t * t).sqrt());
            assert!((t_cdf(t, 2.0) - want).abs() < 1e-12, "{t}");
        }
    }
}
