//! Turning a [`ChatRequest`] into a `generateContent` call: the model path segment and
//! the JSON body.

use serde_json::{Map, Value, json};

use crate::provider::{ChatRequest, LlmError, Role};

/// The model id as it goes into the URL path, `models/{id}:generateContent`.
///
/// Accepts `gemini-2.5-flash` or `models/gemini-2.5-flash`. Because the id is spliced into
/// the URL path, anything that could change the path or start a query (`/`, `?`, `#`, `%`,
/// `:`, whitespace...) is refused before a request is sent: only ASCII letters, digits,
/// `-`, `.` and `_` are allowed, which covers every published Gemini and Gemma model id.
pub(super) fn model_path_segment(model: &str) -> Result<&str, LlmError> {
    let id = model.strip_prefix("models/").unwrap_or(model);
    let invalid = |why: &str| {
        LlmError::InvalidRequest(format!(
            "model: {model:?} is not a valid Gemini model name ({why}); use an id such as \"gemini-2.5-flash\" \
             or \"models/gemini-2.5-flash\""
        ))
    };
    if id.is_empty() {
        return Err(invalid("it is empty"));
    }
    if id == "." || id == ".." {
        return Err(invalid("it is a path segment"));
    }
    if let Some(bad) = id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_')))
    {
        return Err(invalid(&format!("it contains {bad:?}")));
    }
    Ok(id)
}

/// Gemini's `seed` is an int32; Echo's per-sample seeds are u64. The seed is folded
/// (high half XOR low half, top bit cleared) so it fits, stays a pure function of the
/// sample seed, and distinct samples still get well-spread seeds.
pub(super) fn fold_seed(seed: u64) -> i32 {
    let folded = ((seed >> 32) as u32) ^ (seed as u32);
    (folded & 0x7fff_ffff) as i32
}

/// The `generateContent` body. System messages become `systemInstruction`; user and
/// assistant messages become `contents` with roles `user` and `model`.
pub(super) fn body(request: &ChatRequest) -> Result<Value, LlmError> {
    let mut system_parts = Vec::new();
    let mut contents = Vec::new();
    for message in &request.messages {
        match message.role {
            Role::System => system_parts.push(json!({ "text": message.content })),
            Role::User => contents.push(json!({ "role": "user", "parts": [{ "text": message.content }] })),
            Role::Assistant => contents.push(json!({ "role": "model", "parts": [{ "text": message.content }] })),
        }
    }
    if contents.is_empty() {
        return Err(LlmError::InvalidRequest(
            "messages: Gemini needs at least one user message (a system prompt alone is not a request)".into(),
        ));
    }

    let mut body = Map::new();
    body.insert("contents".into(), Value::Array(contents));
    if !system_parts.is_empty() {
        body.insert("systemInstruction".into(), json!({ "parts": system_parts }));
    }

    let mut generation = Map::new();
    if let Some(t) = request.temperature {
        // Through f64 via the decimal text, so 0.7f32 is sent as 0.7, not 0.699999988079071.
        let t: f64 = t.to_string().parse().unwrap_or(f64::from(t));
        generation.insert("temperature".into(), json!(t));
    }
    if let Some(max) = request.max_output_tokens {
        generation.insert("maxOutputTokens".into(), json!(max));
    }
    if let Some(seed) = request.seed {
        generation.insert("seed".into(), json!(fold_seed(seed)));
    }
    if !generation.is_empty() {
        body.insert("generationConfig".into(), Value::Object(generation));
    }

    if request.web_search {
        // Grounding with Google Search (Gemini 2.0 and later); answers then carry
        // `groundingMetadata`, mapped to citations.
        body.insert("tools".into(), json!([{ "google_search": {} }]));
    }
    Ok(Value::Object(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_names() {
        assert_eq!(model_path_segment("gemini-2.5-flash").unwrap(), "gemini-2.5-flash");
        assert_eq!(
            model_path_segment("models/gemini-2.5-flash").unwrap(),
            "gemini-2.5-flash"
        );
        assert_eq!(model_path_segment("gemma-3_27b.it").unwrap(), "gemma-3_27b.it");
        for bad in [
            "",
            "models/",
            "..",
            "models/..",
            "a/b",
            "models/a/b",
            "tunedModels/x",
            "gemini?key=x",
            "gemini#frag",
            "gemini 2",
            "gemini\n",
            "gemini%2Fx",
            "gemini:streamGenerateContent",
        ] {
            let err = model_path_segment(bad).unwrap_err();
            assert_eq!(err.class(), "invalid_request", "{bad:?}");
            assert!(err.to_string().contains("model:"), "{err}");
        }
    }

    #[test]
    fn seeds_fold_into_int32() {
        assert_eq!(fold_seed(0), 0);
        assert_eq!(fold_seed(5), 5);
        assert_eq!(fold_seed(u64::MAX), 0);
        assert!(fold_seed(9_662_374_541_818_093_670) >= 0);
        assert_ne!(fold_seed(1), fold_seed(2));
        assert_eq!(fold_seed(1 << 32), 1);
    }
}
