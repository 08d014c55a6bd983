//! Report computation from stored samples. Formulas: `docs/metrics.md`.
//!
//! Every number is built from additive counts (answers, occurrences, rank sums...)
//! accumulated per (target, prompt) cell; the per-target and overall groups add the cells'
//! counts together and divide once. Rollups therefore pool answers (a prompt with more
//! answers weighs more) rather than averaging the cells' percentages, and a cell and its
//! rollups can never disagree about what was counted.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::model::{
    BrandMetrics, CostSummary, DomainShare, Mention, Report, ReportGroup, Run, SampleCounts, SampleRecord,
    SampleStatus, Target, domain_of,
};
use crate::store::{nanos_to_usd, usd_to_nanos};

use super::BrandCatalog;
use super::cluster::clustered_interval;
use super::stats::proportion;

/// Computes the report of `run` from its sample records. `records` carry the mentions to
/// count (stored ones, or fresh ones from re-analysis with another catalog).
///
/// Only `Succeeded` samples are answers; `Failed` ones are counted in `failed`; pending,
/// leased and cancelled samples are ignored. Mentions of brands missing from `catalog`
/// are ignored, and ranks are recomputed among the catalog's brands, so a report with a
/// smaller catalog is what extraction with that catalog would have produced. Records
/// whose target or prompt index is not in the run's spec are skipped with a warning.
pub fn build_report(
    run: &Run,
    counts: SampleCounts,
    records: &[SampleRecord],
    catalog: &BrandCatalog,
    now: DateTime<Utc>,
) -> Report {
    let targets = &run.spec.targets;
    let prompts = run.spec.prompts.len();
    let mut cells: Vec<Tally> = (0..targets.len() * prompts)
        .map(|_| Tally::new(catalog.len()))
        .collect();
    for record in records {
        let sample = &record.sample;
        let Some(t) = targets.iter().position(|t| *t == sample.target) else {
            let (run, sample, target) = (&run.id, &sample.id, &sample.target);
            tracing::warn!(%run, %sample, %target, "sample target not in the run's spec; skipped");
            continue;
        };
        let p = sample.prompt_index as usize;
        if p >= prompts {
            let (run, sample) = (&run.id, &sample.id);
            tracing::warn!(%run, %sample, prompt_index = p, "sample prompt index out of range; skipped");
            continue;
        }
        cells[t * prompts + p].add(record, catalog);
    }

    let mut overall = Tally::new(catalog.len());
    let mut by_target = Vec::with_capacity(targets.len());
    let mut cell_groups = Vec::with_capacity(cells.len());
    // Answers to one prompt across all targets: the clusters of the overall roll-up.
    let mut by_prompt: Vec<Tally> = (0..prompts).map(|_| Tally::new(catalog.len())).collect();
    for (t, target) in targets.iter().enumerate() {
        let mut tally = Tally::new(catalog.len());
        let target_cells: Vec<&Tally> = cells[t * prompts..(t + 1) * prompts].iter().collect();
        for (p, cell) in target_cells.iter().enumerate() {
            tally.merge(cell);
            by_prompt[p].merge(cell);
            let prompt_index = u32::try_from(p).unwrap_or(u32::MAX);
            cell_groups.push(cell.group(Some(target.clone()), Some(prompt_index), catalog, &[]));
        }
        overall.merge(&tally);
        by_target.push(tally.group(Some(target.clone()), None, catalog, &target_cells));
    }
    let prompt_clusters: Vec<&Tally> = by_prompt.iter().collect();

    Report {
        run_id: run.id,
        experiment_name: run.spec.name.clone(),
        status: run.status,
        counts,
        prompts: run.spec.prompts.clone(),
        cells: cell_groups,
        by_target,
        overall: overall.group(None, None, catalog, &prompt_clusters),
        generated_at: now,
        adaptive: None,
    }
}

/// Additive counts of one brand in one group.
#[derive(Debug, Clone, Copy, Default)]
struct BrandTally {
    /// Answers naming the brand.
    answers: u64,
    /// Occurrences over all answers.
    occurrences: u64,
    /// Sum of first-mention ranks over answers naming the brand.
    rank_sum: u64,
    top1: u64,
    top3: u64,
    /// Sum and number of list indices over answers whose first mention sits in a list.
    list_sum: u64,
    list_answers: u64,
}

/// Citations of one domain in one group.
#[derive(Debug, Clone, Copy, Default)]
struct DomainTally {
    citations: u64,
    answers: u64,
}

/// Additive counts of one group; see the module docs.
#[derive(Debug, Clone)]
struct Tally {
    answered: u64,
    failed: u64,
    /// Answers naming at least one catalog brand.
    answers_naming_any: u64,
    /// Occurrences of all catalog brands.
    occurrences: u64,
    brands: Vec<BrandTally>,
    citations: HashMap<String, DomainTally>,
    /// Cost of the answered samples that carry one, in nano-USD (integers add exactly).
    cost_nanos: i64,
    priced: u64,
}

impl Tally {
    fn new(brands: usize) -> Self {
        Self {
            answered: 0,
            failed: 0,
            answers_naming_any: 0,
            occurrences: 0,
            brands: vec![BrandTally::default(); brands],
            citations: HashMap::new(),
            cost_nanos: 0,
            priced: 0,
        }
    }

    fn add(&mut self, record: &SampleRecord, catalog: &BrandCatalog) {
        match record.sample.status {
            SampleStatus::Succeeded => self.answered += 1,
            SampleStatus::Failed => {
                self.failed += 1;
                return;
            }
            SampleStatus::Pending | SampleStatus::Leased | SampleStatus::Cancelled => return,
        }
        if let Some(cost) = record.sample.cost_usd {
            self.cost_nanos += usd_to_nanos(cost);
            self.priced += 1;
        }
        self.add_mentions(&record.mentions, catalog);
        self.add_citations(record);
    }

