//! Classifying HTTP error responses into [`LlmError`] classes.
//!
//! Providers differ in how they spell errors but agree on what matters: the status, a
//! machine-readable code or type, a message, and the retry headers. Each provider parses
//! its own error body into an [`ErrorBody`] and calls [`classify_status`], so the rules
//! below (which failures are retried, which are final) are the same for all of them.

use chrono::{DateTime, Utc};
use reqwest::header::HeaderMap;

use super::headers::{retry_after, should_retry};
use crate::provider::LlmError;

/// What a provider's error body says, in provider-neutral terms.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErrorBody {
    /// Machine code (`insufficient_quota`, `context_length_exceeded`...).
    pub code: Option<String>,
    /// Error type (`rate_limit_error`, `overloaded_error`, `RESOURCE_EXHAUSTED`...).
    pub kind: Option<String>,
    /// Human message (bounded; never contains the API key).
    pub message: String,
}

impl ErrorBody {
    fn mentions(&self, needles: &[&str]) -> bool {
        let hay = |s: &str| {
            let s = s.to_ascii_lowercase();
            needles.iter().any(|n| s.contains(n))
        };
        self.code.as_deref().is_some_and(hay) || self.kind.as_deref().is_some_and(hay) || hay(&self.message)
    }
}

/// Classifies an error response. Order matters: the specific final classes (quota at the
/// provider, context length, content filter, auth) win over the generic status rules, and
/// an explicit `x-should-retry` header wins over the status.
pub fn classify_status(status: u16, error: &ErrorBody, headers: &HeaderMap, now: DateTime<Utc>) -> LlmError {
    let message = if error.message.is_empty() {
        format!("HTTP {status}")
    } else {
        error.message.clone()
    };
    let after = retry_after(headers, now);

    if status == 402
        || error.mentions(&[
            "insufficient_quota",
            "credit balance",
            "spend limit",
            "spend_limit",
            "billing",
        ])
    {
        return LlmError::QuotaExhausted(message);
    }
    if status == 401
        || status == 403
        || error.mentions(&["authentication_error", "invalid_api_key", "permission_error"])
    {
        return LlmError::Auth(message);
    }
    if error.mentions(&[
        "context_length_exceeded",
        "context length",
        "context window",
        "prompt is too long",
        "maximum context",
    ]) {
        return LlmError::ContextLength(message);
    }
    if error.mentions(&["content_filter", "content_policy", "safety"]) && (400..500).contains(&status) {
        return LlmError::ContentFiltered(message);
    }

    let retryable = match should_retry(headers) {
        Some(advice) => advice,
        None => matches!(status, 408 | 409 | 429) || status >= 500,
    };
    if !retryable {
        return if (400..500).contains(&status) && status != 408 && status != 409 && status != 429 {
            LlmError::InvalidRequest(format!("HTTP {status}: {message}"))
        } else {
            LlmError::Rejected { status, message }
        };
    }
    if status == 429 {
        return LlmError::RateLimited {
            retry_after: after,
            message,
        };
    }
    if status == 529 || error.mentions(&["overloaded"]) {
        return LlmError::Overloaded {
            retry_after: after,
            message,
        };
    }
    LlmError::Server {
        status: Some(status),
        retry_after: after,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;
    use std::time::Duration;

    fn body(code: Option<&str>, kind: Option<&str>, message: &str) -> ErrorBody {
        ErrorBody {
            code: code.map(Into::into),
            kind: kind.map(Into::into),
            message: message.into(),
        }
    }

    fn classify(status: u16, b: &ErrorBody, h: &[(&'static str, &'static str)]) -> LlmError {
        let mut headers = HeaderMap::new();
        for (k, v) in h {
            headers.insert(*k, HeaderValue::from_static(v));
        }
        classify_status(status, b, &headers, Utc::now())
    }

    #[test]
    fn rate_limits_and_quota() {
        let e = classify(
            429,
            &body(Some("rate_limit_exceeded"), None, "slow down"),
            &[("retry-after", "2")],
        );
        assert_eq!(
            e,
            LlmError::RateLimited {
                retry_after: Some(Duration::from_secs(2)),
                message: "slow down".into()
            }
        );
        let e = classify(
            429,
            &body(Some("insufficient_quota"), Some("insufficient_quota"), "You exceeded"),
            &[],
        );
        assert_eq!(e.class(), "quota_exhausted");
        assert!(!e.is_transient());
        let e = classify(
            400,
            &body(None, Some("invalid_request_error"), "Your credit balance is too low"),
            &[],
        );
        assert_eq!(e.class(), "quota_exhausted");
    }

    #[test]
    fn payment_and_spend_limits_are_quota() {
        assert_eq!(
            classify(402, &body(None, None, "Payment required"), &[]).class(),
            "quota_exhausted"
        );
        let e = classify(429, &body(Some("enforced_spend_limit_reached"), None, "limit"), &[]);
        assert_eq!(e.class(), "quota_exhausted");
    }

    #[test]
    fn final_classes() {
        assert_eq!(classify(401, &body(None, None, "bad key"), &[]).class(), "auth");
        assert_eq!(classify(403, &body(None, None, "no"), &[]).class(), "auth");
        assert_eq!(
            classify(400, &body(Some("context_length_exceeded"), None, "too long"), &[]).class(),
            "context_length"
        );
        assert_eq!(
            classify(400, &body(None, None, "prompt is too long: 300000 tokens"), &[]).class(),
            "context_length"
        );
        assert_eq!(
            classify(400, &body(Some("content_filter"), None, "filtered"), &[]).class(),
            "content_filtered"
        );
        assert_eq!(
            classify(400, &body(None, None, "bad field"), &[]).class(),
            "invalid_request"
        );
        assert_eq!(
            classify(404, &body(None, None, "no such model"), &[]).class(),
            "invalid_request"
        );
    }

    #[test]
    fn retryable_classes_and_advice() {
        assert_eq!(
            classify(529, &body(None, Some("overloaded_error"), "busy"), &[]).class(),
            "overloaded"
        );
        let e = classify(503, &body(None, None, "down"), &[("retry-after", "1")]);
        assert_eq!(e.class(), "server");
        assert_eq!(e.retry_after(), Some(Duration::from_secs(1)));
        assert_eq!(
            classify(500, &body(None, None, ""), &[]).to_string(),
            "server error 500: HTTP 500"
        );
        // The server's explicit advice wins over the status.
        assert_eq!(
            classify(500, &body(None, None, "x"), &[("x-should-retry", "false")]).class(),
            "rejected"
        );
        assert_eq!(
            classify(400, &body(None, None, "x"), &[("x-should-retry", "true")]).class(),
            "server"
        );
        assert_eq!(classify(409, &body(None, None, "lock"), &[]).class(), "server");
    }
}
