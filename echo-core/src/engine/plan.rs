//! Planning a run: the samples an experiment's spec asks for, and the run row itself.
//! Shared by on-demand runs (`Echo::enqueue_run`) and scheduled runs (the scheduler).

use chrono::{DateTime, Utc};

use crate::model::{AccountId, ExperimentId, ExperimentSpec, Run, RunId, RunStatus, SampleId};
use crate::store::NewSample;

/// targets × prompts × repeats samples, each with its unique key.
pub(crate) fn plan_samples(spec: &ExperimentSpec) -> Vec<NewSample> {
    let mut samples = Vec::with_capacity(usize::try_from(spec.planned_samples()).unwrap_or(0));
    for target in &spec.targets {
        for prompt_index in 0..spec.prompts.len() as u32 {
            for repeat_index in 0..spec.repeats {
                samples.push(NewSample {
                    id: SampleId::new(),
                    target: target.clone(),
                    prompt_index,
                    repeat_index,
                });
            }
        }
    }
    samples
}

/// A pending run of `spec` with `planned` samples.
pub(crate) fn new_run(
    account: AccountId,
    experiment: ExperimentId,
    spec: ExperimentSpec,
    planned: usize,
    seed: u64,
    now: DateTime<Utc>,
) -> Run {
    Run {
        id: RunId::new(),
        account_id: account,
        experiment_id: experiment,
        planned_samples: planned as u64,
        spec,
        status: RunStatus::Pending,
        seed,
        created_at: now,
        started_at: None,
        finished_at: None,
        adaptive: None,
        correlation_id: None,
    }
}
