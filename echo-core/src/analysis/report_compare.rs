//! Comparing two runs' reports: which brands' visibility changed, by test rather than by
//! threshold.

use serde::{Deserialize, Serialize};

use super::compare::{ProportionChange, compare_proportions};
use crate::Result;
use crate::model::{Report, ReportGroup, RunId, Target};

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
    for (b, a) in pairs {
        for brand in &a.brands {
            let Some(old) = b.brand(&brand.brand) else { continue };
            let (old, new) = (&old.visibility, &brand.visibility);
            if old.trials == 0 || new.trials == 0 {
                continue;
            }
            changes.push(BrandChange {
                brand: brand.brand.clone(),
                target: a.target.clone(),
                visibility: compare_proportions(old.successes, old.trials, new.successes, new.trials, alpha)?,
            });
        }
    }
    Ok(RunComparison {
        before: before.run_id,
        after: after.run_id,
        alpha,
        changes,
    })
}
