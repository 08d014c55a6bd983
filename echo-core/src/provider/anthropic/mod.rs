//! Anthropic's Messages API (`POST {base}/v1/messages`), with the server-side web search
//! tool and its citations.
//!
//! Requests carry `x-api-key`, `anthropic-version` and, when configured, `anthropic-beta`.
//! Answers map onto [`ChatResponse`] as follows:
//!
//! - **text**: the `text` content blocks (consecutive blocks joined as they are, a new
//!   paragraph after a web search);
//!   `thinking`, tool and unknown blocks are not answer text.
//! - **citations**: `web_search_result_location` citations on text blocks, deduplicated by
//!   URL, with `cited_text`. Uncited search results are not citations (they stay in `raw`).
//! - **usage** (the API's own meaning, not normalized):
//!   - `input_tokens` = `usage.input_tokens`, which **excludes** prompt-cache reads and
//!     writes (Anthropic counts them separately, unlike OpenAI's `prompt_tokens`);
//!   - `cached_input_tokens` = `usage.cache_read_input_tokens` (disjoint from
//!     `input_tokens`, so total input = input + cache reads + cache writes);
//!   - `cache_creation_input_tokens` (cache writes) has no `Usage` field and is kept only
//!     in `raw`, like `server_tool_use.web_search_requests` (searches are billed per use);
//!   - `output_tokens` = `usage.output_tokens` (includes extended-thinking tokens);
//!   - `reasoning_tokens` is `None`: Anthropic does not report thinking tokens separately.
//! - **served_model** from `model`; **request_id** from the `request-id` header, else the
//!   message `id`; **finish_reason** from `stop_reason`; **rate_limit** from the
//!   `anthropic-ratelimit-*` headers.
//! - A `stop_reason` of `refusal` is [`LlmError::ContentFiltered`]; an empty `content` list
//!   with any other stop reason is a valid empty answer.
//!
//! Errors are classified from `error.type` (see the `errors` module); 529 `overloaded_error` is
//! [`LlmError::Overloaded`], and `retry-after` is honoured on 429/529.

mod config;
mod errors;
mod request;
mod response;

use reqwest::header::{HeaderMap, HeaderValue};

pub use config::{
    ANTHROPIC_API_KEY_ENV, ANTHROPIC_BASE_URL_ENV, AnthropicBuilder, AnthropicConfig, DEFAULT_API_VERSION,
    DEFAULT_BASE_URL, DEFAULT_MAX_TOKENS, DEFAULT_WEB_SEARCH_MAX_USES, DEFAULT_WEB_SEARCH_TOOL,
};

use crate::provider::http::post_json;
use crate::provider::{ChatRequest, ChatResponse, LlmError, Provider, ProviderLimits};
use crate::{Error, Result};

/// The Anthropic provider (id `anthropic`). Cheap to share; never retries.
#[derive(Debug, Clone)]
pub struct Anthropic {
    config: AnthropicConfig,
    /// `{base_url}/v1/messages`, computed once.
    endpoint: String,
    /// Auth and version headers, built once; the key's value is marked sensitive so it is
    /// never printed by `Debug`.
    headers: HeaderMap,
    client: reqwest::Client,
}

impl Anthropic {
    /// The provider id targets use.
    pub const ID: &'static str = "anthropic";

    /// A provider from explicit settings, validated (bad values name their field).
    pub fn new(config: AnthropicConfig) -> Result<Self> {
        let base = config.validate()?;
        let headers = headers(&config)?;
        let client = config.http.client()?;
        Ok(Self {
            endpoint: format!("{base}/v1/messages"),
            headers,
            config,
            client,
        })
    }

    /// A builder; only the API key is required.
    pub fn builder() -> AnthropicBuilder {
        AnthropicBuilder::default()
    }

    /// Reads `ANTHROPIC_API_KEY` (required) and `ANTHROPIC_BASE_URL` (optional) from the
    /// process environment.
    pub fn from_env() -> Result<Self> {
        Self::from_env_with(|name| std::env::var(name).ok())
    }

    /// Like [`Anthropic::from_env`], reading variables through `lookup` (tests use a map
    /// instead of mutating the process environment).
    pub fn from_env_with(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        Self::new(config::config_from_env(lookup)?)
    }

    /// The settings in use.
    pub fn config(&self) -> &AnthropicConfig {
        &self.config
    }
}

fn headers(config: &AnthropicConfig) -> Result<HeaderMap> {
    let value = |text: &str, field: &str| {
        HeaderValue::from_str(text)
            .map_err(|_| Error::invalid(field, "contains characters that are not allowed in an HTTP header"))
    };
    let mut headers = HeaderMap::new();
    let mut key = value(config.api_key.expose(), "anthropic.api_key")?;
    key.set_sensitive(true);
    headers.insert("x-api-key", key);
    headers.insert(
        "anthropic-version",
        value(config.api_version.trim(), "anthropic.api_version")?,
    );
    if !config.beta.is_empty() {
        headers.insert("anthropic-beta", value(&config.beta.join(","), "anthropic.beta")?);
    }
    Ok(headers)
}

fn request_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get("request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

#[async_trait::async_trait]
impl Provider for Anthropic {
    fn id(&self) -> &str {
        Self::ID
    }

    fn limits(&self) -> ProviderLimits {
        self.config.limits
    }

    async fn complete(&self, request: &ChatRequest) -> std::result::Result<ChatResponse, LlmError> {
        let body = request::body(&self.config, request)?;
        let reply = post_json(
            self.client.post(&self.endpoint).headers(self.headers.clone()),
            &body,
            self.config.http.max_body_bytes,
            self.config.http.timeout,
        )
        .await?;
        let id = request_id(&reply.headers);
        if !reply.is_success() {
            return Err(errors::classify(&reply, id.as_deref()));
        }
        response::parse(&reply, id)
    }
}
