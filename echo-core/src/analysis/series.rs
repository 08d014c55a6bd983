//! Visibility over time for recurring experiments.
//!
//! A scheduled experiment produces one run per period. Plotting each run's visibility
//! invites reading every wiggle as news; the series instead carries each run's interval and
//! flags a change between consecutive runs only when the change test says so (never by a
//! threshold), so a reader sees which moves are distinguishable from sampling noise.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::compare::{ProportionChange, compare_proportions};
use crate::Result;
use crate::model::{ClusteredInterval, Proportion, Report, ReportGroup, RunId, Target};

/// One run's visibility of one brand in one slice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesPoint {
    pub run_id: RunId,
    /// When the run happened (as given by the caller; `Echo::visibility_series` uses the
    /// run's creation time, i.e. its scheduled slot for scheduled runs).
    pub at: DateTime<Utc>,
    /// Visibility with its Wilson 95% interval.
    pub visibility: Proportion,
    /// The cluster-robust interval, on roll-ups over two or more prompts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visibility_clustered: Option<ClusteredInterval>,
    /// The change from the previous point of this series (`None` on the first point), tested
    /// at the series' `alpha`; `change.significant` is the flag.
    pub change: Option<ProportionChange>,
}

/// The visibility of one brand in one slice (a target, or overall) across runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VisibilitySeries {
    pub brand: String,
    /// `None` for the overall roll-up.
    pub target: Option<Target>,
    /// In time order. Runs that did not track the brand, or have no answers in the slice,
    /// have no point: the next point is compared with the last one present.
    pub points: Vec<SeriesPoint>,
}

impl VisibilitySeries {
    /// The points whose change from the previous point is significant.
    pub fn significant_changes(&self) -> impl Iterator<Item = &SeriesPoint> {
        self.points
            .iter()
            .filter(|p| p.change.as_ref().is_some_and(|c| c.significant))
    }
}

/// The visibility series of every brand, overall and per target, over `runs` (each run's
/// time and report, in any order: they are sorted by time, ties kept in the given order).
///
/// Series come brand by brand in order of first appearance (catalog order of the earliest
/// report, then brands added later), the overall series first, then targets in order of first
/// appearance. Consecutive points are compared with [`compare_proportions`] at level `alpha`
/// (errors: `alpha` outside (0, 1)).
pub fn visibility_series(runs: &[(DateTime<Utc>, &Report)], alpha: f64) -> Result<Vec<VisibilitySeries>> {
    // Validates alpha even when there is nothing to compare.
    compare_proportions(0, 1, 0, 1, alpha)?;
    let mut ordered: Vec<&(DateTime<Utc>, &Report)> = runs.iter().collect();
    ordered.sort_by_key(|(at, _)| *at);

    let mut brands: Vec<&str> = Vec::new();
    let mut targets: Vec<Option<&Target>> = vec![None];
    for (_, report) in &ordered {
        for b in &report.overall.brands {
            if !brands.contains(&b.brand.as_str()) {
                brands.push(&b.brand);
            }
        }
        for g in &report.by_target {
            if !targets.contains(&g.target.as_ref()) {
                targets.push(g.target.as_ref());
            }
        }
    }

    let mut out = Vec::with_capacity(brands.len() * targets.len());
    for brand in &brands {
        for target in &targets {
            let mut points: Vec<SeriesPoint> = Vec::new();
            for (at, report) in &ordered {
                let group: Option<&ReportGroup> = match target {
                    None => Some(&report.overall),
                    Some(t) => report.target(t),
                };
                let Some(metrics) = group.and_then(|g| g.brand(brand)) else {
                    continue;
                };
                let visibility = metrics.visibility;
                if visibility.trials == 0 {
                    continue;
                }
                let change = match points.last() {
                    Some(prev) => Some(compare_proportions(
                        prev.visibility.successes,
                        prev.visibility.trials,
                        visibility.successes,
                        visibility.trials,
                        alpha,
                    )?),
                    None => None,
                };
                points.push(SeriesPoint {
                    run_id: report.run_id,
                    at: *at,
                    visibility,
                    visibility_clustered: metrics.visibility_clustered,
                    change,
                });
            }
            if !points.is_empty() {
                out.push(VisibilitySeries {
                    brand: brand.to_string(),
                    target: target.cloned(),
                    points,
                });
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::analysis::proportion;
    use crate::model::{BrandMetrics, BrandRole, CostSummary, RunStatus, SampleCounts};

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

    fn report(t: &Target, answered: u64, brands: &[(&str, u64)]) -> Report {
        Report {
            run_id: RunId::new(),
            experiment_name: "e".into(),
            status: RunStatus::Completed,
            counts: SampleCounts::default(),
            prompts: vec!["p".into()],
            cells: vec![],
            by_target: vec![group(Some(t.clone()), answered, brands)],
            overall: group(None, answered, brands),
            generated_at: Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).single().unwrap(),
            adaptive: None,
        }
    }

    fn day(d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 3, d, 9, 0, 0).single().unwrap()
    }

    #[test]
    fn changes_are_flagged_by_test_between_consecutive_runs() {
        let t = Target::new("sim", "a");
        // Acme: 30/100, 33/100 (noise), 55/100 (a real jump). Beta appears from the 2nd run.
        let r1 = report(&t, 100, &[("Acme", 30)]);
        let r2 = report(&t, 100, &[("Acme", 33), ("Beta", 10)]);
        let r3 = report(&t, 100, &[("Acme", 55), ("Beta", 12)]);
        // Given out of order: sorted by time.
        let series = visibility_series(&[(day(3), &r3), (day(1), &r1), (day(2), &r2)], 0.05).unwrap();
        let keys: Vec<(&str, Option<&str>, usize)> = series
            .iter()
            .map(|s| {
                (
                    s.brand.as_str(),
                    s.target.as_ref().map(|t| t.model.as_str()),
                    s.points.len(),
                )
            })
            .collect();
        assert_eq!(
            keys,
            vec![
                ("Acme", None, 3),
                ("Acme", Some("a"), 3),
                ("Beta", None, 2),
                ("Beta", Some("a"), 2)
            ]
        );
        let acme = &series[0];
        assert_eq!(
            acme.points.iter().map(|p| p.run_id).collect::<Vec<_>>(),
            vec![r1.run_id, r2.run_id, r3.run_id]
        );
        assert!(acme.points[0].change.is_none());
        let second = acme.points[1].change.unwrap();
        assert!(!second.significant);
        assert!((second.difference - 0.03).abs() < 1e-12);
        let third = acme.points[2].change.unwrap();
        assert!(third.significant, "{third:?}");
        assert_eq!(
            acme.significant_changes().map(|p| p.run_id).collect::<Vec<_>>(),
            vec![r3.run_id]
        );
        // The change matches the direct comparison.
        assert_eq!(third, compare_proportions(33, 100, 55, 100, 0.05).unwrap());
    }

    #[test]
    fn runs_without_answers_are_skipped_and_alpha_is_checked() {
        let t = Target::new("sim", "a");
        let r1 = report(&t, 50, &[("Acme", 10)]);
        let r2 = report(&t, 0, &[("Acme", 0)]);
        let r3 = report(&t, 50, &[("Acme", 12)]);
        let series = visibility_series(&[(day(1), &r1), (day(2), &r2), (day(3), &r3)], 0.05).unwrap();
        assert_eq!(series[0].points.len(), 2);
        assert_eq!(series[0].points[1].change.unwrap().before.successes, 10);
        assert!(visibility_series(&[], 0.05).unwrap().is_empty());
        assert!(visibility_series(&[], 1.5).is_err());
    }
}
