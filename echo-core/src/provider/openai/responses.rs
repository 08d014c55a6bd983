//! The Responses API wire format (`POST {base}/responses`).
//!
//! The answer is spread over an `output` array of items: `message` items carry
//! `output_text` parts (text plus `url_citation` annotations) or `refusal` parts; other
//! items (`web_search_call`, `reasoning`, ...) describe the work done and are kept only in
//! the raw body.

use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{citations, errors, wire};
use crate::model::Citation;
use crate::provider::http::{HttpReply, rate_limit_info};
use crate::provider::{ChatRequest, ChatResponse, FinishReason, LlmError, Role, Usage};

/// The hosted tool sent when [`ChatRequest::web_search`] is set: `web_search`, the
/// generally available search tool OpenAI recommends for new Responses integrations
/// (`web_search_preview` is its older preview name). Its answers cite sources with
/// `url_citation` annotations.
pub const RESPONSES_WEB_SEARCH_TOOL: &str = "web_search";

#[derive(Serialize)]
struct Body<'a> {
    model: &'a str,
    /// The system messages, joined: the Responses API's place for them.
    #[serde(skip_serializing_if = "Option::is_none")]
    instructions: Option<String>,
    input: Input<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_output_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<Tool>,
    /// Echo keeps every answer itself; `false` stops OpenAI from also storing the
    /// response for later retrieval (its default is to keep it for 30 days).
    store: bool,
}

/// A lone user question goes as a plain string; a conversation as role/content messages.
#[derive(Serialize)]
#[serde(untagged)]
enum Input<'a> {
    Text(&'a str),
    Messages(Vec<InputMessage<'a>>),
}

#[derive(Serialize)]
struct InputMessage<'a> {
    role: &'static str,
    content: &'a str,
}

#[derive(Serialize)]
struct Tool {
    #[serde(rename = "type")]
    kind: &'static str,
}

