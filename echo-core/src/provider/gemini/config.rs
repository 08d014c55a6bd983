//! Configuration of the Gemini provider: explicit builder and environment lookup.

use crate::provider::ProviderLimits;
use crate::provider::http::{ApiKey, HttpConfig};

use super::Gemini;

/// The public Gemini API host.
pub const DEFAULT_BASE_URL: &str = "https://generativelanguage.googleapis.com";

/// Environment variable holding the API key (Google AI Studio key).
pub const API_KEY_ENV: &str = "GEMINI_API_KEY";
/// Fallback key variable, the name Google's own SDKs also read.
pub const FALLBACK_API_KEY_ENV: &str = "GOOGLE_API_KEY";
/// Environment variable overriding the base URL (a proxy or gateway speaking the same API).
pub const BASE_URL_ENV: &str = "GEMINI_BASE_URL";

/// Everything a [`Gemini`] provider needs.
#[derive(Debug, Clone)]
pub struct GeminiConfig {
    /// Sent in the `x-goog-api-key` header, never in the URL.
    pub api_key: ApiKey,
    /// Scheme, host and optional path prefix; `/v1beta/models/{model}:generateContent` is
    /// appended. No query string or fragment.
    pub base_url: String,
    pub http: HttpConfig,
    pub limits: ProviderLimits,
}

impl GeminiConfig {
    /// A configuration for the public API with default transport settings and limits.
    pub fn new(api_key: ApiKey) -> Self {
        Self {
            api_key,
            base_url: DEFAULT_BASE_URL.to_string(),
            http: HttpConfig::default(),
            limits: ProviderLimits::default(),
        }
    }
}

/// Builds a [`Gemini`] provider step by step; [`GeminiBuilder::build`] validates.
#[derive(Debug, Default)]
pub struct GeminiBuilder {
    api_key: Option<ApiKey>,
    /// Set when a blank key was given, so `build` can say so instead of "missing".
    blank_key: bool,
    base_url: Option<String>,
    http: Option<HttpConfig>,
    limits: Option<ProviderLimits>,
}

impl GeminiBuilder {
    /// The API key (required).
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        match ApiKey::new(key, "gemini.api_key") {
            Ok(key) => {
                self.api_key = Some(key);
                self.blank_key = false;
            }
            Err(_) => {
                self.api_key = None;
                self.blank_key = true;
            }
        }
        self
    }

    /// An API key already held as a secret.
    pub fn api_key_secret(mut self, key: ApiKey) -> Self {
        self.api_key = Some(key);
        self.blank_key = false;
        self
    }

    /// Overrides the base URL (default [`DEFAULT_BASE_URL`]).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// Transport settings (timeouts, body size limit).
    pub fn http(mut self, http: HttpConfig) -> Self {
        self.http = Some(http);
        self
    }

    /// Capacity hints (default: 16 concurrent requests, no known RPM).
    pub fn limits(mut self, limits: ProviderLimits) -> Self {
        self.limits = Some(limits);
        self
    }

    /// Validates and builds the provider.
    pub fn build(self) -> crate::Result<Gemini> {
        let api_key = match self.api_key {
            Some(key) => key,
            None if self.blank_key => {
                return Err(crate::Error::invalid(
                    "gemini.api_key",
                    "the API key is empty; pass the key from https://aistudio.google.com/apikey",
                ));
            }
            None => {
                return Err(crate::Error::invalid(
                    "gemini.api_key",
                    "no API key was given; call .api_key(..) or use Gemini::from_env() with GEMINI_API_KEY set",
                ));
            }
        };
        let mut config = GeminiConfig::new(api_key);
        if let Some(url) = self.base_url {
            config.base_url = url;
        }
        if let Some(http) = self.http {
            config.http = http;
        }
        if let Some(limits) = self.limits {
            config.limits = limits;
        }
        Gemini::new(config)
    }
}

impl Gemini {
    /// A builder for an explicitly configured provider.
    pub fn builder() -> GeminiBuilder {
        GeminiBuilder::default()
    }

    /// A provider configured from the process environment: the key from `GEMINI_API_KEY`
    /// (falling back to `GOOGLE_API_KEY`), the base URL from `GEMINI_BASE_URL` when set.
    pub fn from_env() -> crate::Result<Gemini> {
        Self::from_env_with(|name| std::env::var(name).ok())
    }

    /// Like [`Gemini::from_env`] but reading variables through `lookup`, so callers (and
    /// tests) can supply them without mutating the process environment. Blank values count
    /// as unset.
    pub fn from_env_with(lookup: impl Fn(&str) -> Option<String>) -> crate::Result<Gemini> {
        let read = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let (var, key) = match read(API_KEY_ENV) {
            Some(key) => (API_KEY_ENV, key),
            None => match read(FALLBACK_API_KEY_ENV) {
                Some(key) => (FALLBACK_API_KEY_ENV, key),
                None => {
                    return Err(crate::Error::Config(format!(
                        "{API_KEY_ENV} is not set (nor {FALLBACK_API_KEY_ENV}); create a key at \
                         https://aistudio.google.com/apikey and export {API_KEY_ENV}"
                    )));
                }
            },
        };
        let mut builder = Self::builder().api_key_secret(ApiKey::new(key, var)?);
        if let Some(url) = read(BASE_URL_ENV) {
            validate_base_url(&url, BASE_URL_ENV)?;
            builder = builder.base_url(url);
        }
        builder.build()
    }
}

/// Checks a base URL and returns it without a trailing slash. A query string is refused:
/// it would end up after the model path, and keys must never travel in URLs.
pub(super) fn validate_base_url(url: &str, field: &str) -> crate::Result<String> {
    crate::provider::http::normalize_base_url(url, field, DEFAULT_BASE_URL)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls() {
        assert_eq!(
            validate_base_url("https://example.com/proxy/", "f").unwrap(),
            "https://example.com/proxy"
        );
        assert_eq!(validate_base_url(DEFAULT_BASE_URL, "f").unwrap(), DEFAULT_BASE_URL);
        for bad in [
            "",
            "not a url",
            "ftp://example.com",
            "https://example.com/?key=1",
            "https://x.com/#a",
        ] {
            let err = validate_base_url(bad, "gemini.base_url").unwrap_err();
            assert_eq!(err.field(), Some("gemini.base_url"), "{bad}");
        }
    }
}
