//! Resilience layer benchmarks.
//!
//! 1. **Overhead per call** of [`Resilient`] over calling the provider directly:
//!    - against a loopback HTTP server (wiremock answering a fixed chat-completion JSON,
//!      multi-thread tokio runtime), in µs per call;
//!    - against a zero-cost in-memory provider (pure wrapper cost), in ns per call.
//!
//!    Each is measured for the wrapper with no limits (`openai_compatible` defaults) and
//!    with every mechanism active but never binding (concurrency cap, request and token
//!    budgets far above the call rate), so the figure includes semaphore, limiter lookup
//!    and both GCRA checks.
//! 2. **Limiter accuracy**: a 600 requests/min budget driven for one simulated minute on a
//!    manual clock (and a 100,000 tokens/min budget with realistic request costs), plus the
//!    same request budget end to end through `Resilient` with 32 concurrent callers on
//!    paused tokio time. Reported: admitted rate vs configured (goal within ±5%).
//!
//! One-line summaries print before criterion's output.
//!
//! Run: `cargo bench -p echo-benches --bench resilience`.

use std::hint::black_box;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use echo_core::provider::http::{DEFAULT_MAX_BODY_BYTES, HttpConfig, post_json};
use echo_core::provider::resilience::{ManualClock, RateLimits, estimate_tokens};
use echo_core::provider::{ChatRequest, ChatResponse, DynProvider, LlmError, Provider, ResiliencePolicy, Resilient};
use serde_json::{Value, json};
use tokio::runtime::Runtime;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Answers at once with a fixed response: the wrapper's cost is all that is measured.
#[derive(Debug)]
struct Instant0;

#[async_trait::async_trait]
impl Provider for Instant0 {
    fn id(&self) -> &str {
        "memory"
    }
    async fn complete(&self, _request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        Ok(ChatResponse::text("HubSpot"))
    }
}

/// An OpenAI-style provider over loopback HTTP (request JSON out, response JSON parsed).
#[derive(Debug)]
struct Loopback {
    client: reqwest::Client,
    url: String,
}

#[async_trait::async_trait]
impl Provider for Loopback {
    fn id(&self) -> &str {
        "loopback"
    }
    async fn complete(&self, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        let body = json!({
            "model": request.model,
            "messages": [{"role": "user", "content": request.prompt()}],
        });
        let reply = post_json(
            self.client.post(&self.url),
            &body,
            DEFAULT_MAX_BODY_BYTES,
            Duration::from_secs(30),
        )
        .await?;
        if !reply.is_success() {
            return Err(LlmError::Server {
                status: Some(reply.status),
                retry_after: None,
                message: "the loopback server failed".into(),
            });
        }
        let v: Value = reply.json()?;
        Ok(ChatResponse::text(
            v["choices"][0]["message"]["content"].as_str().unwrap_or_default(),
        ))
    }
}

fn request() -> ChatRequest {
    ChatRequest::new("gpt-4o-mini", "What is the best CRM for a 10-person startup?")
}

/// No limits at all: retry loop, timeout and tracing only.
fn bare(inner: DynProvider) -> Resilient {
    Resilient::new(inner, ResiliencePolicy::for_provider("openai_compatible")).unwrap()
}

/// Every mechanism active, none binding at the rates measured. The budgets are the
/// largest expressible with a whole minute as burst: a zero-cost provider makes millions of
/// ~520-token calls per second, which a per-second burst of even 4 billion tokens/min
/// would (correctly) throttle, and then the figure would be the limiter's pacing, not its
/// cost.
fn armed(inner: DynProvider) -> Resilient {
    let policy = ResiliencePolicy::default()
        .max_concurrency(Some(64))
        .requests_per_minute(Some(u32::MAX))
        .tokens_per_minute(Some(u32::MAX))
        .burst_window(Duration::from_secs(60))
        .total_timeout(Some(Duration::from_secs(600)));
    Resilient::new(inner, policy).unwrap()
}

/// Builds the provider measured from the in-memory one.
type Wrap = fn(DynProvider) -> DynProvider;

