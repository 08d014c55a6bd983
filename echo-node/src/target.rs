//! Model targets (`provider/model`), mirroring `echo_core::model::Target`.

use echo_core::model::Target as CoreTarget;
use napi_derive::napi;

use crate::errors::{Result, to_js_error};

/// A model to ask: the provider id as registered with the engine and the model name.
#[napi(object)]
pub struct Target {
    pub provider: String,
    pub model: String,
}

/// Parses `"provider/model"` with the core's rules: both parts are trimmed and must be
/// non-empty; the model part may itself contain `/`. Throws an `Error` with
/// `code === 'invalid_input'` otherwise.
#[napi]
pub fn validate_target(target: String) -> Result<Target> {
    CoreTarget::parse(&target)
        .map(|t| Target {
            provider: t.provider,
            model: t.model,
        })
        .map_err(to_js_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_provider_and_model() {
        let t = validate_target("openrouter/meta-llama/llama-3".into()).expect("valid target");
        assert_eq!(
            (t.provider.as_str(), t.model.as_str()),
            ("openrouter", "meta-llama/llama-3")
        );
    }

    #[test]
    fn malformed_target_is_invalid_input() {
        let err = validate_target("gpt-4o".into()).err().expect("must fail");
        assert_eq!(err.status.as_ref(), "invalid_input");
        assert!(err.reason.contains("provider/model"), "{}", err.reason);
    }
}
