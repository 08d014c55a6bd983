//! Classified provider failures.

use std::time::Duration;

/// Why a provider call failed. The class decides whether it is retried: rate limits,
/// overload, server errors, timeouts and transport errors are transient; everything else
/// is final. A sample that fails records [`LlmError::class`] and the message.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum LlmError {
    /// HTTP 429 (or equivalent) that may be retried, after `retry_after` when given.
    #[error("rate limited{}: {message}", fmt_after(.retry_after))]
    RateLimited {
        retry_after: Option<Duration>,
        message: String,
    },
    /// The provider is overloaded (Anthropic 529); retried, after `retry_after` when given.
    #[error("provider overloaded{}: {message}", fmt_after(.retry_after))]
    Overloaded {
        retry_after: Option<Duration>,
        message: String,
    },
    /// Out of credit or over a spend limit: a 429 that must not be retried.
    #[error("quota exhausted at the provider (check billing): {0}")]
    QuotaExhausted(String),
    /// The API key was missing, wrong or lacks access.
    #[error("authentication failed (check the API key): {0}")]
    Auth(String),
    /// The provider rejected the request as malformed.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The prompt does not fit the model's context window.
    #[error("context length exceeded: {0}")]
    ContextLength(String),
    /// The provider refused to answer for safety reasons.
    #[error("content filtered: {0}")]
    ContentFiltered(String),
    /// 5xx from the provider (or another status the server marked retryable with
    /// `x-should-retry: true`); retried, after `retry_after` when given.
    #[error("server error{}{}: {message}", .status.map(|s| format!(" {s}")).unwrap_or_default(), fmt_after(.retry_after))]
    Server {
        status: Option<u16>,
        retry_after: Option<Duration>,
        message: String,
    },
    /// An error status the server said must not be retried (`x-should-retry: false`) and
    /// that fits no other class.
    #[error("request rejected with HTTP {status} (the provider asked not to retry): {message}")]
    Rejected { status: u16, message: String },
    /// The call took longer than its deadline.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// Connection-level failure.
    #[error("transport error: {0}")]
    Transport(String),
    /// The response could not be understood. `body` is a bounded copy.
    #[error("could not decode response: {message}")]
    Decode { message: String, body: String },
}

fn fmt_after(d: &Option<Duration>) -> String {
    d.map(|d| format!(" (retry after {d:?})")).unwrap_or_default()
}

impl LlmError {
    /// Stable snake_case class stored with failed samples.
    pub fn class(&self) -> &'static str {
        match self {
            LlmError::RateLimited { .. } => "rate_limited",
            LlmError::Overloaded { .. } => "overloaded",
            LlmError::QuotaExhausted(_) => "quota_exhausted",
            LlmError::Auth(_) => "auth",
            LlmError::InvalidRequest(_) => "invalid_request",
            LlmError::ContextLength(_) => "context_length",
            LlmError::ContentFiltered(_) => "content_filtered",
            LlmError::Server { .. } => "server",
            LlmError::Rejected { .. } => "rejected",
            LlmError::Timeout(_) => "timeout",
            LlmError::Transport(_) => "transport",
            LlmError::Decode { .. } => "decode",
        }
    }

    /// Whether trying the same request again may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            LlmError::RateLimited { .. }
                | LlmError::Overloaded { .. }
                | LlmError::Server { .. }
                | LlmError::Timeout(_)
                | LlmError::Transport(_)
        )
    }

    /// The wait the provider asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            LlmError::RateLimited { retry_after, .. }
            | LlmError::Overloaded { retry_after, .. }
            | LlmError::Server { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}
