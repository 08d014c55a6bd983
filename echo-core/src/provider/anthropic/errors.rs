//! Classifying Anthropic error responses.
//!
//! The body is `{"type":"error","error":{"type":"rate_limit_error","message":"..."},
//! "request_id":"req_..."}`, and the `error.type` names the class: `invalid_request_error`
//! (400), `authentication_error` (401), `billing_error` (402), `permission_error` (403),
//! `not_found_error` (404), `request_too_large` (413), `rate_limit_error` (429),
//! `api_error` (500), `timeout_error` (504), `overloaded_error` (529). The shared
//! [`classify_status`] rules do the rest, after two Anthropic-specific checks for spending
//! caps that must not be retried.

use serde::Deserialize;

use crate::provider::LlmError;
use crate::provider::http::{ErrorBody, HttpReply, bounded_text, classify_status};

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Envelope {
    error: Option<WireError>,
    request_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WireError {
    #[serde(rename = "type")]
    kind: Option<String>,
    message: Option<String>,
    details: Option<Details>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Details {
    error_code: Option<String>,
}

/// Classifies a non-2xx reply. The request id (header, else body) is appended to the
/// message so a failure stored on a sample can be quoted to Anthropic support.
pub(super) fn classify(reply: &HttpReply, request_id_header: Option<&str>) -> LlmError {
    let envelope: Option<Envelope> = serde_json::from_slice(&reply.body).ok();
    let (mut error, body_request_id) = match envelope {
        Some(Envelope {
            error: Some(e),
            request_id,
        }) => (
            ErrorBody {
                code: e.details.and_then(|d| d.error_code),
                kind: e.kind,
                message: e.message.unwrap_or_default(),
            },
            request_id,
        ),
        // Not Anthropic's JSON (a proxy's HTML page, an empty body...): keep what came.
        _ => (
            ErrorBody {
                message: bounded_text(&reply.body),
                ..ErrorBody::default()
            },
            None,
        ),
    };
    if let Some(id) = request_id_header.map(str::to_string).or(body_request_id) {
        if error.message.is_empty() {
            error.message = format!("HTTP {}", reply.status);
        }
        error.message.push_str(&format!(" (request id {id})"));
    }

    if is_spend_cap(&error) {
        return LlmError::QuotaExhausted(error.message);
    }
    classify_status(reply.status, &error, &reply.headers, chrono::Utc::now())
}

/// Spending caps Anthropic reports in words the shared rules do not know:
/// - 429 `rate_limit_error` with `details.error_code = enforced_spend_limit_reached` (the
///   monthly cap of the usage tier; no `retry-after`, access resumes next month);
/// - 400 `invalid_request_error` "You have reached your specified API usage limits. You
///   will regain access on ..." (a workspace or organisation limit the user set).
///
/// Both look retryable or merely invalid by status, but only money or time fixes them.
/// ("Your credit balance is too low" and `billing_error` are caught by the shared rules.)
fn is_spend_cap(error: &ErrorBody) -> bool {
    let code = error.code.as_deref().unwrap_or("").to_ascii_lowercase();
    let message = error.message.to_ascii_lowercase();
    code.contains("spend_limit") || message.contains("api usage limits") || message.contains("regain access")
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderMap, HeaderValue};
    use serde_json::json;
    use std::time::Duration;

    fn reply(status: u16, body: &[u8], headers: &[(&'static str, &'static str)]) -> HttpReply {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.insert(*k, HeaderValue::from_static(v));
        }
        HttpReply {
            status,
            headers: map,
            body: body.to_vec(),
            latency: Duration::ZERO,
        }
    }

    fn error_json(kind: &str, message: &str) -> Vec<u8> {
        serde_json::to_vec(&json!({"type": "error", "error": {"type": kind, "message": message},
                                   "request_id": "req_body"}))
        .unwrap()
    }

    #[test]
    fn spend_caps_are_quota_exhausted() {
        let body = serde_json::to_vec(&json!({"type": "error", "error": {"type": "rate_limit_error",
            "message": "Your organization has reached its monthly spend limit.",
            "details": {"error_code": "enforced_spend_limit_reached"}}}))
        .unwrap();
        assert_eq!(classify(&reply(429, &body, &[]), None).class(), "quota_exhausted");
        let body = error_json(
            "invalid_request_error",
            "You have reached your specified API usage limits. You will regain access on 2026-04-01 at 00:00 UTC.",
        );
        assert_eq!(classify(&reply(400, &body, &[]), None).class(), "quota_exhausted");
        let body = error_json("billing_error", "There is an issue with your payment method.");
        assert_eq!(classify(&reply(402, &body, &[]), None).class(), "quota_exhausted");
    }

    #[test]
    fn request_id_is_appended_preferring_the_header() {
        let body = error_json("api_error", "Internal server error");
        let e = classify(&reply(500, &body, &[]), Some("req_header"));
        assert!(
            e.to_string().ends_with("Internal server error (request id req_header)"),
            "{e}"
        );
        let e = classify(&reply(500, &body, &[]), None);
        assert!(e.to_string().contains("(request id req_body)"), "{e}");
    }

    #[test]
    fn non_json_bodies_keep_their_text() {
        let e = classify(&reply(502, b"<html>Bad Gateway</html>", &[]), None);
        assert_eq!(e.class(), "server");
        assert!(e.to_string().contains("Bad Gateway"), "{e}");
        let e = classify(&reply(503, b"", &[]), None);
        assert!(e.to_string().contains("HTTP 503"), "{e}");
    }
}
