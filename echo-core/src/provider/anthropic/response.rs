//! Reading a Messages API response into a [`ChatResponse`].
//!
//! The wire types are private and lenient: every field is optional or defaulted and
//! unknown fields and unknown content-block types are ignored, so additions to the API do
//! not break parsing. The raw body is kept on the response for later re-analysis.

use std::collections::HashSet;

use serde::Deserialize;

use crate::model::Citation;
use crate::provider::http::HttpReply;
use crate::provider::{ChatResponse, FinishReason, LlmError, Usage};

/// `POST /v1/messages` success body.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct MessageBody {
    id: Option<String>,
    model: Option<String>,
    /// Required by the API; `None` means the body is not a message at all.
    content: Option<Vec<Block>>,
    stop_reason: Option<String>,
    stop_details: Option<StopDetails>,
    usage: Option<WireUsage>,
}

/// One content block. Only `text` blocks carry answer text; the others are recognised so
/// their position can separate text runs, and anything new falls into `Other`.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Block {
    Text {
        #[serde(default)]
        text: Option<String>,
        #[serde(default)]
        citations: Option<Vec<WireCitation>>,
    },
    /// Claude's search query (`input.query`); kept in `raw` only.
    ServerToolUse,
    /// The search results, or `{type: web_search_tool_result_error, error_code}` when the
    /// search failed (the call itself still succeeds).
    WebSearchToolResult {
        #[serde(default)]
        content: Option<serde_json::Value>,
    },
    /// Extended thinking is not part of the answer.
    Thinking,
    RedactedThinking,
    #[serde(other)]
    Other,
}