/// Mean time per call over `n` sequential calls.
async fn per_call(provider: &dyn Provider, req: &ChatRequest, n: u32) -> Duration {
    let start = Instant::now();
    for _ in 0..n {
        black_box(provider.complete(black_box(req)).await.unwrap());
    }
    start.elapsed() / n
}

/// Median of `rounds` interleaved measurements of each provider (interleaving spreads
/// machine noise evenly over the contenders).
fn interleaved(rt: &Runtime, providers: &[&dyn Provider], rounds: usize, n: u32) -> Vec<Duration> {
    let req = request();
    let mut samples = vec![Vec::new(); providers.len()];
    for _ in 0..rounds {
        for (i, p) in providers.iter().enumerate() {
            samples[i].push(rt.block_on(per_call(*p, &req, n)));
        }
    }
    samples
        .into_iter()
        .map(|mut s| {
            s.sort();
            s[s.len() / 2]
        })
        .collect()
}

async fn loopback_server() -> MockServer {
    let server = MockServer::start().await;
    let body = json!({
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "HubSpot, Pipedrive and Zoho CRM."}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 15, "completion_tokens": 9, "total_tokens": 24}
    });
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(&server)
        .await;
    server
}

/// Admissions in the first simulated minute (burst included) and in the second (steady
/// state) of a limiter on a manual clock, each admission costing `cost` tokens.
fn simulated_minutes(policy: &ResiliencePolicy, cost: u64) -> (u64, u64) {
    let clock = ManualClock::default();
    let limits = RateLimits::with_clock(policy, clock.clone());
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let mut now = Duration::ZERO;
    let (mut first, mut second) = (0u64, 0u64);
    rt.block_on(async {
        loop {
            now += limits
                .acquire_with("m", cost, |d| {
                    clock.advance(d);
                    std::future::ready(())
                })
                .await;
            match now.as_secs() {
                0..60 => first += 1,
                60..120 => second += 1,
                _ => break,
            }
        }
    });
    (first, second)
}

