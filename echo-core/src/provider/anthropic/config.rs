//! Settings of the Anthropic provider, its builder, and reading them from the environment.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use super::Anthropic;
use crate::provider::ProviderLimits;
use crate::provider::http::{ApiKey, HttpConfig};
use crate::{Error, Result};

/// Environment variable holding the API key.
pub const ANTHROPIC_API_KEY_ENV: &str = "ANTHROPIC_API_KEY";
/// Environment variable overriding the base URL (a proxy or gateway).
pub const ANTHROPIC_BASE_URL_ENV: &str = "ANTHROPIC_BASE_URL";
/// The public API. Requests go to `{base_url}/v1/messages`.
pub const DEFAULT_BASE_URL: &str = "https://api.anthropic.com";
/// The `anthropic-version` header: the only stable version of the Messages API so far.
pub const DEFAULT_API_VERSION: &str = "2023-06-01";
/// `max_tokens` is required by the Messages API; this is sent when the request sets none.
/// A buyer-question answer rarely needs more, and it bounds the cost of a runaway answer.
pub const DEFAULT_MAX_TOKENS: u32 = 1024;
/// The basic web search tool. It works on every model that supports web search and on
/// every platform; the newer `web_search_20260209` / `web_search_20260318` versions add
/// dynamic filtering (code execution) on recent models only, so they are opt-in through
/// [`AnthropicBuilder::web_search_tool`].
pub const DEFAULT_WEB_SEARCH_TOOL: &str = "web_search_20250305";
/// Searches allowed per request when web search is on. Each search is billed
/// (about $10 per 1,000), so an answer cannot fan out into dozens of them.
pub const DEFAULT_WEB_SEARCH_MAX_USES: u32 = 5;

/// Everything the Anthropic provider needs. Build it with [`Anthropic::builder`] or
/// [`Anthropic::from_env`]; `Debug` never shows the key.
#[derive(Debug, Clone)]
pub struct AnthropicConfig {
    pub api_key: ApiKey,
    /// Without the `/v1` suffix, e.g. `https://api.anthropic.com`.
    pub base_url: String,
    pub http: HttpConfig,
    pub limits: ProviderLimits,
    /// Sent as the `anthropic-version` header.
    pub api_version: String,
    /// `max_tokens` sent when [`crate::provider::ChatRequest::max_output_tokens`] is `None`.
    pub default_max_tokens: u32,
    /// The `type` of the web search tool (`web_search_20250305`, ...).
    pub web_search_tool: String,
    /// `max_uses` of the web search tool; `None` leaves it to the API (no cap).
    pub web_search_max_uses: Option<u32>,
    /// Beta features sent comma-joined in the `anthropic-beta` header (empty: no header).
    pub beta: Vec<String>,
}

impl AnthropicConfig {
    /// Defaults for everything but the key.
    pub fn new(api_key: ApiKey) -> Self {
        Self {
            api_key,
            base_url: DEFAULT_BASE_URL.to_string(),
            http: HttpConfig::default(),
            limits: ProviderLimits::default(),
            api_version: DEFAULT_API_VERSION.to_string(),
            default_max_tokens: DEFAULT_MAX_TOKENS,
            web_search_tool: DEFAULT_WEB_SEARCH_TOOL.to_string(),
            web_search_max_uses: Some(DEFAULT_WEB_SEARCH_MAX_USES),
            beta: Vec::new(),
        }
    }

    /// Checks the settings and returns the normalized base URL (no trailing slash).
    pub(super) fn validate(&self) -> Result<String> {
        let base = normalize_base_url(&self.base_url, "anthropic.base_url")?;
        if self.api_version.trim().is_empty() {
            return Err(Error::invalid(
                "anthropic.api_version",
                format!("must not be empty; use {DEFAULT_API_VERSION}"),
            ));
        }
        if self.default_max_tokens == 0 {
            return Err(Error::invalid(
                "anthropic.default_max_tokens",
                "must be at least 1 (the Messages API requires max_tokens)",
            ));
        }
        if self.web_search_tool.trim().is_empty() {
            return Err(Error::invalid(
                "anthropic.web_search_tool",
                format!("must name a web search tool version, e.g. {DEFAULT_WEB_SEARCH_TOOL}"),
            ));
        }
        if self.web_search_max_uses == Some(0) {
            return Err(Error::invalid(
                "anthropic.web_search_max_uses",
                "must be at least 1, or None for no cap",
            ));
        }
        if self.limits.max_concurrency == 0 {
            return Err(Error::invalid("anthropic.limits.max_concurrency", "must be at least 1"));
        }
        if self.http.timeout.is_zero() || self.http.connect_timeout.is_zero() {
            return Err(Error::invalid("anthropic.http", "timeouts must be greater than zero"));
        }
        if self.http.max_body_bytes == 0 {
            return Err(Error::invalid(
                "anthropic.http.max_body_bytes",
                "must be greater than zero",
            ));
        }
        Ok(base)
    }
}

