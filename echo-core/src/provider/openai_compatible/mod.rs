//! Servers that speak OpenAI's Chat Completions API: Ollama, vLLM, LM Studio, llama.cpp,
//! OpenRouter and the like.
//!
//! The wire code is OpenAI's ([`crate::provider::OpenAi`]'s Chat Completions module),
//! which already reads leniently; what differs is the setup: the base URL is required, the
//! key is optional (no `Authorization` header without one), the id can be overridden so
//! several servers can be registered side by side, and the output cap is sent as
//! `max_tokens`, the spelling these servers document (OpenAI's newer
//! `max_completion_tokens` is unknown to Ollama). `web_search_options: {}` is sent when
//! [`ChatRequest::web_search`] is set; servers without search ignore it.
//!
//! The drift these servers show, and how it reads:
//! - no `usage` → every [`Usage`](crate::provider::Usage) field `None`; `usage` fields mean
//!   what OpenAI's do (`prompt_tokens` → input, `completion_tokens` → output, cached and
//!   reasoning details when given), but their counts come from the server's tokenizer;
//! - `finish_reason` missing, null or `""` → `None`;
//! - `content` null or absent → `""`; an array of text parts → the parts joined;
//! - unknown fields (Ollama's `system_fingerprint: "fp_ollama"`, OpenRouter's `provider`)
//!   are ignored; an empty `choices` is a [`LlmError::Decode`] saying so;
//! - an `error` object inside a 200 (OpenRouter, with the HTTP status as a numeric `code`)
//!   is classified like the error status it names.

mod config;

use std::fmt;

use reqwest::header::HeaderMap;

pub use config::{
    DEFAULT_COMPATIBLE_ID, OPENAI_COMPATIBLE_API_KEY_ENV, OPENAI_COMPATIBLE_BASE_URL_ENV, OPENAI_COMPATIBLE_ID_ENV,
    OpenAiCompatibleBuilder, OpenAiCompatibleConfig,
};

use super::openai::{MaxTokensField, chat_request_body, parse_chat_reply, post};
use super::{ChatRequest, ChatResponse, LlmError, Provider, ProviderLimits};
use crate::Result;

/// A provider for any server speaking OpenAI's Chat Completions API (id
/// `openai_compatible` unless overridden).
pub struct OpenAiCompatible {
    config: OpenAiCompatibleConfig,
    client: reqwest::Client,
}

impl OpenAiCompatible {
    /// A provider from checked settings.
    pub fn new(mut config: OpenAiCompatibleConfig) -> Result<Self> {
        config.base_url = config.validate()?;
        let client = config.http.client()?;
        Ok(Self { config, client })
    }

    /// A builder; only the base URL is required.
    pub fn builder() -> OpenAiCompatibleBuilder {
        OpenAiCompatibleBuilder::default()
    }

    /// Settings from the process environment (see [`OpenAiCompatibleConfig::from_env`]).
    pub fn from_env() -> Result<Self> {
        Self::new(OpenAiCompatibleConfig::from_env()?)
    }

    /// Settings from `lookup` (see [`OpenAiCompatibleConfig::from_env_with`]).
    pub fn from_env_with(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        Self::new(OpenAiCompatibleConfig::from_env_with(lookup)?)
    }

    /// The settings in use (the key stays hidden in `Debug`).
    pub fn config(&self) -> &OpenAiCompatibleConfig {
        &self.config
    }

    async fn call(&self, request: &ChatRequest) -> std::result::Result<ChatResponse, LlmError> {
        let body = chat_request_body(request, MaxTokensField::MaxTokens)?;
        let reply = post(
            &self.client,
            &format!("{}/chat/completions", self.config.base_url),
            self.config.api_key.as_ref(),
            HeaderMap::new(),
            &body,
            &self.config.http,
        )
        .await?;
        parse_chat_reply(&reply)
    }
}

impl fmt::Debug for OpenAiCompatible {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenAiCompatible")
            .field("id", &self.config.id)
            .field("base_url", &self.config.base_url)
            .field("api_key", &self.config.api_key)
            .field("limits", &self.config.limits)
            .finish()
    }
}

#[async_trait::async_trait]
impl Provider for OpenAiCompatible {
    fn id(&self) -> &str {
        &self.config.id
    }

    fn limits(&self) -> ProviderLimits {
        self.config.limits
    }

    async fn complete(&self, request: &ChatRequest) -> std::result::Result<ChatResponse, LlmError> {
        let result = self.call(request).await;
        match &self.config.api_key {
            Some(key) => result.map_err(|e| e.redact(key.expose())),
            None => result,
        }
    }
}
