//! Perplexity's Sonar chat completions (`POST {base}/chat/completions`, bearer key), whose
//! answers are always grounded in a web search.
//!
//! Answers map onto [`ChatResponse`] as follows:
//!
//! - **text**: the first choice's message content, minus the leading `<think>` section of
//!   the reasoning models.
//! - **citations**: `search_results` (with titles) then the `citations` URLs, deduplicated
//!   by URL in order; no `cited_text` (Perplexity does not report the supported span).
//! - **usage**:
//!   - `input_tokens` = `usage.prompt_tokens`; `output_tokens` = `usage.completion_tokens`;
//!   - `reasoning_tokens` = `usage.reasoning_tokens` when reported (Sonar Deep Research),
//!     billed separately from and **not included in** `completion_tokens`;
//!   - `cached_input_tokens` is `None` (not reported);
//!   - `citation_tokens`, `num_search_queries`, `search_context_size` and the `cost`
//!     breakdown (USD) are kept only in `raw`.
//! - **served_model** from `model`; **request_id** from the body `id`; **finish_reason**
//!   from the first choice; **rate_limit** from `x-ratelimit-*` headers when sent.
//! - [`ChatRequest::web_search`] is ignored: Sonar models search for every answer.
//! - `finish_reason: content_filter` is [`LlmError::ContentFiltered`].
//!
//! Errors: OpenAI-shaped `{"error": {...}}` or FastAPI `{"detail": ...}` bodies, see the
//! `errors` module; 402 and "insufficient credits" are [`LlmError::QuotaExhausted`].

mod config;
mod errors;
mod request;
mod response;

use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};

pub use config::{
    DEFAULT_BASE_URL, PERPLEXITY_API_KEY_ENV, PERPLEXITY_BASE_URL_ENV, PerplexityBuilder, PerplexityConfig,
    SearchContextSize,
};

use crate::provider::http::post_json;
use crate::provider::{ChatRequest, ChatResponse, LlmError, Provider, ProviderLimits};
use crate::{Error, Result};

/// The Perplexity provider (id `perplexity`). Cheap to share; never retries.
#[derive(Debug, Clone)]
pub struct Perplexity {
    config: PerplexityConfig,
    /// `{base_url}/chat/completions`, computed once.
    endpoint: String,
    /// The `Authorization` header, marked sensitive so `Debug` never prints it.
    headers: HeaderMap,
    client: reqwest::Client,
}

impl Perplexity {
    /// The provider id targets use.
    pub const ID: &'static str = "perplexity";

    /// A provider from explicit settings, validated (bad values name their field).
    pub fn new(config: PerplexityConfig) -> Result<Self> {
        let base = config.validate()?;
        let mut auth = HeaderValue::from_str(&format!("Bearer {}", config.api_key.expose())).map_err(|_| {
            Error::invalid(
                "perplexity.api_key",
                "contains characters that are not allowed in an HTTP header",
            )
        })?;
        auth.set_sensitive(true);
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, auth);
        let client = config.http.client()?;
        Ok(Self {
            endpoint: format!("{base}/chat/completions"),
            headers,
            config,
            client,
        })
    }

    /// A builder; only the API key is required.
    pub fn builder() -> PerplexityBuilder {
        PerplexityBuilder::default()
    }

    /// Reads `PERPLEXITY_API_KEY` (required) and `PERPLEXITY_BASE_URL` (optional) from the
    /// process environment.
    pub fn from_env() -> Result<Self> {
        Self::from_env_with(|name| std::env::var(name).ok())
    }

    /// Like [`Perplexity::from_env`], reading variables through `lookup` (tests use a map
    /// instead of mutating the process environment).
    pub fn from_env_with(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        Self::new(config::config_from_env(lookup)?)
    }

    /// The settings in use.
    pub fn config(&self) -> &PerplexityConfig {
        &self.config
    }
}

#[async_trait::async_trait]
impl Provider for Perplexity {
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
        if !reply.is_success() {
            return Err(errors::classify(&reply));
        }
        response::parse(&reply)
    }
}