/// Checks and normalizes a base URL (see [`crate::provider::http::normalize_base_url`]).
fn normalize_base_url(raw: &str, field: &str) -> Result<String> {
    crate::provider::http::normalize_base_url(raw, field, DEFAULT_BASE_URL)
}

/// Builds an [`Anthropic`] provider. Only the key is required.
#[derive(Debug, Clone, Default)]
pub struct AnthropicBuilder {
    api_key: Option<SecretString>,
    base_url: Option<String>,
    http: Option<HttpConfig>,
    limits: Option<ProviderLimits>,
    api_version: Option<String>,
    default_max_tokens: Option<u32>,
    web_search_tool: Option<String>,
    web_search_max_uses: Option<Option<u32>>,
    beta: Vec<String>,
}

impl AnthropicBuilder {
    /// The API key (held as a secret from here on).
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(SecretString::from(key.into()));
        self
    }

    /// Overrides the base URL (without `/v1`), e.g. a local proxy.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// Replaces the transport settings (timeouts, body size limit).
    pub fn http(mut self, http: HttpConfig) -> Self {
        self.http = Some(http);
        self
    }

    /// Sets the total request timeout, keeping the other transport settings.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        let mut http = self.http.take().unwrap_or_default();
        http.timeout = timeout;
        self.http = Some(http);
        self
    }

    /// Capacity hints reported by [`crate::provider::Provider::limits`].
    pub fn limits(mut self, limits: ProviderLimits) -> Self {
        self.limits = Some(limits);
        self
    }

    /// The `anthropic-version` header (default [`DEFAULT_API_VERSION`]).
    pub fn api_version(mut self, version: impl Into<String>) -> Self {
        self.api_version = Some(version.into());
        self
    }

    /// `max_tokens` sent when a request does not set one (default [`DEFAULT_MAX_TOKENS`]).
    pub fn default_max_tokens(mut self, max_tokens: u32) -> Self {
        self.default_max_tokens = Some(max_tokens);
        self
    }

    /// The web search tool version (default [`DEFAULT_WEB_SEARCH_TOOL`]).
    pub fn web_search_tool(mut self, tool_type: impl Into<String>) -> Self {
        self.web_search_tool = Some(tool_type.into());
        self
    }

    /// Caps searches per request (default [`DEFAULT_WEB_SEARCH_MAX_USES`]); `None` sends no cap.
    pub fn web_search_max_uses(mut self, max_uses: Option<u32>) -> Self {
        self.web_search_max_uses = Some(max_uses);
        self
    }

    /// Adds a beta feature to the `anthropic-beta` header.
    pub fn beta(mut self, feature: impl Into<String>) -> Self {
        self.beta.push(feature.into());
        self
    }

    /// The configuration this builder describes, validated by [`Anthropic::new`].
    pub fn into_config(self) -> Result<AnthropicConfig> {
        let key = self.api_key.ok_or_else(|| {
            Error::invalid(
                "anthropic.api_key",
                format!(
                    "no API key given; call .api_key(..) or use Anthropic::from_env() with {ANTHROPIC_API_KEY_ENV} set"
                ),
            )
        })?;
        let mut config = AnthropicConfig::new(ApiKey::new(key.expose_secret(), "anthropic.api_key")?);
        if let Some(url) = self.base_url {
            config.base_url = url;
        }
        if let Some(http) = self.http {
            config.http = http;
        }
        if let Some(limits) = self.limits {
            config.limits = limits;
        }
        if let Some(version) = self.api_version {
            config.api_version = version;
        }
        if let Some(max) = self.default_max_tokens {
            config.default_max_tokens = max;
        }
        if let Some(tool) = self.web_search_tool {
            config.web_search_tool = tool;
        }
        if let Some(uses) = self.web_search_max_uses {
            config.web_search_max_uses = uses;
        }
        config.beta = self.beta;
        Ok(config)
    }

    /// Validates the settings and builds the provider.
    pub fn build(self) -> Result<Anthropic> {
        Anthropic::new(self.into_config()?)
    }
}

