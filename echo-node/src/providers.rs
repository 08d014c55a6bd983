//! Which providers an engine opened from JavaScript gets: real ones from the environment,
//! the offline `Simulated` provider, and `Replay` of a recorded corpus. Mirrors
//! `echo_core::provider`; the options are validated by the core's constructors.

use std::time::Duration;

use echo_core::provider::{
    BrandBehavior, DynProvider, LatencyModel, Replay, Simulated as CoreSimulated, SimulatedConfig, providers_from_env,
};
use echo_core::{Error, Result};
use napi_derive::napi;

use crate::convert::whole;

/// A brand the simulated provider names, and how often.
#[napi(object)]
pub struct SimulatedBrand {
    pub name: String,
    /// Probability in [0, 1] that an answer names the brand.
    pub mention_probability: f64,
    /// How strongly the brand is named early (default 1).
    pub rank_weight: Option<f64>,
    pub aliases: Option<Vec<String>>,
    pub domain: Option<String>,
}

/// The offline, deterministic `Simulated` provider (tests, demos, benchmarks).
#[napi(object)]
pub struct SimulatedOptions {
    /// Provider id targets name (default `simulated`).
    pub id: Option<String>,
    /// Seed: the same seed and request give the same answer (default 42).
    pub seed: Option<i64>,
    /// The brands it knows; default the CRM demo catalog (HubSpot, Salesforce, ...).
    pub brands: Option<Vec<SimulatedBrand>>,
    /// Median latency of a call in milliseconds (default 0: answers at once).
    pub latency_ms: Option<f64>,
    /// Calls it serves at once (its advertised concurrency).
    pub max_concurrency: Option<u32>,
}

/// A recorded corpus (JSON lines) replayed under a provider id: real answers, offline.
#[napi(object)]
pub struct ReplayOptions {
    /// Path of the `.jsonl` corpus.
    pub corpus: String,
    /// The provider id whose records to serve (and that targets name).
    pub provider: String,
}

pub fn simulated(options: &SimulatedOptions) -> Result<DynProvider> {
    let seed = whole(options.seed.unwrap_or(42), "simulated.seed", i64::MAX as u64)?;
    let id = options.id.clone().unwrap_or_else(|| "simulated".to_string());
    let mut config = match &options.brands {
        None => SimulatedConfig {
            id: id.clone(),
            ..SimulatedConfig::crm_demo(seed)
        },
        Some(brands) => SimulatedConfig::new(id, seed).brands(brands.iter().map(|b| {
            let mut behavior = BrandBehavior::new(b.name.clone(), b.mention_probability)
                .rank_weight(b.rank_weight.unwrap_or(1.0))
                .aliases(b.aliases.clone().unwrap_or_default());
            if let Some(domain) = &b.domain {
                behavior = behavior.domain(domain.clone());
            }
            behavior
        })),
    };
    if let Some(ms) = options.latency_ms {
        if !(ms.is_finite() && ms >= 0.0) {
            return Err(Error::invalid(
                "simulated.latencyMs",
                "must be a number of milliseconds >= 0",
            ));
        }
        config = config.latency(LatencyModel::new(Duration::from_secs_f64(ms / 1000.0), 0.0));
    }
    if let Some(n) = options.max_concurrency {
        config = config.max_concurrency(n as usize);
    }
    Ok(std::sync::Arc::new(CoreSimulated::new(config)?))
}

pub fn replay(options: &ReplayOptions) -> Result<DynProvider> {
    Ok(std::sync::Arc::new(Replay::for_provider(
        &options.corpus,
        &options.provider,
    )?))
}

/// Every real provider whose API key is in the environment (`OPENAI_API_KEY`, ...).
pub fn from_env() -> Result<Vec<DynProvider>> {
    providers_from_env()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simulated_defaults_to_the_crm_demo() {
        let p = simulated(&SimulatedOptions {
            id: None,
            seed: None,
            brands: None,
            latency_ms: None,
            max_concurrency: None,
        })
        .unwrap();
        assert_eq!(p.id(), "simulated");
    }

    #[test]
    fn bad_simulated_options_are_invalid_input() {
        let err = simulated(&SimulatedOptions {
            id: None,
            seed: Some(-1),
            brands: None,
            latency_ms: None,
            max_concurrency: None,
        })
        .err()
        .unwrap();
        assert_eq!(err.field(), Some("simulated.seed"));
    }
}
