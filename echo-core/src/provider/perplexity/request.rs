//! The chat completions request body built from a [`ChatRequest`].

use serde_json::{Map, Value, json};

use super::config::PerplexityConfig;
use crate::provider::{ChatRequest, LlmError, Role};

/// Builds the JSON body of `POST /chat/completions`.
///
/// - Messages are sent as they are (Perplexity accepts `system`, `user`, `assistant`).
/// - `temperature` and `max_tokens` only when set, so the API defaults apply otherwise.
/// - `web_search` is not sent: Sonar models search the web for every answer, so the flag
///   changes nothing here (the configured `search_context_size` tunes how much they read).
/// - The per-sample `seed` is not sent: the API has no seed parameter.
pub(super) fn body(config: &PerplexityConfig, request: &ChatRequest) -> Result<Value, LlmError> {
    if !request.messages.iter().any(|m| m.role == Role::User) {
        return Err(LlmError::InvalidRequest(
            "the request has no user message to send (chat completions need at least one)".into(),
        ));
    }
    let messages: Vec<Value> = request
        .messages
        .iter()
        .map(|m| {
            let role = match m.role {
                Role::System => "system",
                Role::User => "user",
                Role::Assistant => "assistant",
            };
            json!({"role": role, "content": m.content})
        })
        .collect();

    let mut body = Map::new();
    body.insert("model".into(), Value::String(request.model.clone()));
    body.insert("messages".into(), Value::Array(messages));
    if let Some(t) = request.temperature {
        // Widened without f32 noise: 0.7 is sent as 0.7, not 0.699999988.
        body.insert("temperature".into(), json!((f64::from(t) * 1e6).round() / 1e6));
    }
    if let Some(max) = request.max_output_tokens {
        body.insert("max_tokens".into(), Value::from(max));
    }
    if let Some(size) = config.search_context_size {
        body.insert(
            "web_search_options".into(),
            json!({"search_context_size": size.as_str()}),
        );
    }
    Ok(Value::Object(body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::Message;
    use crate::provider::http::ApiKey;
    use crate::provider::perplexity::SearchContextSize;

    fn config() -> PerplexityConfig {
        PerplexityConfig::new(ApiKey::new("k", "api_key").unwrap())
    }

    #[test]
    fn minimal_and_full_bodies() {
        let mut request = ChatRequest::new("sonar", "Best CRM?");
        assert_eq!(
            body(&config(), &request).unwrap(),
            json!({"model": "sonar", "messages": [{"role": "user", "content": "Best CRM?"}]})
        );
        request.messages.insert(0, Message::system("Be brief."));
        request.temperature = Some(0.7);
        request.max_output_tokens = Some(500);
        request.web_search = true;
        request.seed = Some(3);
        let mut config = config();
        config.search_context_size = Some(SearchContextSize::High);
        let body = body(&config, &request).unwrap();
        assert_eq!(body["messages"][0], json!({"role": "system", "content": "Be brief."}));
        assert_eq!(body["temperature"].to_string(), "0.7");
        assert_eq!(body["max_tokens"], 500);
        assert_eq!(body["web_search_options"], json!({"search_context_size": "high"}));
        assert!(body.get("seed").is_none() && body.get("tools").is_none());
    }

    #[test]
    fn a_request_without_a_user_message_is_refused() {
        let mut request = ChatRequest::new("sonar", "q");
        request.messages = vec![Message::system("s")];
        assert_eq!(body(&config(), &request).unwrap_err().class(), "invalid_request");
    }
}
