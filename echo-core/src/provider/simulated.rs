//! A seeded stochastic model of an LLM answering buyer questions.

use std::time::Duration;

use super::{ChatRequest, ChatResponse, LlmError, Provider, ProviderLimits};

/// How one brand behaves in simulated answers.
#[derive(Debug, Clone, PartialEq)]
pub struct BrandBehavior {
    /// Canonical name as it appears in answers.
    pub name: String,
    /// Probability that an answer names the brand (the true visibility).
    pub mention_probability: f64,
    /// Relative tendency to be listed early (higher = earlier).
    pub rank_weight: f64,
    /// Other surface forms sometimes used in text ("HubSpot CRM").
    pub aliases: Vec<String>,
    /// The brand's domain, sometimes written in text and used for citations.
    pub domain: Option<String>,
}

/// Latency of simulated calls: log-normal around a median.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LatencyModel {
    pub median: Duration,
    /// Log-space standard deviation; 0 makes every call take `median`.
    pub sigma: f64,
}

/// Rates of injected failures, each in `[0, 1]`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct FailureRates {
    pub rate_limited: f64,
    pub server_error: f64,
    pub timeout: f64,
}

/// Configuration of a [`Simulated`] provider.
#[derive(Debug, Clone, PartialEq)]
pub struct SimulatedConfig {
    pub id: String,
    pub seed: u64,
    pub brands: Vec<BrandBehavior>,
    pub latency: LatencyModel,
    pub failures: FailureRates,
    /// Probability that an answer carries citations.
    pub citation_probability: f64,
    pub max_concurrency: usize,
}

/// The simulated provider.
#[derive(Debug, Clone)]
pub struct Simulated {
    config: SimulatedConfig,
}

impl Simulated {
    pub fn new(config: SimulatedConfig) -> Self {
        Self { config }
    }
}

#[async_trait::async_trait]
impl Provider for Simulated {
    fn id(&self) -> &str {
        &self.config.id
    }
    fn limits(&self) -> ProviderLimits {
        ProviderLimits { max_concurrency: self.config.max_concurrency, requests_per_minute: None }
    }
    async fn complete(&self, _request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        todo!()
    }
}
