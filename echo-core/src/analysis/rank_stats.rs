//! How stable is a ranking between two runs?
//!
//! Two complementary measures. Kendall's τ-b compares two scorings of the same items (e.g.
//! each brand's mean rank in run A and in run B) and handles ties. Rank-biased overlap
//! compares two ranked lists that need not contain the same items (e.g. the brands an answer
//! named, in order) and weights the top of the lists most, which is where buyers look.

use std::collections::HashSet;

use crate::{Error, Result};

/// Kendall's τ-b between two scorings `a[i]`, `b[i]` of the same items.
///
/// Method: over all n(n−1)/2 pairs, with C concordant and D discordant pairs, and n₁ (n₂)
/// the pairs tied in `a` (`b`),
/// τ-b = (C − D) / √((n₀ − n₁)(n₀ − n₂)), n₀ = n(n−1)/2
/// (M. G. Kendall, "The treatment of ties in ranking problems", Biometrika 33:239–251, 1945;
/// the statistic of SciPy's `kendalltau`). O(n²), fine for brand lists.
///
/// Errors: different lengths, fewer than 2 items, a NaN, or every value of one side tied
/// (τ is then undefined: there is no ordering to agree with).
pub fn kendall_tau_b(a: &[f64], b: &[f64]) -> Result<f64> {
    if a.len() != b.len() {
        return Err(Error::invalid(
            "b",
            format!(
                "has {} items but a has {}; pass the two scorings of the same items",
                b.len(),
                a.len()
            ),
        ));
    }
    if a.len() < 2 {
        return Err(Error::invalid("a", "needs at least 2 items to compare orderings"));
    }
    for (field, xs) in [("a", a), ("b", b)] {
        if let Some(i) = xs.iter().position(|x| x.is_nan()) {
            return Err(Error::invalid(format!("{field}[{i}]"), "is NaN; pass finite scores"));
        }
    }
    let (mut score, mut ties_a, mut ties_b, mut pairs) = (0i64, 0u64, 0u64, 0u64);
    for i in 0..a.len() {
        for j in i + 1..a.len() {
            pairs += 1;
            let da = sign(a[i] - a[j]);
            let db = sign(b[i] - b[j]);
            if da == 0 {
                ties_a += 1;
            }
            if db == 0 {
                ties_b += 1;
            }
            score += da * db;
        }
    }
    for (field, ties) in [("a", ties_a), ("b", ties_b)] {
        if ties == pairs {
            return Err(Error::invalid(
                field,
                "has every value tied, so Kendall's tau is undefined; pass scores that order the items",
            ));
        }
    }
    let denom = (((pairs - ties_a) as f64) * ((pairs - ties_b) as f64)).sqrt();
    Ok(score as f64 / denom)
}

fn sign(x: f64) -> i64 {
    if x > 0.0 {
        1
    } else if x < 0.0 {
        -1
    } else {
        0
    }
}

