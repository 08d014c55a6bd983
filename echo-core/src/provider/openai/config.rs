//! Settings of the OpenAI provider, its builder, and reading them from the environment.

use std::time::Duration;

use reqwest::header::HeaderValue;
use secrecy::{ExposeSecret, SecretString};

use super::OpenAi;
use crate::provider::ProviderLimits;
use crate::provider::http::{ApiKey, HttpConfig};
use crate::{Error, Result};

/// Environment variable holding the API key.
pub const OPENAI_API_KEY_ENV: &str = "OPENAI_API_KEY";
/// Environment variable overriding the base URL (a proxy, gateway or Azure-style endpoint).
pub const OPENAI_BASE_URL_ENV: &str = "OPENAI_BASE_URL";
/// Environment variable naming the organization billed (`OpenAI-Organization` header).
pub const OPENAI_ORG_ID_ENV: &str = "OPENAI_ORG_ID";
/// Environment variable naming the project billed (`OpenAI-Project` header).
pub const OPENAI_PROJECT_ID_ENV: &str = "OPENAI_PROJECT_ID";
/// The public API, version prefix included: requests go to `{base_url}/chat/completions`
/// or `{base_url}/responses`.
pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";
/// Requests in flight by default. OpenAI's paid tiers allow hundreds of requests per
/// minute, so 32 concurrent calls keep a run moving without tripping the first tier's
/// limits; the resilience layer's rate limiter bounds the rest.
pub const DEFAULT_MAX_CONCURRENCY: usize = 32;

/// Which of OpenAI's two text APIs the provider speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OpenAiApi {
    /// `POST /chat/completions`: every chat model; web search through the
    /// `*-search-preview` / `*-search-api` models and `web_search_options`.
    #[default]
    ChatCompletions,
    /// `POST /responses`: the newer API; web search through the hosted `web_search` tool,
    /// which works with most current models.
    Responses,
}

/// Everything the OpenAI provider needs. Build it with [`OpenAi::builder`],
/// [`OpenAiConfig::from_env`] or [`OpenAi::from_env`]; `Debug` never shows the key.
#[derive(Debug, Clone)]
pub struct OpenAiConfig {
    pub api_key: ApiKey,
    /// With the version prefix, e.g. `https://api.openai.com/v1`.
    pub base_url: String,
    pub api: OpenAiApi,
    /// Sent as `OpenAI-Organization` when set.
    pub organization: Option<String>,
    /// Sent as `OpenAI-Project` when set.
    pub project: Option<String>,
    pub http: HttpConfig,
    pub limits: ProviderLimits,
}

impl OpenAiConfig {
    /// Defaults for everything but the key.
    pub fn new(api_key: ApiKey) -> Self {
        Self {
            api_key,
            base_url: DEFAULT_BASE_URL.to_string(),
            api: OpenAiApi::default(),
            organization: None,
            project: None,
            http: HttpConfig::default(),
            limits: default_limits(),
        }
    }

    /// Reads `OPENAI_API_KEY` (required), `OPENAI_BASE_URL`, `OPENAI_ORG_ID` and
    /// `OPENAI_PROJECT_ID` from the process environment.
    pub fn from_env() -> Result<Self> {
        Self::from_env_with(|name| std::env::var(name).ok())
    }

    /// Like [`OpenAiConfig::from_env`], reading variables through `lookup` (tests pass a
    /// map instead of mutating the process environment). Blank values count as unset.
    pub fn from_env_with(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let var = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let key = var(OPENAI_API_KEY_ENV).ok_or_else(|| {
            Error::Config(format!(
                "{OPENAI_API_KEY_ENV} is not set; export your OpenAI API key \
                 (https://platform.openai.com/api-keys) or build the provider with OpenAi::builder().api_key(..)"
            ))
        })?;
        let mut config = Self::new(ApiKey::new(key, OPENAI_API_KEY_ENV)?);
        if let Some(base) = var(OPENAI_BASE_URL_ENV) {
            config.base_url = normalize_base_url(&base, OPENAI_BASE_URL_ENV, DEFAULT_BASE_URL)?;
        }
        config.organization = var(OPENAI_ORG_ID_ENV).map(|v| v.trim().to_string());
        config.project = var(OPENAI_PROJECT_ID_ENV).map(|v| v.trim().to_string());
        Ok(config)
    }

    /// Checks the settings and returns the normalized base URL (no trailing slash).
    pub(super) fn validate(&self) -> Result<String> {
        let base = normalize_base_url(&self.base_url, "openai.base_url", DEFAULT_BASE_URL)?;
        for (field, value) in [
            ("openai.organization", &self.organization),
            ("openai.project", &self.project),
        ] {
            if let Some(value) = value {
                if value.trim().is_empty() || HeaderValue::from_str(value).is_err() {
                    return Err(Error::invalid(
                        field,
                        "must be a non-empty id of visible ASCII characters (e.g. org-... / proj_...), or None",
                    ));
                }
            }
        }
        validate_transport(&self.http, &self.limits, "openai")?;
        Ok(base)
    }
}

