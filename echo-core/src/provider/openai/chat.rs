//! The Chat Completions wire format (`POST {base}/chat/completions`), shared by [`OpenAi`]
//! and [`OpenAiCompatible`]: OpenAI's documented shape, read leniently so the servers that
//! imitate it (Ollama, vLLM, LM Studio, OpenRouter...) parse too.
//!
//! [`OpenAi`]: super::OpenAi
//! [`OpenAiCompatible`]: crate::provider::OpenAiCompatible

use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{citations, errors, wire};
use crate::provider::http::{HttpReply, rate_limit_info};
use crate::provider::{ChatRequest, ChatResponse, FinishReason, LlmError, Usage};

/// How the output-token cap is spelled on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MaxTokensField {
    /// OpenAI's current name; the only one reasoning models (o-series, gpt-5) accept.
    MaxCompletionTokens,
    /// The deprecated name, the one imitating servers (Ollama, vLLM, LM Studio) document.
    MaxTokens,
}

#[derive(Serialize)]
struct Body<'a> {
    model: &'a str,
    messages: Vec<WireMessage<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_completion_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    seed: Option<u64>,
    /// `{}` turns on the search of the `*-search-preview` / `*-search-api` models with
    /// their default settings; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    web_search_options: Option<serde_json::Map<String, Value>>,
}

#[derive(Serialize)]
struct WireMessage<'a> {
    role: &'static str,
    content: &'a str,
}

