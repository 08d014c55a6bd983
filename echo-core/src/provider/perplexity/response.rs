//! Reading a Perplexity chat completion into a [`ChatResponse`].
//!
//! The body is OpenAI's chat completion plus Perplexity's own top-level fields:
//! `citations` (a list of URLs) and `search_results` (`{title, url, date, last_updated,
//! snippet, source}`). Wire types are lenient: absent, null and unknown fields parse.

use std::collections::HashSet;

use serde::Deserialize;

use crate::model::Citation;
use crate::provider::http::{HttpReply, bounded_text, rate_limit_info};
use crate::provider::{ChatResponse, FinishReason, LlmError, Usage};

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CompletionBody {
    id: Option<String>,
    model: Option<String>,
    choices: Option<Vec<Choice>>,
    /// Items are URLs; anything else is skipped.
    citations: Option<Vec<serde_json::Value>>,
    search_results: Option<Vec<SearchResult>>,
    usage: Option<WireUsage>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Choice {
    finish_reason: Option<String>,
    message: Option<WireMessage>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WireMessage {
    content: Option<Content>,
}

/// A string, or a list of chunks of which the `text` ones carry the answer.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Content {
    Text(String),
    Parts(Vec<Part>),
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Part {
    #[serde(rename = "type")]
    kind: Option<String>,
    text: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct SearchResult {
    url: Option<String>,
    title: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WireUsage {
    prompt_tokens: Option<u64>,
    completion_tokens: Option<u64>,
    reasoning_tokens: Option<u64>,
    // `citation_tokens`, `num_search_queries`, `search_context_size` and `cost` have no
    // place in `Usage`; they stay in `ChatResponse::raw`.
}

/// Turns a 2xx reply into a response, or `ContentFiltered` when the finish reason says the
/// answer was filtered.
///
/// Text: the first choice's content, without the leading `<think>…</think>` section the
/// Sonar reasoning models put before the answer (the reasoning names brands the answer may
/// not, and would skew mention counts; `raw` keeps it). If the reasoning never closed
/// (the output was cut off), no answer was produced and the text is empty.
///
/// Citations: `search_results` in order (they carry titles), then any `citations` URL not
/// already listed, deduplicated by URL. `cited_text` is `None`: Perplexity does not say
/// which span of the answer a source supports (a search result's `snippet` is text from the
/// page, not from the answer).
pub(super) fn parse(reply: &HttpReply) -> Result<ChatResponse, LlmError> {
    let raw: serde_json::Value = reply.json()?;
    let body: CompletionBody = serde_json::from_value(raw.clone()).map_err(|e| LlmError::Decode {
        message: format!("unexpected chat completion shape: {e}"),
        body: bounded_text(&reply.body),
    })?;
    let Some(choice) = body.choices.and_then(|c| c.into_iter().next()) else {
        return Err(LlmError::Decode {
            message: "the chat completion has no choices".into(),
            body: bounded_text(&reply.body),
        });
    };

    let finish_reason = choice.finish_reason.as_deref().and_then(finish_reason);
    if finish_reason == Some(FinishReason::ContentFilter) {
        return Err(LlmError::ContentFiltered(
            "Perplexity stopped the answer (finish_reason content_filter)".into(),
        ));
    }
    let text = match choice.message.and_then(|m| m.content) {
        Some(Content::Text(text)) => text,
        Some(Content::Parts(parts)) => parts
            .into_iter()
            .filter(|p| p.kind.as_deref().is_none_or(|k| k == "text"))
            .filter_map(|p| p.text)
            .collect(),
        None => String::new(),
    };

    let mut seen = HashSet::new();
    let mut citations = Vec::new();
    let from_results = body
        .search_results
        .unwrap_or_default()
        .into_iter()
        .filter_map(|r| r.url.map(|url| (url, r.title)));
    let from_urls = body
        .citations
        .unwrap_or_default()
        .into_iter()
        .filter_map(|v| v.as_str().map(|url| (url.to_string(), None)));
    for (url, title) in from_results.chain(from_urls) {
        let url = url.trim().to_string();
        if !url.is_empty() && seen.insert(url.clone()) {
            citations.push(Citation::from_url(url, title.filter(|t| !t.trim().is_empty())));
        }
    }

    let usage = body.usage.unwrap_or_default();
    Ok(ChatResponse {
        text: strip_reasoning(&text),
        citations,
        usage: Usage {
            input_tokens: usage.prompt_tokens,
            output_tokens: usage.completion_tokens,
            cached_input_tokens: None,
            reasoning_tokens: usage.reasoning_tokens,
        },
        served_model: body.model.filter(|m| !m.is_empty()),
        request_id: body.id.filter(|id| !id.is_empty()),
        finish_reason,
        rate_limit: rate_limit_info(&reply.headers, chrono::Utc::now()),
        raw: Some(raw),
        latency: reply.latency,
    })
}

/// OpenAI-style finish reasons; an empty string is "not reported".
fn finish_reason(raw: &str) -> Option<FinishReason> {
    Some(match raw {
        "" => return None,
        "stop" => FinishReason::Stop,
        "length" => FinishReason::Length,
        "content_filter" => FinishReason::ContentFilter,
        "tool_calls" | "function_call" => FinishReason::ToolUse,
        other => FinishReason::Other(other.to_string()),
    })
}

/// Drops a leading `<think>…</think>` section (see [`parse`]).
fn strip_reasoning(text: &str) -> String {
    let trimmed = text.trim_start();
    let Some(rest) = trimmed.strip_prefix("<think>") else {
        return text.to_string();
    };
    match rest.find("</think>") {
        Some(end) => rest[end + "</think>".len()..].trim_start().to_string(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasoning_sections_are_dropped() {
        assert_eq!(
            strip_reasoning("<think>\nHubSpot? Zoho?\n</think>\n\nUse Pipedrive."),
            "Use Pipedrive."
        );
        assert_eq!(strip_reasoning("  <think>cut off"), "");
        assert_eq!(
            strip_reasoning("Plain answer <think> inside"),
            "Plain answer <think> inside"
        );
    }

    #[test]
    fn finish_reasons() {
        assert_eq!(finish_reason("stop"), Some(FinishReason::Stop));
        assert_eq!(finish_reason("length"), Some(FinishReason::Length));
        assert_eq!(finish_reason(""), None);
        assert_eq!(finish_reason("tool_calls"), Some(FinishReason::ToolUse));
        assert_eq!(finish_reason("weird"), Some(FinishReason::Other("weird".into())));
    }
}