/// Reads the key and base-URL override through `lookup` (a variable that is unset or blank
/// counts as absent).
pub(super) fn config_from_env(lookup: impl Fn(&str) -> Option<String>) -> Result<AnthropicConfig> {
    let present = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
    let key = present(ANTHROPIC_API_KEY_ENV).ok_or_else(|| {
        Error::Config(format!(
            "{ANTHROPIC_API_KEY_ENV} is not set; export your Anthropic API key (Claude Console → API keys) \
             or build the provider with Anthropic::builder().api_key(..)"
        ))
    })?;
    let mut config = AnthropicConfig::new(ApiKey::new(key, ANTHROPIC_API_KEY_ENV)?);
    if let Some(url) = present(ANTHROPIC_BASE_URL_ENV) {
        normalize_base_url(&url, ANTHROPIC_BASE_URL_ENV)?;
        config.base_url = url;
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_are_normalized_or_refused() {
        assert_eq!(
            normalize_base_url("https://api.anthropic.com/", "f").unwrap(),
            "https://api.anthropic.com"
        );
        assert_eq!(
            normalize_base_url(" http://127.0.0.1:8080/proxy// ", "f").unwrap(),
            "http://127.0.0.1:8080/proxy"
        );
        for bad in ["", "api.anthropic.com", "ftp://x.y", "https://x.y/?k=1", "not a url"] {
            let err = normalize_base_url(bad, "anthropic.base_url").unwrap_err();
            assert_eq!(err.field(), Some("anthropic.base_url"), "{bad}");
        }
    }

    #[test]
    fn builder_requires_a_key_and_valid_settings() {
        let err = Anthropic::builder().build().unwrap_err();
        assert_eq!(err.field(), Some("anthropic.api_key"));
        let err = Anthropic::builder().api_key("  ").build().unwrap_err();
        assert_eq!(err.field(), Some("anthropic.api_key"));
        let err = Anthropic::builder()
            .api_key("k")
            .default_max_tokens(0)
            .build()
            .unwrap_err();
        assert_eq!(err.field(), Some("anthropic.default_max_tokens"));
        let err = Anthropic::builder()
            .api_key("k")
            .web_search_max_uses(Some(0))
            .build()
            .unwrap_err();
        assert_eq!(err.field(), Some("anthropic.web_search_max_uses"));
        let err = Anthropic::builder()
            .api_key("k")
            .web_search_tool(" ")
            .build()
            .unwrap_err();
        assert_eq!(err.field(), Some("anthropic.web_search_tool"));
        let err = Anthropic::builder().api_key("k").api_version("").build().unwrap_err();
        assert_eq!(err.field(), Some("anthropic.api_version"));
        let err = Anthropic::builder()
            .api_key("k")
            .limits(ProviderLimits {
                max_concurrency: 0,
                requests_per_minute: None,
            })
            .build()
            .unwrap_err();
        assert_eq!(err.field(), Some("anthropic.limits.max_concurrency"));
        assert!(Anthropic::builder().api_key("k").build().is_ok());
    }

    #[test]
    fn env_lookup_reads_key_and_base_url() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
        };
        let err = config_from_env(env(&[])).unwrap_err();
        assert!(err.to_string().contains(ANTHROPIC_API_KEY_ENV), "{err}");
        let err = config_from_env(env(&[(ANTHROPIC_API_KEY_ENV, "   ")])).unwrap_err();
        assert!(err.to_string().contains(ANTHROPIC_API_KEY_ENV), "{err}");
        let config = config_from_env(env(&[(ANTHROPIC_API_KEY_ENV, "sk-ant-x")])).unwrap();
        assert_eq!(config.base_url, DEFAULT_BASE_URL);
        assert_eq!(config.api_key.expose(), "sk-ant-x");
        let config = config_from_env(env(&[
            (ANTHROPIC_API_KEY_ENV, "sk-ant-x"),
            (ANTHROPIC_BASE_URL_ENV, "http://localhost:9000"),
        ]))
        .unwrap();
        assert_eq!(config.base_url, "http://localhost:9000");
        let err = config_from_env(env(&[
            (ANTHROPIC_API_KEY_ENV, "sk-ant-x"),
            (ANTHROPIC_BASE_URL_ENV, "localhost:9000"),
        ]))
        .unwrap_err();
        assert_eq!(err.field(), Some(ANTHROPIC_BASE_URL_ENV));
    }
}