/// The JSON body for `request`.
pub(crate) fn request_body(request: &ChatRequest, max_tokens: MaxTokensField) -> Result<Value, LlmError> {
    let cap = request.max_output_tokens;
    let body = Body {
        model: &request.model,
        messages: request
            .messages
            .iter()
            .map(|m| WireMessage {
                role: wire::role_name(m.role),
                content: &m.content,
            })
            .collect(),
        temperature: request.temperature.map(wire::temperature),
        max_completion_tokens: cap.filter(|_| max_tokens == MaxTokensField::MaxCompletionTokens),
        max_tokens: cap.filter(|_| max_tokens == MaxTokensField::MaxTokens),
        seed: request.seed.map(wire::seed),
        web_search_options: request.web_search.then(serde_json::Map::new),
    };
    serde_json::to_value(body).map_err(|e| LlmError::InvalidRequest(format!("could not encode the request: {e}")))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Completion {
    #[serde(deserialize_with = "wire::text")]
    id: Option<String>,
    #[serde(deserialize_with = "wire::text")]
    model: Option<String>,
    choices: Option<Vec<Choice>>,
    usage: Option<WireUsage>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Choice {
    message: Option<ChoiceMessage>,
    #[serde(deserialize_with = "wire::text")]
    finish_reason: Option<String>,
    /// OpenRouter reports a provider failure mid-generation here.
    error: Option<Value>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ChoiceMessage {
    /// A string, null, or (some servers) an array of `{type: "text", text}` parts.
    content: Option<Value>,
    #[serde(deserialize_with = "wire::text")]
    refusal: Option<String>,
    annotations: Option<Vec<Value>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct WireUsage {
    #[serde(deserialize_with = "wire::count")]
    prompt_tokens: Option<u64>,
    #[serde(deserialize_with = "wire::count")]
    completion_tokens: Option<u64>,
    prompt_tokens_details: Option<PromptDetails>,
    completion_tokens_details: Option<CompletionDetails>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PromptDetails {
    #[serde(deserialize_with = "wire::count")]
    cached_tokens: Option<u64>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CompletionDetails {
    #[serde(deserialize_with = "wire::count")]
    reasoning_tokens: Option<u64>,
}

/// Reads a 2xx reply into a [`ChatResponse`].
///
/// A 200 can still be a failure: an `error` object in the body (OpenRouter, vLLM) is
/// classified like an error status, a `refusal` or `finish_reason: "content_filter"` is
/// [`LlmError::ContentFiltered`], and a body without choices is a [`LlmError::Decode`].
/// Null or absent `content` is an empty answer.
pub(crate) fn parse_reply(reply: &HttpReply) -> Result<ChatResponse, LlmError> {
    let raw: Value = reply.json()?;
    if let Some(error) = errors::embedded(&raw) {
        return Err(errors::classify_embedded(error, &reply.headers));
    }
    let completion = Completion::deserialize(&raw)
        .map_err(|e| errors::decode(reply, format!("the chat completion has an unexpected shape: {e}")))?;
    let choice = completion.choices.unwrap_or_default().into_iter().next().ok_or_else(|| {
        errors::decode(
            reply,
            "the chat completion has no choices (empty or missing `choices`); check that the server serves this model",
        )
    })?;
    if let Some(error) = choice.error.as_ref().and_then(errors::described) {
        return Err(errors::classify_embedded(error, &reply.headers));
    }
    let message = choice.message.unwrap_or_default();
    if let Some(refusal) = message.refusal {
        return Err(LlmError::ContentFiltered(format!(
            "the model refused to answer: {refusal}"
        )));
    }
    let finish_reason = choice.finish_reason.as_deref().map(finish_reason);
    if finish_reason == Some(FinishReason::ContentFilter) {
        return Err(LlmError::ContentFiltered(
            "the provider's content filter stopped the answer (finish_reason content_filter)".into(),
        ));
    }
    let text = content_text(message.content.as_ref());
    let citations = citations::from_chat_annotations(&text, message.annotations.as_deref().unwrap_or_default());
    let usage = completion.usage.map(usage).unwrap_or_default();
    Ok(ChatResponse {
        text,
        citations,
        usage,
        served_model: completion.model,
        request_id: wire::request_id(&reply.headers, completion.id),
        finish_reason,
        rate_limit: rate_limit_info(&reply.headers, Utc::now()),
        raw: Some(raw),
        latency: reply.latency,
    })
}

fn usage(u: WireUsage) -> Usage {
    Usage {
        input_tokens: u.prompt_tokens,
        output_tokens: u.completion_tokens,
        cached_input_tokens: u.prompt_tokens_details.and_then(|d| d.cached_tokens),
        reasoning_tokens: u.completion_tokens_details.and_then(|d| d.reasoning_tokens),
    }
}

/// `finish_reason` as a [`FinishReason`] (`function_call` is the legacy spelling of
/// `tool_calls`).
fn finish_reason(raw: &str) -> FinishReason {
    match raw {
        "stop" => FinishReason::Stop,
        "length" => FinishReason::Length,
        "content_filter" => FinishReason::ContentFilter,
        "tool_calls" | "function_call" => FinishReason::ToolUse,
        other => FinishReason::Other(other.to_string()),
    }
}

/// The answer text: a string, or the text parts of an array joined, else empty.
fn content_text(content: Option<&Value>) -> String {
    match content {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|p| p.as_str().or_else(|| p.get("text").and_then(Value::as_str)))
            .collect(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn max_tokens_spelling() {
        let mut request = ChatRequest::new("m", "q");
        request.max_output_tokens = Some(100);
        let body = request_body(&request, MaxTokensField::MaxCompletionTokens).unwrap();
        assert_eq!(body["max_completion_tokens"], 100);
        assert!(body.get("max_tokens").is_none());
        let body = request_body(&request, MaxTokensField::MaxTokens).unwrap();
        assert_eq!(body["max_tokens"], 100);
        assert!(body.get("max_completion_tokens").is_none());
    }

    #[test]
    fn content_forms() {
        assert_eq!(content_text(Some(&json!("hi"))), "hi");
        assert_eq!(content_text(Some(&json!(null))), "");
        assert_eq!(content_text(None), "");
        assert_eq!(
            content_text(Some(&json!([{"type": "text", "text": "a"}, {"type": "image"}, "b"]))),
            "ab"
        );
    }

    #[test]
    fn finish_reasons() {
        assert_eq!(finish_reason("stop"), FinishReason::Stop);
        assert_eq!(finish_reason("length"), FinishReason::Length);
        assert_eq!(finish_reason("tool_calls"), FinishReason::ToolUse);
        assert_eq!(finish_reason("eos"), FinishReason::Other("eos".into()));
    }
}
