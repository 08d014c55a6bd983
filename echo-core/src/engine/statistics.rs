//! Decision statistics on the `Echo` facade: precision plans, visibility over time and
//! comparisons of two targets of a run.
//!
//! Thin wrappers that read what they need through `Echo`'s public operations (so tenant
//! isolation and scopes are enforced there) and hand it to the pure functions in
//! `analysis`.

use super::Echo;
use crate::analysis::{
    BrandCatalog, Plan, PlanRequest, RankDistribution, RollupCaveat, TargetComparison, VisibilitySeries,
    clustered_caveats, compare_targets, plan_run, rank_distributions, visibility_series,
};
use crate::auth::Principal;
use crate::model::{ExperimentId, PageRequest, RunId, RunStatus, Target};
use crate::{Error, Result};

/// The most runs one visibility series reads (each report is computed from its stored
/// answers).
pub const MAX_SERIES_RUNS: u32 = 100;

/// The significance level of the change flags in [`Echo::visibility_series`].
pub const SERIES_ALPHA: f64 = 0.05;

impl Echo {
    /// How many repeats an experiment needs for a visibility interval of ±`half_width`, at the
    /// expected rate and at the worst case (50%), what that costs with the engine's pricing
    /// table, and the adaptive goal that gets there with fewer answers when rates are far
    /// from 50%. Nothing is written or spent.
    pub async fn plan(&self, principal: &Principal, experiment_id: ExperimentId, request: PlanRequest) -> Result<Plan> {
        let experiment = self.get_experiment(principal, experiment_id).await?;
        plan_run(&experiment.spec, request, self.pricing())
    }

    /// Every brand's visibility on `second` against `first`, two targets of one run: per
    /// brand, on the targets' roll-ups over prompts and per prompt, the difference
    /// (second − first) with a Newcombe 95% interval, a p-value and a `significant` flag at
    /// `alpha` (the test of [`Echo::compare_runs`]), and how the brands' order differs.
    /// Errors: `InvalidInput` naming `first`, `second` or `alpha`; `NotFound` for another
    /// account's run.
    pub async fn compare_targets(
        &self,
        principal: &Principal,
        run_id: RunId,
        first: &Target,
        second: &Target,
        alpha: f64,
    ) -> Result<TargetComparison> {
        let report = self.report(principal, run_id).await?;
        compare_targets(&report, first, second, alpha)
    }

    /// The roll-up brands of a run's report whose clustered interval (`visibility_clustered`)
    /// is outside the range where its coverage was measured at 95 ± 2%: fewer than 10 prompts
    /// (conservative) or fewer than 5 prompts naming the brand (a rare brand: can undercover).
    /// See `docs/metrics.md`, "Several prompts".
    pub async fn clustered_caveats(&self, principal: &Principal, run_id: RunId) -> Result<Vec<RollupCaveat>> {
        let report = self.report(principal, run_id).await?;
        Ok(clustered_caveats(&report))
    }

    /// Every brand's rank distribution (catalog order) over the answers of one report group
    /// of a run: `target` and `prompt_index` as in the report (`None`, `None` = overall).
    /// [`RankDistribution::top_k`] gives the share of answers naming the brand among the
    /// first k catalog brands, with its Wilson interval, for any k (`top_k(1)`/`top_k(3)`
    /// are the report's `top1`/`top3`). Errors: `InvalidInput` naming `target` or
    /// `prompt_index` when the run has no such target or prompt; `NotFound` for another
    /// account's run.
    pub async fn rank_distributions(
        &self,
        principal: &Principal,
        run_id: RunId,
        target: Option<&Target>,
        prompt_index: Option<u32>,
    ) -> Result<Vec<RankDistribution>> {
        // Authorizes (scope, active account, operator reads audited) like `get_run`.
        let run = self.get_run(principal, run_id).await?;
        if let Some(t) = target.filter(|t| !run.spec.targets.contains(t)) {
            return Err(Error::invalid(
                "target",
                format!("{}/{} is not a target of run {run_id}", t.provider, t.model),
            ));
        }
        if let Some(p) = prompt_index.filter(|&p| p as usize >= run.spec.prompts.len()) {
            return Err(Error::invalid(
                "prompt_index",
                format!(
                    "run {run_id} has {} prompts (0-based index), got {p}",
                    run.spec.prompts.len()
                ),
            ));
        }
        let catalog = BrandCatalog::new(run.spec.brands.clone())?;
        let records = self.store().load_samples(run.account_id, run.id).await?;
        Ok(rank_distributions(&run, &records, &catalog, target, prompt_index))
    }

    /// Every brand's visibility, overall and per target, over the experiment's last `limit`
    /// finished runs (completed or partial, oldest first), with each run's interval and a
    /// flag on changes between consecutive runs that the change test finds significant at
    /// [`SERIES_ALPHA`]. `limit` is 1 to [`MAX_SERIES_RUNS`].
    pub async fn visibility_series(
        &self,
        principal: &Principal,
        experiment_id: ExperimentId,
        limit: u32,
    ) -> Result<Vec<VisibilitySeries>> {
        if !(1..=MAX_SERIES_RUNS).contains(&limit) {
            return Err(Error::invalid(
                "limit",
                format!("must be between 1 and {MAX_SERIES_RUNS} runs, got {limit}"),
            ));
        }
        // Authorizes and answers NotFound for another account's experiment.
        self.get_experiment(principal, experiment_id).await?;
        let mut finished = Vec::new();
        let mut page = PageRequest {
            limit: Some(PageRequest::MAX_LIMIT),
            after: None,
        };
        'pages: loop {
            let runs = self.list_runs(principal, experiment_id, &page).await?;
            for run in runs.items {
                if matches!(run.status, RunStatus::Completed | RunStatus::Partial) {
                    finished.push(run);
                    if finished.len() == limit as usize {
                        break 'pages;
                    }
                }
            }
            match runs.next_cursor {
                Some(cursor) => page.after = Some(cursor),
                None => break,
            }
        }
        let mut reports = Vec::with_capacity(finished.len());
        for run in &finished {
            reports.push((run.created_at, self.report(principal, run.id).await?));
        }
        let pairs: Vec<_> = reports.iter().map(|(at, r)| (*at, r)).collect();
        visibility_series(&pairs, SERIES_ALPHA)
    }
}
