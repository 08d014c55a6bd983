//! Comparing two runs' reports: which brands' visibility changed, by test rather than by
//! threshold, and how much the brands' order moved.

use serde::{Deserialize, Serialize};

use super::compare::{ProportionChange, check_alpha, compare_proportions};
use super::rank_stats::{kendall_tau_b, rank_biased_overlap};
use crate::model::{Report, ReportGroup, RunId, Target};
use crate::{Error, Result};

/// The change of one brand's visibility on one target (or overall, `target: None`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BrandChange {
    pub brand: String,
    pub target: Option<Target>,
    pub visibility: ProportionChange,
}

/// Every brand's visibility change between two runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunComparison {
    pub before: RunId,
    pub after: RunId,
    /// Significance level of the tests.
    pub alpha: f64,
    /// Per brand: overall first, then per target present in both runs (spec order of the
    /// later run). Brands tracked by only one run, or slices without answers on either
    /// side, are left out.
    pub changes: Vec<BrandChange>,
    /// How much the order of brands by visibility moved: overall first, then per target
    /// present in both runs (same order as `changes`).
    pub rank_stability: Vec<RankStability>,
}

/// The weight rank-biased overlap puts on the top of the leaderboard: with p = 0.9 the top
/// 3 brands carry about 27% of the weight and the top 10 about 65%.
pub const RANK_STABILITY_RBO_P: f64 = 0.9;

/// How similar the brands' order by visibility is in two runs, for one slice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RankStability {
    pub target: Option<Target>,
    /// Brands ordered by visibility (highest first; ties in catalog order) in the earlier
    /// run, among the brands tracked by both runs.
    pub before: Vec<String>,
    /// The same brands ordered by visibility in the later run.
    pub after: Vec<String>,
    /// Kendall's τ-b between the two runs' visibility estimates of these brands: 1 = same
    /// order, −1 = reversed, ties handled. `None` with fewer than two brands or when every
    /// brand ties in one run (no order to compare).
    pub kendall_tau_b: Option<f64>,
    /// Rank-biased overlap (extrapolated, p = [`RANK_STABILITY_RBO_P`]) of `before` and
    /// `after`: 1 = same order, weighted towards the top. Ties are broken by catalog order,
    /// so read it with τ-b, which treats ties as ties. `None` without brands.
    pub rank_biased_overlap: Option<f64>,
}

impl RunComparison {
    /// The changes flagged significant.
    pub fn significant(&self) -> impl Iterator<Item = &BrandChange> {
        self.changes.iter().filter(|c| c.visibility.significant)
    }
}

/// Compares the visibility of every brand tracked by both reports, overall and per
/// target, with [`compare_proportions`] at level `alpha`.
pub fn compare_reports(before: &Report, after: &Report, alpha: f64) -> Result<RunComparison> {
    let mut changes = Vec::new();
    let mut pairs: Vec<(&ReportGroup, &ReportGroup)> = vec![(&before.overall, &after.overall)];
    for group in &after.by_target {
        if let Some(earlier) = before.by_target.iter().find(|g| g.target == group.target) {
            pairs.push((earlier, group));
        }
    }
    let mut rank_stability = Vec::with_capacity(pairs.len());
    for (b, a) in pairs {
        rank_stability.push(rank_stability_of(b, a)?);
        for brand in &a.brands {
            if let Some(visibility) = visibility_change(b, a, &brand.brand, alpha)? {
                changes.push(BrandChange {
                    brand: brand.brand.clone(),
                    target: a.target.clone(),
                    visibility,
                });
            }
        }
    }
    Ok(RunComparison {
        before: before.run_id,
        after: after.run_id,
        alpha,
        changes,
        rank_stability,
    })
}

/// Every brand's visibility on one target against another target of the same run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetComparison {
    pub run_id: RunId,
    /// The reference target: the `before` side of every difference.
    pub first: Target,
    /// The compared target: the `after` side (differences are `second − first`).
    pub second: Target,
    /// Significance level of the tests.
    pub alpha: f64,
    /// Per brand (catalog order): the two targets' roll-ups over prompts first
    /// (`prompt_index: None`), then per prompt in spec order. Slices without answers on
    /// either side are left out.
    pub differences: Vec<TargetDifference>,
    /// How similar the brands' order by visibility is on the two targets' roll-ups
    /// (`before` = `first`, `after` = `second`; `target` is `None`).
    pub rank_stability: RankStability,
}

