//! OpenAI-style error bodies, turned into [`LlmError`]s.
//!
//! OpenAI answers errors as `{"error": {"message", "type", "param", "code"}}`. Servers that
//! imitate it drift: vLLM puts the fields at the top level (`{"object": "error", "message",
//! "type", "code": 400}`), Ollama's native endpoints send `{"error": "text"}`, OpenRouter
//! sends a numeric `code` (the HTTP status it means) and sometimes an error object inside a
//! 200. All of these are read here into an [`ErrorBody`] for [`classify_status`].

use chrono::Utc;
use reqwest::header::HeaderMap;
use serde_json::{Map, Value};

use crate::provider::LlmError;
use crate::provider::http::{ErrorBody, HttpReply, bounded_text, classify_status};

/// The error of a non-2xx reply.
pub(crate) fn from_status(reply: &HttpReply) -> LlmError {
    let body = serde_json::from_slice::<Value>(&reply.body)
        .ok()
        .and_then(|v| embedded(&v).or_else(|| top_level_message(&v)))
        .map(|e| e.body)
        .unwrap_or_else(|| ErrorBody {
            message: bounded_text(&reply.body),
            ..ErrorBody::default()
        });
    classify(reply.status, body, &reply.headers)
}

/// [`classify_status`], plus HTTP 402 (Payment Required): OpenRouter and other gateways
/// answer it when the account is out of credit, which must not be retried.
fn classify(status: u16, body: ErrorBody, headers: &HeaderMap) -> LlmError {
    if status == 402 {
        let message = if body.message.is_empty() {
            "HTTP 402 Payment Required".to_string()
        } else {
            body.message
        };
        return LlmError::QuotaExhausted(message);
    }
    classify_status(status, &body, headers, Utc::now())
}

/// An error described by a JSON body, with the HTTP status its `code` names when numeric.
pub(crate) struct WireError {
    pub body: ErrorBody,
    pub status_hint: Option<u16>,
}

/// The error a successful-looking body carries: a non-null `error` member, or vLLM's
/// `"object": "error"` shape. `None` for a normal answer.
pub(crate) fn embedded(value: &Value) -> Option<WireError> {
    if let Some(error) = value.get("error").and_then(described) {
        return Some(error);
    }
    if value.get("object").and_then(Value::as_str) == Some("error") {
        return value.as_object().map(from_fields);
    }
    None
}

/// The error an `error` member describes: an object with message/type/code, or a bare
/// message string. `None` for null, empty or other values.
pub(crate) fn described(error: &Value) -> Option<WireError> {
    match error {
        Value::Object(fields) => Some(from_fields(fields)),
        Value::String(message) if !message.trim().is_empty() => Some(WireError {
            body: ErrorBody {
                message: bound(message),
                ..ErrorBody::default()
            },
            status_hint: None,
        }),
        _ => None,
    }
}

/// A `Decode` error about a 2xx reply, keeping a bounded copy of its body.
pub(crate) fn decode(reply: &HttpReply, message: impl Into<String>) -> LlmError {
    LlmError::Decode {
        message: message.into(),
        body: bounded_text(&reply.body),
    }
}

/// Classifies an error found inside a 2xx body. The status comes from a numeric `code`
/// (OpenRouter) or is inferred from the code's wording (OpenAI Responses `server_error`,
/// `rate_limit_exceeded`, ...), so a retryable upstream failure is retried and a bad
/// prompt is not.
pub(crate) fn classify_embedded(error: WireError, headers: &HeaderMap) -> LlmError {
    let status = error
        .status_hint
        .filter(|s| (400..600).contains(s))
        .unwrap_or_else(|| inferred_status(&error.body));
    let body = ErrorBody {
        message: format!("{} (reported inside a successful HTTP response)", error.body.message),
        ..error.body
    };
    classify(status, body, headers)
}

fn inferred_status(body: &ErrorBody) -> u16 {
    let words = format!(
        "{} {}",
        body.code.as_deref().unwrap_or(""),
        body.kind.as_deref().unwrap_or("")
    )
    .to_ascii_lowercase();
    if words.contains("rate_limit") || words.contains("rate limit") {
        429
    } else if ["server_error", "timeout", "overloaded", "unavailable", "internal"]
        .iter()
        .any(|w| words.contains(w))
    {
        500
    } else {
        400
    }
}

fn top_level_message(value: &Value) -> Option<WireError> {
    value.get("message").and_then(Value::as_str)?;
    value.as_object().map(from_fields)
}

fn from_fields(fields: &Map<String, Value>) -> WireError {
    let text = |name: &str| match fields.get(name) {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let code = text("code");
    let kind = text("type");
    let message = text("message")
        .map(|m| bound(&m))
        .or_else(|| code.clone())
        .or_else(|| kind.clone())
        .unwrap_or_default();
    let status_hint = fields
        .get("code")
        .and_then(Value::as_u64)
        .and_then(|c| u16::try_from(c).ok());
    WireError {
        body: ErrorBody { code, kind, message },
        status_hint,
    }
}

fn bound(message: &str) -> String {
    bounded_text(message.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn error_shapes() {
        let e = embedded(&json!({"error": {"message": "Rate limited", "code": 429, "metadata": {}}})).unwrap();
        assert_eq!(e.status_hint, Some(429));
        assert_eq!(e.body.code.as_deref(), Some("429"));
        let e = embedded(&json!({"object": "error", "message": "too long", "type": "BadRequestError", "code": 400}))
            .unwrap();
        assert_eq!(e.body.kind.as_deref(), Some("BadRequestError"));
        assert_eq!(e.body.message, "too long");
        let e = embedded(&json!({"error": "model not found"})).unwrap();
        assert_eq!(e.body.message, "model not found");
        assert!(embedded(&json!({"error": null, "choices": []})).is_none());
        let e = embedded(&json!({"error": {"code": "server_error"}})).unwrap();
        assert_eq!(e.body.message, "server_error");
    }

    #[test]
    fn embedded_status_is_inferred() {
        let classify = |v: Value| classify_embedded(embedded(&v).unwrap(), &HeaderMap::new()).class();
        assert_eq!(
            classify(json!({"error": {"code": "server_error", "message": "x"}})),
            "server"
        );
        assert_eq!(
            classify(json!({"error": {"code": "rate_limit_exceeded", "message": "x"}})),
            "rate_limited"
        );
        assert_eq!(
            classify(json!({"error": {"code": "invalid_prompt", "message": "x"}})),
            "invalid_request"
        );
        assert_eq!(
            classify(json!({"error": {"code": 502, "message": "upstream"}})),
            "server"
        );
        assert_eq!(
            classify(json!({"error": {"code": "image_content_policy_violation", "message": "x"}})),
            "content_filtered"
        );
    }
}
