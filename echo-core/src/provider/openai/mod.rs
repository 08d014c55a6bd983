//! OpenAI: Chat Completions and the Responses API.
//!
//! [`OpenAi`] speaks either API ([`OpenAiApi`]), chosen in its config. Both turn web search
//! on when [`ChatRequest::web_search`] is set: Chat Completions sends
//! `web_search_options: {}` (honoured by the search models, e.g. `gpt-4o-search-preview`),
//! the Responses API adds the hosted [`RESPONSES_WEB_SEARCH_TOOL`]. Either way the sources
//! come back as `url_citation` annotations and become [`crate::model::Citation`]s, with the
//! span of the answer they support as `cited_text`.
//!
//! The Chat Completions wire code here is shared with
//! [`OpenAiCompatible`](crate::provider::OpenAiCompatible).

mod chat;
mod citations;
mod config;
mod errors;
mod responses;
mod wire;

use std::fmt;

use reqwest::header::HeaderMap;
use serde_json::Value;

pub(crate) use chat::{MaxTokensField, parse_reply as parse_chat_reply, request_body as chat_request_body};
pub use config::{
    OPENAI_API_KEY_ENV, OPENAI_BASE_URL_ENV, OPENAI_ORG_ID_ENV, OPENAI_PROJECT_ID_ENV, OpenAiApi, OpenAiBuilder,
    OpenAiConfig,
};
pub(crate) use config::{normalize_base_url, validate_transport};
pub use responses::RESPONSES_WEB_SEARCH_TOOL;

use super::http::{ApiKey, HttpConfig, HttpReply, post_json};
use super::{ChatRequest, ChatResponse, LlmError, Provider, ProviderLimits};
use crate::Result;

/// The OpenAI provider (id `openai`).
///
/// Usage as OpenAI reports it, in both APIs:
/// - `input_tokens`: prompt tokens (`prompt_tokens` / `input_tokens`), cached ones included;
/// - `cached_input_tokens`: the part of the input served from the prompt cache
///   (`*_tokens_details.cached_tokens`), billed at a discount;
/// - `output_tokens`: generated tokens (`completion_tokens` / `output_tokens`), reasoning
///   tokens included;
/// - `reasoning_tokens`: the hidden reasoning part of the output
///   (`*_tokens_details.reasoning_tokens`).
///
/// `request_id` is the `x-request-id` header (what OpenAI support asks for), else the body
/// `id`; `served_model` is the body's `model` (a dated snapshot such as `gpt-4o-2024-08-06`).
pub struct OpenAi {
    config: OpenAiConfig,
    client: reqwest::Client,
}

impl OpenAi {
    /// A provider from checked settings.
    pub fn new(mut config: OpenAiConfig) -> Result<Self> {
        config.base_url = config.validate()?;
        let client = config.http.client()?;
        Ok(Self { config, client })
    }

    /// A builder; only the API key is required.
    pub fn builder() -> OpenAiBuilder {
        OpenAiBuilder::default()
    }

    /// Settings from the process environment (see [`OpenAiConfig::from_env`]).
    pub fn from_env() -> Result<Self> {
        Self::new(OpenAiConfig::from_env()?)
    }

    /// Settings from `lookup` (see [`OpenAiConfig::from_env_with`]).
    pub fn from_env_with(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        Self::new(OpenAiConfig::from_env_with(lookup)?)
    }

    /// The settings in use (the key stays hidden in `Debug`).
    pub fn config(&self) -> &OpenAiConfig {
        &self.config
    }

    async fn send(&self, path: &str, body: &Value) -> std::result::Result<HttpReply, LlmError> {
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("openai-organization", &self.config.organization),
            ("openai-project", &self.config.project),
        ] {
            // Validated as header values when the provider was built.
            if let Some(value) = value.as_deref().and_then(|v| v.parse().ok()) {
                headers.insert(name, value);
            }
        }
        post(
            &self.client,
            &format!("{}{path}", self.config.base_url),
            Some(&self.config.api_key),
            headers,
            body,
            &self.config.http,
        )
        .await
    }

    async fn call(&self, request: &ChatRequest) -> std::result::Result<ChatResponse, LlmError> {
        match self.config.api {
            OpenAiApi::ChatCompletions => {
                let body = chat::request_body(request, MaxTokensField::MaxCompletionTokens)?;
                chat::parse_reply(&self.send("/chat/completions", &body).await?)
            }
            OpenAiApi::Responses => {
                let body = responses::request_body(request)?;
                responses::parse_reply(&self.send("/responses", &body).await?)
            }
        }
    }
}

/// POSTs `body` to `url` with a bearer key (when given) and `headers`; a non-2xx reply is
/// classified from its OpenAI-style error body.
pub(crate) async fn post(
    client: &reqwest::Client,
    url: &str,
    key: Option<&ApiKey>,
    headers: HeaderMap,
    body: &Value,
    http: &HttpConfig,
) -> std::result::Result<HttpReply, LlmError> {
    let mut builder = client
        .post(url)
        .headers(headers)
        .header(reqwest::header::ACCEPT, "application/json");
    if let Some(key) = key {
        builder = builder.bearer_auth(key.expose());
    }
    let reply = post_json(builder, body, http.max_body_bytes, http.timeout).await?;
    if reply.is_success() {
        Ok(reply)
    } else {
        Err(errors::from_status(&reply))
    }
}

impl fmt::Debug for OpenAi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenAi")
            .field("api", &self.config.api)
            .field("base_url", &self.config.base_url)
            .field("api_key", &self.config.api_key)
            .field("organization", &self.config.organization)
            .field("project", &self.config.project)
            .field("limits", &self.config.limits)
            .finish()
    }
}

#[async_trait::async_trait]
impl Provider for OpenAi {
    fn id(&self) -> &str {
        "openai"
    }

    fn limits(&self) -> ProviderLimits {
        self.config.limits
    }

    async fn complete(&self, request: &ChatRequest) -> std::result::Result<ChatResponse, LlmError> {
        self.call(request)
            .await
            .map_err(|e| e.redact(self.config.api_key.expose()))
    }
}
