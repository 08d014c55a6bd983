//! The Messages API request body built from a [`ChatRequest`].

use serde_json::{Map, Value, json};

use super::config::AnthropicConfig;
use crate::provider::{ChatRequest, LlmError, Role};

/// Builds the JSON body of `POST /v1/messages`.
///
/// - System messages are joined (blank line between them) into the top-level `system`
///   string: the Messages API has no `system` role inside `messages`.
/// - `max_tokens` is required by the API: the request's own limit, else the configured
///   default.
/// - `temperature` is sent only when set (the API accepts 0.0–1.0 and rejects more with a
///   400, which is classified as an invalid request rather than silently clamped).
/// - The per-sample `seed` is not sent: the Messages API has no seed parameter.
/// - With `web_search`, the server-side web search tool is offered; Claude decides whether
///   to search, and the API runs the searches within this single call.
pub(super) fn body(config: &AnthropicConfig, request: &ChatRequest) -> Result<Value, LlmError> {
    let mut system = Vec::new();
    let mut messages = Vec::new();
    for message in &request.messages {
        match message.role {
            Role::System => system.push(message.content.as_str()),
            Role::User => messages.push(json!({"role": "user", "content": message.content})),
            Role::Assistant => messages.push(json!({"role": "assistant", "content": message.content})),
        }
    }
    if messages.is_empty() {
        return Err(LlmError::InvalidRequest(
            "the request has no user message to send (the Messages API needs at least one)".into(),
        ));
    }

    let mut body = Map::new();
    body.insert("model".into(), Value::String(request.model.clone()));
    body.insert(
        "max_tokens".into(),
        Value::from(request.max_output_tokens.unwrap_or(config.default_max_tokens)),
    );
    if !system.is_empty() {
        body.insert("system".into(), Value::String(system.join("\n\n")));
    }
    body.insert("messages".into(), Value::Array(messages));
    if let Some(t) = request.temperature {
        body.insert("temperature".into(), json!(widen(t)));
    }
    if request.web_search {
        let mut tool = Map::new();
        tool.insert("type".into(), Value::String(config.web_search_tool.clone()));
        tool.insert("name".into(), Value::String("web_search".into()));
        if let Some(max_uses) = config.web_search_max_uses {
            tool.insert("max_uses".into(), Value::from(max_uses));
        }
        body.insert("tools".into(), Value::Array(vec![Value::Object(tool)]));
    }
    Ok(Value::Object(body))
}

/// Widens an `f32` without exposing its binary noise: `0.7f32` is sent as `0.7`, not
/// `0.699999988079071` (six decimals is all an `f32` temperature carries).
pub(super) fn widen(t: f32) -> f64 {
    (f64::from(t) * 1e6).round() / 1e6
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::Message;
    use crate::provider::http::ApiKey;

    fn config() -> AnthropicConfig {
        AnthropicConfig::new(ApiKey::new("k", "api_key").unwrap())
    }

    #[test]
    fn minimal_body_has_the_required_fields_only() {
        let body = body(&config(), &ChatRequest::new("claude-x", "Best CRM?")).unwrap();
        assert_eq!(
            body,
            json!({"model": "claude-x", "max_tokens": 1024,
                   "messages": [{"role": "user", "content": "Best CRM?"}]})
        );
    }

    #[test]
    fn system_messages_are_lifted_and_tools_added() {
        let mut request = ChatRequest::new("claude-x", "Best CRM?");
        request.messages.insert(0, Message::system("Be brief."));
        request.messages.insert(1, Message::system("Answer in English."));
        request.temperature = Some(0.7);
        request.max_output_tokens = Some(300);
        request.web_search = true;
        request.seed = Some(7);
        let body = body(&config(), &request).unwrap();
        assert_eq!(body["system"], "Be brief.\n\nAnswer in English.");
        assert_eq!(body["max_tokens"], 300);
        assert_eq!(body["temperature"].to_string(), "0.7");
        assert_eq!(body["messages"].as_array().unwrap().len(), 1);
        assert_eq!(
            body["tools"],
            json!([{"type": "web_search_20250305", "name": "web_search", "max_uses": 5}])
        );
        assert!(body.get("seed").is_none());
    }

    #[test]
    fn uncapped_search_and_missing_user_message() {
        let mut config = config();
        config.web_search_max_uses = None;
        let mut request = ChatRequest::new("m", "q");
        request.web_search = true;
        assert_eq!(
            body(&config, &request).unwrap()["tools"],
            json!([{"type": "web_search_20250305", "name": "web_search"}])
        );
        request.messages = vec![Message::system("only a system prompt")];
        assert_eq!(body(&config, &request).unwrap_err().class(), "invalid_request");
    }
}
