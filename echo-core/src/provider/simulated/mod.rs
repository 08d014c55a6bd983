//! A seeded stochastic model of an LLM answering buyer questions.
//!
//! [`Simulated`] is the engine of Echo's tests, demos and benchmarks. Its ground truth is
//! known — every brand is named independently with a configured probability (its true
//! visibility), first mentions are ordered by Plackett–Luce sampling on rank weights — so
//! the statistics Echo reports can be checked against it.
//!
//! Two independent sources of randomness keep it honest under retries:
//!
//! - **Content** (which brands, in which order, the text, the citations) is a pure function
//!   of the configuration seed, `request.seed`, `request.model` and `request.prompt()`,
//!   hashed with SHA-256 into a ChaCha8 seed. A retried or resumed sample therefore gets
//!   exactly the answer it would have had. Without a request seed an internal counter
//!   stands in for it: reproducible for a given call order, different on every call.
//! - **Call behaviour** (latency, injected failures, request ids) comes from a per-call
//!   counter stream seeded by the configuration seed, so a retry of the same request can
//!   succeed after a transient failure, and failure rates hold regardless of content.

mod answer;
mod citations;
mod config;
#[cfg(test)]
mod tests;
mod vocabulary;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sha2::{Digest, Sha256};

use super::{ChatRequest, ChatResponse, FinishReason, LlmError, Provider, ProviderLimits, Usage};
use crate::model::Citation;
pub use config::{BrandBehavior, FailureRates, LatencyModel, ProbabilityOverride, SimulatedConfig};
use vocabulary::Vocabulary;

/// The simulated provider. Cheap to clone; clones share their call counters.
#[derive(Debug, Clone)]
pub struct Simulated {
    config: Arc<SimulatedConfig>,
    vocab: Arc<Vocabulary>,
    /// Template of the per-call generator: each call clones it and selects its own stream.
    call_rng: ChaCha8Rng,
    /// Calls made so far; the stream number of the next call's generator.
    calls: Arc<AtomicU64>,
    /// Requests without a seed served so far; stands in for the seed.
    unseeded: Arc<AtomicU64>,
}

/// The content of one answer, before latency and failures are applied.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Draft {
    /// Indices into the configured brands, in order of first mention.
    pub(crate) named: Vec<usize>,
    pub(crate) text: String,
    pub(crate) citations: Vec<Citation>,
    /// A request id derived from the content (for [`Simulated::generate`], which makes no call).
    pub(crate) id: u64,
}

impl Simulated {
    /// Validates `config` and builds the provider. Errors are `InvalidInput` naming the
    /// field (`brands[1].mention_probability`, `failures`, ...).
    pub fn new(config: SimulatedConfig) -> crate::Result<Self> {
        config.validate()?;
        let vocab = Vocabulary::for_brands(&config.brands)?;
        let call_rng = ChaCha8Rng::from_seed(hash_parts(&[b"echo/simulated/calls/v1", &config.seed.to_le_bytes()]));
        Ok(Self {
            config: Arc::new(config),
            vocab: Arc::new(vocab),
            call_rng,
            calls: Arc::new(AtomicU64::new(0)),
            unseeded: Arc::new(AtomicU64::new(0)),
        })
    }

    /// The configuration this provider was built from.
    pub fn config(&self) -> &SimulatedConfig {
        &self.config
    }

    /// The true visibility of `brand` (its canonical name) in answers from `model` to any
    /// prompt without a prompt-specific override; `None` for an unknown brand.
    pub fn true_visibility(&self, model: &str, brand: &str) -> Option<f64> {
        let index = self.brand_index(brand)?;
        Some(self.config.mention_probability(index, model, None))
    }

    /// The true visibility of `brand` in answers from `model` to `prompt`, taking
    /// prompt-specific overrides into account; `None` for an unknown brand.
    pub fn true_visibility_for_prompt(&self, model: &str, prompt: &str, brand: &str) -> Option<f64> {
        let index = self.brand_index(brand)?;
        Some(self.config.mention_probability(index, model, Some(prompt)))
    }

    /// The answer to `request` without latency or failure injection — what
    /// [`Provider::complete`] returns when the call succeeds. Handy for building corpora
    /// (benchmarks, extraction tests) quickly. `latency` is zero.
    pub fn generate(&self, request: &ChatRequest) -> ChatResponse {
        let draft = self.draft(request);
        let id = draft.id;
        self.response(request, draft, Duration::ZERO, id)
    }

    fn brand_index(&self, brand: &str) -> Option<usize> {
        self.config.brands.iter().position(|b| b.name == brand)
    }

