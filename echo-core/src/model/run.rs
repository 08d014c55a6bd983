//! Runs and samples: one execution of an experiment, and its individual LLM calls.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{AccountId, ExperimentId, ExperimentSpec, RunId, SampleId, Target};

/// Lifecycle of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Enqueued; no sample has finished yet.
    Pending,
    /// Samples are being executed.
    Running,
    /// Every sample succeeded.
    Completed,
    /// Finished with some samples failed.
    Partial,
    /// Finished with every sample failed.
    Failed,
    /// Cancelled; samples not yet executed will not be.
    Cancelled,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Pending => "pending",
            RunStatus::Running => "running",
            RunStatus::Completed => "completed",
            RunStatus::Partial => "partial",
            RunStatus::Failed => "failed",
            RunStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> crate::Result<Self> {
        Ok(match s {
            "pending" => RunStatus::Pending,
            "running" => RunStatus::Running,
            "completed" => RunStatus::Completed,
            "partial" => RunStatus::Partial,
            "failed" => RunStatus::Failed,
            "cancelled" => RunStatus::Cancelled,
            other => {
                return Err(crate::Error::Internal(format!(
                    "unknown run status {other:?} in database"
                )));
            }
        })
    }

    /// Whether no more samples will execute.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            RunStatus::Completed | RunStatus::Partial | RunStatus::Failed | RunStatus::Cancelled
        )
    }
}

/// A stored run. The experiment spec is snapshotted at enqueue time, so editing the
/// experiment never changes what a run measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    pub id: RunId,
    pub account_id: AccountId,
    pub experiment_id: ExperimentId,
    pub spec: ExperimentSpec,
    pub status: RunStatus,
    pub planned_samples: u64,
    /// Seed from which every sample's provider seed derives (reproducible simulations).
    pub seed: u64,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// For an adaptive run, the precision it samples to (then `planned_samples` is the
    /// maximum, `goal.max_samples` per target, which quota reserves); `None` for a run of
    /// the spec's fixed repeats.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adaptive: Option<super::AdaptiveOptions>,
    /// The host's correlation id for the work that enqueued the run
    /// ([`RunOptions::correlation_id`](crate::engine::RunOptions) or the request's): every
    /// process that executes the run puts it on its spans, so one id finds the request,
    /// the run and every sample's logs. `None` for scheduled runs and runs enqueued without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
}

/// Counts of a run's samples by status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SampleCounts {
    pub pending: u64,
    pub leased: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub cancelled: u64,
}

impl SampleCounts {
    pub fn total(&self) -> u64 {
        self.pending + self.leased + self.succeeded + self.failed + self.cancelled
    }
    /// Samples that reached a final state.
    pub fn finished(&self) -> u64 {
        self.succeeded + self.failed + self.cancelled
    }

    /// The status a run ends with once no sample is pending or leased (`None` before):
    /// `cancelled` if any sample was cancelled (only a cancellation cancels samples),
    /// `completed` if none failed, `failed` if none succeeded, `partial` otherwise. Every
    /// backend's `finalize_run` and the engine apply this one rule.
    pub fn final_status(&self) -> Option<RunStatus> {
        if self.pending > 0 || self.leased > 0 {
            None
        } else if self.cancelled > 0 {
            Some(RunStatus::Cancelled)
        } else if self.failed == 0 {
            Some(RunStatus::Completed)
        } else if self.succeeded == 0 {
            Some(RunStatus::Failed)
        } else {
            Some(RunStatus::Partial)
        }
    }
}

/// Lifecycle of a sample. The samples table is the work queue:
/// `pending → leased → succeeded | failed` (or `cancelled`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SampleStatus {
    Pending,
    Leased,
    Succeeded,
    Failed,
    Cancelled,
}

impl SampleStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SampleStatus::Pending => "pending",
            SampleStatus::Leased => "leased",
            SampleStatus::Succeeded => "succeeded",
            SampleStatus::Failed => "failed",
            SampleStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> crate::Result<Self> {
        Ok(match s {
            "pending" => SampleStatus::Pending,
            "leased" => SampleStatus::Leased,
            "succeeded" => SampleStatus::Succeeded,
            "failed" => SampleStatus::Failed,
            "cancelled" => SampleStatus::Cancelled,
            other => {
                return Err(crate::Error::Internal(format!(
                    "unknown sample status {other:?} in database"
                )));
            }
        })
    }
}

/// The unit of work handed to a worker: which question to ask of which model.
/// `attempt` and `lease_owner` fence the completion (see [`crate::store::RunStore`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampleTask {
    pub id: SampleId,
    pub run_id: RunId,
    pub account_id: AccountId,
    pub target: Target,
    pub prompt_index: u32,
    pub repeat_index: u32,
    /// 1 on the first claim, incremented on every claim.
    pub attempt: u32,
    pub lease_owner: String,
}

/// A stored sample as read back for reports and exports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    pub id: SampleId,
    pub run_id: RunId,
    pub target: Target,
    pub prompt_index: u32,
    pub repeat_index: u32,
    pub status: SampleStatus,
    pub attempt: u32,
    /// The answer text; `None` when not answered or erased by retention.
    pub raw_answer: Option<String>,
    /// SHA-256 (hex) of the answer text, kept after the text is erased.
    pub answer_sha256: Option<String>,
    pub served_model: Option<String>,
    pub request_id: Option<String>,
    pub finish_reason: Option<String>,
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    pub latency_ms: Option<u64>,
    /// Cost of the call in USD from the pricing table in force when it was answered.
    pub cost_usd: Option<f64>,
    /// Error class (`rate_limited`, `server`, ...) of the last failed attempt.
    pub error_class: Option<String>,
    pub error_message: Option<String>,
    pub completed_at: Option<DateTime<Utc>>,
    pub anonymized_at: Option<DateTime<Utc>>,
    /// What PII redaction replaced in the stored answer; `None` when the account did not
    /// redact when it was answered.
    #[serde(default)]
    pub redactions: Option<crate::privacy::RedactionCounts>,
}

/// A sample with the facts extracted from it: what reports are computed from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampleRecord {
    pub sample: Sample,
    /// Mentions in order of first appearance (rank 1 first).
    pub mentions: Vec<super::Mention>,
    pub citations: Vec<super::Citation>,
}
