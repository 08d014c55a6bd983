//! Adaptive runs in the engine: sampling each target in waves until the stopping rule
//! ([`crate::analysis::sequential`]) says its goal brands are known to the precision asked
//! for, between `min_samples` and `max_samples` answers.
//!
//! ```text
//! enqueue   first wave: min_samples per target; quota reserved for max_samples × targets
//! drained   a target has no pending or leased sample left → decide on its answers:
//!             Stop (goal_reached | max_samples)  → the target is done
//!             Continue { estimated_remaining }   → append the next wave
//! finalize  only once every target has stopped; settlement refunds what was not asked
//! ```
//!
//! **Who decides.** Whoever looks at a drained target: the in-process executor after each
//! committed batch and when it runs out of work, a worker after each batch it persisted,
//! and [`finalize`](super::finalize) before any finalization (so the maintenance sweep
//! continues a run whose last looker crashed). They may look at once.
//!
//! **Why that is safe.** The decision is a pure function of the drained target's stored
//! counts (answers, and answers naming each goal brand) and of the options stored on the
//! run, so every looker at the same state computes the same wave: samples numbered from
//! the target's current count on, prompt `k % prompts` and repeat `k / prompts` for the
//! k-th sample (prompts asked in turn, see `docs/metrics.md`). The store appends a wave as
//! a compare-and-set on that state (see [`crate::store::AdaptiveStore`]), and keys its
//! rows by the natural key: a wave is appended once, and a look at an older state appends
//! nothing. Nobody appends to a stopped target (its state no longer changes, so the
//! decision stays "stop"), so once every target has stopped the run can be finalized
//! without a wave slipping in; a cancellation cancels what a racing append added.

use chrono::{DateTime, Utc};

use crate::analysis::BrandCatalog;
use crate::analysis::sequential::{Decision, StopReason, StoppingRule, TargetCounts};
use crate::model::{
    AccountId, AdaptiveOptions, AdaptiveState, AdaptiveSummary, AdaptiveTargetSummary, BrandRole, ExperimentSpec,
    GoalBrands, MAX_SAMPLES_PER_RUN, Run, RunId, SampleId, Target,
};
use crate::store::{NewSample, RunProgress, Store, TargetProgress, Wave};
use crate::{Error, Result};

/// The smallest wave after the first: tiny waves would make every last few answers a
/// round trip of their own.
pub const MIN_WAVE: u64 = 5;

/// Checks `options` against the spec it will run; returns the samples to reserve (the
/// maximum, `max_samples` per target). Errors are `InvalidInput` naming the field
/// (`options.adaptive.goal.half_width`, ...), before anything is reserved or written.
pub(crate) fn validate(options: &AdaptiveOptions, spec: &ExperimentSpec) -> Result<u64> {
    let named = |e: Error| match e {
        Error::InvalidInput { field, message } => Error::invalid(format!("options.adaptive.{field}"), message),
        other => other,
    };
    // The goal, and (for the default Wilson method) a min_samples where coverage is verified.
    options.goal.check_verified(options.method).map_err(named)?;
    let goal = &options.goal;
    // ±0.5 is met by any single answer (every interval fits in [0, 1]): not a precision.
    if goal.half_width >= 0.5 {
        return Err(Error::invalid(
            "options.adaptive.goal.half_width",
            format!(
                "{} asks for no precision at all (any interval is within ±0.5); pass e.g. 0.05 for ±5 points",
                goal.half_width
            ),
        ));
    }
    let planned = goal.max_samples.saturating_mul(spec.targets.len() as u64);
    if planned > MAX_SAMPLES_PER_RUN {
        return Err(Error::invalid(
            "options.adaptive.goal.max_samples",
            format!(
                "{} per target × {} targets = {planned} samples; the maximum per run is {MAX_SAMPLES_PER_RUN}",
                goal.max_samples,
                spec.targets.len()
            ),
        ));
    }
    if options.brands == GoalBrands::Targets && !spec.brands.iter().any(|b| b.role == BrandRole::Target) {
        return Err(Error::invalid(
            "options.adaptive.brands",
            "`targets` applies the goal to brands with role target, and the spec has none",
        ));
    }
    Ok(planned)
}

