//! Classifying Gemini error replies.
//!
//! Gemini errors follow Google's API error model:
//! `{"error": {"code": 429, "message": "...", "status": "RESOURCE_EXHAUSTED", "details": [...]}}`
//! where `details` may carry a `google.rpc.ErrorInfo` (`reason`, e.g. `API_KEY_INVALID`),
//! a `google.rpc.RetryInfo` (`retryDelay`, e.g. `"17s"`) and a `google.rpc.QuotaFailure`
//! (the quotas that were hit). A few Gemini spellings escape the shared rules of
//! [`classify_status`], so they are mapped here first:
//!
//! - a bad key is a **400** `INVALID_ARGUMENT` with reason `API_KEY_INVALID` → `Auth`;
//! - an oversized prompt says "The input token count (N) exceeds the maximum number of
//!   tokens allowed (M)" → `ContextLength`;
//! - every 429 is `RESOURCE_EXHAUSTED` and its message says "check your plan and billing
//!   details" even for per-minute limits, which the shared billing rule would take for
//!   exhausted credit. A 429 is therefore `RateLimited` (retry after `Retry-After`, else
//!   `RetryInfo.retryDelay`), unless every quota it names is a per-day quota: those only
//!   reset the next day, so retrying is futile and the error is `QuotaExhausted`.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use crate::provider::LlmError;
use crate::provider::http::{
    ErrorBody, HttpReply, bounded_text, classify_status, parse_duration_hint, retry_after, should_retry,
};

/// The part of an error body that classification uses.
#[derive(Debug, Default, PartialEq)]
pub(super) struct GoogleError {
    /// `error.status`, e.g. `RESOURCE_EXHAUSTED`.
    pub status: Option<String>,
    /// `ErrorInfo.reason`, e.g. `API_KEY_INVALID`.
    pub reason: Option<String>,
    pub message: String,
    /// `RetryInfo.retryDelay`.
    pub retry_delay: Option<std::time::Duration>,
    /// `QuotaFailure.violations[].quotaId`.
    pub quota_ids: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ErrorWire {
    message: Option<String>,
    status: Option<String>,
    details: Option<Vec<Value>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct DetailWire {
    #[serde(rename = "@type")]
    type_url: Option<String>,
    reason: Option<String>,
    retry_delay: Option<String>,
    violations: Option<Vec<ViolationWire>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct ViolationWire {
    quota_id: Option<String>,
}

/// Reads Google's error envelope; some gateways wrap it in a one-element array. A body
/// that is not such JSON gives its bounded text as the message.
pub(super) fn parse_error(body: &[u8]) -> GoogleError {
    let fallback = || GoogleError {
        message: bounded_text(body).trim().to_string(),
        ..GoogleError::default()
    };
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return fallback();
    };
    let envelope = match &value {
        Value::Array(items) => items.first().cloned().unwrap_or(Value::Null),
        _ => value,
    };
    let Some(error) = envelope.get("error").cloned() else {
        return fallback();
    };
    let Ok(error) = serde_json::from_value::<ErrorWire>(error) else {
        return fallback();
    };
    let mut parsed = GoogleError {
        status: error.status.filter(|s| !s.is_empty()),
        message: bounded_text(error.message.unwrap_or_default().as_bytes()),
        ..GoogleError::default()
    };
    for detail in error.details.unwrap_or_default() {
        let Ok(detail) = serde_json::from_value::<DetailWire>(detail) else {
            continue;
        };
        let kind = detail.type_url.as_deref().unwrap_or("");
        if kind.ends_with("google.rpc.ErrorInfo") && parsed.reason.is_none() {
            parsed.reason = detail.reason.filter(|r| !r.is_empty());
        } else if kind.ends_with("google.rpc.RetryInfo") {
            parsed.retry_delay = detail.retry_delay.as_deref().and_then(parse_duration_hint);
        } else if kind.ends_with("google.rpc.QuotaFailure") {
            parsed.quota_ids.extend(
                detail
                    .violations
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|v| v.quota_id),
            );
        }
    }
    parsed
}

/// Classifies a non-2xx reply.
pub(super) fn classify(reply: &HttpReply, now: DateTime<Utc>) -> LlmError {
    let status = reply.status;
    let error = parse_error(&reply.body);
    let message = match (&error.status, error.message.is_empty()) {
        (Some(s), false) => format!("{s}: {}", error.message),
        (Some(s), true) => format!("HTTP {status} {s}"),
        (None, false) => error.message.clone(),
        (None, true) => format!("HTTP {status}"),
    };
    let after = retry_after(&reply.headers, now).or(error.retry_delay);

    if error.reason.as_deref().is_some_and(|r| r.starts_with("API_KEY_")) {
        return LlmError::Auth(message);
    }
    if error
        .message
        .to_ascii_lowercase()
        .contains("exceeds the maximum number of tokens")
    {
        return LlmError::ContextLength(message);
    }
    if status == 429 && should_retry(&reply.headers) != Some(false) {
        let daily_only = !error.quota_ids.is_empty() && error.quota_ids.iter().all(|q| q.contains("PerDay"));
        if daily_only {
            return LlmError::QuotaExhausted(format!(
                "{message} (a per-day quota was exhausted; it resets the next day)"
            ));
        }
        return LlmError::RateLimited {
            retry_after: after,
            message,
        };
    }

    let body = ErrorBody {
        code: error.reason.clone().or_else(|| error.status.clone()),
        kind: error.status.clone(),
        message,
    };
    match classify_status(status, &body, &reply.headers, now) {
        LlmError::RateLimited { retry_after, message } => LlmError::RateLimited {
            retry_after: retry_after.or(after),
            message,
        },
        LlmError::Overloaded { retry_after, message } => LlmError::Overloaded {
            retry_after: retry_after.or(after),
            message,
        },
        LlmError::Server {
            status,
            retry_after,
            message,
        } => LlmError::Server {
            status,
            retry_after: retry_after.or(after),
            message,
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn parses_google_error_model() {
        let body = br#"{"error": {"code": 429, "message": "You exceeded your current quota.",
            "status": "RESOURCE_EXHAUSTED", "details": [
              {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [
                {"quotaMetric": "m", "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier"}]},
              {"@type": "type.googleapis.com/google.rpc.Help", "links": [{"url": "https://ai.google.dev"}]},
              {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "47s"}]}}"#;
        let e = parse_error(body);
        assert_eq!(e.status.as_deref(), Some("RESOURCE_EXHAUSTED"));
        assert_eq!(e.message, "You exceeded your current quota.");
        assert_eq!(e.retry_delay, Some(Duration::from_secs(47)));
        assert_eq!(
            e.quota_ids,
            vec!["GenerateRequestsPerMinutePerProjectPerModel-FreeTier"]
        );
        assert_eq!(e.reason, None);

        let wrapped = br#"[{"error": {"code": 400, "message": "bad", "status": "INVALID_ARGUMENT",
            "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"}]}}]"#;
        let e = parse_error(wrapped);
        assert_eq!(e.reason.as_deref(), Some("API_KEY_INVALID"));

        let e = parse_error(b"<html>502 Bad Gateway</html>");
        assert_eq!(e.message, "<html>502 Bad Gateway</html>");
        assert_eq!(e.status, None);
    }
}