/// Extrapolated rank-biased overlap, RBO_ext, of two ranked lists (best first).
///
/// Method: W. Webber, A. Moffat, J. Zobel, "A similarity measure for indefinite rankings",
/// ACM TOIS 28(4), 2010, eq. 32 (which reduces to eq. 30 for equal lengths). With the longer
/// list L of length l, the shorter S of length s, and X_d the number of items shared by the
/// top d of each list (S's top d being all of S once d > s):
///
/// RBO_ext = (1−p)/p · [Σ_{d=1..l} X_d/d · p^d + Σ_{d=s+1..l} X_s(d−s)/(s·d) · p^d]
///           + [(X_l − X_s)/l + X_s/s] · p^l
///
/// It extrapolates the agreement seen so far to the unseen tails, so it is 1 for identical
/// lists and 0 for disjoint ones. `p` sets how top-heavy the measure is: the top d ranks carry
/// about 1 − p^d of the weight (p = 0.9: the top 10 carry ~65%).
///
/// Two empty lists are identical (1); one empty list shares nothing with the other (0).
/// Errors: `p` outside (0, 1); an item repeated within a list (a ranking lists each item once).
pub fn rank_biased_overlap(a: &[&str], b: &[&str], p: f64) -> Result<f64> {
    if !(p > 0.0 && p < 1.0) {
        return Err(Error::invalid(
            "p",
            format!("must be strictly between 0 and 1 (0.9 is usual), got {p}"),
        ));
    }
    for (field, list) in [("a", a), ("b", b)] {
        let mut seen = HashSet::with_capacity(list.len());
        if let Some(dup) = list.iter().find(|item| !seen.insert(**item)) {
            return Err(Error::invalid(
                field,
                format!("lists {dup:?} more than once; a ranking names each item once"),
            ));
        }
    }
    let (long, short) = if a.len() >= b.len() { (a, b) } else { (b, a) };
    let (l, s) = (long.len(), short.len());
    if l == 0 {
        return Ok(1.0);
    }
    if s == 0 {
        return Ok(0.0);
    }

    // X_d for d = 1..=l, counted incrementally: an item joins the overlap when it has been
    // seen in both prefixes.
    let mut seen_long = HashSet::with_capacity(l);
    let mut seen_short = HashSet::with_capacity(s);
    let mut overlap = 0usize;
    let mut x = Vec::with_capacity(l);
    for (d, &item_l) in long.iter().enumerate() {
        if seen_short.contains(item_l) {
            overlap += 1;
        }
        seen_long.insert(item_l);
        if let Some(&item_s) = short.get(d) {
            if seen_long.contains(item_s) {
                overlap += 1;
            }
            seen_short.insert(item_s);
        }
        x.push(overlap as f64);
    }

    let x_s = x[s - 1];
    let x_l = x[l - 1];
    let (sf, lf) = (s as f64, l as f64);
    let mut sum = 0.0;
    let mut weight = 1.0; // p^d
    for (i, &x_d) in x.iter().enumerate() {
        let d = (i + 1) as f64;
        weight *= p;
        sum += x_d / d * weight;
        if i + 1 > s {
            sum += x_s * (d - sf) / (sf * d) * weight;
        }
    }
    let tail = ((x_l - x_s) / lf + x_s / sf) * weight;
    Ok(((1.0 - p) / p * sum + tail).clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_close(got: f64, want: f64) {
        assert!((got - want).abs() < 1e-12, "got {got}, want {want}");
    }

    #[test]
    fn tau_of_identical_and_reversed_orders() {
        let a = [1.0, 2.0, 3.0, 4.0, 5.0];
        let rev: Vec<f64> = a.iter().rev().copied().collect();
        assert_close(kendall_tau_b(&a, &a).unwrap(), 1.0);
        assert_close(kendall_tau_b(&a, &rev).unwrap(), -1.0);
    }

    #[test]
    fn tau_worked_examples() {
        // One swapped neighbour out of 6 pairs: C = 5, D = 1 → (5 − 1)/6 = 2/3.
        assert_close(
            kendall_tau_b(&[1.0, 2.0, 3.0, 4.0], &[1.0, 3.0, 2.0, 4.0]).unwrap(),
            2.0 / 3.0,
        );
        // With ties: a = [1,2,2,3], b = [1,2,3,3]. Pairs (0,1),(0,2),(0,3),(1,3) concordant,
        // (1,2) tied in a, (2,3) tied in b: C = 4, D = 0, n₀ = 6, n₁ = n₂ = 1
        // → 4/√(5·5) = 0.8 (scipy.stats.kendalltau gives 0.8).
        assert_close(
            kendall_tau_b(&[1.0, 2.0, 2.0, 3.0], &[1.0, 2.0, 3.0, 3.0]).unwrap(),
            0.8,
        );
    }

    #[test]
    fn tau_rejects_bad_input() {
        assert!(kendall_tau_b(&[1.0, 2.0], &[1.0]).is_err());
        assert!(kendall_tau_b(&[1.0], &[1.0]).is_err());
        assert!(kendall_tau_b(&[1.0, f64::NAN], &[1.0, 2.0]).is_err());
        assert!(kendall_tau_b(&[1.0, 1.0, 1.0], &[1.0, 2.0, 3.0]).is_err());
    }

    #[test]
    fn rbo_of_identical_and_disjoint_lists() {
        let a = ["hubspot", "salesforce", "pipedrive", "zoho"];
        for p in [0.5, 0.9, 0.98] {
            assert_close(rank_biased_overlap(&a, &a, p).unwrap(), 1.0);
            assert_close(rank_biased_overlap(&a, &["x", "y", "z"], p).unwrap(), 0.0);
        }
        assert_close(rank_biased_overlap(&[], &[], 0.9).unwrap(), 1.0);
        assert_close(rank_biased_overlap(&a, &[], 0.9).unwrap(), 0.0);
    }

    #[test]
    fn rbo_worked_example_equal_lengths() {
        // a = [A,B,C], b = [B,A,D], p = 0.5: X₁ = 0, X₂ = 2, X₃ = 2.
        // (1−p)/p = 1; Σ X_d/d·p^d = 0 + 1·0.25 + (2/3)·0.125 = 0.333333; tail X₃/3·p³ = 0.083333
        // → RBO_ext = 0.416667 = 5/12.
        let got = rank_biased_overlap(&["A", "B", "C"], &["B", "A", "D"], 0.5).unwrap();
        assert_close(got, 5.0 / 12.0);
    }

    #[test]
    fn rbo_worked_example_uneven_lengths() {
        // L = [A,B,C,D], S = [B,E], p = 0.5; l = 4, s = 2.
        // X₁ = |{A}∩{B}| = 0, X₂ = |{A,B}∩{B,E}| = 1, X₃ = 1, X₄ = 1; X_s = X₂ = 1, X_l = 1.
        // Σ X_d/d·p^d = 0 + ½·¼ + ⅓·⅛ + ¼·1/16 = 0.125 + 0.041667 + 0.015625 = 0.182292.
        // Σ_{d=3..4} X_s(d−s)/(s·d)·p^d = (1/6)·⅛ + (2/8)·1/16 = 0.020833 + 0.015625 = 0.036458.
        // Tail: ((1 − 1)/4 + 1/2)·1/16 = 0.03125. Total = 0.182292 + 0.036458 + 0.03125 = 0.25.
        let got = rank_biased_overlap(&["A", "B", "C", "D"], &["B", "E"], 0.5).unwrap();
        assert_close(got, 0.25);
        // Symmetric in the argument order.
        assert_close(
            rank_biased_overlap(&["B", "E"], &["A", "B", "C", "D"], 0.5).unwrap(),
            0.25,
        );
        // A list that is a prefix of the other is extrapolated as full agreement.
        assert_close(rank_biased_overlap(&["A", "B", "C"], &["A"], 0.5).unwrap(), 1.0);
    }

    #[test]
    fn rbo_weights_the_top() {
        // Swapping the top two costs more than swapping the bottom two.
        let base = ["a", "b", "c", "d", "e"];
        let top = rank_biased_overlap(&base, &["b", "a", "c", "d", "e"], 0.9).unwrap();
        let bottom = rank_biased_overlap(&base, &["a", "b", "c", "e", "d"], 0.9).unwrap();
        assert!(top < bottom && bottom < 1.0, "{top} vs {bottom}");
    }

    #[test]
    fn rbo_rejects_bad_input() {
        assert!(rank_biased_overlap(&["a"], &["a"], 1.0).is_err());
        assert!(rank_biased_overlap(&["a"], &["a"], 0.0).is_err());
        assert!(rank_biased_overlap(&["a", "a"], &["a"], 0.9).is_err());
    }
}
