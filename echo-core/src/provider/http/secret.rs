//! API keys held as secrets.

use secrecy::{ExposeSecret, SecretString};

/// A provider API key. Never printed: `Debug` shows `ApiKey(***)`, and the only way to the
/// text is [`ApiKey::expose`], used when the request header is built.
#[derive(Clone)]
pub struct ApiKey(SecretString);

impl ApiKey {
    /// Wraps a key; blank keys are refused with a clear error naming `field`.
    pub fn new(key: impl Into<String>, field: &str) -> crate::Result<Self> {
        let key: String = key.into();
        let trimmed = key.trim();
        if trimmed.is_empty() {
            return Err(crate::Error::invalid(field, "the API key is empty"));
        }
        Ok(Self(SecretString::from(trimmed.to_string())))
    }

    /// Reads a key from the environment variable `var`; `None` when unset or blank.
    pub fn from_env(var: &str) -> Option<Self> {
        std::env::var(var).ok().and_then(|k| Self::new(k, var).ok())
    }

    /// The key text, for building the auth header only.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_never_show_in_debug() {
        let key = ApiKey::new("sk-very-secret", "api_key").unwrap();
        assert_eq!(format!("{key:?}"), "ApiKey(***)");
        assert_eq!(key.expose(), "sk-very-secret");
        assert!(ApiKey::new("  ", "api_key").is_err());
    }
}
