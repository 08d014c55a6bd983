//! Model targets (`provider/model`), mirroring `echo_core::model::Target`.

use echo_core::model::Target as CoreTarget;
use napi_derive::napi;
use serde::{Deserialize, Serialize};

use echo_core::Result;
use napi::Env;

use crate::promise::sync;

/// A model to ask: the provider id as registered with the engine and the model name.
#[napi(object)]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Target {
    pub provider: String,
    pub model: String,
}

/// Parses `"provider/model"` with the core's rules: both parts are trimmed and must be
/// non-empty; the model part may itself contain `/`. Throws an `Error` with
/// `InvalidInputError` (`code === 'invalid_input'`) otherwise.
#[napi]
pub fn validate_target(env: Env, target: String) -> napi::Result<Target> {
    sync(&env, parse_target(&target))
}

/// [`validate_target`] without JavaScript.
pub fn parse_target(target: &str) -> Result<Target> {
    CoreTarget::parse(target).map(|t| Target {
        provider: t.provider,
        model: t.model,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_provider_and_model() {
        let t = parse_target("openrouter/meta-llama/llama-3").expect("valid target");
        assert_eq!(
            (t.provider.as_str(), t.model.as_str()),
            ("openrouter", "meta-llama/llama-3")
        );
    }

    #[test]
    fn malformed_target_is_invalid_input() {
        let err = parse_target("gpt-4o").err().expect("must fail");
        assert_eq!(err.kind(), echo_core::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("provider/model"), "{err}");
    }
}
