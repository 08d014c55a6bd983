//! The providers an engine can call, by id.

use std::collections::BTreeMap;

use crate::model::Target;
use crate::provider::DynProvider;
use crate::{Error, Result};

/// Provider ids Echo knows about. A target naming one of these that is not registered is
/// "not configured"; any other id is "unknown". The distinction makes the error useful.
pub const KNOWN_PROVIDER_IDS: &[&str] = &[
    "openai",
    "anthropic",
    "gemini",
    "perplexity",
    "openai_compatible",
    "simulated",
    "replay",
];

/// Registered providers, keyed by [`Provider::id`](crate::provider::Provider::id).
#[derive(Debug, Clone, Default)]
pub struct ProviderRegistry {
    providers: BTreeMap<String, DynProvider>,
}

impl ProviderRegistry {
    /// Registers a provider; a second provider with the same id is a configuration error.
    pub fn insert(&mut self, provider: DynProvider) -> Result<()> {
        let id = provider.id().to_string();
        if id.trim().is_empty() {
            return Err(Error::Config("a provider has a blank id".into()));
        }
        if self.providers.contains_key(&id) {
            return Err(Error::Config(format!(
                "two providers are registered with the id {id:?}"
            )));
        }
        self.providers.insert(id, provider);
        Ok(())
    }

    pub fn get(&self, id: &str) -> Option<&DynProvider> {
        self.providers.get(id)
    }

    /// Registered ids, sorted.
    pub fn ids(&self) -> Vec<&str> {
        self.providers.keys().map(String::as_str).collect()
    }

    pub fn is_empty(&self) -> bool {
        self.providers.is_empty()
    }

    /// Resolves every target to a provider, or fails naming the first target that cannot
    /// be served (field `spec.targets[i].provider`).
    pub fn check_targets(&self, targets: &[Target]) -> Result<()> {
        for (i, t) in targets.iter().enumerate() {
            if self.providers.contains_key(&t.provider) {
                continue;
            }
            let configured = if self.providers.is_empty() {
                "none".to_string()
            } else {
                self.ids().join(", ")
            };
            let message = if KNOWN_PROVIDER_IDS.contains(&t.provider.as_str()) {
                format!(
                    "provider {:?} is not configured in this Echo instance (configured: {configured}); \
                     register it with EchoBuilder::provider",
                    t.provider
                )
            } else {
                format!(
                    "unknown provider id {:?}; known ids are {} (configured: {configured})",
                    t.provider,
                    KNOWN_PROVIDER_IDS.join(", ")
                )
            };
            return Err(Error::invalid(format!("spec.targets[{i}].provider"), message));
        }
        Ok(())
    }

    /// The default concurrency of a run over `targets`: the sum of each distinct
    /// provider's advertised concurrency, capped at 512 and at least 1.
    pub fn default_concurrency(&self, targets: &[Target]) -> usize {
        let mut seen = std::collections::BTreeSet::new();
        let total: usize = targets
            .iter()
            .filter(|t| seen.insert(t.provider.clone()))
            .filter_map(|t| self.providers.get(&t.provider))
            .map(|p| p.limits().max_concurrency.max(1))
            .sum();
        total.clamp(1, 512)
    }

    /// Whether every provider serving `targets` replays recorded answers.
    pub fn all_replay(&self, targets: &[Target]) -> bool {
        targets
            .iter()
            .all(|t| self.providers.get(&t.provider).is_some_and(|p| p.is_replay()))
    }
}
