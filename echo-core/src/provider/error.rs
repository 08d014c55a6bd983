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

    /// The error with every occurrence of `secret` in its texts replaced by `***`. A
    /// server or proxy echoing an API key in an error must not carry it into logs and
    /// stored samples. Secrets shorter than 6 characters are left alone: they would match
    /// innocent text, and no real key is that short.
    pub fn redact(self, secret: &str) -> Self {
        if secret.len() < 6 {
            return self;
        }
        self.map_text(|s| {
            if s.contains(secret) {
                s.replace(secret, "***")
            } else {
                s
            }
        })
    }

    /// The error with `f` applied to each of its texts.
    fn map_text(self, f: impl Fn(String) -> String) -> Self {
        match self {
            LlmError::RateLimited { retry_after, message } => LlmError::RateLimited {
                retry_after,
                message: f(message),
            },
            LlmError::Overloaded { retry_after, message } => LlmError::Overloaded {
                retry_after,
                message: f(message),
            },
            LlmError::QuotaExhausted(m) => LlmError::QuotaExhausted(f(m)),
            LlmError::Auth(m) => LlmError::Auth(f(m)),
            LlmError::InvalidRequest(m) => LlmError::InvalidRequest(f(m)),
            LlmError::ContextLength(m) => LlmError::ContextLength(f(m)),
            LlmError::ContentFiltered(m) => LlmError::ContentFiltered(f(m)),
            LlmError::Server {
                status,
                retry_after,
                message,
            } => LlmError::Server {
                status,
                retry_after,
                message: f(message),
            },
            LlmError::Rejected { status, message } => LlmError::Rejected {
                status,
                message: f(message),
            },
            LlmError::Timeout(d) => LlmError::Timeout(d),
            LlmError::Transport(m) => LlmError::Transport(f(m)),
            LlmError::Decode { message, body } => LlmError::Decode {
                message: f(message),
                body: f(body),
            },
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_covers_messages_and_bodies() {
        let key = "AIzaSy-secret-key-123";
        let e = LlmError::Decode {
            message: format!("bad {key}"),
            body: format!("{{\"k\": \"{key}\"}}"),
        }
        .redact(key);
        assert!(!format!("{e:?}").contains(key));
        assert!(format!("{e:?}").contains("***"));
        let e = LlmError::Auth("key sk-123 wrong".into()).redact("sk-123");
        assert_eq!(e, LlmError::Auth("key *** wrong".into()));
        let e = LlmError::Server {
            status: Some(500),
            retry_after: None,
            message: "sk-123".into(),
        }
        .redact("sk-123");
        assert_eq!(e.to_string(), "server error 500: ***");
        assert_eq!(
            LlmError::Auth("short".into()).redact("short"),
            LlmError::Auth("short".into())
        );
    }
}
