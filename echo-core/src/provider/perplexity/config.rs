//! Settings of the Perplexity provider, its builder, and reading them from the environment.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use super::Perplexity;
use crate::provider::ProviderLimits;
use crate::provider::http::{ApiKey, HttpConfig};
use crate::{Error, Result};

/// Environment variable holding the API key.
pub const PERPLEXITY_API_KEY_ENV: &str = "PERPLEXITY_API_KEY";
/// Environment variable overriding the base URL.
pub const PERPLEXITY_BASE_URL_ENV: &str = "PERPLEXITY_BASE_URL";
/// The public API. Requests go to `{base_url}/chat/completions`.
pub const DEFAULT_BASE_URL: &str = "https://api.perplexity.ai";

/// How much retrieved web context Perplexity feeds the model (`web_search_options.
/// search_context_size`). More context costs a higher per-request fee.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchContextSize {
    Low,
    Medium,
    High,
}

impl SearchContextSize {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            SearchContextSize::Low => "low",
            SearchContextSize::Medium => "medium",
            SearchContextSize::High => "high",
        }
    }
}

/// Everything the Perplexity provider needs. Build it with [`Perplexity::builder`] or
/// [`Perplexity::from_env`]; `Debug` never shows the key.
#[derive(Debug, Clone)]
pub struct PerplexityConfig {
    pub api_key: ApiKey,
    /// E.g. `https://api.perplexity.ai` (no trailing `/chat/completions`).
    pub base_url: String,
    pub http: HttpConfig,
    pub limits: ProviderLimits,
    /// Sent as `web_search_options.search_context_size` when set; `None` leaves the API
    /// default (low).
    pub search_context_size: Option<SearchContextSize>,
}

impl PerplexityConfig {
    /// Defaults for everything but the key.
    pub fn new(api_key: ApiKey) -> Self {
        Self {
            api_key,
            base_url: DEFAULT_BASE_URL.to_string(),
            http: HttpConfig::default(),
            limits: ProviderLimits::default(),
            search_context_size: None,
        }
    }

    /// Checks the settings and returns the normalized base URL (no trailing slash).
    pub(super) fn validate(&self) -> Result<String> {
        let base = normalize_base_url(&self.base_url, "perplexity.base_url")?;
        if self.limits.max_concurrency == 0 {
            return Err(Error::invalid(
                "perplexity.limits.max_concurrency",
                "must be at least 1",
            ));
        }
        if self.http.timeout.is_zero() || self.http.connect_timeout.is_zero() {
            return Err(Error::invalid("perplexity.http", "timeouts must be greater than zero"));
        }
        if self.http.max_body_bytes == 0 {
            return Err(Error::invalid(
                "perplexity.http.max_body_bytes",
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

/// Builds a [`Perplexity`] provider. Only the key is required.
#[derive(Debug, Clone, Default)]
pub struct PerplexityBuilder {
    api_key: Option<SecretString>,
    base_url: Option<String>,
    http: Option<HttpConfig>,
    limits: Option<ProviderLimits>,
    search_context_size: Option<SearchContextSize>,
}

impl PerplexityBuilder {
    /// The API key (held as a secret from here on).
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(SecretString::from(key.into()));
        self
    }

    /// Overrides the base URL, e.g. a local proxy.
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

    /// How much web context to retrieve per answer (default: the API's, low).
    pub fn search_context_size(mut self, size: SearchContextSize) -> Self {
        self.search_context_size = Some(size);
        self
    }

    /// The configuration this builder describes, validated by [`Perplexity::new`].
    pub fn into_config(self) -> Result<PerplexityConfig> {
        let key = self.api_key.ok_or_else(|| {
            Error::invalid(
                "perplexity.api_key",
                format!(
                    "no API key given; call .api_key(..) or use Perplexity::from_env() with {PERPLEXITY_API_KEY_ENV} set"
                ),
            )
        })?;
        let mut config = PerplexityConfig::new(ApiKey::new(key.expose_secret(), "perplexity.api_key")?);
        if let Some(url) = self.base_url {
            config.base_url = url;
        }
        if let Some(http) = self.http {
            config.http = http;
        }
        if let Some(limits) = self.limits {
            config.limits = limits;
        }
        config.search_context_size = self.search_context_size;
        Ok(config)
    }

    /// Validates the settings and builds the provider.
    pub fn build(self) -> Result<Perplexity> {
        Perplexity::new(self.into_config()?)
    }
}

/// Reads the key and base-URL override through `lookup` (a variable that is unset or blank
/// counts as absent).
pub(super) fn config_from_env(lookup: impl Fn(&str) -> Option<String>) -> Result<PerplexityConfig> {
    let present = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
    let key = present(PERPLEXITY_API_KEY_ENV).ok_or_else(|| {
        Error::Config(format!(
            "{PERPLEXITY_API_KEY_ENV} is not set; export your Perplexity API key (perplexity.ai → Settings → API) \
             or build the provider with Perplexity::builder().api_key(..)"
        ))
    })?;
    let mut config = PerplexityConfig::new(ApiKey::new(key, PERPLEXITY_API_KEY_ENV)?);
    if let Some(url) = present(PERPLEXITY_BASE_URL_ENV) {
        normalize_base_url(&url, PERPLEXITY_BASE_URL_ENV)?;
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
            normalize_base_url("https://api.perplexity.ai/", "f").unwrap(),
            DEFAULT_BASE_URL
        );
        for bad in ["", "api.perplexity.ai", "ftp://x.y", "https://x.y/#frag"] {
            let err = normalize_base_url(bad, "perplexity.base_url").unwrap_err();
            assert_eq!(err.field(), Some("perplexity.base_url"), "{bad}");
        }
    }

    #[test]
    fn builder_requires_a_key_and_valid_settings() {
        assert_eq!(
            Perplexity::builder().build().unwrap_err().field(),
            Some("perplexity.api_key")
        );
        assert_eq!(
            Perplexity::builder().api_key("").build().unwrap_err().field(),
            Some("perplexity.api_key")
        );
        let err = Perplexity::builder()
            .api_key("k")
            .timeout(Duration::ZERO)
            .build()
            .unwrap_err();
        assert_eq!(err.field(), Some("perplexity.http"));
        assert!(Perplexity::builder().api_key("k").build().is_ok());
    }

    #[test]
    fn env_lookup_reads_key_and_base_url() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
        };
        let err = config_from_env(env(&[])).unwrap_err();
        assert!(err.to_string().contains(PERPLEXITY_API_KEY_ENV), "{err}");
        let config = config_from_env(env(&[
            (PERPLEXITY_API_KEY_ENV, "pplx-x"),
            (PERPLEXITY_BASE_URL_ENV, "http://127.0.0.1:1234/"),
        ]))
        .unwrap();
        assert_eq!(config.base_url, "http://127.0.0.1:1234/");
        assert_eq!(config.api_key.expose(), "pplx-x");
        let err = config_from_env(env(&[
            (PERPLEXITY_API_KEY_ENV, "pplx-x"),
            (PERPLEXITY_BASE_URL_ENV, "nope"),
        ]))
        .unwrap_err();
        assert_eq!(err.field(), Some(PERPLEXITY_BASE_URL_ENV));
    }
}