    fn add_mentions(&mut self, mentions: &[Mention], catalog: &BrandCatalog) {
        let named = catalog_ranking(mentions, catalog);
        if named.is_empty() {
            return;
        }
        self.answers_naming_any += 1;
        for (position, (i, m)) in named.into_iter().enumerate() {
            let rank = position as u64 + 1;
            let b = &mut self.brands[i];
            b.answers += 1;
            b.occurrences += u64::from(m.count);
            self.occurrences += u64::from(m.count);
            b.rank_sum += rank;
            b.top1 += u64::from(rank == 1);
            b.top3 += u64::from(rank <= 3);
            if let Some(li) = m.list_index {
                b.list_sum += u64::from(li);
                b.list_answers += 1;
            }
        }
    }

    fn add_citations(&mut self, record: &SampleRecord) {
        let mut seen: Vec<String> = Vec::with_capacity(record.citations.len());
        for c in &record.citations {
            let domain = if c.domain.is_empty() {
                domain_of(&c.url)
            } else {
                c.domain.clone()
            };
            if domain.is_empty() {
                continue;
            }
            let tally = self.citations.entry(domain.clone()).or_default();
            tally.citations += 1;
            if !seen.contains(&domain) {
                tally.answers += 1;
                seen.push(domain);
            }
        }
    }

    /// Adds another group's counts (groups cover disjoint answers).
    fn merge(&mut self, other: &Tally) {
        self.answered += other.answered;
        self.failed += other.failed;
        self.answers_naming_any += other.answers_naming_any;
        self.occurrences += other.occurrences;
        self.cost_nanos += other.cost_nanos;
        self.priced += other.priced;
        for (a, b) in self.brands.iter_mut().zip(&other.brands) {
            a.answers += b.answers;
            a.occurrences += b.occurrences;
            a.rank_sum += b.rank_sum;
            a.top1 += b.top1;
            a.top3 += b.top3;
            a.list_sum += b.list_sum;
            a.list_answers += b.list_answers;
        }
        for (domain, d) in &other.citations {
            let mine = self.citations.entry(domain.clone()).or_default();
            mine.citations += d.citations;
            mine.answers += d.answers;
        }
    }

    /// The group's metrics. `clusters` are the prompts' tallies a roll-up pools (empty for
    /// a cell); with two or more, visibility also gets its cluster-robust interval.
    fn group(
        &self,
        target: Option<Target>,
        prompt_index: Option<u32>,
        catalog: &BrandCatalog,
        clusters: &[&Tally],
    ) -> ReportGroup {
        let brands = catalog
            .brands()
            .iter()
            .zip(&self.brands)
            .enumerate()
            .map(|(i, (spec, b))| BrandMetrics {
                brand: spec.name.clone(),
                role: spec.role,
                visibility: proportion(b.answers, self.answered),
                visibility_clustered: if clusters.len() >= 2 {
                    let counts: Vec<(u64, u64)> = clusters.iter().map(|c| (c.brands[i].answers, c.answered)).collect();
                    clustered_interval(&counts)
                } else {
                    None
                },
                mentions: b.occurrences,
                share_of_voice_mentions: ratio(b.occurrences, self.occurrences),
                share_of_voice_answers: ratio(b.answers, self.answers_naming_any),
                mean_rank: mean(b.rank_sum, b.answers),
                top1: proportion(b.top1, self.answered),
                top3: proportion(b.top3, self.answered),
                mean_list_position: mean(b.list_sum, b.list_answers),
            })
            .collect();
        let total: u64 = self.citations.values().map(|d| d.citations).sum();
        let mut citations: Vec<DomainShare> = self
            .citations
            .iter()
            .map(|(domain, d)| DomainShare {
                domain: domain.clone(),
                citations: d.citations,
                share: ratio(d.citations, total),
                answers: d.answers,
            })
            .collect();
        citations.sort_by(|a, b| b.citations.cmp(&a.citations).then_with(|| a.domain.cmp(&b.domain)));
        ReportGroup {
            target,
            prompt_index,
            answered: self.answered,
            failed: self.failed,
            brands,
            citations,
            cost: CostSummary {
                total_usd: nanos_to_usd(self.cost_nanos),
                priced_samples: self.priced,
                unpriced_samples: self.answered - self.priced,
            },
        }
    }
}

/// The catalog brands named in one answer, one entry per brand (catalog index, first
/// mention), in order of first appearance: position + 1 is the brand's rank among the
/// catalog's brands. Mentions of brands outside the catalog are dropped.
pub(crate) fn catalog_ranking<'m>(mentions: &'m [Mention], catalog: &BrandCatalog) -> Vec<(usize, &'m Mention)> {
    let mut named: Vec<(usize, &Mention)> = Vec::with_capacity(mentions.len());
    for m in mentions {
        if let Some(i) = catalog.index_of(&m.brand) {
            if !named.iter().any(|(j, _)| *j == i) {
                named.push((i, m));
            }
        }
    }
    named.sort_by_key(|(_, m)| (m.rank, m.offset));
    named
}

/// `part / whole`, 0 when `whole` is 0 (nothing to share).
fn ratio(part: u64, whole: u64) -> f64 {
    if whole == 0 { 0.0 } else { part as f64 / whole as f64 }
}

/// `sum / n`, `None` when `n` is 0 (undefined, not zero).
fn mean(sum: u64, n: u64) -> Option<f64> {
    (n > 0).then(|| sum as f64 / n as f64)
}

#[cfg(test)]
#[path = "metrics_tests.rs"]
mod tests;