/// The first wave of every target: `min_samples` each, rounded up to whole rounds of the
/// prompts (within `max_samples`).
pub(crate) fn first_wave(spec: &ExperimentSpec, options: &AdaptiveOptions) -> Vec<NewSample> {
    let prompts = spec.prompts.len() as u64;
    let end = round_up(options.goal.min_samples, prompts).min(options.goal.max_samples);
    spec.targets
        .iter()
        .flat_map(|target| wave_samples(target, prompts, 0, end))
        .collect()
}

/// Samples `from..to` of a target: the k-th asks prompt `k % prompts`, repeat `k / prompts`.
fn wave_samples(target: &Target, prompts: u64, from: u64, to: u64) -> Vec<NewSample> {
    (from..to)
        .map(|k| NewSample {
            id: SampleId::new(),
            target: target.clone(),
            // k < max_samples ≤ MAX_SAMPLES_PER_RUN, so both fit.
            prompt_index: u32::try_from(k % prompts).unwrap_or(u32::MAX),
            repeat_index: u32::try_from(k / prompts).unwrap_or(u32::MAX),
        })
        .collect()
}

fn round_up(n: u64, multiple: u64) -> u64 {
    n.div_ceil(multiple.max(1)) * multiple.max(1)
}

/// What to do with one target.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Next {
    /// Samples still pending or leased: look again when they are done.
    Open,
    /// Done sampling.
    Stopped(AdaptiveState),
    /// Append samples `from..to`.
    Wave { from: u64, to: u64 },
}

/// The rule, the goal brands and the prompt count of an adaptive run.
struct Plan<'a> {
    options: &'a AdaptiveOptions,
    rule: StoppingRule,
    goal_brands: Vec<String>,
    prompts: u64,
}

impl<'a> Plan<'a> {
    fn of(run: &Run, options: &'a AdaptiveOptions) -> Result<Self> {
        let catalog = BrandCatalog::new(run.spec.brands.clone())?;
        let goal_brands = catalog
            .brands()
            .iter()
            .filter(|b| options.brands == GoalBrands::All || b.role == BrandRole::Target)
            .map(|b| b.name.clone())
            .collect();
        Ok(Self {
            options,
            // Checked when the run was admitted (`validate`); honoured as admitted.
            rule: StoppingRule::unverified(options.goal, options.method)?,
            goal_brands,
            prompts: run.spec.prompts.len() as u64,
        })
    }

    fn counts(&self, p: &TargetProgress) -> TargetCounts {
        TargetCounts {
            answered: p.answered,
            brands: self.goal_brands.iter().map(|b| p.naming(b).min(p.answered)).collect(),
        }
    }

    /// The decision for one target, and the widest goal-brand half-width on its answers.
    fn next(&self, p: &TargetProgress) -> (Next, f64) {
        let decision = self.rule.decide(&self.counts(p));
        let widest = match decision {
            Decision::Continue { widest_half_width, .. } | Decision::Stop { widest_half_width, .. } => {
                widest_half_width
            }
        };
        if p.open > 0 {
            return (Next::Open, widest);
        }
        if p.cancelled > 0 {
            // Only a cancellation cancels samples.
            return (Next::Stopped(AdaptiveState::Cancelled), widest);
        }
        let max = self.options.goal.max_samples;
        let enqueued = p.enqueued();
        let next = match decision {
            Decision::Stop {
                reason: StopReason::GoalReached,
                ..
            } => Next::Stopped(AdaptiveState::GoalReached),
            Decision::Stop {
                reason: StopReason::MaxSamples,
                ..
            } => Next::Stopped(AdaptiveState::MaxSamples),
            // Failed samples used up the budget: nothing more may be asked.
            Decision::Continue { .. } if enqueued >= max => Next::Stopped(AdaptiveState::MaxSamples),
            Decision::Continue {
                estimated_remaining, ..
            } => {
                // Half the estimate: the estimate comes from the current rates, which the
                // next answers correct; the study in docs/metrics.md measured this schedule.
                let size = estimated_remaining.div_ceil(2).max(MIN_WAVE);
                let to = round_up(enqueued + size, self.prompts).min(max);
                Next::Wave { from: enqueued, to }
            }
        };
        (next, widest)
    }
}