/// A citation on a text block. For web search it is a `web_search_result_location`
/// (`url`, `title`, `cited_text`, `encrypted_index`); document citations (`char_location`,
/// `page_location`, ...) have no URL and are skipped.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WireCitation {
    url: Option<String>,
    title: Option<String>,
    cited_text: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct StopDetails {
    category: Option<String>,
    explanation: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WireUsage {
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    cache_read_input_tokens: Option<u64>,
    // `cache_creation_input_tokens`, `cache_creation`, `server_tool_use.web_search_requests`
    // and `service_tier` have no place in `Usage`; they stay in `ChatResponse::raw`.
}

/// Turns a 2xx reply into a response, or `ContentFiltered` when Claude refused.
///
/// Text: the `text` blocks in order. Blocks that follow each other are joined as they are
/// (the API splits one sentence across blocks to attach citations); a run of text that
/// comes after a tool block (the answer after a web search) starts on a new paragraph, so
/// the pre-search remark ("I'll look that up.") does not run into the answer.
///
/// Citations: only the `web_search_result_location` citations attached to text, deduplicated
/// by URL in order of first appearance, keeping the first `cited_text` and title. Search
/// results Claude received but did not cite are not citations: they show what the search
/// returned, not what the answer relies on, and they remain in `raw`.
pub(super) fn parse(reply: &HttpReply, request_id_header: Option<String>) -> Result<ChatResponse, LlmError> {
    let raw: serde_json::Value = reply.json()?;
    let body: MessageBody = serde_json::from_value(raw.clone()).map_err(|e| LlmError::Decode {
        message: format!("unexpected Messages API response shape: {e}"),
        body: crate::provider::http::bounded_text(&reply.body),
    })?;
    let Some(blocks) = body.content else {
        return Err(LlmError::Decode {
            message: "the Messages API response has no `content` field".into(),
            body: crate::provider::http::bounded_text(&reply.body),
        });
    };

    if body.stop_reason.as_deref() == Some("refusal") {
        return Err(LlmError::ContentFiltered(refusal_message(body.stop_details.as_ref())));
    }

    let mut text = String::new();
    let mut after_tool = false;
    let mut citations = Vec::new();
    let mut seen = HashSet::new();
    for block in blocks {
        match block {
            Block::Text {
                text: block_text,
                citations: block_citations,
            } => {
                let block_text = block_text.unwrap_or_default();
                if after_tool && !text.is_empty() && !block_text.is_empty() {
                    text.push_str("\n\n");
                }
                if !block_text.is_empty() {
                    after_tool = false;
                }
                text.push_str(&block_text);
                for c in block_citations.unwrap_or_default() {
                    let Some(url) = c.url.filter(|u| !u.trim().is_empty()) else {
                        continue;
                    };
                    if seen.insert(url.clone()) {
                        let mut citation = Citation::from_url(url, c.title.filter(|t| !t.is_empty()));
                        citation.cited_text = c.cited_text.filter(|t| !t.is_empty());
                        citations.push(citation);
                    }
                }
            }
            Block::ServerToolUse => after_tool = true,
            Block::WebSearchToolResult { content } => {
                after_tool = true;
                if let Some(code) = content
                    .as_ref()
                    .and_then(|c| c.get("error_code"))
                    .and_then(|c| c.as_str())
                {
                    tracing::debug!(error_code = code, "Anthropic web search returned an error result");
                }
            }
            Block::Thinking | Block::RedactedThinking | Block::Other => {}
        }
    }

    let usage = body.usage.unwrap_or_default();
    Ok(ChatResponse {
        text,
        citations,
        usage: Usage {
            input_tokens: usage.input_tokens,
            output_tokens: usage.output_tokens,
            cached_input_tokens: usage.cache_read_input_tokens,
            reasoning_tokens: None,
        },
        served_model: body.model.filter(|m| !m.is_empty()),
        request_id: request_id_header.or(body.id.filter(|id| !id.is_empty())),
        finish_reason: body.stop_reason.as_deref().map(finish_reason),
        rate_limit: crate::provider::http::rate_limit_info(&reply.headers, chrono::Utc::now()),
        raw: Some(raw),
        latency: reply.latency,
    })
}

/// Maps `stop_reason`. `model_context_window_exceeded` (the answer filled the context
/// window) is a truncation like `max_tokens`; `pause_turn` (a long server-tool turn the API
/// paused) is kept as `Other` because the answer may be incomplete in a different way.
fn finish_reason(stop_reason: &str) -> FinishReason {
    match stop_reason {
        "end_turn" | "stop_sequence" => FinishReason::Stop,
        "max_tokens" | "model_context_window_exceeded" => FinishReason::Length,
        "tool_use" => FinishReason::ToolUse,
        other => FinishReason::Other(other.to_string()),
    }
}

fn refusal_message(details: Option<&StopDetails>) -> String {
    let mut message = String::from("Claude declined to answer (stop_reason refusal)");
    if let Some(category) = details.and_then(|d| d.category.as_deref()) {
        message.push_str(&format!(", category {category}"));
    }
    if let Some(explanation) = details.and_then(|d| d.explanation.as_deref()) {
        message.push_str(": ");
        message.push_str(explanation);
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderMap;
    use serde_json::json;
    use std::time::Duration;

    fn reply(body: serde_json::Value) -> HttpReply {
        HttpReply {
            status: 200,
            headers: HeaderMap::new(),
            body: serde_json::to_vec(&body).unwrap(),
            latency: Duration::from_millis(5),
        }
    }

    #[test]
    fn text_runs_are_joined_and_separated_after_tools() {
        let r = parse(
            &reply(json!({"content": [
                {"type": "text", "text": "I'll search."},
                {"type": "server_tool_use", "id": "s", "name": "web_search", "input": {"query": "q"}},
                {"type": "web_search_tool_result", "tool_use_id": "s", "content": []},
                {"type": "text", "text": "Based on results, "},
                {"type": "text", "text": "HubSpot leads."}
            ]})),
            None,
        )
        .unwrap();
        assert_eq!(r.text, "I'll search.\n\nBased on results, HubSpot leads.");
    }

    #[test]
    fn finish_reasons() {
        assert_eq!(finish_reason("end_turn"), FinishReason::Stop);
        assert_eq!(finish_reason("stop_sequence"), FinishReason::Stop);
        assert_eq!(finish_reason("max_tokens"), FinishReason::Length);
        assert_eq!(finish_reason("model_context_window_exceeded"), FinishReason::Length);
        assert_eq!(finish_reason("tool_use"), FinishReason::ToolUse);
        assert_eq!(finish_reason("pause_turn"), FinishReason::Other("pause_turn".into()));
    }

    #[test]
    fn missing_content_is_a_decode_error() {
        let e = parse(&reply(json!({"id": "msg_1"})), None).unwrap_err();
        assert_eq!(e.class(), "decode");
        let e = parse(&reply(json!({"content": "text"})), None).unwrap_err();
        assert_eq!(e.class(), "decode");
    }
}
