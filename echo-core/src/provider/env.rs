//! Building providers from the environment.

use std::sync::Arc;

use super::{
    Anthropic, DynProvider, Gemini, OPENAI_API_KEY_ENV, OPENAI_COMPATIBLE_BASE_URL_ENV, OpenAi, OpenAiCompatible,
    Perplexity, anthropic, gemini, perplexity,
};
use crate::Result;

/// Every real provider whose credentials are in the environment: OpenAI
/// (`OPENAI_API_KEY`), Anthropic (`ANTHROPIC_API_KEY`), Gemini (`GEMINI_API_KEY` or
/// `GOOGLE_API_KEY`), Perplexity (`PERPLEXITY_API_KEY`) and an OpenAI-compatible server
/// (`OPENAI_COMPATIBLE_BASE_URL`), each honouring its base-URL override. Providers whose
/// variables are unset are skipped; a variable that is set but invalid is an error.
pub fn providers_from_env() -> Result<Vec<DynProvider>> {
    providers_from_env_with(|name| std::env::var(name).ok())
}

/// [`providers_from_env`] with an explicit variable lookup (for tests and hosts that keep
/// configuration elsewhere).
pub fn providers_from_env_with(lookup: impl Fn(&str) -> Option<String>) -> Result<Vec<DynProvider>> {
    let set = |name: &str| lookup(name).is_some_and(|v| !v.trim().is_empty());
    let mut providers: Vec<DynProvider> = Vec::new();
    if set(OPENAI_API_KEY_ENV) {
        providers.push(Arc::new(OpenAi::from_env_with(&lookup)?));
    }
    if set(anthropic::ANTHROPIC_API_KEY_ENV) {
        providers.push(Arc::new(Anthropic::from_env_with(&lookup)?));
    }
    if set(gemini::API_KEY_ENV) || set(gemini::FALLBACK_API_KEY_ENV) {
        providers.push(Arc::new(Gemini::from_env_with(&lookup)?));
    }
    if set(perplexity::PERPLEXITY_API_KEY_ENV) {
        providers.push(Arc::new(Perplexity::from_env_with(&lookup)?));
    }
    if set(OPENAI_COMPATIBLE_BASE_URL_ENV) {
        providers.push(Arc::new(OpenAiCompatible::from_env_with(&lookup)?));
    }
    Ok(providers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_configured_providers_are_built() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
        };
        assert!(providers_from_env_with(env(&[])).unwrap().is_empty());
        let ps = providers_from_env_with(env(&[
            ("OPENAI_API_KEY", "sk-test"),
            ("GOOGLE_API_KEY", "g-test"),
            ("OPENAI_COMPATIBLE_BASE_URL", "http://127.0.0.1:11434/v1"),
            ("ANTHROPIC_API_KEY", "  "),
        ]))
        .unwrap();
        let ids: Vec<_> = ps.iter().map(|p| p.id().to_string()).collect();
        assert_eq!(ids, ["openai", "gemini", "openai_compatible"]);
        assert!(providers_from_env_with(env(&[("OPENAI_API_KEY", "sk"), ("OPENAI_BASE_URL", "not a url")])).is_err());
    }
}
