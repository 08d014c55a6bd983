//! Classifying Perplexity error responses.
//!
//! Perplexity answers errors in OpenAI's shape, `{"error": {"message", "type", "code"}}`
//! (`code` is sometimes a number), or, from its request validation layer, FastAPI's
//! `{"detail": "..."}` / `{"detail": [{"loc": [...], "msg": "...", "type": "..."}]}`.
//! Gateways in front of it may answer with HTML. All of these become an [`ErrorBody`] for
//! the shared [`classify_status`] rules.

use serde::Deserialize;
use serde_json::Value;

use crate::provider::LlmError;
use crate::provider::http::{ErrorBody, HttpReply, bounded_text, classify_status};

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Envelope {
    error: Option<Value>,
    detail: Option<Value>,
}

/// Classifies a non-2xx reply.
pub(super) fn classify(reply: &HttpReply) -> LlmError {
    let error = error_body(&reply.body);
    // HTTP 402 Payment Required, or words for running out of credit that the shared rules
    // do not know: only adding credit fixes these, so they must not be retried.
    let message = error.message.to_ascii_lowercase();
    if reply.status == 402 || message.contains("insufficient credit") || message.contains("out of credits") {
        let message = if error.message.is_empty() {
            format!("HTTP {}", reply.status)
        } else {
            error.message
        };
        return LlmError::QuotaExhausted(message);
    }
    classify_status(reply.status, &error, &reply.headers, chrono::Utc::now())
}

fn error_body(body: &[u8]) -> ErrorBody {
    let fallback = || ErrorBody {
        message: bounded_text(body),
        ..ErrorBody::default()
    };
    let Ok(envelope) = serde_json::from_slice::<Envelope>(body) else {
        return fallback();
    };
    match (envelope.error, envelope.detail) {
        (Some(Value::Object(e)), _) => ErrorBody {
            code: e.get("code").and_then(scalar_text),
            kind: e.get("type").and_then(scalar_text),
            message: e.get("message").and_then(scalar_text).unwrap_or_default(),
        },
        (Some(Value::String(message)), _) => ErrorBody {
            message,
            ..ErrorBody::default()
        },
        (_, Some(Value::String(message))) => ErrorBody {
            message,
            ..ErrorBody::default()
        },
        (_, Some(Value::Array(items))) => ErrorBody {
            message: items.iter().map(validation_item).collect::<Vec<_>>().join("; "),
            ..ErrorBody::default()
        },
        _ => fallback(),
    }
}

/// A string as is, a number or boolean as text; `None` for null or structures.
fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// `{"loc": ["body", "messages"], "msg": "field required"}` → `body.messages: field required`.
fn validation_item(item: &Value) -> String {
    let msg = item
        .get("msg")
        .and_then(scalar_text)
        .unwrap_or_else(|| item.to_string());
    let loc: Vec<String> = item
        .get("loc")
        .and_then(Value::as_array)
        .map(|parts| parts.iter().filter_map(scalar_text).collect())
        .unwrap_or_default();
    if loc.is_empty() {
        msg
    } else {
        format!("{}: {msg}", loc.join("."))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(v: Value) -> Vec<u8> {
        serde_json::to_vec(&v).unwrap()
    }

    #[test]
    fn error_shapes() {
        let e = error_body(&body(
            json!({"error": {"message": "Invalid model", "type": "invalid_model", "code": 400}}),
        ));
        assert_eq!(e.code.as_deref(), Some("400"));
        assert_eq!(e.kind.as_deref(), Some("invalid_model"));
        assert_eq!(e.message, "Invalid model");
        let e = error_body(&body(json!({"detail": "Not authenticated"})));
        assert_eq!(e.message, "Not authenticated");
        let e = error_body(&body(json!({"detail": [
            {"loc": ["body", "messages", 0], "msg": "field required", "type": "missing"},
            {"msg": "bad temperature"}
        ]})));
        assert_eq!(e.message, "body.messages.0: field required; bad temperature");
        let e = error_body(b"<html><body>401 Authorization Required</body></html>");
        assert!(e.message.contains("401 Authorization Required"));
        assert!(e.code.is_none() && e.kind.is_none());
        let e = error_body(&body(json!({"unexpected": true})));
        assert_eq!(e.message, r#"{"unexpected":true}"#);
    }
}
