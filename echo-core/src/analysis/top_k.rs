//! How often a brand is among the first k brands an answer names.
//!
//! The reports carry the top-1 and top-3 rates; buyers reading a list of five or ten
//! products care about other cut-offs too. The distribution of first-mention ranks answers
//! every "top k" question from one pass over the answers, with the same counting rules as
//! the reports (succeeded samples only, ranks recomputed among the catalog's brands).

use serde::{Deserialize, Serialize};

use super::BrandCatalog;
use super::metrics::catalog_ranking;
use super::stats::proportion;
use crate::model::{Proportion, Run, SampleRecord, SampleStatus, Target};

/// One brand's first-mention ranks over a set of answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RankDistribution {
    pub brand: String,
    /// Answers counted (the denominator of every rate).
    pub answered: u64,
    /// `at_rank[r − 1]`: answers where the brand is the r-th catalog brand named. Answers
    /// not naming it are in `answered` and nowhere here.
    pub at_rank: Vec<u64>,
}

impl RankDistribution {
    /// `top_k_rate`: answers naming the brand among their first `k` catalog brands / answered,
    /// with its Wilson 95% interval. `top_k(1)` and `top_k(3)` equal the report's `top1` and
    /// `top3`; `k` = 0 is 0 of `answered`.
    pub fn top_k(&self, k: u32) -> Proportion {
        let hits: u64 = self.at_rank.iter().take(k as usize).sum();
        proportion(hits, self.answered)
    }
}

/// The rank distribution of every catalog brand (catalog order) over the succeeded answers
/// of `run` among `records` that belong to `target` and `prompt_index` (`None` = any), i.e.
/// over the answers of the report group with the same target and prompt. As in the report,
/// records whose target or prompt is not in the run's spec are skipped.
pub fn rank_distributions(
    run: &Run,
    records: &[SampleRecord],
    catalog: &BrandCatalog,
    target: Option<&Target>,
    prompt_index: Option<u32>,
) -> Vec<RankDistribution> {
    let mut answered = 0u64;
    let mut at_rank: Vec<Vec<u64>> = vec![Vec::new(); catalog.len()];
    for record in records {
        let sample = &record.sample;
        if sample.status != SampleStatus::Succeeded
            || target.is_some_and(|t| *t != sample.target)
            || prompt_index.is_some_and(|p| p != sample.prompt_index)
            || !run.spec.targets.contains(&sample.target)
            || sample.prompt_index as usize >= run.spec.prompts.len()
        {
            continue;
        }
        answered += 1;
        for (position, (i, _)) in catalog_ranking(&record.mentions, catalog).into_iter().enumerate() {
            let ranks = &mut at_rank[i];
            if ranks.len() <= position {
                ranks.resize(position + 1, 0);
            }
            ranks[position] += 1;
        }
    }
    catalog
        .brands()
        .iter()
        .zip(at_rank)
        .map(|(spec, at_rank)| RankDistribution {
            brand: spec.name.clone(),
            answered,
            at_rank,
        })
        .collect()
}
