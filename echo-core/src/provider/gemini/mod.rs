//! Google Gemini through the Gemini API's `generateContent` method.
//!
//! `POST {base}/v1beta/models/{model}:generateContent`, authenticated with the
//! `x-goog-api-key` header. The key is never put in the URL (Google also accepts
//! `?key=...`, but URLs end up in proxy logs and error messages).
//!
//! With [`ChatRequest::web_search`] the request enables Grounding with Google Search
//! (`tools: [{"google_search": {}}]`) and the answer's `groundingMetadata` becomes
//! citations: one per web grounding chunk, deduplicated by URL, with the first supporting
//! answer segment as `cited_text`. Grounding links are Google redirect URLs
//! (`https://vertexaisearch.cloud.google.com/grounding-api-redirect/...`) whose chunk title
//! is the source's domain; for those the citation's `domain` is taken from the title, while
//! `url` keeps the redirect link as given.
//!
//! # Usage fields
//!
//! From `usageMetadata`, `None` when a count is absent:
//! - `input_tokens` = `promptTokenCount`: the whole prompt, cached part included
//!   (`toolUsePromptTokenCount`, the search results fed back by grounding, is not added).
//! - `output_tokens` = `candidatesTokenCount`: the answer's tokens. It EXCLUDES thinking:
//!   a thinking model's billed output is `output_tokens + reasoning_tokens`.
//! - `reasoning_tokens` = `thoughtsTokenCount`.
//! - `cached_input_tokens` = `cachedContentTokenCount`: the part of the prompt read from
//!   a context cache (a subset of `input_tokens`).
//!
//! `served_model` is `modelVersion`; `request_id` is `responseId`, else an `x-request-id`
//! header. Finish reasons: `STOP` → Stop, `MAX_TOKENS` → Length, `SAFETY`, `RECITATION`,
//! `BLOCKLIST`, `PROHIBITED_CONTENT`, `SPII` → [`LlmError::ContentFiltered`], anything
//! else → `Other(raw)`. A prompt blocked outright (no candidates, `promptFeedback.blockReason`)
//! is `ContentFiltered` too. Error replies are classified as described in `errors.rs`.

mod config;
mod errors;
mod request;
mod response;

use chrono::Utc;
use reqwest::header::HeaderValue;

use crate::provider::http::{ApiKey, HttpConfig, post_json};
use crate::provider::{ChatRequest, ChatResponse, LlmError, Provider, ProviderLimits};

pub use config::{API_KEY_ENV, BASE_URL_ENV, DEFAULT_BASE_URL, FALLBACK_API_KEY_ENV, GeminiBuilder, GeminiConfig};

/// The Gemini API provider (id `gemini`).
pub struct Gemini {
    api_key: ApiKey,
    /// The key as a header value marked sensitive, built once.
    auth_header: HeaderValue,
    /// Validated, without a trailing slash.
    base_url: String,
    http: HttpConfig,
    limits: ProviderLimits,
    client: reqwest::Client,
}

impl Gemini {
    /// A provider from a full configuration; validates the base URL and the key.
    pub fn new(config: GeminiConfig) -> crate::Result<Self> {
        let base_url = config::validate_base_url(&config.base_url, "gemini.base_url")?;
        let mut auth_header = HeaderValue::from_str(config.api_key.expose()).map_err(|_| {
            crate::Error::invalid(
                "gemini.api_key",
                "the API key contains characters not allowed in an HTTP header; check for stray quotes or line breaks",
            )
        })?;
        auth_header.set_sensitive(true);
        let client = config.http.client()?;
        Ok(Self {
            api_key: config.api_key,
            auth_header,
            base_url,
            http: config.http,
            limits: config.limits,
            client,
        })
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The `generateContent` URL for a model id (already validated).
    fn endpoint(&self, model: &str) -> String {
        format!("{}/v1beta/models/{model}:generateContent", self.base_url)
    }

    async fn call(&self, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        let model = request::model_path_segment(&request.model)?;
        let body = request::body(request)?;
        let builder = self
            .client
            .post(self.endpoint(model))
            .header("x-goog-api-key", self.auth_header.clone());
        let reply = post_json(builder, &body, self.http.max_body_bytes, self.http.timeout).await?;
        let now = Utc::now();
        tracing::debug!(
            provider = "gemini",
            model,
            status = reply.status,
            latency_ms = reply.latency.as_millis() as u64,
            "generateContent replied"
        );
        if !reply.is_success() {
            return Err(errors::classify(&reply, now));
        }
        response::parse(&reply, now)
    }
}

impl std::fmt::Debug for Gemini {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gemini")
            .field("api_key", &self.api_key)
            .field("base_url", &self.base_url)
            .field("http", &self.http)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl Provider for Gemini {
    fn id(&self) -> &str {
        "gemini"
    }

    fn limits(&self) -> ProviderLimits {
        self.limits
    }

    async fn complete(&self, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        self.call(request).await.map_err(|e| e.redact(self.api_key.expose()))
    }
}