/// The JSON body for `request`. The Responses API has no `seed` parameter, so the
/// sample seed is not sent.
pub(crate) fn request_body(request: &ChatRequest) -> Result<Value, LlmError> {
    let system: Vec<&str> = request
        .messages
        .iter()
        .filter(|m| m.role == Role::System)
        .map(|m| m.content.as_str())
        .collect();
    let turns: Vec<_> = request.messages.iter().filter(|m| m.role != Role::System).collect();
    let input = match turns.as_slice() {
        [only] if only.role == Role::User => Input::Text(&only.content),
        _ => Input::Messages(
            turns
                .iter()
                .map(|m| InputMessage {
                    role: wire::role_name(m.role),
                    content: &m.content,
                })
                .collect(),
        ),
    };
    let body = Body {
        model: &request.model,
        instructions: (!system.is_empty()).then(|| system.join("\n\n")),
        input,
        max_output_tokens: request.max_output_tokens,
        temperature: request.temperature.map(wire::temperature),
        tools: if request.web_search {
            vec![Tool {
                kind: RESPONSES_WEB_SEARCH_TOOL,
            }]
        } else {
            Vec::new()
        },
        store: false,
    };
    serde_json::to_value(body).map_err(|e| LlmError::InvalidRequest(format!("could not encode the request: {e}")))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ResponseObject {
    #[serde(deserialize_with = "wire::text")]
    id: Option<String>,
    #[serde(deserialize_with = "wire::text")]
    model: Option<String>,
    #[serde(deserialize_with = "wire::text")]
    status: Option<String>,
    incomplete_details: Option<IncompleteDetails>,
    /// Items are read one by one from raw values, so an unknown item type never fails
    /// the answer.
    output: Option<Vec<Value>>,
    usage: Option<WireUsage>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct IncompleteDetails {
    #[serde(deserialize_with = "wire::text")]
    reason: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct MessageItem {
    content: Option<Vec<ContentPart>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ContentPart {
    #[serde(rename = "type", deserialize_with = "wire::text")]
    kind: Option<String>,
    text: Option<String>,
    #[serde(deserialize_with = "wire::text")]
    refusal: Option<String>,
    annotations: Option<Vec<Value>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct WireUsage {
    #[serde(deserialize_with = "wire::count")]
    input_tokens: Option<u64>,
    #[serde(deserialize_with = "wire::count")]
    output_tokens: Option<u64>,
    input_tokens_details: Option<InputDetails>,
    output_tokens_details: Option<OutputDetails>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct InputDetails {
    #[serde(deserialize_with = "wire::count")]
    cached_tokens: Option<u64>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct OutputDetails {
    #[serde(deserialize_with = "wire::count")]
    reasoning_tokens: Option<u64>,
}

/// Reads a 2xx reply into a [`ChatResponse`].
///
/// `status: "failed"` with an `error` is classified like an error status;
/// `status: "incomplete"` is [`FinishReason::Length`] when the output cap was hit and
/// [`LlmError::ContentFiltered`] when the content filter stopped it; an answer made only of
/// a refusal is [`LlmError::ContentFiltered`].
pub(crate) fn parse_reply(reply: &HttpReply) -> Result<ChatResponse, LlmError> {
    let raw: Value = reply.json()?;
    if let Some(error) = errors::embedded(&raw) {
        return Err(errors::classify_embedded(error, &reply.headers));
    }
    let response = ResponseObject::deserialize(&raw)
        .map_err(|e| errors::decode(reply, format!("the response object has an unexpected shape: {e}")))?;
    let reason = response.incomplete_details.and_then(|d| d.reason);
    let finish_reason = match (response.status.as_deref(), reason.as_deref()) {
        (Some("failed"), _) => {
            return Err(LlmError::Server {
                status: None,
                retry_after: None,
                message: "the response failed without saying why (status \"failed\", no error)".into(),
            });
        }
        (Some("incomplete"), Some("content_filter")) => {
            return Err(LlmError::ContentFiltered(
                "the provider's content filter stopped the answer (incomplete: content_filter)".into(),
            ));
        }
        (Some("incomplete"), Some("max_output_tokens")) => Some(FinishReason::Length),
        (Some("incomplete"), Some(other)) => Some(FinishReason::Other(other.to_string())),
        (Some("completed"), _) => Some(FinishReason::Stop),
        (Some(other), _) => Some(FinishReason::Other(other.to_string())),
        (None, _) => None,
    };

    let mut text = String::new();
    let mut cited: Vec<Citation> = Vec::new();
    let mut refusal: Option<String> = None;
    for item in response.output.iter().flatten() {
        if item.get("type").and_then(Value::as_str) != Some("message") {
            continue;
        }
        let message = MessageItem::deserialize(item)
            .map_err(|e| errors::decode(reply, format!("a message output item has an unexpected shape: {e}")))?;
        for part in message.content.into_iter().flatten() {
            match part.kind.as_deref() {
                Some("output_text") => {
                    let part_text = part.text.unwrap_or_default();
                    cited.extend(citations::from_response_annotations(
                        &part_text,
                        part.annotations.as_deref().unwrap_or_default(),
                    ));
                    text.push_str(&part_text);
                }
                Some("refusal") => refusal = refusal.or(part.refusal),
                _ => {}
            }
        }
    }
    if let (true, Some(refusal)) = (text.is_empty(), refusal) {
        return Err(LlmError::ContentFiltered(format!(
            "the model refused to answer: {refusal}"
        )));
    }

    Ok(ChatResponse {
        text,
        citations: cited,
        usage: response.usage.map(usage).unwrap_or_default(),
        served_model: response.model,
        request_id: wire::request_id(&reply.headers, response.id),
        finish_reason,
        rate_limit: rate_limit_info(&reply.headers, Utc::now()),
        raw: Some(raw),
        latency: reply.latency,
    })
}

fn usage(u: WireUsage) -> Usage {
    Usage {
        input_tokens: u.input_tokens,
        output_tokens: u.output_tokens,
        cached_input_tokens: u.input_tokens_details.and_then(|d| d.cached_tokens),
        reasoning_tokens: u.output_tokens_details.and_then(|d| d.reasoning_tokens),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::Message;

    #[test]
    fn a_lone_question_is_a_string_input() {
        let mut request = ChatRequest::new("gpt-4.1", "Best CRM?");
        request.messages.insert(0, Message::system("Be brief."));
        let body = request_body(&request).unwrap();
        assert_eq!(body["input"], "Best CRM?");
        assert_eq!(body["instructions"], "Be brief.");
        assert_eq!(body["store"], false);
        assert!(body.get("tools").is_none());
        assert!(body.get("seed").is_none());
    }

    #[test]
    fn a_conversation_is_a_message_list() {
        let mut request = ChatRequest::new("gpt-4.1", "And for 50 people?");
        request.messages.insert(0, Message::user("Best CRM?"));
        request.messages.insert(
            1,
            Message {
                role: Role::Assistant,
                content: "HubSpot.".into(),
            },
        );
        let body = request_body(&request).unwrap();
        assert_eq!(body["input"][1]["role"], "assistant");
        assert_eq!(body["input"][2]["content"], "And for 50 people?");
        assert!(body.get("instructions").is_none());
    }
}