/// The difference of one brand's visibility between two targets, over all prompts
/// (`prompt_index: None`) or for one prompt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetDifference {
    pub brand: String,
    pub prompt_index: Option<u32>,
    /// `before` = the first target, `after` = the second: `difference` is second − first,
    /// with the Newcombe interval, p-value and `significant` flag of [`compare_proportions`].
    pub visibility: ProportionChange,
}

impl TargetComparison {
    /// The differences flagged significant.
    pub fn significant(&self) -> impl Iterator<Item = &TargetDifference> {
        self.differences.iter().filter(|d| d.visibility.significant)
    }
}

/// Compares every brand's visibility on `second` against `first`, two targets of the run of
/// `report`: on the targets' roll-ups over prompts and per prompt, with
/// [`compare_proportions`] at level `alpha` (the two targets' answers are independent
/// samples). Like the report's `visibility`, the comparison is about the prompts asked; it
/// does not generalise over prompts. Errors (`InvalidInput`): the same target twice
/// (`second`), a target not in the run (`first` / `second`), a bad `alpha`.
pub fn compare_targets(report: &Report, first: &Target, second: &Target, alpha: f64) -> Result<TargetComparison> {
    if first == second {
        return Err(Error::invalid(
            "second",
            format!(
                "{}/{} is also the first target; compare two different targets of the run",
                second.provider, second.model
            ),
        ));
    }
    let group = |field: &str, target: &Target| {
        report.target(target).ok_or_else(|| {
            Error::invalid(
                field,
                format!(
                    "{}/{} is not a target of run {}; its targets are {}",
                    target.provider,
                    target.model,
                    report.run_id,
                    report
                        .by_target
                        .iter()
                        .filter_map(|g| g.target.as_ref().map(|t| format!("{}/{}", t.provider, t.model)))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })
    };
    let (a, b) = (group("first", first)?, group("second", second)?);
    check_alpha(alpha)?;
    let cells = |target: &Target| -> Vec<&ReportGroup> {
        report
            .cells
            .iter()
            .filter(|c| c.target.as_ref() == Some(target))
            .collect()
    };
    let (first_cells, second_cells) = (cells(first), cells(second));
    let mut pairs: Vec<(Option<u32>, &ReportGroup, &ReportGroup)> = vec![(None, a, b)];
    for cell in &second_cells {
        if let Some(other) = first_cells.iter().find(|c| c.prompt_index == cell.prompt_index) {
            pairs.push((cell.prompt_index, other, cell));
        }
    }
    let mut differences = Vec::new();
    for brand in &b.brands {
        for &(prompt_index, x, y) in &pairs {
            if let Some(visibility) = visibility_change(x, y, &brand.brand, alpha)? {
                differences.push(TargetDifference {
                    brand: brand.brand.clone(),
                    prompt_index,
                    visibility,
                });
            }
        }
    }
    let mut rank_stability = rank_stability_of(a, b)?;
    rank_stability.target = None;
    Ok(TargetComparison {
        run_id: report.run_id,
        first: first.clone(),
        second: second.clone(),
        alpha,
        differences,
        rank_stability,
    })
}

/// The change of `brand`'s visibility from `before` to `after` ([`compare_proportions`] at
/// `alpha`); `None` when either group does not track the brand or has no answers.
fn visibility_change(
    before: &ReportGroup,
    after: &ReportGroup,
    brand: &str,
    alpha: f64,
) -> Result<Option<ProportionChange>> {
    let (Some(old), Some(new)) = (before.brand(brand), after.brand(brand)) else {
        return Ok(None);
    };
    let (old, new) = (&old.visibility, &new.visibility);
    if old.trials == 0 || new.trials == 0 {
        return Ok(None);
    }
    compare_proportions(old.successes, old.trials, new.successes, new.trials, alpha).map(Some)
}

/// Leaderboards of the brands both groups track (with answers on both sides) and their
/// agreement.
fn rank_stability_of(before: &ReportGroup, after: &ReportGroup) -> Result<RankStability> {
    let mut scores: Vec<(&str, f64, f64)> = Vec::new();
    if before.answered > 0 && after.answered > 0 {
        for brand in &after.brands {
            if let Some(old) = before.brand(&brand.brand) {
                scores.push((&brand.brand, old.visibility.estimate, brand.visibility.estimate));
            }
        }
    }
    let order = |by: fn(&(&str, f64, f64)) -> f64| {
        let mut ranked: Vec<&(&str, f64, f64)> = scores.iter().collect();
        ranked.sort_by(|x, y| by(y).total_cmp(&by(x)));
        ranked.into_iter().map(|s| s.0).collect::<Vec<&str>>()
    };
    let before_order = order(|s| s.1);
    let after_order = order(|s| s.2);
    let a: Vec<f64> = scores.iter().map(|s| s.1).collect();
    let b: Vec<f64> = scores.iter().map(|s| s.2).collect();
    let kendall = kendall_tau_b(&a, &b).ok();
    let rbo = if scores.is_empty() {
        None
    } else {
        Some(rank_biased_overlap(&before_order, &after_order, RANK_STABILITY_RBO_P)?)
    };
    Ok(RankStability {
        target: after.target.clone(),
        before: before_order.iter().map(|s| s.to_string()).collect(),
        after: after_order.iter().map(|s| s.to_string()).collect(),
        kendall_tau_b: kendall,
        rank_biased_overlap: rbo,
    })
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::analysis::proportion;
    use crate::model::{BrandMetrics, BrandRole, CostSummary, Report, RunStatus, SampleCounts};

    fn group(target: Option<Target>, answered: u64, brands: &[(&str, u64)]) -> ReportGroup {
        ReportGroup {
            target,
            prompt_index: None,
            answered,
            failed: 0,
            brands: brands
                .iter()
                .map(|&(name, s)| BrandMetrics {
                    brand: name.into(),
                    role: BrandRole::Competitor,
                    visibility: proportion(s, answered),
                    visibility_clustered: None,
                    mentions: s,
                    share_of_voice_mentions: 0.0,
                    share_of_voice_answers: 0.0,
                    mean_rank: None,
                    top1: proportion(0, answered),
                    top3: proportion(0, answered),
                    mean_list_position: None,
                })
                .collect(),
            citations: vec![],
            cost: CostSummary::default(),
        }
    }

    fn report(overall: ReportGroup, by_target: Vec<ReportGroup>) -> Report {
        Report {
            run_id: RunId::new(),
            experiment_name: "e".into(),
            status: RunStatus::Completed,
            counts: SampleCounts::default(),
            prompts: vec!["p".into()],
            cells: vec![],
            by_target,
            overall,
            generated_at: Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).single().unwrap(),
            adaptive: None,
        }
    }

    #[test]
    fn rank_stability_by_hand() {
        let t = Target::new("sim", "a");
        // Before: A 60, B 40, C 20, D 5 (of 100); after: B 55, A 50, C 20, E 30 (E new, D gone).
        let before = report(
            group(None, 100, &[("A", 60), ("B", 40), ("C", 20), ("D", 5)]),
            vec![group(
                Some(t.clone()),
                100,
                &[("A", 60), ("B", 40), ("C", 20), ("D", 5)],
            )],
        );
        let after = report(
            group(None, 100, &[("A", 50), ("B", 55), ("C", 20), ("E", 30)]),
            vec![group(
                Some(t.clone()),
                100,
                &[("A", 50), ("B", 55), ("C", 20), ("E", 30)],
            )],
        );
        let c = compare_reports(&before, &after, 0.05).unwrap();
        assert_eq!(c.rank_stability.len(), 2);
        let s = &c.rank_stability[0];
        assert_eq!(s.target, None);
        assert_eq!(s.before, ["A", "B", "C"]);
        assert_eq!(s.after, ["B", "A", "C"]);
        // Pairs (A,B) discordant, (A,C) and (B,C) concordant, no ties: τ = (2 − 1)/3.
        assert!((s.kendall_tau_b.unwrap() - 1.0 / 3.0).abs() < 1e-12);
        // RBO_ext, p = 0.9, equal lengths: X₁ = 0, X₂ = 2, X₃ = 3;
        // (0.1/0.9)·(0 + (2/2)·0.81 + (3/3)·0.729) + (3/3)·0.729 = 0.171 + 0.729 = 0.9.
        assert!((s.rank_biased_overlap.unwrap() - 0.9).abs() < 1e-12);
        assert_eq!(c.rank_stability[1].target, Some(t));
        assert_eq!(c.rank_stability[1].before, s.before);
    }

    #[test]
    fn two_targets_of_one_run_by_brand_and_prompt() {
        let (x, y) = (Target::new("sim", "x"), Target::new("sim", "y"));
        let cell = |t: &Target, p: u32, answered: u64, brands: &[(&str, u64)]| ReportGroup {
            prompt_index: Some(p),
            ..group(Some(t.clone()), answered, brands)
        };
        let mut r = report(
            group(None, 400, &[("A", 160), ("B", 100)]),
            vec![
                group(Some(x.clone()), 200, &[("A", 40), ("B", 50)]),
                group(Some(y.clone()), 200, &[("A", 120), ("B", 50)]),
            ],
        );
        r.cells = vec![
            cell(&x, 0, 100, &[("A", 20), ("B", 25)]),
            cell(&x, 1, 100, &[("A", 20), ("B", 25)]),
            cell(&y, 0, 100, &[("A", 60), ("B", 25)]),
            cell(&y, 1, 100, &[("A", 60), ("B", 25)]),
        ];
        let c = compare_targets(&r, &x, &y, 0.05).unwrap();
        assert_eq!(
            (c.first.clone(), c.second.clone(), c.run_id),
            (x.clone(), y.clone(), r.run_id)
        );
        let keys: Vec<(&str, Option<u32>)> = c
            .differences
            .iter()
            .map(|d| (d.brand.as_str(), d.prompt_index))
            .collect();
        assert_eq!(
            keys,
            [
                ("A", None),
                ("A", Some(0)),
                ("A", Some(1)),
                ("B", None),
                ("B", Some(0)),
                ("B", Some(1))
            ]
        );
        let a = &c.differences[0].visibility;
        // The same numbers compare_proportions gives for 40/200 → 120/200.
        assert_eq!(*a, compare_proportions(40, 200, 120, 200, 0.05).unwrap());
        assert!((a.difference - 0.4).abs() < 1e-12 && a.significant);
        assert!(!c.differences[3].visibility.significant, "B is 25% on both");
        assert_eq!(c.significant().count(), 3);
        assert_eq!(c.rank_stability.before, ["B", "A"]);
        assert_eq!(c.rank_stability.after, ["A", "B"]);
        assert_eq!(c.rank_stability.target, None);

        let field = |e: crate::Error| e.field().map(str::to_string);
        assert_eq!(
            field(compare_targets(&r, &x, &x, 0.05).unwrap_err()).as_deref(),
            Some("second")
        );
        let z = Target::new("sim", "z");
        let e = compare_targets(&r, &z, &y, 0.05).unwrap_err();
        assert!(e.to_string().contains("sim/x, sim/y"), "{e}");
        assert_eq!(field(e).as_deref(), Some("first"));
        assert_eq!(
            field(compare_targets(&r, &x, &z, 0.05).unwrap_err()).as_deref(),
            Some("second")
        );
        assert_eq!(
            field(compare_targets(&r, &x, &y, 1.5).unwrap_err()).as_deref(),
            Some("alpha")
        );
    }

    #[test]
    fn identical_runs_are_perfectly_stable_and_ties_leave_tau_undefined() {
        let g = group(None, 50, &[("A", 30), ("B", 20), ("C", 10)]);
        let c = compare_reports(&report(g.clone(), vec![]), &report(g, vec![]), 0.05).unwrap();
        let s = &c.rank_stability[0];
        assert_eq!(s.kendall_tau_b, Some(1.0));
        assert!((s.rank_biased_overlap.unwrap() - 1.0).abs() < 1e-12);
        // Every brand at 0 in one run: no order to compare.
        let flat = group(None, 50, &[("A", 0), ("B", 0), ("C", 0)]);
        let g = group(None, 50, &[("A", 30), ("B", 20), ("C", 10)]);
        let c = compare_reports(&report(g, vec![]), &report(flat, vec![]), 0.05).unwrap();
        assert_eq!(c.rank_stability[0].kendall_tau_b, None);
        // No answers on one side: nothing to rank.
        let empty = group(None, 0, &[("A", 0)]);
        let g = group(None, 50, &[("A", 30)]);
        let c = compare_reports(&report(empty, vec![]), &report(g, vec![]), 0.05).unwrap();
        assert_eq!(c.rank_stability[0].rank_biased_overlap, None);
        assert!(c.rank_stability[0].after.is_empty());
    }
}