    /// Decides the content of the answer to `request`.
    pub(crate) fn draft(&self, request: &ChatRequest) -> Draft {
        let sample = match request.seed {
            Some(seed) => [1u8].iter().chain(&seed.to_le_bytes()).copied().collect::<Vec<u8>>(),
            None => {
                let n = self.unseeded.fetch_add(1, Ordering::Relaxed);
                [2u8].iter().chain(&n.to_le_bytes()).copied().collect()
            }
        };
        let prompt = request.prompt();
        let seed = hash_parts(&[
            b"echo/simulated/answer/v1",
            &self.config.seed.to_le_bytes(),
            &sample,
            request.model.as_bytes(),
            prompt.as_bytes(),
        ]);
        let mut rng = ChaCha8Rng::from_seed(seed);
        let id = rng.random();
        let named = self.plan(&mut rng, &request.model, prompt);
        let brands: Vec<&BrandBehavior> = named.iter().map(|&i| &self.config.brands[i]).collect();
        let text = answer::compose(&mut rng, &self.vocab, &brands);
        let citations = if rng.random::<f64>() < self.config.citation_probability {
            citations::cite(&mut rng, &brands)
        } else {
            Vec::new()
        };
        Draft {
            named,
            text,
            citations,
            id,
        }
    }

    /// Which brands the answer names, in order of first mention: each brand independently
    /// with its probability, then ordered by Plackett–Luce on the rank weights (repeatedly
    /// pick the next brand with probability proportional to its weight).
    fn plan(&self, rng: &mut ChaCha8Rng, model: &str, prompt: &str) -> Vec<usize> {
        // One uniform draw per brand, always, so one brand's probability never shifts the
        // draws of the others.
        let mut pool: Vec<usize> = (0..self.config.brands.len())
            .filter(|&i| rng.random::<f64>() < self.config.mention_probability(i, model, Some(prompt)))
            .collect();
        let mut order = Vec::with_capacity(pool.len());
        while !pool.is_empty() {
            let total: f64 = pool.iter().map(|&i| self.config.brands[i].rank_weight).sum();
            let mut u = rng.random::<f64>() * total;
            let mut pick = pool.len() - 1;
            for (k, &i) in pool.iter().enumerate() {
                u -= self.config.brands[i].rank_weight;
                if u < 0.0 {
                    pick = k;
                    break;
                }
            }
            order.push(pool.remove(pick));
        }
        order
    }

    fn response(&self, request: &ChatRequest, draft: Draft, latency: Duration, request_id: u64) -> ChatResponse {
        let input_chars: usize = request.messages.iter().map(|m| m.content.chars().count()).sum();
        let output_chars = draft.text.chars().count();
        ChatResponse {
            citations: draft.citations,
            usage: Usage {
                input_tokens: Some(approx_tokens(input_chars)),
                output_tokens: Some(approx_tokens(output_chars)),
                cached_input_tokens: None,
                reasoning_tokens: None,
            },
            served_model: Some(request.model.clone()),
            request_id: Some(format!("sim-{request_id:016x}")),
            finish_reason: Some(FinishReason::Stop),
            rate_limit: None,
            raw: None,
            latency,
            text: draft.text,
        }
    }
}

/// Roughly four characters per token, as for English text with common tokenizers.
fn approx_tokens(chars: usize) -> u64 {
    (chars as u64).div_ceil(4).max(1)
}

/// SHA-256 over length-prefixed parts: a stable seed (std's hasher is not stable across
/// Rust releases, and the answers must be).
fn hash_parts(parts: &[&[u8]]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    hasher.finalize().into()
}

async fn sleep(d: Duration) {
    if !d.is_zero() {
        tokio::time::sleep(d).await;
    }
}

#[async_trait::async_trait]
impl Provider for Simulated {
    fn id(&self) -> &str {
        &self.config.id
    }

    fn limits(&self) -> ProviderLimits {
        ProviderLimits {
            max_concurrency: self.config.max_concurrency,
            requests_per_minute: None,
        }
    }

    /// Sleeps the sampled latency, then answers — or fails with the configured rates.
    /// Rate limits (`retry_after` in `0..=max_retry_after`) and server errors (500, 502 or
    /// 503) are returned at once; a timeout is returned after sleeping
    /// `min(latency, max_timeout_wait)` and carries that wait. `max_output_tokens` and
    /// `temperature` are ignored, so the known truth holds for every request.
    async fn complete(&self, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        let call = self.calls.fetch_add(1, Ordering::Relaxed);
        let mut rng = self.call_rng.clone();
        rng.set_stream(call);
        let latency = self.config.latency.sample(&mut rng);
        let request_id: u64 = rng.random();
        let failures = self.config.failures;
        let u: f64 = rng.random();
        if u < failures.rate_limited {
            let retry_after = self.config.max_retry_after.mul_f64(rng.random::<f64>());
            return Err(LlmError::RateLimited {
                retry_after: Some(retry_after),
                message: format!("simulated rate limit (request sim-{request_id:016x})"),
            });
        }
        if u < failures.rate_limited + failures.server_error {
            let status = [500u16, 502, 503][rng.random_range(0..3)];
            return Err(LlmError::Server {
                status: Some(status),
                retry_after: None,
                message: format!("simulated server error (request sim-{request_id:016x})"),
            });
        }
        if u < failures.total() {
            let waited = latency.min(self.config.max_timeout_wait);
            sleep(waited).await;
            return Err(LlmError::Timeout(waited));
        }
        let draft = self.draft(request);
        sleep(latency).await;
        Ok(self.response(request, draft, latency, request_id))
    }
}