fn default_limits() -> ProviderLimits {
    ProviderLimits {
        max_concurrency: DEFAULT_MAX_CONCURRENCY,
        requests_per_minute: None,
    }
}

/// Builds an [`OpenAi`] provider step by step.
///
/// ```no_run
/// use echo_core::provider::{OpenAi, OpenAiApi};
/// let provider = OpenAi::builder()
///     .api_key("sk-...")
///     .api(OpenAiApi::Responses)
///     .max_concurrency(64)
///     .build()?;
/// # Ok::<(), echo_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct OpenAiBuilder {
    api_key: Option<SecretString>,
    base_url: String,
    api: OpenAiApi,
    organization: Option<String>,
    project: Option<String>,
    http: HttpConfig,
    limits: ProviderLimits,
}

impl Default for OpenAiBuilder {
    fn default() -> Self {
        Self {
            api_key: None,
            base_url: DEFAULT_BASE_URL.to_string(),
            api: OpenAiApi::default(),
            organization: None,
            project: None,
            http: HttpConfig::default(),
            limits: default_limits(),
        }
    }
}

impl OpenAiBuilder {
    /// The API key (required).
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(SecretString::from(key.into()));
        self
    }
    /// Another endpoint speaking the OpenAI API, version prefix included
    /// (default `https://api.openai.com/v1`).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self
    }
    /// Chat Completions (default) or Responses.
    pub fn api(mut self, api: OpenAiApi) -> Self {
        self.api = api;
        self
    }
    /// The organization billed (`OpenAI-Organization` header).
    pub fn organization(mut self, id: impl Into<String>) -> Self {
        self.organization = Some(id.into());
        self
    }
    /// The project billed (`OpenAI-Project` header).
    pub fn project(mut self, id: impl Into<String>) -> Self {
        self.project = Some(id.into());
        self
    }
    /// All transport settings at once.
    pub fn http(mut self, http: HttpConfig) -> Self {
        self.http = http;
        self
    }
    /// Deadline of a whole call, body included.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.http.timeout = timeout;
        self
    }
    /// Deadline for establishing a connection.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.http.connect_timeout = timeout;
        self
    }
    /// Largest response body accepted.
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.http.max_body_bytes = bytes;
        self
    }
    /// Requests usefully in flight at once (default 32).
    pub fn max_concurrency(mut self, n: usize) -> Self {
        self.limits.max_concurrency = n;
        self
    }
    /// The account's requests-per-minute limit, when known.
    pub fn requests_per_minute(mut self, rpm: u32) -> Self {
        self.limits.requests_per_minute = Some(rpm);
        self
    }
    /// All capacity hints at once.
    pub fn limits(mut self, limits: ProviderLimits) -> Self {
        self.limits = limits;
        self
    }

    /// The settings, checked.
    pub fn into_config(self) -> Result<OpenAiConfig> {
        let key = self.api_key.ok_or_else(|| {
            Error::invalid(
                "openai.api_key",
                format!(
                    "no API key given; call .api_key(..) or use OpenAi::from_env(), which reads {OPENAI_API_KEY_ENV}"
                ),
            )
        })?;
        let config = OpenAiConfig {
            api_key: ApiKey::new(key.expose_secret(), "openai.api_key")?,
            base_url: self.base_url,
            api: self.api,
            organization: self.organization,
            project: self.project,
            http: self.http,
            limits: self.limits,
        };
        config.validate()?;
        Ok(config)
    }

    /// The provider.
    pub fn build(self) -> Result<OpenAi> {
        OpenAi::new(self.into_config()?)
    }
}

pub(crate) use crate::provider::http::normalize_base_url;

/// Checks transport and capacity settings shared by the OpenAI-speaking providers.
pub(crate) fn validate_transport(http: &HttpConfig, limits: &ProviderLimits, prefix: &str) -> Result<()> {
    if http.timeout.is_zero() || http.connect_timeout.is_zero() {
        return Err(Error::invalid(
            format!("{prefix}.http"),
            "timeouts must be greater than zero",
        ));
    }
    if http.max_body_bytes == 0 {
        return Err(Error::invalid(
            format!("{prefix}.http.max_body_bytes"),
            "must be greater than zero",
        ));
    }
    if limits.max_concurrency == 0 {
        return Err(Error::invalid(
            format!("{prefix}.limits.max_concurrency"),
            "must be at least 1",
        ));
    }
    if limits.requests_per_minute == Some(0) {
        return Err(Error::invalid(
            format!("{prefix}.limits.requests_per_minute"),
            "must be at least 1, or None when unknown",
        ));
    }
    Ok(())
}
