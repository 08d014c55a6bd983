//! `echo-test-worker`: one Echo worker process over a shared database, with a
//! deterministic Simulated provider, for multi-process tests and benchmarks.
//!
//! ```text
//! echo-test-worker --database-url URL [--concurrency N] [--latency-ms N] [--seed N]
//!                  [--lease-ms N] [--poll-ms N] [--grace-ms N] [--owner ID] [--no-scheduler]
//! ```
//!
//! Runs until SIGTERM or Ctrl-C, shuts down gracefully, and prints ONE JSON line on stdout:
//! `{"report": WorkerReport, "provider_calls": N}` (exit code 0), or
//! `{"error": "...", "kind": "..."}` (exit code 1). Logs go to stderr (`RUST_LOG`); with
//! `ECHO_TEST_LOG_SPANS=1` every span's opening is logged too, with its fields (what a test
//! reads to see the ids a worker process puts on its spans).

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use echo_core::engine::{Echo, WorkerConfig};
use echo_core::provider::{
    BrandBehavior, ChatRequest, ChatResponse, LatencyModel, LlmError, Provider, ProviderLimits, Simulated,
    SimulatedConfig,
};

/// True visibilities of the simulated market (the same as the integration tests').
pub const MARKET: [(&str, f64); 4] = [("Acme", 0.6), ("Globex", 0.4), ("Initech", 0.2), ("Umbrella", 0.05)];

/// Parsed command line.
#[derive(Debug, Clone)]
pub struct Args {
    pub database_url: String,
    pub concurrency: usize,
    pub latency: Duration,
    pub seed: u64,
    pub lease: Duration,
    pub poll: Duration,
    pub grace: Duration,
    pub owner: Option<String>,
    pub scheduler: bool,
}

impl Args {
    pub fn parse(args: &[String]) -> Result<Self, String> {
        let mut parsed = Args {
            database_url: String::new(),
            concurrency: 16,
            latency: Duration::ZERO,
            seed: 1,
            lease: Duration::from_secs(300),
            poll: Duration::from_millis(50),
            grace: Duration::from_secs(30),
            owner: None,
            scheduler: true,
        };
        let mut it = args.iter();
        while let Some(flag) = it.next() {
            if flag == "--no-scheduler" {
                parsed.scheduler = false;
                continue;
            }
            let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
            let number = || {
                value
                    .parse::<u64>()
                    .map_err(|_| format!("{flag}: {value:?} is not a number"))
            };
            match flag.as_str() {
                "--database-url" => parsed.database_url = value.clone(),
                "--concurrency" => parsed.concurrency = number()? as usize,
                "--latency-ms" => parsed.latency = Duration::from_millis(number()?),
                "--seed" => parsed.seed = number()?,
                "--lease-ms" => parsed.lease = Duration::from_millis(number()?),
                "--poll-ms" => parsed.poll = Duration::from_millis(number()?),
                "--grace-ms" => parsed.grace = Duration::from_millis(number()?),
                "--owner" => parsed.owner = Some(value.clone()),
                other => return Err(format!("unknown argument {other}")),
            }
        }
        if parsed.database_url.is_empty() {
            return Err("--database-url is required".into());
        }
        Ok(parsed)
    }
}

/// The simulated provider `simulated` over [`MARKET`], with a fixed latency.
pub fn market_provider(seed: u64, latency: Duration) -> Simulated {
    let mut config = SimulatedConfig::new("simulated", seed)
        .latency(if latency.is_zero() {
            LatencyModel::zero()
        } else {
            LatencyModel::new(latency, 0.0)
        })
        .max_concurrency(1024);
    for (name, p) in MARKET {
        config = config.brand(BrandBehavior::new(name, p));
    }
    Simulated::new(config).expect("valid simulated config")
}

/// Counts the calls that reach the provider.
#[derive(Debug)]
pub struct CountCalls<P> {
    inner: P,
    calls: Arc<AtomicU64>,
}

impl<P> CountCalls<P> {
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
impl<P: Provider> Provider for CountCalls<P> {
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

/// Entry point: parses `args`, runs the worker, prints the JSON line.
pub fn main(args: Vec<String>) -> ExitCode {
    let span_events = if std::env::var("ECHO_TEST_LOG_SPANS").is_ok_and(|v| v == "1") {
        tracing_subscriber::fmt::format::FmtSpan::NEW
    } else {
        tracing_subscriber::fmt::format::FmtSpan::NONE
    };
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_span_events(span_events)
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .try_init();
    let args = match Args::parse(&args) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("echo-test-worker: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let result = runtime.block_on(run(args));
    match result {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!(
                "{}",
                serde_json::json!({"error": e.to_string(), "kind": e.kind().as_str()})
            );
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> echo_core::Result<serde_json::Value> {
    let (provider, calls) = CountCalls::new(market_provider(args.seed, args.latency));
    let echo = Echo::builder()
        .database_url(args.database_url.clone())
        .lease(args.lease)
        .provider(provider)
        .build()
        .await?;
    let mut config = WorkerConfig::default()
        .concurrency(args.concurrency)
        .poll_interval(args.poll)
        .shutdown_grace(args.grace)
        .run_scheduler(args.scheduler);
    if let Some(owner) = &args.owner {
        config = config.owner(owner.clone());
    }
    let worker = echo.worker(config)?;
    let report = worker.run_until(shutdown_signal()).await?;
    echo.close().await;
    Ok(serde_json::json!({
        "report": report,
        "provider_calls": calls.load(Ordering::SeqCst),
    }))
}

/// SIGTERM (what process managers send) or Ctrl-C.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("installing the SIGTERM handler");
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
