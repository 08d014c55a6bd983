//! The tracing spans of a run's execution, in one place so that every process executing a
//! run (the in-process executor, distributed workers) names the same fields.
//!
//! Each span carries the ids a log reader filters by: account, experiment, run, sample, and
//! the host's correlation id stored on the run (`runs.correlation_id`, migration 0009), so
//! one piece of work can be followed from the host's request through spawned tasks and
//! other worker processes. Spans never carry prompts, answers or keys.

use tracing::Span;

use super::run_context::RunContext;
use crate::model::{Run, SampleTask};

/// The span of one run's execution in this process.
pub(super) fn run_span(run: &Run, concurrency: usize) -> Span {
    tracing::info_span!(
        "run",
        account_id = %run.account_id,
        experiment_id = %run.experiment_id,
        run_id = %run.id,
        correlation_id = %run.correlation_id.as_deref().unwrap_or_default(),
        concurrency,
    )
}

/// The span of one claimed sample's execution: the run's ids and correlation id (stored on
/// the run, so a worker in another process logs the same id) and the
/// sample's own.
///
/// At INFO, not DEBUG: a span prints nothing by itself, it only gives its fields to the
/// events inside it, so a provider warning in a worker (whose own span knows no run) still
/// names the run, sample and correlation id at the usual production level.
pub(super) fn sample_span(ctx: &RunContext, task: &SampleTask) -> Span {
    tracing::info_span!(
        "sample",
        account_id = %ctx.run.account_id,
        experiment_id = %ctx.run.experiment_id,
        run_id = %task.run_id,
        sample_id = %task.id,
        correlation_id = %ctx.run.correlation_id.as_deref().unwrap_or_default(),
        target = %task.target,
        attempt = task.attempt,
    )
}

/// The correlation id of an operation: the one the host passed for it explicitly (e.g.
/// [`RunOptions::correlation_id`](super::RunOptions)), else the principal's request
/// context's. Blank values count as none; long ones are cut as the audit trail cuts them.
pub(crate) fn correlation_id(explicit: Option<&str>, principal: &crate::auth::Principal) -> Option<String> {
    let explicit = crate::auth::RequestContext {
        correlation_id: explicit.map(str::to_string),
        ..Default::default()
    }
    .normalized()
    .correlation_id;
    explicit.or_else(|| principal.request().and_then(|r| r.correlation_id.clone()))
}
