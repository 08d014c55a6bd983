//! Shared helpers of the integration tests.
#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use echo_core::auth::Principal;
use echo_core::engine::Echo;
use echo_core::model::{BrandSpec, ExperimentSpec, NewAccount, Target};
use echo_core::provider::{
    BrandBehavior, ChatRequest, ChatResponse, FailureRates, LatencyModel, LlmError, Provider, ProviderLimits,
    Simulated, SimulatedConfig,
};

/// True visibilities of the simulated market used by these tests.
pub const TRUTH: [(&str, f64); 4] = [("Acme", 0.6), ("Globex", 0.4), ("Initech", 0.2), ("Umbrella", 0.05)];

/// A simulated provider over the test market.
pub fn simulated(seed: u64, latency: Duration, failures: FailureRates) -> Simulated {
    let mut config = SimulatedConfig::new("simulated", seed)
        .latency(if latency.is_zero() {
            LatencyModel::zero()
        } else {
            LatencyModel::new(latency, 0.0)
        })
        .failures(failures)
        .max_concurrency(32);
    for (name, p) in TRUTH {
        config = config.brand(BrandBehavior::new(name, p));
    }
    Simulated::new(config).expect("valid simulated config")
}

/// Brands of the test market as an experiment tracks them (Acme is "ours").
pub fn brands() -> Vec<BrandSpec> {
    vec![
        BrandSpec::target("Acme"),
        BrandSpec::new("Globex"),
        BrandSpec::new("Initech"),
        BrandSpec::new("Umbrella"),
    ]
}

/// A spec asking `repeats` times each of 2 prompts of 2 simulated models.
pub fn spec(repeats: u32) -> ExperimentSpec {
    ExperimentSpec {
        name: "test market".into(),
        prompts: vec![
            "best widget vendor?".into(),
            "which widget vendor for a small team?".into(),
        ],
        brands: brands(),
        targets: vec![Target::new("simulated", "model-a"), Target::new("simulated", "model-b")],
        repeats,
        system_prompt: None,
        temperature: None,
        max_output_tokens: None,
        web_search: false,
    }
}

/// Wraps a provider and counts calls.
#[derive(Debug)]
pub struct Counting<P> {
    pub inner: P,
    pub calls: Arc<AtomicU64>,
}

impl<P> Counting<P> {
    pub fn new(inner: P) -> (Self, Arc<AtomicU64>) {
        let calls = Arc::new(AtomicU64::new(0));
        (
            Self {
                inner,
                calls: calls.clone(),
            },
            calls,
        )
    }
}

#[async_trait::async_trait]
impl<P: Provider> Provider for Counting<P> {
    fn id(&self) -> &str {
        self.inner.id()
    }
    fn limits(&self) -> ProviderLimits {
        self.inner.limits()
    }
    async fn complete(&self, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.complete(request).await
    }
}

/// A new account and a host principal for it.
pub async fn account(echo: &Echo, name: &str) -> Principal {
    let account = echo
        .create_account(
            &Principal::admin(),
            NewAccount {
                name: name.into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    Principal::host(account.id)
}

/// One test per case and backend: `sqlite::<case>` (in memory) and `postgres::<case>` (a
/// database of its own on the test server, dropped after; skipped loudly without a server,
/// a failure under `CI=true`). Each `<case>` is an `async fn(EchoBuilder)` of the calling
/// file, which must declare `mod pg_support` at its root (`#[path =
/// "../../echo-core/tests/pg_support/mod.rs"]`).
#[allow(unused_macros)]
macro_rules! on_both_backends {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case(super::Echo::builder().sqlite_memory()).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let Some(db) = crate::pg_support::TestDb::create(stringify!($case)).await else {
                        return;
                    };
                    super::$case(super::Echo::builder().database_url(&db.url)).await;
                }
            )*
        }
    };
}

#[allow(unused_imports)]
pub(crate) use on_both_backends;
