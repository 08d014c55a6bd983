//! Settings of the OpenAI-compatible provider, its builder, and reading them from the
//! environment.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use super::OpenAiCompatible;
use crate::provider::ProviderLimits;
use crate::provider::http::{ApiKey, HttpConfig};
use crate::provider::openai::{normalize_base_url, validate_transport};
use crate::{Error, Result};

/// Environment variable holding the server's base URL (required by `from_env`).
pub const OPENAI_COMPATIBLE_BASE_URL_ENV: &str = "OPENAI_COMPATIBLE_BASE_URL";
/// Environment variable holding the API key, for servers that want one.
pub const OPENAI_COMPATIBLE_API_KEY_ENV: &str = "OPENAI_COMPATIBLE_API_KEY";
/// Environment variable overriding the provider id.
pub const OPENAI_COMPATIBLE_ID_ENV: &str = "OPENAI_COMPATIBLE_ID";
/// The provider id unless overridden.
pub const DEFAULT_COMPATIBLE_ID: &str = "openai_compatible";
/// Requests in flight by default. Local servers run only a few generations in parallel
/// (Ollama's `OLLAMA_NUM_PARALLEL` is small by default) and queue the rest, where queued
/// calls only burn their timeout; hosted gateways such as OpenRouter can take far more,
/// set with [`OpenAiCompatibleBuilder::max_concurrency`].
pub const DEFAULT_COMPATIBLE_MAX_CONCURRENCY: usize = 8;
/// Shown in errors as an example base URL.
const EXAMPLE_BASE_URL: &str = "http://localhost:11434/v1";

/// Everything the OpenAI-compatible provider needs; `Debug` never shows the key.
#[derive(Debug, Clone)]
pub struct OpenAiCompatibleConfig {
    /// The provider id targets use (`openai_compatible`, `ollama`, `vllm`...).
    pub id: String,
    /// With the version prefix, e.g. `http://localhost:11434/v1`; requests go to
    /// `{base_url}/chat/completions`.
    pub base_url: String,
    /// Sent as `Authorization: Bearer ...` when set; local servers usually need none.
    pub api_key: Option<ApiKey>,
    pub http: HttpConfig,
    pub limits: ProviderLimits,
}

impl OpenAiCompatibleConfig {
    /// Defaults for everything but the base URL: no key, id `openai_compatible`.
    pub fn new(base_url: impl Into<String>) -> Self {
        Self {
            id: DEFAULT_COMPATIBLE_ID.to_string(),
            base_url: base_url.into(),
            api_key: None,
            http: HttpConfig::default(),
            limits: default_limits(),
        }
    }

    /// Reads `OPENAI_COMPATIBLE_BASE_URL` (required), `OPENAI_COMPATIBLE_API_KEY` and
    /// `OPENAI_COMPATIBLE_ID` from the process environment.
    pub fn from_env() -> Result<Self> {
        Self::from_env_with(|name| std::env::var(name).ok())
    }

    /// Like [`OpenAiCompatibleConfig::from_env`], reading variables through `lookup`.
    /// Blank values count as unset.
    pub fn from_env_with(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let var = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let base = var(OPENAI_COMPATIBLE_BASE_URL_ENV).ok_or_else(|| {
            Error::Config(format!(
                "{OPENAI_COMPATIBLE_BASE_URL_ENV} is not set; set it to the server's OpenAI-compatible base URL \
                 (e.g. {EXAMPLE_BASE_URL} for Ollama, http://localhost:8000/v1 for vLLM, \
                 https://openrouter.ai/api/v1 for OpenRouter)"
            ))
        })?;
        let mut config = Self::new(normalize_base_url(
            &base,
            OPENAI_COMPATIBLE_BASE_URL_ENV,
            EXAMPLE_BASE_URL,
        )?);
        if let Some(key) = var(OPENAI_COMPATIBLE_API_KEY_ENV) {
            config.api_key = Some(ApiKey::new(key, OPENAI_COMPATIBLE_API_KEY_ENV)?);
        }
        if let Some(id) = var(OPENAI_COMPATIBLE_ID_ENV) {
            config.id = id.trim().to_string();
            validate_id(&config.id, OPENAI_COMPATIBLE_ID_ENV)?;
        }
        Ok(config)
    }

    /// Checks the settings and returns the normalized base URL (no trailing slash).
    pub(super) fn validate(&self) -> Result<String> {
        validate_id(&self.id, "openai_compatible.id")?;
        let base = normalize_base_url(&self.base_url, "openai_compatible.base_url", EXAMPLE_BASE_URL)?;
        validate_transport(&self.http, &self.limits, "openai_compatible")?;
        Ok(base)
    }
}

/// Ids name the provider in targets (`ollama/llama3.2`), so they must be one word.
fn validate_id(id: &str, field: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            field,
            format!("`{id}` is not a usable provider id; use letters, digits, `_`, `-` or `.` (e.g. ollama)"),
        ))
    }
}

fn default_limits() -> ProviderLimits {
    ProviderLimits {
        max_concurrency: DEFAULT_COMPATIBLE_MAX_CONCURRENCY,
        requests_per_minute: None,
    }
}

/// Builds an [`OpenAiCompatible`] provider step by step.
///
/// ```no_run
/// use echo_core::provider::OpenAiCompatible;
/// let ollama = OpenAiCompatible::builder()
///     .base_url("http://localhost:11434/v1")
///     .id("ollama")
///     .build()?;
/// # Ok::<(), echo_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct OpenAiCompatibleBuilder {
    id: String,
    base_url: Option<String>,
    api_key: Option<SecretString>,
    http: HttpConfig,
    limits: ProviderLimits,
}

impl Default for OpenAiCompatibleBuilder {
    fn default() -> Self {
        Self {
            id: DEFAULT_COMPATIBLE_ID.to_string(),
            base_url: None,
            api_key: None,
            http: HttpConfig::default(),
            limits: default_limits(),
        }
    }
}

impl OpenAiCompatibleBuilder {
    /// The server's base URL, version prefix included (required).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }
    /// An API key, for servers that want one (OpenRouter, hosted vLLM...).
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(SecretString::from(key.into()));
        self
    }
    /// The provider id (default `openai_compatible`), so several servers can be registered.
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = id.into();
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
    /// Requests usefully in flight at once (default 8).
    pub fn max_concurrency(mut self, n: usize) -> Self {
        self.limits.max_concurrency = n;
        self
    }
    /// The server's requests-per-minute limit, when known.
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
    pub fn into_config(self) -> Result<OpenAiCompatibleConfig> {
        let base_url = self.base_url.ok_or_else(|| {
            Error::invalid(
                "openai_compatible.base_url",
                format!(
                    "no base URL given; call .base_url(\"{EXAMPLE_BASE_URL}\") or use OpenAiCompatible::from_env(), \
                     which reads {OPENAI_COMPATIBLE_BASE_URL_ENV}"
                ),
            )
        })?;
        let api_key = match self.api_key {
            Some(key) => Some(ApiKey::new(key.expose_secret(), "openai_compatible.api_key")?),
            None => None,
        };
        let config = OpenAiCompatibleConfig {
            id: self.id,
            base_url,
            api_key,
            http: self.http,
            limits: self.limits,
        };
        config.validate()?;
        Ok(config)
    }

    /// The provider.
    pub fn build(self) -> Result<OpenAiCompatible> {
        OpenAiCompatible::new(self.into_config()?)
    }
}
