//! Reading a successful `generateContent` reply into a [`ChatResponse`].
//!
//! Wire types are lenient: every field is optional, `null` reads as absent and unknown
//! fields are ignored, so additions to the API do not break parsing.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use crate::model::{Citation, domain_of};
use crate::provider::http::{HttpReply, bounded_text, rate_limit_info};
use crate::provider::{ChatResponse, FinishReason, LlmError, Usage};

/// Host of the redirect links Google Search grounding returns instead of source URLs.
pub(super) const GROUNDING_REDIRECT_HOST: &str = "vertexaisearch.cloud.google.com";

/// Finish reasons meaning the answer was withheld or cut for policy reasons.
const BLOCKED_FINISH_REASONS: [&str; 5] = ["SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII"];

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct GenerateContentResponse {
    candidates: Option<Vec<Candidate>>,
    prompt_feedback: Option<PromptFeedback>,
    usage_metadata: Option<UsageMetadata>,
    model_version: Option<String>,
    response_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Candidate {
    content: Option<Content>,
    finish_reason: Option<String>,
    finish_message: Option<String>,
    safety_ratings: Option<Vec<SafetyRating>>,
    grounding_metadata: Option<GroundingMetadata>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Content {
    parts: Option<Vec<Part>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Part {
    text: Option<String>,
    /// Set on thought summaries of thinking models; they are not part of the answer.
    thought: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct SafetyRating {
    category: Option<String>,
    blocked: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct PromptFeedback {
    block_reason: Option<String>,
    safety_ratings: Option<Vec<SafetyRating>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct UsageMetadata {
    prompt_token_count: Option<u64>,
    candidates_token_count: Option<u64>,
    thoughts_token_count: Option<u64>,
    cached_content_token_count: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct GroundingMetadata {
    grounding_chunks: Option<Vec<GroundingChunk>>,
    grounding_supports: Option<Vec<GroundingSupport>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct GroundingChunk {
    web: Option<WebChunk>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WebChunk {
    uri: Option<String>,
    title: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct GroundingSupport {
    segment: Option<Segment>,
    grounding_chunk_indices: Option<Vec<i64>>,
}

/// A span of the answer. Indices are byte offsets into `parts[part_index].text`; proto3
/// JSON omits zero values, so an absent `startIndex` or `partIndex` means 0.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Segment {
    part_index: Option<usize>,
    start_index: Option<usize>,
    end_index: Option<usize>,
    text: Option<String>,
}

/// Parses a 2xx reply. Blocked prompts and answers become [`LlmError::ContentFiltered`];
/// an answer with no text at all is a valid empty answer.
pub(super) fn parse(reply: &HttpReply, now: DateTime<Utc>) -> Result<ChatResponse, LlmError> {
    let raw: Value = reply.json()?;
    let decode_error = |message: String| LlmError::Decode {
        message,
        body: bounded_text(&reply.body),
    };
    if !raw.is_object() {
        return Err(decode_error(format!(
            "a generateContent response must be a JSON object (HTTP {})",
            reply.status
        )));
    }
    let wire: GenerateContentResponse = serde_json::from_value(raw.clone())
        .map_err(|e| decode_error(format!("unexpected shape of a generateContent response: {e}")))?;

    let candidate = wire.candidates.unwrap_or_default().into_iter().next();
    let candidate = match candidate {
        Some(candidate) => candidate,
        None => {
            if let Some(feedback) = &wire.prompt_feedback {
                if let Some(reason) = &feedback.block_reason {
                    return Err(LlmError::ContentFiltered(format!(
                        "Gemini blocked the prompt (blockReason {reason}){}",
                        blocked_categories(feedback.safety_ratings.as_deref())
                    )));
                }
            }
            Candidate::default()
        }
    };

    if let Some(reason) = candidate.finish_reason.as_deref() {
        if BLOCKED_FINISH_REASONS.contains(&reason) {
            let detail = candidate
                .finish_message
                .as_deref()
                .map(|m| format!(": {m}"))
                .unwrap_or_default();
            return Err(LlmError::ContentFiltered(format!(
                "Gemini withheld the answer (finishReason {reason}){}{detail}",
                blocked_categories(candidate.safety_ratings.as_deref())
            )));
        }
    }

    let parts = candidate.content.and_then(|c| c.parts).unwrap_or_default();
    let text: String = parts
        .iter()
        .filter(|p| p.thought != Some(true))
        .filter_map(|p| p.text.as_deref())
        .collect();
    let citations = candidate
        .grounding_metadata
        .map(|g| citations(g, &parts))
        .unwrap_or_default();

    let usage = wire
        .usage_metadata
        .map(|u| Usage {
            input_tokens: u.prompt_token_count,
            output_tokens: u.candidates_token_count,
            cached_input_tokens: u.cached_content_token_count,
            reasoning_tokens: u.thoughts_token_count,
        })
        .unwrap_or_default();

    let request_id = wire.response_id.filter(|id| !id.is_empty()).or_else(|| {
        reply
            .headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    });

    Ok(ChatResponse {
        text,
        citations,
        usage,
        served_model: wire.model_version.filter(|m| !m.is_empty()),
        request_id,
        finish_reason: candidate.finish_reason.map(finish_reason),
        rate_limit: rate_limit_info(&reply.headers, now),
        raw: Some(raw),
        latency: reply.latency,
    })
}

fn finish_reason(raw: String) -> FinishReason {
    match raw.as_str() {
        "STOP" => FinishReason::Stop,
        "MAX_TOKENS" => FinishReason::Length,
        _ => FinishReason::Other(raw),
    }
}

/// `"; blocked categories: A, B"` for safety ratings marked `blocked`, else empty.
fn blocked_categories(ratings: Option<&[SafetyRating]>) -> String {
    let blocked: Vec<&str> = ratings
        .unwrap_or_default()
        .iter()
        .filter(|r| r.blocked == Some(true))
        .filter_map(|r| r.category.as_deref())
        .collect();
    if blocked.is_empty() {
        String::new()
    } else {
        format!("; blocked categories: {}", blocked.join(", "))
    }
}

/// One citation per web grounding chunk, deduplicated by URL in order of first appearance.
/// `cited_text` is the first grounding support segment that references the chunk.
fn citations(grounding: GroundingMetadata, parts: &[Part]) -> Vec<Citation> {
    let mut citations: Vec<Citation> = Vec::new();
    let mut by_url: HashMap<String, usize> = HashMap::new();
    let mut chunk_to_citation: Vec<Option<usize>> = Vec::new();
    for chunk in grounding.grounding_chunks.unwrap_or_default() {
        let Some(web) = chunk.web else {
            chunk_to_citation.push(None);
            continue;
        };
        let Some(uri) = web.uri.filter(|u| !u.trim().is_empty()) else {
            chunk_to_citation.push(None);
            continue;
        };
        let index = *by_url.entry(uri.clone()).or_insert_with(|| {
            let title = web.title.filter(|t| !t.trim().is_empty());
            let domain = citation_domain(&uri, title.as_deref());
            citations.push(Citation {
                url: uri,
                domain,
                title,
                cited_text: None,
            });
            citations.len() - 1
        });
        chunk_to_citation.push(Some(index));
    }

    for support in grounding.grounding_supports.unwrap_or_default() {
        let Some(text) = support.segment.as_ref().and_then(|s| segment_text(s, parts)) else {
            continue;
        };
        for chunk in support.grounding_chunk_indices.unwrap_or_default() {
            let Ok(chunk) = usize::try_from(chunk) else { continue };
            if let Some(Some(index)) = chunk_to_citation.get(chunk) {
                let citation = &mut citations[*index];
                if citation.cited_text.is_none() {
                    citation.cited_text = Some(text.clone());
                }
            }
        }
    }
    citations
}

/// The supported span: `segment.text` when given, else the byte range of the part it
/// points into (when the range is valid).
fn segment_text(segment: &Segment, parts: &[Part]) -> Option<String> {
    if let Some(text) = segment.text.as_deref().filter(|t| !t.is_empty()) {
        return Some(text.to_string());
    }
    let part = parts.get(segment.part_index.unwrap_or(0))?.text.as_deref()?;
    let span = part.get(segment.start_index.unwrap_or(0)..segment.end_index?)?;
    (!span.is_empty()).then(|| span.to_string())
}

/// The domain of a cited source. Google Search grounding hides sources behind
/// `https://vertexaisearch.cloud.google.com/grounding-api-redirect/...` links and puts the
/// source's domain (e.g. `uefa.com`) in the chunk title; for those links the domain comes
/// from the title when it looks like a host name, so source shares count the real sites
/// rather than one redirect host. Other URLs use their own host.
pub(super) fn citation_domain(uri: &str, title: Option<&str>) -> String {
    let domain = domain_of(uri);
    if domain == GROUNDING_REDIRECT_HOST {
        if let Some(from_title) = title.and_then(host_like) {
            return from_title;
        }
    }
    domain
}

/// `title` normalized like [`domain_of`] when it is a plausible host name: two or more
/// dot-separated labels of letters, digits and inner hyphens, the last containing a letter.
fn host_like(title: &str) -> Option<String> {
    let host = title.trim().trim_end_matches('.').to_ascii_lowercase();
    let host = host.strip_prefix("www.").map(str::to_string).unwrap_or(host);
    let labels: Vec<&str> = host.split('.').collect();
    let label_ok = |l: &&str| {
        !l.is_empty()
            && l.len() <= 63
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    let tld_ok = labels
        .last()
        .is_some_and(|tld| tld.chars().any(|c| c.is_ascii_alphabetic()));
    (labels.len() >= 2 && labels.iter().all(label_ok) && tld_ok).then_some(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_of_grounding_links() {
        let redirect = "https://vertexaisearch.cloud.google.com/grounding-api-redirect/AbF9wX";
        assert_eq!(citation_domain(redirect, Some("uefa.com")), "uefa.com");
        assert_eq!(citation_domain(redirect, Some("WWW.Example.co.uk")), "example.co.uk");
        assert_eq!(
            citation_domain(redirect, Some("Euro 2024 final - Wikipedia")),
            GROUNDING_REDIRECT_HOST
        );
        assert_eq!(citation_domain(redirect, Some("1.5")), GROUNDING_REDIRECT_HOST);
        assert_eq!(citation_domain(redirect, None), GROUNDING_REDIRECT_HOST);
        // A direct link keeps its own host even when the title names another one.
        assert_eq!(
            citation_domain("https://www.hubspot.com/crm", Some("salesforce.com")),
            "hubspot.com"
        );
    }

    #[test]
    fn segment_text_falls_back_to_byte_range() {
        let parts = vec![
            Part {
                text: Some("thinking".into()),
                thought: Some(true),
            },
            Part {
                text: Some("Spain won. Größe!".into()),
                thought: None,
            },
        ];
        let seg = |part_index, start_index, end_index| Segment {
            part_index,
            start_index,
            end_index,
            text: None,
        };
        assert_eq!(
            segment_text(&seg(Some(1), None, Some(10)), &parts).as_deref(),
            Some("Spain won.")
        );
        assert_eq!(
            segment_text(&seg(Some(1), Some(11), Some(15)), &parts).as_deref(),
            Some("Grö")
        );
        // Byte 14 is inside the two-byte 'ö': a range cutting a character is refused.
        assert_eq!(segment_text(&seg(Some(1), Some(11), Some(14)), &parts), None);
        assert_eq!(segment_text(&seg(Some(7), None, Some(3)), &parts), None);
        assert_eq!(segment_text(&seg(Some(1), None, None), &parts), None);
    }
}
