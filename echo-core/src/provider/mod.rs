//! Language-model providers.
//!
//! A [`Provider`] turns one [`ChatRequest`] into one [`ChatResponse`] or a classified
//! [`LlmError`]. Providers never retry: retries, rate limits and timeouts belong to one
//! resilience layer around them, so every provider behaves the same under faults.
//!
//! Real APIs, each speaking its provider's wire format over HTTPS (rustls):
//! [`OpenAi`] (Chat Completions and Responses), [`Anthropic`] (Messages), [`Gemini`]
//! (`generateContent`), [`Perplexity`] and [`OpenAiCompatible`] (Ollama, vLLM, LM Studio,
//! OpenRouter...). [`providers_from_env`] builds every one whose key is in the environment.
//!
//! Offline providers: [`Simulated`] (a seeded model of an LLM answering buyer questions,
//! with known ground truth) and [`Replay`] (recorded answers from JSONL).
//!
//! [`PricingTable`] turns reported usage into cost.

pub mod anthropic;
mod env;
mod error;
pub mod gemini;
pub mod http;
mod openai;
mod openai_compatible;
pub mod perplexity;
mod pricing;
mod replay;
pub mod resilience;
mod simulated;
mod types;

use std::sync::Arc;

pub use anthropic::{Anthropic, AnthropicBuilder, AnthropicConfig};
pub use env::{providers_from_env, providers_from_env_with};
pub use error::LlmError;
pub use gemini::{Gemini, GeminiBuilder, GeminiConfig};
pub use openai::{
    OPENAI_API_KEY_ENV, OPENAI_BASE_URL_ENV, OPENAI_ORG_ID_ENV, OPENAI_PROJECT_ID_ENV, OpenAi, OpenAiApi,
    OpenAiBuilder, OpenAiConfig, RESPONSES_WEB_SEARCH_TOOL,
};
pub use openai_compatible::{
    DEFAULT_COMPATIBLE_ID, OPENAI_COMPATIBLE_API_KEY_ENV, OPENAI_COMPATIBLE_BASE_URL_ENV, OPENAI_COMPATIBLE_ID_ENV,
    OpenAiCompatible, OpenAiCompatibleBuilder, OpenAiCompatibleConfig,
};
pub use perplexity::{Perplexity, PerplexityBuilder, PerplexityConfig};
pub use pricing::{ModelPrice, PricingTable};
pub use replay::{Replay, ReplayRecord};
pub use resilience::{ResiliencePolicy, Resilient};
pub use simulated::{BrandBehavior, FailureRates, LatencyModel, ProbabilityOverride, Simulated, SimulatedConfig};
pub use types::{ChatRequest, ChatResponse, FinishReason, Message, ProviderLimits, RateLimitInfo, Role, Usage};

/// A language-model API.
///
/// Implementations must be cheap to share (`Arc<dyn Provider>`) and safe to call
/// concurrently. They must not retry.
#[async_trait::async_trait]
pub trait Provider: Send + Sync + std::fmt::Debug {
    /// The id targets use to name this provider (`openai`, `simulated`, ...).
    fn id(&self) -> &str;

    /// Capacity hints used to pick a default run concurrency.
    fn limits(&self) -> ProviderLimits {
        ProviderLimits::default()
    }

    /// Whether answers are recorded rather than generated live (reports say so).
    fn is_replay(&self) -> bool {
        false
    }

    /// Asks for one answer.
    async fn complete(&self, request: &ChatRequest) -> Result<ChatResponse, LlmError>;
}

/// A shared provider.
pub type DynProvider = Arc<dyn Provider>;