/// What one look at a run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Advanced {
    /// Samples appended by this look.
    pub appended: u64,
    /// Every target has stopped (or the run is not adaptive, or already terminal): the run
    /// may be finalized once nothing is pending or leased.
    pub done: bool,
}

/// Looks at every target of `run` and appends the next wave of each drained target whose
/// rule says continue. Cheap for a fixed run (returns at once).
pub(crate) async fn advance(store: &dyn Store, run: &Run, now: DateTime<Utc>) -> Result<Advanced> {
    let Some(options) = &run.adaptive else {
        return Ok(Advanced {
            appended: 0,
            done: true,
        });
    };
    let plan = Plan::of(run, options)?;
    let progress = store.run_progress(run.account_id, run.id).await?;
    if progress.status.is_terminal() {
        return Ok(Advanced {
            appended: 0,
            done: true,
        });
    }
    let mut advanced = Advanced {
        appended: 0,
        done: true,
    };
    for target in &run.spec.targets {
        let p = progress.target(target);
        match plan.next(&p).0 {
            Next::Stopped(_) => {}
            Next::Open => advanced.done = false,
            Next::Wave { from, to } => {
                advanced.done = false;
                let wave = Wave {
                    target: target.clone(),
                    expected_enqueued: from,
                    samples: wave_samples(target, plan.prompts, from, to),
                    now,
                };
                let appended = store.append_wave(run.account_id, run.id, &wave).await?;
                if appended > 0 {
                    tracing::info!(run_id = %run.id, %target, from, to, answered = p.answered, "adaptive wave appended");
                }
                advanced.appended += appended;
            }
        }
    }
    Ok(advanced)
}

/// Whether the run may be finalized as far as sampling goes: `true` for fixed runs;
/// for adaptive runs, after a look ([`advance`]) found every target stopped.
pub(crate) async fn sampling_done(
    store: &dyn Store,
    account: AccountId,
    run: RunId,
    now: DateTime<Utc>,
) -> Result<bool> {
    let run = store.get_run(account, run).await?;
    if run.adaptive.is_none() || run.status.is_terminal() {
        return Ok(true);
    }
    Ok(advance(store, &run, now).await?.done)
}

