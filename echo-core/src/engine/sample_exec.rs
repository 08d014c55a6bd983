//! Executing one claimed sample: call the provider, extract mentions, decide the outcome.

use std::sync::Arc;
use std::time::Instant;

use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

use super::run_context::RunContext;
use super::seed::sample_seed;
use crate::model::SampleTask;
use crate::provider::{ChatRequest, LlmError, Message};
use crate::store::{AnsweredSample, Fence, SampleOutcome};

/// What became of one claimed sample's execution.
// Nearly every execution ends in an outcome (see `SampleOutcome`): boxing would allocate
// per sample for nothing.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Executed {
    /// An outcome to persist.
    Outcome(SampleOutcome),
    /// The call was abandoned (cancellation, or a shutdown deadline): the lease is to be
    /// handed back.
    Abandoned(Fence),
}

/// Runs one sample to an outcome, or abandons it when `cancel` fires. Never fails: every
/// problem becomes a recorded outcome.
pub(crate) async fn execute_sample(ctx: Arc<RunContext>, task: SampleTask, cancel: CancellationToken) -> Executed {
    let fence = Fence::from(&task);
    if cancel.is_cancelled() {
        return Executed::Abandoned(fence);
    }
    let Some(provider) = ctx.providers.get(&task.target.provider).cloned() else {
        return failed(
            &ctx,
            fence,
            "config",
            format!("provider {:?} is not configured", task.target.provider),
        );
    };
    let Some(prompt) = ctx.run.spec.prompts.get(task.prompt_index as usize) else {
        return failed(
            &ctx,
            fence,
            "internal",
            format!("prompt index {} out of range", task.prompt_index),
        );
    };

    let mut messages = Vec::with_capacity(2);
    if let Some(system) = &ctx.run.spec.system_prompt {
        messages.push(Message::system(system.clone()));
    }
    messages.push(Message::user(prompt.clone()));
    let request = ChatRequest {
        model: task.target.model.clone(),
        messages,
        temperature: ctx.run.spec.temperature,
        max_output_tokens: ctx.run.spec.max_output_tokens,
        web_search: ctx.run.spec.web_search,
        seed: Some(sample_seed(
            ctx.run.seed,
            &task.target,
            task.prompt_index,
            task.repeat_index,
        )),
    };

    let started = Instant::now();
    let timeout = ctx.config.call_timeout();
    let result = tokio::select! {
        r = tokio::time::timeout(timeout, provider.complete(&request)) => {
            r.unwrap_or(Err(LlmError::Timeout(timeout)))
        }
        _ = cancel.cancelled() => return Executed::Abandoned(fence),
    };
    let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);

    match result {
        Ok(response) => {
            // Mentions come from the original text; redaction keeps byte lengths, so their
            // offsets hold in the stored text (privacy::redact).
            let mentions = ctx.extractor.extract(&response.text);
            let stored = crate::privacy::redact::redact_answer(
                ctx.redactor.as_deref(),
                response.text,
                response.raw.as_ref().map(ToString::to_string),
                response.citations,
            );
            let answer_sha256 = hex::encode(Sha256::digest(stored.text.as_bytes()));
            let cost_usd = ctx.cost_of(&task.target, response.served_model.as_deref(), &response.usage);
            Executed::Outcome(SampleOutcome::Succeeded(AnsweredSample {
                fence,
                answer_sha256,
                served_model: response.served_model,
                request_id: response.request_id,
                finish_reason: response.finish_reason.map(|f| f.as_str().to_string()),
                input_tokens: response.usage.input_tokens,
                output_tokens: response.usage.output_tokens,
                latency_ms,
                cost_usd,
                mentions,
                citations: stored.citations,
                completed_at: ctx.clock.now(),
                raw_response: stored.raw_response,
                raw_answer: stored.text,
                redactions: stored.redactions,
            }))
        }
        Err(error) if !ctx.config.resilience && error.is_transient() && task.attempt < ctx.config.max_attempts => {
            tracing::debug!(
                error_class = error.class(),
                "transient provider failure; sample goes back to the queue"
            );
            let wait = ctx.config.backoff(task.attempt, error.retry_after());
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = cancel.cancelled() => {}
            }
            retry(&ctx, fence, error.class(), error.to_string())
        }
        Err(error) => {
            tracing::debug!(error_class = error.class(), "provider failure; sample failed");
            failed(&ctx, fence, error.class(), error.to_string())
        }
    }
}

fn failed(ctx: &RunContext, fence: Fence, class: &str, message: String) -> Executed {
    Executed::Outcome(SampleOutcome::Failed {
        fence,
        error_class: class.to_string(),
        error_message: message,
        at: ctx.clock.now(),
    })
}

fn retry(ctx: &RunContext, fence: Fence, class: &str, message: String) -> Executed {
    Executed::Outcome(SampleOutcome::Retry {
        fence,
        error_class: class.to_string(),
        error_message: message,
        at: ctx.clock.now(),
    })
}