/// Calls started in the first simulated minute through `Resilient` (600 rpm) with 32
/// concurrent callers, on a paused tokio runtime.
fn end_to_end_minute(rpm: u32, callers: usize) -> usize {
    #[derive(Debug, Default)]
    struct Stamps(Mutex<Vec<tokio::time::Instant>>);
    #[async_trait::async_trait]
    impl Provider for Stamps {
        fn id(&self) -> &str {
            "stamps"
        }
        async fn complete(&self, _r: &ChatRequest) -> Result<ChatResponse, LlmError> {
            self.0.lock().unwrap().push(tokio::time::Instant::now());
            tokio::time::sleep(Duration::from_millis(200)).await;
            Ok(ChatResponse::text("ok"))
        }
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    rt.block_on(async {
        let stamps = Arc::new(Stamps::default());
        let inner: DynProvider = stamps.clone();
        let policy = ResiliencePolicy::default().requests_per_minute(Some(rpm));
        let wrapper = Arc::new(Resilient::new(inner, policy).unwrap());
        let t0 = tokio::time::Instant::now();
        let end = t0 + Duration::from_secs(60);
        let tasks: Vec<_> = (0..callers)
            .map(|_| {
                let w = wrapper.clone();
                tokio::spawn(async move {
                    let req = request();
                    while tokio::time::Instant::now() < end {
                        w.complete(&req).await.unwrap();
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        let started = stamps.0.lock().unwrap();
        started.iter().filter(|s| **s < end).count()
    })
}

fn pct(got: f64, want: f64) -> f64 {
    (got / want - 1.0) * 100.0
}

fn resilience(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();

    // (1a) Pure wrapper cost.
    let memory: DynProvider = Arc::new(Instant0);
    let memory_bare = bare(memory.clone());
    let memory_armed = armed(memory.clone());
    let t = interleaved(&rt, &[&*memory, &memory_bare, &memory_armed], 7, 100_000);
    println!(
        "resilience summary (in-memory provider): direct {:.0} ns/call, Resilient {:.0} ns/call (+{:.0} ns), \
         Resilient with cap+rpm+tpm+deadline {:.0} ns/call (+{:.0} ns)",
        t[0].as_nanos(),
        t[1].as_nanos(),
        t[1].as_nanos() as f64 - t[0].as_nanos() as f64,
        t[2].as_nanos(),
        t[2].as_nanos() as f64 - t[0].as_nanos() as f64,
    );

    // (1b) Against loopback HTTP.
    let server = rt.block_on(loopback_server());
    let http: DynProvider = Arc::new(Loopback {
        client: HttpConfig::default().client().unwrap(),
        url: format!("{}/v1/chat/completions", server.uri()),
    });
    let http_bare = bare(http.clone());
    let http_armed = armed(http.clone());
    rt.block_on(per_call(&*http, &request(), 200)); // warm the connection pool
    let t = interleaved(&rt, &[&*http, &http_bare, &http_armed], 7, 300);
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    println!(
        "resilience summary (loopback HTTP): direct {:.1} µs/call, Resilient {:.1} µs/call ({:+.1} µs), \
         Resilient with cap+rpm+tpm+deadline {:.1} µs/call ({:+.1} µs)",
        us(t[0]),
        us(t[1]),
        us(t[1]) - us(t[0]),
        us(t[2]),
        us(t[2]) - us(t[0]),
    );

    // (2) Limiter accuracy.
    let rpm = 600;
    let policy = ResiliencePolicy::default().requests_per_minute(Some(rpm));
    let (first, second) = simulated_minutes(&policy, 1);
    println!(
        "resilience summary (limiter, {rpm} rpm, manual clock): first minute {first} admitted ({:+.2}%, burst of 1 s \
         included), second minute {second} ({:+.2}%); goal within ±5%",
        pct(first as f64, rpm as f64),
        pct(second as f64, rpm as f64),
    );
    let tpm = 100_000u32;
    let cost = estimate_tokens(&request(), 512);
    let policy = ResiliencePolicy::default().tokens_per_minute(Some(tpm));
    let (first, second) = simulated_minutes(&policy, cost);
    println!(
        "resilience summary (limiter, {tpm} tpm, {cost}-token requests, manual clock): first minute {} tokens \
         ({:+.2}%), second minute {} ({:+.2}%); goal within ±5%",
        first * cost,
        pct((first * cost) as f64, f64::from(tpm)),
        second * cost,
        pct((second * cost) as f64, f64::from(tpm)),
    );
    let admitted = end_to_end_minute(rpm, 32);
    println!(
        "resilience summary (Resilient end to end, {rpm} rpm, 32 callers, paused tokio time): {admitted} calls \
         started in the first minute ({:+.2}%); goal within ±5%",
        pct(admitted as f64, rpm as f64),
    );

    // Criterion groups.
    // A fresh wrapper per criterion sample: criterion makes tens of millions of calls, which
    // would eventually spend even the largest token budget and measure pacing instead.
    let mut g = c.benchmark_group("resilience/in_memory");
    let makers: [(&str, Wrap); 3] = [
        ("direct", |p| p),
        ("resilient", |p| Arc::new(bare(p))),
        ("resilient_armed", |p| Arc::new(armed(p))),
    ];
    for (name, make) in makers {
        g.bench_function(name, |b| {
            let req = request();
            b.iter_custom(|iters| {
                let p = make(memory.clone());
                rt.block_on(async {
                    let start = Instant::now();
                    for _ in 0..iters {
                        black_box(p.complete(black_box(&req)).await.unwrap());
                    }
                    start.elapsed()
                })
            })
        });
    }
    g.finish();

    let mut g = c.benchmark_group("resilience/loopback_http");
    g.sample_size(30);
    g.measurement_time(Duration::from_secs(4));
    for (name, p) in [
        ("direct", &*http),
        ("resilient", &http_bare as &dyn Provider),
        ("resilient_armed", &http_armed),
    ] {
        g.bench_function(name, |b| {
            let req = request();
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let start = Instant::now();
                    for _ in 0..iters {
                        black_box(p.complete(black_box(&req)).await.unwrap());
                    }
                    start.elapsed()
                })
            })
        });
    }
    g.finish();
    drop(server);
}

criterion_group!(benches, resilience);
criterion_main!(benches);
