//! `url_citation` annotations → [`Citation`]s.
//!
//! Both OpenAI APIs mark the span of the answer a web source supports with
//! `start_index`/`end_index`. Chat Completions nests the fields
//! (`{"type": "url_citation", "url_citation": {url, title, start_index, end_index}}`);
//! the Responses API puts them on the annotation itself. Annotations are read from raw JSON
//! values one by one, so a malformed or unknown annotation (file citations, future types)
//! is skipped instead of failing the whole answer.

use serde_json::Value;

use crate::model::Citation;

/// Citations from Chat Completions annotations on `text`.
pub(crate) fn from_chat_annotations(text: &str, annotations: &[Value]) -> Vec<Citation> {
    annotations
        .iter()
        .filter(|a| a.get("type").and_then(Value::as_str) == Some("url_citation"))
        .filter_map(|a| a.get("url_citation"))
        .filter_map(|c| url_citation(text, c))
        .collect()
}

/// Citations from Responses API `output_text` annotations on `text`.
pub(crate) fn from_response_annotations(text: &str, annotations: &[Value]) -> Vec<Citation> {
    annotations
        .iter()
        .filter(|a| a.get("type").and_then(Value::as_str) == Some("url_citation"))
        .filter_map(|a| url_citation(text, a))
        .collect()
}

/// One citation from an object holding `url`, `title`, `start_index`, `end_index`;
/// `None` without a usable URL.
fn url_citation(text: &str, fields: &Value) -> Option<Citation> {
    let url = fields.get("url").and_then(Value::as_str).map(str::trim)?;
    if url.is_empty() {
        return None;
    }
    let title = fields
        .get("title")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string);
    let mut citation = Citation::from_url(url, title);
    citation.cited_text = cited_span(
        text,
        fields.get("start_index").and_then(Value::as_u64),
        fields.get("end_index").and_then(Value::as_u64),
    );
    Some(citation)
}

/// The answer text in `[start, end)`, counted in characters (Unicode scalar values).
///
/// OpenAI's indices are character positions (its SDK examples slice Python strings with
/// them), not UTF-8 byte offsets; for ASCII answers the two agree, but an answer with
/// "é" or "—" before the span would be cut mid-character if they were read as bytes.
/// Indices that are missing, reversed, empty or past the end give `None` rather than a
/// wrong span.
pub(crate) fn cited_span(text: &str, start: Option<u64>, end: Option<u64>) -> Option<String> {
    let (start, end) = (usize::try_from(start?).ok()?, usize::try_from(end?).ok()?);
    if start >= end {
        return None;
    }
    let mut boundaries = text.char_indices().map(|(i, _)| i).chain(std::iter::once(text.len()));
    let from = boundaries.nth(start)?;
    let to = boundaries.nth(end - start - 1)?;
    let span = text.get(from..to)?;
    (!span.trim().is_empty()).then(|| span.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn spans_count_characters() {
        let text = "Café — HubSpot leads.";
        // "HubSpot" starts at character 7 (byte 10).
        assert_eq!(cited_span(text, Some(7), Some(14)).as_deref(), Some("HubSpot"));
        assert_eq!(cited_span(text, Some(0), Some(21)).as_deref(), Some(text));
        assert_eq!(cited_span(text, Some(0), Some(22)), None);
        assert_eq!(cited_span(text, Some(5), Some(5)), None);
        assert_eq!(cited_span(text, Some(9), Some(3)), None);
        assert_eq!(cited_span(text, None, Some(3)), None);
        assert_eq!(cited_span("", Some(0), Some(1)), None);
    }

    #[test]
    fn malformed_annotations_are_skipped() {
        let text = "See HubSpot.";
        let annotations = vec![
            json!({"type": "url_citation", "url_citation": {"url": "https://www.hubspot.com/", "title": "HubSpot", "start_index": 4, "end_index": 11}}),
            json!({"type": "url_citation", "url_citation": {"title": "no url"}}),
            json!({"type": "file_citation", "file_id": "f"}),
            json!("not an object"),
        ];
        let citations = from_chat_annotations(text, &annotations);
        assert_eq!(citations.len(), 1);
        assert_eq!(citations[0].domain, "hubspot.com");
        assert_eq!(citations[0].cited_text.as_deref(), Some("HubSpot"));
    }
}
