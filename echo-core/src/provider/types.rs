//! Provider-neutral request and response types. Real HTTP providers (OpenAI, Anthropic,
//! Gemini, Perplexity, OpenAI-compatible) translate to and from these; the offline
//! providers produce them directly.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::model::Citation;

/// Who says a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    System,
    User,
    Assistant,
}

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: String,
}

impl Message {
    pub fn system(content: impl Into<String>) -> Self {
        Self {
            role: Role::System,
            content: content.into(),
        }
    }
    pub fn user(content: impl Into<String>) -> Self {
        Self {
            role: Role::User,
            content: content.into(),
        }
    }
}

/// A request for one answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatRequest {
    /// The model asked for.
    pub model: String,
    pub messages: Vec<Message>,
    pub temperature: Option<f32>,
    pub max_output_tokens: Option<u32>,
    /// Use the provider's web search / grounding tool when it has one.
    pub web_search: bool,
    /// A per-sample seed. Providers that support seeding pass it on; the simulator uses it
    /// so a given sample always produces the same answer, across retries and resumes.
    pub seed: Option<u64>,
}

impl ChatRequest {
    /// A single user question to `model`.
    pub fn new(model: impl Into<String>, prompt: impl Into<String>) -> Self {
        Self {
            model: model.into(),
            messages: vec![Message::user(prompt)],
            temperature: None,
            max_output_tokens: None,
            web_search: false,
            seed: None,
        }
    }

    /// The text of the last user message (the buyer question).
    pub fn prompt(&self) -> &str {
        self.messages
            .iter()
            .rev()
            .find(|m| m.role == Role::User)
            .map(|m| m.content.as_str())
            .unwrap_or("")
    }
}

/// Token usage as the provider reported it. Every field is `None` when the provider did
/// not report it (never a made-up 0). Per-provider meaning is documented by each provider.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    pub cached_input_tokens: Option<u64>,
    pub reasoning_tokens: Option<u64>,
}

/// Why generation stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    Stop,
    Length,
    ContentFilter,
    ToolUse,
    /// Any other value, as the provider spelled it.
    Other(String),
}

impl FinishReason {
    pub fn as_str(&self) -> &str {
        match self {
            FinishReason::Stop => "stop",
            FinishReason::Length => "length",
            FinishReason::ContentFilter => "content_filter",
            FinishReason::ToolUse => "tool_use",
            FinishReason::Other(s) => s,
        }
    }
}

/// Rate-limit state reported in response headers, when present.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimitInfo {
    pub limit_requests: Option<u64>,
    pub remaining_requests: Option<u64>,
    pub limit_tokens: Option<u64>,
    pub remaining_tokens: Option<u64>,
    pub reset_requests: Option<Duration>,
    pub reset_tokens: Option<Duration>,
}

/// One normalized answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatResponse {
    /// The answer text.
    pub text: String,
    /// Sources the answer cites.
    pub citations: Vec<Citation>,
    pub usage: Usage,
    /// The model that actually served the request, when reported (may differ from the
    /// requested one; both are stored).
    pub served_model: Option<String>,
    pub request_id: Option<String>,
    pub finish_reason: Option<FinishReason>,
    pub rate_limit: Option<RateLimitInfo>,
    /// The provider's raw JSON body, for later re-analysis. `None` for offline providers.
    pub raw: Option<serde_json::Value>,
    /// Wall time of the call as measured by the provider implementation.
    pub latency: Duration,
}

impl ChatResponse {
    /// A plain text answer with nothing else reported.
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            citations: Vec::new(),
            usage: Usage::default(),
            served_model: None,
            request_id: None,
            finish_reason: Some(FinishReason::Stop),
            rate_limit: None,
            raw: None,
            latency: Duration::ZERO,
        }
    }
}

/// What a provider tells the engine about its own capacity, used to derive a default
/// concurrency for runs (never a fixed small number).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderLimits {
    /// How many requests may usefully be in flight at once.
    pub max_concurrency: usize,
    /// Requests per minute allowed, if known.
    pub requests_per_minute: Option<u32>,
}

impl Default for ProviderLimits {
    fn default() -> Self {
        Self {
            max_concurrency: 16,
            requests_per_minute: None,
        }
    }
}