/// Per target: answers, state and widest goal-brand half-width (`None` for a fixed run).
pub(crate) async fn summary(store: &dyn Store, run: &Run) -> Result<Option<AdaptiveSummary>> {
    let Some(options) = &run.adaptive else {
        return Ok(None);
    };
    let plan = Plan::of(run, options)?;
    let progress: RunProgress = store.run_progress(run.account_id, run.id).await?;
    let targets = run
        .spec
        .targets
        .iter()
        .map(|target| {
            let p = progress.target(target);
            let (next, widest) = plan.next(&p);
            let state = match next {
                Next::Stopped(state) => state,
                _ if progress.status == crate::model::RunStatus::Cancelled => AdaptiveState::Cancelled,
                Next::Open | Next::Wave { .. } => AdaptiveState::Sampling,
            };
            AdaptiveTargetSummary {
                target: target.clone(),
                state,
                enqueued: p.enqueued(),
                answered: p.answered,
                failed: p.failed,
                widest_half_width: widest,
            }
        })
        .collect();
    Ok(Some(AdaptiveSummary {
        options: *options,
        targets,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::sequential::AdaptiveGoal;
    use crate::model::BrandSpec;

    fn spec(prompts: usize, targets: usize) -> ExperimentSpec {
        ExperimentSpec {
            name: "a".into(),
            prompts: (0..prompts).map(|i| format!("question {i}")).collect(),
            brands: vec![BrandSpec::target("Acme"), BrandSpec::new("Other")],
            targets: (0..targets)
                .map(|i| Target::new("simulated", format!("m{i}")))
                .collect(),
            repeats: 1,
            system_prompt: None,
            temperature: None,
            max_output_tokens: None,
            web_search: false,
        }
    }

    fn options(h: f64, min: u64, max: u64) -> AdaptiveOptions {
        AdaptiveOptions {
            goal: AdaptiveGoal {
                half_width: h,
                min_samples: min,
                max_samples: max,
                confidence: 0.95,
            },
            brands: GoalBrands::All,
            method: Default::default(),
        }
    }

    fn progress(open: u64, answered: u64, failed: u64, brands: &[(&str, u64)]) -> TargetProgress {
        TargetProgress {
            open,
            answered,
            failed,
            brands: brands.iter().map(|(b, n)| (b.to_string(), *n)).collect(),
            ..TargetProgress::new(Target::new("simulated", "m0"))
        }
    }

    #[test]
    fn validation_names_the_field_and_bounds_the_run() {
        let s = spec(2, 3);
        assert_eq!(validate(&options(0.05, 20, 381), &s).unwrap(), 3 * 381);
        for (o, field) in [
            (options(0.0, 20, 381), "options.adaptive.goal.half_width"),
            (options(-0.1, 20, 381), "options.adaptive.goal.half_width"),
            (options(0.5, 20, 381), "options.adaptive.goal.half_width"),
            (options(0.05, 50, 20), "options.adaptive.goal.max_samples"),
            (options(0.05, 0, 20), "options.adaptive.goal.min_samples"),
            (options(0.05, 10, 381), "options.adaptive.goal.min_samples"),
            (options(0.05, 20, 40_000), "options.adaptive.goal.max_samples"),
        ] {
            let e = validate(&o, &s).unwrap_err();
            assert_eq!(e.field(), Some(field), "{o:?}: {e}");
        }
    }

    #[test]
    fn waves_ask_prompts_in_turn() {
        let s = spec(3, 2);
        let first = first_wave(&s, &options(0.05, 20, 381));
        // 20 rounded up to 7 rounds of 3 prompts.
        assert_eq!(first.len(), 2 * 21);
        let keys: Vec<(u32, u32)> = first[..7].iter().map(|n| (n.prompt_index, n.repeat_index)).collect();
        assert_eq!(keys, [(0, 0), (1, 0), (2, 0), (0, 1), (1, 1), (2, 1), (0, 2)]);
        // min above max: the first wave is the maximum.
        assert_eq!(first_wave(&s, &options(0.3, 9, 4)).len(), 2 * 4);
    }

    #[test]
    fn decisions_follow_the_rule_within_the_budget() {
        let mut run = crate::engine::plan::new_run(
            AccountId::new(),
            crate::model::ExperimentId::new(),
            spec(1, 1),
            0,
            1,
            Utc::now(),
        );
        let o = options(0.05, 20, 381);
        run.adaptive = Some(o);
        let plan = Plan::of(&run, &o).unwrap();
        // Still running.
        assert_eq!(plan.next(&progress(3, 17, 0, &[])).0, Next::Open);
        // 0 of 60 name either brand: ±0.03, goal reached.
        assert_eq!(
            plan.next(&progress(0, 60, 0, &[])).0,
            Next::Stopped(AdaptiveState::GoalReached)
        );
        // 10 of 20 name Acme: the rule wants 381 − 20 = 361 more; the wave is half of it.
        assert_eq!(
            plan.next(&progress(0, 20, 0, &[("Acme", 10)])).0,
            Next::Wave { from: 20, to: 201 }
        );
        // Near the end the wave is clamped to the maximum...
        assert_eq!(
            plan.next(&progress(0, 378, 0, &[("Acme", 189)])).0,
            Next::Wave { from: 378, to: 381 }
        );
        // ...and failures that used up the budget stop the target.
        assert_eq!(
            plan.next(&progress(0, 300, 81, &[("Acme", 150)])).0,
            Next::Stopped(AdaptiveState::MaxSamples)
        );
        // With the goal on target brands only, a competitor near ½ does not hold it up.
        let only_targets = AdaptiveOptions {
            brands: GoalBrands::Targets,
            ..o
        };
        let plan = Plan::of(&run, &only_targets).unwrap();
        assert_eq!(
            plan.next(&progress(0, 60, 0, &[("Other", 30)])).0,
            Next::Stopped(AdaptiveState::GoalReached)
        );
    }
}
