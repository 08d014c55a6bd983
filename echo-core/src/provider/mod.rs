//! Language-model providers.
//!
//! A [`Provider`] turns one [`ChatRequest`] into one [`ChatResponse`] or a classified
//! [`LlmError`]. Providers never retry: retries, rate limits and timeouts belong to one
//! resilience layer around them, so every provider behaves the same under faults.
//!
//! Offline providers ship here: [`Simulated`] (a seeded model of an LLM answering buyer
//! questions, with known ground truth) and [`Replay`] (recorded answers from JSONL).

mod error;
pub mod http;
mod replay;
pub mod resilience;
mod simulated;
mod types;

use std::sync::Arc;

pub use error::LlmError;
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
